//! The Python family's part of a run: a Lambda's modules, read in parallel when there are many; the module Lambda
//! runs (as discovery located it by following the build) and any module with a `type:` comment
//! parsed.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::engine::{finish_text, read_text, unreadable, FileOutcome, Session, Unit};
use crate::policy::Level;
use crate::rules::{registry, Check, Rule};
use crate::suppression::CommentStyle;
use crate::units::{FileKind, LambdaFile};

/// Checks the Python modules of a Lambda.
pub fn check(unit: Unit<'_>, session: &Session<'_>) -> Vec<FileOutcome> {
    let Unit::Lambda(lambda) = unit else {
        return Vec::new();
    };
    if !lambda.is_lambda() {
        return Vec::new();
    }
    let policy = session.policy(&lambda.config, &lambda.dir);
    let any_on = registry::checks_of(Check::python)
        .any(|(rule, _)| policy.policy.level(rule.id) != Level::Off);
    if !any_on {
        return Vec::new();
    }
    // The modules Lambda runs, as discovery located them: the handler's (with its function) or
    // a Web Adapter's web server module, wherever the build context puts them.
    let mut located: Vec<(PathBuf, Option<&str>)> = lambda
        .images
        .iter()
        .filter_map(|image| image.code.as_ref()?.module.as_ref())
        .map(|(path, function)| (path.clone(), function.as_deref()))
        .collect();
    located.sort();
    located.dedup();
    // Every other module of the project is read for type comments; the located modules are
    // checked once per handler function that names them. Project files are borrowed, not copied.
    let mut work: Vec<(Cow<'_, LambdaFile>, Role<'_>)> = lambda
        .files
        .iter()
        .filter(|file| file.kind == FileKind::Python)
        .filter(|file| !located.iter().any(|(path, _)| *path == file.path))
        .map(|file| (Cow::Borrowed(file), Role::Other))
        .collect();
    for (path, function) in located {
        let file = match lambda.files.iter().find(|f| f.path == path) {
            Some(file) => Cow::Borrowed(file),
            None => Cow::Owned(outside_file(&path, lambda)),
        };
        work.push((file, Role::Runs(function)));
    }
    // A module is read, and seldom parsed: a Lambda's handful are quicker read here than on
    // workers started for them.
    crate::parallel::map_ref(&work, MODULES_FOR_WORKERS, |(file, role)| {
        let shown = (session.display)(&file.path);
        let policy = session.policy(&lambda.config, &file.path);
        let text = match read_text(file, &policy) {
            Ok(text) => text,
            Err((message, help)) => {
                return Some(unreadable(&policy, &shown, message, help));
            }
        };
        let function = match role {
            Role::Runs(function) => *function,
            Role::Other if super::needs_tree(text.as_bytes()) => None,
            Role::Other => return None,
        };
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
    .into_iter()
    .flatten()
    .collect()
}

/// From how many modules a Lambda's are read on the workers.
const MODULES_FOR_WORKERS: usize = 8;

/// Why a module is read.
enum Role<'a> {
    /// Lambda runs it: the handler's module (with the function), or a web server's (none).
    Runs(Option<&'a str>),
    /// Another module of the project: parsed only for type comments.
    Other,
}

/// A located module outside the project's directory (its build context lies above).
fn outside_file(path: &Path, lambda: &crate::units::Lambda) -> LambdaFile {
    LambdaFile {
        path: path.to_path_buf(),
        relative: crate::rules::dockerfile::code::path_from(&lambda.dir, path),
        kind: FileKind::Python,
    }
}
