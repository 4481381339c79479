//! MYP004 `override-weakens`: a per-module section turns a required check off for first-party
//! code (e.g. `disallow_untyped_defs = false` for `app.*`, `ignore_errors = true`).

use super::config::{glob_matches, Value};
use super::{strict_value, Context};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "MYP004",
    name: "override-weakens",
    family: Family::Mypy,
    summary: "A per-module section weakens a required check for first-party modules",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("MYP004"),
    check: Check::Mypy(check),
};

/// Why setting `option` to `value` weakens the policy, if it does.
fn weakens(ctx: &Context<'_>, option: &str, value: &Value) -> Option<String> {
    let policy = &ctx.policy.policy.mypy;
    match (option, value) {
        ("ignore_errors", Value::Bool(true)) => Some("silences every error".into()),
        ("strict_optional", Value::Bool(false)) => Some("stops checking `None`".into()),
        ("implicit_optional", Value::Bool(true)) => {
            Some("makes `x: int = None` mean `Optional[int]`".into())
        }
        ("warn_no_return", Value::Bool(false)) => {
            Some("stops reporting missing return statements".into())
        }
        ("disable_error_code", Value::List(codes)) => {
            let required: Vec<&String> = codes
                .iter()
                .filter(|c| policy.required_error_codes.contains(c))
                .collect();
            (!required.is_empty()).then(|| {
                format!(
                    "disables required error code{} {}",
                    if required.len() == 1 { "" } else { "s" },
                    required
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        }
        (flag, Value::Bool(b)) => {
            let strict = policy.require_strict.then(|| strict_value(flag)).flatten();
            let required = strict.or_else(|| {
                policy
                    .required_flags
                    .iter()
                    .any(|f| f == flag)
                    .then_some(true)
            });
            match required {
                Some(required) if *b != required => Some(format!(
                    "turns `{flag}` {}, which the policy requires {}",
                    if *b { "on" } else { "off" },
                    if required { "on" } else { "off" }
                )),
                _ => None,
            }
        }
        _ => None,
    }
}

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (glob, updates) in &ctx.config.per_module {
        let Some(module) = ctx
            .first_party
            .iter()
            .find(|m| glob_matches(glob, &m.module))
        else {
            continue;
        };
        for (option, setting) in &updates.values {
            let Some(why) = weakens(ctx, option, &setting.value) else {
                continue;
            };
            findings.push(
                Finding::new(
                    setting.origin.entry_span(),
                    format!(
                        "`[{}]` {why} for first-party module `{}`",
                        setting.origin.section, module.module
                    ),
                )
                .help("fix the code instead; if one line cannot be typed, use `# type: ignore[code]` there"),
            );
        }
    }
    findings.sort_by_key(|f| f.span.start);
    findings.dedup_by(|a, b| a.span == b.span && a.message == b.message);
    findings
}

#[cfg(test)]
mod tests {
    use super::super::testing::run;
    use super::*;

    #[test]
    fn weakening_first_party_is_reported_third_party_is_not() {
        let text = "[mypy]\nstrict = True\n[mypy-app.*]\ndisallow_untyped_defs = False\n[mypy-boto3.*]\ndisallow_untyped_defs = False\n";
        let (findings, _) = run(check, &[("mypy.ini", text), ("app/handler.py", "")]);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].message.contains("app.handler"));
    }

    #[test]
    fn tightening_is_fine() {
        let text = "[mypy]\nstrict = True\n[mypy-app.*]\nwarn_unreachable = True\n";
        let (findings, _) = run(check, &[("mypy.ini", text), ("app/handler.py", "")]);
        assert!(findings.is_empty());
    }
}
