//! PY003 `handler-signature`: the handler the Dockerfile names is defined in its module as a
//! function Lambda can call with `(event, context)`.

use ruff_python_ast::StmtFunctionDef;
use ruff_text_size::Ranged;

use super::{def_start, handler_definition, span, Context, Definition};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "PY003",
    name: "handler-signature",
    family: Family::Python,
    summary: "The handler is not defined, or cannot be called as `handler(event, context)`",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("PY003"),
    check: Check::Python(check),
};

/// The parameters of a function: (positional without default, positional with default,
/// has `*args`, keyword-only without default).
pub struct Shape {
    pub required: usize,
    pub optional: usize,
    pub var_args: bool,
    pub required_keyword_only: usize,
}

pub fn shape(function: &StmtFunctionDef) -> Shape {
    let parameters = &function.parameters;
    let positional = parameters.posonlyargs.iter().chain(&parameters.args);
    let (optional, required): (Vec<_>, Vec<_>) = positional.partition(|p| p.default.is_some());
    Shape {
        required: required.len(),
        optional: optional.len(),
        var_args: parameters.vararg.is_some(),
        required_keyword_only: parameters
            .kwonlyargs
            .iter()
            .filter(|p| p.default.is_none())
            .count(),
    }
}

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let Some(name) = ctx.handler else {
        return Vec::new();
    };
    let Some(definition) = handler_definition(ctx.module, name) else {
        return Vec::new();
    };
    let function = match definition {
        None => {
            return vec![Finding::new(
                0..0,
                format!("the handler `{name}` the Dockerfile names is not defined in this module"),
            )
            .help(format!("define `def {name}(event, context):` at the top level of the module"))]
        }
        Some(Definition::Other(range)) => {
            return vec![Finding::new(
                span(range),
                format!("could not check handler `{name}`: it is bound by an assignment or import, not a `def` here"),
            )
            .undecided()]
        }
        Some(Definition::Function(function)) => function,
    };
    let head = def_start(ctx.module, function).to_usize()..function.parameters.end().to_usize();
    let mut findings = Vec::new();
    if function.is_async {
        findings.push(Finding::new(
            head.clone(),
            format!("handler `{name}` is `async`: the Lambda Python runtime calls it synchronously and would get a coroutine back"),
        ));
    }
    let shape = shape(function);
    let takes_two = shape.required <= 2
        && (shape.required + shape.optional >= 2 || shape.var_args)
        && shape.required_keyword_only == 0;
    if !takes_two {
        findings.push(
            Finding::new(
                head,
                format!(
                    "handler `{name}` cannot be called as `{name}(event, context)`: it takes {} required positional parameter{}{}",
                    shape.required,
                    if shape.required == 1 { "" } else { "s" },
                    if shape.required_keyword_only > 0 { " and required keyword-only parameters" } else { "" }
                ),
            )
            .help("Lambda passes exactly two positional arguments: the event and the context"),
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
    fn two_parameters_pass() {
        assert!(run("def handler(event, context):\n    pass\n").is_empty());
        assert!(run(
            "@wrap\ndef handler(event: dict, context: object = None) -> None:\n    pass\n"
        )
        .is_empty());
        assert!(run("def handler(*args):\n    pass\n").is_empty());
    }

    #[test]
    fn a_handler_under_a_module_level_if_or_try_is_defined() {
        assert!(run("import os\n\nif os.environ.get(\"X\"):\n    def handler(event, context):\n        pass\nelse:\n    def handler(event, context):\n        pass\n").is_empty());
        assert!(run("try:\n    import fast\nexcept ImportError:\n    fast = None\n\ndef handler(event, context):\n    pass\n").is_empty());
        assert!(run("if True:\n    def handler(event):\n        pass\n")[0]
            .message
            .contains("1 required"));
    }

    #[test]
    fn wrong_shapes_fail() {
        assert!(run("def other(event, context):\n    pass\n")[0]
            .message
            .contains("not defined"));
        assert!(run("def handler(event):\n    pass\n")[0]
            .message
            .contains("1 required"));
        assert!(run("def handler(a, b, c):\n    pass\n")[0]
            .message
            .contains("3 required"));
        assert!(run("async def handler(event, context):\n    pass\n")[0]
            .message
            .contains("async"));
        assert!(run("def handler(event, context, *, x):\n    pass\n")[0]
            .message
            .contains("keyword-only"));
        assert!(run("handler = make()\n")[0].undecided);
        assert!(run("from app.main import *\n")[0].undecided);
        assert!(run("from app.main import handler\n")[0].undecided);
        assert!(run("def handler(event, context, /):\n    pass\n").is_empty());
        assert!(run("def handler(event, /, context=None, *, retries=3):\n    pass\n").is_empty());
    }
}
