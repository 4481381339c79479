//! COV005 `report-missing`: a Lambda with tests has a coverage report.

use super::{Context, Located};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "COV005",
    name: "report-missing",
    family: Family::Coverage,
    summary: "A Lambda has tests but no coverage report",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("COV005"),
    check: Check::Coverage(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    if ctx.report.is_some() || !ctx.has_tests() {
        return Vec::new();
    }
    let coverage = &ctx.policy.policy.coverage;
    let expected = coverage
        .reports
        .first()
        .map_or("coverage.xml", String::as_str);
    let packages: Vec<&str> = {
        let mut names: Vec<&str> = ctx
            .lambda
            .files
            .iter()
            .filter(|f| f.relative.ends_with("/__init__.py") && !super::is_test_file(&f.relative))
            .filter_map(|f| f.relative.split('/').next())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    };
    let cov = if packages.is_empty() {
        "--cov".to_string()
    } else {
        packages
            .iter()
            .map(|p| format!("--cov={p}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    // The finding belongs to the file that decides how the tests run: the project's
    // pyproject.toml (where pytest-cov is configured), else its Dockerfile.
    let decides = ["pyproject.toml", "setup.cfg", "pytest.ini", "tox.ini"]
        .iter()
        .map(|name| ctx.lambda.dir.join(name))
        .find(|path| ctx.lambda.files.iter().any(|f| &f.path == path))
        .or_else(|| ctx.lambda.main_dockerfile().map(|f| f.path.clone()))
        .unwrap_or_else(|| ctx.lambda.dir.clone());
    vec![Located::at(
        &decides,
        1,
        1,
        Finding::new(0..0, format!("this Lambda has tests but no coverage report (looked for {})", coverage.reports.join(", ")))
            .help(format!(
                "produce it in the Lambda's directory: `python -m pytest {cov} --cov-branch --cov-report=xml:{expected}`"
            )),
    )]
}
