//! LG006 `nothing-to-check`: emitted by the engine; see `rules/LG006.md`.

use crate::diagnostic::Severity;
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "LG006",
    name: "nothing-to-check",
    family: Family::Core,
    summary: "A path named on the command line holds nothing the gate checks",
    default_severity: Severity::Warning,
    fixable: false,
    doc: crate::rule_doc!("LG006"),
    check: Check::Engine,
};
