//! The coverage family's part of a run: a Lambda's report, read once (streamed), judged as
//! coverage.py judges it.

use crate::diagnostic::{Diagnostic, Severity};
use crate::engine::{FileOutcome, Session, Unit};
use crate::rules::{registry, Check};

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
        .diff
        .and_then(|(base, all)| all.get(&lambda.dir).map(|lines| (base, lines)));
    let context = super::context(lambda, &policy, diff);
    let mut diagnostics = Vec::new();
    for rule in registry::all() {
        let Check::Coverage(check) = rule.check else {
            continue;
        };
        let Some(severity) = policy.policy.level(rule.id).severity() else {
            continue;
        };
        for located in check(&context) {
            diagnostics.push(Diagnostic {
                rule: rule.id,
                severity: if located.finding.undecided {
                    Severity::Info
                } else {
                    severity
                },
                path: (session.display)(&located.path),
                span: 0..0,
                start: located.start,
                end: located.start,
                message: located.finding.message,
                help: located.finding.help,
                fix: None,
            });
        }
    }
    let path = (session.display)(&lambda.dir);
    vec![FileOutcome::bare(path, diagnostics)]
}
