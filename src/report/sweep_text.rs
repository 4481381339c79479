//! A sweep's terminal summary and its Markdown (for a Jenkins job description): the same
//! sections, written for each medium.

use std::io::{self, Write};

use super::count;
use crate::rules::registry;
use crate::sweep::push::PushStatus;
use crate::sweep::report::{RepositoryRecord, Summary, SweepReport};

fn signed(delta: i64) -> String {
    if delta > 0 {
        format!("+{delta}")
    } else {
        delta.to_string()
    }
}

/// The rules with violations, the most frequent first.
fn most_frequent_first(summary: &Summary) -> Vec<(&String, &usize)> {
    let mut rules: Vec<_> = summary.by_rule.iter().collect();
    rules.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    rules
}

/// The repositories that could not be swept.
fn unreadable(report: &SweepReport) -> Vec<&RepositoryRecord> {
    report
        .repositories
        .iter()
        .filter(|r| r.error.is_some())
        .collect()
}

/// The terminal summary: totals, unreadable repositories, violations per rule, the worst
/// repositories, then baseline, trend and fixes when the sweep had them.
///
/// Lambdas of which no code could be read are neither passed nor failed: the line says how
/// many there are, so a sweep never looks cleaner than what it read.
pub fn render_human(report: &SweepReport, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    let shard = report
        .shard
        .as_deref()
        .map(|shard| format!(" (shard {shard})"))
        .unwrap_or_default();
    writeln!(
        out,
        "Swept {}{shard}: {}, {} passed, {} failed{}; {}, {} in {}",
        count(s.repositories, "repository", "repositories"),
        count(s.lambdas, "Lambda", "Lambdas"),
        s.lambdas_passed,
        s.lambdas_failed,
        not_checked(s),
        count(s.errors, "error", "errors"),
        count(s.warnings, "warning", "warnings"),
        count(s.files_checked, "file", "files")
    )?;
    let unreadable = unreadable(report);
    if !unreadable.is_empty() {
        writeln!(
            out,
            "\n{} could not be swept:",
            count(unreadable.len(), "repository", "repositories")
        )?;
        for repository in unreadable {
            writeln!(
                out,
                "  {}: {}",
                repository.name,
                repository.error.as_deref().unwrap_or_default()
            )?;
        }
    }
    // sweep --deployed: every environment a Lambda deploys to; those whose serving images do
    // not all carry a valid verdict, each with why.
    let deployed: Vec<(&str, &str, &crate::sweep::report::DeployedRecord)> = (report.repositories)
        .iter()
        .flat_map(|r| r.lambdas.iter().map(move |l| (r, l)))
        .flat_map(|(r, l)| {
            l.deployed
                .iter()
                .map(move |e| (r.name.as_str(), l.path.as_str(), e))
        })
        .collect();
    if !deployed.is_empty() {
        let verified = deployed.iter().filter(|(_, _, e)| e.verified()).count();
        writeln!(
            out,
            "
Deployed images: {verified} of {} verified",
            count(deployed.len(), "environment", "environments")
        )?;
        for (repository, lambda, environment) in deployed.iter().filter(|(_, _, e)| !e.verified()) {
            let what = match &environment.error {
                Some(error) => format!("cannot trace: {error}"),
                None if environment.versions.is_empty() => "serves no version".to_string(),
                None => (environment.versions.iter())
                    .map(|v| {
                        format!(
                            "version {} ({}%) {}{}{}",
                            v.version,
                            v.weight,
                            v.verdict,
                            v.reason
                                .as_deref()
                                .map(|r| format!(": {r}"))
                                .unwrap_or_default(),
                            v.base
                                .as_deref()
                                .map(|b| format!("; base {b}"))
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            };
            writeln!(
                out,
                "  {repository}/{lambda} {} {}: {what}",
                environment.environment, environment.function
            )?;
        }
    }
    // A repository read without error but with no Lambda: the gate found nothing it judges
    // there, which is worth seeing (a Dockerfile under a name the policy does not list?).
    let without: Vec<&str> = report
        .repositories
        .iter()
        .filter(|r| r.error.is_none() && r.lambdas.is_empty())
        .map(|r| r.name.as_str())
        .collect();
    if !without.is_empty() {
        let shown: Vec<&str> = without.iter().take(20).copied().collect();
        let more = without.len() - shown.len();
        writeln!(
            out,
            "\n{} {} no Lambda: {}{}",
            without.len(),
            if without.len() == 1 {
                "repository holds"
            } else {
                "repositories hold"
            },
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )?;
    }
    if !s.by_rule.is_empty() {
        writeln!(out, "\nViolations by rule:")?;
        for (rule, count) in most_frequent_first(s) {
            writeln!(
                out,
                "  {rule:<7} {:<30} {count:>7}",
                registry::name_of(rule)
            )?;
        }
    }
    if !s.worst.is_empty() {
        writeln!(out, "\nWorst repositories:")?;
        for repository in &s.worst {
            writeln!(
                out,
                "  {:<40} {:>5} {}, {}",
                repository.name,
                repository.errors,
                if repository.errors == 1 {
                    "error"
                } else {
                    "errors"
                },
                count(
                    repository.lambdas_failed,
                    "failing Lambda",
                    "failing Lambdas"
                )
            )?;
        }
    }
    if let Some(baseline) = &report.baseline {
        writeln!(
            out,
            "\nBaseline `{}`: {} not reported",
            baseline.file,
            count(baseline.hidden, "known violation", "known violations")
        )?;
    }
    if let Some(trend) = &report.trend {
        writeln!(
            out,
            "\nSince the last sweep: errors {} -> {} ({}), failing Lambdas {} -> {} ({}); {}, {} fixed",
            trend.errors.before,
            trend.errors.now,
            signed(trend.errors.delta()),
            trend.lambdas_failed.before,
            trend.lambdas_failed.now,
            signed(trend.lambdas_failed.delta()),
            count(trend.introduced, "new violation", "new violations"),
            trend.fixed
        )?;
        for (rule, change) in &trend.by_rule {
            writeln!(
                out,
                "  {rule:<7} {:<30} {:>5} -> {:<5} ({})",
                registry::name_of(rule),
                change.before,
                change.now,
                signed(change.delta())
            )?;
        }
    }
    if !report.fixes.is_empty() {
        let files: usize = report.fixes.iter().map(|f| f.files.len()).sum();
        writeln!(
            out,
            "\nFixes in {}, {}:",
            count(report.fixes.len(), "repository", "repositories"),
            count(files, "file", "files")
        )?;
        for fix in &report.fixes {
            let rules: Vec<String> = fix.rules.iter().map(|(r, n)| format!("{r} x{n}")).collect();
            let outcome = match (&fix.push, &fix.error, &fix.branch, &fix.commit) {
                (Some(push), _, _, _) => {
                    let commit = push
                        .commit
                        .as_deref()
                        .map_or(String::new(), |c| format!(" ({})", &c[..c.len().min(12)]));
                    format!(
                        "{} `{}` on {}{commit}",
                        push.status.as_str(),
                        push.branch,
                        push.remote
                    )
                }
                (None, Some(error), _, _) => format!("not committed: {error}"),
                (None, None, Some(branch), Some(commit)) => {
                    format!(
                        "committed on `{branch}` ({})",
                        &commit[..commit.len().min(12)]
                    )
                }
                _ => "dry run".to_string(),
            };
            writeln!(
                out,
                "  {}: {} ({}), {outcome}",
                fix.repository,
                count(fix.files.len(), "file", "files"),
                rules.join(", ")
            )?;
            if let Some(push) = &fix.push {
                if let Some(reason) = &push.reason {
                    writeln!(out, "    {reason}")?;
                } else if let (Some(error), false) = (&fix.error, push.status.is_ok()) {
                    writeln!(out, "    {error}")?;
                }
                if let Some(url) = push.compare_url.as_ref().filter(|_| push.status.is_ok()) {
                    writeln!(out, "    compare: {url}")?;
                }
            }
        }
        // A dry run shows what would change: the diff, or with --push the commits.
        for fix in report.fixes.iter().filter(|f| f.branch.is_none()) {
            write!(out, "\n{}", fix.diff)?;
        }
        for fix in report.fixes.iter() {
            let would = fix.push.as_ref().is_some_and(|p| {
                matches!(p.status, PushStatus::WouldCreate | PushStatus::WouldUpdate)
            });
            if let (true, Some(message)) = (would, &fix.message) {
                writeln!(
                    out,
                    "\n{}: the commit that would be pushed, changing {}:",
                    fix.repository,
                    fix.files.join(", ")
                )?;
                for line in message.lines() {
                    writeln!(out, "    {line}")?;
                }
            }
        }
    }
    Ok(())
}

/// Escapes what Markdown would read as markup in a table cell.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '<' | '>' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// Markdown for a Jenkins job description (or a wiki page).
pub fn render_markdown(report: &SweepReport, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    writeln!(out, "## lambda-gate sweep")?;
    if let Some(shard) = &report.shard {
        writeln!(out, "\nShard {shard}.")?;
    }
    writeln!(
        out,
        "\n| Repositories | Unreadable | Lambdas | Passed | Failed | Not checked | Errors | Warnings |"
    )?;
    writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} |",
        s.repositories,
        s.repositories_unreadable,
        s.lambdas,
        s.lambdas_passed,
        s.lambdas_failed,
        s.lambdas_not_checked,
        s.errors,
        s.warnings
    )?;
    if !s.by_rule.is_empty() {
        writeln!(
            out,
            "\n### Violations by rule\n\n| Rule | Name | Count |\n|---|---|---:|"
        )?;
        for (rule, count) in most_frequent_first(s) {
            writeln!(out, "| {rule} | {} | {count} |", registry::name_of(rule))?;
        }
    }
    if !s.worst.is_empty() {
        writeln!(out, "\n### Worst repositories\n\n| Repository | Errors | Failing Lambdas |\n|---|---:|---:|")?;
        for repository in &s.worst {
            writeln!(
                out,
                "| {} | {} | {} |",
                cell(&repository.name),
                repository.errors,
                repository.lambdas_failed
            )?;
        }
    }
    let unreadable = unreadable(report);
    if !unreadable.is_empty() {
        writeln!(
            out,
            "\n### Could not be swept\n\n| Repository | Why |\n|---|---|"
        )?;
        for repository in unreadable {
            writeln!(
                out,
                "| {} | {} |",
                cell(&repository.name),
                cell(repository.error.as_deref().unwrap_or_default())
            )?;
        }
    }
    if let Some(trend) = &report.trend {
        writeln!(
            out,
            "\n### Since the last sweep\n\n| | Before | Now | Change |\n|---|---:|---:|---:|"
        )?;
        for (label, change) in [
            ("Errors", trend.errors),
            ("Warnings", trend.warnings),
            ("Failing Lambdas", trend.lambdas_failed),
        ] {
            writeln!(
                out,
                "| {label} | {} | {} | {} |",
                change.before,
                change.now,
                signed(change.delta())
            )?;
        }
        writeln!(
            out,
            "\n{} new violations, {} fixed.",
            trend.introduced, trend.fixed
        )?;
    }
    if let Some(baseline) = &report.baseline {
        writeln!(
            out,
            "\nBaseline `{}`: {} known violations not reported.",
            cell(&baseline.file),
            baseline.hidden
        )?;
    }
    Ok(())
}

/// `, 3 not checked` when some Lambdas' code could not be read, else nothing.
fn not_checked(summary: &crate::sweep::report::Summary) -> String {
    match summary.lambdas_not_checked {
        0 => String::new(),
        n => format!(", {n} not checked"),
    }
}
