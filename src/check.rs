//! The gate: discover, parse each file once, run the rules in parallel, apply suppressions,
//! and collect diagnostics in a stable order.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use rayon::prelude::*;

use crate::build_context::BuildContext;
use crate::diagnostic::{Diagnostic, Finding, LineIndex, Severity};
use crate::discover::{
    discover, lambda_dir_of, FileKind, Lambda, LambdaFile, WalkOptions, Workspace,
};
use crate::policy::{self, Config, EffectivePolicy, Level};
use crate::rules::coverage;
use crate::rules::dockerfile::{self, parser};
use crate::rules::{mypy, python};
use crate::rules::{registry, Check, Rule};
use crate::suppression::{self, CommentStyle};

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
    pub elapsed: Duration,
}

impl CheckResult {
    /// The part of a check of absolute paths that lies below `dir`, with paths relative to it:
    /// a sweep checks many repositories in one workspace and reports each on its own.
    pub fn below(&self, dir: &Path, workspace: &Workspace) -> CheckResult {
        let relative = |path: &Path| -> Option<PathBuf> {
            let rest = path.strip_prefix(dir).ok()?;
            Some(if rest.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                rest.to_path_buf()
            })
        };
        let diagnostics: Vec<Diagnostic> = self
            .diagnostics
            .iter()
            .filter_map(|d| {
                let path = relative(&d.path)?;
                Some(Diagnostic { path, ..d.clone() })
            })
            .collect();
        let sources = self
            .sources
            .iter()
            .filter_map(|(path, text)| Some((relative(path)?, text.clone())))
            .collect();
        let lambda_dirs: Vec<PathBuf> = self
            .lambda_dirs
            .iter()
            .filter_map(|d| relative(d))
            .collect();
        let in_dir = |path: &Path| path.starts_with(dir);
        let read = |file: &LambdaFile| file.kind != FileKind::Other;
        let mut shared: Vec<&Path> = workspace
            .shared_terraform
            .iter()
            .flat_map(|tree| tree.files.iter())
            .filter(|file| in_dir(&file.path))
            .map(|file| file.path.as_path())
            .collect();
        shared.sort_unstable();
        shared.dedup();
        let files_checked = workspace
            .lambdas
            .iter()
            .filter(|lambda| in_dir(&lambda.dir))
            .map(|lambda| lambda.files.iter().filter(|f| read(f)).count())
            .sum::<usize>()
            + shared.len();
        CheckResult {
            diagnostics,
            sources,
            files_checked,
            lambda_dirs,
            elapsed: self.elapsed,
        }
    }

    /// How many Lambdas were checked.
    pub fn lambdas(&self) -> usize {
        self.lambda_dirs.len()
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

/// One checked file's outcome.
struct FileOutcome {
    diagnostics: Vec<Diagnostic>,
    source: Option<Arc<str>>,
}

/// Resolves the paths, loads their configurations and walks them.
pub fn discover_workspace(options: &CheckOptions) -> anyhow::Result<Workspace> {
    let mut workspace = Workspace::default();
    let mut configs: BTreeMap<PathBuf, Arc<Config>> = BTreeMap::new();
    let paths = if options.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        options.paths.clone()
    };
    let mut roots: Vec<PathBuf> = Vec::new();
    for path in &paths {
        let metadata = match std::fs::metadata(path) {
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
            let is_terraform = absolute
                .file_name()
                .is_some_and(|name| FileKind::of(&name.to_string_lossy()) == FileKind::Terraform);
            match lambda_dir_of(&absolute) {
                Some(dir) => dir,
                // Shared Terraform: its directory is the Terraform module it belongs to.
                None if is_terraform => absolute.parent().unwrap_or(&absolute).to_path_buf(),
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
    for root in roots {
        let config = policy::load(&root, options.config.as_deref(), options.isolated)?;
        let key = config
            .source
            .as_ref()
            .map_or_else(|| config.root.clone(), |s| s.path().to_path_buf());
        let config = configs
            .entry(key)
            .or_insert_with(|| Arc::new(config))
            .clone();
        if root.is_dir() {
            discover(&root, config, options.walk, &mut workspace);
        }
    }
    // Overlapping paths (`check . app`) must not check a Lambda twice.
    workspace.lambdas.sort_by(|a, b| a.dir.cmp(&b.dir));
    workspace.lambdas.dedup_by(|a, b| a.dir == b.dir);
    Ok(workspace)
}

/// Runs the gate over `options.paths`.
pub fn check(options: &CheckOptions) -> anyhow::Result<CheckResult> {
    let started = Instant::now();
    let workspace = discover_workspace(options)?;
    let diffs = match &options.diff_base {
        Some(base) => workspace
            .lambdas
            .iter()
            .map(|lambda| coverage::diff::changed_lines(&lambda.dir, base))
            .collect::<anyhow::Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    let diff = options
        .diff_base
        .as_deref()
        .map(|base| (base, diffs.as_slice()));
    let base = match &options.display_base {
        Some(base) => Some(base.clone()),
        None => std::env::current_dir().ok(),
    };
    let mut result = check_workspace(&workspace, diff, base.as_deref());
    result.elapsed = started.elapsed();
    Ok(result)
}

/// Added lines per Lambda (in `workspace.lambdas` order) since a base ref.
pub type Diffs<'a> = Option<(&'a str, &'a [HashMap<String, Vec<u32>>])>;

/// Checks every file of every Lambda in `workspace`, in parallel, then each Lambda as a whole.
/// Paths are shown relative to `base` (where the check runs from) when they lie below it.
pub fn check_workspace(workspace: &Workspace, diff: Diffs<'_>, base: Option<&Path>) -> CheckResult {
    let display = |path: &Path| -> PathBuf {
        match base.and_then(|base| path.strip_prefix(base).ok()) {
            Some(relative) if relative.as_os_str().is_empty() => PathBuf::from("."),
            Some(relative) => relative.to_path_buf(),
            None => path.to_path_buf(),
        }
    };
    let work: Vec<(&Lambda, &LambdaFile)> = workspace
        .lambdas
        .iter()
        .flat_map(|lambda| {
            lambda
                .files
                .iter()
                .filter(|file| file.kind == FileKind::Dockerfile)
                .map(move |file| (lambda, file))
        })
        .collect();
    let outcomes: Vec<(PathBuf, FileOutcome)> = work
        .par_iter()
        .map(|(lambda, file)| {
            let shown = display(&file.path);
            let outcome = check_file(lambda, file, &shown);
            (shown, outcome)
        })
        .collect();

    let mut result = CheckResult {
        files_checked: work.len(),
        lambda_dirs: workspace.lambdas.iter().map(|l| display(&l.dir)).collect(),
        ..CheckResult::default()
    };
    for (path, outcome) in outcomes {
        if let Some(source) = outcome.source {
            result.sources.insert(path, source);
        }
        result.diagnostics.extend(outcome.diagnostics);
    }
    let configs = mypy::ConfigCache::default();
    let lambda_outcomes: Vec<(PathBuf, FileOutcome)> = workspace
        .lambdas
        .par_iter()
        .enumerate()
        .flat_map_iter(|(index, lambda)| {
            let diff = diff.and_then(|(base, all)| all.get(index).map(|lines| (base, lines)));
            let mut outcomes = check_mypy(lambda, &configs, &display);
            // A configuration inside this Lambda is read by no other one, unless a Lambda is
            // nested below it: then it stays cached for that one. Lambdas are sorted by
            // directory, so a nested one comes right after.
            let nested = workspace
                .lambdas
                .get(index + 1)
                .is_some_and(|next| next.dir.starts_with(&lambda.dir));
            if !nested {
                configs.evict_below(&lambda.dir);
            }
            outcomes.extend(check_python(lambda, &display));
            let terraform: Vec<&LambdaFile> = lambda
                .files
                .iter()
                .filter(|f| f.kind == FileKind::Terraform)
                .collect();
            outcomes.extend(check_terraform(
                &lambda.config,
                terraform,
                &lambda.dir,
                base,
                &display,
            ));
            outcomes.push((
                PathBuf::new(),
                FileOutcome {
                    diagnostics: check_lambda(lambda, diff, &display),
                    source: None,
                },
            ));
            outcomes
        })
        .collect();
    result.files_checked += workspace
        .lambdas
        .iter()
        .map(|l| {
            l.files
                .iter()
                .filter(|f| matches!(f.kind, FileKind::Python | FileKind::Terraform))
                .count()
        })
        .sum::<usize>();
    // Shared Terraform (outside every Lambda), each file once even if paths overlapped.
    let mut shared: Vec<(&Arc<Config>, &LambdaFile)> = workspace
        .shared_terraform
        .iter()
        .flat_map(|tree| tree.files.iter().map(move |file| (&tree.config, file)))
        .collect();
    shared.sort_by(|a, b| a.1.path.cmp(&b.1.path));
    shared.dedup_by(|a, b| a.1.path == b.1.path);
    result.files_checked += shared.len();
    let shared_outcomes: Vec<(PathBuf, FileOutcome)> = shared
        .chunk_by(|a, b| a.1.path.parent() == b.1.path.parent())
        .collect::<Vec<_>>()
        .par_iter()
        .flat_map_iter(|group| {
            let (config, first) = group[0];
            let dir = first.path.parent().unwrap_or(Path::new("/"));
            let files: Vec<&LambdaFile> = group.iter().map(|(_, f)| *f).collect();
            check_terraform(config, files, dir, base, &display)
        })
        .collect();
    for (path, outcome) in lambda_outcomes.into_iter().chain(shared_outcomes) {
        if let Some(source) = outcome.source {
            result.sources.insert(path, source);
        }
        result.diagnostics.extend(outcome.diagnostics);
    }
    for problem in &workspace.problems {
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
            result.diagnostics.push(whole_file(
                rule,
                severity,
                display(&problem.path),
                message,
                None,
            ));
        }
    }
    result.diagnostics.sort_by(|a, b| {
        (&a.path, a.start, a.rule, &a.message).cmp(&(&b.path, b.start, b.rule, &b.message))
    });
    // A configuration shared by several Lambdas is judged once per Lambda.
    result.diagnostics.dedup_by(|a, b| {
        a.path == b.path && a.span == b.span && a.rule == b.rule && a.message == b.message
    });
    result
}

/// Reads the Lambda's mypy configuration (each file once per run) and runs the mypy rules.
fn check_mypy(
    lambda: &Lambda,
    configs: &mypy::ConfigCache,
    display: &(dyn Fn(&Path) -> PathBuf + Sync),
) -> Vec<(PathBuf, FileOutcome)> {
    let policy = lambda.config.policy_for(&lambda.dir);
    let enabled = |id: &str| policy.policy.level(id) != Level::Off;
    let family_on = registry::all()
        .iter()
        .any(|r| r.family == crate::rules::Family::Mypy && enabled(r.id));
    // A Lambda without Python (a base image) has nothing for mypy to check.
    let has_python = lambda.files.iter().any(|f| f.kind == FileKind::Python);
    if !family_on || !has_python {
        return Vec::new();
    }
    let search = mypy::config::find(&lambda.dir, &|path: &Path| configs.load(path));
    let mut outcomes = Vec::new();
    for broken in &search.broken {
        if !configs.first_report(broken) {
            continue;
        }
        let loaded = configs.load(broken);
        let mypy::config::Loaded::Broken { text, problem } = &*loaded else {
            continue;
        };
        let rule = &mypy::myp001_config_invalid::RULE;
        let finding =
            mypy::myp001_config_invalid::unreadable(problem.span.clone(), &problem.message);
        let shown = display(broken);
        let outcome = match text {
            Some(text) => {
                let index = LineIndex::new(text);
                FileOutcome {
                    diagnostics: finish(
                        vec![(rule, finding)],
                        text,
                        &index,
                        CommentStyle::FullLineHash,
                        &policy,
                        &shown,
                    ),
                    source: Some(text.clone()),
                }
            }
            None => FileOutcome {
                diagnostics: whole_file_if_on(
                    rule,
                    &policy,
                    shown.clone(),
                    finding.message,
                    finding.help,
                ),
                source: None,
            },
        };
        outcomes.push((shown, outcome));
    }
    let Some(used) = &search.used else {
        outcomes.push(config_missing(lambda, &policy, display));
        return outcomes;
    };
    let loaded = configs.load(used);
    let mypy::config::Loaded::Used(config) = &*loaded else {
        return outcomes;
    };
    let first_party = mypy::first_party(lambda);
    let context = mypy::Context {
        lambda,
        policy: &policy,
        config,
        first_party: &first_party,
    };
    let mut findings = Vec::new();
    for rule in registry::all() {
        if let Check::Mypy(check) = rule.check {
            if enabled(rule.id) {
                findings.extend(check(&context).into_iter().map(|f| (*rule, f)));
            }
        }
    }
    let style = match config.format {
        mypy::config::Format::Ini => CommentStyle::FullLineHash,
        mypy::config::Format::Toml => CommentStyle::Hash,
    };
    let shown = display(used);
    let index = LineIndex::new(&config.text);
    let diagnostics = finish(findings, &config.text, &index, style, &policy, &shown);
    let source = (!diagnostics.is_empty()).then(|| config.text.clone());
    outcomes.push((
        shown,
        FileOutcome {
            diagnostics,
            source,
        },
    ));
    outcomes
}

/// MYP002 for a Lambda without any mypy configuration: on its pyproject.toml (with a fix that
/// adds the block) or, without one, on its Dockerfile.
fn config_missing(
    lambda: &Lambda,
    policy: &EffectivePolicy,
    display: &(dyn Fn(&Path) -> PathBuf + Sync),
) -> (PathBuf, FileOutcome) {
    let rule = &mypy::myp002_config_missing::RULE;
    let mypy_policy = &policy.policy.mypy;
    let pyproject = lambda.dir.join("pyproject.toml");
    let message = "no mypy configuration: mypy would run with its lax defaults (no strict checks)";
    let (path, text, finding) = match std::fs::read_to_string(&pyproject) {
        Ok(text) => {
            let block = mypy::myp002_config_missing::pyproject_block(mypy_policy);
            let fix = crate::diagnostic::Fix {
                description: "add the policy's [tool.mypy] block".into(),
                edits: vec![mypy::fix::append_block(&text, &block)],
            };
            let finding = Finding::new(0..0, message)
                .help(format!("add to pyproject.toml:\n\n{block}"))
                .fix(fix);
            (pyproject, Some(text), finding)
        }
        Err(_) => {
            let finding = Finding::new(0..0, message).help(format!(
                "add a mypy.ini beside the Dockerfile:\n\n{}",
                mypy::myp002_config_missing::ini_block(mypy_policy)
            ));
            let dockerfile = crate::discover::LAMBDA_MARKERS
                .iter()
                .map(|m| lambda.dir.join(m))
                .find(|p| p.is_file())
                .unwrap_or_else(|| lambda.dir.clone());
            (dockerfile, None, finding)
        }
    };
    let shown = display(&path);
    let Some(text) = text else {
        let diagnostics =
            whole_file_if_on(rule, policy, shown.clone(), finding.message, finding.help);
        return (
            shown,
            FileOutcome {
                diagnostics,
                source: None,
            },
        );
    };
    let index = LineIndex::new(&text);
    let diagnostics = finish(
        vec![(rule, finding)],
        &text,
        &index,
        CommentStyle::Hash,
        policy,
        &shown,
    );
    let source = (!diagnostics.is_empty()).then(|| Arc::from(text));
    (
        shown,
        FileOutcome {
            diagnostics,
            source,
        },
    )
}

/// Reads the Lambda's Python modules in parallel; parses the handler's module and any module
/// with a `type:` comment, and runs the Python rules on them.
fn check_python(
    lambda: &Lambda,
    display: &(dyn Fn(&Path) -> PathBuf + Sync),
) -> Vec<(PathBuf, FileOutcome)> {
    let policy = lambda.config.policy_for(&lambda.dir);
    let any_on = registry::all()
        .iter()
        .any(|r| matches!(r.check, Check::Python(_)) && policy.policy.level(r.id) != Level::Off);
    if !any_on {
        return Vec::new();
    }
    let handler = lambda
        .handler
        .get()
        .and_then(|handler| python::handler_module(lambda, handler));
    lambda
        .files
        .par_iter()
        .filter(|file| file.kind == FileKind::Python)
        .filter_map(|file| {
            let shown = display(&file.path);
            let policy = lambda.config.policy_for(&file.path);
            let function = handler
                .filter(|(relative, _)| *relative == file.relative)
                .map(|(_, function)| function);
            let text = match read_text(file, &policy) {
                Ok(text) => text,
                Err((message, help)) => {
                    let outcome = unreadable(&policy, &shown, message, help);
                    return Some((shown, outcome));
                }
            };
            if function.is_none() && !python::needs_tree(text.as_bytes()) {
                return None;
            }
            let findings = python::lint(&file.path, &text, function, &|rule: &Rule| {
                policy.policy.level(rule.id) != Level::Off
            });
            let outcome = finish_text(findings, text, CommentStyle::Hash, &policy, &shown);
            Some((shown, outcome))
        })
        .collect()
}

/// Reads and parses each Terraform file once, groups them by directory into Terraform modules
/// and runs the Terraform rules on each module. `cwd` is where the check runs from (or the
/// repository a sweep checks).
fn check_terraform(
    config: &Config,
    mut terraform: Vec<&LambdaFile>,
    base: &Path,
    cwd: Option<&Path>,
    display: &(dyn Fn(&Path) -> PathBuf + Sync),
) -> Vec<(PathBuf, FileOutcome)> {
    let policy = config.policy_for(base);
    let any_on = registry::all().iter().any(|r| {
        r.family == crate::rules::Family::Terraform && policy.policy.level(r.id) != Level::Off
    });
    if !any_on || terraform.is_empty() {
        return Vec::new();
    }
    terraform.sort_by(|a, b| (a.path.parent(), &a.path).cmp(&(b.path.parent(), &b.path)));
    // Outside a repository, a relative module source must stay inside the directory the
    // check runs from (else the configuration root).
    let outside_repository = cwd
        .filter(|cwd| base.starts_with(cwd))
        .unwrap_or(&config.root);
    let mut outcomes = Vec::new();
    for group in terraform.chunk_by(|a, b| a.path.parent() == b.path.parent()) {
        let dir = group[0].path.parent().unwrap_or(base);
        let policy = config.policy_for(dir);
        let mut parsed: Vec<crate::rules::terraform::TfFile> = Vec::new();
        // Beside each parsed file: how it is shown, its text and its policy.
        let mut read: Vec<(PathBuf, String, Arc<EffectivePolicy>)> = Vec::new();
        for file in group {
            let shown = display(&file.path);
            let file_policy = config.policy_for(&file.path);
            let text = match read_text(file, &file_policy) {
                Ok(text) => text,
                Err((message, help)) => {
                    outcomes.push((
                        shown.clone(),
                        unreadable(&file_policy, &shown, message, help),
                    ));
                    continue;
                }
            };
            match crate::rules::terraform::parse(&text) {
                Ok(body) => {
                    parsed.push(crate::rules::terraform::TfFile {
                        path: file.path.clone(),
                        body,
                        is_vars: file.path.extension().is_some_and(|e| e == "tfvars"),
                    });
                    read.push((shown, text, file_policy));
                }
                Err(error) => {
                    let rule = &crate::rules::terraform::tf001_syntax_error::RULE;
                    let finding = Finding::new(
                        error.span,
                        format!("invalid HCL: {}", error.message),
                    )
                    .help(
                        "fix the syntax; the other Terraform rules skip this file until it parses",
                    );
                    let outcome = finish_text(
                        vec![(rule, finding)],
                        text,
                        CommentStyle::Hash,
                        &file_policy,
                        &shown,
                    );
                    outcomes.push((shown, outcome));
                }
            }
        }
        if parsed.is_empty() {
            continue;
        }
        let module = crate::rules::terraform::Module::new(dir, &parsed);
        let context = crate::rules::terraform::Context {
            module: &module,
            policy: &policy,
            outside_repository,
        };
        let found = crate::rules::terraform::lint(&context, &|rule: &Rule| {
            policy.policy.level(rule.id) != Level::Off
        });
        let mut per_file: Vec<Vec<(&'static Rule, Finding)>> = vec![Vec::new(); parsed.len()];
        for (rule, located) in found {
            if let Some(slot) = per_file.get_mut(located.file) {
                slot.push((rule, located.finding));
            }
        }
        for (findings, (shown, text, file_policy)) in per_file.into_iter().zip(read) {
            let outcome = finish_text(findings, text, CommentStyle::Hash, &file_policy, &shown);
            outcomes.push((shown, outcome));
        }
    }
    outcomes
}

/// Runs the rules that see a Lambda as a whole (coverage).
fn check_lambda(
    lambda: &Lambda,
    diff: Option<(&str, &HashMap<String, Vec<u32>>)>,
    display: &(dyn Fn(&Path) -> PathBuf + Sync),
) -> Vec<Diagnostic> {
    if !coverage::applies(lambda) {
        return Vec::new();
    }
    let policy = lambda.config.policy_for(&lambda.dir);
    let context = coverage::context(lambda, &policy, diff);
    let mut diagnostics = Vec::new();
    for rule in registry::all() {
        let Check::Coverage(check) = rule.check else {
            continue;
        };
        let Some(severity) = policy.policy.level(rule.id).severity() else {
            continue;
        };
        for located in check(&context) {
            diagnostics.push(Diagnostic {
                rule: rule.id,
                severity: if located.finding.undecided {
                    Severity::Info
                } else {
                    severity
                },
                path: display(&located.path),
                span: 0..0,
                start: located.start,
                end: located.start,
                message: located.finding.message,
                help: located.finding.help,
                fix: None,
            });
        }
    }
    diagnostics
}

/// [`whole_file`] at the severity `policy` gives the rule, or nothing when it is off.
fn whole_file_if_on(
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
fn whole_file(
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
    }
}

/// Reads a file as UTF-8 text, or says why it cannot be checked.
fn read_text(
    file: &LambdaFile,
    policy: &EffectivePolicy,
) -> Result<String, (String, Option<String>)> {
    let cap = policy.policy.max_file_size;
    if file.size > cap {
        return Err((
            format!(
                "the file is {} bytes, over the {cap}-byte limit, and was not read",
                file.size
            ),
            Some("raise `max-file-size` in the policy, or exclude the file".into()),
        ));
    }
    let bytes =
        std::fs::read(&file.path).map_err(|e| (format!("cannot read the file: {e}"), None))?;
    // The walk's size may be stale or absent (links): enforce the cap on what was read too.
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
fn unreadable(
    policy: &EffectivePolicy,
    shown: &Path,
    message: String,
    help: Option<String>,
) -> FileOutcome {
    FileOutcome {
        diagnostics: whole_file_if_on(
            &crate::rules::core::lg003_unreadable_file::RULE,
            policy,
            shown.to_path_buf(),
            message,
            help,
        ),
        source: None,
    }
}

fn check_file(lambda: &Lambda, file: &LambdaFile, shown: &Path) -> FileOutcome {
    let policy = lambda.config.policy_for(&file.path);
    let text = match read_text(file, &policy) {
        Ok(text) => text,
        Err((message, help)) => return unreadable(&policy, shown, message, help),
    };
    let index = LineIndex::new(&text);
    let (findings, style) = match file.kind {
        FileKind::Dockerfile => {
            let (findings, handler) =
                lint_dockerfile_with_handler(&file.path, &text, &policy, lambda.build_context());
            let is_marker = crate::discover::LAMBDA_MARKERS.contains(&file.relative.as_str());
            if let (true, Some(handler)) = (is_marker, handler) {
                let _ = lambda.handler.set(handler);
            }
            (findings, CommentStyle::FullLineHash)
        }
        FileKind::Python | FileKind::Terraform | FileKind::Other => {
            return FileOutcome {
                diagnostics: Vec::new(),
                source: None,
            }
        }
    };
    let diagnostics = finish(findings, &text, &index, style, &policy, shown);
    let source = (!diagnostics.is_empty()).then(|| Arc::from(text));
    FileOutcome {
        diagnostics,
        source,
    }
}

/// Parses a Dockerfile once and runs every enabled Dockerfile rule on it.
pub fn lint_dockerfile(
    path: &Path,
    text: &str,
    policy: &EffectivePolicy,
    build_context: &BuildContext,
) -> Vec<(&'static Rule, Finding)> {
    lint_dockerfile_with_handler(path, text, policy, build_context).0
}

/// [`lint_dockerfile`], also returning the handler the final image runs, for the Python rules.
fn lint_dockerfile_with_handler(
    path: &Path,
    text: &str,
    policy: &EffectivePolicy,
    build_context: &BuildContext,
) -> (Vec<(&'static Rule, Finding)>, Option<String>) {
    let dockerfile = match parser::parse(text) {
        Ok(dockerfile) => dockerfile,
        Err(error) => {
            return (
                vec![(
                    &dockerfile::dkr001_parse_error::RULE,
                    Finding::new(error.span, error.message),
                )],
                None,
            )
        }
    };
    let context = dockerfile::Context {
        path,
        text,
        dockerfile: &dockerfile,
        policy,
        build_context,
    };
    let mut findings = Vec::new();
    for rule in registry::all() {
        if let Check::Dockerfile(check) = rule.check {
            if policy.policy.level(rule.id) != Level::Off {
                findings.extend(check(&context).into_iter().map(|f| (*rule, f)));
            }
        }
    }
    let handler = context.handler().ok().map(|word| word.text.clone());
    (findings, handler)
}

/// [`finish`] for a file read as text: keeps the text only when there is something to show.
fn finish_text(
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
        diagnostics,
        source,
    }
}

/// Turns findings into diagnostics: severities from policy, suppressions, positions.
fn finish(
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
            fix: finding.fix,
        });
    };
    for (rule, finding) in findings {
        let Some(severity) = policy.policy.level(rule.id).severity() else {
            continue;
        };
        let severity = if finding.undecided {
            Severity::Info
        } else {
            severity
        };
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
