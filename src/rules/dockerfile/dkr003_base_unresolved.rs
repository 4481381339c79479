//! DKR003 `base-unresolved`: a stage's base cannot be worked out statically.

use super::parser::{Base, BaseError};
use super::Context;
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "DKR003",
    name: "base-unresolved",
    family: Family::Dockerfile,
    summary: "A stage's base image cannot be resolved statically, so it cannot be verified",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("DKR003"),
    check: Check::Dockerfile(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    ctx.dockerfile
        .stages
        .iter()
        .filter_map(|stage| {
            let Base::Unresolved(error) = &stage.base else {
                return None;
            };
            let (message, help) = match error {
                BaseError::Expand(error) => (
                    format!("cannot resolve the base image `{}`: {error}", stage.image.text),
                    "declare the ARG before the first FROM with a default value, e.g. `ARG BASE_IMAGE=<approved base>:<tag>@sha256:<digest>`",
                ),
                BaseError::Invalid(error) => (
                    error.to_string(),
                    "write the base as `[registry/]repository[:tag][@sha256:digest]`",
                ),
            };
            Some(Finding::new(stage.image.span.clone(), message).help(help))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::run;
    use super::*;

    #[test]
    fn arg_without_default_is_unresolved() {
        let findings = run(check, "ARG BASE\nFROM ${BASE}\n");
        assert_eq!(findings.len(), 1);
        assert!(findings[0].message.contains("only known at build time"));
    }

    #[test]
    fn undeclared_and_invalid_references() {
        assert!(run(check, "FROM $NOPE\n")[0]
            .message
            .contains("not declared"));
        assert!(run(check, "FROM Bad/Name\n")[0]
            .message
            .contains("invalid image reference"));
    }

    #[test]
    fn defaults_resolve() {
        assert!(run(check, "ARG TAG=3.12\nFROM python:${TAG}\n").is_empty());
        assert!(run(check, "ARG TAG\nFROM python:${TAG:-3.12}\n").is_empty());
    }
}
