//! LG001 `invalid-suppression`: emitted by the engine; see `rules/LG001.md`.

use crate::diagnostic::Severity;
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "LG001",
    name: "invalid-suppression",
    family: Family::Core,
    summary: "A suppression comment has no reason, an unknown rule id, or is malformed",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("LG001"),
    check: Check::Engine,
};
