//! TF010 `ecr-lifecycle-policy`: every ECR repository has a lifecycle policy.

use super::{head_span, repository_target, Context, Located, RepositoryTarget};
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
    let mut targets: Vec<RepositoryTarget> = Vec::new();
    // Policies Terraform makes no instance of (`count = 0`, an empty `for_each`), with what
    // they would cover: a repository they cover is told to switch its policy on, not to add one.
    let mut switched_off: Vec<(String, RepositoryTarget)> = Vec::new();
    for (_, block) in module.resources("aws_ecr_lifecycle_policy") {
        let Some(attribute) = block.body.get_attribute("repository") else {
            continue;
        };
        let instances = module.instances(block);
        if instances.is_empty() {
            let label = block.labels.get(1).map(|l| l.as_str()).unwrap_or_default();
            let target = repository_target(ctx.module, &attribute.value, &super::Scope::new(), 0);
            switched_off.push((label.to_string(), target));
        }
        for instance in instances {
            targets.push(repository_target(
                ctx.module,
                &attribute.value,
                &instance.scope,
                0,
            ));
        }
    }
    let unfollowed = targets.iter().find_map(|t| match t {
        RepositoryTarget::Unknown(why) => Some(why.clone()),
        _ => None,
    });
    let mut findings = Vec::new();
    for (file, block) in module.resources("aws_ecr_repository") {
        // A repository Terraform does not make needs no policy.
        if module.instances(block).is_empty() {
            continue;
        }
        let label = block.labels.get(1).map(|l| l.as_str()).unwrap_or_default();
        let names: Vec<String> = block
            .body
            .get_attribute("name")
            .map(|a| {
                module
                    .instances(block)
                    .iter()
                    .filter_map(|i| {
                        module
                            .eval_in(&a.value, &i.scope)
                            .as_str()
                            .map(|s| s.into_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let covered = targets.iter().any(|t| match t {
            RepositoryTarget::Resource(r) => r == label,
            RepositoryTarget::Name(n) => names.contains(n),
            RepositoryTarget::Unknown(_) => false,
        });
        if covered {
            continue;
        }
        let off = switched_off.iter().find(|(_, t)| match t {
            RepositoryTarget::Resource(r) => r == label,
            RepositoryTarget::Name(n) => names.contains(n),
            RepositoryTarget::Unknown(_) => false,
        });
        let finding = match (&unfollowed, off) {
            (_, Some((policy, _))) => Finding::new(
                head_span(block),
                format!("this repository's lifecycle policy `aws_ecr_lifecycle_policy.{policy}` is switched off (its `count` or `for_each` makes no instance): untagged and old images are never expired"),
            )
            .help("switch the policy on (its `count` condition or `for_each` variable)"),
            (Some(why), None) => Finding::new(
                head_span(block),
                format!("whether this repository has a lifecycle policy could not be decided: an `aws_ecr_lifecycle_policy`'s `repository` could not be followed ({why})"),
            )
            .undecided(),
            (None, None) => Finding::new(head_span(block), "this repository has no `aws_ecr_lifecycle_policy`: untagged and old images are never expired")
                .help(format!("add `resource \"aws_ecr_lifecycle_policy\" \"{label}\" {{ repository = aws_ecr_repository.{label}.name ... }}` (the aws-lambda-container module has one)")),
        };
        findings.push(Located::new(file, finding));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decided, run};
    use super::*;

    const REPOSITORY: &str = "resource \"aws_ecr_repository\" \"r\" {\n  name = \"app\"\n}\n";

    #[test]
    fn a_switched_off_policy_is_named_and_a_repository_not_made_needs_none() {
        let off = "variable \"expire\" {\n  default = false\n}\nresource \"aws_ecr_lifecycle_policy\" \"p\" {\n  count = var.expire ? 1 : 0\n  repository = aws_ecr_repository.r.name\n}\n";
        let findings = run(check, &format!("{REPOSITORY}{off}"));
        assert_eq!(decided(&findings).len(), 1, "{findings:?}");
        assert!(
            findings[0]
                .message
                .contains("`aws_ecr_lifecycle_policy.p` is switched off"),
            "{findings:?}"
        );
        let not_made =
            "resource \"aws_ecr_repository\" \"r\" {\n  count = 0\n  name = \"app\"\n}\n";
        assert!(run(check, not_made).is_empty());
    }

    #[test]
    fn a_policy_by_reference_or_name_passes() {
        let by_reference = "resource \"aws_ecr_lifecycle_policy\" \"p\" {\n  repository = aws_ecr_repository.r.name\n  policy = \"{}\"\n}\n";
        assert!(run(check, &format!("{REPOSITORY}{by_reference}")).is_empty());
        let by_name = "resource \"aws_ecr_lifecycle_policy\" \"p\" {\n  repository = \"app\"\n}\n";
        assert!(run(check, &format!("{REPOSITORY}{by_name}")).is_empty());
    }

    #[test]
    fn indexed_and_local_references_pass() {
        for reference in [
            "aws_ecr_repository.r[0].name",
            "aws_ecr_repository.r[each.key].name",
            "aws_ecr_repository.r[\"x\"].name",
            "local.repository",
        ] {
            let text = format!("{REPOSITORY}locals {{\n  repository = aws_ecr_repository.r.name\n}}\nresource \"aws_ecr_lifecycle_policy\" \"p\" {{\n  repository = {reference}\n}}\n");
            assert!(run(check, &text).is_empty(), "{reference}");
        }
    }

    #[test]
    fn an_unfollowed_reference_is_undecided() {
        let text = format!("{REPOSITORY}resource \"aws_ecr_lifecycle_policy\" \"p\" {{\n  repository = module.ecr.repository_name\n}}\n");
        let findings = run(check, &text);
        assert!(findings.len() == 1 && findings[0].undecided, "{findings:?}");
        assert!(findings[0].message.contains("module `ecr`"), "{findings:?}");
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
