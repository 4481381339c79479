//! TF005 `alarms-disabled`: every Lambda has its default CloudWatch alarms, switched on.

use super::{attribute_span, head_span, undecided, Context, Located, Value};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "TF005",
    name: "alarms-disabled",
    family: Family::Terraform,
    summary: "A Lambda's CloudWatch alarms are switched off or missing",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("TF005"),
    check: Check::Terraform(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let module = ctx.module;
    let mut findings = Vec::new();
    for &(file, block) in module.lambda_module_calls() {
        let Some(attribute) = block.body.get_attribute("alarms_enabled") else {
            continue;
        };
        let span = attribute_span(block, Some(attribute));
        match module.eval(&attribute.value).as_bool() {
            Some(true) => {}
            Some(false) => findings.push(Located::new(
                file,
                Finding::new(span, "the Lambda module's default alarms are switched off")
                    .help("remove `alarms_enabled = false`: errors, throttles and slow invocations would go unnoticed"),
            )),
            None => findings.push(Located::new(file, undecided(span, "`alarms_enabled`", &module.eval(&attribute.value)))),
        }
    }
    // Only alarms that watch a Lambda, and that Terraform makes at all (an opt-in alarm with
    // `count = 0` or an empty `for_each` is not an alarm switched off).
    let alarms: Vec<_> = module
        .resources("aws_cloudwatch_metric_alarm")
        .filter(|(_, block)| watches_lambda(ctx, block))
        .filter(|(_, block)| !module.instances(block).is_empty())
        .collect();
    for (file, block) in &alarms {
        if let Some(finding) = switched_off(ctx, block) {
            findings.push(Located::new(*file, finding));
        }
    }
    // A function declared directly needs an alarm on its errors somewhere in the module.
    let watches_errors = alarms.iter().any(|(_, block)| {
        block.body.get_attribute("metric_name").is_some_and(|a| {
            let value = module.eval(&a.value);
            value.as_str().is_some_and(|m| m == "Errors") || !value.is_known()
        }) || block.body.get_blocks("metric_query").next().is_some()
    });
    if !watches_errors {
        for (file, block) in module.resources("aws_lambda_function") {
            findings.push(Located::new(
                file,
                Finding::new(head_span(block), "this function has no CloudWatch alarm on its `Errors` metric")
                    .help("use the aws-lambda-container module (it creates the default alarms), or add an `aws_cloudwatch_metric_alarm` on `Errors`"),
            ));
        }
    }
    findings
}

/// Whether an alarm watches a Lambda metric: its namespace is `AWS/Lambda` (or cannot be
/// evaluated and it has a `FunctionName` dimension), or a metric query reads one.
fn watches_lambda(ctx: &Context<'_>, block: &hcl::edit::structure::Block) -> bool {
    let module = ctx.module;
    let namespace = block
        .body
        .get_attribute("namespace")
        .map(|a| module.eval(&a.value));
    let names_function = || {
        block
            .body
            .get_attribute("dimensions")
            .is_some_and(|a| a.value.to_string().contains("FunctionName"))
    };
    match namespace {
        Some(value) if value.is_known() => value.as_str().is_some_and(|n| n == "AWS/Lambda"),
        Some(_) => names_function(),
        // Metric math: one of its queries reads Lambda's metrics.
        None => block.body.get_blocks("metric_query").any(|query| {
            query.body.get_blocks("metric").any(|metric| {
                metric.body.get_attribute("namespace").is_some_and(|a| {
                    let value = module.eval(&a.value);
                    !value.is_known() || value.as_str().is_some_and(|n| n == "AWS/Lambda")
                })
            })
        }),
    }
}

/// Why an alarm resource never fires, if it does not.
fn switched_off(ctx: &Context<'_>, block: &hcl::edit::structure::Block) -> Option<Finding> {
    let module = ctx.module;
    if let Some(attribute) = block.body.get_attribute("actions_enabled") {
        let value = module.eval(&attribute.value);
        return match value.as_bool() {
            Some(false) => Some(
                Finding::new(
                    attribute_span(block, Some(attribute)),
                    "the alarm's actions are disabled: it changes state and notifies nobody",
                )
                .help("remove `actions_enabled = false`"),
            ),
            Some(true) => None,
            None => Some(undecided(
                attribute_span(block, Some(attribute)),
                "`actions_enabled`",
                &value,
            )),
        };
    }
    for key in ["count", "for_each"] {
        let Some(attribute) = block.body.get_attribute(key) else {
            continue;
        };
        let value = module.eval(&attribute.value);
        let empty = match &value {
            Value::Number(n) => *n == 0.0,
            Value::List(items) => items.is_empty(),
            Value::Object(entries) => entries.is_empty(),
            _ => false,
        };
        if empty {
            return Some(
                Finding::new(
                    attribute_span(block, Some(attribute)),
                    format!("`{key}` is empty: no alarm is created"),
                )
                .help("create the alarm unconditionally, or make the switch default to on"),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decided, run};
    use super::*;

    const MODULE: &str = "module \"f\" {\n  source = \"../m/aws-lambda-container\"\n";

    #[test]
    fn alarms_on_other_services_and_alarms_not_made_are_not_judged() {
        let ecr = "variable \"alarms\" {\n  default = {}\n}\nresource \"aws_cloudwatch_metric_alarm\" \"pulls\" {\n  for_each = var.alarms\n  namespace = \"AWS/Lambda\"\n  metric_name = \"Errors\"\n  actions_enabled = false\n}\nresource \"aws_cloudwatch_metric_alarm\" \"ecr\" {\n  namespace = \"AWS/ECR\"\n  metric_name = \"RepositoryPullCount\"\n  actions_enabled = false\n}\n";
        assert!(run(check, ecr).is_empty(), "{:?}", run(check, ecr));
        let lambda = "resource \"aws_cloudwatch_metric_alarm\" \"errors\" {\n  namespace = \"AWS/Lambda\"\n  metric_name = \"Errors\"\n  actions_enabled = false\n}\n";
        assert_eq!(decided(&run(check, lambda)).len(), 1);
    }

    #[test]
    fn module_alarms_on_pass_off_fail() {
        assert!(run(check, &format!("{MODULE}}}\n")).is_empty());
        assert!(run(check, &format!("{MODULE}  alarms_enabled = true\n}}\n")).is_empty());
        let findings = run(check, &format!("{MODULE}  alarms_enabled = false\n}}\n"));
        assert_eq!(
            decided(&findings),
            vec!["the Lambda module's default alarms are switched off"]
        );
        let text = format!(
            "variable \"on\" {{\n  default = false\n}}\n{MODULE}  alarms_enabled = var.on\n}}\n"
        );
        assert_eq!(decided(&run(check, &text)).len(), 1);
    }

    #[test]
    fn raw_functions_need_an_errors_alarm() {
        let function = "resource \"aws_lambda_function\" \"f\" {\n}\n";
        assert_eq!(decided(&run(check, function)).len(), 1);
        let alarm =
            "resource \"aws_cloudwatch_metric_alarm\" \"e\" {\n  namespace = \"AWS/Lambda\"\n  metric_name = \"Errors\"\n}\n";
        assert!(run(check, &format!("{function}{alarm}")).is_empty());
        let off = "resource \"aws_cloudwatch_metric_alarm\" \"e\" {\n  namespace = \"AWS/Lambda\"\n  metric_name = \"Errors\"\n  count = 0\n}\n";
        assert_eq!(decided(&run(check, &format!("{function}{off}"))).len(), 1);
        let silent = "resource \"aws_cloudwatch_metric_alarm\" \"e\" {\n  namespace = \"AWS/Lambda\"\n  metric_name = \"Errors\"\n  actions_enabled = false\n}\n";
        assert_eq!(
            decided(&run(check, &format!("{function}{silent}"))).len(),
            1
        );
    }
}
