//! MYP001 `config-invalid`: mypy cannot read the configuration file, or ignores or rejects a
//! part of it (unknown options, values it cannot convert, patterns it refuses).

use super::Context;
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "MYP001",
    name: "config-invalid",
    family: Family::Mypy,
    summary: "mypy cannot read the configuration, or ignores or rejects part of it",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("MYP001"),
    check: Check::Mypy(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    ctx.config
        .problems
        .iter()
        .map(|problem| {
            Finding::new(problem.span.clone(), format!("mypy: {}", problem.message)).help(
                "mypy reports this on stderr and carries on without the setting: the check you meant to turn on is not on",
            )
        })
        .collect()
}

/// The finding for a file mypy skips because it cannot parse it.
pub fn unreadable(span: crate::diagnostic::Span, message: &str) -> Finding {
    Finding::new(
        span,
        format!("mypy cannot read this file and skips it: {message}"),
    )
    .help("fix the syntax: until then mypy looks for another configuration, or runs with none")
}

#[cfg(test)]
mod tests {
    use super::super::testing::run;
    use super::*;

    #[test]
    fn reports_what_mypy_ignores() {
        let (findings, text) = run(
            check,
            &[(
                "mypy.ini",
                "[mypy]\nstrict = True # comment\nwarn_unusd_ignores = True\n",
            )],
        );
        assert_eq!(findings.len(), 2);
        assert_eq!(&text[findings[0].span.clone()], "True # comment");
        assert!(findings[1].message.contains("Unrecognized option"));
    }

    #[test]
    fn clean_config_passes() {
        let (findings, _) = run(check, &[("mypy.ini", "[mypy]\nstrict = yes\n")]);
        assert!(findings.is_empty());
    }
}
