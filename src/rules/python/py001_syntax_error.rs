//! PY001 `syntax-error`: the module does not parse as Python.

use super::{walk, Context};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "PY001",
    name: "syntax-error",
    family: Family::Python,
    summary: "A Python module has a syntax error",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("PY001"),
    check: Check::Python(check),
};

/// More than this many errors in one file are one mistake echoing: report the first ones.
const MAX_PER_FILE: usize = 5;

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut empty_blocks = Vec::new();
    walk(
        ctx.tree,
        |node| {
            if findings.len() >= MAX_PER_FILE {
                return;
            }
            if node.is_missing() {
                findings.push(Finding::new(
                    node.start_byte()..node.start_byte(),
                    format!("syntax error: expected `{}` here", node.kind()),
                ));
            } else if node.kind() == "block" && node.named_child_count() == 0 {
                // tree-sitter accepts a compound statement with nothing indented under it;
                // CPython does not.
                empty_blocks.push(Finding::new(
                    node.start_byte()..node.start_byte(),
                    "syntax error: expected an indented block",
                ));
            } else if node.is_error() {
                let snippet: String = ctx.text[node.byte_range()]
                    .chars()
                    .take(40)
                    .take_while(|c| *c != '\n')
                    .collect();
                let message = if snippet.trim().is_empty() {
                    "syntax error".to_string()
                } else {
                    format!("syntax error at `{}`", snippet.trim())
                };
                let end = node.end_byte().min(node.start_byte() + snippet.len());
                findings.push(Finding::new(node.start_byte()..end, message));
            }
        },
        // Inside an error node the rest is noise.
        |node| !node.is_error(),
    );
    // An empty block next to a real error is that error's echo.
    if findings.is_empty() {
        empty_blocks.truncate(MAX_PER_FILE);
        return empty_blocks;
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<Finding> {
        super::super::testing::run(check, text, None)
    }

    #[test]
    fn valid_source_passes() {
        assert!(run("def f(x: int) -> int:\n    return x\n").is_empty());
    }

    #[test]
    fn errors_have_positions() {
        let findings = run("def f(:\n    return 1\n");
        assert!(!findings.is_empty());
        assert!(findings[0].span.start <= 6, "{findings:?}");
    }

    #[test]
    fn an_empty_block_is_an_error_as_in_cpython() {
        let findings = run("def f(x):\n    if x:\n    return 1\n");
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].message.contains("indented block"));
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let depth = 10_000;
        let text = format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth - 1));
        let findings = run(&text);
        assert!(!findings.is_empty());
    }
}
