//! TF006 `log-retention`: every log group expires its logs.

use super::{attribute_span, undecided, Context, Located};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "TF006",
    name: "log-retention",
    family: Family::Terraform,
    summary: "A CloudWatch log group keeps logs forever (no retention set)",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("TF006"),
    check: Check::Terraform(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let module = ctx.module;
    let mut findings = Vec::new();
    let groups = module
        .resources("aws_cloudwatch_log_group")
        .map(|(f, b)| (f, b, "retention_in_days", true));
    let calls = module
        .lambda_module_calls()
        .iter()
        .map(|&(f, b)| (f, b, "log_retention_days", false));
    for (file, block, key, required) in groups.chain(calls) {
        let attribute = block.body.get_attribute(key);
        let span = attribute_span(block, attribute);
        for instance in module.instances(block) {
            let value = attribute.map(|a| module.eval_in(&a.value, &instance.scope));
            // `null` is not set: the provider's default (never expire) applies.
            let Some(value) = value.filter(|v| !v.is_null()) else {
                if required {
                    let what = if attribute.is_some() {
                        "`retention_in_days = null` sets no retention"
                    } else {
                        "the log group sets no `retention_in_days`"
                    };
                    findings.push(Located::new(
                        file,
                        Finding::new(
                            span.clone(),
                            format!(
                                "{what}: CloudWatch keeps its logs forever{}",
                                instance.suffix()
                            ),
                        )
                        .help("set `retention_in_days`, e.g. 30"),
                    ));
                }
                continue;
            };
            match value.as_number() {
                Some(days) if days > 0.0 => {}
                Some(_) => findings.push(Located::new(
                    file,
                    Finding::new(
                        span.clone(),
                        format!(
                            "`{key} = 0` means never expire: the logs are kept forever{}",
                            instance.suffix()
                        ),
                    )
                    .help("set a number of days, e.g. 30"),
                )),
                None => findings.push(Located::new(
                    file,
                    undecided(span.clone(), &format!("`{key}`"), &value),
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

    #[test]
    fn retention_set_passes_missing_or_zero_fails() {
        let group =
            |body: &str| format!("resource \"aws_cloudwatch_log_group\" \"g\" {{\n{body}}}\n");
        assert!(run(check, &group("  retention_in_days = 30\n")).is_empty());
        assert_eq!(decided(&run(check, &group(""))).len(), 1);
        assert_eq!(
            decided(&run(check, &group("  retention_in_days = 0\n"))).len(),
            1
        );
        let findings = run(check, &group("  retention_in_days = var.days\n"));
        assert!(findings[0].undecided);
    }

    #[test]
    fn null_is_not_set() {
        let text = "variable \"days\" {\n  default = null\n}\nresource \"aws_cloudwatch_log_group\" \"g\" {\n  retention_in_days = var.days\n}\n";
        let findings = run(check, text);
        assert_eq!(decided(&findings).len(), 1, "{findings:?}");
        assert!(findings[0].message.contains("null"), "{findings:?}");
    }

    #[test]
    fn each_instance_is_judged() {
        let text = "resource \"aws_cloudwatch_log_group\" \"g\" {\n  for_each = { api = 30, worker = 0 }\n  name = each.key\n  retention_in_days = each.value\n}\n";
        let findings = run(check, text);
        assert_eq!(decided(&findings).len(), 1, "{findings:?}");
        assert!(findings[0].message.contains("`worker`"), "{findings:?}");
    }

    #[test]
    fn module_calls_may_keep_the_default() {
        let call = |extra: &str| {
            format!("module \"f\" {{\n  source = \"../aws-lambda-container\"\n{extra}}}\n")
        };
        assert!(run(check, &call("")).is_empty());
        assert_eq!(
            decided(&run(check, &call("  log_retention_days = 0\n"))).len(),
            1
        );
    }
}
