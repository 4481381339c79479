//! Discovery: paths -> the units the gate judges, decided once.
//!
//! - An **image project** is a directory holding a Dockerfile-like file (`Dockerfile`,
//!   `Containerfile`, `Dockerfile.*`, `*.Dockerfile`, ...: the policy's `dockerfile.names`);
//!   every file below it belongs to it unless a nearer such directory claims it. Each of its
//!   Dockerfiles is read here, once, and parsed while the Dockerfile family decides what it
//!   builds ([`ImageKind`]) and where its code is: a project is a **Lambda** when one of its
//!   images is one.
//! - A **Terraform module** is exactly the `.tf`/tfvars files of one directory, inside a project
//!   or not.
//!
//! The units themselves are [`crate::units`]. The walk ([`crate::walk`]) is gitignore-aware and
//! parallel in a large check, skips version-control and cache directories, and does not follow
//! symbolic links to directories unless asked (then loops are detected and reported).

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::build_context::BuildContext;
use crate::policy::Config;
use crate::rules::dockerfile::code::{path_from, CodeStatus, Handler, HandlerOrigin, LambdaCode};
use crate::rules::dockerfile::declared::{Declared, DeclaredBuild, Declarer};
use crate::rules::dockerfile::image_files::ImageFiles;
use crate::rules::dockerfile::kind::{self, ImageKind};
use crate::rules::dockerfile::parser;
use crate::rules::dockerfile::{build_commands, sam, terraform_image};
use crate::units::{
    project_context, DockerfileNames, FileKind, Image, Lambda, LambdaFile, TerraformModule,
    WalkProblem, Workspace,
};
use crate::walk;

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

/// The nearest directory above `file` (its own directory first) that holds a Dockerfile, never
/// beyond the repository `file` is in (the directory holding `.git`) nor, outside a repository,
/// beyond the working directory: a stray `*.Dockerfile` in `/tmp` or `$HOME` must not turn a
/// commit's README into a check of everything below it.
pub fn project_dir_of(file: &Path, names: &DockerfileNames) -> Option<PathBuf> {
    let boundary = file.parent().and_then(repository_boundary);
    for dir in file.ancestors().skip(1) {
        let holds_dockerfile = crate::fsio::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|entry| {
                entry.file_type().is_ok_and(|t| !t.is_dir())
                    && names.is_match(&entry.file_name().to_string_lossy())
            })
        });
        if holds_dockerfile {
            return Some(dir.to_path_buf());
        }
        if boundary.as_deref() == Some(dir) {
            break;
        }
    }
    None
}

/// From how many image projects, or files declaring builds, discovery reads and parses them on
/// the workers: each is a read and a parse of a few small files, tens of microseconds.
const PROJECTS_FOR_WORKERS: usize = 8;

#[derive(Debug, Clone, Copy, Default)]
pub struct WalkOptions {
    pub follow_links: bool,
    /// Worker threads: 1 keeps the walk on the calling thread; otherwise it may use rayon's
    /// workers (as many as `-j` gives the pool).
    pub threads: usize,
}

struct Found {
    path: PathBuf,
    kind: FileKind,
}

/// Walks `root` (a directory) under `config` and adds its units to `workspace`. Call
/// [`Workspace::settle`] once every root is walked.
pub fn discover(root: &Path, config: Arc<Config>, options: WalkOptions, workspace: &mut Workspace) {
    workspace.walk_roots.push(root.to_path_buf());
    crate::fsio::record_walk_root(root);
    let names = config.dockerfile_names();
    let settings = walk::Settings {
        follow_links: options.follow_links,
        // One thread: a sweep walks each repository on one worker, a pre-commit run each
        // changed Lambda on the calling thread.
        parallel: options.threads != 1,
    };
    let enter = |entry: &walk::Entry| walks_into(entry, || config.is_excluded(entry.path));
    let keep = |entry: &walk::Entry| {
        // Without --follow-links a symlink to a file is still read (or reported).
        let is_file = entry.file_type.is_file()
            || (entry.file_type.is_symlink()
                && crate::fsio::metadata(entry.path).map_or(true, |m| m.is_file()));
        // No `stat` here: a file's size is checked against the limit when it is opened for
        // reading (`fsio::read_within`).
        is_file.then(|| Found {
            path: entry.path.to_path_buf(),
            kind: FileKind::with_names(&entry.name.to_string_lossy(), &names),
        })
    };
    let walked = walk::walk(root, settings, &enter, &keep);
    workspace
        .problems
        .extend(walked.errors.into_iter().map(|error| WalkProblem {
            path: error.path,
            message: error.message,
            loop_target: error.loop_target,
            config: config.clone(),
        }));
    group(walked.found, config, workspace);
}

/// Whether a walk of discovery enters `entry`: not a skipped directory, nor `excluded` (asked
/// only of what is not skipped). Records what the cache must see of it: a directory walked,
/// a `.git` passed by.
fn walks_into(entry: &walk::Entry, excluded: impl FnOnce() -> bool) -> bool {
    let is_dir = entry.file_type.is_dir();
    let skipped = is_dir && SKIPPED_DIRS.iter().any(|dir| entry.name == *dir);
    let walked = !skipped && !excluded();
    if walked && is_dir {
        crate::fsio::record_walked_dir(entry.path);
    } else if entry.name == ".git" {
        crate::fsio::record_git_dir(entry.path);
    }
    walked
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Groups files by their nearest project directory, and `.tf` files by directory into
/// Terraform modules; then reads and classifies each project's Dockerfiles and locates what
/// each Lambda image runs.
fn group(found: Vec<Found>, config: Arc<Config>, workspace: &mut Workspace) {
    // Keyed by the directory's bytes: hashing an `OsStr` is far cheaper than a `Path`.
    let mut index: HashMap<OsString, usize> = HashMap::new();
    let mut lambdas: Vec<(PathBuf, Vec<LambdaFile>)> = Vec::new();
    for file in &found {
        if file.kind != FileKind::Dockerfile {
            continue;
        }
        if let Some(dir) = file.path.parent() {
            index.entry(dir.as_os_str().to_owned()).or_insert_with(|| {
                lambdas.push((dir.to_path_buf(), Vec::new()));
                lambdas.len() - 1
            });
        }
    }
    // SAM templates, Terraform modules and build commands name the context an image is built
    // from, often above its Dockerfile, and a deploying template or module may set its handler.
    let (declared, mut terraform_bytes) = declared_builds(&found, &config);
    let mut modules: HashMap<OsString, (Vec<LambdaFile>, Vec<PathBuf>)> = HashMap::new();
    // Files no project claims: a build context above a Dockerfile may need them.
    let mut unclaimed: Vec<PathBuf> = Vec::new();
    for file in found {
        if file.kind == FileKind::Terraform {
            if let Some(dir) = file.path.parent() {
                let name = file
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                modules
                    .entry(dir.as_os_str().to_owned())
                    .or_default()
                    .0
                    .push(LambdaFile {
                        path: file.path.clone(),
                        relative: name,
                        kind: file.kind,
                    });
            }
        }
        if is_state_file(&file.path) {
            if let Some(dir) = file.path.parent() {
                modules
                    .entry(dir.as_os_str().to_owned())
                    .or_default()
                    .1
                    .push(file.path.clone());
            }
        }
        let Some((dir, slot)) = file
            .path
            .ancestors()
            .skip(1)
            .find_map(|dir| index.get(dir.as_os_str()).map(|slot| (dir, *slot)))
        else {
            unclaimed.push(file.path);
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
        });
    }
    // Most images are built from their own directory: the listing of every walked file is
    // made only when one is not. A project whose code is located is done with its parses, so
    // they do not all live at once.
    let (mut lambdas, elsewhere): (Vec<Lambda>, Vec<bool>) =
        crate::parallel::map(lambdas, PROJECTS_FOR_WORKERS, |(dir, mut files)| {
            files.sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
            files.shrink_to_fit();
            let mut lambda = project(dir, config.clone(), files);
            let elsewhere = locate_code(&mut lambda, &declared, None);
            if !elsewhere {
                lambda.release();
            }
            (lambda, elsewhere)
        })
        .into_iter()
        .unzip();
    if elsewhere.iter().any(|e| *e) {
        let contexts = Contexts::new(&lambdas, unclaimed, &workspace.walk_roots);
        let located: Vec<&mut Lambda> = (lambdas.iter_mut().zip(elsewhere))
            .filter_map(|(lambda, elsewhere)| elsewhere.then_some(lambda))
            .collect();
        crate::parallel::map(located, PROJECTS_FOR_WORKERS, |lambda| {
            locate_code(lambda, &declared, Some(&contexts));
            lambda.release();
        });
    }
    workspace.lambdas.extend(lambdas);
    workspace.terraform_modules.extend(modules.into_iter().map(
        |(dir, (mut files, mut state_files))| {
            files.sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
            state_files.sort();
            let bytes = files
                .iter()
                .map(|file| terraform_bytes.remove(&file.path))
                .collect();
            TerraformModule {
                dir: PathBuf::from(dir),
                config: config.clone(),
                files,
                state_files,
                bytes,
            }
        },
    ));
}

/// What the walked files declare about image builds: SAM templates, Terraform modules that
/// build and deploy an image, `docker build` command lines. Only files that may declare one are
/// read (by name, and for Terraform by a word of their text).
fn declared_builds(found: &[Found], config: &Config) -> (Declared, HashMap<PathBuf, Vec<u8>>) {
    /// One file (or, for Terraform, one module) to read.
    enum Job<'a> {
        Template(&'a Path),
        Commands(&'a Path),
        Terraform(&'a Path, Vec<&'a Found>),
    }
    // Where a CI system's checkout starts: the repository's root (or the `lambda-gate.toml`'s
    // directory, the root of a repository the gate is pointed at). Looked up only for a file
    // that builds an image from there.
    let root_of = |path: &Path| context_boundary(path.parent().unwrap_or(path), config);
    let mut jobs: Vec<Job<'_>> = Vec::new();
    let mut terraform: HashMap<&Path, Vec<&Found>> = HashMap::new();
    for file in found {
        let Some(dir) = file.path.parent() else {
            continue;
        };
        if file.kind == FileKind::Terraform {
            terraform.entry(dir).or_default().push(file);
        } else if build_commands::is_build_file(&file.path) {
            jobs.push(Job::Commands(&file.path));
        } else if file
            .path
            .file_name()
            .is_some_and(|name| sam::is_template(&name.to_string_lossy()))
        {
            jobs.push(Job::Template(&file.path));
        }
    }
    for (dir, files) in terraform {
        jobs.push(Job::Terraform(dir, files));
    }
    // Read in parallel: a sweep's walk holds thousands of Terraform files.
    let read = crate::parallel::map_ref(&jobs, PROJECTS_FOR_WORKERS, |job| {
        let mut declared = Declared::default();
        let mut kept = Vec::new();
        match job {
            Job::Template(path) => {
                if let Ok(text) = crate::fsio::read_to_string(path) {
                    declared.builds = sam::image_builds(path, &text);
                }
            }
            Job::Commands(path) => {
                if let Ok(text) = crate::fsio::read_to_string(path) {
                    declared.builds = build_commands::builds(path, &text, &|| root_of(path));
                }
            }
            Job::Terraform(dir, found) => {
                // Read as the Terraform family reads them (within the size limit), and kept
                // for it.
                let mut files: Vec<(PathBuf, String)> = Vec::new();
                for file in found {
                    let limit = config.policy_for(&file.path).policy.max_file_size;
                    let Ok(Ok(bytes)) = crate::fsio::read_within(&file.path, limit) else {
                        continue;
                    };
                    match String::from_utf8(bytes) {
                        Ok(text) => files.push((file.path.clone(), text)),
                        Err(error) => kept.push((file.path.clone(), error.into_bytes())),
                    }
                }
                for (path, text) in &files {
                    declared
                        .builds
                        .extend(build_commands::builds(path, text, &|| root_of(path)));
                }
                if files
                    .iter()
                    .any(|(_, text)| terraform_image::may_declare(text))
                {
                    let (builds, untied) = terraform_image::declared(dir, &files);
                    declared.builds.extend(builds);
                    declared.untied = untied;
                }
                kept.extend(
                    files
                        .into_iter()
                        .map(|(path, text)| (path, text.into_bytes())),
                );
            }
        }
        (declared, kept)
    });
    let mut declared = Declared::default();
    let mut bytes = HashMap::new();
    for (one, kept) in read {
        declared.builds.extend(one.builds);
        declared.untied.extend(one.untied);
        bytes.extend(kept);
    }
    (declared.sorted(), bytes)
}

/// Whether a file is Terraform state (local backend): `terraform.tfstate`, `x.tfstate`, and
/// their `.backup`s.
fn is_state_file(path: &Path) -> bool {
    path.file_name().is_some_and(|name| {
        let name = name.to_string_lossy();
        name.ends_with(".tfstate") || name.ends_with(".tfstate.backup")
    })
}

/// The files of the directories a build context may be: everything walked, and, above the
/// walk, what a walk of that directory finds (only when a Lambda needs it).
struct Contexts {
    /// Every walked file, absolute, sorted.
    walked: Vec<PathBuf>,
    /// The directories walked in this run.
    roots: Vec<PathBuf>,
    /// Listings of directories above the walk, made on demand.
    above: Mutex<HashMap<PathBuf, Arc<Vec<String>>>>,
}

impl Contexts {
    fn new(lambdas: &[Lambda], unclaimed: Vec<PathBuf>, roots: &[PathBuf]) -> Contexts {
        let mut walked = unclaimed;
        for lambda in lambdas {
            walked.extend(lambda.files.iter().map(|f| f.path.clone()));
        }
        walked.sort();
        Contexts {
            walked,
            roots: roots.to_vec(),
            above: Mutex::new(HashMap::new()),
        }
    }

    /// The build context of directory `dir`: its files less `.dockerignore`.
    fn context(&self, dir: &Path) -> BuildContext {
        let walked = self.roots.iter().any(|root| dir.starts_with(root));
        if walked {
            let start = self.walked.partition_point(|p| p.as_path() < dir);
            let files = self.walked[start..]
                .iter()
                .take_while(|p| p.starts_with(dir))
                .filter_map(|p| p.strip_prefix(dir).ok())
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .collect::<Vec<_>>();
            return BuildContext::for_dir(dir, files.iter().map(String::as_str));
        }
        let listing = {
            let mut above = lock(&self.above);
            above
                .entry(dir.to_path_buf())
                .or_insert_with(|| Arc::new(list_files(dir)))
                .clone()
        };
        BuildContext::for_dir(dir, listing.iter().map(String::as_str))
    }
}

/// Most files a directory above the walk is listed with when it may be a build context.
const MAX_CONTEXT_FILES: usize = 100_000;

/// The files below `dir` (relative, `/`-separated), walked as discovery walks.
fn list_files(dir: &Path) -> Vec<String> {
    crate::fsio::record_walk_root(dir);
    // Past the limit nothing more is entered: the walk of a vast tree stops short.
    let listed = std::sync::atomic::AtomicUsize::new(0);
    let enter = |entry: &walk::Entry| {
        walks_into(entry, || false)
            && listed.load(std::sync::atomic::Ordering::Relaxed) < MAX_CONTEXT_FILES
    };
    let keep = |entry: &walk::Entry| {
        if !entry.file_type.is_file() {
            return None;
        }
        listed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let relative = entry.path.strip_prefix(dir).ok()?;
        Some(relative.to_string_lossy().replace('\\', "/"))
    };
    let mut files = walk::walk(dir, walk::Settings::default(), &enter, &keep).found;
    files.truncate(MAX_CONTEXT_FILES);
    files
}

/// The directory a search upwards from `dir` stops at: the repository `dir` is in (the
/// directory holding `.git`), else the working directory when `dir` is below it.
pub fn repository_boundary(dir: &Path) -> Option<PathBuf> {
    git_root(dir).or_else(|| {
        static WORKING_DIRECTORY: OnceLock<Option<PathBuf>> = OnceLock::new();
        WORKING_DIRECTORY
            .get_or_init(|| {
                std::env::current_dir()
                    .ok()
                    .and_then(|cwd| std::fs::canonicalize(cwd).ok())
            })
            .clone()
            .filter(|cwd| dir.starts_with(cwd))
    })
}

/// The nearest directory at or above `dir` that holds `.git`. Every Lambda and Terraform module
/// asks, and they share their ancestors: each directory is looked at once per process (a
/// repository does not gain or lose its `.git` while it is checked).
pub fn git_root(dir: &Path) -> Option<PathBuf> {
    static SEEN: OnceLock<Mutex<HashMap<PathBuf, Option<PathBuf>>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Mutex::default);
    let mut looked_at = Vec::new();
    let mut found = None;
    for ancestor in dir.ancestors() {
        if let Some(known) = lock(seen).get(ancestor) {
            found = known.clone();
            break;
        }
        looked_at.push(ancestor);
        if crate::fsio::exists(&ancestor.join(".git")) {
            found = Some(ancestor.to_path_buf());
            break;
        }
    }
    let mut seen = lock(seen);
    for ancestor in looked_at {
        seen.insert(ancestor.to_path_buf(), found.clone());
    }
    found
}

/// Where the search for a build context above `dir` stops: the repository root, or the
/// directory of the `lambda-gate.toml` in force when that is nearer (a repository's policy sits
/// at its root).
fn context_boundary(dir: &Path, config: &Config) -> PathBuf {
    let policy_dir = match &config.source {
        Some(crate::policy::ConfigSource::LambdaGateToml(file)) => file.parent(),
        _ => None,
    };
    let repository = repository_boundary(dir);
    [policy_dir.map(Path::to_path_buf), repository]
        .into_iter()
        .flatten()
        .filter(|boundary| dir.starts_with(boundary))
        .max_by_key(|boundary| boundary.components().count())
        .unwrap_or_else(|| dir.to_path_buf())
}

/// The boundary of the search for a context, for a message: `` the repository's root, `../..` ``
/// or `` the `lambda-gate.toml`'s directory, `..` ``, relative to `dir`.
fn boundary_text(dir: &Path, config: &Config, boundary: &Path) -> String {
    let policy_dir = match &config.source {
        Some(crate::policy::ConfigSource::LambdaGateToml(file)) => file.parent(),
        _ => None,
    };
    let what = if policy_dir == Some(boundary) {
        "the `lambda-gate.toml`'s directory"
    } else {
        "the repository's root"
    };
    match path_from(dir, boundary).as_str() {
        "" => format!("{what}, itself"),
        up => format!("{what}, `{up}`"),
    }
}

/// Decides, for each Lambda image of a project, the build context it is built from, its
/// handler and the module file that handler runs. The context is the one a deploying template
/// or module names, else one a build command names, else the project's own directory, else
/// the nearest directory above it in which every COPY source exists. Without `contexts` only
/// the project's own directory is tried, and the answer says whether an image needs another.
fn locate_code(lambda: &mut Lambda, declared: &Declared, contexts: Option<&Contexts>) -> bool {
    let Lambda {
        dir,
        config,
        files,
        build_context,
        images,
        ..
    } = lambda;
    let own = project_context(build_context, dir, files);
    let mut elsewhere = false;
    for image in images.iter_mut() {
        if !image.kind.is_lambda() {
            continue;
        }
        let Some(Ok(dockerfile)) = image.parsed.get() else {
            continue;
        };
        let path = &files[image.file].path;
        let policy = config.policy_for(path);
        let handler = match declared.handler_of(path) {
            Some(set) => Some(Handler {
                text: set.text.clone(),
                origin: HandlerOrigin::Deployment {
                    key: set.key,
                    file: set.file.clone(),
                    line: set.line,
                },
            }),
            None => crate::rules::dockerfile::handler(dockerfile)
                .ok()
                .map(|word| Handler {
                    text: word.text.clone(),
                    origin: HandlerOrigin::Cmd,
                }),
        };
        let boundary = context_boundary(dir, config);
        let untied = match handler {
            None => declared.untied_in(&boundary).next().cloned(),
            Some(_) => None,
        };
        let resolve = |context: &BuildContext, tried: &str| {
            let (mut code, files) = LambdaCode::resolve(
                dockerfile,
                &image.kind,
                &policy,
                context,
                handler.clone(),
                tried,
            );
            if let Some(untied) = &untied {
                code.status = CodeStatus::Unlocated {
                    why: format!(
                        "it sets no handler, and `{}` in {}:{} sets `{}` for an image function the gate could not tie to a Dockerfile ({})",
                        untied.handler.key,
                        path_from(dir, &untied.handler.file),
                        untied.handler.line,
                        untied.handler.text,
                        untied.why
                    ),
                    said_by: None,
                };
                code.untied = Some(untied.clone());
            }
            (code, files)
        };
        // Whether every COPY source is in the context: else another context is tried.
        let complete = |files: &ImageFiles| files.missing_sources.is_empty();
        // The contexts the files that build the image name, the deploying one first.
        let named: Vec<&DeclaredBuild> = {
            let builds: Vec<&DeclaredBuild> = declared.builds_of(path).collect();
            match builds.iter().position(|b| b.by != Declarer::BuildCommand) {
                Some(deploying) => vec![builds[deploying]],
                None => builds,
            }
        };
        if !named.is_empty() && named.iter().all(|build| build.context == *dir) {
            let (code, files) = resolve(own, &tried_named(dir, &named));
            image.located(code, files, None);
            continue;
        }
        if !named.is_empty() {
            let Some(contexts) = contexts else {
                elsewhere = true;
                continue;
            };
            let tried = tried_named(dir, &named);
            let mut attempts = named.iter().map(|build| {
                let context = contexts.context(&build.context);
                let (code, files) = resolve(&context, &tried);
                (context, code, files)
            });
            let first = attempts.next();
            let chosen = match first {
                Some((context, code, files)) if !complete(&files) => attempts
                    .find(|(_, _, files)| complete(files))
                    .or(Some((context, code, files))),
                other => other,
            };
            if let Some((context, code, files)) = chosen {
                image.located(code, files, Some(context));
            }
            continue;
        }
        let tried = format!(
            "the Dockerfile's directory and each one above it up to {}",
            boundary_text(dir, config, &boundary)
        );
        let (code, files) = resolve(own, &tried);
        if complete(&files) {
            image.located(code, files, None);
            continue;
        }
        let Some(contexts) = contexts else {
            image.located(code, files, None);
            elsewhere = true;
            continue;
        };
        // Built from a directory above (`docker build -f docker/Dockerfile .`): the nearest one,
        // up to the repository root or the `lambda-gate.toml`, in which every COPY source
        // exists.
        let found = dir
            .ancestors()
            .skip(1)
            .take_while(|ancestor| ancestor.starts_with(&boundary))
            .find_map(|ancestor| {
                let context = contexts.context(ancestor);
                let (code, files) = resolve(&context, &tried);
                complete(&files).then_some((context, code, files))
            });
        match found {
            Some((context, code, files)) => image.located(code, files, Some(context)),
            None => image.located(code, files, None),
        }
    }
    elsewhere
}

/// The contexts named for an image, for a message: `` `..`, named by the `docker build` in
/// ../Makefile:4 `` (paths relative to the Dockerfile's directory).
fn tried_named(dir: &Path, named: &[&DeclaredBuild]) -> String {
    named
        .iter()
        .map(|build| {
            let context = match path_from(dir, &build.context).as_str() {
                "" => ".".to_string(),
                other => other.to_string(),
            };
            let by = match build.by {
                Declarer::SamTemplate => "`DockerContext`",
                Declarer::Terraform => "the Terraform image build",
                Declarer::BuildCommand => "the `docker build`",
            };
            format!(
                "`{context}`, named by {by} in {}:{}",
                path_from(dir, &build.file),
                build.line
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A project with its Dockerfiles read, parsed and classified, the image Lambda runs first.
fn project(dir: PathBuf, config: Arc<Config>, files: Vec<LambdaFile>) -> Lambda {
    let mut images: Vec<Image> = files
        .iter()
        .enumerate()
        .filter(|(_, file)| file.kind == FileKind::Dockerfile && !file.relative.contains('/'))
        .map(|(index, file)| {
            let policy = config.policy_for(&file.path);
            let text = crate::engine::read_text(file, &policy).map(Arc::<str>::from);
            let parsed = text.as_deref().ok().map(parser::parse);
            let marked = config.is_lambda_image(&file.path);
            let variant = kind::variant_of(&file.relative);
            let kind = match &parsed {
                Some(Ok(dockerfile)) => kind::classify(dockerfile, &policy, marked, variant),
                // What cannot be read or parsed is reported as such, and judged as the Lambda
                // its name says it is.
                _ => match variant.filter(|_| !marked) {
                    Some(variant) => ImageKind::Variant(variant.into()),
                    None => ImageKind::Lambda("its Dockerfile could not be read".into()),
                },
            };
            let base_python = match &parsed {
                Some(Ok(dockerfile)) => crate::rules::dockerfile::base_python_version(dockerfile),
                _ => None,
            };
            Image::new(index, text, parsed, kind, base_python)
        })
        .collect();
    // The image Lambda runs first: a Lambda image before the others, then `Dockerfile`,
    // `Containerfile`, then by name.
    images.sort_by_key(|image| {
        let name = files[image.file].relative.to_ascii_lowercase();
        let rank = match name.as_str() {
            "dockerfile" => 0,
            "containerfile" => 1,
            _ => 2,
        };
        (!image.kind.is_lambda(), rank, name)
    });
    // Collected with room for every file of the project: a large run holds each project.
    images.shrink_to_fit();
    Lambda {
        dir,
        config,
        files,
        build_context: OnceLock::new(),
        images,
        has_nested: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_files_lambda_is_looked_for_inside_its_repository_only() {
        let names = DockerfileNames::new(&crate::policy::default_policy().dockerfile.names)
            .expect("the default names compile");
        let outside = tempfile::tempdir().expect("tempdir");
        let outside = std::fs::canonicalize(outside.path()).expect("canonical");
        std::fs::write(outside.join("scratch.Dockerfile"), "FROM x\n").expect("write");
        let repository = outside.join("repo");
        std::fs::create_dir_all(repository.join(".git")).expect("mkdir");
        std::fs::create_dir_all(repository.join("fn/app")).expect("mkdir");
        std::fs::write(repository.join("fn/Dockerfile"), "FROM x\n").expect("write");
        std::fs::write(repository.join("README.md"), "").expect("write");
        assert_eq!(project_dir_of(&repository.join("README.md"), &names), None);
        assert_eq!(
            project_dir_of(&repository.join("fn/app/handler.py"), &names),
            Some(repository.join("fn"))
        );
        // The repository's own top-level Dockerfile is still found.
        std::fs::write(repository.join("Dockerfile"), "FROM x\n").expect("write");
        assert_eq!(
            project_dir_of(&repository.join("README.md"), &names),
            Some(repository.clone())
        );
    }

    #[test]
    fn the_default_names_find_renamed_dockerfiles_and_not_files_named_after_them() {
        let names = DockerfileNames::new(&crate::policy::default_policy().dockerfile.names)
            .expect("the default names compile");
        for dockerfile in [
            "Dockerfile",
            "dockerfile",
            "Containerfile",
            "Dockerfile.lambda",
            "Dockerfile.aws.lambda",
            "Dockerfile-lambda",
            "Dockerfile_lambda",
            "lambda.Dockerfile",
            "api.dockerfile",
            "Dockerfile.test",
        ] {
            assert!(names.is_match(dockerfile), "{dockerfile}");
        }
        for other in [
            "dockerfile.rs",
            "dockerfile.py",
            "Dockerfile.md",
            "Dockerfile.j2",
            "Dockerfile.orig",
            "Dockerfile.template",
            ".dockerignore",
            "Dockerfiles",
        ] {
            assert!(!names.is_match(other), "{other}");
        }
    }

    #[test]
    fn exclusions_alone_name_nothing() {
        let names = DockerfileNames::new(&["!*.rs".to_string()]).expect("compiles");
        assert!(!names.is_match("Dockerfile"));
    }
}
