//! MYP003 `required-setting`: the global mypy settings the team requires are in force:
//! `strict` (or every flag it turns on), the policy's required flags and error codes, and the
//! release base's `python_version`.

use super::config::Value;
use super::fix::{checked, extend_list, insert_global, replace_value, FixValue};
use super::{is_module_section, options, written, Context};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "MYP003",
    name: "required-setting",
    family: Family::Mypy,
    summary: "A global mypy setting the policy requires is missing or weaker",
    default_severity: Severity::Error,
    fixable: true,
    doc: crate::rule_doc!("MYP003"),
    check: Check::Mypy(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let policy = &ctx.policy.policy.mypy;
    let config = ctx.config;
    let global = config.global();
    let mut findings = Vec::new();
    let mut handled: Vec<&str> = Vec::new();

    // A global flag written with the weaker value: flip it where it is written.
    let flip = |flag: &str, required: bool, findings: &mut Vec<Finding>| -> bool {
        match global.setting(flag) {
            Some(setting)
                if !is_module_section(&setting.origin) && setting.origin.key != "strict" =>
            {
                let origin = &setting.origin;
                let value = FixValue::Bool(written(origin, required));
                findings.push(
                    Finding::new(
                        origin.value_span.clone(),
                        if origin.key == flag {
                            format!(
                                "`{flag}` is {}: the policy requires it {}",
                                if required { "off" } else { "on" },
                                if required { "on" } else { "off" }
                            )
                        } else {
                            format!(
                                "`{}` turns `{flag}` {}: the policy requires it {}",
                                origin.key,
                                if required { "off" } else { "on" },
                                if required { "on" } else { "off" }
                            )
                        },
                    )
                    .fix(checked(
                        config,
                        format!(
                            "set `{}` to {}",
                            origin.key,
                            super::fix::render(config.format, &value)
                        ),
                        vec![replace_value(config, origin, &value)],
                    )),
                );
                true
            }
            _ => false,
        }
    };

    if policy.require_strict {
        let mut unset = Vec::new();
        for (flag, required) in options::STRICT_FLAGS {
            handled.push(flag);
            if global.flag(flag) == *required {
                continue;
            }
            if !flip(flag, *required, &mut findings) {
                unset.push(*flag);
            }
        }
        if !unset.is_empty() {
            let strict_entry = config
                .global_section
                .as_ref()
                .and_then(|s| s.entries.iter().find(|e| e.key == "strict"));
            let message = format!(
                "`strict` is not on: {} of the {} flags it turns on {} off ({})",
                unset.len(),
                options::STRICT_FLAGS.len(),
                if unset.len() == 1 { "is" } else { "are" },
                unset.join(", ")
            );
            let value = FixValue::Bool(true);
            let (span, edit) = match strict_entry {
                Some(entry) => (
                    entry.value_span.clone(),
                    Some(crate::diagnostic::Edit {
                        range: entry.value_span.clone(),
                        replacement: super::fix::render(config.format, &value),
                    }),
                ),
                None => (ctx.global_anchor(), insert_global(config, "strict", &value)),
            };
            findings.push(
                Finding::new(span, message)
                    .help("set `strict = true` in the global section")
                    .fix(edit.and_then(|e| checked(config, "turn `strict` on".into(), vec![e]))),
            );
        }
    }

    for flag in &policy.required_flags {
        if handled.contains(&flag.as_str()) || global.flag(flag) {
            continue;
        }
        if !flip(flag, true, &mut findings) {
            let value = FixValue::Bool(true);
            findings.push(
                Finding::new(
                    ctx.global_anchor(),
                    format!("`{flag}` is not on: the policy requires it"),
                )
                .fix(
                    insert_global(config, flag, &value)
                        .and_then(|e| checked(config, format!("add `{flag} = true`"), vec![e])),
                ),
            );
        }
    }

    let missing: Vec<String> = policy
        .required_error_codes
        .iter()
        .filter(|code| !global.enabled.contains(*code))
        .cloned()
        .collect();
    if !missing.is_empty() {
        let message = format!(
            "error code{} {} not enabled: the policy requires `enable_error_code` to include {}",
            if missing.len() == 1 { "" } else { "s" },
            missing
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", "),
            policy.required_error_codes.join(", ")
        );
        let existing = global
            .setting("enable_error_code")
            .filter(|s| !is_module_section(&s.origin));
        let finding = match existing {
            Some(setting) => {
                // A TOML string (`"a, b"`) is rewritten whole; lists are extended in place.
                let toml_string = config.format == super::config::Format::Toml
                    && !config.text[setting.origin.value_span.clone()].starts_with('[');
                let edit = match &setting.value {
                    Value::List(_) if !toml_string => {
                        extend_list(config, &setting.origin, &missing)
                    }
                    _ => None,
                };
                let edit = edit.unwrap_or_else(|| {
                    let mut codes = match &setting.value {
                        Value::List(items) => items.clone(),
                        _ => Vec::new(),
                    };
                    codes.extend(missing.iter().cloned());
                    replace_value(config, &setting.origin, &FixValue::List(codes))
                });
                Finding::new(setting.origin.value_span.clone(), message).fix(checked(
                    config,
                    format!("enable {}", missing.join(", ")),
                    vec![edit],
                ))
            }
            None => {
                let value = FixValue::List(missing.clone());
                Finding::new(ctx.global_anchor(), message).fix(
                    insert_global(config, "enable_error_code", &value).and_then(|e| {
                        checked(config, format!("enable {}", missing.join(", ")), vec![e])
                    }),
                )
            }
        };
        findings.push(finding);
    }

    let wanted = &ctx.python_version.to_string();
    let value = FixValue::Str(wanted.clone());
    match global.setting("python_version") {
        Some(setting) if setting.value.to_json() != wanted.as_str() => {
            findings.push(
                Finding::new(
                    setting.origin.value_span.clone(),
                    format!(
                        "`python_version` is {}: the image's base runs Python {wanted}",
                        setting.value.to_json()
                    ),
                )
                .fix(checked(
                    config,
                    format!("set `python_version` to {wanted}"),
                    vec![replace_value(config, &setting.origin, &value)],
                )),
            );
        }
        Some(_) => {}
        None => findings.push(
            Finding::new(
                ctx.global_anchor(),
                format!(
                    "`python_version` is not set: mypy would check against whatever Python runs it, not the image's {wanted}"
                ),
            )
            .fix(insert_global(config, "python_version", &value).and_then(|e| {
                checked(config, format!("add `python_version = {wanted}`"), vec![e])
            })),
        ),
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::super::testing::{fixed, run};
    use super::*;

    const GOOD_TOML: &str = "[tool.mypy]\npython_version = \"3.12\"\nstrict = true\nenable_error_code = [\"ignore-without-code\", \"redundant-expr\", \"truthy-bool\"]\n";

    #[test]
    fn policy_block_passes() {
        let (findings, _) = run(check, &[("pyproject.toml", GOOD_TOML)]);
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn missing_settings_are_added_keeping_comments_and_the_fix_is_idempotent() {
        let text = "# team config\n[tool.mypy]\n# keep me\nfiles = [\"app\"]\n\n[tool.black]\nline-length = 100\n";
        let (findings, original) = run(check, &[("pyproject.toml", text)]);
        assert_eq!(findings.len(), 3, "{findings:?}");
        let after = fixed(&findings, &original);
        assert!(after.contains("# keep me") && after.contains("[tool.black]"));
        let (again, _) = run(check, &[("pyproject.toml", &after)]);
        assert!(again.is_empty(), "{after}\n{again:?}");
    }

    #[test]
    fn explicit_negations_are_flipped_in_ini() {
        let text = "[mypy]\npython_version = 3.11\nstrict = True\nallow_untyped_defs = True\nwarn_return_any = off\nenable_error_code = truthy-bool\n";
        let (findings, original) = run(check, &[("mypy.ini", text)]);
        assert_eq!(findings.len(), 4, "{findings:?}");
        let after = fixed(&findings, &original);
        assert!(after.contains("allow_untyped_defs = False"));
        assert!(after.contains("warn_return_any = True"));
        assert!(after.contains("python_version = 3.12"));
        assert!(after.contains("truthy-bool, ignore-without-code, redundant-expr"));
        let (again, _) = run(check, &[("mypy.ini", &after)]);
        assert!(again.is_empty(), "{after}\n{again:?}");
    }
}
