//! PY004 `handler-unannotated`: the handler annotates its parameters and its return type.

use ruff_python_ast::{Parameter, StmtFunctionDef};
use ruff_text_size::Ranged;

use super::{def_start, handler_definition, span, Context, Definition};
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
    let Some(Some(Definition::Function(function))) = handler_definition(ctx.module, name) else {
        return Vec::new();
    };
    // A PEP 484 signature comment (`# type: (dict, object) -> dict`) annotates the whole
    // signature, as mypy reads it.
    if has_signature_comment(function, ctx.text) {
        return Vec::new();
    }
    let mut findings = Vec::new();
    let variadic = |parameter: &Parameter| {
        let is =
            |p: &Option<Box<Parameter>>| p.as_deref().is_some_and(|p| std::ptr::eq(p, parameter));
        if is(&function.parameters.vararg) {
            "*"
        } else if is(&function.parameters.kwarg) {
            "**"
        } else {
            ""
        }
    };
    // In source order, each range with its default.
    for any in function.parameters.iter() {
        let parameter = any.as_parameter();
        let stars = variadic(parameter);
        // A per-argument type comment (`event,  # type: dict`) annotates that parameter.
        let end = any.end().to_usize();
        let line_rest = ctx.text[end..].split('\n').next().unwrap_or_default();
        let commented = line_rest
            .split_once('#')
            .is_some_and(|(_, comment)| comment.trim_start().starts_with("type:"));
        if parameter.annotation.is_none() && !commented {
            findings.push(
                Finding::new(
                    span(parameter.range()),
                    format!(
                        "handler parameter `{stars}{}` has no type annotation",
                        parameter.name.id
                    ),
                )
                .help("annotate it, e.g. `event: dict[str, Any]`, `context: LambdaContext`"),
            );
        }
    }
    if function.returns.is_none() {
        let start = def_start(ctx.module, function).to_usize();
        findings.push(
            Finding::new(
                start..function.parameters.end().to_usize(),
                format!("handler `{name}` has no return type annotation"),
            )
            .help("annotate what it returns, e.g. `-> dict[str, Any]`"),
        );
    }
    findings
}

/// Whether a function's signature is annotated by a PEP 484 type comment: `# type: (...) -> T`
/// after the colon of the `def`, or as the first line of its body.
fn has_signature_comment(function: &StmtFunctionDef, text: &str) -> bool {
    let start = function.parameters.end().to_usize();
    let end = function
        .body
        .first()
        .map_or(function.end(), |statement| statement.start())
        .to_usize();
    text.get(start..end.max(start))
        .unwrap_or_default()
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
