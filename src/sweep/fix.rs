//! `sweep --fix`: the autofixes of every fixable rule, per repository. A dry run (no
//! `--branch`, no `--push`) shows the diff; with `--branch NAME` the fixes are committed on a
//! new local branch; with `--push` they are pushed as one commit to one stable branch of the
//! repository's remote ([`super::push`]).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};

use super::push::{PushOptions, PushRecord};
use super::repos::{git, identity_args};
use crate::check::CheckResult;
use crate::fix::{fixed_files, unified_diff};
use crate::rules::dockerfile::dkr005_base_digest::{base_change, BaseChange};

/// What `--fix` did (or would do) in one repository.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FixRecord {
    pub repository: String,
    /// The branch the fixes were committed on; `None` for a dry run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Changed files, relative to the repository.
    pub files: Vec<String>,
    /// Fixes applied per rule.
    pub rules: BTreeMap<String, usize>,
    /// The changes as a unified diff (a dry run's output).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub diff: String,
    /// Why the fixes could not be committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The commit message (with `--push`, also in a dry run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// With `--push`: the branch on the remote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<PushRecord>,
}

/// What `--fix` does with a repository's fixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixAction<'a> {
    /// Show the diff.
    DryRun,
    /// Commit them on a new local branch, checked out.
    Branch(&'a str),
    /// Push them to a branch of the remote.
    Push(&'a PushOptions),
}

/// Computes the fixes of `result` (a check of the repository at `dir`) and commits or pushes
/// them as `action` says. `None` when nothing is fixable.
pub fn fix_repository(
    name: &str,
    dir: &Path,
    result: &CheckResult,
    action: &FixAction<'_>,
    facts: Option<&dyn super::BaseFacts>,
) -> Option<FixRecord> {
    let branch = match action {
        FixAction::DryRun => None,
        FixAction::Branch(branch) => Some(*branch),
        FixAction::Push(options) => Some(options.branch.as_str()),
    };
    let mut rules: BTreeMap<String, usize> = BTreeMap::new();
    for diagnostic in result.diagnostics.iter().filter(|d| d.fix.is_some()) {
        *rules.entry(diagnostic.rule.to_string()).or_default() += 1;
    }
    if rules.is_empty() {
        return None;
    }
    let mut record = FixRecord {
        repository: name.to_string(),
        branch: branch.map(str::to_string),
        commit: None,
        files: Vec::new(),
        rules,
        diff: String::new(),
        error: None,
        message: None,
        push: None,
    };
    let changes = match fixed_files(result, dir) {
        Ok(changes) => changes,
        Err(error) => {
            record.error = Some(format!("{error:#}"));
            return Some(record);
        }
    };
    for (path, (before, after)) in &changes {
        let shown = format!("{name}/{}", path.to_string_lossy());
        record.diff.push_str(&unified_diff(&shown, before, after));
        record.files.push(path.to_string_lossy().into_owned());
    }
    match action {
        FixAction::DryRun => {}
        FixAction::Branch(branch) => {
            let message = commit_message(&record, result, facts);
            match commit(dir, branch, &record, &changes, &message) {
                Ok(id) => record.commit = Some(id),
                Err(error) => record.error = Some(format!("{error:#}")),
            }
        }
        FixAction::Push(options) => {
            let message = commit_message(&record, result, facts);
            match super::push::push_fixes(dir, &changes, &message, options) {
                Ok(pushed) => {
                    record.commit = pushed.commit.clone().filter(|_| !options.dry_run);
                    if let Some(reason) = pushed.reason.as_ref().filter(|_| !pushed.status.is_ok())
                    {
                        record.error = Some(format!("{}: {reason}", pushed.status.as_str()));
                    }
                    record.push = Some(pushed);
                }
                Err(error) => record.error = Some(format!("{error:#}")),
            }
            record.message = Some(message);
        }
    }
    Some(record)
}

/// The commit message of a repository's fixes: every re-pinned base (old -> new digest), the
/// fixes per rule, and the trailer that marks the commit as the sweep's.
pub fn commit_message(
    record: &FixRecord,
    result: &CheckResult,
    facts: Option<&dyn super::BaseFacts>,
) -> String {
    let mut bases: Vec<(String, BaseChange)> = (result.diagnostics.iter())
        .filter_map(|d| Some((d.path.to_string_lossy().into_owned(), base_change(d)?)))
        .collect();
    bases.sort_by(|a, b| (&a.1.tagged, &a.0).cmp(&(&b.1.tagged, &b.0)));
    bases.dedup();
    let mut message = if bases.is_empty() {
        String::from("Apply lambda-gate autofixes\n")
    } else {
        let mut names: Vec<&str> = bases
            .iter()
            .map(|(_, change)| short_repository(&change.tagged))
            .collect();
        names.dedup();
        let mut subject = format!("Pin {} to the policy's digest", names.join(", "));
        let other_fixes =
            (result.diagnostics.iter()).any(|d| d.fix.is_some() && base_change(d).is_none());
        if other_fixes {
            subject.push_str(", apply lambda-gate autofixes");
        }
        subject.push('\n');
        subject
    };
    if !bases.is_empty() {
        message.push_str("\nBases re-pinned:\n");
        for (path, change) in &bases {
            let from = change.from.as_deref().unwrap_or("no digest");
            message.push_str(&format!(
                "- {path}: {} {from} -> {}\n",
                change.tagged, change.to
            ));
        }
        // What changed between the two images, as their configs say (when they can be read).
        let mut described: Vec<&BaseChange> = Vec::new();
        for (_, change) in &bases {
            if described
                .iter()
                .any(|d| d.from == change.from && d.to == change.to)
            {
                continue;
            }
            described.push(change);
            let image = |digest: &str| format!("{}@{digest}", change.tagged);
            let old = (change.from.as_deref()).and_then(|d| facts?.facts(&image(d)));
            let new = facts.and_then(|f| f.facts(&image(&change.to)));
            if old.is_some() || new.is_some() {
                message.push_str(&format!(
                    "  {}: {} -> {}\n",
                    short_repository(&change.tagged),
                    old.as_deref().unwrap_or("not readable"),
                    new.as_deref().unwrap_or("not readable")
                ));
            }
        }
    }
    message.push_str("\nFixed by `lambda-gate sweep --fix`:\n");
    for (rule, count) in &record.rules {
        let name = crate::rules::registry::name_of(rule);
        message.push_str(&format!("- {rule} {name}: {count}\n"));
    }
    message.push_str(&format!("\n{}\n", super::push::TRAILER));
    message
}

/// `aws-lambda-python-release-base:3.12` of `host/path/aws-lambda-python-release-base:3.12`.
fn short_repository(tagged: &str) -> &str {
    tagged.rsplit('/').next().unwrap_or(tagged)
}

/// Writes the fixed files on a new branch `branch` and commits them. Refuses a working tree
/// with changes (they would be mixed into the commit) and an existing branch.
fn commit(
    dir: &Path,
    branch: &str,
    record: &FixRecord,
    changes: &BTreeMap<std::path::PathBuf, (String, String)>,
    message: &str,
) -> anyhow::Result<String> {
    git(dir, &["check-ref-format", "--branch", branch])
        .with_context(|| format!("`{branch}` is not a valid branch name"))?;
    if !git(dir, &["status", "--porcelain", "--untracked-files=no"])?
        .trim()
        .is_empty()
    {
        bail!("the working tree has uncommitted changes; not fixing it");
    }
    if git(
        dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ],
    )
    .is_ok()
    {
        bail!("branch `{branch}` already exists; choose another --branch");
    }
    git(dir, &["checkout", "--quiet", "-b", branch])?;
    for (path, (_, after)) in changes {
        std::fs::write(dir.join(path), after)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    let mut add = vec!["add", "--"];
    add.extend(record.files.iter().map(String::as_str));
    git(dir, &add)?;
    let mut args = identity_args(dir);
    args.extend(["commit", "--quiet", "--no-verify", "-m", message]);
    git(dir, &args)?;
    Ok(git(dir, &["rev-parse", "HEAD"])?.trim().to_string())
}
