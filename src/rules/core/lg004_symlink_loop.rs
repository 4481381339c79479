//! LG004 `symlink-loop`: emitted by the engine; see `rules/LG004.md`.

use crate::diagnostic::Severity;
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "LG004",
    name: "symlink-loop",
    family: Family::Core,
    summary: "A symbolic link leads back into a directory already being walked",
    default_severity: Severity::Warning,
    fixable: false,
    doc: crate::rule_doc!("LG004"),
    check: Check::Engine,
};
