//! Discovery: paths -> the Lambda projects below them and their files.
//!
//! A directory holding a `Dockerfile` is a Lambda; every file below it belongs to it unless a
//! nearer directory with a Dockerfile claims it. The walk is parallel and gitignore-aware
//! (the `ignore` crate), skips version-control and cache directories, and does not follow
//! symbolic links to directories unless asked (then loops are detected and reported).

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use ignore::{WalkBuilder, WalkState};

use crate::build_context::BuildContext;
use crate::policy::Config;

/// Directories never worth walking: VCS metadata, virtualenvs, caches, vendored trees.
pub const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".terraform",
    ".tox",
];

/// The kinds of file the gate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    Dockerfile,
    /// A Python module (`*.py`): read in the Lambda pass, where the handler is known.
    Python,
    /// Terraform configuration (`*.tf`) or the variable files Terraform loads itself: read
    /// per directory, as one Terraform module.
    Terraform,
    /// Anything else in the Lambda: part of its build context.
    Other,
}

impl FileKind {
    pub fn of(name: &str) -> FileKind {
        let lower = name.to_ascii_lowercase();
        if lower == "dockerfile"
            || lower == "containerfile"
            || lower.starts_with("dockerfile.")
            || lower.ends_with(".dockerfile")
        {
            FileKind::Dockerfile
        } else if lower.ends_with(".py") {
            FileKind::Python
        } else if crate::rules::terraform::is_terraform_file(&lower) {
            FileKind::Terraform
        } else {
            FileKind::Other
        }
    }
}

/// File names that make their directory a Lambda.
pub const LAMBDA_MARKERS: &[&str] = &["Dockerfile", "Containerfile"];

/// Whether a file name marks its directory as a Lambda.
fn is_lambda_marker(name: &str) -> bool {
    LAMBDA_MARKERS.contains(&name)
}

/// The nearest directory above `file` that is a Lambda.
pub fn lambda_dir_of(file: &Path) -> Option<PathBuf> {
    file.ancestors()
        .skip(1)
        .find(|dir| {
            LAMBDA_MARKERS
                .iter()
                .any(|marker| dir.join(marker).is_file())
        })
        .map(Path::to_path_buf)
}

#[derive(Debug, Clone)]
pub struct LambdaFile {
    /// Absolute path.
    pub path: PathBuf,
    /// `/`-separated path relative to the Lambda directory.
    pub relative: String,
    pub kind: FileKind,
    /// Size from the walk's metadata, for the files the gate reads (0 for `Other`).
    pub size: u64,
}

#[derive(Debug)]
pub struct Lambda {
    /// Absolute directory.
    pub dir: PathBuf,
    pub config: Arc<Config>,
    /// Sorted by path.
    pub files: Vec<LambdaFile>,
    build_context: OnceLock<BuildContext>,
    /// The handler (`module.function`) the Lambda's Dockerfile names, once it has been read.
    pub handler: OnceLock<String>,
}

impl Lambda {
    /// The build context, computed once (reads `.dockerignore`).
    pub fn build_context(&self) -> &BuildContext {
        self.build_context.get_or_init(|| {
            BuildContext::for_dir(&self.dir, self.files.iter().map(|f| f.relative.as_str()))
        })
    }
}

/// Something the walk could not do, for the engine to report.
#[derive(Debug, Clone)]
pub struct WalkProblem {
    pub path: PathBuf,
    pub message: String,
    /// For a loop: the directory the link leads back to.
    pub loop_target: Option<PathBuf>,
    /// The configuration in force where it happened.
    pub config: Arc<Config>,
}

/// Terraform files outside every Lambda (shared modules such as `terraform/modules/*`), checked
/// with the Terraform rules too.
#[derive(Debug)]
pub struct SharedTerraform {
    pub config: Arc<Config>,
    /// Sorted by path; `relative` is the path as walked (no Lambda to be relative to).
    pub files: Vec<LambdaFile>,
}

#[derive(Debug, Default)]
pub struct Workspace {
    pub lambdas: Vec<Lambda>,
    pub shared_terraform: Vec<SharedTerraform>,
    pub problems: Vec<WalkProblem>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct WalkOptions {
    pub follow_links: bool,
    /// Worker threads; 0 lets the walker choose.
    pub threads: usize,
}

struct Found {
    path: PathBuf,
    kind: FileKind,
    size: u64,
}

/// Walks `root` (a directory) under `config` and adds its Lambdas to `workspace`.
pub fn discover(root: &Path, config: Arc<Config>, options: WalkOptions, workspace: &mut Workspace) {
    let found: Mutex<Vec<Found>> = Mutex::new(Vec::new());
    let problems: Mutex<Vec<WalkProblem>> = Mutex::new(Vec::new());
    let walker = WalkBuilder::new(root)
        .hidden(false)
        .parents(true)
        .ignore(false)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        .require_git(false)
        .follow_links(options.follow_links)
        .threads(options.threads)
        .filter_entry({
            let config = config.clone();
            move |entry| {
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                let name = entry.file_name().to_string_lossy();
                let skipped = is_dir && SKIPPED_DIRS.contains(&name.as_ref());
                !skipped && !config.is_excluded(entry.path())
            }
        })
        .build_parallel();
    walker.run(|| {
        let problems = &problems;
        let config = config.clone();
        let mut buffer = Buffer {
            local: Vec::new(),
            shared: &found,
        };
        Box::new(move |result| {
            match result {
                Ok(entry) => {
                    let file_type = entry.file_type();
                    let is_file = file_type.is_some_and(|t| t.is_file());
                    // Without --follow-links a symlink to a file is still read (or reported).
                    let is_file_link = file_type.is_some_and(|t| t.is_symlink())
                        && std::fs::metadata(entry.path()).map_or(true, |m| m.is_file());
                    if is_file || is_file_link {
                        let kind = FileKind::of(&entry.file_name().to_string_lossy());
                        // Only files the gate reads need their size (one stat each).
                        let size = match kind {
                            FileKind::Other => 0,
                            _ => entry.metadata().map_or(0, |m| m.len()),
                        };
                        buffer.local.push(Found {
                            path: entry.into_path(),
                            kind,
                            size,
                        });
                    }
                }
                Err(error) => lock(problems).push(walk_problem(error, config.clone())),
            }
            WalkState::Continue
        })
    });
    let found = found.into_inner().unwrap_or_else(|e| e.into_inner());
    workspace
        .problems
        .extend(problems.into_inner().unwrap_or_else(|e| e.into_inner()));
    group(found, config, workspace);
}

/// A walker thread's findings, handed over once when the thread is done.
struct Buffer<'a> {
    local: Vec<Found>,
    shared: &'a Mutex<Vec<Found>>,
}

impl Drop for Buffer<'_> {
    fn drop(&mut self) {
        lock(self.shared).append(&mut self.local);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn walk_problem(error: ignore::Error, config: Arc<Config>) -> WalkProblem {
    let mut path = PathBuf::new();
    let mut loop_target = None;
    let mut current = &error;
    loop {
        match current {
            ignore::Error::WithPath { path: p, err } => {
                path = p.clone();
                current = err;
            }
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                current = err;
            }
            ignore::Error::Loop { child, ancestor } => {
                path = child.clone();
                loop_target = Some(ancestor.clone());
                break;
            }
            _ => break,
        }
    }
    WalkProblem {
        path,
        message: error.to_string(),
        loop_target,
        config,
    }
}

/// Groups files by their nearest Lambda directory.
fn group(found: Vec<Found>, config: Arc<Config>, workspace: &mut Workspace) {
    // Keyed by the directory's bytes: hashing an `OsStr` is far cheaper than a `Path`.
    let mut index: HashMap<OsString, usize> = HashMap::new();
    let mut lambdas: Vec<(PathBuf, Vec<LambdaFile>)> = Vec::new();
    for file in &found {
        let is_marker = file
            .path
            .file_name()
            .is_some_and(|name| is_lambda_marker(&name.to_string_lossy()));
        if let Some(dir) = file.path.parent().filter(|_| is_marker) {
            index.entry(dir.as_os_str().to_owned()).or_insert_with(|| {
                lambdas.push((dir.to_path_buf(), Vec::new()));
                lambdas.len() - 1
            });
        }
    }
    let mut shared: Vec<LambdaFile> = Vec::new();
    for file in found {
        let Some((dir, slot)) = file
            .path
            .ancestors()
            .skip(1)
            .find_map(|dir| index.get(dir.as_os_str()).map(|slot| (dir, *slot)))
        else {
            if file.kind == FileKind::Terraform {
                shared.push(LambdaFile {
                    relative: file.path.to_string_lossy().replace('\\', "/"),
                    path: file.path,
                    kind: file.kind,
                    size: file.size,
                });
            }
            continue;
        };
        let relative = file
            .path
            .strip_prefix(dir)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        lambdas[slot].1.push(LambdaFile {
            path: file.path,
            relative,
            kind: file.kind,
            size: file.size,
        });
    }
    let mut lambdas: Vec<Lambda> = lambdas
        .into_iter()
        .map(|(dir, mut files)| {
            files.sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
            Lambda {
                dir,
                config: config.clone(),
                files,
                build_context: OnceLock::new(),
                handler: OnceLock::new(),
            }
        })
        .collect();
    lambdas.sort_by(|a, b| a.dir.as_os_str().cmp(b.dir.as_os_str()));
    workspace.lambdas.extend(lambdas);
    if !shared.is_empty() {
        shared.sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
        workspace.shared_terraform.push(SharedTerraform {
            config,
            files: shared,
        });
    }
}
