//! Adoption and trend: a baseline of known violations that a sweep then leaves out, and the
//! comparison of a sweep with an earlier one.
//!
//! A violation is identified by its repository, file, rule and message, not its line: code
//! moving up or down does not make a known violation new. Equal identities are counted, so
//! a second copy of a known violation is reported.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::report::{DiagnosticRecord, RepositoryRecord, Summary, SweepReport};

pub const BASELINE_VERSION: u32 = 1;

/// What identifies a violation across sweeps.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Identity {
    pub repository: String,
    pub file: String,
    pub rule: String,
    pub message: String,
}

impl Identity {
    fn of(repository: &str, diagnostic: &DiagnosticRecord) -> Self {
        Identity {
            repository: repository.to_string(),
            file: diagnostic.file.clone(),
            rule: diagnostic.rule.clone(),
            message: diagnostic.message.clone(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct BaselineFile {
    baseline_version: u32,
    violations: Vec<BaselineEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct BaselineEntry {
    #[serde(flatten)]
    identity: Identity,
    count: usize,
}

/// Known violations, counted.
#[derive(Debug, Default)]
pub struct Baseline(BTreeMap<Identity, usize>);

/// Every violation (error or warning) of `repositories`, counted by identity.
fn violations(repositories: &[RepositoryRecord]) -> BTreeMap<Identity, usize> {
    let mut counts = BTreeMap::new();
    for repository in repositories {
        for diagnostic in repository.diagnostics().filter(|d| d.is_violation()) {
            *counts
                .entry(Identity::of(&repository.name, diagnostic))
                .or_default() += 1;
        }
    }
    counts
}

impl Baseline {
    pub fn of(report: &SweepReport) -> Self {
        Baseline(violations(&report.repositories))
    }

    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the baseline `{}`", path.display()))?;
        Self::parse(&text).with_context(|| format!("`{}`", path.display()))
    }

    /// Parses a baseline's JSON, as `sweep --write-baseline` writes it.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let file: BaselineFile = serde_json::from_str(text)
            .context("is not a baseline written by `sweep --write-baseline`")?;
        if file.baseline_version != BASELINE_VERSION {
            anyhow::bail!(
                "is baseline version {}; this lambda-gate reads version {BASELINE_VERSION}",
                file.baseline_version
            );
        }
        let mut counts = BTreeMap::new();
        for entry in file.violations {
            *counts.entry(entry.identity).or_default() += entry.count;
        }
        Ok(Baseline(counts))
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let file = BaselineFile {
            baseline_version: BASELINE_VERSION,
            violations: self
                .0
                .iter()
                .map(|(identity, count)| BaselineEntry {
                    identity: identity.clone(),
                    count: *count,
                })
                .collect(),
        };
        let text = serde_json::to_string_pretty(&file)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write the baseline `{}`", path.display()))
    }

    pub fn len(&self) -> usize {
        self.0.values().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Removes the known violations from `report` (as many of each identity as the baseline
    /// counts) and recomputes verdicts and summary. Returns how many were hidden.
    pub fn apply(&self, report: &mut SweepReport) -> usize {
        let mut left = self.0.clone();
        let mut hidden = 0;
        let mut known = |repository: &str, diagnostic: &DiagnosticRecord| -> bool {
            if !diagnostic.is_violation() {
                return false;
            }
            match left.get_mut(&Identity::of(repository, diagnostic)) {
                Some(count) if *count > 0 => {
                    *count -= 1;
                    hidden += 1;
                    true
                }
                _ => false,
            }
        };
        for repository in &mut report.repositories {
            let name = repository.name.clone();
            for lambda in &mut repository.lambdas {
                lambda.diagnostics.retain(|d| !known(&name, d));
                lambda.recount();
            }
            repository.other.retain(|d| !known(&name, d));
        }
        report.summary = Summary::of(&report.repositories);
        hidden
    }
}

/// What got better or worse since an earlier sweep.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Trend {
    pub lambdas_failed: Change,
    pub errors: Change,
    pub warnings: Change,
    /// Violations in this sweep that the earlier one did not have.
    pub introduced: usize,
    /// Violations of the earlier sweep that are gone.
    pub fixed: usize,
    /// Per rule, where the count changed.
    pub by_rule: BTreeMap<String, Change>,
    /// Per repository, where the error count changed (worse first).
    pub repositories: Vec<RepositoryChange>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Change {
    pub before: usize,
    pub now: usize,
}

impl Change {
    pub fn delta(&self) -> i64 {
        self.now as i64 - self.before as i64
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RepositoryChange {
    pub name: String,
    pub errors: Change,
}

impl Trend {
    pub fn between(old: &SweepReport, new: &SweepReport) -> Self {
        let before = violations(&old.repositories);
        let now = violations(&new.repositories);
        let surplus = |a: &BTreeMap<Identity, usize>, b: &BTreeMap<Identity, usize>| -> usize {
            a.iter()
                .map(|(id, n)| n.saturating_sub(b.get(id).copied().unwrap_or(0)))
                .sum()
        };
        let mut by_rule: BTreeMap<String, Change> = BTreeMap::new();
        for (rule, n) in &old.summary.by_rule {
            by_rule.entry(rule.clone()).or_default().before = *n;
        }
        for (rule, n) in &new.summary.by_rule {
            by_rule.entry(rule.clone()).or_default().now = *n;
        }
        by_rule.retain(|_, change| change.before != change.now);
        let mut errors: BTreeMap<&str, Change> = BTreeMap::new();
        for repository in &old.repositories {
            errors.entry(&repository.name).or_default().before = repository.errors();
        }
        for repository in &new.repositories {
            errors.entry(&repository.name).or_default().now = repository.errors();
        }
        let mut repositories: Vec<RepositoryChange> = errors
            .into_iter()
            .filter(|(_, change)| change.before != change.now)
            .map(|(name, errors)| RepositoryChange {
                name: name.to_string(),
                errors,
            })
            .collect();
        repositories.sort_by(|a, b| {
            b.errors
                .delta()
                .cmp(&a.errors.delta())
                .then_with(|| a.name.cmp(&b.name))
        });
        Trend {
            lambdas_failed: Change {
                before: old.summary.lambdas_failed,
                now: new.summary.lambdas_failed,
            },
            errors: Change {
                before: old.summary.errors,
                now: new.summary.errors,
            },
            warnings: Change {
                before: old.summary.warnings,
                now: new.summary.warnings,
            },
            introduced: surplus(&now, &before),
            fixed: surplus(&before, &now),
            by_rule,
            repositories,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Severity;
    use crate::sweep::report::LambdaRecord;

    fn violation(line: usize, message: &str) -> DiagnosticRecord {
        DiagnosticRecord {
            file: "fn/Dockerfile".into(),
            line,
            column: 1,
            rule: "DKR008".into(),
            severity: Severity::Error,
            message: message.into(),
            fixable: false,
            grace_until: None,
        }
    }

    fn report(diagnostics: Vec<DiagnosticRecord>) -> SweepReport {
        let mut lambda = LambdaRecord {
            path: "fn".into(),
            passed: true,
            checked: Some(crate::check::Checked::Fully),
            errors: 0,
            warnings: 0,
            diagnostics,
            deployed: Vec::new(),
        };
        lambda.recount();
        let repository = RepositoryRecord {
            name: "org/orders".into(),
            source: "/srv/orders".into(),
            commit: None,
            error: None,
            files_checked: 1,
            lambdas: vec![lambda],
            other: Vec::new(),
        };
        SweepReport::new(vec![repository], None)
    }

    #[test]
    fn known_violations_are_matched_by_identity_not_line_and_counted() {
        let baseline = Baseline::of(&report(vec![violation(3, "secret A")]));
        // The known one moved down two lines; a second copy of it is new.
        let mut now = report(vec![violation(5, "secret A"), violation(9, "secret A")]);
        assert_eq!(baseline.apply(&mut now), 1);
        let left = &now.repositories[0].lambdas[0];
        assert_eq!(left.diagnostics.len(), 1);
        assert!(!left.passed);
        assert_eq!(now.summary.errors, 1);
    }

    #[test]
    fn a_baseline_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baseline.json");
        let baseline = Baseline::of(&report(vec![violation(1, "a"), violation(2, "a")]));
        baseline.write(&path).unwrap();
        let read = Baseline::read(&path).unwrap();
        assert_eq!(read.len(), 2);
        let mut now = report(vec![violation(1, "a"), violation(2, "a")]);
        assert_eq!(read.apply(&mut now), 2);
        assert!(now.passed());
        assert!(Baseline::parse("{\"baseline_version\": 9, \"violations\": []}").is_err());
    }

    #[test]
    fn the_trend_counts_new_and_fixed_violations() {
        let old = report(vec![violation(1, "a"), violation(2, "b")]);
        let new = report(vec![
            violation(1, "a"),
            violation(4, "c"),
            violation(5, "c"),
        ]);
        let trend = Trend::between(&old, &new);
        assert_eq!((trend.introduced, trend.fixed), (2, 1));
        assert_eq!(trend.errors, Change { before: 2, now: 3 });
        assert_eq!(trend.repositories[0].errors.delta(), 1);
    }
}
