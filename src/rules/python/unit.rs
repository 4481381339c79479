//! The Python family's part of a run: a Lambda's modules, read in parallel; the handler's
//! module and any module with a `type:` comment parsed with tree-sitter.

use rayon::prelude::*;

use crate::discover::FileKind;
use crate::engine::{finish_text, read_text, unreadable, FileOutcome, Session, Unit};
use crate::policy::Level;
use crate::rules::{registry, Check, Rule};
use crate::suppression::CommentStyle;

/// Checks the Python modules of a Lambda.
pub fn check(unit: Unit<'_>, session: &Session<'_>) -> Vec<FileOutcome> {
    let Unit::Lambda(lambda) = unit else {
        return Vec::new();
    };
    if !lambda.is_lambda() {
        return Vec::new();
    }
    let policy = session.policy(&lambda.config, &lambda.dir);
    let any_on = registry::all()
        .iter()
        .any(|r| matches!(r.check, Check::Python(_)) && policy.policy.level(r.id) != Level::Off);
    if !any_on {
        return Vec::new();
    }
    let handler = lambda
        .handler
        .as_deref()
        .and_then(|handler| super::handler_module(lambda, handler));
    lambda
        .files
        .par_iter()
        .filter(|file| file.kind == FileKind::Python)
        .filter_map(|file| {
            let shown = (session.display)(&file.path);
            let policy = session.policy(&lambda.config, &file.path);
            let function = handler
                .filter(|(relative, _)| *relative == file.relative)
                .map(|(_, function)| function);
            let text = match read_text(file, &policy) {
                Ok(text) => text,
                Err((message, help)) => {
                    return Some(unreadable(&policy, &shown, message, help));
                }
            };
            if function.is_none() && !super::needs_tree(text.as_bytes()) {
                return None;
            }
            let findings = super::lint(&file.path, &text, function, &|rule: &Rule| {
                policy.policy.level(rule.id) != Level::Off
            });
            Some(finish_text(
                findings,
                text,
                CommentStyle::Hash,
                &policy,
                &shown,
            ))
        })
        .collect()
}
