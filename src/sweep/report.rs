//! The sweep report: one record per repository and Lambda, a stable documented schema
//! (`schema_version`), and the summary every renderer shows. Shard reports merge into one. A Lambda passes only when it has
//! no errors and its code was read; one of which nothing was read is counted as not checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::check::{CheckResult, Checked};
use crate::diagnostic::{Diagnostic, Severity};
use crate::report::display_path;

/// Bumped on any change a reader of the JSON could notice. Version 2 added how much of each
/// Lambda was read (`checked`) and the Lambdas not checked; reports of version 1 are still read
/// (their Lambdas have no `checked`).
pub const SCHEMA_VERSION: u32 = 2;

/// The oldest schema version a report is still read in.
const OLDEST_READ: u32 = 1;

/// Rules a sweep does not apply. COV006 compares modification times, and a checkout's are the
/// times git wrote the files, not the times they were changed.
pub const NOT_APPLIED: &[&str] = &["COV006"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SweepReport {
    pub schema_version: u32,
    pub tool_version: String,
    /// `K/N` when this report is one shard of a sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    pub rules_not_applied: Vec<String>,
    /// Set when `--baseline` hid known violations: how many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineUse>,
    pub summary: Summary,
    /// Sorted by name.
    pub repositories: Vec<RepositoryRecord>,
    /// Set with `--compare OLD.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trend: Option<super::baseline::Trend>,
    /// Set with `--fix`: what changed where.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<super::fix::FixRecord>,
    /// How many records an earlier sweep of the same commits made (the results cache). Said on
    /// standard error, never part of the report, which is the same either way.
    #[serde(skip)]
    pub kept: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BaselineUse {
    pub file: String,
    pub hidden: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub repositories: usize,
    /// Repositories with a failing Lambda or a violation outside any Lambda.
    pub repositories_failed: usize,
    /// Repositories that could not be cloned, fetched or read.
    pub repositories_unreadable: usize,
    pub lambdas: usize,
    /// Lambdas without errors of which the gate read the code.
    pub lambdas_passed: usize,
    pub lambdas_failed: usize,
    /// Lambdas without errors of which none of the Python code could be located (LG007 says
    /// why): neither passed nor failed.
    #[serde(default)]
    pub lambdas_not_checked: usize,
    pub files_checked: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Violations (errors and warnings) per rule.
    pub by_rule: BTreeMap<String, usize>,
    /// Up to ten repositories with the most errors, worst first.
    pub worst: Vec<RepositoryCount>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RepositoryCount {
    pub name: String,
    pub errors: usize,
    pub lambdas_failed: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RepositoryRecord {
    pub name: String,
    /// The checkout's path or the URL it was cloned from.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Why the repository could not be swept (clone, fetch, configuration); then no Lambdas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub files_checked: usize,
    pub lambdas: Vec<LambdaRecord>,
    /// Diagnostics outside every Lambda (shared Terraform, the repository's configuration).
    pub other: Vec<DiagnosticRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LambdaRecord {
    /// The Lambda's directory relative to the repository (`.` for its root).
    pub path: String,
    /// No errors, and the code was read: a Lambda of which nothing was read never passes.
    pub passed: bool,
    /// How much of its code the gate read (the least of its images); absent in reports of
    /// schema version 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked: Option<Checked>,
    pub errors: usize,
    pub warnings: usize,
    pub diagnostics: Vec<DiagnosticRecord>,
    /// With `sweep --deployed`: each environment the Lambda's policy deploys it to, and whether
    /// every image serving there carries a valid gate verdict. Never kept in the results cache:
    /// what runs changes without a commit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployed: Vec<DeployedRecord>,
}

/// An environment of a Lambda's policy (`[deploy.environments.NAME]`), as `lambda-gate trace
/// --environment NAME` reads it: the versions its alias serves and each one's verdict.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeployedRecord {
    pub environment: String,
    /// `FUNCTION:ALIAS`.
    pub function: String,
    /// Why it could not be read (AWS, the registry, the environment's key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Every version the alias sends traffic to, the main one first.
    #[serde(default)]
    pub versions: Vec<DeployedVersion>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeployedVersion {
    pub version: String,
    /// Percent of the alias's traffic.
    pub weight: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// `verified`, `refused`, `unchecked` (the environment names no attestation key),
    /// `missing` or `untraceable`: the statuses of `lambda-gate trace`.
    pub verdict: String,
    /// Why it is not verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The base the image runs on, as `lambda-gate fleet` judges it (`current`, `in grace until
    /// 2026-12-16`, `past grace since ...`, `outdated: ...`, `unapproved`, `unknown: ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
}

impl DeployedRecord {
    /// Every serving version's verdict verified against the environment's key and policy.
    pub fn verified(&self) -> bool {
        self.error.is_none()
            && !self.versions.is_empty()
            && self.versions.iter().all(|v| v.verdict == "verified")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct DiagnosticRecord {
    /// Relative to the repository.
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    pub fixable: bool,
    /// A warning held until this day (UTC), an error after it (a base's previous digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_until: Option<crate::date::Date>,
}

impl RepositoryRecord {
    /// Whether the record's verdict still holds on `today`: no warning in it held only until
    /// an earlier day (a base's previous digest past its grace date is an error now).
    pub fn current_on(&self, today: crate::date::Date) -> bool {
        (self.lambdas.iter().flat_map(|l| &l.diagnostics))
            .chain(&self.other)
            .filter_map(|d| d.grace_until)
            .all(|until| until >= today)
    }
}

impl DiagnosticRecord {
    fn of(diagnostic: &Diagnostic) -> Self {
        DiagnosticRecord {
            file: display_path(&diagnostic.path),
            line: diagnostic.start.line,
            column: diagnostic.start.column,
            rule: diagnostic.rule.to_string(),
            severity: diagnostic.severity,
            message: diagnostic.message.clone(),
            fixable: diagnostic.fix.is_some(),
            grace_until: diagnostic.grace_until,
        }
    }

    pub fn is_violation(&self) -> bool {
        self.severity != Severity::Info
    }
}

impl LambdaRecord {
    fn new(path: String, checked: Checked, diagnostics: Vec<DiagnosticRecord>) -> Self {
        let mut record = LambdaRecord {
            path,
            passed: true,
            checked: Some(checked),
            errors: 0,
            warnings: 0,
            diagnostics,
            deployed: Vec::new(),
        };
        record.recount();
        record
    }

    /// Recomputes the counts and the verdict from the diagnostics (after a baseline hid some).
    pub fn recount(&mut self) {
        self.errors = count(&self.diagnostics, Severity::Error);
        self.warnings = count(&self.diagnostics, Severity::Warning);
        self.passed = self.errors == 0 && self.checked != Some(Checked::NotChecked);
    }

    /// Neither passed nor failed: no errors, but nothing of its code was read.
    pub fn not_checked(&self) -> bool {
        self.errors == 0 && self.checked == Some(Checked::NotChecked)
    }
}

/// Whether `file` (relative to the repository) lies directly in `dir` (`.` for its root).
fn in_directory(file: &Path, dir: &Path) -> bool {
    let parent = file.parent().unwrap_or(Path::new(""));
    parent == dir || (dir.as_os_str() == "." && parent.as_os_str().is_empty())
}

fn count(diagnostics: &[DiagnosticRecord], severity: Severity) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .count()
}

impl RepositoryRecord {
    /// A repository that could not be swept.
    pub fn unreadable(name: String, source: String, error: String) -> Self {
        RepositoryRecord {
            name,
            source,
            commit: None,
            error: Some(error),
            files_checked: 0,
            lambdas: Vec::new(),
            other: Vec::new(),
        }
    }

    /// The record of a checked repository: each diagnostic goes to the Lambda whose directory
    /// holds its file (the nearest, for nested Lambdas), or to `other`. Paths in `result` are
    /// relative to the repository.
    pub fn from_check(
        name: String,
        source: String,
        commit: Option<String>,
        result: &CheckResult,
    ) -> Self {
        let mut by_lambda: Vec<Vec<DiagnosticRecord>> = vec![Vec::new(); result.lambda_dirs.len()];
        let mut other = Vec::new();
        for diagnostic in &result.diagnostics {
            if NOT_APPLIED.contains(&diagnostic.rule) {
                continue;
            }
            let record = DiagnosticRecord::of(diagnostic);
            // Lambda directories are sorted, so the last that holds the file is the nearest.
            let owner = result
                .lambda_dirs
                .iter()
                .rposition(|dir| dir.as_os_str() == "." || diagnostic.path.starts_with(dir));
            match owner {
                Some(index) => by_lambda[index].push(record),
                None => other.push(record),
            }
        }
        let lambdas = result
            .lambda_dirs
            .iter()
            .zip(by_lambda)
            .map(|(dir, diagnostics)| {
                let images = result
                    .lambda_images
                    .iter()
                    .filter(|(dockerfile, _)| in_directory(dockerfile, dir))
                    .map(|(_, checked)| *checked);
                LambdaRecord::new(display_path(dir), Checked::least(images), diagnostics)
            })
            .collect();
        RepositoryRecord {
            name,
            source,
            commit,
            error: None,
            files_checked: result.files_checked,
            lambdas,
            other,
        }
    }

    pub fn errors(&self) -> usize {
        self.lambdas.iter().map(|l| l.errors).sum::<usize>() + count(&self.other, Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.lambdas.iter().map(|l| l.warnings).sum::<usize>()
            + count(&self.other, Severity::Warning)
    }

    pub fn lambdas_failed(&self) -> usize {
        self.lambdas.iter().filter(|l| l.errors > 0).count()
    }

    pub fn lambdas_not_checked(&self) -> usize {
        self.lambdas.iter().filter(|l| l.not_checked()).count()
    }

    pub fn passed(&self) -> bool {
        self.error.is_none() && self.errors() == 0
    }

    /// Every diagnostic, Lambda by Lambda, then those outside any Lambda.
    pub fn diagnostics(&self) -> impl Iterator<Item = &DiagnosticRecord> {
        self.lambdas
            .iter()
            .flat_map(|l| &l.diagnostics)
            .chain(&self.other)
    }
}

impl Summary {
    pub fn of(repositories: &[RepositoryRecord]) -> Self {
        let mut summary = Summary {
            repositories: repositories.len(),
            ..Summary::default()
        };
        for repository in repositories {
            if repository.error.is_some() {
                summary.repositories_unreadable += 1;
                continue;
            }
            if repository.errors() > 0 {
                summary.repositories_failed += 1;
            }
            summary.lambdas += repository.lambdas.len();
            summary.lambdas_failed += repository.lambdas_failed();
            summary.lambdas_not_checked += repository.lambdas_not_checked();
            summary.files_checked += repository.files_checked;
            summary.errors += repository.errors();
            summary.warnings += repository.warnings();
            for diagnostic in repository.diagnostics().filter(|d| d.is_violation()) {
                *summary.by_rule.entry(diagnostic.rule.clone()).or_default() += 1;
            }
        }
        summary.lambdas_passed =
            summary.lambdas - summary.lambdas_failed - summary.lambdas_not_checked;
        let mut worst: Vec<RepositoryCount> = repositories
            .iter()
            .filter(|r| r.errors() > 0)
            .map(|r| RepositoryCount {
                name: r.name.clone(),
                errors: r.errors(),
                lambdas_failed: r.lambdas_failed(),
            })
            .collect();
        worst.sort_by(|a, b| b.errors.cmp(&a.errors).then_with(|| a.name.cmp(&b.name)));
        worst.truncate(10);
        summary.worst = worst;
        summary
    }
}

impl SweepReport {
    pub fn new(mut repositories: Vec<RepositoryRecord>, shard: Option<String>) -> Self {
        repositories.sort_by(|a, b| a.name.cmp(&b.name));
        SweepReport {
            schema_version: SCHEMA_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            shard,
            rules_not_applied: NOT_APPLIED.iter().map(|r| (*r).to_string()).collect(),
            baseline: None,
            summary: Summary::of(&repositories),
            repositories,
            trend: None,
            fixes: Vec::new(),
            kept: 0,
        }
    }

    /// Whether every repository was read and no Lambda fails.
    pub fn passed(&self) -> bool {
        self.summary.repositories_unreadable == 0 && self.summary.errors == 0
    }

    /// Reads a report written by `sweep --format json` (or `--json`).
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the sweep report `{}`", path.display()))?;
        Self::parse(&text).with_context(|| format!("`{}`", path.display()))
    }

    /// Parses a report's JSON; a report of another schema version is refused by name.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let value: serde_json::Value = serde_json::from_str(text).context("is not JSON")?;
        match value.get("schema_version").and_then(serde_json::Value::as_u64) {
            Some(v) if (u64::from(OLDEST_READ)..=u64::from(SCHEMA_VERSION)).contains(&v) => {}
            Some(v) => anyhow::bail!(
                "has sweep report schema version {v}; this lambda-gate reads versions {OLDEST_READ} to {SCHEMA_VERSION}"
            ),
            None => anyhow::bail!("is not a lambda-gate sweep report"),
        }
        serde_json::from_value(value).context("is not a valid sweep report")
    }

    /// One report from the shard reports of one sweep. A repository in two shards is an error:
    /// the shards were not of the same list, or one was given twice.
    pub fn merge(reports: Vec<SweepReport>) -> anyhow::Result<Self> {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut repositories = Vec::new();
        let mut fixes = Vec::new();
        let mut hidden = None::<BaselineUse>;
        for report in reports {
            for repository in report.repositories {
                if !seen.insert(repository.name.clone()) {
                    anyhow::bail!(
                        "repository `{}` is in more than one report: merge the shards of one sweep, each once",
                        repository.name
                    );
                }
                repositories.push(repository);
            }
            fixes.extend(report.fixes);
            if let Some(baseline) = report.baseline {
                match &mut hidden {
                    Some(total) => total.hidden += baseline.hidden,
                    None => hidden = Some(baseline),
                }
            }
        }
        let mut merged = SweepReport::new(repositories, None);
        merged.fixes = fixes;
        merged.baseline = hidden;
        Ok(merged)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::diagnostic::LineCol;

    fn diagnostic(path: &str, rule: &'static str, severity: Severity) -> Diagnostic {
        Diagnostic {
            rule,
            severity,
            path: path.into(),
            span: 0..0,
            start: LineCol { line: 1, column: 1 },
            end: LineCol { line: 1, column: 1 },
            message: format!("{rule} here"),
            help: None,
            fix: None,
            about_directory: false,
            grace_until: None,
        }
    }

    fn result(diagnostics: Vec<Diagnostic>, images: &[(&str, Checked)]) -> CheckResult {
        CheckResult {
            diagnostics,
            sources: BTreeMap::new(),
            files_checked: 4,
            lambda_dirs: vec![PathBuf::from("."), PathBuf::from("unread")],
            lambda_images: images
                .iter()
                .map(|(path, checked)| (PathBuf::from(path), *checked))
                .collect(),
            elapsed: std::time::Duration::ZERO,
            ..CheckResult::default()
        }
    }

    #[test]
    fn a_lambda_of_which_nothing_was_read_is_not_checked_not_passed() {
        let checked = result(
            vec![diagnostic("unread/Dockerfile", "LG007", Severity::Warning)],
            &[
                ("Dockerfile", Checked::Fully),
                ("unread/Dockerfile", Checked::NotChecked),
            ],
        );
        let record = RepositoryRecord::from_check("org/a".into(), "/a".into(), None, &checked);
        let [root, unread] = &record.lambdas[..] else {
            panic!("{record:?}")
        };
        assert!(
            root.passed && root.checked == Some(Checked::Fully),
            "{root:?}"
        );
        assert!(!unread.passed && unread.not_checked(), "{unread:?}");
        let summary = Summary::of(&[record]);
        assert_eq!(
            (
                summary.lambdas,
                summary.lambdas_passed,
                summary.lambdas_failed,
                summary.lambdas_not_checked
            ),
            (2, 1, 0, 1)
        );
    }

    #[test]
    fn errors_fail_a_lambda_whatever_was_read() {
        let checked = result(
            vec![diagnostic("unread/Dockerfile", "DKR007", Severity::Error)],
            &[
                ("Dockerfile", Checked::Partly),
                ("unread/Dockerfile", Checked::NotChecked),
                ("unread/Dockerfile.worker", Checked::Fully),
            ],
        );
        let record = RepositoryRecord::from_check("org/a".into(), "/a".into(), None, &checked);
        assert!(record.lambdas[0].passed, "a partly read Lambda passes");
        assert_eq!(record.lambdas[1].checked, Some(Checked::NotChecked));
        let summary = Summary::of(&[record]);
        assert_eq!(
            (
                summary.lambdas_passed,
                summary.lambdas_failed,
                summary.lambdas_not_checked
            ),
            (1, 1, 0)
        );
    }
}
