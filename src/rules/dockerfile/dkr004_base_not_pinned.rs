//! DKR004 `base-not-pinned`: no untagged base, no `latest`.

use super::parser::Base;
use super::Context;
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "DKR004",
    name: "base-not-pinned",
    family: Family::Dockerfile,
    summary: "A base image has no tag, or the moving tag `latest`",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("DKR004"),
    check: Check::Dockerfile(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for stage in &ctx.dockerfile.stages {
        let Base::Image(reference) = &stage.base else {
            continue;
        };
        let message = match (reference.tag.as_deref(), &reference.digest) {
            (None, None) => {
                format!("the base `{reference}` has no tag, so it means `latest`, which moves")
            }
            (Some("latest"), _) => format!("the base `{reference}` uses the moving tag `latest`"),
            _ => continue,
        };
        findings.push(Finding::new(stage.image.span.clone(), message).help(
            "name a version tag (e.g. `:3.12`) and, for the final stage, its `@sha256:` digest",
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, DIGEST};
    use super::*;

    #[test]
    fn untagged_and_latest_are_reported() {
        assert_eq!(run(check, "FROM python\n").len(), 1);
        assert_eq!(run(check, "FROM python:latest\n").len(), 1);
        assert_eq!(
            run(check, &format!("FROM python:latest@{DIGEST}\n")).len(),
            1
        );
    }

    #[test]
    fn tags_and_digests_pin() {
        assert!(run(check, "FROM python:3.12\n").is_empty());
        assert!(run(check, &format!("FROM python@{DIGEST}\n")).is_empty());
        assert!(run(check, "FROM python:3.12 AS a\nFROM a\nFROM scratch\n").is_empty());
    }
}
