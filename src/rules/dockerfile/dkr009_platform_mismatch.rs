//! DKR009 `platform-mismatch`: a `--platform` on FROM does not contradict the platforms the
//! runner builds.

use super::expand::expand;
use super::Context;
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "DKR009",
    name: "platform-mismatch",
    family: Family::Dockerfile,
    summary: "FROM --platform pins a platform that contradicts the platforms policy builds",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("DKR009"),
    check: Check::Dockerfile(check),
};

/// BuildKit's automatic platform ARGs: a FROM that uses them follows the build's platform.
const AUTOMATIC: &[&str] = &[
    "BUILDPLATFORM",
    "TARGETPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDVARIANT",
];

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let platforms = &ctx.policy.policy.platforms;
    let mut findings = Vec::new();
    for stage in &ctx.dockerfile.stages {
        let Some(value) = stage.platform.as_ref().and_then(|flag| flag.value.as_ref()) else {
            continue;
        };
        if AUTOMATIC.iter().any(|name| value.text.contains(name)) {
            continue;
        }
        let Ok(written) = expand(&value.text, &ctx.dockerfile.global_args) else {
            continue;
        };
        let platform = normalize_platform(&written);
        let message = if !platforms.contains(&platform) {
            format!(
                "`--platform={platform}` is not a platform the runner builds ({})",
                platforms.join(", ")
            )
        } else if platforms.len() > 1 {
            format!(
                "`--platform={platform}` pins this stage, but the runner builds {}: every other platform's image would contain {platform} binaries",
                platforms.join(" and ")
            )
        } else {
            continue;
        };
        findings.push(Finding::new(value.span.clone(), message).help(
            "remove --platform so the stage follows the target platform, or use --platform=$BUILDPLATFORM for a build stage that cross-compiles",
        ));
    }
    findings
}

/// A platform as BuildKit normalises it (containerd's platforms package): `x86_64`/`x86-64`
/// are `amd64`, `aarch64` is `arm64` (its default `v8` variant dropped), names lower-cased.
pub fn normalize_platform(platform: &str) -> String {
    let lower = platform.to_ascii_lowercase();
    let mut parts: Vec<&str> = lower.split('/').collect();
    if let Some(arch) = parts.get_mut(1) {
        *arch = match *arch {
            "x86_64" | "x86-64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
    }
    if parts.len() == 3 && parts[1] == "arm64" && parts[2] == "v8" {
        parts.pop();
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, run_with};
    use super::*;

    #[test]
    fn aliases_are_the_platforms_buildkit_normalises_them_to() {
        assert_eq!(normalize_platform("linux/x86_64"), "linux/amd64");
        assert_eq!(normalize_platform("Linux/AArch64"), "linux/arm64");
        assert_eq!(normalize_platform("linux/arm64/v8"), "linux/arm64");
        let findings = run(check, "FROM --platform=linux/x86_64 a:1\n");
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0].message.contains("pins this stage"),
            "{findings:?}"
        );
    }

    #[test]
    fn literal_platform_contradicts_a_multi_platform_build() {
        let findings = run(check, "FROM --platform=linux/amd64 a:1\n");
        assert_eq!(findings.len(), 1);
        assert!(findings[0].message.contains("linux/amd64 and linux/arm64"));
        assert_eq!(
            run(check, "ARG P=linux/s390x\nFROM --platform=$P a:1\n").len(),
            1
        );
    }

    #[test]
    fn automatic_args_and_single_platform_policies_pass() {
        assert!(run(check, "FROM --platform=$BUILDPLATFORM a:1\nFROM a:1\n").is_empty());
        let single = run_with(check, "FROM --platform=linux/arm64 a:1\n", &[], |p| {
            p.platforms = vec!["linux/arm64".into()]
        });
        assert!(single.is_empty());
    }
}
