//! GitHub Actions workflow commands: `::error file=F,line=L,col=C,endLine=..,endColumn=..,title=ID::message`.

use std::io::{self, Write};

use super::display_path;
use crate::check::CheckResult;
use crate::diagnostic::Severity;

/// Escapes a command's message (`%`, CR, LF).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (also `:` and `,`).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(result: &CheckResult, out: &mut dyn Write) -> io::Result<()> {
    for d in &result.diagnostics {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        if d.about_directory {
            // No file to annotate: the notice goes to the run's summary, the path in its text.
            writeln!(
                out,
                "::{command} title={}::{}",
                escape_property(d.rule),
                escape_data(&message)
            )?;
            continue;
        }
        writeln!(
            out,
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape_property(&display_path(&d.path)),
            d.start.line,
            d.start.column,
            d.end.line,
            d.end.column,
            escape_property(d.rule),
            escape_data(&message)
        )?;
    }
    Ok(())
}
