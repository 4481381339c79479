//! MYP006 `first-party-excluded`: first-party code is excluded from type checking, by an
//! `exclude` pattern or by `follow_imports = skip` (or `silent`).

use super::config::Value;
use super::Context;
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "MYP006",
    name: "first-party-excluded",
    family: Family::Mypy,
    summary: "First-party modules are excluded from type checking",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("MYP006"),
    check: Check::Mypy(check),
};

/// The paths mypy matches `exclude` against for a file: the file and each directory above it
/// (with a trailing `/`), relative to the configuration's directory.
fn candidates(relative: &str) -> Vec<String> {
    let mut out = vec![relative.to_string()];
    let mut rest = relative;
    while let Some((dir, _)) = rest.rsplit_once('/') {
        out.push(format!("{dir}/"));
        rest = dir;
    }
    out
}

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let config_dir = ctx.config.path.parent().unwrap_or(&ctx.lambda.dir);
    if let Some(setting) = ctx.config.global.get("exclude") {
        let Value::List(patterns) = &setting.value else {
            return findings;
        };
        for pattern in patterns {
            let Ok(regex) = regex::Regex::new(pattern) else {
                findings.push(
                    Finding::new(
                        setting.origin.value_span.clone(),
                        format!("could not evaluate `exclude` pattern `{pattern}` (Python regular expression features Rust's regex lacks)"),
                    )
                    .undecided(),
                );
                continue;
            };
            let hit = ctx.first_party.iter().find_map(|module| {
                let relative = module
                    .path
                    .strip_prefix(config_dir)
                    .ok()?
                    .to_string_lossy()
                    .replace('\\', "/");
                candidates(&relative)
                    .into_iter()
                    .any(|candidate| regex.is_match(&candidate))
                    .then_some(relative)
            });
            if let Some(file) = hit {
                findings.push(
                    Finding::new(
                        setting.origin.value_span.clone(),
                        format!("`exclude` pattern `{pattern}` excludes first-party file `{file}` from type checking"),
                    )
                    .help("narrow the pattern to generated or vendored code"),
                );
            }
        }
    }
    let mut seen = Vec::new();
    for (module, effective) in ctx.first_party_options() {
        let Some(setting) = effective.setting("follow_imports") else {
            continue;
        };
        let Value::Str(mode) = &setting.value else {
            continue;
        };
        if (mode == "skip" || mode == "silent") && !seen.contains(&setting.origin.lines) {
            seen.push(setting.origin.lines.clone());
            findings.push(
                Finding::new(
                    setting.origin.entry_span(),
                    format!(
                        "`follow_imports = {mode}` in `[{}]` hides first-party module `{}` from type checking",
                        setting.origin.section, module.module
                    ),
                )
                .help("use `follow_imports = normal` for first-party code"),
            );
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::super::testing::run;
    use super::*;

    #[test]
    fn exclude_and_follow_imports() {
        let text = "[mypy]\nexclude = ^app/legacy/\nfollow_imports = skip\n";
        let (findings, _) = run(
            check,
            &[
                ("mypy.ini", text),
                ("app/legacy/old.py", ""),
                ("app/new.py", ""),
            ],
        );
        assert_eq!(findings.len(), 2, "{findings:?}");
    }

    #[test]
    fn unrelated_excludes_pass() {
        let text = "[tool.mypy]\nexclude = [\"^build/\", \"^generated/\"]\n";
        let (findings, _) = run(check, &[("pyproject.toml", text), ("app/new.py", "")]);
        assert!(findings.is_empty(), "{findings:?}");
    }
}
