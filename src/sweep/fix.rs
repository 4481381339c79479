//! `sweep --fix`: the autofixes of every fixable rule, per repository. A dry run (no
//! `--branch`) shows the diff; with `--branch NAME` the fixes are committed on a new local
//! branch. Nothing is ever pushed.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};

use super::repos::git;
use crate::check::CheckResult;
use crate::fix::{fixed_files, unified_diff};

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
}

/// Computes the fixes of `result` (a check of the repository at `dir`) and, with a branch,
/// commits them there. `None` when nothing is fixable.
pub fn fix_repository(
    name: &str,
    dir: &Path,
    result: &CheckResult,
    branch: Option<&str>,
) -> Option<FixRecord> {
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
    if let Some(branch) = branch {
        match commit(dir, branch, &record, &changes) {
            Ok(id) => record.commit = Some(id),
            Err(error) => record.error = Some(format!("{error:#}")),
        }
    }
    Some(record)
}

/// Writes the fixed files on a new branch `branch` and commits them. Refuses a working tree
/// with changes (they would be mixed into the commit) and an existing branch.
fn commit(
    dir: &Path,
    branch: &str,
    record: &FixRecord,
    changes: &BTreeMap<std::path::PathBuf, (String, String)>,
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
    let mut message =
        String::from("Apply lambda-gate autofixes\n\nFixed by `lambda-gate sweep --fix`:\n");
    for (rule, count) in &record.rules {
        let name = crate::rules::registry::name_of(rule);
        message.push_str(&format!("- {rule} {name}: {count}\n"));
    }
    // A machine without a git identity (a CI agent) still gets a commit with a clear author.
    let has_identity = git(dir, &["config", "user.email"]).is_ok();
    let mut args: Vec<&str> = Vec::new();
    if !has_identity {
        args.extend([
            "-c",
            "user.name=lambda-gate",
            "-c",
            "user.email=lambda-gate@localhost",
        ]);
    }
    args.extend(["commit", "--quiet", "--no-verify", "-m", &message]);
    git(dir, &args)?;
    Ok(git(dir, &["rev-parse", "HEAD"])?.trim().to_string())
}
