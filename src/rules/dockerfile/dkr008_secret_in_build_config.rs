//! DKR008 `secret-in-build-config`: no secrets in ENV or ARG.

use super::Context;
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "DKR008",
    name: "secret-in-build-config",
    family: Family::Dockerfile,
    summary:
        "ENV or ARG holds a secret: an AWS access key id, or a literal value for a secret-like name",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("DKR008"),
    check: Check::Dockerfile(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for instruction in &ctx.dockerfile.instructions {
        if !matches!(instruction.keyword.as_str(), "ENV" | "ARG") {
            continue;
        }
        for assignment in instruction.assignments() {
            let Some(value) = &assignment.value else {
                continue;
            };
            let value = value.trim_matches(['"', '\'']);
            let message = if let Some(key_id) = find_access_key_id(value) {
                format!(
                    "{} `{}` holds an AWS access key id ({}...)",
                    instruction.keyword,
                    assignment.name,
                    &key_id[..8]
                )
            } else if ctx.policy.secret_names.is_match(assignment.name) && is_literal(value) {
                format!(
                    "{} `{}` is given a literal value, and its name says it is a secret",
                    instruction.keyword, assignment.name
                )
            } else {
                continue;
            };
            findings.push(Finding::new(assignment.span.clone(), message).help(
                "ENV and ARG values are stored in the image and its history for anyone who can pull it: pass secrets at run time (Lambda environment from Secrets Manager or SSM) or at build time with `RUN --mount=type=secret`",
            ));
        }
    }
    findings
}

/// A value that is written out, not taken from another variable (`$X`, `${X}`, `${X:-}`).
fn is_literal(value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    let reference = value
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        .map(|inner| inner.split([':', '-', '+', '?']).next().unwrap_or(inner))
        .or_else(|| value.strip_prefix('$'));
    !reference.is_some_and(|name| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// An AWS access key id: a known four-letter prefix, then 16 upper-case letters or digits.
fn find_access_key_id(value: &str) -> Option<&str> {
    let bytes = value.as_bytes();
    let is_key_byte = |b: &u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    memchr::memchr_iter(b'A', bytes).find_map(|start| {
        let candidate = bytes.get(start..start + 20)?;
        let prefix_ok = [b"AKIA", b"ASIA", b"ABIA", b"ACCA"]
            .iter()
            .any(|p| candidate.starts_with(*p));
        let bounded = |b: Option<&u8>| b.is_none_or(|b| !b.is_ascii_alphanumeric());
        let isolated = bounded(start.checked_sub(1).and_then(|i| bytes.get(i)))
            && bounded(bytes.get(start + 20));
        (prefix_ok && candidate[4..].iter().all(is_key_byte) && isolated)
            .then(|| &value[start..start + 20])
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::run;
    use super::*;

    #[test]
    fn literal_secrets_are_reported() {
        assert_eq!(run(check, "FROM a:1\nENV DB_PASSWORD=hunter2\n").len(), 1);
        assert_eq!(run(check, "FROM a:1\nENV api_token \"abc def\"\n").len(), 1);
        assert_eq!(run(check, "ARG GITHUB_TOKEN=ghp_x\nFROM a:1\n").len(), 1);
        let key = run(
            check,
            "FROM a:1\nENV REGION=eu-west-1 KEY=AKIAIOSFODNN7EXAMPLE\n",
        );
        assert_eq!(key.len(), 1);
        assert!(key[0].message.contains("AKIAIOSF..."));
    }

    #[test]
    fn references_and_declarations_are_fine() {
        assert!(run(check, "ARG NPM_TOKEN\nFROM a:1\nENV NPM_TOKEN=$NPM_TOKEN\n").is_empty());
        assert!(run(
            check,
            "FROM a:1\nENV SECRET_ARN=${SECRET_ARN:-}\nENV PASSWORD=\"\"\n"
        )
        .is_empty());
        assert!(run(check, "FROM a:1\nENV NOTAKEY=AKIAIOSFODNN7EXAMPLEX\n").is_empty());
    }
}
