//! PY004 `handler-unannotated`: the handler annotates its parameters and its return type.

use super::{handler_definition, Context, Definition};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "PY004",
    name: "handler-unannotated",
    family: Family::Python,
    summary: "The handler's parameters or return type are not annotated",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("PY004"),
    check: Check::Python(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let Some(name) = ctx.handler else {
        return Vec::new();
    };
    let Some(Some(Definition::Function(function))) = handler_definition(ctx.tree, ctx.text, name)
    else {
        return Vec::new();
    };
    // A PEP 484 signature comment (`# type: (dict, object) -> dict`) annotates the whole
    // signature, as mypy reads it.
    if has_signature_comment(function, ctx.text) {
        return Vec::new();
    }
    let mut findings = Vec::new();
    if let Some(parameters) = function.child_by_field_name("parameters") {
        let mut cursor = parameters.walk();
        for parameter in parameters.named_children(&mut cursor) {
            let bare = matches!(
                parameter.kind(),
                "identifier"
                    | "default_parameter"
                    | "list_splat_pattern"
                    | "dictionary_splat_pattern"
            );
            // A per-argument type comment (`event,  # type: dict`) annotates that parameter.
            let line_rest = ctx.text[parameter.end_byte()..]
                .split('\n')
                .next()
                .unwrap_or_default();
            let commented = line_rest
                .split_once('#')
                .is_some_and(|(_, comment)| comment.trim_start().starts_with("type:"));
            if bare && !commented {
                let text = &ctx.text[parameter.byte_range()];
                findings.push(
                    Finding::new(
                        parameter.byte_range(),
                        format!("handler parameter `{text}` has no type annotation"),
                    )
                    .help("annotate it, e.g. `event: dict[str, Any]`, `context: LambdaContext`"),
                );
            }
        }
    }
    if function.child_by_field_name("return_type").is_none() {
        let end = function
            .child_by_field_name("parameters")
            .map_or(function.start_byte(), |p| p.end_byte());
        findings.push(
            Finding::new(
                function.start_byte()..end,
                format!("handler `{name}` has no return type annotation"),
            )
            .help("annotate what it returns, e.g. `-> dict[str, Any]`"),
        );
    }
    findings
}

/// Whether a function's signature is annotated by a PEP 484 type comment: `# type: (...) -> T`
/// after the colon of the `def`, or as the first line of its body.
fn has_signature_comment(function: tree_sitter::Node<'_>, text: &str) -> bool {
    let Some(parameters) = function.child_by_field_name("parameters") else {
        return false;
    };
    let end = function
        .child_by_field_name("body")
        .and_then(|body| {
            let mut cursor = body.walk();
            let first = body
                .named_children(&mut cursor)
                .find(|n| n.kind() != "comment");
            first
        })
        .map_or(function.end_byte(), |n| n.start_byte());
    text[parameters.end_byte()..end.max(parameters.end_byte())]
        .lines()
        .filter_map(|line| line.split_once('#').map(|(_, c)| c.trim_start()))
        .any(|comment| {
            comment
                .strip_prefix("type:")
                .is_some_and(|t| t.trim_start().starts_with('(') && t.contains("->"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<Finding> {
        super::super::testing::run(check, text, Some("handler"))
    }

    #[test]
    fn type_comments_are_annotations() {
        assert!(run(
            "def handler(event, context):\n    # type: (dict, object) -> dict\n    return {}\n"
        )
        .is_empty());
        assert!(run(
            "def handler(event, context):  # type: (dict, object) -> dict\n    return {}\n"
        )
        .is_empty());
        assert!(run("def handler(\n    event,  # type: dict\n    context,  # type: object\n):\n    # type: (...) -> dict\n    return {}\n").is_empty());
        assert_eq!(
            run("def handler(event, context):\n    # not a type comment\n    return {}\n").len(),
            3
        );
    }

    #[test]
    fn annotated_passes() {
        assert!(
            run("def handler(event: dict, context: object) -> dict:\n    return {}\n").is_empty()
        );
    }

    #[test]
    fn each_missing_annotation_is_reported() {
        let findings = run("def handler(event, context=None):\n    return {}\n");
        assert_eq!(findings.len(), 3, "{findings:?}");
    }
}
