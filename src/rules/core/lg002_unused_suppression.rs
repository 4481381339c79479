//! LG002 `unused-suppression`: emitted by the engine; see `rules/LG002.md`.

use crate::diagnostic::Severity;
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "LG002",
    name: "unused-suppression",
    family: Family::Core,
    summary: "A suppression comment suppresses nothing",
    default_severity: Severity::Warning,
    fixable: false,
    doc: crate::rule_doc!("LG002"),
    check: Check::Engine,
};
