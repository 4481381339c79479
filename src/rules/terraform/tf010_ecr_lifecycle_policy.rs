//! TF010 `ecr-lifecycle-policy`: every ECR repository has a lifecycle policy.

use super::eval::reference;
use super::{head_span, Context, Located};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "TF010",
    name: "ecr-lifecycle-policy",
    family: Family::Terraform,
    summary: "An ECR repository has no lifecycle policy, so images pile up forever",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("TF010"),
    check: Check::Terraform(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let module = ctx.module;
    // What each lifecycle policy's `repository` names: a repository resource, or a literal name.
    let mut referenced: Vec<String> = Vec::new();
    let mut named: Vec<String> = Vec::new();
    for (_, block) in module.resources("aws_ecr_lifecycle_policy") {
        let Some(attribute) = block.body.get_attribute("repository") else {
            continue;
        };
        if let Some(["aws_ecr_repository", name, ..]) = reference(&attribute.value).as_deref() {
            referenced.push((*name).to_string());
        } else if let Some(name) = module.eval(&attribute.value).as_str() {
            named.push(name.into_owned());
        }
    }
    let mut findings = Vec::new();
    for (file, block) in module.resources("aws_ecr_repository") {
        let label = block.labels.get(1).map(|l| l.as_str()).unwrap_or_default();
        let name = block
            .body
            .get_attribute("name")
            .and_then(|a| module.eval(&a.value).as_str().map(|s| s.into_owned()));
        let covered = referenced.iter().any(|r| r == label)
            || name.as_ref().is_some_and(|n| named.contains(n));
        if !covered {
            findings.push(Located::new(
                file,
                Finding::new(head_span(block), "this repository has no `aws_ecr_lifecycle_policy`: untagged and old images are never expired")
                    .help(format!("add `resource \"aws_ecr_lifecycle_policy\" \"{label}\" {{ repository = aws_ecr_repository.{label}.name ... }}` (the aws-lambda-container module has one)")),
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decided, run};
    use super::*;

    const REPOSITORY: &str = "resource \"aws_ecr_repository\" \"r\" {\n  name = \"app\"\n}\n";

    #[test]
    fn a_policy_by_reference_or_name_passes() {
        let by_reference = "resource \"aws_ecr_lifecycle_policy\" \"p\" {\n  repository = aws_ecr_repository.r.name\n  policy = \"{}\"\n}\n";
        assert!(run(check, &format!("{REPOSITORY}{by_reference}")).is_empty());
        let by_name = "resource \"aws_ecr_lifecycle_policy\" \"p\" {\n  repository = \"app\"\n}\n";
        assert!(run(check, &format!("{REPOSITORY}{by_name}")).is_empty());
    }

    #[test]
    fn no_policy_or_another_repositorys_fails() {
        assert_eq!(decided(&run(check, REPOSITORY)).len(), 1);
        let other = "resource \"aws_ecr_lifecycle_policy\" \"p\" {\n  repository = aws_ecr_repository.other.name\n}\n";
        assert_eq!(
            decided(&run(check, &format!("{REPOSITORY}{other}"))).len(),
            1
        );
    }
}
