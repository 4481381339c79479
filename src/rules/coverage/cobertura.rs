//! Cobertura XML (`coverage xml`, pytest-cov `--cov-report=xml`), streamed with quick-xml.
//!
//! The root's exact counts (`lines-valid`, `lines-covered`, `branches-valid`,
//! `branches-covered`) are the totals: the rounded `line-rate`/`branch-rate` are only checked
//! for sanity. A DOCTYPE is refused, so no entity is ever expanded.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::numbers::Counts;
use super::report::{sum, CoverageData, FileCoverage, ReadError, ReportFormat};

struct Root {
    /// coverage.py writes `branch-rate="0"` when it did not measure branches.
    branch_rate: Option<f64>,
    lines_valid: Option<u64>,
    lines_covered: Option<u64>,
    branches_valid: Option<u64>,
    branches_covered: Option<u64>,
}

pub fn read<R: BufRead>(
    input: R,
    path: &Path,
    keep_lines: bool,
) -> Result<CoverageData, ReadError> {
    let mut reader = Reader::from_reader(input);
    reader.config_mut().trim_text(false);
    let mut buf = Vec::new();
    let mut root: Option<Root> = None;
    let mut depth = 0usize;
    let mut sources: Vec<String> = Vec::new();
    let mut in_source = false;
    let mut source_text = String::new();
    let mut files: Vec<FileCoverage> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut current: Option<usize> = None;
    // Lines of the <class> being read, to count each once; cleared per class, so memory is
    // bounded by the largest file, not the report.
    let mut seen_lines: std::collections::HashSet<u32> = Default::default();
    loop {
        let offset = reader.buffer_position();
        let event = reader.read_event_into(&mut buf).map_err(|e| {
            ReadError::at_offset(path, reader.error_position(), format!("malformed XML: {e}"))
        })?;
        let fail = |message: String| ReadError::at_offset(path, offset, message);
        match event {
            Event::DocType(_) => {
                return Err(fail(
                    "a DOCTYPE is not allowed in a coverage report (entities are never expanded)"
                        .into(),
                ))
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                let name = e.name();
                let name = name.as_ref();
                if root.is_none() {
                    if name != b"coverage" {
                        return Err(fail(format!(
                            "not a Cobertura report: the root element is <{}>, expected <coverage>",
                            String::from_utf8_lossy(name)
                        )));
                    }
                    root = Some(read_root(e).map_err(fail)?);
                } else {
                    match name {
                        b"source" if !is_empty => {
                            in_source = true;
                            source_text.clear();
                        }
                        b"class" => {
                            let filename = attribute(e, b"filename")
                                .map_err(&fail)?
                                .ok_or_else(|| fail("<class> has no filename".into()))?;
                            let index = *by_name.entry(filename.clone()).or_insert_with(|| {
                                files.push(FileCoverage {
                                    path: filename,
                                    ..Default::default()
                                });
                                files.len() - 1
                            });
                            current = (!is_empty).then_some(index);
                            seen_lines.clear();
                        }
                        b"line" => {
                            if let Some(index) = current {
                                read_line(e, &mut files[index], &mut seen_lines, keep_lines)
                                    .map_err(fail)?;
                            }
                        }
                        _ => {}
                    }
                }
                if !is_empty {
                    depth += 1;
                }
            }
            Event::Text(ref t) if in_source => {
                source_text.push_str(&t.decode().map_err(|e| fail(format!("invalid text: {e}")))?);
            }
            Event::GeneralRef(ref r) if in_source => {
                let name = r
                    .decode()
                    .map_err(|e| fail(format!("invalid reference: {e}")))?;
                source_text.push(
                    resolve_reference(&name)
                        .ok_or_else(|| fail(format!("undefined entity `&{name};`")))?,
                );
            }
            Event::End(ref e) => {
                depth = depth.saturating_sub(1);
                match e.name().as_ref() {
                    b"source" => {
                        in_source = false;
                        sources.push(std::mem::take(&mut source_text).trim().to_string());
                    }
                    b"class" => current = None,
                    _ => {}
                }
            }
            Event::Eof => {
                if root.is_none() {
                    return Err(fail("the report is empty: no <coverage> element".into()));
                }
                if depth > 0 {
                    return Err(fail(
                        "the report is truncated: it ends inside an element".into(),
                    ));
                }
                break;
            }
            _ => {}
        }
        buf.clear();
    }
    let root = root.ok_or_else(|| ReadError::at_start("no <coverage> element"))?;
    // Paths are relative to the first source root coverage.py records.
    if let Some(source) = sources.first() {
        for file in &mut files {
            if !file.path.starts_with('/') {
                file.path = format!("{}/{}", source.trim_end_matches('/'), file.path);
            }
        }
    }
    let summed = sum(&files);
    let totals = Counts {
        statements: root.lines_valid.unwrap_or(summed.statements),
        covered_statements: root.lines_covered.unwrap_or(summed.covered_statements),
        branches: root.branches_valid.unwrap_or(summed.branches),
        covered_branches: root.branches_covered.unwrap_or(summed.covered_branches),
    };
    let branch_measured =
        Some(totals.branches > 0 || root.branch_rate.is_some_and(|rate| rate > 0.0));
    Ok(CoverageData {
        format: ReportFormat::Cobertura,
        totals,
        files,
        branch_measured,
    })
}

fn resolve_reference(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let code = name.strip_prefix('#')?;
            let value = match code.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => code.parse().ok()?,
            };
            char::from_u32(value)
        }
    }
}

fn attribute(e: &BytesStart<'_>, name: &[u8]) -> Result<Option<String>, String> {
    for attr in e.attributes() {
        let attr = attr.map_err(|err| format!("malformed attribute: {err}"))?;
        if attr.key.as_ref() == name {
            return attr
                .unescape_value()
                .map(|v| Some(v.into_owned()))
                .map_err(|err| format!("attribute `{}`: {err}", String::from_utf8_lossy(name)));
        }
    }
    Ok(None)
}

fn count(e: &BytesStart<'_>, name: &str) -> Result<Option<u64>, String> {
    attribute(e, name.as_bytes())?
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{name}` must be a non-negative whole number, not `{v}`"))
        })
        .transpose()
}

fn read_root(e: &BytesStart<'_>) -> Result<Root, String> {
    let mut branch_rate = None;
    for rate in ["line-rate", "branch-rate"] {
        if let Some(value) = attribute(e, rate.as_bytes())? {
            let parsed: f64 = value
                .trim()
                .parse()
                .map_err(|_| format!("`{rate}` is not a number: `{value}`"))?;
            if !(0.0..=1.0).contains(&parsed) {
                return Err(format!("`{rate}` must be between 0 and 1, not `{value}`"));
            }
            if rate == "branch-rate" {
                branch_rate = Some(parsed);
            }
        }
    }
    let root = Root {
        branch_rate,
        lines_valid: count(e, "lines-valid")?,
        lines_covered: count(e, "lines-covered")?,
        branches_valid: count(e, "branches-valid")?,
        branches_covered: count(e, "branches-covered")?,
    };
    for (covered, valid, what) in [
        (root.lines_covered, root.lines_valid, "lines"),
        (root.branches_covered, root.branches_valid, "branches"),
    ] {
        if let (Some(covered), Some(valid)) = (covered, valid) {
            if covered > valid {
                return Err(format!(
                    "{what}-covered ({covered}) exceeds {what}-valid ({valid})"
                ));
            }
        }
    }
    Ok(root)
}

fn read_line(
    e: &BytesStart<'_>,
    file: &mut FileCoverage,
    seen: &mut std::collections::HashSet<u32>,
    keep_lines: bool,
) -> Result<(), String> {
    // One pass over the attributes: this runs for every line of the report.
    let (mut number, mut hits, mut condition) = (None, None, None);
    for attr in e.attributes() {
        let attr = attr.map_err(|err| format!("malformed attribute: {err}"))?;
        let slot = match attr.key.as_ref() {
            b"number" => &mut number,
            b"hits" => &mut hits,
            b"condition-coverage" => &mut condition,
            _ => continue,
        };
        *slot = Some(
            attr.unescape_value()
                .map_err(|err| format!("malformed attribute: {err}"))?
                .into_owned(),
        );
    }
    let number = number.ok_or("<line> has no number")?;
    let number: u32 = number
        .trim()
        .parse()
        .map_err(|_| format!("`number` must be a line number, not `{number}`"))?;
    let hits = hits.unwrap_or_default();
    let hit = hits
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("`hits` must be a whole number, not `{hits}`"))?
        > 0;
    // A class that lists a line twice counts it once.
    if !seen.insert(number) {
        return Ok(());
    }
    file.counts.statements += 1;
    file.counts.covered_statements += u64::from(hit);
    if keep_lines {
        file.lines.push((number, hit));
    }
    if let Some(condition) = condition {
        // "50% (1/2)"
        let ratio = condition
            .split_once('(')
            .and_then(|(_, rest)| rest.strip_suffix(')'))
            .and_then(|r| r.split_once('/'))
            .and_then(|(k, n)| {
                Some((k.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?))
            });
        match ratio {
            Some((covered, total)) if covered <= total => {
                file.counts.branches += total;
                file.counts.covered_branches += covered;
            }
            _ => return Err(format!("malformed condition-coverage `{condition}`")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Result<CoverageData, ReadError> {
        read(xml.as_bytes(), Path::new("/nonexistent/coverage.xml"), true)
    }

    const GOOD: &str = r#"<?xml version="1.0" ?>
<coverage version="7.17.3" lines-valid="6" lines-covered="4" line-rate="0.6667" branches-valid="2" branches-covered="1" branch-rate="0.5">
  <sources><source>/work/fn &amp; co</source></sources>
  <packages><package name="."><classes>
    <class name="m.py" filename="m.py"><methods/><lines>
      <line number="1" hits="1"/>
      <line number="2" hits="1" branch="true" condition-coverage="50% (1/2)" missing-branches="4"/>
      <line number="3" hits="1"/><line number="4" hits="0"/><line number="6" hits="1"/><line number="7" hits="0"/>
    </lines></class>
    <class name="e.py" filename="e.py"><methods/><lines/></class>
  </classes></package></packages>
</coverage>"#;

    #[test]
    fn reads_exact_counts_and_lines() {
        let data = parse(GOOD).unwrap();
        assert_eq!(
            data.totals,
            Counts {
                statements: 6,
                covered_statements: 4,
                branches: 2,
                covered_branches: 1
            }
        );
        assert_eq!(data.files[0].path, "/work/fn & co/m.py");
        assert_eq!(data.files[0].counts, data.totals);
        assert_eq!(data.files[0].lines.len(), 6);
        assert_eq!(data.files[1].counts, Counts::default());
    }

    #[test]
    fn refuses_doctype_and_entities() {
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><coverage><sources><source>&lol2;</source></sources></coverage>";
        assert!(parse(bomb).unwrap_err().message.contains("DOCTYPE"));
        let undefined = "<coverage><sources><source>&lol;</source></sources></coverage>";
        assert!(parse(undefined)
            .unwrap_err()
            .message
            .contains("undefined entity"));
    }

    #[test]
    fn rejects_bad_roots_rates_and_truncation() {
        assert!(parse("<report/>")
            .unwrap_err()
            .message
            .contains("root element is <report>"));
        for rate in ["-0.1", "1.5", "NaN", "x"] {
            let xml = format!("<coverage line-rate=\"{rate}\"></coverage>");
            assert!(parse(&xml).is_err(), "{rate}");
        }
        assert!(parse(&GOOD[..GOOD.len() / 2]).is_err());
        assert!(parse("").unwrap_err().message.contains("empty"));
        assert!(parse("<coverage lines-valid=\"1\" lines-covered=\"2\"/>")
            .unwrap_err()
            .message
            .contains("exceeds"));
    }
}
