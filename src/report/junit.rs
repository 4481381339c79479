//! JUnit XML for Jenkins `junit`: one test case per checked file that has diagnostics, and one
//! passing case for the gate as a whole, so a clean run still records a result.

use std::collections::BTreeMap;
use std::io::{self, Write};

use quick_xml::escape::escape;

use super::{count, display_path, Summary};
use crate::check::CheckResult;
use crate::diagnostic::{Diagnostic, Severity};

pub fn render(result: &CheckResult, out: &mut dyn Write) -> io::Result<()> {
    let mut by_file: BTreeMap<String, Vec<&Diagnostic>> = BTreeMap::new();
    for d in &result.diagnostics {
        // A directory's case is named with a trailing `/`, apart from any file's.
        let mut name = display_path(&d.path);
        if d.about_directory && !name.ends_with('/') {
            name.push('/');
        }
        by_file.entry(name).or_default().push(d);
    }
    let summary = Summary::of(result);
    let failures = by_file
        .values()
        .filter(|ds| ds.iter().any(|d| d.severity == Severity::Error))
        .count();
    let tests = by_file.len() + 1;
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="lambda-gate" tests="{tests}" failures="{failures}" errors="0">"#
    )?;
    writeln!(
        out,
        r#"  <testsuite name="lambda-gate" tests="{tests}" failures="{failures}" errors="0" skipped="0">"#
    )?;
    writeln!(
        out,
        r#"    <testcase classname="lambda-gate" name="{} in {} checked"/>"#,
        count(summary.files, "file", "files"),
        count(summary.lambdas, "Lambda", "Lambdas")
    )?;
    for (path, diagnostics) in &by_file {
        let text: String = diagnostics
            .iter()
            .map(|d| {
                let mut line = format!(
                    "{path}:{}:{}: {} {}: {}",
                    d.start.line,
                    d.start.column,
                    d.severity.as_str(),
                    d.rule,
                    d.message
                );
                if let Some(help) = &d.help {
                    line.push_str(&format!("\n  help: {help}"));
                }
                line + "\n"
            })
            .collect();
        let errors = diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        writeln!(
            out,
            r#"    <testcase classname="lambda-gate.{}" name="{}">"#,
            escape(family_of(diagnostics)),
            escape(path.as_str())
        )?;
        if errors > 0 {
            writeln!(
                out,
                r#"      <failure message="{}" type="lambda-gate">{}</failure>"#,
                escape(
                    format!(
                        "{} in {path}",
                        count(errors, "policy violation", "policy violations")
                    )
                    .as_str()
                ),
                escape(text.as_str())
            )?;
        } else {
            writeln!(
                out,
                r#"      <system-out>{}</system-out>"#,
                escape(text.as_str())
            )?;
        }
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

fn family_of(diagnostics: &[&Diagnostic]) -> &'static str {
    diagnostics
        .first()
        .and_then(|d| crate::rules::registry::find(d.rule))
        .map_or("core", |rule| rule.family.as_str())
}
