//! The coverage family's part of a run: a Lambda's report, read once (streamed), judged as
//! coverage.py judges it.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, Severity};
use crate::engine::{FamilyState, FileOutcome, RunOptions, Session, Unit};
use crate::rules::{registry, Check};
use crate::units::Workspace;

/// With `--diff-base`: the ref, and the lines added since it per Lambda directory (by path
/// relative to the Lambda), asked of git once per Lambda before any is judged.
pub struct ChangedLines {
    base: String,
    by_lambda: HashMap<PathBuf, HashMap<String, Vec<u32>>>,
}

pub fn prepare(workspace: &Workspace, options: RunOptions<'_>) -> anyhow::Result<FamilyState> {
    let Some(base) = options.diff_base else {
        return Ok(Box::new(()));
    };
    let by_lambda = workspace
        .lambdas
        .iter()
        .filter(|lambda| lambda.is_lambda())
        .map(|lambda| {
            super::diff::changed_lines(&lambda.dir, base).map(|lines| (lambda.dir.clone(), lines))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Box::new(ChangedLines {
        base: base.to_string(),
        by_lambda,
    }))
}

/// Checks a Lambda's coverage report.
pub fn check(unit: Unit<'_>, session: &Session<'_>) -> Vec<FileOutcome> {
    let Unit::Lambda(lambda) = unit else {
        return Vec::new();
    };
    if !lambda.is_lambda() || !super::applies(lambda) {
        return Vec::new();
    }
    let policy = session.policy(&lambda.config, &lambda.dir);
    let diff = session
        .state::<ChangedLines>(crate::rules::Family::Coverage)
        .and_then(|changed| {
            let lines = changed.by_lambda.get(&lambda.dir)?;
            Some((changed.base.as_str(), lines))
        });
    let context = super::context(lambda, &policy, diff);
    let mut diagnostics = Vec::new();
    // On a commit's files (pre-commit) a report older than the code measures other code: its
    // thresholds are left to CI, which runs the tests first, and the run says so.
    let stale = session
        .pre_commit
        .then(|| super::cov006_report_stale::stale(&context))
        .flatten();
    if let Some((report, relative)) = stale {
        let rule = &super::cov006_report_stale::RULE;
        if lambda.config.policy_for(&lambda.dir).policy.level(rule.id) != crate::policy::Level::Off
        {
            diagnostics.push(crate::engine::whole_file(
                rule,
                Severity::Info,
                (session.display)(&report.file.path),
                format!("the coverage report is older than `{relative}`: its thresholds are not judged on a commit's files (CI runs the tests and judges them)"),
                Some("run the tests to judge coverage here too".into()),
            ));
        }
        return vec![FileOutcome::bare(
            (session.display)(&lambda.dir),
            diagnostics,
        )];
    }
    for (rule, check) in registry::checks_of(Check::coverage) {
        let Some(severity) = policy.policy.level(rule.id).severity() else {
            continue;
        };
        for located in check(&context) {
            diagnostics.push(Diagnostic {
                rule: rule.id,
                severity: located.finding.severity_under(severity),
                path: (session.display)(&located.path),
                span: 0..0,
                start: located.start,
                end: located.start,
                message: located.finding.message,
                help: located.finding.help,
                fix: None,
                about_directory: false,
                grace_until: located.finding.grace_until,
            });
        }
    }
    let path = (session.display)(&lambda.dir);
    vec![FileOutcome::bare(path, diagnostics)]
}
