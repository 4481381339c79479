//! The gate: discover, read each file once, run the rules in parallel, apply suppressions,
//! and collect diagnostics in a stable order. (Dockerfiles are parsed twice: by discovery, which
//! drops the parse once a project is classified, and by their family: see `Image::parse`.)

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use crate::diagnostic::{Diagnostic, Severity};
use crate::discover::{discover, project_dir_of, WalkOptions};
use crate::engine::{whole_file, whole_file_if_on, FileOutcome, RunOptions, Session, Unit};
use crate::policy::{self, Config};
use crate::rules::registry;
use crate::units::{FileKind, Lambda, LambdaFile, TerraformModule, Workspace};

/// What to check and how.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    pub paths: Vec<PathBuf>,
    /// `--config FILE`: use this configuration for every path.
    pub config: Option<PathBuf>,
    /// `--isolated`: the embedded default policy only.
    pub isolated: bool,
    pub walk: WalkOptions,
    /// `--diff-base REF`: diff coverage of the lines changed since REF.
    pub diff_base: Option<String>,
    /// `--files`: the paths are changed files; those outside any Lambda, or gone, are skipped.
    pub changed_files: bool,
    /// Show paths relative to this directory (default: the working directory). A sweep
    /// shows them relative to each repository.
    pub display_base: Option<PathBuf>,
    /// Where results are kept between runs ([`crate::cache::check`]); off by default.
    pub cache: crate::cache::Cache,
}

/// The outcome of a check.
#[derive(Debug, Default)]
pub struct CheckResult {
    /// Sorted by path, position and rule.
    pub diagnostics: Vec<Diagnostic>,
    /// The text of every file that has a diagnostic, for rendering snippets.
    pub sources: BTreeMap<PathBuf, Arc<str>>,
    pub files_checked: usize,
    /// Every Lambda's directory, shown as diagnostics' paths are, sorted.
    pub lambda_dirs: Vec<PathBuf>,
    /// Every Lambda image (its Dockerfile, shown) and how much of its code was read.
    pub lambda_images: Vec<(PathBuf, Checked)>,
    pub elapsed: Duration,
    /// The result is a stored one: nothing the run would read changed since it was computed.
    pub from_cache: bool,
    /// What the cache did and why, for `--verbose`.
    pub cache_note: Option<String>,
}

/// How much of a Lambda the gate read.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Checked {
    /// The module Lambda runs was located and read, with the rest of the Lambda.
    Fully,
    /// Part of its code could not be followed (LG007 says which, as a note).
    Partly,
    /// None of its Python code could be located (LG007, DKR006 or DKR007 says why).
    NotChecked,
    /// Lambda runs it, but it is not a Python function: only DKR001, DKR008 and DKR011 apply.
    NotPython,
}

impl Checked {
    /// How much of `image`'s code is read.
    pub fn of(image: &crate::units::Image) -> Checked {
        use crate::rules::dockerfile::code::CodeStatus;
        if matches!(
            image.kind,
            crate::rules::dockerfile::kind::ImageKind::NotPython(_)
        ) {
            return Checked::NotPython;
        }
        match image.code.as_ref().map(|code| &code.status) {
            Some(CodeStatus::Located) => Checked::Fully,
            Some(CodeStatus::Partly(_)) => Checked::Partly,
            Some(CodeStatus::Unlocated { .. }) | None => Checked::NotChecked,
        }
    }

    /// How much of a directory's Lambdas was read: the least of its images (a Lambda of which
    /// nothing was read makes the directory not checked, whatever its neighbours are), and not
    /// checked for a directory with no image at all.
    pub fn least<I: IntoIterator<Item = Checked>>(images: I) -> Checked {
        images
            .into_iter()
            .max_by_key(|checked| match checked {
                Checked::NotPython => 0,
                Checked::Fully => 1,
                Checked::Partly => 2,
                Checked::NotChecked => 3,
            })
            .unwrap_or(Checked::NotChecked)
    }
}

impl CheckResult {
    /// A check of absolute paths split by the directory of `dirs` each path lies below (the
    /// closest, where directories nest), with paths relative to it: a sweep checks many
    /// repositories in one workspace and reports each on its own. `files_checked[i]`:
    /// [`files_read_below`] for `dirs[i]`, counted before the workspace was checked. One pass
    /// over the result, whatever the number of directories.
    pub fn split_below(&self, dirs: &[&Path], files_checked: &[usize]) -> Vec<CheckResult> {
        let index = DirIndex::new(dirs);
        let mut parts: Vec<CheckResult> = files_checked
            .iter()
            .map(|files| CheckResult {
                files_checked: *files,
                elapsed: self.elapsed,
                from_cache: self.from_cache,
                ..CheckResult::default()
            })
            .collect();
        for d in &self.diagnostics {
            if let Some((owner, path)) = index.relative(&d.path) {
                parts[owner]
                    .diagnostics
                    .push(Diagnostic { path, ..d.clone() });
            }
        }
        for (path, text) in &self.sources {
            if let Some((owner, path)) = index.relative(path) {
                parts[owner].sources.insert(path, text.clone());
            }
        }
        for dir in &self.lambda_dirs {
            if let Some((owner, path)) = index.relative(dir) {
                parts[owner].lambda_dirs.push(path);
            }
        }
        for (path, checked) in &self.lambda_images {
            if let Some((owner, path)) = index.relative(path) {
                parts[owner].lambda_images.push((path, *checked));
            }
        }
        parts
    }

    /// How many Lambdas there are: each image Lambda runs is one.
    pub fn lambdas(&self) -> usize {
        self.lambda_images.len()
    }

    /// How many Lambdas were checked to `extent`.
    pub fn lambdas_checked(&self, extent: Checked) -> usize {
        self.lambda_images
            .iter()
            .filter(|(_, checked)| *checked == extent)
            .count()
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }

    /// Whether the gate passes: no diagnostic at error severity.
    pub fn passed(&self) -> bool {
        self.count(Severity::Error) == 0
    }
}

/// How many files the gate reads in the units below each of `dirs` (the closest, where
/// directories nest; see [`CheckResult::split_below`]).
pub fn files_read_below(workspace: &Workspace, dirs: &[&Path]) -> Vec<usize> {
    let index = DirIndex::new(dirs);
    let mut counts = vec![0; dirs.len()];
    for lambda in &workspace.lambdas {
        if let Some(owner) = index.owner(&lambda.dir) {
            counts[owner] += files_read_of_lambda(lambda);
        }
    }
    for module in &workspace.terraform_modules {
        if let Some(owner) = index.owner(&module.dir) {
            counts[owner] += module.files.len();
        }
    }
    counts
}

/// Directories sorted, to find the one a path lies below by binary search.
struct DirIndex<'a> {
    /// (directory, its index in the caller's list), sorted by directory.
    sorted: Vec<(&'a Path, usize)>,
}

impl<'a> DirIndex<'a> {
    fn new(dirs: &[&'a Path]) -> DirIndex<'a> {
        let mut sorted: Vec<(&Path, usize)> = dirs.iter().copied().zip(0..).collect();
        sorted.sort();
        DirIndex { sorted }
    }

    /// The closest directory `path` lies below (or is): paths order by component, so it is the
    /// greatest directory not after `path`, or one of its ancestors before that.
    fn closest(&self, path: &Path) -> Option<(&'a Path, usize)> {
        let end = self.sorted.partition_point(|(dir, _)| *dir <= path);
        self.sorted[..end]
            .iter()
            .rev()
            .find(|(dir, _)| path.starts_with(dir))
            .copied()
    }

    /// The index of the closest directory `path` lies below.
    fn owner(&self, path: &Path) -> Option<usize> {
        self.closest(path).map(|(_, index)| index)
    }

    /// The owner of `path` and `path` relative to it (`.` for the directory itself).
    fn relative(&self, path: &Path) -> Option<(usize, PathBuf)> {
        let (dir, owner) = self.closest(path)?;
        let rest = path.strip_prefix(dir).ok()?;
        Some((
            owner,
            if rest.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                rest.to_path_buf()
            },
        ))
    }
}

/// How many files the gate reads in a workspace: each project's Dockerfiles and Python
/// modules, and each Terraform module's files (once, wherever they lie).
fn files_checked(workspace: &Workspace) -> usize {
    workspace
        .lambdas
        .iter()
        .map(files_read_of_lambda)
        .sum::<usize>()
        + workspace
            .terraform_modules
            .iter()
            .map(|module| module.files.len())
            .sum::<usize>()
}

/// The files the gate reads of one project: its Dockerfiles and Python modules, and a located
/// module outside its directory (the build context lies above).
fn files_read_of_lambda(lambda: &crate::units::Lambda) -> usize {
    let read = |file: &&LambdaFile| matches!(file.kind, FileKind::Dockerfile | FileKind::Python);
    let mut outside: Vec<&Path> = lambda
        .images
        .iter()
        .filter_map(|image| image.code.as_ref()?.module.as_ref())
        .map(|(path, _)| path.as_path())
        .filter(|path| !path.starts_with(&lambda.dir))
        .collect();
    outside.sort();
    outside.dedup();
    lambda.files.iter().filter(read).count() + outside.len()
}

/// Resolves the paths, loads their configurations and walks them.
pub fn discover_workspace(options: &CheckOptions) -> anyhow::Result<Workspace> {
    let mut workspace = Workspace::default();
    // Configurations by the directory they were looked up from, and by where they came from:
    // each is read once however many paths (pre-commit hands over many files) share it.
    let mut by_dir: HashMap<PathBuf, Arc<Config>> = HashMap::new();
    let mut by_source: BTreeMap<PathBuf, Arc<Config>> = BTreeMap::new();
    let mut load = |dir: &Path| -> anyhow::Result<Arc<Config>> {
        if let Some(config) = by_dir.get(dir) {
            return Ok(config.clone());
        }
        let config = policy::load(dir, options.config.as_deref(), options.isolated)?;
        let key = config
            .source
            .as_ref()
            .map_or_else(|| config.root.clone(), |s| s.path().to_path_buf());
        let config = by_source
            .entry(key)
            .or_insert_with(|| Arc::new(config))
            .clone();
        by_dir.insert(dir.to_path_buf(), config.clone());
        Ok(config)
    };
    let paths = if options.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        options.paths.clone()
    };
    let mut roots: Vec<PathBuf> = Vec::new();
    for path in &paths {
        let metadata = match crate::fsio::metadata(path) {
            Ok(metadata) => metadata,
            Err(_) if options.changed_files => continue,
            Err(error) => {
                return Err(error).with_context(|| format!("cannot check `{}`", path.display()))
            }
        };
        let absolute = std::fs::canonicalize(path)
            .with_context(|| format!("cannot resolve `{}`", path.display()))?;
        // A file stands for the whole Lambda it belongs to: cross-file rules need all of it.
        let root = if metadata.is_file() {
            let parent = absolute.parent().unwrap_or(&absolute);
            let names = load(parent)?.dockerfile_names();
            let is_terraform = absolute.file_name().is_some_and(|name| {
                FileKind::with_names(&name.to_string_lossy(), &names) == FileKind::Terraform
            });
            match project_dir_of(&absolute, &names) {
                Some(dir) => dir,
                // Shared Terraform: its directory is the Terraform module it belongs to.
                None if is_terraform => parent.to_path_buf(),
                None if options.changed_files => continue,
                None => absolute.clone(),
            }
        } else if metadata.is_dir() {
            absolute
        } else {
            bail!("`{}` is neither a file nor a directory", path.display());
        };
        if !roots.contains(&root) {
            roots.push(root);
        }
    }
    // A pre-commit run walks each changed Lambda on its own, most of them small: a parallel
    // walker per Lambda would spawn threads for each, and its idle worker sleeps a
    // millisecond before the walk can end. Unless asked for threads, one walks them.
    let walk = match options.walk {
        walk if options.changed_files && walk.threads == 0 => WalkOptions { threads: 1, ..walk },
        walk => walk,
    };
    for root in roots {
        let config = load(&root)?;
        if crate::fsio::is_dir(&root) {
            discover(&root, config.clone(), walk, &mut workspace);
            let holds_something = workspace.lambdas.iter().any(|l| l.dir.starts_with(&root))
                || workspace
                    .terraform_modules
                    .iter()
                    .any(|m| m.dir.starts_with(&root));
            if !holds_something && !options.changed_files {
                workspace.empty_paths.push((root, config));
            }
        }
    }
    workspace.settle();
    Ok(workspace)
}

/// Runs the gate over `options.paths`.
pub fn check(options: &CheckOptions) -> anyhow::Result<CheckResult> {
    let started = Instant::now();
    let mut cache = crate::cache::check::CheckCache::for_run(options);
    let mut note = None;
    if let Some(cache) = &mut cache {
        match cache.lookup() {
            Ok(mut result) => {
                result.elapsed = started.elapsed();
                result.cache_note = Some("cache: nothing changed since the stored run".into());
                return Ok(result);
            }
            Err(miss) => note = Some(format!("cache: not used: {miss}")),
        }
        cache.record();
    }
    let mut result = check_uncached(options)?;
    if let Some(cache) = cache {
        let stored = match cache.store(&result) {
            Ok(()) => "result stored".to_string(),
            Err(why) => format!("result not stored: {why}"),
        };
        result.cache_note = note.map(|note| format!("{note}; {stored}"));
    }
    result.elapsed = started.elapsed();
    Ok(result)
}

/// A unit the check owns, dropped as soon as its families are done with it.
enum OwnedUnit {
    Lambda(Lambda),
    TerraformModule(TerraformModule),
}

impl OwnedUnit {
    fn as_unit(&self) -> Unit<'_> {
        match self {
            OwnedUnit::Lambda(lambda) => Unit::Lambda(lambda),
            OwnedUnit::TerraformModule(module) => Unit::TerraformModule(module),
        }
    }
}

fn check_uncached(options: &CheckOptions) -> anyhow::Result<CheckResult> {
    // One pass: each file several families read is read once. A second check (after
    // `--fix` wrote files) is a pass of its own and reads again.
    let _pass = crate::fsio::Pass::start();
    let workspace = discover_workspace(options)?;
    let base = match &options.display_base {
        Some(base) => Some(base.clone()),
        None => std::env::current_dir().ok(),
    };
    let run = RunOptions {
        diff_base: options.diff_base.as_deref(),
    };
    check_workspace(workspace, run, base.as_deref(), options.changed_files)
}

/// Checks every unit of `workspace` in parallel, each with every family the registry lists,
/// and frees each unit once its families are done with it (a large run never holds every
/// unit beside every result). Paths are shown relative to `base` (where the check runs from)
/// when they lie below it. `pre_commit`: the run checks a commit's files, so the policy's
/// `[pre-commit]` levels apply. Fails only when a family cannot prepare the run
/// (`--diff-base` naming no commit).
pub fn check_workspace(
    workspace: Workspace,
    run: RunOptions<'_>,
    base: Option<&Path>,
    pre_commit: bool,
) -> anyhow::Result<CheckResult> {
    let display = |path: &Path| -> PathBuf { crate::report::shown_below(path, base) };
    let session = Session {
        display: &display,
        cwd: base,
        pre_commit,
        states: registry::prepare(&workspace, run)?,
    };
    let mut result = CheckResult {
        files_checked: files_checked(&workspace),
        lambda_dirs: workspace
            .lambdas
            .iter()
            .filter(|l| l.is_lambda())
            .map(|l| display(&l.dir))
            .collect(),
        lambda_images: workspace
            .lambdas
            .iter()
            .flat_map(|lambda| {
                lambda
                    .lambda_images()
                    .map(|image| (display(&lambda.files[image.file].path), Checked::of(image)))
            })
            .collect(),
        ..CheckResult::default()
    };
    let Workspace {
        lambdas,
        terraform_modules,
        problems,
        empty_paths,
        ..
    } = workspace;
    let check_unit = |unit: Unit<'_>| -> Vec<FileOutcome> {
        registry::families()
            .iter()
            .flat_map(|family| (family.check)(unit, &session))
            .collect()
    };
    let units: Vec<OwnedUnit> = (lambdas.into_iter().map(OwnedUnit::Lambda))
        .chain(
            terraform_modules
                .into_iter()
                .map(OwnedUnit::TerraformModule),
        )
        .collect();
    // A unit's check takes about a millisecond, as long as starting the workers: a pre-commit
    // run's Lambda and its Terraform module are checked sooner here.
    let outcomes = crate::parallel::map(units, 4, |unit| check_unit(unit.as_unit()));
    for outcome in outcomes.into_iter().flatten() {
        if let Some(source) = outcome.source {
            result.sources.insert(outcome.path, source);
        }
        result.diagnostics.extend(outcome.diagnostics);
    }
    for problem in &problems {
        let (rule, message) = match &problem.loop_target {
            Some(target) => (
                &crate::rules::core::lg004_symlink_loop::RULE,
                format!(
                    "symbolic link loop: this link leads back to `{}`, which is already being walked",
                    display(target).display()
                ),
            ),
            None => (
                &crate::rules::core::lg003_unreadable_file::RULE,
                format!("cannot walk this path: {}", problem.message),
            ),
        };
        let policy = problem.config.policy_for(&problem.path);
        if let Some(severity) = policy.policy.level(rule.id).severity() {
            let mut diagnostic = whole_file(rule, severity, display(&problem.path), message, None);
            // A link is reported where it is; a directory that cannot be walked has no file.
            diagnostic.about_directory =
                problem.loop_target.is_none() && crate::fsio::is_dir(&problem.path);
            result.diagnostics.push(diagnostic);
        }
    }
    for (path, config) in &empty_paths {
        let rule = &crate::rules::core::lg006_nothing_to_check::RULE;
        let policy = config.policy_for(path);
        let names: Vec<&str> = (policy.policy.dockerfile.names.iter())
            .filter(|name| !name.starts_with('!'))
            .map(String::as_str)
            .collect();
        let names = names.join(", ");
        let about_directory = crate::fsio::is_dir(path);
        result.diagnostics.extend(
            whole_file_if_on(
                rule,
                &policy,
                display(path),
                format!(
                    "nothing to check under `{}`: no Dockerfile (names: {names}) and no Terraform file",
                    display(path).display()
                ),
                Some("check the path; a Dockerfile under another name is found once `dockerfile.names` in the policy lists it".into()),
            )
            .into_iter()
            .map(|d| Diagnostic { about_directory, ..d }),
        );
    }
    result.diagnostics.sort_by(|a, b| {
        (&a.path, a.start, a.rule, &a.message).cmp(&(&b.path, b.start, b.rule, &b.message))
    });
    // A configuration shared by several Lambdas is judged once per Lambda.
    result.diagnostics.dedup_by(|a, b| {
        a.path == b.path && a.span == b.span && a.rule == b.rule && a.message == b.message
    });
    Ok(result)
}
