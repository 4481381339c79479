//! SARIF 2.1.0: one run, the rules that fired as `tool.driver.rules`, one result per finding
//! in a file. A finding about a directory (nothing to check there, a directory that cannot be
//! walked) is a tool execution notification: code scanning attaches results to files only.

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
    let message = |d: &crate::diagnostic::Diagnostic| {
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        message
    };
    let results: Vec<Value> = result
        .diagnostics
        .iter()
        .filter(|d| !d.about_directory)
        .map(|d| {
            json!({
                "ruleId": d.rule,
                "ruleIndex": fired.iter().position(|id| *id == d.rule),
                "level": level(d.severity),
                "message": { "text": message(d) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": artifact_location(&d.path),
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
    let notifications: Vec<Value> = result
        .diagnostics
        .iter()
        .filter(|d| d.about_directory)
        .map(|d| {
            json!({
                "descriptor": { "id": d.rule },
                "level": level(d.severity),
                "message": { "text": message(d) },
                "locations": [{ "physicalLocation": { "artifactLocation": artifact_location(&d.path) } }],
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
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// Where a file is: relative to the checkout (`%SRCROOT%`) when the path is relative, else an
/// absolute `file://` URI (a relative reference must not start with `/`; Jenkins hands over
/// absolute workspace paths). Percent-encoded as RFC 3986 asks.
fn artifact_location(path: &std::path::Path) -> Value {
    let text = display_path(path);
    if path.is_absolute() {
        json!({ "uri": format!("file://{}", percent_encode(&text)) })
    } else {
        json!({ "uri": percent_encode(&text), "uriBaseId": "%SRCROOT%" })
    }
}

/// Every byte but the unreserved characters and `/` as `%XX` (so a `:` in a first segment is
/// not read as a scheme).
fn percent_encode(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn relative_paths_are_below_the_checkout_and_absolute_ones_are_file_uris() {
        assert_eq!(
            artifact_location(Path::new("svc/Dockerfile")),
            json!({ "uri": "svc/Dockerfile", "uriBaseId": "%SRCROOT%" })
        );
        assert_eq!(
            artifact_location(Path::new("/ws/my job/a:b/Dockerfile")),
            json!({ "uri": "file:///ws/my%20job/a%3Ab/Dockerfile" })
        );
        assert_eq!(
            artifact_location(Path::new("naïve/main.tf")),
            json!({ "uri": "na%C3%AFve/main.tf", "uriBaseId": "%SRCROOT%" })
        );
    }
}
