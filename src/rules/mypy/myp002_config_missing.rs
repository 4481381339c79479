//! MYP002 `config-missing`: the Lambda has no mypy configuration at all, so mypy runs with its
//! lax defaults. Emitted by the engine, which knows where it looked.

use super::settings::MypyPolicy;
use crate::diagnostic::Severity;
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "MYP002",
    name: "config-missing",
    family: Family::Mypy,
    summary: "The Lambda has no mypy configuration",
    default_severity: Severity::Error,
    fixable: true,
    doc: crate::rule_doc!("MYP002"),
    check: Check::Engine,
};

/// The `[tool.mypy]` block the policy asks for.
pub fn pyproject_block(policy: &MypyPolicy) -> String {
    let mut block = String::from("[tool.mypy]\n");
    block.push_str(&format!("python_version = \"{}\"\n", policy.python_version));
    if policy.require_strict {
        block.push_str("strict = true\n");
    }
    for flag in &policy.required_flags {
        block.push_str(&format!("{flag} = true\n"));
    }
    if !policy.required_error_codes.is_empty() {
        let codes: Vec<String> = policy
            .required_error_codes
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect();
        block.push_str(&format!("enable_error_code = [{}]\n", codes.join(", ")));
    }
    block
}

/// The same as a `mypy.ini`.
pub fn ini_block(policy: &MypyPolicy) -> String {
    let mut block = String::from("[mypy]\n");
    block.push_str(&format!("python_version = {}\n", policy.python_version));
    if policy.require_strict {
        block.push_str("strict = True\n");
    }
    for flag in &policy.required_flags {
        block.push_str(&format!("{flag} = True\n"));
    }
    if !policy.required_error_codes.is_empty() {
        block.push_str(&format!(
            "enable_error_code = {}\n",
            policy.required_error_codes.join(", ")
        ));
    }
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_satisfy_the_default_policy() {
        let policy = crate::policy::default_policy().mypy;
        let pyproject = pyproject_block(&policy);
        assert!(pyproject.contains("strict = true") && pyproject.contains("\"3.12\""));
        assert!(toml_edit::Document::parse(pyproject.as_str()).is_ok());
        assert!(crate::rules::mypy::ini::parse(&ini_block(&policy)).is_ok());
    }
}
