//! The Python family: checks on the Lambda's source with tree-sitter-python. A file gets a
//! syntax tree only when a rule needs one: the handler module always, any other module only
//! when a byte scan finds a `type:` comment in it.

pub mod py001_syntax_error;
pub mod py002_type_ignore_without_code;
pub mod py003_handler_signature;
pub mod py004_handler_unannotated;
pub mod unit;

use std::cell::RefCell;
use std::path::Path;

use tree_sitter::{Node, Parser, Tree};

use crate::diagnostic::Finding;
use crate::rules::{registry, Check, Rule};

/// What a Python rule sees.
pub struct Context<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub tree: &'a Tree,
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
    let Some(tree) = parse(text) else {
        return Vec::new();
    };
    let context = Context {
        path,
        text,
        tree: &tree,
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

thread_local! {
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

/// Parses Python source. `None` only if tree-sitter gives up (it does not on any input it is
/// given without a timeout, but the API allows it).
pub fn parse(text: &str) -> Option<Tree> {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let mut parser = Parser::new();
            parser
                .set_language(&tree_sitter_python::LANGUAGE.into())
                .ok()?;
            *slot = Some(parser);
        }
        slot.as_mut()?.parse(text, None)
    })
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

/// Every node of the tree in document order, without recursion (trees can be 10,000 deep).
/// `descend` decides whether to visit a node's children.
pub fn walk<'t>(
    tree: &'t Tree,
    mut visit: impl FnMut(Node<'t>),
    descend: impl Fn(Node<'t>) -> bool,
) {
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        visit(node);
        if descend(node) && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

/// The top-level definition named `name` in a module: a function (possibly decorated), or
/// another binding (assignment, import) that cannot be inspected statically.
pub enum Definition<'t> {
    Function(Node<'t>),
    Other(Node<'t>),
}

pub fn top_level<'t>(tree: &'t Tree, text: &str, name: &str) -> Option<Definition<'t>> {
    let mut found = None;
    find_in_block(tree.root_node(), text, name, &mut found);
    found
}

/// The handler rules' view of the handler: its definition, or `None` when the module does not
/// parse where it matters (the handler missing from a broken module, or broken itself). Then
/// tree-sitter's recovery, not the code, would decide; PY001 says the module is broken.
pub fn handler_definition<'t>(
    tree: &'t Tree,
    text: &str,
    name: &str,
) -> Option<Option<Definition<'t>>> {
    let found = top_level(tree, text, name);
    let broken = match &found {
        None => tree.root_node().has_error(),
        Some(Definition::Function(function)) => function.has_error(),
        Some(Definition::Other(node)) => node.has_error(),
    };
    (!broken).then_some(found)
}

/// Looks for `name`'s definition among a block's statements, and inside the module-level
/// compound statements (`if`, `try`, `with`) whose branches define at module level too.
fn find_in_block<'t>(block: Node<'t>, text: &str, name: &str, found: &mut Option<Definition<'t>>) {
    let mut cursor = block.walk();
    for child in block.children(&mut cursor) {
        match child.kind() {
            "if_statement" | "try_statement" | "with_statement" | "elif_clause" | "else_clause"
            | "except_clause" | "finally_clause" | "block" => {
                find_in_block(child, text, name, found);
                continue;
            }
            _ => {}
        }
        let function = match child.kind() {
            "function_definition" => Some(child),
            "decorated_definition" => child.child_by_field_name("definition"),
            _ => None,
        };
        if let Some(function) = function.filter(|f| f.kind() == "function_definition") {
            let named = function
                .child_by_field_name("name")
                .is_some_and(|n| &text[n.byte_range()] == name);
            if named {
                *found = Some(Definition::Function(function));
            }
            continue;
        }
        if binds(child, text, name) {
            *found = Some(Definition::Other(child));
        }
    }
}

/// Whether a top-level statement binds `name` other than by `def`.
fn binds(statement: Node<'_>, text: &str, name: &str) -> bool {
    let source = &text[statement.byte_range()];
    match statement.kind() {
        "expression_statement" => {
            let Some(assignment) = statement
                .named_child(0)
                .filter(|n| n.kind() == "assignment")
            else {
                return false;
            };
            assignment
                .child_by_field_name("left")
                .is_some_and(|left| &text[left.byte_range()] == name)
        }
        "import_from_statement" | "import_statement" => source
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|word| word == name),
        _ => false,
    }
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
        let tree = parse(text).expect("tree-sitter parses any input");
        check(&Context {
            path: Path::new("module.py"),
            text,
            tree: &tree,
            handler,
        })
    }
}
