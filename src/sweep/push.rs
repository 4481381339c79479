//! `sweep --fix --push`: a repository's fixes as one commit on the tip of its default branch,
//! pushed to one stable branch of its remote. The commit is made with git's plumbing (a
//! private index, `commit-tree`), so no working tree or local branch is touched, and pushed with
//! an explicit lease: the branch is created only if it does not exist, and replaced only while
//! it is still the commit this run saw. A branch holding commits the sweep did not make is left
//! alone unless `--force-with-lease` says to replace it (still only at the commit seen).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};

use super::repos::{git, git_failure, git_output, git_with, identity_args};

/// The trailer that marks a commit as the sweep's own: a branch whose tip carries it (on one
/// parent) is the sweep's to update.
pub const TRAILER: &str = "Lambda-Gate-Sweep: fix";

/// The branch fixes are pushed to when `--branch` names none.
pub const DEFAULT_BRANCH: &str = "lambda-gate/fixes";

/// How `--push` pushes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOptions {
    /// The branch every repository's fixes go to.
    pub branch: String,
    /// Say what would be pushed; commit and push nothing.
    pub dry_run: bool,
    /// Replace a branch that holds commits the sweep did not make (while it is at the commit
    /// seen).
    pub force_with_lease: bool,
}

/// What happened to the branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PushStatus {
    Created,
    /// The sweep's earlier commit replaced by one on the current default branch.
    Updated,
    /// The branch already holds exactly these fixes.
    UpToDate,
    WouldCreate,
    WouldUpdate,
    /// The branch holds commits the sweep did not make: not replaced.
    Diverged,
    /// The remote refused the push (a hook, a protected branch, a moved branch).
    Rejected,
}

impl PushStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PushStatus::Created => "created",
            PushStatus::Updated => "updated",
            PushStatus::UpToDate => "up to date",
            PushStatus::WouldCreate => "would create",
            PushStatus::WouldUpdate => "would update",
            PushStatus::Diverged => "diverged, not replaced",
            PushStatus::Rejected => "rejected",
        }
    }

    /// Whether the branch now holds the fixes (or would, in a dry run).
    pub fn is_ok(self) -> bool {
        !matches!(self, PushStatus::Diverged | PushStatus::Rejected)
    }
}

/// The push of one repository's fixes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PushRecord {
    /// The push URL of `origin`.
    pub remote: String,
    pub branch: String,
    pub status: PushStatus,
    /// The commit the branch holds (or would hold) with the fixes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The commit the branch held before, if it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced: Option<String>,
    /// Where the forge compares the branch with the default branch (GitHub, GitLab,
    /// Bitbucket); absent for other remotes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_url: Option<String>,
    /// Why the branch was not pushed (diverged, rejected), in the remote's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Commits `changes` (paths relative to `dir`, text before and after) on the tip of `dir`'s
/// checkout with `message`, and pushes the commit to `origin`'s branch `options.branch`.
pub fn push_fixes(
    dir: &Path,
    changes: &BTreeMap<PathBuf, (String, String)>,
    message: &str,
    options: &PushOptions,
) -> anyhow::Result<PushRecord> {
    let branch = &options.branch;
    git(dir, &["check-ref-format", "--branch", branch])
        .with_context(|| format!("`{branch}` is not a valid branch name"))?;
    let remote = git(dir, &["remote", "get-url", "--push", "origin"])
        .context("the repository has no remote `origin` to push to")?
        .trim()
        .to_string();
    let head = git(dir, &["rev-parse", "--verify", "HEAD^{commit}"])?
        .trim()
        .to_string();
    let tree = tree_with(dir, &head, changes)?;
    let (default_branch, existing) = remote_branches(dir, branch)?;
    let mut record = PushRecord {
        compare_url: compare_url(&remote, default_branch.as_deref(), branch),
        remote,
        branch: branch.clone(),
        status: PushStatus::WouldCreate,
        commit: None,
        replaced: existing.clone(),
        reason: None,
    };
    if let Some(existing) = &existing {
        let tip = fetch_commit(dir, branch, existing)?;
        let ours = tip.parents == 1 && tip.message.lines().any(|line| line.trim() == TRAILER);
        if ours && tip.tree == tree {
            record.status = PushStatus::UpToDate;
            record.commit = Some(existing.clone());
            return Ok(record);
        }
        if !ours && !options.force_with_lease {
            record.status = PushStatus::Diverged;
            record.reason = Some(format!(
                "`{branch}` on the remote holds commits lambda-gate did not make (its tip {}); not replaced: merge or delete it, or replace it with --force-with-lease",
                short(existing)
            ));
            return Ok(record);
        }
        record.status = PushStatus::WouldUpdate;
    }
    if options.dry_run {
        return Ok(record);
    }
    let commit = commit_tree(dir, &tree, &head, message)?;
    record.commit = Some(commit.clone());
    let lease = format!(
        "--force-with-lease=refs/heads/{branch}:{}",
        existing.as_deref().unwrap_or("")
    );
    let refspec = format!("{commit}:refs/heads/{branch}");
    let output = git_output(
        dir,
        &["push", "--quiet", "--porcelain", &lease, "origin", &refspec],
        &[],
        None,
    )?;
    if output.status.success() {
        record.status = match existing {
            Some(_) => PushStatus::Updated,
            None => PushStatus::Created,
        };
    } else {
        record.status = PushStatus::Rejected;
        record.reason = Some(push_failure(
            &String::from_utf8_lossy(&output.stdout),
            &String::from_utf8_lossy(&output.stderr),
        ));
    }
    Ok(record)
}

/// The tree of `head` with `changes` written over it, made in a private index: nothing of the
/// checkout changes.
fn tree_with(
    dir: &Path,
    head: &str,
    changes: &BTreeMap<PathBuf, (String, String)>,
) -> anyhow::Result<String> {
    let scratch = tempfile_dir()?;
    let tree = write_tree(dir, head, changes, &scratch.join("index"));
    let _ = std::fs::remove_dir_all(&scratch);
    tree
}

fn write_tree(
    dir: &Path,
    head: &str,
    changes: &BTreeMap<PathBuf, (String, String)>,
    index: &Path,
) -> anyhow::Result<String> {
    let env = [("GIT_INDEX_FILE", index)];
    git_with(dir, &["read-tree", head], &env, None)?;
    for (path, (_, after)) in changes {
        let path = path.to_str().context("a fixed file's path is not UTF-8")?;
        let blob = git_with(
            dir,
            &["hash-object", "-w", "--stdin", "--path", path],
            &[],
            Some(after.as_bytes()),
        )?;
        // The file keeps its mode (an executable stays executable).
        let listed = git(dir, &["ls-tree", head, "--", path])?;
        let mode = listed.split_whitespace().next().unwrap_or("100644");
        let info = format!("{mode},{},{path}", blob.trim());
        git_with(
            dir,
            &["update-index", "--add", "--cacheinfo", &info],
            &env,
            None,
        )?;
    }
    let tree = git_with(dir, &["write-tree"], &env, None)?;
    Ok(tree.trim().to_string())
}

/// A private directory for the scratch index.
fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "lambda-gate-push-{}-{:016x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    Ok(dir)
}

fn commit_tree(dir: &Path, tree: &str, parent: &str, message: &str) -> anyhow::Result<String> {
    let mut args = identity_args(dir);
    args.extend(["commit-tree", tree, "-p", parent, "-F", "-"]);
    Ok(git_with(dir, &args, &[], Some(message.as_bytes()))?
        .trim()
        .to_string())
}

/// The remote's default branch (what its `HEAD` names) and the commit `branch` is at, if it
/// exists.
fn remote_branches(dir: &Path, branch: &str) -> anyhow::Result<(Option<String>, Option<String>)> {
    let wanted = format!("refs/heads/{branch}");
    let listed = git(dir, &["ls-remote", "--symref", "origin", "HEAD", &wanted])
        .context("cannot list the remote's branches")?;
    let mut default = None;
    let mut existing = None;
    for line in listed.lines() {
        if let Some(rest) = line.strip_prefix("ref: ") {
            if let Some((target, "HEAD")) = rest.split_once('\t') {
                default = target.strip_prefix("refs/heads/").map(str::to_string);
            }
        } else if let Some((id, name)) = line.split_once('\t') {
            if name == wanted {
                existing = Some(id.to_string());
            }
        }
    }
    Ok((default, existing))
}

/// The parts of a commit the sweep decides by.
struct Tip {
    tree: String,
    parents: usize,
    message: String,
}

/// Fetches the remote branch's tip (only it, in a shallow clone) and reads it.
fn fetch_commit(dir: &Path, branch: &str, id: &str) -> anyhow::Result<Tip> {
    let shallow = git(dir, &["rev-parse", "--is-shallow-repository"])?.trim() == "true";
    let refspec = format!("+refs/heads/{branch}:refs/lambda-gate/remote-fix");
    let mut args = vec!["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"];
    if shallow {
        args.extend(["--depth", "1"]);
    }
    args.extend(["origin", &refspec]);
    git(dir, &args).with_context(|| format!("cannot fetch `{branch}` from the remote"))?;
    let raw = git(dir, &["cat-file", "commit", id])
        .with_context(|| format!("the remote's `{branch}` moved while the sweep read it"))?;
    let (header, message) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    let tree = header
        .lines()
        .find_map(|line| line.strip_prefix("tree "))
        .map(str::to_string);
    let Some(tree) = tree else {
        bail!("`{id}` is not a commit");
    };
    Ok(Tip {
        tree,
        parents: header.lines().filter(|l| l.starts_with("parent ")).count(),
        message: message.to_string(),
    })
}

/// Why a push failed, in the remote's words: what its hooks said (`remote: ...`) and the
/// refusal of the ref (`! ... (reason)`).
fn push_failure(stdout: &str, stderr: &str) -> String {
    let mut said: Vec<String> = stderr
        .lines()
        .filter_map(|line| line.strip_prefix("remote:"))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    // `--porcelain`: `!\tSRC:DST\t[rejected] (reason)` per refused ref.
    for line in stdout.lines().filter(|line| line.starts_with('!')) {
        if let Some(summary) = line.split('\t').nth(2) {
            said.push(summary.trim().to_string());
        }
    }
    if said.is_empty() {
        said.push(git_failure(stderr));
    }
    said.join("; ")
}

/// The forge's page comparing `branch` with the default branch, for the remotes whose URL
/// shape says which forge it is.
pub fn compare_url(remote: &str, default_branch: Option<&str>, branch: &str) -> Option<String> {
    let (host, path) = match remote.split_once("://") {
        Some(("https" | "http" | "ssh" | "git", rest)) => {
            let (authority, path) = rest.split_once('/')?;
            let host = authority.rsplit('@').next()?;
            let host = host.split(':').next()?;
            (host, path)
        }
        Some(_) => return None,
        // scp-like `git@host:org/repo.git`
        None => {
            let (authority, path) = remote.split_once(':')?;
            (authority.rsplit('@').next()?, path)
        }
    };
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let base = default_branch?;
    if host.contains("github") {
        Some(format!(
            "https://{host}/{path}/compare/{base}...{branch}?expand=1"
        ))
    } else if host.contains("gitlab") {
        Some(format!("https://{host}/{path}/-/compare/{base}...{branch}"))
    } else if host == "bitbucket.org" {
        Some(format!("https://{host}/{path}/branch/{branch}?dest={base}"))
    } else {
        None
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_links_follow_the_forge_the_remote_names() {
        let cases = [
            (
                "https://github.com/acme/orders.git",
                Some("https://github.com/acme/orders/compare/main...lambda-gate/fixes?expand=1"),
            ),
            (
                "git@github.com:acme/orders.git",
                Some("https://github.com/acme/orders/compare/main...lambda-gate/fixes?expand=1"),
            ),
            (
                "ssh://git@gitlab.example.com:2222/platform/team/orders.git",
                Some("https://gitlab.example.com/platform/team/orders/-/compare/main...lambda-gate/fixes"),
            ),
            (
                "https://bitbucket.org/acme/orders",
                Some("https://bitbucket.org/acme/orders/branch/lambda-gate/fixes?dest=main"),
            ),
            ("file:///srv/git/orders.git", None),
            ("git://127.0.0.1:9418/orders.git", None),
        ];
        for (remote, expected) in cases {
            assert_eq!(
                compare_url(remote, Some("main"), "lambda-gate/fixes").as_deref(),
                expected,
                "{remote}"
            );
        }
        assert_eq!(
            compare_url("https://github.com/acme/orders.git", None, "x"),
            None
        );
    }

    #[test]
    fn a_refused_push_is_told_in_the_remotes_words() {
        let stderr = "remote: lambda-gate/fixes is protected: open a merge request\nremote: \nTo file:///r/orders.git\nerror: failed to push some refs to 'file:///r/orders.git'\n";
        let stdout = "To file:///r/orders.git\n!\tabc:refs/heads/lambda-gate/fixes\t[remote rejected] (pre-receive hook declined)\nDone\n";
        assert_eq!(
            push_failure(stdout, stderr),
            "lambda-gate/fixes is protected: open a merge request; [remote rejected] (pre-receive hook declined)"
        );
        assert_eq!(
            push_failure("", "fatal: could not read from remote repository\n"),
            "could not read from remote repository"
        );
    }
}
