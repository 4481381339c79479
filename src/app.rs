//! What each subcommand does; `main.rs` only parses and maps the result to an exit code.

#[cfg(feature = "runner")]
mod runner;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::check::{check, CheckOptions, CheckResult};
use crate::cli::{
    CheckArgs, Cli, ColorChoice, Command, InspectCommand, ListFormat, PolicyCommand, SweepArgs,
    SweepCommand, SweepFormat, SweepOutput,
};
use crate::discover::WalkOptions;
use crate::fix::{fixed_files, unified_diff};
use crate::policy::{self, ConfigError};
use crate::report::{self, render_config_error, Format, RenderOptions};
use crate::rules::registry;

pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_VIOLATIONS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => run_check(args, cli.verbose),
        Command::Rules { format } => list_rules(format),
        Command::Explain { rule } => explain(&rule),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "lambda-gate", &mut std::io::stdout());
            Ok(ExitCode::from(EXIT_CLEAN))
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(command).render(&mut std::io::stdout())?;
            Ok(ExitCode::from(EXIT_CLEAN))
        }
        Command::Inspect {
            command:
                InspectCommand::Coverage {
                    report,
                    fail_under,
                    precision,
                    format,
                },
        } => inspect_coverage(&report, fail_under, precision, format),
        Command::Inspect {
            command:
                InspectCommand::Mypy {
                    dir,
                    modules,
                    format,
                },
        } => inspect_mypy(&dir, &modules, format),
        Command::Sweep(args) => run_sweep(*args),
        Command::Cache { command } => run_cache(command),
        #[cfg(feature = "runner")]
        Command::Build(args) => runner::run_build(*args),
        #[cfg(feature = "runner")]
        Command::Smoke(args) => runner::run_smoke(args),
        #[cfg(feature = "runner")]
        Command::Push(args) => runner::run_push(args),
        #[cfg(feature = "runner")]
        Command::DevImage {
            command: crate::cli::DevImageCommand::Pull(args),
        } => runner::run_dev_image_pull(args),
        #[cfg(feature = "runner")]
        Command::Promote(args) => runner::run_promote(args),
        #[cfg(feature = "runner")]
        Command::VerifyDeployable(args) => runner::run_verify(args),
        #[cfg(feature = "runner")]
        Command::Pipeline(args) => runner::run_pipeline(args),
        #[cfg(feature = "runner")]
        Command::Deploy(args) => runner::run_deploy(*args),
        #[cfg(feature = "runner")]
        Command::Trace(args) => runner::run_trace(args),
        #[cfg(feature = "runner")]
        Command::Fleet(args) => runner::run_fleet(args),
        #[cfg(not(feature = "runner"))]
        Command::Build(_)
        | Command::Smoke(_)
        | Command::Push(_)
        | Command::DevImage { .. }
        | Command::Promote(_)
        | Command::VerifyDeployable(_)
        | Command::Deploy(_)
        | Command::Trace(_)
        | Command::Fleet(_)
        | Command::Pipeline(_) => Err(runner_not_built()),
        Command::Policy {
            command: PolicyCommand::Show { path, config },
        } => {
            let loaded = policy::load(&path, config.config.as_deref(), config.isolated)?;
            let file = std::fs::canonicalize(&path).unwrap_or(path);
            let effective = loaded.policy_for(&file);
            let mut out = std::io::stdout().lock();
            let origin = loaded.source.as_ref().map_or_else(
                || "the embedded default policy".to_string(),
                |s| s.path().display().to_string(),
            );
            writeln!(
                out,
                "# Effective policy for {} (from {origin})",
                file.display()
            )?;
            write!(out, "{}", policy::to_toml(&effective.policy)?)?;
            Ok(ExitCode::from(EXIT_CLEAN))
        }
        Command::Policy {
            command:
                PolicyCommand::RecordDigest {
                    file,
                    images,
                    grace_days,
                    tag,
                },
        } => {
            let bases = images
                .iter()
                .map(|image| policy::record::BuiltBase::parse(image).context("--image"))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let recorded =
                policy::record::record_in_file(&file, &bases, tag.as_deref(), grace_days)?;
            for line in &recorded {
                println!("{line}");
            }
            Ok(ExitCode::from(EXIT_CLEAN))
        }
    }
}

/// `sweep --deployed`: the runner traces each Lambda's environments.
#[cfg(feature = "runner")]
fn deployments_of(args: &SweepArgs) -> anyhow::Result<Option<Box<dyn crate::sweep::Deployments>>> {
    if !args.deployed {
        return Ok(None);
    }
    let connection = crate::runner::registry::Connection {
        insecure_registries: args.registry.insecure_registries.clone(),
    };
    Ok(Some(Box::new(runner::TracedDeployments::new(
        args.config.clone(),
        connection,
    )?)))
}

/// With `--fix` that commits (`--branch`, `--push`): the runner reads each re-pinned base's
/// config for the commit message.
#[cfg(feature = "runner")]
fn base_facts_of(args: &SweepArgs) -> Option<std::sync::Arc<dyn crate::sweep::BaseFacts>> {
    if !args.fix || !(args.push || args.branch.is_some()) {
        return None;
    }
    let connection = crate::runner::registry::Connection {
        insecure_registries: args.registry.insecure_registries.clone(),
    };
    let facts = runner::RegistryBaseFacts::new(connection).ok()?;
    Some(std::sync::Arc::new(facts))
}

#[cfg(not(feature = "runner"))]
fn base_facts_of(_: &SweepArgs) -> Option<std::sync::Arc<dyn crate::sweep::BaseFacts>> {
    None
}

#[cfg(not(feature = "runner"))]
fn deployments_of(args: &SweepArgs) -> anyhow::Result<Option<Box<dyn crate::sweep::Deployments>>> {
    match args.deployed {
        true => Err(runner_not_built().context("`sweep --deployed` traces what runs in AWS")),
        false => Ok(None),
    }
}

/// Prints an error for exit code 2; configuration errors with the line they point at.
/// The error of a runner command in a binary built without the runner (`--no-default-features`).
#[cfg(not(feature = "runner"))]
fn runner_not_built() -> anyhow::Error {
    anyhow::anyhow!(
        "this command is part of the runner, and this lambda-gate was built without it (gate only): install the full build (`cargo install --locked lambda-gate`, default features, or `pip install lambda-gate`), or build with `--features runner`"
    )
}

/// Prints `error` and its causes, one line each; `verbose` adds the details of [`crate::error::Detailed`]
/// causes.
/// The process's exit code for a command's outcome, its error printed.
pub fn process_exit_code(outcome: anyhow::Result<ExitCode>, verbose: bool) -> ExitCode {
    match outcome {
        Ok(code) => code,
        // A reader that stops early (`| head`) is not an error.
        Err(error)
            if error.chain().any(|cause| {
                cause
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::from(EXIT_CLEAN)
        }
        Err(error) => {
            print_error(&error, verbose);
            ExitCode::from(EXIT_ERROR)
        }
    }
}

pub fn print_error(error: &anyhow::Error, verbose: bool) {
    let color = std::io::stderr().is_terminal();
    if let Some(config) = error.downcast_ref::<ConfigError>() {
        eprintln!("{}", render_config_error(config, color));
        return;
    }
    eprintln!("error: {error}");
    let mut details = Vec::new();
    for cause in error.chain() {
        if let Some(detailed) = cause.downcast_ref::<crate::error::Detailed>() {
            details.push(detailed.detail.as_str());
        }
    }
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        // A cause already said in full by the line above is not repeated.
        if !error.to_string().ends_with(&text) {
            eprintln!("  caused by: {text}");
        }
    }
    if verbose {
        for detail in details {
            eprintln!("  detail: {detail}");
        }
    } else if !details.is_empty() {
        eprintln!("  (run with --verbose for the details)");
    }
}

fn options(args: &CheckArgs) -> CheckOptions {
    CheckOptions {
        paths: args.paths.clone(),
        config: args.config.config.clone(),
        isolated: args.config.isolated,
        walk: WalkOptions {
            follow_links: args.follow_links,
            threads: args.threads.unwrap_or(0),
        },
        diff_base: args.diff_base.clone(),
        changed_files: args.files,
        display_base: None,
        cache: crate::cache::Cache::user(args.no_cache),
    }
}

/// `lambda-gate check`; also the whole of `lambda-gate-hook`, which links nothing else.
pub fn run_check(args: CheckArgs, verbose: bool) -> anyhow::Result<ExitCode> {
    use_threads(args.threads);
    let format = Format::from(args.format);
    let options = options(&args);
    let mut result = check(&options)?;
    if let Some(note) = result.cache_note.as_ref().filter(|_| verbose) {
        eprintln!("{note}");
    }
    let mut fixes_pending = false;
    if args.fix {
        let changes = fixed_files(&result, Path::new("."))?;
        if args.diff {
            // The diff goes to standard output and what the fixes leave to standard error (or
            // `-o`), so the diff stays a clean patch; but a machine-readable report without
            // `-o` is what a tool reads from standard output, so then the diff goes to stderr.
            let mut out: Box<dyn Write> = if args.output.is_none() && format != Format::Human {
                Box::new(std::io::stderr().lock())
            } else {
                Box::new(std::io::stdout().lock())
            };
            for (path, (before, after)) in &changes {
                write!(
                    out,
                    "{}",
                    unified_diff(&report::display_path(path), before, after)
                )?;
            }
            out.flush()?;
            fixes_pending = !changes.is_empty();
            result.diagnostics.retain(|d| d.fix.is_none());
        } else {
            for (path, (_, after)) in &changes {
                std::fs::write(path, after)
                    .with_context(|| format!("cannot write the fix to `{}`", path.display()))?;
            }
            if !changes.is_empty() {
                eprintln!(
                    "fixed {} {}",
                    changes.len(),
                    if changes.len() == 1 { "file" } else { "files" }
                );
                result = check(&options)?;
            }
        }
    }
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            args.output.is_none() && format == Format::Human && std::io::stdout().is_terminal()
        }
    };
    let render_options = RenderOptions {
        color,
        deterministic: false,
    };
    match &args.output {
        Some(path) => {
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot write `{}`", path.display()))?,
            );
            report::render(format, &result, render_options, &mut file)?;
            file.flush()?;
        }
        None if args.fix && args.diff && format == Format::Human => {
            let mut err = std::io::BufWriter::new(std::io::stderr().lock());
            report::render(format, &result, render_options, &mut err)?;
            err.flush()?;
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            report::render(format, &result, render_options, &mut out)?;
            out.flush()?;
        }
    }
    // After `--fix`, what remains decides; under `--diff` the fixes are not written, so a
    // pending fix is a violation too.
    if fixes_pending {
        return Ok(ExitCode::from(EXIT_VIOLATIONS));
    }
    Ok(exit_code(&result))
}

/// `sweep` and `sweep merge`.
fn run_cache(command: crate::cli::CacheCommand) -> anyhow::Result<ExitCode> {
    let Some(dir) = crate::cache::default_dir() else {
        anyhow::bail!("no cache directory: set LAMBDA_GATE_CACHE_DIR, XDG_CACHE_HOME or HOME");
    };
    match command {
        crate::cli::CacheCommand::Dir => println!("{}", dir.display()),
        crate::cli::CacheCommand::Clean => {
            let freed = crate::cache::clean(&dir)
                .with_context(|| format!("cannot remove the cache `{}`", dir.display()))?;
            println!("removed `{}` ({freed} bytes)", dir.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_sweep(args: SweepArgs) -> anyhow::Result<ExitCode> {
    use crate::sweep::{
        self,
        baseline::{Baseline, Trend},
        report::{BaselineUse, SweepReport},
    };
    if let Some(SweepCommand::Merge { reports, output }) = args.command {
        let reports = reports
            .iter()
            .map(|path| SweepReport::read(path))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let merged = SweepReport::merge(reports)?;
        write_sweep_outputs(&merged, &output)?;
        return Ok(sweep_exit_code(&merged));
    }
    use_threads(args.threads);
    let source = match (&args.root, &args.repos) {
        (Some(root), _) => sweep::Source::Root(root.clone()),
        (None, Some(file)) => sweep::Source::List {
            file: file.clone(),
            cache: match &args.cache {
                Some(cache) => cache.clone(),
                None => sweep::default_cache()?,
            },
        },
        (None, None) => anyhow::bail!("give --root DIR or --repos FILE"),
    };
    // Read what the sweep compares against first: a bad path fails before any work.
    let baseline = args.baseline.as_deref().map(Baseline::read).transpose()?;
    let old = args.compare.as_deref().map(SweepReport::read).transpose()?;
    let options = sweep::SweepOptions {
        source,
        shard: args
            .shard
            .map(|spec| spec.resolve(|name| std::env::var(name).ok()))
            .transpose()
            .map_err(anyhow::Error::msg)?,
        config: args.config.clone(),
        follow_links: args.follow_links,
        clone_jobs: args.clone_jobs,
        fix: match (args.fix, args.push, &args.branch) {
            (false, _, _) => sweep::FixMode::None,
            (true, true, branch) => sweep::FixMode::Push(sweep::push::PushOptions {
                branch: branch
                    .clone()
                    .unwrap_or_else(|| sweep::push::DEFAULT_BRANCH.to_string()),
                dry_run: args.dry_run,
                force_with_lease: args.force_with_lease,
            }),
            (true, false, None) => sweep::FixMode::DryRun,
            (true, false, Some(branch)) => sweep::FixMode::Branch(branch.clone()),
        },
        cache: crate::cache::Cache::user(args.no_cache),
        base_facts: base_facts_of(&args),
    };
    let progress: Box<dyn sweep::Progress> = if args.output.quiet {
        Box::new(sweep::Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(sweep::progress::Bar::new())
    } else {
        Box::new(sweep::progress::Lines::new())
    };
    let deployments = deployments_of(&args)?;
    let mut report = sweep::sweep(&options, progress.as_ref(), deployments.as_deref())?;
    if report.kept > 0 && !args.output.quiet {
        eprintln!(
            "sweep: {} of {} repositories unchanged since an earlier sweep (same commit, policy and lambda-gate): their records were used again; --no-cache checks them again",
            report.kept,
            report.repositories.len()
        );
    }
    if let Some(path) = &args.write_baseline {
        let recorded = Baseline::of(&report);
        recorded.write(path)?;
        eprintln!(
            "baseline: {} violations recorded in `{}`",
            recorded.len(),
            path.display()
        );
    }
    // The trend compares the organisation's state, before the baseline hides anything.
    if let Some(old) = &old {
        report.trend = Some(Trend::between(old, &report));
    }
    if let (Some(baseline), Some(path)) = (&baseline, &args.baseline) {
        let hidden = baseline.apply(&mut report);
        report.baseline = Some(BaselineUse {
            file: path.display().to_string(),
            hidden,
        });
    }
    write_sweep_outputs(&report, &args.output)?;
    Ok(sweep_exit_code(&report))
}

fn sweep_exit_code(report: &crate::sweep::report::SweepReport) -> ExitCode {
    // Fixes asked for and not committed or pushed (a rejected push, a diverged branch) fail
    // the run even while what they fix only warns (a base digest in its grace window).
    let fixes_failed = report.fixes.iter().any(|fix| fix.error.is_some());
    ExitCode::from(if report.passed() && !fixes_failed {
        EXIT_CLEAN
    } else {
        EXIT_VIOLATIONS
    })
}

/// The report in `--format` on standard output (or `--output`), and in every other format a
/// file was given for.
fn write_sweep_outputs(
    report: &crate::sweep::report::SweepReport,
    output: &SweepOutput,
) -> anyhow::Result<()> {
    let write = |format: SweepFormat, out: &mut dyn Write| -> std::io::Result<()> {
        match format {
            SweepFormat::Human => report::sweep_text::render_human(report, out),
            SweepFormat::Markdown => report::sweep_text::render_markdown(report, out),
            SweepFormat::Html => report::html::render(report, out),
            SweepFormat::Json => {
                serde_json::to_writer_pretty(&mut *out, report).map_err(std::io::Error::other)?;
                writeln!(out)
            }
        }
    };
    let to_file = |format: SweepFormat, path: &Path| -> anyhow::Result<()> {
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write `{}`", path.display()))?,
        );
        write(format, &mut file)?;
        file.flush()
            .with_context(|| format!("cannot write `{}`", path.display()))
    };
    for (format, path) in [
        (SweepFormat::Json, &output.json),
        (SweepFormat::Html, &output.html),
        (SweepFormat::Markdown, &output.markdown),
    ] {
        if let Some(path) = path {
            to_file(format, path)?;
        }
    }
    match &output.output {
        Some(path) => to_file(output.format, path)?,
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            write(output.format, &mut out)?;
            out.flush()?;
        }
    }
    Ok(())
}

/// `-j N`: the gate's worker threads (default: one per core).
fn use_threads(threads: Option<usize>) {
    if let Some(threads) = threads {
        // Only the first call configures the pool; later ones are harmless.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
}

pub fn exit_code(result: &CheckResult) -> ExitCode {
    ExitCode::from(if result.passed() {
        EXIT_CLEAN
    } else {
        EXIT_VIOLATIONS
    })
}

fn list_rules(format: ListFormat) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match format {
        ListFormat::Human => {
            for rule in registry::all() {
                writeln!(
                    out,
                    "{:<7} {:<26} {:<10} {:<8} {}{}",
                    rule.id,
                    rule.name,
                    rule.family.as_str(),
                    rule.default_severity.as_str(),
                    rule.summary,
                    if rule.fixable { " (fixable)" } else { "" }
                )?;
            }
        }
        ListFormat::Markdown => write!(out, "{}", registry::markdown_table(registry::all(), None))?,
        ListFormat::Json => {
            let rules: Vec<_> = registry::all()
                .iter()
                .map(|rule| {
                    serde_json::json!({
                        "id": rule.id,
                        "name": rule.name,
                        "family": rule.family,
                        "severity": rule.default_severity,
                        "fixable": rule.fixable,
                        "summary": rule.summary,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &rules)?;
            writeln!(out)?;
        }
    }
    Ok(ExitCode::from(EXIT_CLEAN))
}

fn explain(id: &str) -> anyhow::Result<ExitCode> {
    match registry::find(id) {
        Some(rule) => {
            print!("{}", rule.doc);
            Ok(ExitCode::from(EXIT_CLEAN))
        }
        None => anyhow::bail!("unknown rule `{id}`: `lambda-gate rules` lists them all"),
    }
}

/// `inspect coverage`: what lambda-gate read from a report and how it decides.
/// `inspect mypy`: the configuration as lambda-gate computes it; the differential test compares
/// this with mypy's own `Options`.
fn inspect_mypy(dir: &Path, modules: &[String], format: ListFormat) -> anyhow::Result<ExitCode> {
    use crate::rules::mypy::config::{self, Effective, Loaded, WATCHED};
    let metadata =
        std::fs::metadata(dir).with_context(|| format!("cannot inspect `{}`", dir.display()))?;
    if !metadata.is_dir() {
        anyhow::bail!("`{}` is not a directory", dir.display());
    }
    let start = std::fs::canonicalize(dir)?;
    // Each candidate is read once, through the cache the gate uses.
    let configs = crate::rules::mypy::ConfigCache::default();
    let search = config::find(&start, &|path: &Path| configs.load(path));
    let relative = |path: &Path| relative_path(&start, path);
    let loaded = search.used.as_ref().map(|path| configs.load(path));
    let used = match loaded.as_deref() {
        Some(Loaded::Used(used)) => Some(used),
        _ => None,
    };
    let options = |effective: &Effective| -> serde_json::Map<String, serde_json::Value> {
        WATCHED
            .iter()
            .map(|name| ((*name).to_string(), effective.json(name)))
            .collect()
    };
    let global = used.map(|c| c.global().clone()).unwrap_or_default();
    let module_options: serde_json::Map<String, serde_json::Value> = modules
        .iter()
        .map(|module| {
            let effective = used.map(|c| c.for_module(module)).unwrap_or_default();
            (module.clone(), options(&effective).into())
        })
        .collect();
    let mut problems: Vec<serde_json::Value> = Vec::new();
    for path in &search.broken {
        if let Loaded::Broken { text, problem } = &*configs.load(path) {
            let line = text.as_deref().map_or(1, |t| {
                crate::diagnostic::LineIndex::new(t).line_of(problem.span.start) + 1
            });
            problems.push(serde_json::json!({
                "file": relative(path), "line": line, "message": problem.message, "skipped": true
            }));
        }
    }
    if let Some(config) = used {
        let index = crate::diagnostic::LineIndex::new(&config.text);
        for problem in &config.problems {
            problems.push(serde_json::json!({
                "file": relative(&config.path),
                "line": index.line_of(problem.span.start) + 1,
                "message": problem.message,
                "skipped": false,
            }));
        }
    }
    let value = serde_json::json!({
        "config_file": search.used.as_deref().map(relative),
        "global": options(&global),
        "modules": module_options,
        "problems": problems,
    });
    let mut out = std::io::stdout().lock();
    match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &value)?;
            writeln!(out)?;
        }
        _ => {
            match search.used.as_deref() {
                Some(path) => writeln!(out, "config file: {}", relative(path))?,
                None => writeln!(out, "config file: none (mypy runs with its defaults)")?,
            }
            for problem in &problems {
                writeln!(
                    out,
                    "problem: {}:{}: {}",
                    problem["file"].as_str().unwrap_or_default(),
                    problem["line"],
                    problem["message"].as_str().unwrap_or_default()
                )?;
            }
            writeln!(out, "\n[global]")?;
            for (name, value) in options(&global) {
                writeln!(out, "{name} = {value}")?;
            }
            for (module, values) in &module_options {
                writeln!(out, "\n[{module}]")?;
                for (name, value) in values.as_object().into_iter().flatten() {
                    writeln!(out, "{name} = {value}")?;
                }
            }
        }
    }
    Ok(ExitCode::from(EXIT_CLEAN))
}

/// `target` relative to the directory `from`, with `..` where it lies above (as `os.path.relpath`).
fn relative_path(from: &Path, target: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = target.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

fn inspect_coverage(
    path: &std::path::Path,
    fail_under: Option<f64>,
    precision: u32,
    format: ListFormat,
) -> anyhow::Result<ExitCode> {
    use crate::rules::coverage::{numbers, report};
    let fail_under = fail_under.unwrap_or_else(|| policy::default_policy().coverage.fail_under);
    if !(0.0..=100.0).contains(&fail_under) {
        anyhow::bail!("--fail-under must be between 0 and 100, not {fail_under}");
    }
    let data = report::read(path, false).map_err(|e| {
        anyhow::anyhow!("{}:{}:{}: {}", path.display(), e.line, e.column, e.message)
    })?;
    let total = data.totals.percent();
    let passes = !numbers::should_fail_under(total, fail_under, precision);
    // The report names files as its tool wrote them (Cobertura: joined to an absolute
    // `<source>`); they are shown relative to the working directory, as `check` shows paths.
    let cwd = std::env::current_dir().ok();
    let files: serde_json::Map<String, serde_json::Value> = data
        .files
        .iter()
        .map(|f| {
            let shown = crate::report::shown_below(std::path::Path::new(&f.path), cwd.as_deref());
            (
                crate::report::display_path(&shown),
                serde_json::json!(f.counts.percent()),
            )
        })
        .collect();
    let mut out = std::io::stdout().lock();
    match format {
        ListFormat::Json => {
            let value = serde_json::json!({
                "format": data.format.as_str(),
                "statements": data.totals.statements,
                "covered_statements": data.totals.covered_statements,
                "branches": data.totals.branches,
                "covered_branches": data.totals.covered_branches,
                "total_percent": total,
                "precision": precision,
                "fail_under": fail_under,
                "passes": passes,
                "files": files,
            });
            serde_json::to_writer_pretty(&mut out, &value)?;
            writeln!(out)?;
        }
        _ => {
            let t = &data.totals;
            writeln!(out, "format:     {}", data.format.as_str())?;
            writeln!(
                out,
                "statements: {} of {} covered",
                t.covered_statements, t.statements
            )?;
            writeln!(
                out,
                "branches:   {} of {} covered",
                t.covered_branches, t.branches
            )?;
            writeln!(
                out,
                "total:      {}% ({total})",
                numbers::display_covered(total, precision)
            )?;
            writeln!(
                out,
                "fail-under: {fail_under} at precision {precision}: {}",
                if passes { "passes" } else { "fails" }
            )?;
        }
    }
    Ok(ExitCode::from(if passes {
        EXIT_CLEAN
    } else {
        EXIT_VIOLATIONS
    }))
}
