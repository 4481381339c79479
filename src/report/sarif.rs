//! SARIF 2.1.0: one run, the rules that fired as `tool.driver.rules`, one result each.

use std::io::{self, Write};

use serde_json::{json, Value};

use super::display_path;
use crate::check::CheckResult;
use crate::diagnostic::Severity;
use crate::rules::registry;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

pub fn render(result: &CheckResult, out: &mut dyn Write) -> io::Result<()> {
    let mut fired: Vec<&str> = result.diagnostics.iter().map(|d| d.rule).collect();
    fired.sort_unstable();
    fired.dedup();
    let rules: Vec<Value> = fired
        .iter()
        .filter_map(|id| registry::find(id))
        .map(|rule| {
            json!({
                "id": rule.id,
                "name": rule.name,
                "shortDescription": { "text": rule.summary },
                "fullDescription": { "text": rule.summary },
                "help": { "text": rule.doc, "markdown": rule.doc },
                "defaultConfiguration": { "level": level(rule.default_severity) },
                "properties": { "family": rule.family.as_str() },
            })
        })
        .collect();
    let results: Vec<Value> = result
        .diagnostics
        .iter()
        .map(|d| {
            let mut message = d.message.clone();
            if let Some(help) = &d.help {
                message.push_str("\nhelp: ");
                message.push_str(help);
            }
            json!({
                "ruleId": d.rule,
                "ruleIndex": fired.iter().position(|id| *id == d.rule),
                "level": level(d.severity),
                "message": { "text": message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": display_path(&d.path), "uriBaseId": "%SRCROOT%" },
                        "region": {
                            "startLine": d.start.line,
                            "startColumn": d.start.column,
                            "endLine": d.end.line,
                            "endColumn": d.end.column,
                        }
                    }
                }],
            })
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "lambda-gate",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/lambda-gate/lambda-gate",
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}
