//! COV008 `report-paths-unmapped`: every file the report names is a file of the Lambda.

use super::{Context, Located};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "COV008",
    name: "report-paths-unmapped",
    family: Family::Coverage,
    summary: "The coverage report names files that are not in the Lambda",
    default_severity: Severity::Warning,
    fixable: false,
    doc: crate::rule_doc!("COV008"),
    check: Check::Coverage(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let Some((report, data)) = ctx.data() else {
        return Vec::new();
    };
    let unmapped: Vec<&str> = data
        .files
        .iter()
        .zip(&report.mapped)
        .filter(|(_, mapped)| mapped.is_none())
        .map(|(file, _)| file.path.as_str())
        .collect();
    if unmapped.is_empty() {
        return Vec::new();
    }
    let shown: Vec<&str> = unmapped.iter().take(3).copied().collect();
    vec![Located::at(
        &report.file.path,
        1,
        1,
        Finding::new(
            0..0,
            format!(
                "{} of the report's {} files are not files of this Lambda, e.g. {}",
                unmapped.len(),
                data.files.len(),
                shown.join(", ")
            ),
        )
        .help("the report was made for other sources: run the tests in this Lambda's directory, or set `[tool.coverage.run] relative_files = true`"),
    )]
}
