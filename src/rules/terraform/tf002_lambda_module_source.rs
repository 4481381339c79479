//! TF002 `lambda-module-source`: the Lambda module comes from an approved source, pinned.

use std::path::{Component, Path, PathBuf};

use super::{expr_span, head_span, is_registry_source, undecided, Context, Located};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "TF002",
    name: "lambda-module-source",
    family: Family::Terraform,
    summary: "The Lambda module is not from an approved source, or is not pinned",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("TF002"),
    check: Check::Terraform(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let mut findings = Vec::new();
    for &(file, block) in ctx.module.lambda_module_calls() {
        let Some(attribute) = block.body.get_attribute("source") else {
            continue;
        };
        let span = expr_span(&attribute.value, head_span(block));
        let value = ctx.module.eval(&attribute.value);
        let Some(source) = value.as_str().map(|s| s.into_owned()) else {
            findings.push(Located::new(
                file,
                undecided(span, "the module source", &value),
            ));
            continue;
        };
        if let Some(problem) = judge(ctx, &source, block) {
            findings.push(Located::new(file, problem.at(span)));
        }
    }
    findings
}

/// What is wrong with a Lambda module source, if anything.
struct Problem {
    message: String,
    help: String,
}

impl Problem {
    fn at(self, span: std::ops::Range<usize>) -> Finding {
        Finding::new(span, self.message).help(self.help)
    }
}

fn judge(ctx: &Context<'_>, source: &str, block: &hcl::edit::structure::Block) -> Option<Problem> {
    if source.starts_with("./") || source.starts_with("../") {
        let target = normalize(&ctx.module.dir.join(source));
        return (!target.starts_with(ctx.repository_root())).then(|| Problem {
            message: format!("the Lambda module `{source}` is outside this repository"),
            help: "use the approved module by its pinned remote source".into(),
        });
    }
    let (base, query) = source.split_once('?').unwrap_or((source, ""));
    let approved = &ctx.policy.policy.terraform.lambda_module_sources;
    if !approved.iter().any(|a| a == base) {
        return Some(Problem {
            message: format!(
                "the Lambda module comes from `{base}`, which is not an approved source"
            ),
            help: format!(
                "use one of: {}",
                approved
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    if is_registry_source(source) {
        let version = block
            .body
            .get_attribute("version")
            .map(|a| ctx.module.eval(&a.value));
        let exact = version
            .as_ref()
            .and_then(|v| v.as_str().map(|s| s.into_owned()))
            .is_some_and(|v| is_exact_version(&v));
        return (!exact).then(|| Problem {
            message: "the Lambda module's registry `version` is not pinned to one release".into(),
            help: "set `version = \"1.4.2\"` (an exact release, not a range)".into(),
        });
    }
    let reference = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("ref="))
        .unwrap_or("");
    if reference.is_empty() {
        return Some(Problem {
            message: "the Lambda module is not pinned: its source has no `?ref=`".into(),
            help: format!(
                "append `?ref=v1.4.2` (a release tag) or a full commit hash to `{source}`"
            ),
        });
    }
    (!is_pinned_ref(reference)).then(|| Problem {
        message: format!(
            "the Lambda module is pinned to `{reference}`, which looks like a branch: it moves"
        ),
        help: "pin a release tag (`?ref=v1.4.2`) or a full commit hash".into(),
    })
}

/// A release tag (`v1.2.3`, `1.2`) or a full commit hash.
fn is_pinned_ref(reference: &str) -> bool {
    let is_commit = reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit());
    let version = reference.strip_prefix('v').unwrap_or(reference);
    let is_tag = version.split('.').count() >= 2
        && version
            .split(['.', '-', '+'])
            .next()
            .is_some_and(|major| !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()));
    is_commit || is_tag
}

/// `1.2.3` or `= 1.2.3`: one release, not a range.
fn is_exact_version(constraint: &str) -> bool {
    let version = constraint
        .trim()
        .strip_prefix('=')
        .unwrap_or(constraint)
        .trim();
    !version.is_empty()
        && !version.contains(',')
        && version.split('.').all(|part| !part.is_empty())
        && version.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

/// `a/b/../c` -> `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decided, run};
    use super::*;

    const APPROVED: &str =
        "git::https://git.example.com/platform/lambda-gate.git//terraform/modules/aws-lambda-container";

    fn call(source: &str, extra: &str) -> String {
        format!("module \"f\" {{\n  source = \"{source}\"\n  {extra}\n  image_uri = \"r@sha256:{}\"\n}}\n", "a".repeat(64))
    }

    #[test]
    fn approved_and_pinned_passes() {
        assert!(run(check, &call(&format!("{APPROVED}?ref=v1.4.2"), "")).is_empty());
        let commit = "0123456789abcdef0123456789abcdef01234567";
        assert!(run(check, &call(&format!("{APPROVED}?ref={commit}"), "")).is_empty());
        assert!(run(
            check,
            &call(
                "app.terraform.io/example/aws-lambda-container/aws",
                "version = \"1.4.2\""
            )
        )
        .is_empty());
    }

    #[test]
    fn relative_inside_the_repository_passes_outside_fails() {
        assert!(run(check, &call("../../modules/aws-lambda-container", "")).is_empty());
        let findings = run(
            check,
            &call("../../../../elsewhere/aws-lambda-container", ""),
        );
        assert_eq!(decided(&findings).len(), 1, "{findings:?}");
    }

    #[test]
    fn unpinned_branch_unapproved_and_ranges_fail() {
        for source in [
            APPROVED.to_string(),
            format!("{APPROVED}?ref=main"),
            "git::https://evil.example/x.git//aws-lambda-container?ref=v1.0.0".into(),
        ] {
            assert_eq!(
                decided(&run(check, &call(&source, ""))).len(),
                1,
                "{source}"
            );
        }
        let findings = run(
            check,
            &call(
                "app.terraform.io/example/aws-lambda-container/aws",
                "version = \"~> 1.4\"",
            ),
        );
        assert_eq!(decided(&findings).len(), 1);
    }

    #[test]
    fn other_modules_are_not_judged() {
        let text = "module \"vpc\" {\n  source = \"git::https://example.com/vpc.git\"\n}\n";
        assert!(run(check, text).is_empty());
    }
}
