//! TF009 `ecr-scan-on-push`: every image pushed to an ECR repository is scanned.

use super::{attribute_span, undecided, Context, Located, Nested};
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
    // Registry-wide scanning rules scan the repositories they match: decided there.
    if module
        .resources("aws_ecr_registry_scanning_configuration")
        .next()
        .is_some()
    {
        return Vec::new();
    }
    let mut findings = Vec::new();
    for (file, block) in module.resources("aws_ecr_repository") {
        for instance in module.instances(block) {
            let scanning =
                module.nested_blocks(&block.body, "image_scanning_configuration", &instance.scope);
            let not_scanned = |span, why: &str| {
                Located::new(
                    file,
                    Finding::new(
                        span,
                        format!("images pushed to this repository are not scanned for vulnerabilities{why}{}", instance.suffix()),
                    )
                    .help("add `image_scanning_configuration { scan_on_push = true }`"),
                )
            };
            if scanning.is_empty() {
                findings.push(not_scanned(attribute_span(block, None), ""));
                continue;
            }
            for nested in &scanning {
                let Nested::Block { block: scan, scope } = nested else {
                    findings.extend(
                        nested
                            .undecided("`image_scanning_configuration`")
                            .map(|f| Located::new(file, f)),
                    );
                    continue;
                };
                let attribute = scan.body.get_attribute("scan_on_push");
                let span = attribute_span(scan, attribute);
                let value = attribute.map(|a| module.eval_in(&a.value, scope));
                match value {
                    None => findings.push(not_scanned(span, " (`scan_on_push` defaults to false)")),
                    Some(value) if value.is_null() => findings.push(not_scanned(
                        span,
                        " (`scan_on_push = null` is not set: it defaults to false)",
                    )),
                    Some(value) => match value.as_bool() {
                        Some(true) => {}
                        Some(false) => findings.push(not_scanned(span, "")),
                        None => findings.push(Located::new(
                            file,
                            undecided(span, "`scan_on_push`", &value),
                        )),
                    },
                }
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

    #[test]
    fn dynamic_blocks_and_null() {
        let dynamic = |for_each: &str, value: &str| {
            format!("variable \"scan\" {{\n  default = null\n}}\nresource \"aws_ecr_repository\" \"r\" {{\n  dynamic \"image_scanning_configuration\" {{\n    for_each = {for_each}\n    content {{\n      scan_on_push = {value}\n    }}\n  }}\n}}\n")
        };
        assert!(run(
            check,
            &dynamic("[true]", "image_scanning_configuration.value")
        )
        .is_empty());
        assert_eq!(
            decided(&run(
                check,
                &dynamic("[false]", "image_scanning_configuration.value")
            ))
            .len(),
            1
        );
        assert_eq!(decided(&run(check, &dynamic("[]", "true"))).len(), 1);
        assert_eq!(decided(&run(check, &dynamic("[1]", "var.scan"))).len(), 1);
        let unknown = run(check, &dynamic("var.missing", "true"));
        assert!(unknown.len() == 1 && unknown[0].undecided, "{unknown:?}");
    }
}
