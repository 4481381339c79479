//! TF004 `architectures`: a Lambda names its instruction set, and it is one the runner builds.

use super::{attribute_span, undecided, Context, Located, Value};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "TF004",
    name: "architectures",
    family: Family::Terraform,
    summary: "A Lambda's architecture is not set, or is not one the runner builds",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("TF004"),
    check: Check::Terraform(check),
};

/// Lambda's name for each platform the runner builds.
fn lambda_architecture(platform: &str) -> Option<&'static str> {
    match platform {
        "linux/amd64" => Some("x86_64"),
        "linux/arm64" | "linux/arm64/v8" => Some("arm64"),
        _ => None,
    }
}

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let built: Vec<&str> = ctx
        .policy
        .policy
        .platforms
        .iter()
        .filter_map(|p| lambda_architecture(p))
        .collect();
    let mut findings = Vec::new();
    for (file, block) in ctx.module.resources("aws_lambda_function") {
        match block.body.get_attribute("architectures") {
            Some(attribute) => judge(&built, file, attribute_span(block, Some(attribute)), &ctx.module.eval(&attribute.value), &mut findings),
            None => findings.push(Located::new(
                file,
                Finding::new(attribute_span(block, None), "`architectures` is not set: Lambda runs x86_64, whatever the image was built for")
                    .help(format!("set `architectures = [\"{}\"]` to the architecture of the image's digest", built.first().copied().unwrap_or("arm64"))),
            )),
        }
    }
    for &(file, block) in ctx.module.lambda_module_calls() {
        let attribute = block
            .body
            .get_attribute("architecture")
            .or_else(|| block.body.get_attribute("architectures"));
        match attribute {
            Some(attribute) => judge(&built, file, attribute_span(block, Some(attribute)), &ctx.module.eval(&attribute.value), &mut findings),
            None => findings.push(Located::new(
                file,
                Finding::new(attribute_span(block, None), "the Lambda module is called without `architecture`: the module's default decides, not the image")
                    .help("pass `architecture` explicitly, matching the image digest you deploy"),
            )),
        }
    }
    findings
}

fn judge(
    built: &[&str],
    file: usize,
    span: std::ops::Range<usize>,
    value: &Value,
    findings: &mut Vec<Located>,
) {
    match value {
        Value::List(items) => {
            for item in items {
                judge_one(built, file, span.clone(), item, findings);
            }
        }
        other => judge_one(built, file, span, other, findings),
    }
}

fn judge_one(
    built: &[&str],
    file: usize,
    span: std::ops::Range<usize>,
    value: &Value,
    findings: &mut Vec<Located>,
) {
    match value.as_str() {
        Some(architecture) if built.contains(&architecture.as_ref()) => {}
        Some(architecture) => findings.push(Located::new(
            file,
            Finding::new(span, format!("architecture `{architecture}` is not one the runner builds ({})", built.join(", ")))
                .help("deploy an architecture listed in the policy's `platforms`; Lambda names them x86_64 and arm64"),
        )),
        None => findings.push(Located::new(file, undecided(span, "the architecture", value))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decided, run};
    use super::*;

    #[test]
    fn built_architectures_pass() {
        let text = "resource \"aws_lambda_function\" \"f\" {\n  architectures = [\"arm64\"]\n}\n";
        assert!(run(check, text).is_empty());
        let text = "variable \"arch\" {\n  default = \"x86_64\"\n}\nmodule \"f\" {\n  source = \"../m/aws-lambda-container\"\n  architecture = var.arch\n}\n";
        assert!(run(check, text).is_empty());
    }

    #[test]
    fn missing_and_foreign_architectures_fail() {
        assert_eq!(
            decided(&run(check, "resource \"aws_lambda_function\" \"f\" {\n}\n")).len(),
            1
        );
        let findings = run(
            check,
            "resource \"aws_lambda_function\" \"f\" {\n  architectures = [\"ppc64le\"]\n}\n",
        );
        assert_eq!(decided(&findings).len(), 1);
        assert_eq!(
            decided(&run(
                check,
                "module \"f\" {\n  source = \"../m/aws-lambda-container\"\n}\n"
            ))
            .len(),
            1
        );
    }

    #[test]
    fn unknown_is_undecided() {
        let findings = run(
            check,
            "resource \"aws_lambda_function\" \"f\" {\n  architectures = [var.a]\n}\n",
        );
        assert_eq!(findings.len(), 1);
        assert!(findings[0].undecided);
    }
}
