//! DKR001 `parse-error`: the Dockerfile cannot be parsed as BuildKit would parse it.
//! Emitted by the engine from [`super::parser::ParseError`]; see `rules/DKR001.md`.

use crate::diagnostic::Severity;
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "DKR001",
    name: "parse-error",
    family: Family::Dockerfile,
    summary: "The Dockerfile cannot be parsed as BuildKit parses it",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("DKR001"),
    check: Check::Engine,
};
