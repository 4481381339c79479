//! COV006 `report-stale`: the report is newer than every Python file it covers.

use std::time::SystemTime;

use super::{Context, Located};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "COV006",
    name: "report-stale",
    family: Family::Coverage,
    summary: "The coverage report is older than a Python file it covers",
    default_severity: Severity::Warning,
    fixable: false,
    doc: crate::rule_doc!("COV006"),
    check: Check::Coverage(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let Some((report, relative)) = stale(ctx) else {
        return Vec::new();
    };
    vec![Located::at(
        &report.file.path,
        1,
        1,
        Finding::new(
            0..0,
            format!("the coverage report is older than `{relative}`, which it covers"),
        )
        .help("run the tests again so the report measures the current code"),
    )]
}

/// The report, and the newest file it covers, when that file is newer than the report.
pub fn stale<'c>(ctx: &'c Context<'_>) -> Option<(&'c super::Report, &'c str)> {
    let (report, _) = ctx.data()?;
    let modified =
        |path: &std::path::Path| crate::fsio::metadata(path).and_then(|m| m.modified()).ok();
    let report_time = report.modified?;
    let newest: Option<(SystemTime, &str)> = report
        .mapped
        .iter()
        .flatten()
        .filter_map(|relative| Some((modified(&ctx.lambda.dir.join(relative))?, relative.as_str())))
        .max();
    match newest {
        Some((time, relative)) if time > report_time => Some((report, relative)),
        _ => None,
    }
}
