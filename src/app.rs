//! What each subcommand does; `main.rs` only parses and maps the result to an exit code.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::check::{check, CheckOptions, CheckResult};
use crate::cli::{CheckArgs, Cli, ColorChoice, Command, InspectCommand, ListFormat, PolicyCommand};
use crate::diagnostic::Edit;
use crate::discover::WalkOptions;
use crate::fix::{apply_edits, unified_diff};
use crate::policy::{self, ConfigError};
use crate::report::{self, render_config_error, Format, RenderOptions};
use crate::rules::registry;

pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_VIOLATIONS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => run_check(args),
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
            write!(out, "{}", toml::to_string_pretty(&effective.policy)?)?;
            Ok(ExitCode::from(EXIT_CLEAN))
        }
    }
}

/// Prints an error for exit code 2; configuration errors with the line they point at.
pub fn print_error(error: &anyhow::Error) {
    let color = std::io::stderr().is_terminal();
    if let Some(config) = error.downcast_ref::<ConfigError>() {
        eprintln!("{}", render_config_error(config, color));
        return;
    }
    eprintln!("error: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {cause}");
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
    }
}

fn run_check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    if let Some(threads) = args.threads {
        // Only the first call configures the pool; later ones are harmless.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
    let options = options(&args);
    let mut result = check(&options)?;
    if args.fix {
        let changes = fixed_files(&result)?;
        if args.diff {
            let mut out = std::io::stdout().lock();
            for (path, (before, after)) in &changes {
                write!(
                    out,
                    "{}",
                    unified_diff(&report::display_path(path), before, after)
                )?;
            }
            return Ok(ExitCode::from(if changes.is_empty() {
                EXIT_CLEAN
            } else {
                EXIT_VIOLATIONS
            }));
        }
        for (path, (_, after)) in &changes {
            std::fs::write(path, after)
                .with_context(|| format!("cannot write the fix to `{}`", path.display()))?;
        }
        if !changes.is_empty() {
            eprintln!("fixed {} file(s)", changes.len());
            result = check(&options)?;
        }
    }
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            args.output.is_none() && args.format == Format::Human && std::io::stdout().is_terminal()
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
            report::render(args.format, &result, render_options, &mut file)?;
            file.flush()?;
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            report::render(args.format, &result, render_options, &mut out)?;
            out.flush()?;
        }
    }
    Ok(exit_code(&result))
}

pub fn exit_code(result: &CheckResult) -> ExitCode {
    ExitCode::from(if result.passed() {
        EXIT_CLEAN
    } else {
        EXIT_VIOLATIONS
    })
}

/// Every file with fixes: its text before and after the fixes.
fn fixed_files(result: &CheckResult) -> anyhow::Result<BTreeMap<PathBuf, (String, String)>> {
    let mut edits: BTreeMap<PathBuf, Vec<Edit>> = BTreeMap::new();
    for diagnostic in &result.diagnostics {
        if let Some(fix) = &diagnostic.fix {
            edits
                .entry(diagnostic.path.clone())
                .or_default()
                .extend(fix.edits.iter().cloned());
        }
    }
    let mut changes = BTreeMap::new();
    for (path, edits) in edits {
        let before = match result.sources.get(&path) {
            Some(text) => text.to_string(),
            None => std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read `{}`", path.display()))?,
        };
        let after = apply_edits(&before, &edits);
        if after != before {
            changes.insert(path, (before, after));
        }
    }
    Ok(changes)
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
        ListFormat::Markdown => write!(out, "{}", registry::markdown_table())?,
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
    let files: serde_json::Map<String, serde_json::Value> = data
        .files
        .iter()
        .map(|f| (f.path.clone(), serde_json::json!(f.counts.percent())))
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
