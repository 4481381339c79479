//! PY004 `handler-unannotated`: the handler annotates its parameters and its return type.

use super::{top_level, Context, Definition};
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
    let Some(Definition::Function(function)) = top_level(ctx.tree, ctx.text, name) else {
        return Vec::new();
    };
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
            if bare {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<Finding> {
        super::super::testing::run(check, text, Some("handler"))
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
