//! DKR011 `credential-file-in-image`: no credential file from the build context ends up in the
//! image. It follows the build ([`super::image_files`]) to the files COPY and ADD bring in, and
//! reads those whose names credentials go by (`*.pem`, `id_rsa`, `.env`, service-account keys,
//! `.npmrc`...): a secret it finds is an error; a name it cannot confirm is a note.

use super::image_files::{Build, Copied, ImageFiles};
use super::Context;
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "DKR011",
    name: "credential-file-in-image",
    family: Family::Dockerfile,
    summary: "A credential file from the build context is copied into the image",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("DKR011"),
    check: Check::Dockerfile(check),
};

/// Largest file read to confirm a credential.
const MAX_READ: u64 = 1024 * 1024;

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let local;
    let image = match ctx.files {
        Some(files) => files,
        None => {
            local = ImageFiles::simulate(&Build {
                dockerfile: ctx.dockerfile,
                policy: ctx.policy,
                context: ctx.build_context,
            });
            &local
        }
    };
    let mut copied: Vec<(&String, &Copied)> = image.sources.iter().collect();
    copied.sort_by_key(|(target, _)| *target);
    let mut findings = Vec::new();
    for (target, Copied { source, by: span }) in copied {
        let Some(kind) = credential_kind(source) else {
            continue;
        };
        let text = ctx.build_context.root().and_then(|root| {
            let path = root.join(source);
            let size = crate::fsio::metadata(&path).ok()?.len();
            (size <= MAX_READ).then(|| crate::fsio::read(&path).ok())?
        });
        let text = text.map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        let help = format!(
            "{}; keep it out of the build context with `.dockerignore`",
            kind.instead()
        );
        match text.as_deref().map(|t| kind.holds_secret(t)) {
            Some(Some(what)) => findings.push(
                Finding::new(
                    span.clone(),
                    format!("`{source}` is copied into the image as `{target}`, and it holds {what}: anyone who can pull the image can read it"),
                )
                .help(help),
            ),
            // Read, and nothing secret in it (a CA bundle, an `.env` of settings).
            Some(None) => {}
            None => findings.push(
                Finding::new(
                    span.clone(),
                    format!("`{source}` is copied into the image as `{target}`; its name says it is {}, and it could not be read to confirm", kind.what()),
                )
                .help(help)
                .undecided(),
            ),
        }
    }
    findings
}

/// What a file's name says it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CredentialKind {
    /// `*.pem`, `*.key`, `id_rsa`...
    PrivateKey,
    /// A keystore (`*.p12`, `*.pfx`, `*.jks`): binary, always a secret.
    Keystore,
    /// `.env`, `.env.production`.
    DotEnv,
    /// A JSON key file (`service-account.json`, `credentials.json`, `*-key.json`).
    JsonKey,
    /// `.aws/credentials`, `.netrc`, `.npmrc`, `.pypirc`, `.git-credentials`.
    ToolConfig,
}

impl CredentialKind {
    fn what(self) -> &'static str {
        match self {
            CredentialKind::PrivateKey => "a private key",
            CredentialKind::Keystore => "a keystore",
            CredentialKind::DotEnv => "an environment file",
            CredentialKind::JsonKey => "a key file",
            CredentialKind::ToolConfig => "a tool's credential file",
        }
    }

    fn instead(self) -> &'static str {
        match self {
            CredentialKind::PrivateKey | CredentialKind::Keystore | CredentialKind::JsonKey => {
                "store it in Secrets Manager and read it at run time (the Parameters and Secrets extension caches it)"
            }
            CredentialKind::DotEnv => {
                "set the function's environment in its template or Terraform module, secrets from Secrets Manager or SSM"
            }
            CredentialKind::ToolConfig => {
                "pass it to the build with `RUN --mount=type=secret` (`lambda-gate build --secret`), never COPY"
            }
        }
    }

    /// What secret `text` holds, if any.
    fn holds_secret(self, text: &str) -> Option<&'static str> {
        match self {
            CredentialKind::PrivateKey => {
                text.contains("PRIVATE KEY-----").then_some("a private key")
            }
            CredentialKind::Keystore => Some("a keystore"),
            CredentialKind::JsonKey => (text.contains("\"private_key\"")
                || text.contains("\"client_secret\"")
                || text.contains("\"secret_access_key\""))
            .then_some("a private key or client secret"),
            CredentialKind::DotEnv => text
                .lines()
                .filter_map(|line| line.trim().trim_start_matches("export ").split_once('='))
                .any(|(name, value)| {
                    let name = name.trim().to_ascii_uppercase();
                    let value = value.trim().trim_matches(['"', '\'']);
                    [
                        "SECRET",
                        "PASSWORD",
                        "PASSWD",
                        "TOKEN",
                        "API_KEY",
                        "PRIVATE_KEY",
                        "ACCESS_KEY",
                    ]
                    .iter()
                    .any(|word| name.contains(word))
                        && !value.is_empty()
                        && !value.starts_with('$')
                        && !value.starts_with("arn:")
                })
                .then_some("a secret (a password, token or key assigned in it)"),
            CredentialKind::ToolConfig => {
                let lower = text.to_ascii_lowercase();
                [
                    "aws_secret_access_key",
                    "password",
                    "_authtoken",
                    "_auth=",
                    "https://",
                ]
                .iter()
                .any(|word| lower.contains(word))
                .then_some("credentials")
            }
        }
    }
}

/// What a context file's name says it may be (`/`-separated path).
fn credential_kind(path: &str) -> Option<CredentialKind> {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let parent = path.rsplit('/').nth(1).unwrap_or("");
    if matches!(
        name.as_str(),
        "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519"
    ) || name.ends_with(".pem")
        || name.ends_with(".key")
    {
        return Some(CredentialKind::PrivateKey);
    }
    if [".p12", ".pfx", ".jks", ".keystore"]
        .iter()
        .any(|ext| name.ends_with(ext))
    {
        return Some(CredentialKind::Keystore);
    }
    if name == ".env"
        || name.strip_prefix(".env.").is_some_and(|rest| {
            !matches!(
                rest,
                "example" | "sample" | "template" | "dist" | "defaults"
            )
        })
    {
        return Some(CredentialKind::DotEnv);
    }
    if name.ends_with(".json")
        && [
            "service-account",
            "service_account",
            "serviceaccount",
            "credential",
            "-key.",
            "_key.",
            "secret",
        ]
        .iter()
        .any(|word| name.contains(word))
    {
        return Some(CredentialKind::JsonKey);
    }
    if (name == "credentials" && parent == ".aws")
        || matches!(
            name.as_str(),
            ".netrc" | ".npmrc" | ".pypirc" | ".git-credentials"
        )
    {
        return Some(CredentialKind::ToolConfig);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build_context::BuildContext;

    fn lint(dockerfile: &str, files: &[(&str, &str)]) -> Vec<Finding> {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        let context = BuildContext::for_dir(dir.path(), files.iter().map(|(name, _)| *name));
        let parsed = super::super::parser::parse(dockerfile).expect("parses");
        let policy = crate::policy::EffectivePolicy::compile(crate::policy::default_policy())
            .expect("policy");
        let kind = super::super::kind::ImageKind::Lambda("a test".into());
        check(&Context {
            path: std::path::Path::new("Dockerfile"),
            text: dockerfile,
            dockerfile: &parsed,
            policy: &policy,
            build_context: &context,
            kind: &kind,
            code: None,
            files: None,
        })
    }

    const KEY: &str = "{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMII\\n-----END PRIVATE KEY-----\\n\"}";

    #[test]
    fn a_service_account_key_copied_in_is_an_error() {
        let findings = lint(
            "FROM public.ecr.aws/lambda/python:3.12\nCOPY . ${LAMBDA_TASK_ROOT}/\n",
            &[("app.py", ""), ("service-account-key.json", KEY)],
        );
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(!findings[0].undecided);
        assert!(findings[0]
            .message
            .contains("/var/task/service-account-key.json"));
    }

    #[test]
    fn what_holds_no_secret_passes_and_what_cannot_be_read_is_a_note() {
        let bundle = "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n";
        let settings = "LOG_LEVEL=debug\nTABLE_NAME=orders\n";
        let examples = "DB_PASSWORD=changeme\n";
        assert!(lint(
            "FROM public.ecr.aws/lambda/python:3.12\nCOPY . ./\n",
            &[
                ("rds-ca-bundle.pem", bundle),
                (".env", settings),
                (".env.example", examples)
            ],
        )
        .is_empty());
        let secrets = lint(
            "FROM public.ecr.aws/lambda/python:3.12\nCOPY .env id_rsa ./\n",
            &[
                (".env", "export DB_PASSWORD='hunter2'\n"),
                ("id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n"),
            ],
        );
        assert_eq!(secrets.len(), 2, "{secrets:?}");
        // Without the file on disk (an in-memory context), the name alone is only a note.
        let unread = super::super::testing::run_with(
            check,
            "FROM a\nCOPY certs /certs\n",
            &["certs/client.key"],
            |_| {},
        );
        assert!(unread.len() == 1 && unread[0].undecided, "{unread:?}");
    }

    #[test]
    fn dockerignored_credentials_never_reach_the_image() {
        assert!(lint(
            "FROM public.ecr.aws/lambda/python:3.12\nCOPY . ./\n",
            &[
                (".dockerignore", ".env\n*.json\n"),
                (".env", "API_TOKEN=abc\n"),
                ("credentials.json", KEY)
            ],
        )
        .is_empty());
    }
}
