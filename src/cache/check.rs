//! `check`'s results, kept with every path the run looked at ([`crate::fsio`]) and used again
//! only while each of them is as it was.
//!
//! The key is what the command line asks (the paths, each as given and resolved, the working
//! directory, `--config`, `--isolated`, `--files`, `--follow-links`) on top of the binary's
//! identity. The entry holds the inputs: every file read (Dockerfiles, Python modules, policy
//! and mypy configurations, coverage reports, Terraform files, `.dockerignore`, SAM templates,
//! build scripts), every file probed and found absent (a `mypy.ini` that is not there is an
//! input too: creating one changes the verdict), every directory walked (its stamp changes
//! when an entry is added, removed or renamed) and the ignore files the walk obeyed. A run
//! whose inputs are all unchanged returns the stored result; any change, anywhere, is a
//! full run. Runs with `--diff-base` (they ask git) are not cached.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Cache, Key};
use crate::check::{CheckOptions, CheckResult, Checked};
use crate::diagnostic::Diagnostic;
use crate::fsio::{Input, Recording};

/// The cache of one `check` run: where its entry is, and the recording of what it reads.
pub struct CheckCache {
    cache: Cache,
    key: Key,
    recording: Option<Recording>,
}

/// Why the stored result was not used, for `--verbose`.
#[derive(Debug)]
pub enum Miss {
    /// Nothing stored under this key (or a corrupt, foreign or unreadable entry).
    NoEntry,
    /// This input changed since the stored run.
    Changed(PathBuf),
    /// A warning of the stored run held only until this day (a base's previous digest whose
    /// grace window has since ended).
    GraceEnded(crate::date::Date),
}

/// Why a run's result was not stored, for `--verbose`.
#[derive(Debug)]
pub enum NotStored {
    /// A path changed while the run read it.
    ChangedDuringRun,
    /// A path changed moments before the run: a change just after it might not be seen.
    Racy(PathBuf),
    /// Another run in this process is recording, or one already has (a second check in one
    /// process, as `--fix` makes, may use memos of the first that it did not record).
    NotRecorded,
}

#[derive(Serialize)]
struct EntryRef<'a> {
    inputs: &'a [Input],
    result: ResultRef<'a>,
}

#[derive(Serialize)]
struct ResultRef<'a> {
    diagnostics: &'a [Diagnostic],
    sources: &'a BTreeMap<PathBuf, Arc<str>>,
    files_checked: usize,
    lambda_dirs: &'a [PathBuf],
    lambda_images: &'a [(PathBuf, Checked)],
}

#[derive(Deserialize)]
struct Entry {
    inputs: Vec<Input>,
    result: StoredResult,
}

#[derive(Deserialize)]
struct StoredResult {
    diagnostics: Vec<Diagnostic>,
    sources: BTreeMap<PathBuf, Arc<str>>,
    files_checked: usize,
    lambda_dirs: Vec<PathBuf>,
    lambda_images: Vec<(PathBuf, Checked)>,
}

impl From<StoredResult> for CheckResult {
    fn from(stored: StoredResult) -> CheckResult {
        CheckResult {
            diagnostics: stored.diagnostics,
            sources: stored.sources,
            files_checked: stored.files_checked,
            lambda_dirs: stored.lambda_dirs,
            lambda_images: stored.lambda_images,
            elapsed: Default::default(),
            from_cache: true,
            cache_note: None,
        }
    }
}

impl StoredResult {
    /// Whether every span and fix points into its file's stored text, forwards and on character
    /// boundaries, as the engine makes them: an entry is a file someone could have written, and
    /// what the renderers and `--fix` slice with must never be out of bounds.
    fn is_sound(&self) -> bool {
        let within = |range: &std::ops::Range<usize>, text: Option<&str>| match text {
            Some(text) => {
                range.start <= range.end
                    && text.is_char_boundary(range.start)
                    && text.is_char_boundary(range.end)
            }
            None => range.start <= range.end,
        };
        self.diagnostics.iter().all(|diagnostic| {
            let text = self.sources.get(&diagnostic.path).map(|text| &**text);
            within(&diagnostic.span, text)
                && diagnostic.fix.as_ref().is_none_or(|fix| {
                    text.is_some() && fix.edits.iter().all(|edit| within(&edit.range, text))
                })
        })
    }
}

/// The inputs and result an entry's payload holds, when it reads as a sound one (for the fuzz
/// target: an entry is a file anyone with access to the cache directory could have written).
pub fn read_payload(payload: &[u8]) -> Option<(Vec<Input>, CheckResult)> {
    let entry: Entry = serde_json::from_slice(payload).ok()?;
    entry
        .result
        .is_sound()
        .then(|| (entry.inputs, entry.result.into()))
}

/// The grace date of a stored diagnostic that has passed: its verdict is a day old.
fn grace_ended(diagnostics: &[Diagnostic]) -> Option<crate::date::Date> {
    let today = crate::date::Date::today();
    diagnostics
        .iter()
        .filter_map(|d| d.grace_until)
        .find(|until| *until < today)
}

/// Only the first recording of a process stores (see [`NotStored::NotRecorded`]).
static RECORDED_ONCE: AtomicBool = AtomicBool::new(false);

impl CheckCache {
    /// The cache entry for `options`, when the cache is on and the run can be cached.
    pub fn for_run(options: &CheckOptions) -> Option<CheckCache> {
        if !options.cache.is_on() || options.diff_base.is_some() {
            return None;
        }
        let cwd = std::env::current_dir().ok()?;
        let mut key = options
            .cache
            .key("check")
            .path(&cwd)
            .path(options.display_base.as_deref().unwrap_or(Path::new("")))
            .text(&format!(
                "isolated={} files={} follow-links={}",
                options.isolated, options.changed_files, options.walk.follow_links
            ))
            .path(options.config.as_deref().unwrap_or(Path::new("")));
        for path in &options.paths {
            // Resolved too: a link retargeted between runs names another tree.
            let resolved = std::fs::canonicalize(path).unwrap_or_default();
            key = key.path(path).path(&resolved);
        }
        Some(CheckCache {
            cache: options.cache.clone(),
            key: key.build(),
            recording: None,
        })
    }

    /// The stored result, when every input it was computed from is unchanged.
    pub fn lookup(&self) -> Result<CheckResult, Miss> {
        let entry: Entry = self.cache.get(&self.key).ok_or(Miss::NoEntry)?;
        if !entry.result.is_sound() {
            return Err(Miss::NoEntry);
        }
        if let Some(until) = grace_ended(&entry.result.diagnostics) {
            return Err(Miss::GraceEnded(until));
        }
        if let Some(changed) = crate::fsio::first_changed(&entry.inputs) {
            return Err(Miss::Changed(changed.path.clone()));
        }
        Ok(entry.result.into())
    }

    /// Starts recording what the run reads.
    pub fn record(&mut self) {
        if !RECORDED_ONCE.swap(true, Ordering::AcqRel) {
            self.recording = Recording::start();
        }
    }

    /// Stores `result` with what the run read, when that can be trusted later.
    pub fn store(self, result: &CheckResult) -> Result<(), NotStored> {
        let recorded = self.recording.ok_or(NotStored::NotRecorded)?.finish();
        let inputs = recorded.inputs.ok_or(NotStored::ChangedDuringRun)?;
        if let Some(path) = recorded.racy {
            return Err(NotStored::Racy(path));
        }
        self.cache.put(
            &self.key,
            &EntryRef {
                inputs: &inputs,
                result: ResultRef {
                    diagnostics: &result.diagnostics,
                    sources: &result.sources,
                    files_checked: result.files_checked,
                    lambda_dirs: &result.lambda_dirs,
                    lambda_images: &result.lambda_images,
                },
            },
        );
        Ok(())
    }
}

impl std::fmt::Display for Miss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Miss::NoEntry => write!(f, "no stored result for these paths and options"),
            Miss::Changed(path) => write!(f, "`{}` changed since the stored run", path.display()),
            Miss::GraceEnded(until) => write!(
                f,
                "a warning of the stored run held only until {until} (a previous base digest's grace window)"
            ),
        }
    }
}

impl std::fmt::Display for NotStored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotStored::ChangedDuringRun => write!(f, "a file changed while it was checked"),
            NotStored::Racy(path) => write!(
                f,
                "`{}` changed less than {} s before the run; the next run stores its result",
                path.display(),
                crate::fsio::RACY_WINDOW.as_secs()
            ),
            NotStored::NotRecorded => write!(f, "this run's reads were not recorded"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry the fuzz target found: a diagnostic whose span runs backwards (2554..1291).
    const REVERSED_SPAN: &[u8] = include_bytes!("../../fuzz/seeds/cache_entry/reversed-span.json");
    /// An entry as a run writes it.
    const WRITTEN: &[u8] = include_bytes!("../../fuzz/seeds/cache_entry/check-entry.json");

    #[test]
    fn an_entry_as_written_reads_back_and_one_with_a_span_out_of_its_text_does_not() {
        let (inputs, result) = read_payload(WRITTEN).expect("a sound entry");
        assert!(!inputs.is_empty());
        assert!(!result.diagnostics.is_empty());
        assert!(result.from_cache);
        assert!(read_payload(REVERSED_SPAN).is_none());
        let mut entry: serde_json::Value = serde_json::from_slice(WRITTEN).expect("JSON");
        let diagnostics = entry["result"]["diagnostics"]
            .as_array_mut()
            .expect("diagnostics");
        let with_source = diagnostics
            .iter_mut()
            .find(|d| d["span"]["end"].as_u64() > Some(0))
            .expect("a diagnostic with a span");
        with_source["span"]["end"] = 1_000_000.into();
        let past_the_end = serde_json::to_vec(&entry).expect("JSON");
        assert!(read_payload(&past_the_end).is_none());
    }

    #[test]
    fn a_stored_grace_warning_is_current_through_its_day_and_not_after() {
        let (_, mut result) = read_payload(WRITTEN).expect("a sound entry");
        assert_eq!(grace_ended(&result.diagnostics), None);
        let today = crate::date::Date::today();
        result.diagnostics[0].grace_until = Some(today);
        assert_eq!(grace_ended(&result.diagnostics), None);
        let yesterday = today.plus_days(-1);
        result.diagnostics[0].grace_until = Some(yesterday);
        assert_eq!(grace_ended(&result.diagnostics), Some(yesterday));
    }
}
