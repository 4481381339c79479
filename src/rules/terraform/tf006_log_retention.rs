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
        let Some(attribute) = attribute else {
            if required {
                findings.push(Located::new(
                    file,
                    Finding::new(span, "the log group sets no `retention_in_days`: CloudWatch keeps its logs forever")
                        .help("set `retention_in_days`, e.g. 30"),
                ));
            }
            continue;
        };
        let value = module.eval(&attribute.value);
        match value.as_number() {
            Some(days) if days > 0.0 => {}
            Some(_) => findings.push(Located::new(
                file,
                Finding::new(
                    span,
                    format!("`{key} = 0` means never expire: the logs are kept forever"),
                )
                .help("set a number of days, e.g. 30"),
            )),
            None if matches!(value, super::Value::Null) && !required => {}
            None => findings.push(Located::new(
                file,
                undecided(span, &format!("`{key}`"), &value),
            )),
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
