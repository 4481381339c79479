//! Coverage rules: thresholds decided exactly as coverage.py decides them, diff coverage,
//! and the report's presence and freshness. These rules see a whole Lambda: its report (read
//! once, streamed) and its files.

pub mod cobertura;
pub mod coverage_json;
pub mod diff;
pub mod lcov;
pub mod numbers;
pub mod report;
pub mod settings;
pub mod unit;

pub mod cov001_report_unreadable;
pub mod cov002_coverage_below_threshold;
pub mod cov003_path_coverage_below_threshold;
pub mod cov004_branch_coverage_missing;
pub mod cov005_report_missing;
pub mod cov006_report_stale;
pub mod cov007_diff_coverage_below_threshold;
pub mod cov008_report_paths_unmapped;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::diagnostic::{Finding, LineCol};
use crate::policy::EffectivePolicy;
use crate::units::{FileKind, Lambda, LambdaFile};

use numbers::Counts;
use report::{CoverageData, ReadError};

/// A finding placed by line and column (reports are streamed, not held as text).
#[derive(Debug, Clone)]
pub struct Located {
    pub path: PathBuf,
    pub start: LineCol,
    pub finding: Finding,
}

impl Located {
    pub fn at(path: &Path, line: usize, column: usize, finding: Finding) -> Located {
        Located {
            path: path.to_path_buf(),
            start: LineCol {
                line: line.max(1),
                column: column.max(1),
            },
            finding,
        }
    }
}

/// The report of a Lambda, read once.
pub struct Report {
    pub file: LambdaFile,
    pub data: Result<CoverageData, ReadError>,
    /// For each file of the report, the Lambda file it is (relative path), if any.
    pub mapped: Vec<Option<String>>,
    /// When the report was last written, as its open file said.
    pub modified: Option<SystemTime>,
}

/// What a coverage rule sees.
pub struct Context<'a> {
    pub lambda: &'a Lambda,
    pub policy: &'a EffectivePolicy,
    pub report: Option<Report>,
    /// `coverage report`'s precision for this Lambda.
    pub precision: u32,
    /// With `--diff-base`: the ref, and the added lines per Lambda-relative path.
    pub diff: Option<(&'a str, &'a HashMap<String, Vec<u32>>)>,
}

impl Context<'_> {
    pub fn data(&self) -> Option<(&Report, &CoverageData)> {
        let report = self.report.as_ref()?;
        report.data.as_ref().ok().map(|data| (report, data))
    }

    /// Whether the Lambda has tests a report should come from: a file pytest or unittest
    /// collects by default. A `tests/` directory holding only `__init__.py` or helpers has none.
    pub fn has_tests(&self) -> bool {
        self.lambda
            .files
            .iter()
            .any(|f| is_collected_test(&f.relative))
    }

    /// Counts over the report's files whose Lambda path satisfies `keep`.
    pub fn counts_where(&self, keep: impl Fn(&str) -> bool) -> Option<Counts> {
        let (report, data) = self.data()?;
        let mut counts = Counts::default();
        let mut any = false;
        for (file, mapped) in data.files.iter().zip(&report.mapped) {
            if mapped.as_deref().is_some_and(&keep) {
                counts.add(&file.counts);
                any = true;
            }
        }
        any.then_some(counts)
    }
}

/// A file test runners collect by default: pytest's `test_*.py` and `*_test.py`, unittest's
/// `test*.py`.
pub fn is_collected_test(relative: &str) -> bool {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    name.ends_with(".py") && (name.starts_with("test") || name.ends_with("_test.py"))
}

/// A file of the test suite: a collected test, or anything under a `tests/` directory
/// (`conftest.py`, helpers, the package's `__init__.py`). Not first-party code.
pub fn is_test_file(relative: &str) -> bool {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    name.ends_with(".py")
        && (relative.starts_with("tests/")
            || relative.contains("/tests/")
            || name.starts_with("test_")
            || name.ends_with("_test.py"))
}

/// A Lambda's report file, found by opening it: one lookup of its path, not a `stat` and
/// then an open.
pub struct FoundReport {
    pub file: LambdaFile,
    /// The open report and its size, or why it cannot be opened (it is there, but unreadable).
    pub opened: std::io::Result<(std::fs::File, u64)>,
    /// When it was last written, as the open file says.
    pub modified: Option<SystemTime>,
}

impl FoundReport {
    /// Reads the report, unless it is over the policy's size limit.
    pub fn read(
        self,
        policy: &EffectivePolicy,
        keep_lines: bool,
    ) -> (LambdaFile, Result<CoverageData, ReadError>) {
        let limit = policy.policy.coverage.max_report_size;
        let data = match self.opened {
            Ok((_, size)) if size > limit => Err(ReadError::at_start(format!(
                "the report is {size} bytes, over the {limit}-byte limit (coverage max-report-size)"
            ))),
            Ok((file, size)) => report::read_open(&self.file.path, file, size, keep_lines),
            Err(error) => Err(ReadError::at_start(format!(
                "cannot read the report: {error}"
            ))),
        };
        (self.file, data)
    }
}

/// The report file of a Lambda: the first of the policy's `reports` that is there. Looked up
/// directly, not through the walk: reports are build output and usually git-ignored.
pub fn find_report(lambda: &Lambda, policy: &EffectivePolicy) -> Option<FoundReport> {
    report_in(&lambda.dir, policy)
}

/// The report file of the Lambda in `dir` (see [`find_report`]).
pub fn report_in(dir: &Path, policy: &EffectivePolicy) -> Option<FoundReport> {
    policy.policy.coverage.reports.iter().find_map(|name| {
        let path = dir.join(name);
        let (opened, modified) = match crate::fsio::open_stamped(&path) {
            // A directory of that name is not a report; the next name is tried.
            Ok((_, metadata)) if !metadata.is_file() => return None,
            Ok((file, metadata)) => (Ok((file, metadata.len())), metadata.modified().ok()),
            Err(error) => match error.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => return None,
                // There but not readable (no permission): a report, which cannot be read.
                _ => {
                    let metadata = crate::fsio::metadata(&path).ok().filter(|m| m.is_file())?;
                    (Err(error), metadata.modified().ok())
                }
            },
        };
        let file = LambdaFile {
            path,
            relative: name.clone(),
            kind: FileKind::Other,
        };
        Some(FoundReport {
            file,
            opened,
            modified,
        })
    })
}

/// The total percent covered of the Lambda in `dir`, as its report states it (coverage.py's
/// own total), with the report's Lambda-relative path; `None` without a readable report.
pub fn report_total(dir: &Path, policy: &EffectivePolicy) -> Option<(String, f64)> {
    let (file, data) = report_in(dir, policy)?.read(policy, false);
    Some((file.relative, data.ok()?.totals.percent()))
}

/// Maps a path the report names to a Lambda-relative path: as given, under the Lambda's
/// directory, or by its longest suffix that names a Lambda file (reports made in a container
/// or another checkout name other roots).
pub fn map_path(lambda: &Lambda, python: &HashMap<&str, ()>, path: &str) -> Option<String> {
    let path = path.replace('\\', "/");
    if let Ok(relative) = Path::new(&path).strip_prefix(&lambda.dir) {
        let relative = relative.to_string_lossy().into_owned();
        if python.contains_key(relative.as_str()) {
            return Some(relative);
        }
    }
    let mut rest = path.trim_start_matches("./");
    loop {
        if python.contains_key(rest) {
            return Some(rest.to_string());
        }
        rest = rest.split_once('/')?.1;
    }
}

/// `[report] precision` from the Lambda's coverage configuration, as coverage.py reads it
/// (`.coveragerc`, `setup.cfg`, `tox.ini` `[coverage:report]`, `pyproject.toml`
/// `[tool.coverage.report]`), else 0.
pub fn project_precision(dir: &Path) -> u32 {
    // Shared reads: mypy and the policy read `pyproject.toml` and `setup.cfg` too.
    let read = |name: &str| crate::fsio::read_shared_string(&dir.join(name)).ok();
    if let Some(text) = read(".coveragerc") {
        if let Some(p) = ini_value(&text, &["report", "coverage:report"], "precision") {
            return p;
        }
    }
    for name in ["setup.cfg", "tox.ini"] {
        if let Some(p) =
            read(name).and_then(|text| ini_value(&text, &["coverage:report"], "precision"))
        {
            return p;
        }
    }
    read("pyproject.toml")
        // Most pyproject.toml files set no coverage precision: no need to parse those. The
        // key can only be spelled otherwise in a quoted key with an escape (a backslash).
        .filter(|text| {
            (text.contains("coverage") && text.contains("precision")) || text.contains('\\')
        })
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|t| {
            t.get("tool")?
                .get("coverage")?
                .get("report")?
                .get("precision")?
                .as_integer()
        })
        .and_then(|p| u32::try_from(p).ok())
        .unwrap_or(0)
}

fn ini_value(text: &str, sections: &[&str], key: &str) -> Option<u32> {
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = sections.contains(&name.trim());
        } else if in_section {
            if let Some((k, v)) = line.split_once(['=', ':']) {
                if k.trim() == key {
                    return v.trim().parse().ok();
                }
            }
        }
    }
    None
}

/// Builds the context for a Lambda: finds and reads its report, maps its paths.
pub fn context<'a>(
    lambda: &'a Lambda,
    policy: &'a EffectivePolicy,
    diff: Option<(&'a str, &'a HashMap<String, Vec<u32>>)>,
) -> Context<'a> {
    let report = find_report(lambda, policy).map(|found| {
        let modified = found.modified;
        let (file, data) = found.read(policy, diff.is_some());
        let python: HashMap<&str, ()> = lambda
            .files
            .iter()
            .filter(|f| f.relative.ends_with(".py"))
            .map(|f| (f.relative.as_str(), ()))
            .collect();
        let mapped = match &data {
            Ok(data) => data
                .files
                .iter()
                .map(|f| map_path(lambda, &python, &f.path))
                .collect(),
            Err(_) => Vec::new(),
        };
        Report {
            file,
            data,
            mapped,
            modified,
        }
    });
    // The project's coverage configuration only matters when there is a report to judge.
    let precision = match (&report, policy.policy.coverage.precision) {
        (_, Some(precision)) => precision,
        (Some(_), None) => project_precision(&lambda.dir),
        (None, None) => 0,
    };
    Context {
        lambda,
        policy,
        report,
        precision,
        diff,
    }
}

/// Whether a Lambda has anything for the coverage rules to look at.
pub fn applies(lambda: &Lambda) -> bool {
    lambda.files.iter().any(|f| f.kind == FileKind::Python)
}

/// The decision and its figures, for messages.
pub fn verdict(counts: &Counts, fail_under: f64, precision: u32) -> (bool, String) {
    let total = counts.percent();
    let fails = numbers::should_fail_under(total, fail_under, precision);
    let shown =
        numbers::display_covered(total, numbers::fail_under_precision(fail_under, precision));
    (fails, shown)
}

#[cfg(test)]
mod tests {
    use super::{is_collected_test, is_test_file, project_precision};

    #[test]
    fn precision_is_read_from_pyproject_however_the_key_is_spelled() {
        // A directory per case: a pass held meanwhile by another test reads each file once.
        let precision = |text: &str| {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::write(dir.path().join("pyproject.toml"), text).expect("write");
            project_precision(dir.path())
        };
        assert_eq!(precision("[tool.coverage.report]\nprecision = 2\n"), 2);
        assert_eq!(precision("[tool.coverage]\nreport.precision = 3\n"), 3);
        // A quoted key with an escape names the same key (TOML 1.0).
        assert_eq!(
            precision("[tool.coverage.report]\n\"pre\\u0063ision\" = 4\n"),
            4
        );
        assert_eq!(precision("[tool.coverage.run]\nbranch = true\n"), 0);
        assert_eq!(precision("[tool.mypy]\nstrict = true\n"), 0);
    }

    #[test]
    fn only_files_a_runner_collects_are_tests() {
        for collected in [
            "tests/test_handler.py",
            "test_app.py",
            "app/orders_test.py",
            "tests.py",
        ] {
            assert!(is_collected_test(collected), "{collected}");
        }
        for not_collected in [
            "tests/__init__.py",
            "tests/conftest.py",
            "tests/helpers.py",
            "app/handler.py",
        ] {
            assert!(!is_collected_test(not_collected), "{not_collected}");
        }
        // Still part of the test suite, not first-party code.
        assert!(is_test_file("tests/conftest.py") && is_test_file("tests/__init__.py"));
    }
}
