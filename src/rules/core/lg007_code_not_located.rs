//! LG007 `code-not-located`: emitted by the Dockerfile family from what discovery located of a
//! Lambda image's code; see `rules/LG007.md`.

use crate::diagnostic::Severity;
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "LG007",
    name: "code-not-located",
    family: Family::Core,
    summary: "The Python code a Lambda image runs could not be located, so it was not checked",
    default_severity: Severity::Warning,
    fixable: false,
    doc: crate::rule_doc!("LG007"),
    check: Check::Engine,
};
