//! The walk under discovery: every file below a root that git would not ignore.
//!
//! The rules are those of the `ignore` crate's walker with `hidden(false)`, `ignore(false)`,
//! `git_global(false)`, `require_git(false)` and `parents(true)`: each directory's
//! `.gitignore`, and the `info/exclude` of each `.git` beside it, apply below that directory,
//! nearest first, a `.gitignore` before an exclude file; those of the directories above the
//! root apply too, matched against the absolute path. A differential test holds the two
//! walkers to the same files.
//!
//! Why a walk of our own: `ignore`'s serial walker asks the file system, in every directory,
//! whether `.git`, `.gitignore` and `.git/info/exclude` exist (three `statx` a directory, most
//! failing), where the directory's listing already says; and building one asks the kernel for
//! its CPU quota. Here a directory's listing decides which ignore files are read, and a walk
//! of few directories costs a few calls.

use std::ffi::{OsStr, OsString};
use std::fs::FileType;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;

/// How to walk.
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings {
    /// Walk into symbolic links to directories (loops are reported, not followed).
    pub follow_links: bool,
    /// Subdirectories may be walked on rayon's workers.
    pub parallel: bool,
}

/// An entry the walk reached: `file_type` is the link's own type unless links are followed.
pub struct Entry<'a> {
    pub path: &'a Path,
    pub name: &'a OsStr,
    pub file_type: FileType,
}

/// Something the walk could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkError {
    pub path: PathBuf,
    pub message: String,
    /// For a loop: the directory the link leads back to.
    pub loop_target: Option<PathBuf>,
}

/// What a walk gathered, in walk order (each directory's entries in listing order, a
/// subdirectory's files where the subdirectory is listed).
pub struct Walked<T> {
    pub found: Vec<T>,
    pub errors: Vec<WalkError>,
}

/// From how many subdirectories a directory's are walked on the workers, when the walk may
/// be parallel: listing a directory is tens of microseconds.
const DIRS_FOR_WORKERS: usize = 4;

/// Walks `root`. `enter` is asked of each entry below the root that no ignore rule excludes
/// (a directory it refuses is not walked); `keep` turns each entered non-directory into a
/// finding, or none.
pub fn walk<T, E, K>(root: &Path, settings: Settings, enter: &E, keep: &K) -> Walked<T>
where
    T: Send,
    E: Fn(&Entry) -> bool + Sync,
    K: Fn(&Entry) -> Option<T> + Sync,
{
    let mut walked = Walked {
        found: Vec::new(),
        errors: Vec::new(),
    };
    let metadata = match std::fs::metadata(root) {
        Ok(metadata) => metadata,
        Err(error) => {
            walked.errors.push(io_error(root, &error));
            return walked;
        }
    };
    if !metadata.is_dir() {
        let name = root.file_name().unwrap_or(root.as_os_str());
        let entry = Entry {
            path: root,
            name,
            file_type: metadata.file_type(),
        };
        walked.found.extend(keep(&entry));
        return walked;
    }
    let absolute = std::fs::canonicalize(root).ok();
    let parents = absolute.as_deref().and_then(parent_rules);
    let walk = Walk {
        root,
        absolute: absolute.as_deref(),
        settings,
        enter,
        keep,
    };
    let ancestors = if settings.follow_links {
        identity(&metadata)
            .into_iter()
            .map(|id| (id, root.to_path_buf()))
            .collect()
    } else {
        Vec::new()
    };
    walk.dir(root.to_path_buf(), parents, &ancestors, &mut walked);
    walked
}

/// A directory's ignore rules, with those of the directories above it.
struct Rules {
    gitignore: Option<Gitignore>,
    exclude: Option<Gitignore>,
    /// Rules of a directory above the walk's root: matched against absolute paths.
    above_root: bool,
    parent: Option<Arc<Rules>>,
}

impl Rules {
    fn is_empty(&self) -> bool {
        self.gitignore.is_none() && self.exclude.is_none()
    }
}

struct Walk<'a, E, K> {
    root: &'a Path,
    absolute: Option<&'a Path>,
    settings: Settings,
    enter: &'a E,
    keep: &'a K,
}

/// A directory's identity, to tell a link back to an ancestor when links are followed.
type Identity = (u64, u64);

#[cfg(unix)]
fn identity(metadata: &std::fs::Metadata) -> Option<Identity> {
    use std::os::unix::fs::MetadataExt;
    Some((metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn identity(_: &std::fs::Metadata) -> Option<Identity> {
    None
}

impl<T, E, K> Walk<'_, E, K>
where
    T: Send,
    E: Fn(&Entry) -> bool + Sync,
    K: Fn(&Entry) -> Option<T> + Sync,
{
    fn dir(
        &self,
        dir: PathBuf,
        above: Option<Arc<Rules>>,
        ancestors: &[(Identity, PathBuf)],
        walked: &mut Walked<T>,
    ) {
        let listing = match std::fs::read_dir(&dir) {
            Ok(listing) => listing,
            Err(error) => {
                walked.errors.push(io_error(&dir, &error));
                return;
            }
        };
        let mut entries: Vec<(OsString, FileType)> = Vec::new();
        let mut complete = true;
        for entry in listing {
            match entry.and_then(|entry| Ok((entry.file_name(), entry.file_type()?))) {
                Ok(entry) => entries.push(entry),
                Err(error) => {
                    complete = false;
                    walked.errors.push(io_error(&dir, &error));
                }
            }
        }
        if complete {
            crate::fsio::remember_listing(&dir, entries.iter().map(|(name, _)| name.as_os_str()));
        }
        let has = |name: &str| entries.iter().any(|(n, _)| n == name);
        let own = Rules {
            gitignore: has(".gitignore")
                .then(|| gitignore(&dir, &dir.join(".gitignore")))
                .flatten(),
            exclude: has(".git").then(|| exclude_file(&dir)).flatten(),
            above_root: false,
            parent: above.clone(),
        };
        let rules = if own.is_empty() {
            above
        } else {
            Some(Arc::new(own))
        };
        let mut subdirs: Vec<(PathBuf, Vec<(Identity, PathBuf)>)> = Vec::new();
        for (name, lstat_type) in entries {
            let path = dir.join(&name);
            let mut file_type = lstat_type;
            let mut target = None;
            if self.settings.follow_links && lstat_type.is_symlink() {
                match std::fs::metadata(&path) {
                    Ok(metadata) => {
                        file_type = metadata.file_type();
                        target = Some(metadata);
                    }
                    Err(error) => {
                        walked.errors.push(io_error(&path, &error));
                        continue;
                    }
                }
            }
            let is_dir = file_type.is_dir();
            if self.ignored(rules.as_deref(), &path, is_dir) {
                continue;
            }
            let entry = Entry {
                path: &path,
                name: &name,
                file_type,
            };
            if !(self.enter)(&entry) {
                continue;
            }
            if !is_dir {
                walked.found.extend((self.keep)(&entry));
                continue;
            }
            let mut below = Vec::new();
            if self.settings.follow_links {
                let metadata = match target {
                    Some(metadata) => Ok(metadata),
                    None => std::fs::metadata(&path),
                };
                let id = metadata.ok().as_ref().and_then(identity);
                if let Some(id) = id {
                    if let Some((_, ancestor)) = ancestors.iter().find(|(a, _)| *a == id) {
                        walked.errors.push(WalkError {
                            message: format!(
                                "File system loop found: {} points to an ancestor {}",
                                path.display(),
                                ancestor.display()
                            ),
                            path,
                            loop_target: Some(ancestor.clone()),
                        });
                        continue;
                    }
                    below = ancestors.to_vec();
                    below.push((id, path.clone()));
                }
            }
            subdirs.push((path, below));
        }
        if !self.settings.parallel {
            for (subdir, below) in subdirs {
                self.dir(subdir, rules.clone(), &below, walked);
            }
            return;
        }
        let results = crate::parallel::map(subdirs, DIRS_FOR_WORKERS, |(subdir, below)| {
            let mut walked = Walked {
                found: Vec::new(),
                errors: Vec::new(),
            };
            self.dir(subdir, rules.clone(), &below, &mut walked);
            walked
        });
        for result in results {
            walked.found.extend(result.found);
            walked.errors.extend(result.errors);
        }
    }

    /// Whether git ignores `path`: the nearest rule that matches decides, a `.gitignore`'s
    /// before an exclude file's.
    fn ignored(&self, rules: Option<&Rules>, path: &Path, is_dir: bool) -> bool {
        let mut gitignore = Match::None;
        let mut exclude = Match::None;
        let mut absolute: Option<PathBuf> = None;
        let mut level = rules;
        while let Some(rules) = level {
            let candidate: &Path = if rules.above_root {
                match self.absolute {
                    Some(base) => absolute.get_or_insert_with(|| {
                        let relative = path.strip_prefix(self.root).unwrap_or(path);
                        base.join(relative)
                    }),
                    None => break,
                }
            } else {
                path
            };
            if gitignore.is_none() {
                if let Some(matcher) = &rules.gitignore {
                    gitignore = matcher.matched(candidate, is_dir).map(|_| ());
                }
            }
            if exclude.is_none() {
                if let Some(matcher) = &rules.exclude {
                    exclude = matcher.matched(candidate, is_dir).map(|_| ());
                }
            }
            if !gitignore.is_none() {
                break;
            }
            level = rules.parent.as_deref();
        }
        match gitignore {
            Match::None => exclude.is_ignore(),
            decided => decided.is_ignore(),
        }
    }
}

/// The rules of the directories above a walk's root (`absolute`), nearest first. They are
/// not listed (a home directory can be large): two or three probes each, once a walk.
fn parent_rules(absolute: &Path) -> Option<Arc<Rules>> {
    let mut rules: Option<Arc<Rules>> = None;
    let ancestors: Vec<&Path> = absolute.ancestors().skip(1).collect();
    for dir in ancestors.into_iter().rev() {
        let gitignore_path = dir.join(".gitignore");
        let gitignore = crate::fsio::exists(&gitignore_path)
            .then(|| gitignore(dir, &gitignore_path))
            .flatten();
        let exclude = exclude_file(dir);
        let level = Rules {
            gitignore,
            exclude,
            above_root: true,
            parent: rules.clone(),
        };
        if !level.is_empty() {
            rules = Some(Arc::new(level));
        }
    }
    rules
}

/// The `info/exclude` of the repository whose `.git` is in `dir`: in `.git` itself, or, for a
/// `.git` file (a worktree's or a submodule's), in the common directory it leads to.
fn exclude_file(dir: &Path) -> Option<Gitignore> {
    let git = dir.join(".git");
    let metadata = std::fs::metadata(&git).ok()?;
    let exclude = if metadata.is_file() {
        let text = std::fs::read_to_string(&git).ok()?;
        let named = text.lines().next()?.strip_prefix("gitdir: ")?;
        let git_dir = dir.join(named.trim_end());
        let common = match std::fs::read_to_string(git_dir.join("commondir")) {
            Ok(common) => git_dir.join(common.lines().next()?.trim_end()),
            Err(_) => git_dir,
        };
        let exclude = common.join("info/exclude");
        // Outside `.git`, so not among the inputs recorded for it (`fsio::record_git_dir`):
        // a cached verdict must not outlive an edit to it.
        crate::fsio::record(&exclude);
        exclude
    } else {
        git.join("info/exclude")
    };
    crate::fsio::exists(&exclude)
        .then(|| gitignore(dir, &exclude))
        .flatten()
}

/// The rules of one ignore file, for paths below `dir`; a line that is not a valid pattern is
/// skipped, as git skips it.
fn gitignore(dir: &Path, file: &Path) -> Option<Gitignore> {
    let mut builder = GitignoreBuilder::new(dir);
    // A partial error leaves the file's valid lines in place.
    let _ = builder.add(file);
    builder.build().ok().filter(|matcher| !matcher.is_empty())
}

fn io_error(path: &Path, error: &std::io::Error) -> WalkError {
    WalkError {
        path: path.to_path_buf(),
        message: error.to_string(),
        loop_target: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// The files `walk` finds below `root`, relative and sorted, skipping `.git` as discovery
    /// does; with the errors' paths.
    fn ours(root: &Path, settings: Settings) -> (Vec<String>, Vec<WalkError>) {
        let enter = |entry: &Entry| !(entry.file_type.is_dir() && entry.name == ".git");
        let keep = |entry: &Entry| Some(relative(root, entry.path));
        let mut walked = walk(root, settings, &enter, &keep);
        walked.found.sort();
        (walked.found, walked.errors)
    }

    /// The same, by the `ignore` crate's walker as discovery configured it before.
    fn theirs(root: &Path) -> Vec<String> {
        let mut found: Vec<String> = ignore::WalkBuilder::new(root)
            .hidden(false)
            .parents(true)
            .ignore(false)
            .git_ignore(true)
            .git_global(false)
            .git_exclude(true)
            .require_git(false)
            .filter_entry(|entry| {
                !(entry.file_type().is_some_and(|t| t.is_dir()) && entry.file_name() == ".git")
            })
            .build()
            .flatten()
            .filter(|entry| entry.depth() > 0 && !entry.file_type().is_some_and(|t| t.is_dir()))
            .map(|entry| relative(root, entry.path()))
            .collect();
        found.sort();
        found
    }

    fn relative(root: &Path, path: &Path) -> String {
        let relative = path.strip_prefix(root).unwrap_or(path);
        relative.to_string_lossy().into_owned()
    }

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }

    /// A small deterministic generator: the same trees every run.
    struct Random(u64);

    impl Random {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }

        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[self.below(from.len())]
        }
    }

    const NAMES: &[&str] = &[
        "a", "b", "c", "d.py", "e.txt", "build", "src", ".hidden", "x y", "A",
    ];
    const PATTERNS: &[&str] = &[
        "*.py",
        "!d.py",
        "build/",
        "/a",
        "b",
        "**/c",
        "src/*.txt",
        "*.txt",
        "!e.txt",
        "a/b",
        "#c",
        "",
        "[ab]",
        "d*",
        "/src/",
        "c/**",
        "!/build",
        "x y",
        "*/",
        ".hidden",
        "!*/",
        "src",
        "A",
        "a/**/b",
        "\\!x",
    ];

    fn patterns(random: &mut Random) -> String {
        (0..random.below(4) + 1)
            .map(|_| format!("{}\n", random.pick(PATTERNS)))
            .collect()
    }

    /// A random tree below `dir`: files, directories, `.gitignore`s and repositories.
    fn tree(random: &mut Random, dir: &Path, depth: usize) {
        for _ in 0..random.below(5) + 1 {
            let name = random.pick(NAMES);
            let path = dir.join(name);
            if path.exists() {
                continue;
            }
            if depth < 3 && random.below(2) == 0 {
                fs::create_dir_all(&path).expect("mkdir");
                tree(random, &path, depth + 1);
            } else {
                write(&path, "x");
            }
        }
        match random.below(6) {
            0 | 1 => write(&dir.join(".gitignore"), &patterns(random)),
            2 => write(&dir.join(".git/info/exclude"), &patterns(random)),
            3 => {
                write(&dir.join(".gitignore"), &patterns(random));
                write(&dir.join(".git/info/exclude"), &patterns(random));
            }
            _ => {}
        }
    }

    #[test]
    fn finds_what_the_ignore_crate_finds_in_random_trees() {
        let mut random = Random(0x9e37_79b9_7f4a_7c15);
        let (mut files, mut differed) = (0, 0);
        for case in 0..300 {
            let outer = tempfile::tempdir().expect("tempdir");
            // Rules above the root apply too, matched against absolute paths.
            if random.below(2) == 0 {
                write(&outer.path().join(".gitignore"), &patterns(&mut random));
            }
            if random.below(3) == 0 {
                write(
                    &outer.path().join(".git/info/exclude"),
                    &patterns(&mut random),
                );
            }
            let root = outer.path().join("root");
            fs::create_dir(&root).expect("mkdir");
            tree(&mut random, &root, 0);
            let expected = theirs(&root);
            for parallel in [false, true] {
                let (found, errors) = ours(
                    &root,
                    Settings {
                        follow_links: false,
                        parallel,
                    },
                );
                assert!(errors.is_empty(), "case {case}: {errors:?}");
                assert_eq!(found, expected, "case {case}, parallel: {parallel}");
            }
            // Not every tree ignores nothing: the rules must bite for the test to test them.
            let all = ours_unfiltered(&root);
            files += all.len();
            differed += usize::from(all.len() != expected.len());
        }
        assert!(files > 1_000, "only {files} files generated");
        assert!(
            differed > 50,
            "only {differed} of 300 trees ignored anything"
        );
    }

    /// Every file below `root` but those in `.git`, ignored or not.
    fn ours_unfiltered(root: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut dirs = vec![root.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in fs::read_dir(&dir).expect("list").flatten() {
                let path = entry.path();
                if entry.file_type().expect("type").is_dir() {
                    if entry.file_name() != ".git" {
                        dirs.push(path);
                    }
                } else {
                    files.push(path);
                }
            }
        }
        files
    }

    #[test]
    fn a_gitignore_whitelist_beats_the_exclude_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(&dir.path().join(".git/info/exclude"), "*.log\n");
        write(&dir.path().join("sub/.gitignore"), "!keep.log\n");
        write(&dir.path().join("sub/keep.log"), "x");
        write(&dir.path().join("sub/drop.log"), "x");
        write(&dir.path().join("top.log"), "x");
        let (found, _) = ours(dir.path(), Settings::default());
        assert_eq!(found, ["sub/.gitignore", "sub/keep.log"]);
        assert_eq!(found, theirs(dir.path()));
    }

    #[test]
    fn a_worktree_git_file_leads_to_the_common_exclude_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        // As `git worktree add` leaves it: `.git` names the worktree's directory, whose
        // `commondir` names the repository's, relative to it.
        let common = dir.path().join("main/.git");
        write(&common.join("info/exclude"), "*.tmp\n");
        write(&common.join("worktrees/wt/commondir"), "../..\n");
        let worktree = dir.path().join("wt");
        write(
            &worktree.join(".git"),
            &format!("gitdir: {}\n", common.join("worktrees/wt").display()),
        );
        write(&worktree.join("a.tmp"), "x");
        write(&worktree.join("a.py"), "x");
        let (found, _) = ours(&worktree, Settings::default());
        assert_eq!(found, [".git", "a.py"]);
    }

    #[test]
    fn a_submodule_git_file_is_read_relative_to_its_directory() {
        // Submodules name their repository relatively (`gitdir: ../.git/modules/sub`); git
        // reads that from the `.git` file's directory.
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            &dir.path().join(".git/modules/sub/info/exclude"),
            "secret\n",
        );
        write(
            &dir.path().join("sub/.git"),
            "gitdir: ../.git/modules/sub\n",
        );
        write(&dir.path().join("sub/secret"), "x");
        write(&dir.path().join("sub/code.py"), "x");
        let (found, _) = ours(&dir.path().join("sub"), Settings::default());
        assert_eq!(found, [".git", "code.py"]);
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_only_when_asked_and_loops_are_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(&dir.path().join("real/a.py"), "x");
        std::os::unix::fs::symlink("real", dir.path().join("linked")).expect("symlink");
        std::os::unix::fs::symlink("..", dir.path().join("real/up")).expect("symlink");
        // Not followed: each link is an entry of its own.
        let (found, errors) = ours(dir.path(), Settings::default());
        assert_eq!(found, ["linked", "real/a.py", "real/up"]);
        assert!(errors.is_empty());
        // Followed: the link to `real` is walked, and `up` leads back to the root.
        for parallel in [false, true] {
            let settings = Settings {
                follow_links: true,
                parallel,
            };
            let (found, errors) = ours(dir.path(), settings);
            assert_eq!(found, ["linked/a.py", "real/a.py"]);
            let mut loops: Vec<_> = errors
                .iter()
                .map(|e| (relative(dir.path(), &e.path), e.loop_target.clone()))
                .collect();
            loops.sort();
            let root = Some(dir.path().to_path_buf());
            assert_eq!(
                loops,
                [
                    ("linked/up".to_string(), root.clone()),
                    ("real/up".to_string(), root)
                ]
            );
        }
    }

    #[test]
    fn an_unreadable_root_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing");
        let (found, errors) = ours(&missing, Settings::default());
        assert!(found.is_empty());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, missing);
        assert!(errors[0].loop_target.is_none());
    }
}
