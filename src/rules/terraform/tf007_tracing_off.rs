//! TF007 `tracing-off`: every Lambda records X-Ray traces.

use super::{attribute_span, nested, undecided, Context, Located};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "TF007",
    name: "tracing-off",
    family: Family::Terraform,
    summary: "A Lambda does not record X-Ray traces (tracing mode is not Active)",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("TF007"),
    check: Check::Terraform(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let module = ctx.module;
    let mut findings = Vec::new();
    for (file, block) in module.resources("aws_lambda_function") {
        let Some(tracing) = nested(&block.body, "tracing_config") else {
            findings.push(Located::new(
                file,
                Finding::new(
                    attribute_span(block, None),
                    "the function has no `tracing_config`: Lambda records no traces",
                )
                .help("add `tracing_config { mode = \"Active\" }`"),
            ));
            continue;
        };
        let mode = tracing.body.get_attribute("mode");
        let span = attribute_span(tracing, mode);
        let Some(mode) = mode else {
            findings.push(Located::new(
                file,
                Finding::new(
                    span,
                    "`tracing_config` sets no `mode`: it defaults to PassThrough",
                )
                .help("set `mode = \"Active\"`"),
            ));
            continue;
        };
        let value = module.eval(&mode.value);
        match value.as_str() {
            Some(mode) if mode == "Active" => {}
            Some(mode) => findings.push(Located::new(
                file,
                Finding::new(span, format!("tracing mode `{mode}` records a trace only when the caller already sampled one"))
                    .help("set `mode = \"Active\"` so every invocation can be traced"),
            )),
            None => findings.push(Located::new(file, undecided(span, "the tracing mode", &value))),
        }
    }
    for &(file, block) in module.lambda_module_calls() {
        for key in ["tracing_enabled", "tracing_mode"] {
            let Some(attribute) = block.body.get_attribute(key) else {
                continue;
            };
            let value = module.eval(&attribute.value);
            let off = match (key, &value) {
                ("tracing_enabled", v) => v.as_bool().map(|on| !on),
                (_, v) => v.as_str().map(|m| m != "Active"),
            };
            match off {
                Some(false) => {}
                Some(true) => findings.push(Located::new(
                    file,
                    Finding::new(
                        attribute_span(block, Some(attribute)),
                        "the Lambda module is called with tracing switched off",
                    )
                    .help(format!(
                        "remove `{key}`: the module traces every invocation"
                    )),
                )),
                None => findings.push(Located::new(
                    file,
                    undecided(
                        attribute_span(block, Some(attribute)),
                        &format!("`{key}`"),
                        &value,
                    ),
                )),
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decided, run};
    use super::*;

    fn function(body: &str) -> String {
        format!("resource \"aws_lambda_function\" \"f\" {{\n{body}}}\n")
    }

    #[test]
    fn active_passes_everything_else_fails() {
        assert!(run(
            check,
            &function("  tracing_config {\n    mode = \"Active\"\n  }\n")
        )
        .is_empty());
        assert_eq!(decided(&run(check, &function(""))).len(), 1);
        assert_eq!(
            decided(&run(
                check,
                &function("  tracing_config {\n    mode = \"PassThrough\"\n  }\n")
            ))
            .len(),
            1
        );
        assert_eq!(
            decided(&run(check, &function("  tracing_config {\n  }\n"))).len(),
            1
        );
    }

    #[test]
    fn module_switch_is_read() {
        let text = "module \"f\" {\n  source = \"../aws-lambda-container\"\n  tracing_enabled = false\n}\n";
        assert_eq!(decided(&run(check, text)).len(), 1);
    }
}
