//! Diagnostics: what a rule found, where, and how to fix it.

use std::ops::Range;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::date::Date;

/// How bad a diagnostic is. Only `Error` fails the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A byte range into a file's text. Line and column are derived from it with a [`LineIndex`].
pub type Span = Range<usize>;

/// One text replacement: the bytes in `range` become `replacement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    pub range: Span,
    pub replacement: String,
}

/// A machine-applicable fix: non-overlapping edits to the diagnostic's own file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    pub description: String,
    pub edits: Vec<Edit>,
}

/// A rule's id (`DKR005`). Named so that serde reads it through [`rule_id`] instead of
/// borrowing it from the input.
pub type RuleId = &'static str;

/// One finding of one rule in one file. Serialized for the results cache, with the rule by id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diagnostic {
    #[serde(with = "rule_id")]
    pub rule: RuleId,
    pub severity: Severity,
    /// The file, as the walk found it (absolute or relative to the working directory).
    pub path: PathBuf,
    /// Byte span in the file; `0..0` for findings about the file as a whole.
    pub span: Span,
    /// 1-based line/column of the span's start and end, filled in by the engine.
    pub start: LineCol,
    pub end: LineCol,
    pub message: String,
    pub help: Option<String>,
    pub fix: Option<Fix>,
    /// The finding is about a directory, not a file (a path named on the command line that
    /// holds nothing to check, a directory that cannot be walked): formats that attach
    /// findings to files report it as a run-level notice instead.
    pub about_directory: bool,
    /// A finding held at warning until this day (UTC), an error after it: a base's previous
    /// digest in its grace window. A stored result holding one is current only until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_until: Option<Date>,
}

/// A 1-based line and a 1-based column counted in characters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

mod rule_id {
    //! A diagnostic's rule as its id; an id no rule of this binary has does not read back.
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &&'static str, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
        let id = String::deserialize(d)?;
        crate::rules::registry::find(&id)
            .filter(|rule| rule.id == id)
            .map(|rule| rule.id)
            .ok_or_else(|| D::Error::custom(format!("no rule `{id}`")))
    }
}

/// What a rule reports: the engine adds the rule id, the file, the severity and positions.
#[derive(Debug, Clone)]
pub struct Finding {
    pub span: Span,
    pub message: String,
    pub help: Option<String>,
    pub fix: Option<Fix>,
    /// Set when the rule could not decide (e.g. a value that cannot be evaluated statically):
    /// the finding is reported as `info` whatever the rule's severity, so it never fails the gate.
    pub undecided: bool,
    /// Allowed until this day (UTC): reported at most as a warning until then.
    pub grace_until: Option<Date>,
}

impl Finding {
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Finding {
            span,
            message: message.into(),
            help: None,
            fix: None,
            undecided: false,
            grace_until: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn fix(mut self, fix: impl Into<Option<Fix>>) -> Self {
        self.fix = fix.into();
        self
    }

    pub fn undecided(mut self) -> Self {
        self.undecided = true;
        self
    }

    /// Allowed until `date` (UTC): a warning at most until then.
    pub fn in_grace_until(mut self, date: Date) -> Self {
        self.grace_until = Some(date);
        self
    }

    /// The severity this finding is reported at, its rule being at `severity`: an undecided
    /// finding never fails the gate, and one in its grace window warns at most.
    pub fn severity_under(&self, severity: Severity) -> Severity {
        if self.undecided {
            Severity::Info
        } else if self.grace_until.is_some() {
            severity.min(Severity::Warning)
        } else {
            severity
        }
    }
}

/// Maps byte offsets of one text to 1-based line/column, built once per file.
#[derive(Debug, Clone)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut line_starts = Vec::with_capacity(text.len() / 32 + 1);
        line_starts.push(0);
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex { line_starts }
    }

    /// 0-based line number holding `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts[line.min(self.line_starts.len() - 1)]
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Byte range of 0-based `line`, without its line terminator.
    pub fn line_range(&self, text: &str, line: usize) -> Span {
        let start = self.line_start(line);
        let mut end = self
            .line_starts
            .get(line + 1)
            .map_or(text.len(), |next| next - 1);
        if end > start && text.as_bytes()[end - 1] == b'\r' {
            end -= 1;
        }
        start..end.max(start)
    }

    pub fn line_col(&self, text: &str, offset: usize) -> LineCol {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = self.line_of(offset);
        let start = self.line_start(line);
        LineCol {
            line: line + 1,
            column: text[start..offset].chars().count() + 1,
        }
    }
}

/// The largest char boundary at or below `offset`.
pub fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_from_one() {
        let text = "FROM a\nRUN é x\n";
        let index = LineIndex::new(text);
        assert_eq!(index.line_col(text, 0), LineCol { line: 1, column: 1 });
        let x = text.find('x').unwrap();
        assert_eq!(index.line_col(text, x), LineCol { line: 2, column: 7 });
        assert_eq!(index.line_range(text, 1), 7..15);
        assert_eq!(index.line_col(text, text.len()).line, 3);
    }

    #[test]
    fn line_range_drops_carriage_return() {
        let text = "a\r\nb";
        let index = LineIndex::new(text);
        assert_eq!(&text[index.line_range(text, 0)], "a");
        assert_eq!(&text[index.line_range(text, 1)], "b");
    }
}
