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
    // Build arguments, by name: an ENV that copies one keeps the build's value in the image.
    let build_args: Vec<&str> = ctx
        .dockerfile
        .instructions
        .iter()
        .filter(|i| i.keyword == "ARG")
        .flat_map(|i| i.assignments().into_iter().map(|a| a.name))
        .collect();
    let secret_name = |name: &str| {
        ctx.policy.dockerfile.secret_names.is_match(name)
            && !ctx.policy.dockerfile.not_secret_names.is_match(name)
    };
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
            } else if url_with_password(value) {
                format!(
                    "{} `{}` holds a URL with a password in it",
                    instruction.keyword, assignment.name
                )
            } else if let Some(argument) = reference(value)
                .filter(|_| instruction.keyword == "ENV")
                .filter(|name| build_args.contains(name))
                .filter(|name| secret_name(name) || secret_name(assignment.name))
            {
                format!(
                    "ENV `{}` copies the build argument `{argument}` into the image's configuration: the secret the build is given is stored in the image",
                    assignment.name
                )
            } else if secret_name(assignment.name)
                && is_literal(value)
                && !is_plainly_not_secret(value)
            {
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

/// A URL whose authority carries a password: `scheme://user:password@host`.
fn url_with_password(value: &str) -> bool {
    value.split_once("://").is_some_and(|(_, rest)| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
        authority.rsplit_once('@').is_some_and(|(userinfo, _)| {
            userinfo
                .split_once(':')
                .is_some_and(|(_, p)| !p.is_empty() && !p.starts_with('$'))
        })
    })
}

/// A value that cannot be a secret whatever its name says: a number (`SECRETS_MANAGER_TTL=300`),
/// a boolean or switch word, a duration, an ARN or a path, or a URL without credentials
/// (`TOKEN_ENDPOINT=https://auth.example.com/oauth2/token`).
fn is_plainly_not_secret(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if value.parse::<f64>().is_ok()
        || matches!(
            lower.as_str(),
            "true"
                | "false"
                | "yes"
                | "no"
                | "on"
                | "off"
                | "enabled"
                | "disabled"
                | "none"
                | "null"
        )
    {
        return true;
    }
    // A duration: digits then a unit (`30s`, `5m`, `1h`, `500ms`).
    if let Some(unit_at) = value.find(|c: char| !c.is_ascii_digit()) {
        if unit_at > 0 && matches!(&lower[unit_at..], "ms" | "s" | "m" | "h" | "d") {
            return true;
        }
    }
    if lower.starts_with("arn:aws") || lower.starts_with("arn:") {
        return true;
    }
    // A path names where a secret is (`GOOGLE_APPLICATION_CREDENTIALS=/var/task/sa.json`,
    // `DB_PASSWORD_FILE=/run/secrets/db`, `${LAMBDA_TASK_ROOT}/sa.json`), not the secret itself.
    let below_variable = after_leading_variable(value).is_some_and(|rest| rest.starts_with('/'));
    if (value.starts_with('/')
        || value.starts_with("./")
        || value.starts_with("~/")
        || below_variable)
        && !value.contains(char::is_whitespace)
    {
        return true;
    }
    if let Some((scheme, rest)) = value.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
        let has_credentials = authority.contains('@');
        let has_query_secret = rest.split_once('?').is_some_and(|(_, query)| {
            query.split('&').any(|pair| {
                let key = pair.split('=').next().unwrap_or(pair).to_ascii_lowercase();
                [
                    "token",
                    "secret",
                    "password",
                    "key",
                    "sig",
                    "signature",
                    "credential",
                ]
                .iter()
                .any(|word| key.contains(word))
            })
        });
        return !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && !has_credentials
            && !has_query_secret;
    }
    false
}

/// A value that is written out, not taken from another variable (`$X`, `${X}`, `${X:-}`).
fn is_literal(value: &str) -> bool {
    !value.is_empty() && reference(value).is_none()
}

/// What follows a leading variable reference (`$X` or `${X}`): `/sa.json` of
/// `${LAMBDA_TASK_ROOT}/sa.json`.
fn after_leading_variable(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('$')?;
    let (name, rest) = match rest.strip_prefix('{') {
        Some(braced) => braced.split_once('}')?,
        None => {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            rest.split_at(end)
        }
    };
    (!name.is_empty()).then_some(rest)
}

/// The variable a value is taken from, when it is only that (`$X`, `${X}`, `${X:-default}`).
fn reference(value: &str) -> Option<&str> {
    value
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        .map(|inner| inner.split([':', '-', '+', '?']).next().unwrap_or(inner))
        .or_else(|| value.strip_prefix('$'))
        .filter(|name| {
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
    fn a_secret_build_argument_copied_into_env_is_baked_in() {
        // Docker's own SecretsUsedInArgOrEnv check flags this too: ENV keeps the build's value.
        let baked = run(
            check,
            "FROM a:1\nARG AWS_SECRET_ACCESS_KEY\nENV AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY}\n",
        );
        assert_eq!(baked.len(), 1, "{baked:?}");
        assert!(baked[0].message.contains("copies the build argument"));
        let renamed = run(
            check,
            "ARG NPM_TOKEN\nFROM a:1\nENV TOKEN_FOR_NPM=$NPM_TOKEN\n",
        );
        assert_eq!(renamed.len(), 1, "{renamed:?}");
        // A run-time variable that is not a build argument is not baked in by the build.
        assert!(run(check, "FROM a:1\nENV API_TOKEN=${RUNTIME_TOKEN}\n").is_empty());
        // Nor is a build argument whose names say nothing secret.
        assert!(run(check, "FROM a:1\nARG STAGE\nENV STAGE=${STAGE}\n").is_empty());
    }

    #[test]
    fn paths_say_where_a_secret_is_not_what_it_is() {
        for line in [
            "ENV GOOGLE_APPLICATION_CREDENTIALS=/var/task/sa.json",
            "ENV DB_PASSWORD_FILE=/run/secrets/db",
            "ENV SSH_PRIVATE_KEY_PATH=./keys/deploy",
        ] {
            assert!(
                run(check, &format!("FROM a:1\n{line}\n")).is_empty(),
                "{line}"
            );
        }
        assert_eq!(
            run(check, "FROM a:1\nENV DB_PASSWORD=\"/hunter 2\"\n").len(),
            1,
            "a value with blanks is not a path"
        );
    }

    #[test]
    fn references_and_declarations_are_fine() {
        assert!(run(
            check,
            "FROM a:1\nENV SECRET_ARN=${SECRET_ARN:-}\nENV PASSWORD=\"\"\n"
        )
        .is_empty());
        assert!(run(check, "FROM a:1\nENV NOTAKEY=AKIAIOSFODNN7EXAMPLEX\n").is_empty());
    }

    #[test]
    fn settings_numbers_and_urls_are_not_secrets() {
        for line in [
            "ENV GOOGLE_APPLICATION_CREDENTIALS=${LAMBDA_TASK_ROOT}/service-account-key.json",
            "ENV DB_PASSWORD_FILE=$SECRETS_DIR/db",
            "ENV PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=2773",
            "ENV SECRETS_MANAGER_TTL=300",
            "ENV PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED=true",
            "ENV PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL=debug",
            "ENV TOKEN_ENDPOINT=https://auth.example.com/oauth2/token",
            "ENV API_KEY_HEADER_TIMEOUT=30s",
            "ENV DB_SECRET_ARN=arn:aws:secretsmanager:eu-west-1:123456789012:secret:db",
            "ENV ENABLE_TOKEN_CACHE=false",
        ] {
            assert!(
                run(check, &format!("FROM a:1\n{line}\n")).is_empty(),
                "{line}"
            );
        }
        for line in [
            "ENV DB_PASSWORD=hunter2",
            "ENV TOKEN_URL=https://user:hunter2@auth.example.com/token",
            "ENV WEBHOOK_SECRET_URL=https://hooks.example.com/x?token=abc123",
            "ENV SERVICE_TOKEN=eyJhbGciOiJIUzI1NiJ9",
            "ENV API_KEY=12ab34cd",
        ] {
            assert_eq!(
                run(check, &format!("FROM a:1\n{line}\n")).len(),
                1,
                "{line}"
            );
        }
    }
}
