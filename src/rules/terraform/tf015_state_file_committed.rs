//! TF015 `state-file-committed`: emitted by the Terraform family for a state file in the
//! repository that git does not ignore; see `rules/TF015.md`.

use crate::diagnostic::Severity;
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "TF015",
    name: "state-file-committed",
    family: Family::Terraform,
    summary:
        "A Terraform state file is in the repository, with every secret it holds in plain text",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("TF015"),
    check: Check::Engine,
};
