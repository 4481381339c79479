//! COV001 `report-unreadable`: the coverage report cannot be read.

use super::{Context, Located};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "COV001",
    name: "report-unreadable",
    family: Family::Coverage,
    summary: "The coverage report cannot be read: malformed, truncated, or not a coverage report",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("COV001"),
    check: Check::Coverage(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let Some(report) = &ctx.report else {
        return Vec::new();
    };
    let Err(error) = &report.data else {
        return Vec::new();
    };
    vec![Located::at(
        &report.file.path,
        error.line,
        error.column,
        Finding::new(
            0..0,
            format!("cannot read the coverage report: {}", error.message),
        )
        .help("produce it again, e.g. `python -m pytest --cov --cov-branch --cov-report=xml`"),
    )]
}
