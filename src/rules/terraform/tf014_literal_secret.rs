//! TF014 `literal-secret`: a password, token or key written into the configuration: in a
//! resource, a provider, a module call, a variable's default or a tfvars file Terraform loads.

use hcl::edit::expr::Expression;
use hcl::edit::structure::{Block, Body};
use hcl::edit::Span as _;

use super::{Context, Located};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "TF014",
    name: "literal-secret",
    family: Family::Terraform,
    summary: "A password, token or key is written into the Terraform configuration",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("TF014"),
    check: Check::Terraform(check),
};

/// Argument names that hold a secret (`password`, `master_password`, `client_secret`,
/// `auth_token`, `secret_key`, `private_key`...), compared in lower case.
fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let exact = [
        "password",
        "secret",
        "token",
        "api_key",
        "apikey",
        "access_key",
        "secret_key",
        "private_key",
        "auth_token",
        "client_secret",
    ];
    exact.contains(&name.as_str())
        || [
            "_password",
            "_secret",
            "_token",
            "_api_key",
            "_secret_key",
            "_private_key",
        ]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

/// Names that end like a secret but are settings about one.
fn is_about_a_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "_length",
        "_arn",
        "_id",
        "_name",
        "_version",
        "_wo_version",
        "_enabled",
        "_policy",
        "_ttl",
        "_rotation",
        "_kms_key_id",
        "_path",
        "_file",
    ]
    .iter()
    .any(|suffix| name.ends_with(suffix))
        || name.starts_with("manage_")
}

/// A written-out string: not a reference, a function call or a template with interpolations.
fn literal(expression: &Expression) -> Option<&str> {
    match expression {
        Expression::String(text) => {
            let value = text.value().as_str();
            (!value.trim().is_empty()).then_some(value)
        }
        _ => None,
    }
}

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let mut findings = Vec::new();
    for (index, file) in ctx.module.files.iter().enumerate() {
        if file.is_vars {
            attributes(&file.body, index, "in a tfvars file", &mut findings);
            continue;
        }
        for block in file.body.blocks() {
            match block.ident.value().as_str() {
                "variable" => {
                    let name = block.labels.first().map(|l| l.as_str()).unwrap_or("");
                    let default = block.body.get_attribute("default");
                    if let Some(attribute) = default.filter(|_| is_secret_name(name)) {
                        if literal(&attribute.value).is_some() {
                            findings.push(Located::new(
                                index,
                                finding(
                                    attribute.span().unwrap_or(0..0),
                                    &format!("variable `{name}` has a literal default"),
                                ),
                            ));
                        }
                    }
                }
                "resource" | "data" | "module" | "provider" => {
                    nested(block, index, &mut findings);
                }
                _ => {}
            }
        }
    }
    findings
}

/// The secret arguments of a block and of the blocks nested in it.
fn nested(block: &Block, file: usize, findings: &mut Vec<Located>) {
    let kind = block.ident.value().as_str();
    let name = block
        .labels
        .iter()
        .map(|l| l.as_str())
        .collect::<Vec<_>>()
        .join(".");
    attributes(&block.body, file, &format!("in {kind} `{name}`"), findings);
    for inner in block.body.blocks() {
        nested(inner, file, findings);
    }
}

fn attributes(body: &Body, file: usize, place: &str, findings: &mut Vec<Located>) {
    for attribute in body.attributes() {
        let key = attribute.key.value().as_str();
        if !is_secret_name(key) || is_about_a_secret(key) {
            continue;
        }
        if literal(&attribute.value).is_some() {
            findings.push(Located::new(
                file,
                finding(
                    attribute.span().unwrap_or(0..0),
                    &format!("`{key}` {place} is a literal value"),
                ),
            ));
        }
    }
}

fn finding(span: std::ops::Range<usize>, what: &str) -> Finding {
    Finding::new(
        span,
        format!("{what}: the secret is in plain text in the repository, and in every plan and state"),
    )
    .help("let the service manage it (`manage_master_user_password = true` for RDS), or read it from Secrets Manager or SSM (`data \"aws_secretsmanager_secret_version\"`, `ephemeral` resources), or pass a `sensitive` variable with no default from the environment")
}

#[cfg(test)]
mod tests {
    use super::super::testing::run;
    use super::*;

    #[test]
    fn literal_passwords_tokens_and_defaults_are_reported() {
        let text = "resource \"aws_db_instance\" \"db\" {\n  username = \"app\"\n  password = \"hunter2-prod\"\n}\nprovider \"github\" {\n  token = \"ghp_fixture\"\n}\nvariable \"api_token\" {\n  default = \"abc\"\n}\n";
        let findings = run(check, text);
        assert_eq!(findings.len(), 3, "{findings:?}");
        assert!(findings.iter().all(|f| !f.undecided));
    }

    #[test]
    fn references_settings_and_empty_values_pass() {
        let text = "resource \"aws_db_instance\" \"db\" {\n  password = var.db_password\n  manage_master_user_password = true\n  password_wo_version = 1\n}\nresource \"random_password\" \"p\" {\n  length = 32\n}\nresource \"aws_secretsmanager_secret_version\" \"v\" {\n  secret_string = random_password.p.result\n}\nvariable \"db_password\" {\n  sensitive = true\n}\nvariable \"token_ttl\" {\n  default = \"3600\"\n}\nresource \"x\" \"y\" {\n  password = \"\"\n  secret_arn = \"arn:aws:secretsmanager:eu-west-1:1:secret:x\"\n  auth_token = \"${var.t}\"\n}\n";
        let findings = run(check, text);
        assert!(findings.is_empty(), "{findings:?}");
    }
}
