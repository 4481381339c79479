//! The JSON format, schema version 1 (documented in docs/gate.md):
//! `{"version": 1, "diagnostics": [{rule, name, severity, path, line, column, end_line,
//! end_column, message, help, fixable, grace_until?}], "summary": {files, lambdas, errors, warnings, infos,
//! elapsed_ms, cached}}`.

use std::io::{self, Write};

use serde::Serialize;

use super::{display_path, RenderOptions, Summary};
use crate::check::CheckResult;
use crate::rules::registry;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Report<'a> {
    version: u32,
    diagnostics: Vec<JsonDiagnostic<'a>>,
    summary: JsonSummary,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    rule: &'a str,
    name: &'a str,
    severity: &'a str,
    path: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: &'a str,
    help: Option<&'a str>,
    fixable: bool,
    /// A warning until this day, an error after it (a base's previous digest).
    #[serde(skip_serializing_if = "Option::is_none")]
    grace_until: Option<crate::date::Date>,
}

#[derive(Serialize)]
struct JsonSummary {
    #[serde(flatten)]
    counts: Summary,
    passed: bool,
    elapsed_ms: Option<u128>,
    /// The result is a stored one (nothing the run would read changed).
    #[serde(skip_serializing_if = "Option::is_none")]
    cached: Option<bool>,
}

pub fn render(result: &CheckResult, options: RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let report = Report {
        version: SCHEMA_VERSION,
        diagnostics: result
            .diagnostics
            .iter()
            .map(|d| JsonDiagnostic {
                rule: d.rule,
                name: registry::name_of(d.rule),
                severity: d.severity.as_str(),
                path: display_path(&d.path),
                line: d.start.line,
                column: d.start.column,
                end_line: d.end.line,
                end_column: d.end.column,
                message: &d.message,
                help: d.help.as_deref(),
                fixable: d.fix.is_some(),
                grace_until: d.grace_until,
            })
            .collect(),
        summary: JsonSummary {
            counts: Summary::of(result),
            passed: result.passed(),
            elapsed_ms: (!options.deterministic).then_some(result.elapsed.as_millis()),
            cached: (!options.deterministic).then_some(result.from_cache),
        },
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}
