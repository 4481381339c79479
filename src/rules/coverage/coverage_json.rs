//! coverage.py JSON (`coverage json`), streamed: one file's entry in memory at a time.

use std::fmt;
use std::io::Read;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use super::numbers::Counts;
use super::report::{sum, CoverageData, FileCoverage, ReadError, ReportFormat};

#[derive(Deserialize)]
struct Summary {
    num_statements: u64,
    covered_lines: u64,
    #[serde(default)]
    num_branches: u64,
    #[serde(default)]
    covered_branches: u64,
}

impl Summary {
    fn counts(&self) -> Result<Counts, String> {
        if self.covered_lines > self.num_statements || self.covered_branches > self.num_branches {
            return Err("covered counts exceed the totals".into());
        }
        Ok(Counts {
            statements: self.num_statements,
            covered_statements: self.covered_lines,
            branches: self.num_branches,
            covered_branches: self.covered_branches,
        })
    }
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    branch_coverage: Option<bool>,
}

#[derive(Deserialize)]
struct FileEntry {
    summary: Summary,
    #[serde(default)]
    executed_lines: Vec<u32>,
    #[serde(default)]
    missing_lines: Vec<u32>,
}

/// Visits `files` one entry at a time.
struct Files {
    keep_lines: bool,
}

impl<'de> DeserializeSeed<'de> for Files {
    type Value = Vec<FileCoverage>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Files {
    type Value = Vec<FileCoverage>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of file paths to coverage entries")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut files = Vec::new();
        while let Some((path, entry)) = map.next_entry::<String, FileEntry>()? {
            let counts = entry.summary.counts().map_err(serde::de::Error::custom)?;
            let mut lines = Vec::new();
            if self.keep_lines {
                lines.extend(entry.executed_lines.iter().map(|&l| (l, true)));
                lines.extend(entry.missing_lines.iter().map(|&l| (l, false)));
                lines.sort_unstable();
            }
            files.push(FileCoverage {
                path,
                counts,
                lines,
            });
        }
        Ok(files)
    }
}

struct Report {
    keep_lines: bool,
}

impl<'de> Visitor<'de> for Report {
    type Value = (Option<Meta>, Vec<FileCoverage>, Option<Summary>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a coverage.py JSON report (an object with meta, files and totals)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut meta, mut files, mut totals) = (None, None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "meta" => meta = Some(map.next_value()?),
                "files" => {
                    files = Some(map.next_value_seed(Files {
                        keep_lines: self.keep_lines,
                    })?)
                }
                "totals" => totals = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let files = files.ok_or_else(|| serde::de::Error::missing_field("files"))?;
        Ok((meta, files, totals))
    }
}

pub fn read<R: Read>(input: R, keep_lines: bool) -> Result<CoverageData, ReadError> {
    let mut deserializer = serde_json::Deserializer::from_reader(input);
    let located = |e: serde_json::Error| ReadError {
        line: e.line().max(1),
        column: e.column().max(1),
        message: format!("invalid coverage JSON: {e}"),
    };
    let (meta, files, totals) = deserializer
        .deserialize_map(Report { keep_lines })
        .map_err(located)?;
    deserializer.end().map_err(located)?;
    let totals = match totals {
        Some(summary) => summary.counts().map_err(ReadError::at_start)?,
        None => sum(&files),
    };
    Ok(CoverageData {
        format: ReportFormat::CoverageJson,
        totals,
        files,
        branch_measured: meta.and_then(|m| m.branch_coverage),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_totals_and_files() {
        let json = r#"{"meta": {"format": 3, "branch_coverage": true}, "files": {"pkg/m.py": {"executed_lines": [1, 2], "summary": {"covered_lines": 2, "num_statements": 3, "num_branches": 2, "covered_branches": 1, "percent_covered": 60.0}, "missing_lines": [4]}}, "totals": {"covered_lines": 2, "num_statements": 3, "num_branches": 2, "covered_branches": 1}}"#;
        let data = read(json.as_bytes(), true).unwrap();
        assert_eq!(data.totals.percent(), 60.0);
        assert_eq!(data.files[0].lines, vec![(1, true), (2, true), (4, false)]);
        assert_eq!(data.branch_measured, Some(true));
    }

    #[test]
    fn errors_have_positions() {
        let error = read(
            "{\"files\": {\"a\": {\"summary\": {\"num_statements\": -1}}}}".as_bytes(),
            false,
        )
        .unwrap_err();
        assert_eq!(error.line, 1);
        assert!(error.column > 1);
        assert!(read("{\"files\": {".as_bytes(), false).is_err());
        assert!(read("[]".as_bytes(), false).is_err());
    }
}
