//! MYP005 `ignore-missing-imports`: `ignore_missing_imports` only in per-module sections, and
//! only for the third-party modules the policy lists as shipping without types.

use super::config::{glob_matches, Value};
use super::fix::{append_module_section, checked, delete_entry, FixValue};
use super::{is_module_section, Context};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "MYP005",
    name: "ignore-missing-imports",
    family: Family::Mypy,
    summary: "`ignore_missing_imports` is set globally, or for a module the policy does not list",
    default_severity: Severity::Error,
    fixable: true,
    doc: crate::rule_doc!("MYP005"),
    check: Check::Mypy(check),
};

/// Whether a per-module pattern lies within one the policy allows.
fn allowed(pattern: &str, untyped: &[String]) -> bool {
    untyped.iter().any(|allowed| {
        allowed == pattern
            || allowed.strip_suffix(".*").is_some_and(|package| {
                pattern == package || pattern.starts_with(&format!("{package}."))
            })
    })
}

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let untyped = &ctx.policy.policy.mypy.untyped_modules;
    let config = ctx.config;
    let mut findings = Vec::new();
    if let Some(setting) = config
        .global
        .get("ignore_missing_imports")
        .filter(|s| s.value == Value::Bool(true) && !is_module_section(&s.origin))
    {
        let fix = (!untyped.is_empty())
            .then(|| {
                checked(
                    config,
                    format!(
                        "move `ignore_missing_imports` into a section for {}",
                        untyped.join(", ")
                    ),
                    vec![
                        delete_entry(&setting.origin),
                        append_module_section(
                            config,
                            untyped,
                            "ignore_missing_imports",
                            &FixValue::Bool(true),
                        ),
                    ],
                )
            })
            .flatten();
        findings.push(
            Finding::new(
                setting.origin.entry_span(),
                "`ignore_missing_imports` is on for every module: a misspelt or missing first-party import would pass unnoticed",
            )
            .help(format!(
                "set it per module, only for third-party packages without types (the policy lists {})",
                if untyped.is_empty() { "none".to_string() } else { untyped.join(", ") }
            ))
            .fix(fix),
        );
    }
    for (glob, updates) in &config.per_module {
        let Some(setting) = updates
            .values
            .get("ignore_missing_imports")
            .filter(|s| s.value == Value::Bool(true))
        else {
            continue;
        };
        let first_party = ctx
            .first_party
            .iter()
            .find(|m| glob_matches(glob, &m.module));
        let message = match first_party {
            Some(module) => format!(
                "`ignore_missing_imports` for `{glob}` covers first-party module `{}`",
                module.module
            ),
            None if allowed(glob, untyped) => continue,
            None => format!(
                "`ignore_missing_imports` for `{glob}`, which the policy does not list as shipping without types"
            ),
        };
        findings.push(
            Finding::new(setting.origin.entry_span(), message)
                .help("install the package's type stubs (`types-...`), or add the module to `[mypy] untyped-modules` in the policy"),
        );
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::super::testing::{fixed, run};
    use super::*;

    #[test]
    fn global_switch_moves_into_a_module_section() {
        let text =
            "[tool.mypy]\nstrict = true\nignore_missing_imports = true  # quiet\n\n[tool.ruff]\n";
        let (findings, original) = run(check, &[("pyproject.toml", text)]);
        assert_eq!(findings.len(), 1);
        let after = fixed(&findings, &original);
        assert!(!after.contains("quiet"));
        assert!(after.contains("[[tool.mypy.overrides]]\nmodule = [\"aws_xray_sdk.*\", \"jmespath.*\"]\nignore_missing_imports = true\n"));
        let (again, _) = run(check, &[("pyproject.toml", &after)]);
        assert!(again.is_empty(), "{after}");
    }

    #[test]
    fn module_sections() {
        assert!(allowed("aws_xray_sdk.core", &["aws_xray_sdk.*".into()]));
        assert!(!allowed("requests", &["aws_xray_sdk.*".into()]));
        let text = "[mypy]\n[mypy-requests]\nignore_missing_imports = True\n[mypy-app.*]\nignore_missing_imports = True\n[mypy-jmespath]\nignore_missing_imports = True\n";
        let (findings, _) = run(check, &[("mypy.ini", text), ("app/x.py", "")]);
        assert_eq!(findings.len(), 2, "{findings:?}");
    }
}
