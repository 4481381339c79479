//! The Python family: checks on the Lambda's source, parsed with ruff's Python parser (a
//! recursive-descent parser of CPython's grammar, with error recovery). A file gets a syntax
//! tree only when a rule needs one: the handler module always, any other module only when a
//! byte scan finds a `type:` comment in it.

pub mod py001_syntax_error;
pub mod py002_type_ignore_without_code;
pub mod py003_handler_signature;
pub mod py004_handler_unannotated;
pub mod unit;

use std::mem::ManuallyDrop;
use std::ops::Range;
use std::path::Path;

use ruff_python_ast::token::{Token, TokenKind};
use ruff_python_ast::{ModModule, PySourceType, Stmt, StmtFunctionDef};
use ruff_python_parser::{ParseError, Parsed};
use ruff_text_size::{Ranged, TextRange, TextSize};

use crate::diagnostic::Finding;
use crate::rules::{registry, Check, Rule};

/// What a Python rule sees.
pub struct Context<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub module: &'a Module,
    /// The handler function's name when this file is the handler's module.
    pub handler: Option<&'a str>,
}

/// Parses `text` and runs the Python rules `enabled` selects. `handler` names the handler
/// function when the module is the handler's.
pub fn lint(
    path: &Path,
    text: &str,
    handler: Option<&str>,
    enabled: &dyn Fn(&Rule) -> bool,
) -> Vec<(&'static Rule, Finding)> {
    let module = parse(text);
    let context = Context {
        path,
        text,
        module: &module,
        handler,
    };
    let mut findings = Vec::new();
    for (rule, check) in registry::checks_of(Check::python) {
        if enabled(rule) {
            findings.extend(check(&context).into_iter().map(|f| (rule, f)));
        }
    }
    findings
}

/// A parsed module: its syntax tree (as far as the parser could recover), its tokens (comments
/// included) and its syntax errors, in source order.
pub struct Module {
    parsed: ManuallyDrop<Parsed<ModModule>>,
}

/// Parses Python source as a module, with the newest grammar the parser knows. Never fails:
/// a module that does not parse has errors and a partial tree.
pub fn parse(text: &str) -> Module {
    // The parser grows its own stack on the heap as it recurses, so nesting depth is no limit.
    let parsed = ruff_python_parser::parse_unchecked_source(text, PySourceType::Python);
    Module {
        parsed: ManuallyDrop::new(parsed),
    }
}

impl Module {
    /// The module's top-level statements.
    pub fn body(&self) -> &[Stmt] {
        &self.parsed.syntax().body
    }

    pub fn tokens(&self) -> &[Token] {
        self.parsed.tokens()
    }

    pub fn errors(&self) -> &[ParseError] {
        self.parsed.errors()
    }

    /// Whether a syntax error starts inside `range`.
    pub fn has_error_in(&self, range: TextRange) -> bool {
        self.errors()
            .iter()
            .any(|e| range.start() <= e.location.start() && e.location.start() < range.end())
    }
}

/// Dropping a syntax tree recurses once per nesting level (measured: under 80 bytes of stack
/// a level), and a level takes at least one token (`-` in `----1`). This much stack per token
/// always suffices.
const DROP_STACK_PER_TOKEN: usize = 128;
/// What dropping needs besides the levels, and what the caller keeps in reserve.
const DROP_STACK_RESERVE: usize = 256 * 1024;

impl Drop for Module {
    fn drop(&mut self) {
        // SAFETY: `parsed` is taken exactly once, here, and never used again.
        let parsed = unsafe { ManuallyDrop::take(&mut self.parsed) };
        let needed = parsed
            .tokens()
            .len()
            .saturating_mul(DROP_STACK_PER_TOKEN)
            .saturating_add(DROP_STACK_RESERVE);
        // A deeply nested module (a thousand-level expression) would overflow a worker's stack
        // when its tree is freed: free it on a stack of its own, only as large as it can need.
        if stacker::remaining_stack().is_some_and(|left| left >= needed) {
            drop(parsed);
        } else {
            stacker::grow(needed, move || drop(parsed));
        }
    }
}

/// A node's span as byte offsets into the source.
pub fn span(range: TextRange) -> Range<usize> {
    range.start().to_usize()..range.end().to_usize()
}

/// Whether a file without the handler needs a tree: it has something that reads as a type
/// comment, `#` then optional blanks then `type:` (an annotation such as `event_type: str`
/// does not count).
pub fn needs_tree(bytes: &[u8]) -> bool {
    memchr::memmem::find_iter(bytes, b"type:").any(|at| {
        let before = &bytes[..at];
        let blanks = before
            .iter()
            .rev()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        before.len() > blanks && before[before.len() - blanks - 1] == b'#'
    })
}

/// The top-level definition named `name` in a module: a function (possibly decorated), or
/// another binding (assignment, import, `from … import *`) that cannot be inspected statically.
pub enum Definition<'t> {
    Function(&'t StmtFunctionDef),
    Other(TextRange),
}

/// The last top-level binding of `name`, looking inside the module-level compound statements
/// (`if`, `try`, `with`) whose branches bind at module level too. Iterative: statement nesting
/// can be thousands deep.
pub fn top_level<'t>(module: &'t Module, name: &str) -> Option<Definition<'t>> {
    let mut found = None;
    // Blocks still to visit, each with the index of its next statement: document order.
    let mut blocks: Vec<(&'t [Stmt], usize)> = vec![(module.body(), 0)];
    while let Some((block, index)) = blocks.pop() {
        let Some(statement) = block.get(index) else {
            continue;
        };
        blocks.push((block, index + 1));
        // Nested blocks are pushed last-first so that they are visited first-first.
        let mut nested: Vec<&'t [Stmt]> = Vec::new();
        match statement {
            Stmt::FunctionDef(function) if function.name.id.as_str() == name => {
                found = Some(Definition::Function(function));
            }
            Stmt::If(branch) => {
                nested.push(&branch.body);
                nested.extend(branch.elif_else_clauses.iter().map(|c| &c.body[..]));
            }
            Stmt::Try(attempt) => {
                nested.push(&attempt.body);
                nested.extend(attempt.handlers.iter().map(|h| match h {
                    ruff_python_ast::ExceptHandler::ExceptHandler(h) => &h.body[..],
                }));
                nested.push(&attempt.orelse);
                nested.push(&attempt.finalbody);
            }
            Stmt::With(with) => nested.push(&with.body),
            other if binds(other, name) => found = Some(Definition::Other(other.range())),
            _ => {}
        }
        blocks.extend(nested.into_iter().rev().map(|b| (b, 0)));
    }
    found
}

/// The handler rules' view of the handler: its definition, or `None` when the module does not
/// parse where it matters (the handler missing from a broken module, or broken itself). Then
/// the parser's recovery, not the code, would decide; PY001 says the module is broken.
pub fn handler_definition<'t>(module: &'t Module, name: &str) -> Option<Option<Definition<'t>>> {
    let found = top_level(module, name);
    let broken = match &found {
        None => !module.errors().is_empty(),
        Some(Definition::Function(function)) => module.has_error_in(function.range()),
        Some(Definition::Other(range)) => module.has_error_in(*range),
    };
    (!broken).then_some(found)
}

/// Whether a top-level statement binds `name` other than by `def`.
fn binds(statement: &Stmt, name: &str) -> bool {
    let is_name =
        |expr: &ruff_python_ast::Expr| expr.as_name_expr().is_some_and(|n| n.id.as_str() == name);
    match statement {
        Stmt::Assign(assign) => assign.targets.iter().any(is_name),
        Stmt::AnnAssign(assign) => assign.value.is_some() && is_name(&assign.target),
        Stmt::ClassDef(class) => class.name.id.as_str() == name,
        Stmt::Import(import) => import.names.iter().any(|alias| {
            let bound = alias.asname.as_ref().unwrap_or(&alias.name);
            // `import a.b` binds `a`.
            bound.id.as_str().split('.').next() == Some(name)
        }),
        // `from m import *` may bind anything.
        Stmt::ImportFrom(import) => import.names.iter().any(|alias| {
            alias.name.id.as_str() == "*"
                || alias.asname.as_ref().unwrap_or(&alias.name).id.as_str() == name
        }),
        _ => false,
    }
}

/// Where a function's `def` (or `async def`) begins: after its decorators.
pub fn def_start(module: &Module, function: &StmtFunctionDef) -> TextSize {
    let after = function
        .decorator_list
        .last()
        .map_or(function.start(), |d| d.end());
    let tokens = module.tokens();
    let first = tokens.partition_point(|t| t.start() < after);
    tokens[first..]
        .iter()
        .find(|t| matches!(t.kind(), TokenKind::Def | TokenKind::Async))
        .map_or(function.start(), |t| t.start())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_type_comments_need_a_tree() {
        assert!(super::needs_tree(b"x = f()  # type: ignore\n"));
        assert!(super::needs_tree(b"x = []  #type:List[int]\n"));
        assert!(!super::needs_tree(b"def f(event_type: str) -> None: ...\n"));
        assert!(!super::needs_tree(b"type: int\n"));
    }
}

#[cfg(test)]
pub mod testing {
    use super::*;

    /// Runs a Python rule over `text` as the module of handler `handler` (if any).
    pub fn run(
        check: fn(&Context<'_>) -> Vec<Finding>,
        text: &str,
        handler: Option<&str>,
    ) -> Vec<Finding> {
        let module = parse(text);
        check(&Context {
            path: Path::new("module.py"),
            text,
            module: &module,
            handler,
        })
    }
}
