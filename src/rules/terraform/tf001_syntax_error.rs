//! TF001 `syntax-error`: a Terraform file that does not parse as HCL.

use crate::diagnostic::Severity;
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "TF001",
    name: "syntax-error",
    family: Family::Terraform,
    summary: "A Terraform file is not valid HCL",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("TF001"),
    // Emitted by the engine when the parse fails; the other rules never see the file.
    check: Check::Engine,
};
