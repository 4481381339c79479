//! LG005 `not-a-lambda`: emitted by the engine; see `rules/LG005.md`.

use crate::diagnostic::Severity;
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "LG005",
    name: "not-a-lambda",
    family: Family::Core,
    summary: "A Dockerfile builds an image Lambda does not run, so the Lambda rules skip it",
    default_severity: Severity::Info,
    fixable: false,
    doc: crate::rule_doc!("LG005"),
    check: Check::Engine,
};
