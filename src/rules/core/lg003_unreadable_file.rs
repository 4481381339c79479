//! LG003 `unreadable-file`: emitted by the engine; see `rules/LG003.md`.

use crate::diagnostic::Severity;
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "LG003",
    name: "unreadable-file",
    family: Family::Core,
    summary: "A file the gate must check cannot be read (missing, unreadable, binary, not UTF-8, over the size cap)",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("LG003"),
    check: Check::Engine,
};
