//! COV003 `path-coverage-below-threshold`: the files under a path glob meet that path's threshold.

use super::{verdict, Context, Located};
use crate::diagnostic::{Finding, Severity};
use crate::policy::path_glob;
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "COV003",
    name: "path-coverage-below-threshold",
    family: Family::Coverage,
    summary: "Coverage of the files under a policy path glob is below that path's threshold",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("COV003"),
    check: Check::Coverage(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let Some((report, _)) = ctx.data() else {
        return Vec::new();
    };
    let mut located = Vec::new();
    for (pattern, fail_under) in &ctx.policy.policy.coverage.paths {
        let Ok(glob) = path_glob(pattern) else {
            continue;
        };
        let matcher = glob.compile_matcher();
        let Some(counts) = ctx.counts_where(|path| matcher.is_match(path)) else {
            continue;
        };
        let (fails, shown) = verdict(&counts, *fail_under, ctx.precision);
        if fails {
            located.push(Located::at(
                &report.file.path,
                1,
                1,
                Finding::new(
                    0..0,
                    format!(
                        "coverage of `{pattern}` is {shown}%, below its required {fail_under}%"
                    ),
                )
                .help("add tests for the files under this path"),
            ));
        }
    }
    located
}
