//! COV002 `coverage-below-threshold`: total coverage meets the policy threshold, decided as
//! `coverage report --fail-under` decides it.

use super::{verdict, Context, Located};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "COV002",
    name: "coverage-below-threshold",
    family: Family::Coverage,
    summary:
        "Total coverage is below the threshold (decided as coverage report --fail-under decides)",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("COV002"),
    check: Check::Coverage(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let Some((report, data)) = ctx.data() else {
        return Vec::new();
    };
    let fail_under = ctx.policy.policy.coverage.fail_under;
    let (fails, shown) = verdict(&data.totals, fail_under, ctx.precision);
    if !fails {
        return Vec::new();
    }
    let t = &data.totals;
    vec![Located::at(
        &report.file.path,
        1,
        1,
        Finding::new(
            0..0,
            format!(
                "total coverage {shown}% is below the required {fail_under}% ({} of {} statements, {} of {} branches)",
                t.covered_statements, t.statements, t.covered_branches, t.branches
            ),
        )
        .help("add tests for the missing lines (`coverage report --show-missing` lists them)"),
    )]
}
