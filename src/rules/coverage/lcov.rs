//! LCOV tracefiles (`coverage lcov`, and most other tools), read line by line.

use std::io::BufRead;

use super::numbers::Counts;
use super::report::{sum, CoverageData, FileCoverage, ReadError, ReportFormat};

#[derive(Default)]
struct Record {
    file: FileCoverage,
    found: Option<(u64, u64)>,
    branches_found: Option<(u64, u64)>,
    da: Counts,
}

pub fn read<R: BufRead>(input: R, keep_lines: bool) -> Result<CoverageData, ReadError> {
    let mut files = Vec::new();
    let mut record: Option<Record> = None;
    let mut last_line = 0;
    for (index, line) in input.lines().enumerate() {
        let number = index + 1;
        last_line = number;
        let fail = |message: String| ReadError {
            line: number,
            column: 1,
            message,
        };
        let line = line.map_err(|e| fail(format!("cannot read the report: {e}")))?;
        let line = line.trim_end();
        let (tag, value) = line.split_once(':').unwrap_or((line, ""));
        let int = |text: &str| {
            text.trim()
                .parse::<u64>()
                .map_err(|_| fail(format!("`{line}`: expected a whole number")))
        };
        match tag {
            "SF" => {
                if record.is_some() {
                    return Err(fail(
                        "SF: before the previous record's end_of_record".into(),
                    ));
                }
                record = Some(Record {
                    file: FileCoverage {
                        path: value.to_string(),
                        ..Default::default()
                    },
                    ..Default::default()
                });
            }
            "end_of_record" => {
                let done = record
                    .take()
                    .ok_or_else(|| fail("end_of_record without SF:".into()))?;
                let mut file = done.file;
                let (statements, covered) = done
                    .found
                    .unwrap_or((done.da.statements, done.da.covered_statements));
                let (branches, covered_branches) = done
                    .branches_found
                    .unwrap_or((done.da.branches, done.da.covered_branches));
                if covered > statements || covered_branches > branches {
                    return Err(fail("hit counts exceed found counts".into()));
                }
                file.counts = Counts {
                    statements,
                    covered_statements: covered,
                    branches,
                    covered_branches,
                };
                files.push(file);
            }
            "" | "TN" => {}
            _ => {
                let Some(current) = record.as_mut() else {
                    return Err(fail(format!(
                        "`{tag}:` outside a record (no SF: before it)"
                    )));
                };
                match tag {
                    "DA" => {
                        let mut parts = value.split(',');
                        let line_number = int(parts.next().unwrap_or(""))?;
                        let hits = parts
                            .next()
                            .ok_or_else(|| fail(format!("`{line}`: DA needs line,hits")))?;
                        let hit = int(hits)? > 0;
                        current.da.statements += 1;
                        current.da.covered_statements += u64::from(hit);
                        if keep_lines {
                            let line_number = u32::try_from(line_number)
                                .map_err(|_| fail("line number out of range".into()))?;
                            current.file.lines.push((line_number, hit));
                        }
                    }
                    "BRDA" => {
                        let taken = value.rsplit(',').next().unwrap_or("-");
                        current.da.branches += 1;
                        if taken != "-" && int(taken)? > 0 {
                            current.da.covered_branches += 1;
                        }
                    }
                    "LF" => current.found = Some((int(value)?, current.found.map_or(0, |f| f.1))),
                    "LH" => current.found = Some((current.found.map_or(0, |f| f.0), int(value)?)),
                    "BRF" => {
                        current.branches_found =
                            Some((int(value)?, current.branches_found.map_or(0, |f| f.1)))
                    }
                    "BRH" => {
                        current.branches_found =
                            Some((current.branches_found.map_or(0, |f| f.0), int(value)?))
                    }
                    _ => {}
                }
            }
        }
    }
    if record.is_some() {
        return Err(ReadError {
            line: last_line.max(1),
            column: 1,
            message: "the report is truncated: the last record has no end_of_record".into(),
        });
    }
    Ok(CoverageData {
        format: ReportFormat::Lcov,
        totals: sum(&files),
        files,
        branch_measured: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records() {
        let text = "TN:\nSF:pkg/m.py\nDA:1,1\nDA:2,0\nLF:2\nLH:1\nBRDA:1,0,jump,1\nBRDA:1,0,jump,-\nBRF:2\nBRH:1\nend_of_record\n";
        let data = read(text.as_bytes(), true).unwrap();
        assert_eq!(
            data.totals,
            Counts {
                statements: 2,
                covered_statements: 1,
                branches: 2,
                covered_branches: 1
            }
        );
        assert_eq!(data.files[0].lines, vec![(1, true), (2, false)]);
    }

    #[test]
    fn errors_name_the_line() {
        let error = read("SF:a\nDA:x,1\nend_of_record\n".as_bytes(), false).unwrap_err();
        assert_eq!(error.line, 2);
        assert!(read("SF:a\nDA:1,1\n".as_bytes(), false)
            .unwrap_err()
            .message
            .contains("truncated"));
        assert!(read("DA:1,1\n".as_bytes(), false).is_err());
    }
}
