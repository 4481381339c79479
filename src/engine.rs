//! What the engine hands each rule family and takes back: the unit to judge, the session it
//! is judged in, and each file's outcome. The shared steps every family ends with (reading a
//! file as text, severities from policy, suppressions, positions) live here, once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, Finding, LineIndex, Severity};
use crate::policy::{EffectivePolicy, Level};
use crate::rules::Rule;
use crate::suppression::{self, CommentStyle};
use crate::units::{Lambda, LambdaFile, TerraformModule};

/// A unit the gate judges, as discovery decided it.
#[derive(Clone, Copy)]
pub enum Unit<'a> {
    /// An image project: a Lambda, or another image (the Dockerfile family says which).
    Lambda(&'a Lambda),
    /// A directory of `.tf` files.
    TerraformModule(&'a TerraformModule),
}

/// What a run asks that a family may need before it judges any unit.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions<'a> {
    /// `--diff-base REF`: diff coverage of the lines changed since REF.
    pub diff_base: Option<&'a str>,
}

/// A family's state for one run, made once by its `prepare` before any unit is judged (mypy's
/// cache of configuration files, coverage's changed lines): the engine holds it without knowing
/// what it is.
pub type FamilyState = Box<dyn std::any::Any + Send + Sync>;

/// Where and how the gate runs: shared by every unit of a run.
pub struct Session<'a> {
    /// How a path is shown (relative to where the check runs from).
    pub display: &'a (dyn Fn(&Path) -> PathBuf + Sync),
    /// Where the check runs from (or the repository a sweep checks).
    pub cwd: Option<&'a Path>,
    /// The run checks a commit's files (`--files`, pre-commit): the policy's `[pre-commit]`
    /// levels apply.
    pub pre_commit: bool,
    /// Each family's prepared state.
    pub states: Vec<(crate::rules::Family, FamilyState)>,
}

impl Session<'_> {
    /// The policy for `path` in this run's context.
    pub fn policy(&self, config: &crate::policy::Config, path: &Path) -> Arc<EffectivePolicy> {
        config.policy_in(path, self.pre_commit)
    }

    /// The state `family`'s `prepare` made for this run, if it made one of this type.
    pub fn state<T: 'static>(&self, family: crate::rules::Family) -> Option<&T> {
        self.states
            .iter()
            .find(|(of, _)| *of == family)
            .and_then(|(_, state)| state.downcast_ref::<T>())
    }
}

/// Why a file could not be read: the message, and help when there is any.
pub type Unreadable = (String, Option<String>);

/// One checked file's outcome.
pub struct FileOutcome {
    /// The file, as shown.
    pub path: PathBuf,
    pub diagnostics: Vec<Diagnostic>,
    /// The file's text when a diagnostic needs it for a snippet.
    pub source: Option<Arc<str>>,
}

impl FileOutcome {
    /// Diagnostics that need no snippet.
    pub fn bare(path: PathBuf, diagnostics: Vec<Diagnostic>) -> FileOutcome {
        FileOutcome {
            path,
            diagnostics,
            source: None,
        }
    }
}

/// [`whole_file`] at the severity `policy` gives the rule, or nothing when it is off.
pub fn whole_file_if_on(
    rule: &Rule,
    policy: &EffectivePolicy,
    path: PathBuf,
    message: String,
    help: Option<String>,
) -> Vec<Diagnostic> {
    policy
        .policy
        .level(rule.id)
        .severity()
        .map(|severity| whole_file(rule, severity, path, message, help))
        .into_iter()
        .collect()
}

/// A diagnostic about a file as a whole (no span), at line 1.
pub fn whole_file(
    rule: &Rule,
    severity: Severity,
    path: PathBuf,
    message: String,
    help: Option<String>,
) -> Diagnostic {
    let start = crate::diagnostic::LineCol { line: 1, column: 1 };
    Diagnostic {
        rule: rule.id,
        severity,
        path,
        span: 0..0,
        start,
        end: start,
        message,
        help,
        fix: None,
        about_directory: false,
        grace_until: None,
    }
}

/// Reads a file as UTF-8 text, or says why it cannot be checked.
pub fn read_text(file: &LambdaFile, policy: &EffectivePolicy) -> Result<String, Unreadable> {
    let cap = policy.policy.max_file_size;
    match crate::fsio::read_within(&file.path, cap) {
        Ok(Ok(bytes)) => text_of(bytes, policy),
        Ok(Err(size)) => Err((
            format!("the file is {size} bytes, over the {cap}-byte limit, and was not read"),
            Some("raise `max-file-size` in the policy, or exclude the file".into()),
        )),
        Err(e) => Err((format!("cannot read the file: {e}"), None)),
    }
}

/// [`read_text`] of a file discovery has already read (its bytes): the same checks, no second
/// read.
pub fn text_of(bytes: Vec<u8>, policy: &EffectivePolicy) -> Result<String, Unreadable> {
    let cap = policy.policy.max_file_size;
    // Discovery's reads may come from elsewhere than `read_within`: enforce the cap on what
    // was read too.
    if bytes.len() as u64 > cap {
        return Err((
            format!(
                "the file is {} bytes, over the {cap}-byte limit, and was not checked",
                bytes.len()
            ),
            Some("raise `max-file-size` in the policy, or exclude the file".into()),
        ));
    }
    if memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some() {
        return Err((
            "the file is binary (it contains NUL bytes), not text".into(),
            None,
        ));
    }
    String::from_utf8(bytes).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        let line = memchr::memchr_iter(b'\n', valid).count() + 1;
        let column = valid.len() - valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) + 1;
        (
            format!("the file is not valid UTF-8: invalid byte at line {line}, column {column}"),
            Some("save the file as UTF-8".into()),
        )
    })
}

/// LG003 for a file that cannot be read.
pub fn unreadable(
    policy: &EffectivePolicy,
    shown: &Path,
    message: String,
    help: Option<String>,
) -> FileOutcome {
    FileOutcome::bare(
        shown.to_path_buf(),
        whole_file_if_on(
            &crate::rules::core::lg003_unreadable_file::RULE,
            policy,
            shown.to_path_buf(),
            message,
            help,
        ),
    )
}

/// [`finish`] for a file read as text: keeps the text only when there is something to show.
pub fn finish_text(
    findings: Vec<(&'static Rule, Finding)>,
    text: String,
    style: CommentStyle,
    policy: &EffectivePolicy,
    path: &Path,
) -> FileOutcome {
    let index = LineIndex::new(&text);
    let diagnostics = finish(findings, &text, &index, style, policy, path);
    let source = (!diagnostics.is_empty()).then(|| Arc::from(text));
    FileOutcome {
        path: path.to_path_buf(),
        diagnostics,
        source,
    }
}

/// Turns findings into diagnostics: severities from policy, suppressions, positions.
pub fn finish(
    findings: Vec<(&'static Rule, Finding)>,
    text: &str,
    index: &LineIndex,
    style: CommentStyle,
    policy: &EffectivePolicy,
    path: &Path,
) -> Vec<Diagnostic> {
    let mut suppressions = suppression::parse(text, index, style);
    let mut used: Vec<Vec<bool>> = suppressions
        .iter()
        .map(|s| vec![false; s.rules.len()])
        .collect();
    let mut diagnostics = Vec::new();
    let mut push = |rule: &'static Rule, severity: Severity, finding: Finding| {
        diagnostics.push(Diagnostic {
            rule: rule.id,
            severity,
            path: path.to_path_buf(),
            start: index.line_col(text, finding.span.start),
            end: index.line_col(text, finding.span.end),
            span: finding.span,
            message: finding.message,
            help: finding.help,
            grace_until: finding.grace_until,
            fix: finding.fix,
            about_directory: false,
        });
    };
    for (rule, finding) in findings {
        let Some(severity) = policy.policy.level(rule.id).severity() else {
            continue;
        };
        let severity = finding.severity_under(severity);
        let line = index.line_of(finding.span.start);
        let suppressed = suppressions
            .iter()
            .enumerate()
            .find_map(|(i, s)| s.covers(line, rule.id).map(|k| (i, k)));
        if let Some((i, k)) = suppressed {
            used[i][k] = true;
            continue;
        }
        push(rule, severity, finding);
    }
    for (i, suppression) in suppressions.drain(..).enumerate() {
        if let Some(problem) = &suppression.problem {
            let rule = &crate::rules::core::lg001_invalid_suppression::RULE;
            if let Some(severity) = policy.policy.level(rule.id).severity() {
                push(
                    rule,
                    severity,
                    Finding::new(
                        suppression.span.clone(),
                        format!("invalid suppression: {problem}"),
                    )
                    .help("write `# lambda-gate: ignore[RULE-ID] why this is acceptable`"),
                );
            }
            if suppression.rules.is_empty() {
                continue;
            }
        }
        let rule = &crate::rules::core::lg002_unused_suppression::RULE;
        let Some(severity) = policy.policy.level(rule.id).severity() else {
            continue;
        };
        for (k, (id, span)) in suppression.rules.iter().enumerate() {
            if used[i][k] {
                continue;
            }
            let why = if policy.policy.level(id) == Level::Off {
                format!("{id} is off in this policy, so the suppression suppresses nothing")
            } else {
                format!("no {id} diagnostic on the line this suppression covers")
            };
            push(
                rule,
                severity,
                Finding::new(span.clone(), format!("unused suppression: {why}"))
                    .help("remove it, so it cannot hide a future violation"),
            );
        }
    }
    diagnostics
}
