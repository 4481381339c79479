//! COV007 `diff-coverage-below-threshold`: the lines changed since `--diff-base` are tested.

use super::{Context, Located};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "COV007",
    name: "diff-coverage-below-threshold",
    family: Family::Coverage,
    summary: "Coverage of the lines changed since --diff-base is below the diff threshold",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("COV007"),
    check: Check::Coverage(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let (Some((report, data)), Some((base, changed))) = (ctx.data(), ctx.diff) else {
        return Vec::new();
    };
    let (mut measured, mut covered) = (0u64, 0u64);
    let mut missing: Vec<String> = Vec::new();
    for (file, mapped) in data.files.iter().zip(&report.mapped) {
        let Some(added) = mapped.as_ref().and_then(|m| changed.get(m)) else {
            continue;
        };
        for (line, hit) in &file.lines {
            if added.binary_search(line).is_ok() {
                measured += 1;
                if *hit {
                    covered += 1;
                } else if missing.len() < 10 {
                    missing.push(format!("{}:{line}", mapped.as_deref().unwrap_or("")));
                }
            }
        }
    }
    if measured == 0 {
        return Vec::new();
    }
    let counts = super::numbers::Counts {
        statements: measured,
        covered_statements: covered,
        ..Default::default()
    };
    let fail_under = ctx.policy.policy.coverage.diff_fail_under;
    let (fails, shown) = super::verdict(&counts, fail_under, ctx.precision);
    if !fails {
        return Vec::new();
    }
    vec![Located::at(
        &report.file.path,
        1,
        1,
        Finding::new(
            0..0,
            format!("coverage of the lines changed since {base} is {shown}% ({covered} of {measured}), below the required {fail_under}%"),
        )
        .help(format!("test the changed lines, starting with {}", missing.join(", "))),
    )]
}
