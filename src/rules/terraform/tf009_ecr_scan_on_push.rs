//! TF009 `ecr-scan-on-push`: every image pushed to an ECR repository is scanned.

use super::{attribute_span, nested, undecided, Context, Located};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "TF009",
    name: "ecr-scan-on-push",
    family: Family::Terraform,
    summary: "An ECR repository does not scan images on push",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("TF009"),
    check: Check::Terraform(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let module = ctx.module;
    let mut findings = Vec::new();
    for (file, block) in module.resources("aws_ecr_repository") {
        let scanning = nested(&block.body, "image_scanning_configuration");
        let attribute = scanning.and_then(|s| s.body.get_attribute("scan_on_push"));
        let span = match scanning {
            Some(scanning) => attribute_span(scanning, attribute),
            None => attribute_span(block, None),
        };
        let value = attribute.map(|a| module.eval(&a.value));
        match value.as_ref().map(|v| v.as_bool()) {
            Some(Some(true)) => {}
            Some(None) => {
                if let Some(value) = &value {
                    findings.push(Located::new(file, undecided(span, "`scan_on_push`", value)));
                }
            }
            _ => findings.push(Located::new(
                file,
                Finding::new(
                    span,
                    "images pushed to this repository are not scanned for vulnerabilities",
                )
                .help("add `image_scanning_configuration { scan_on_push = true }`"),
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
    fn scan_on_push_true_passes() {
        let text = "resource \"aws_ecr_repository\" \"r\" {\n  image_scanning_configuration {\n    scan_on_push = true\n  }\n}\n";
        assert!(run(check, text).is_empty());
        assert_eq!(
            decided(&run(check, &text.replace("true", "false"))).len(),
            1
        );
        assert_eq!(
            decided(&run(check, "resource \"aws_ecr_repository\" \"r\" {\n}\n")).len(),
            1
        );
    }
}
