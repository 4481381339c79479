//! A sweep as one self-contained HTML page: no network, the report embedded as JSON and
//! rendered by a small inline script (summary, per-rule chart, sortable and filterable
//! repository table, each repository's Lambdas and diagnostics on a click).

use std::io::{self, Write};

use crate::sweep::report::SweepReport;

const TEMPLATE: &str = include_str!("html/sweep.html");
const PLACEHOLDER: &str = "/*SWEEP-DATA*/";

pub fn render(report: &SweepReport, out: &mut dyn Write) -> io::Result<()> {
    embed(TEMPLATE, PLACEHOLDER, report, out)
}

/// `template` with `data` as JSON in place of `placeholder` (inside its inline script): a
/// self-contained page.
pub fn embed(
    template: &str,
    placeholder: &str,
    data: &impl serde::Serialize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let json = serde_json::to_string(data).map_err(io::Error::other)?;
    // `<` only occurs inside JSON strings, where `\u003c` means the same: the data can then
    // never close the script element, whatever a message or file name holds.
    let json = json.replace('<', "\\u003c");
    let (head, tail) = template.split_once(placeholder).unwrap_or((template, ""));
    out.write_all(head.as_bytes())?;
    out.write_all(json.as_bytes())?;
    out.write_all(tail.as_bytes())
}
