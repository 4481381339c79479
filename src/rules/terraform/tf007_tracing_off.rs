//! TF007 `tracing-off`: every Lambda records X-Ray traces.

use super::{attribute_span, undecided, Context, Located, Nested};
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
        for instance in module.instances(block) {
            let suffix = instance.suffix();
            let tracing = module.nested_blocks(&block.body, "tracing_config", &instance.scope);
            if tracing.is_empty() {
                // A `dynamic "tracing_config"` whose `for_each` is empty makes no block: say so,
                // rather than that the function has none written.
                let dynamic = block.body.blocks().find(|b| {
                    b.ident.value().as_str() == "dynamic"
                        && b.labels
                            .first()
                            .is_some_and(|l| l.as_str() == "tracing_config")
                });
                let (span, what) = match dynamic {
                    Some(dynamic) => (
                        super::head_span(dynamic),
                        "the `dynamic \"tracing_config\"` block makes no block here (its `for_each` is empty)",
                    ),
                    None => (attribute_span(block, None), "the function has no `tracing_config`"),
                };
                findings.push(Located::new(
                    file,
                    Finding::new(span, format!("{what}: Lambda records no traces{suffix}"))
                        .help("add `tracing_config { mode = \"Active\" }`, or give the dynamic block an element"),
                ));
                continue;
            }
            for nested in &tracing {
                let Nested::Block {
                    block: config,
                    scope,
                } = nested
                else {
                    findings.extend(
                        nested
                            .undecided("`tracing_config`")
                            .map(|f| Located::new(file, f)),
                    );
                    continue;
                };
                let mode = config.body.get_attribute("mode");
                let span = attribute_span(config, mode);
                let value = mode.map(|m| module.eval_in(&m.value, scope));
                let Some(value) = value.filter(|v| !v.is_null()) else {
                    let what = if mode.is_some() {
                        "`mode = null`"
                    } else {
                        "`tracing_config` sets no `mode`"
                    };
                    findings.push(Located::new(
                        file,
                        Finding::new(span, format!("{what}: it defaults to PassThrough{suffix}"))
                            .help("set `mode = \"Active\"`"),
                    ));
                    continue;
                };
                match value.as_str() {
                    Some(mode) if mode == "Active" => {}
                    Some(mode) => findings.push(Located::new(
                        file,
                        Finding::new(span, format!("tracing mode `{mode}` records a trace only when the caller already sampled one{suffix}"))
                            .help("set `mode = \"Active\"` so every invocation can be traced"),
                    )),
                    None => findings.push(Located::new(file, undecided(span, "the tracing mode", &value))),
                }
            }
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
    fn dynamic_tracing_config() {
        let text = |default: &str| {
            format!("variable \"mode\" {{\n  default = {default}\n}}\nresource \"aws_lambda_function\" \"f\" {{\n  dynamic \"tracing_config\" {{\n    for_each = var.mode == null ? [] : [1]\n    content {{\n      mode = var.mode\n    }}\n  }}\n}}\n")
        };
        assert!(run(check, &text("\"Active\"")).is_empty());
        let findings = run(check, &text("null"));
        assert_eq!(decided(&findings).len(), 1, "{findings:?}");
        assert!(
            findings[0].message.contains("makes no block here"),
            "{findings:?}"
        );
        let custom = "resource \"aws_lambda_function\" \"f\" {\n  dynamic \"tracing_config\" {\n    for_each = { x = \"Active\" }\n    iterator = t\n    content {\n      mode = t.value\n    }\n  }\n}\n";
        assert!(run(check, custom).is_empty());
    }

    #[test]
    fn module_switch_is_read() {
        let text = "module \"f\" {\n  source = \"../aws-lambda-container\"\n  tracing_enabled = false\n}\n";
        assert_eq!(decided(&run(check, text)).len(), 1);
    }
}
