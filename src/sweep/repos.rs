//! Where a sweep's repositories come from: the git checkouts below a directory, or a list of
//! git URLs cloned shallow into a cache and fetched on later runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _};

/// One repository to sweep.
#[derive(Debug, Clone)]
pub struct Target {
    /// How reports name it: the path below `--root`, or the URL's last two path components.
    pub name: String,
    /// Where it came from: the checkout's path or the URL.
    pub source: String,
    /// The URL to clone, for `--repos`.
    pub url: Option<String>,
    /// The checkout to check.
    pub dir: PathBuf,
}

/// Every git repository below `root` (a directory holding `.git`), sorted by path. The walk does
/// not descend into a repository, does not follow symbolic links, and skips what cannot be read.
pub fn find_checkouts(root: &Path) -> anyhow::Result<Vec<Target>> {
    let root = std::fs::canonicalize(root)
        .with_context(|| format!("cannot sweep `{}`", root.display()))?;
    if !root.is_dir() {
        bail!("`{}` is not a directory", root.display());
    }
    let mut found = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        if dir.join(".git").exists() {
            let name = dir.strip_prefix(&root).unwrap_or(&dir);
            let name = if name.as_os_str().is_empty() {
                root.file_name()
                    .map_or_else(|| ".".to_string(), |n| n.to_string_lossy().into_owned())
            } else {
                name.to_string_lossy().into_owned()
            };
            found.push(Target {
                name,
                source: dir.display().to_string(),
                url: None,
                dir,
            });
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            let skipped = entry
                .file_name()
                .to_str()
                .is_some_and(|name| crate::discover::SKIPPED_DIRS.contains(&name));
            if is_dir && !skipped {
                pending.push(entry.path());
            }
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// The repositories a `--repos` file lists: one git URL a line; blank lines and `#` comments
/// are skipped. Each is cloned into `cache`.
pub fn read_list(file: &Path, cache: &Path) -> anyhow::Result<Vec<Target>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the repository list `{}`", file.display()))?;
    let urls = parse_list(&text);
    let mut targets: Vec<Target> = urls
        .iter()
        .map(|url| Target {
            name: short_name(url),
            source: (*url).to_string(),
            url: Some((*url).to_string()),
            dir: cache.join(cache_key(url)),
        })
        .collect();
    // Two URLs with the same short name are told apart by their whole path.
    let mut names: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for target in &targets {
        *names.entry(target.name.clone()).or_default() += 1;
    }
    for target in &mut targets {
        if names[&target.name] > 1 {
            target.name = url_path(&target.source).to_string();
        }
    }
    targets.sort_by(|a, b| a.name.cmp(&b.name));
    targets.dedup_by(|a, b| a.source == b.source);
    Ok(targets)
}

/// The URLs of a repository list: one a line, blank lines and `#` comments skipped.
pub fn parse_list(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

/// The path of a URL (`https://host/org/repo.git`, `git@host:org/repo.git`, `file:///x/y`),
/// without a trailing `.git` or `/`.
fn url_path(url: &str) -> &str {
    let rest = match url.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, path)| path),
        // scp-like `user@host:path`
        None => url.split_once(':').map_or(url, |(_, path)| path),
    };
    let rest = rest.trim_end_matches('/');
    rest.strip_suffix(".git").unwrap_or(rest).trim_matches('/')
}

/// `org/repo`: the last two components of the URL's path.
pub fn short_name(url: &str) -> String {
    let path = url_path(url);
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [] => url.to_string(),
        [one] => (*one).to_string(),
        [.., owner, repo] => format!("{owner}/{repo}"),
    }
}

/// A directory name for a URL's clone: readable, and distinct for distinct URLs.
pub fn cache_key(url: &str) -> String {
    let last = short_name(url).replace('/', "-");
    let safe: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}-{:016x}", fnv1a(url.as_bytes()))
}

/// FNV-1a, 64 bits: a stable hash (the same on every machine and release) for cache names and
/// shards.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Clones `target` shallow, or brings an earlier clone up to the remote's default branch.
/// Local changes in the cache are discarded; local branches (a `--fix --branch`) are kept.
pub fn clone_or_fetch(target: &Target) -> anyhow::Result<()> {
    let Some(url) = &target.url else {
        return Ok(());
    };
    if target.dir.join(".git").is_dir() {
        git(
            &target.dir,
            &[
                "fetch",
                "--quiet",
                "--depth",
                "1",
                "--no-tags",
                "origin",
                "HEAD",
            ],
        )
        .with_context(|| format!("cannot fetch `{url}`"))?;
        // Nothing new, and the clone is as the last sweep left it: no checkout needed.
        if detached_at_fetched(&target.dir) {
            return Ok(());
        }
        git(
            &target.dir,
            &["checkout", "--quiet", "--force", "--detach", "FETCH_HEAD"],
        )
        .with_context(|| format!("cannot check out what was fetched from `{url}`"))?;
        git(&target.dir, &["clean", "--quiet", "-ffdx"])?;
        return Ok(());
    }
    if target.dir.exists() {
        // A clone that was interrupted: start again.
        std::fs::remove_dir_all(&target.dir)
            .with_context(|| format!("cannot remove `{}`", target.dir.display()))?;
    }
    if let Some(parent) = target.dir.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    let mut partial_name = target.dir.file_name().unwrap_or_default().to_os_string();
    partial_name.push(".partial");
    let partial = target.dir.with_file_name(partial_name);
    let _ = std::fs::remove_dir_all(&partial);
    let cwd = target.dir.parent().unwrap_or(Path::new("."));
    let destination = partial.to_string_lossy().into_owned();
    git(
        cwd,
        &[
            "clone",
            "--quiet",
            "--depth",
            "1",
            "--no-tags",
            "--",
            url,
            &destination,
        ],
    )
    .with_context(|| format!("cannot clone `{url}`"))?;
    std::fs::rename(&partial, &target.dir)
        .with_context(|| format!("cannot move the clone to `{}`", target.dir.display()))?;
    Ok(())
}

/// Whether the clone's HEAD is detached at exactly what the last fetch brought (`FETCH_HEAD`),
/// read from `.git` without starting git. Uncommitted changes in a clone are not looked for:
/// the cache is lambda-gate's own.
fn detached_at_fetched(dir: &Path) -> bool {
    let git_dir = dir.join(".git");
    let Ok(head) = std::fs::read_to_string(git_dir.join("HEAD")) else {
        return false;
    };
    let Ok(fetched) = std::fs::read_to_string(git_dir.join("FETCH_HEAD")) else {
        return false;
    };
    let head = head.trim();
    let fetched = fetched.split_whitespace().next().unwrap_or_default();
    is_object_id(head) && head == fetched
}

/// What git said went wrong: its `fatal:`/`error:` lines without the prefix (progress such as
/// "Cloning into ..." is left out), else its last line.
pub fn git_failure(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let errors: Vec<&str> = lines
        .iter()
        .filter_map(|line| {
            line.strip_prefix("fatal:")
                .or_else(|| line.strip_prefix("error:"))
                .map(str::trim)
        })
        .collect();
    match (errors.as_slice(), lines.last()) {
        ([], Some(last)) => last.to_string(),
        ([], None) => String::new(),
        (errors, _) => errors.join("; "),
    }
}

/// The `-c` options that give git an author in `dir` when it has none: a machine without a
/// git identity (a CI agent) still makes commits with a clear author.
pub fn identity_args(dir: &Path) -> Vec<&'static str> {
    if git(dir, &["config", "user.email"]).is_ok() {
        return Vec::new();
    }
    vec![
        "-c",
        "user.name=lambda-gate",
        "-c",
        "user.email=lambda-gate@localhost",
    ]
}

/// Runs git in `dir` without ever prompting; its error output becomes the error.
pub fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    git_with(dir, args, &[], None)
}

/// Runs git in `dir` without ever prompting, with extra environment and what it reads on
/// standard input: its whole output, whether it succeeded or not.
pub fn git_output(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &Path)],
    input: Option<&[u8]>,
) -> anyhow::Result<std::process::Output> {
    use std::io::Write as _;
    let mut command = Command::new("git");
    command
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        .env("LC_ALL", "C")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdin(if input.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        });
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .spawn()
        .context("cannot run git: is it installed?")?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(input).context("cannot write to git")?;
    }
    child.wait_with_output().context("cannot run git")
}

/// [`git`] with extra environment and standard input.
pub fn git_with(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &Path)],
    input: Option<&[u8]>,
) -> anyhow::Result<String> {
    let output = git_output(dir, args, env, input)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = git_failure(&stderr);
        bail!(
            "git {} failed: {}",
            args.first().copied().unwrap_or_default(),
            if message.is_empty() {
                "no message".to_string()
            } else {
                message
            }
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The commit checked out in `dir`, read from `.git` without starting git (a sweep reads
/// hundreds): `HEAD` directly, through a loose ref, or through `packed-refs`.
pub fn head_commit(dir: &Path) -> Option<String> {
    let git_dir = dir.join(".git");
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref: ") else {
        return is_object_id(head).then(|| head.to_string());
    };
    if let Ok(id) = std::fs::read_to_string(git_dir.join(reference)) {
        let id = id.trim();
        return is_object_id(id).then(|| id.to_string());
    }
    let packed = std::fs::read_to_string(git_dir.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (id, name) = line.split_once(' ')?;
        (name == reference && is_object_id(id)).then(|| id.to_string())
    })
}

fn is_object_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_git_failure_is_what_git_called_fatal_without_its_progress() {
        assert_eq!(
            git_failure(
                "Cloning into '/c/orders'...\nfatal: repository '/r/orders' does not exist\n"
            ),
            "repository '/r/orders' does not exist"
        );
        assert_eq!(
            git_failure("error: pathspec 'x' did not match\nerror: another\n"),
            "pathspec 'x' did not match; another"
        );
        assert_eq!(git_failure("something odd\n"), "something odd");
        assert_eq!(git_failure(""), "");
    }

    #[test]
    fn names_are_the_last_two_components_of_the_url_path() {
        assert_eq!(
            short_name("https://git.example.com/platform/orders.git"),
            "platform/orders"
        );
        assert_eq!(
            short_name("git@github.example:platform/orders.git"),
            "platform/orders"
        );
        assert_eq!(short_name("file:///srv/git/org/repo-0001"), "org/repo-0001");
        assert_eq!(short_name("file:///repo/"), "repo");
        assert_eq!(short_name("ssh://git@host:22/a/b/c/"), "b/c");
    }

    #[test]
    fn cache_keys_differ_for_urls_with_the_same_name() {
        let a = cache_key("https://a.example/org/repo.git");
        let b = cache_key("https://b.example/org/repo.git");
        assert_ne!(a, b);
        assert!(a.starts_with("org-repo-"), "{a}");
        assert!(!cache_key("file:///x/../../etc").contains('/'));
    }

    #[test]
    fn head_is_read_through_loose_and_packed_refs() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join(".git");
        std::fs::create_dir_all(git.join("refs/heads")).unwrap();
        let id = "0123456789abcdef0123456789abcdef01234567";
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(
            git.join("packed-refs"),
            format!("# pack-refs\n{id} refs/heads/main\n"),
        )
        .unwrap();
        assert_eq!(head_commit(dir.path()).as_deref(), Some(id));
        let loose = "fedcba9876543210fedcba9876543210fedcba98";
        std::fs::write(git.join("refs/heads/main"), format!("{loose}\n")).unwrap();
        assert_eq!(head_commit(dir.path()).as_deref(), Some(loose));
        std::fs::write(git.join("HEAD"), "not a ref").unwrap();
        assert_eq!(head_commit(dir.path()), None);
    }
}
