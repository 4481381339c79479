//! DKR010 `buildkit-syntax`: syntax only BuildKit builds, where policy says the runner uses the
//! classic builder.

use super::buildkit::buildkit_only;
use super::Context;
use crate::diagnostic::{Finding, Severity};
use crate::policy::BuilderChoice;
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "DKR010",
    name: "buildkit-syntax",
    family: Family::Dockerfile,
    summary: "BuildKit-only syntax (RUN --mount, heredocs, COPY --chmod) where policy builds with the classic builder",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("DKR010"),
    check: Check::Dockerfile(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    // With `auto` or `buildkit` the runner builds it, and refuses before building on an Engine
    // without BuildKit: nothing to report here.
    if ctx.policy.policy.builder != BuilderChoice::Classic {
        return Vec::new();
    }
    buildkit_only(ctx.dockerfile)
        .into_iter()
        .map(|found| {
            Finding::new(
                found.span,
                format!(
                    "`{}` needs BuildKit, and policy builds with the classic builder (`builder = \"classic\"`)",
                    found.feature
                ),
            )
            .help("set `builder = \"auto\"` in lambda-gate.toml (BuildKit when the Engine has it), or rewrite the step without BuildKit syntax")
        })
        .collect()
}
