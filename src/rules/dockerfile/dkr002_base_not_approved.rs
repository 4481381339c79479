//! DKR002 `base-not-approved`: every stage builds FROM an approved base.

use super::parser::Base;
use super::{bullet_list, Context};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "DKR002",
    name: "base-not-approved",
    family: Family::Dockerfile,
    summary: "A stage builds FROM an image that is not an approved base",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("DKR002"),
    check: Check::Dockerfile(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let final_chain = ctx.final_chain();
    let mut findings = Vec::new();
    for (index, stage) in ctx.dockerfile.stages.iter().enumerate() {
        let in_final_image = final_chain.contains(&index);
        let unapproved = match &stage.base {
            Base::Image(reference) if !ctx.is_approved(reference, in_final_image) => {
                reference.to_string()
            }
            // The final image cannot start from nothing: Lambda needs the runtime.
            Base::Scratch if in_final_image => "scratch".to_string(),
            _ => continue,
        };
        let dockerfile = &ctx.policy.policy.dockerfile;
        let (message, help) = if in_final_image {
            let what = if ctx.is_final(stage) {
                "the final stage".to_string()
            } else {
                format!(
                    "stage `{}`, which the final stage builds on,",
                    stage_name(stage, index)
                )
            };
            (
                format!("{what} builds FROM `{unapproved}`, which is not an approved release base"),
                format!(
                    "the image Lambda runs must build FROM an approved release base:\n{}",
                    bullet_list(&dockerfile.release_bases)
                ),
            )
        } else {
            let mut approved = dockerfile.release_bases.clone();
            approved.extend(dockerfile.dev_bases.iter().cloned());
            (
                format!(
                    "build stage `{}` builds FROM `{unapproved}`, which is not an approved base",
                    stage_name(stage, index)
                ),
                format!(
                    "build stages may use a release or a dev base:\n{}",
                    bullet_list(&approved)
                ),
            )
        };
        findings.push(Finding::new(stage.image.span.clone(), message).help(help));
    }
    findings
}

fn stage_name(stage: &super::parser::Stage, index: usize) -> String {
    stage
        .name
        .as_ref()
        .map_or_else(|| index.to_string(), |name| name.text.clone())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, DEV, DIGEST, RELEASE};
    use super::*;

    #[test]
    fn release_base_is_approved_for_the_final_stage() {
        let text = format!("FROM {RELEASE}:3.12@{DIGEST}\nCMD [\"app.handler.handler\"]\n");
        assert!(run(check, &text).is_empty());
    }

    #[test]
    fn dev_base_is_only_for_build_stages() {
        let text = format!("FROM {DEV}:3.12 AS build\nFROM {RELEASE}:3.12@{DIGEST}\n");
        assert!(run(check, &text).is_empty());
        let text = format!("FROM {DEV}:3.12\n");
        let findings = run(check, &text);
        assert_eq!(findings.len(), 1);
        assert!(findings[0].message.contains("not an approved release base"));
    }

    #[test]
    fn final_stage_inherits_its_stage_base() {
        let text = format!("FROM {DEV}:3.12 AS build\nFROM build\n");
        let findings = run(check, &text);
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0]
                .message
                .contains("which the final stage builds on"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn unapproved_images_and_scratch() {
        let findings = run(check, "FROM python:3.12 AS build\nFROM scratch\n");
        assert_eq!(findings.len(), 2);
        assert!(findings[0]
            .message
            .contains("docker.io/library/python:3.12"));
        assert!(findings[1].message.contains("scratch"));
    }
}
