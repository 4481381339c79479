//! What a coverage report holds, whatever its format, and how it is read.

use std::io::Read;
use std::path::Path;

use super::numbers::Counts;
use super::{cobertura, coverage_json, lcov};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportFormat {
    Cobertura,
    CoverageJson,
    Lcov,
}

impl ReportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Cobertura => "cobertura",
            ReportFormat::CoverageJson => "coverage-json",
            ReportFormat::Lcov => "lcov",
        }
    }

    /// By extension (else [`ReportFormat::by_head`]).
    fn by_name(path: &Path) -> Option<ReportFormat> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".xml") {
            return Some(ReportFormat::Cobertura);
        }
        if name.ends_with(".json") {
            return Some(ReportFormat::CoverageJson);
        }
        if name.ends_with(".info") || name.ends_with(".lcov") {
            return Some(ReportFormat::Lcov);
        }
        None
    }

    /// By the first bytes of `file`, read from its current position.
    fn by_head(file: &mut std::fs::File) -> Option<ReportFormat> {
        let mut head = [0u8; 64];
        let n = file.read(&mut head).ok()?;
        let head = String::from_utf8_lossy(&head[..n]);
        let head = head.trim_start();
        if head.starts_with('<') {
            Some(ReportFormat::Cobertura)
        } else if head.starts_with('{') {
            Some(ReportFormat::CoverageJson)
        } else if head.starts_with("TN:") || head.starts_with("SF:") {
            Some(ReportFormat::Lcov)
        } else {
            None
        }
    }
}

/// One measured file.
#[derive(Debug, Clone, Default)]
pub struct FileCoverage {
    /// As the report names it, joined with its source root where the format has one.
    pub path: String,
    pub counts: Counts,
    /// Measured lines and whether each ran: kept only when asked for (diff coverage).
    pub lines: Vec<(u32, bool)>,
}

#[derive(Debug, Clone)]
pub struct CoverageData {
    pub format: ReportFormat,
    /// The report's own totals where it records them (exact counts), else the files' sum.
    pub totals: Counts,
    pub files: Vec<FileCoverage>,
    /// Whether branch coverage was measured, where the report says.
    pub branch_measured: Option<bool>,
}

/// Why a report could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl ReadError {
    pub fn at_start(message: impl Into<String>) -> ReadError {
        ReadError {
            line: 1,
            column: 1,
            message: message.into(),
        }
    }

    /// An error at byte `offset` of `path`: counts lines by reading up to the offset only.
    pub fn at_offset(path: &Path, offset: u64, message: impl Into<String>) -> ReadError {
        let (mut line, mut column) = (1usize, 1usize);
        if let Ok(file) = crate::fsio::open(path) {
            let mut reader = std::io::BufReader::new(file).take(offset);
            let mut buf = [0u8; 64 * 1024];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                for &b in &buf[..n] {
                    if b == b'\n' {
                        line += 1;
                        column = 1;
                    } else if b & 0xC0 != 0x80 {
                        column += 1;
                    }
                }
            }
        }
        ReadError {
            line,
            column,
            message: message.into(),
        }
    }
}

/// Reads a report in bounded memory (per-file line data only with `keep_lines`).
pub fn read(path: &Path, keep_lines: bool) -> Result<CoverageData, ReadError> {
    let (file, metadata) = crate::fsio::open_stamped(path).map_err(cannot_read)?;
    read_open(path, file, metadata.len(), keep_lines)
}

fn cannot_read(error: std::io::Error) -> ReadError {
    ReadError::at_start(format!("cannot read the report: {error}"))
}

/// [`read`] of the report at `path`, already open (at its start), `size` bytes long.
pub fn read_open(
    path: &Path,
    mut file: std::fs::File,
    size: u64,
    keep_lines: bool,
) -> Result<CoverageData, ReadError> {
    let format = match ReportFormat::by_name(path) {
        Some(format) => Some(format),
        None => {
            let format = ReportFormat::by_head(&mut file);
            std::io::Seek::rewind(&mut file).map_err(cannot_read)?;
            format
        }
    };
    let format = format.ok_or_else(|| {
        ReadError::at_start(
            "not a coverage report: expected Cobertura XML, coverage.py JSON or LCOV",
        )
    })?;
    // Reports are streamed; a small one gets a buffer of its own size, not 256 KiB (a fresh
    // large buffer per Lambda costs page faults in a sweep of thousands).
    let capacity = usize::try_from(size.saturating_add(1)).unwrap_or(usize::MAX);
    let reader = std::io::BufReader::with_capacity(capacity.clamp(8 * 1024, 256 * 1024), file);
    let data = match format {
        ReportFormat::Cobertura => cobertura::read(reader, path, keep_lines)?,
        ReportFormat::CoverageJson => coverage_json::read(reader, keep_lines)?,
        ReportFormat::Lcov => lcov::read(reader, keep_lines)?,
    };
    Ok(data)
}

/// Sums the files, for formats (or reports) that record no totals.
pub fn sum(files: &[FileCoverage]) -> Counts {
    let mut totals = Counts::default();
    for file in files {
        totals.add(&file.counts);
    }
    totals
}
