//! COV004 `branch-coverage-missing`: the report measures branches when policy requires it.

use super::{Context, Located};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "COV004",
    name: "branch-coverage-missing",
    family: Family::Coverage,
    summary: "Policy requires branch coverage, and the report has none",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("COV004"),
    check: Check::Coverage(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    if !ctx.policy.policy.coverage.require_branch {
        return Vec::new();
    }
    let Some((report, data)) = ctx.data() else {
        return Vec::new();
    };
    let measured = data.branch_measured.unwrap_or(data.totals.branches > 0);
    if measured || data.totals.statements == 0 {
        return Vec::new();
    }
    vec![Located::at(
        &report.file.path,
        1,
        1,
        Finding::new(0..0, "the coverage report has no branch coverage, which policy requires")
            .help("measure branches: `python -m pytest --cov --cov-branch` (or `branch = true` under [tool.coverage.run])"),
    )]
}
