//! An INI reader that accepts and rejects exactly what Python's `configparser.RawConfigParser`
//! (the parser mypy uses for `mypy.ini`, `.mypy.ini` and `setup.cfg`) does, with byte spans.
//!
//! Its rules, which differ from most INI readers: only whole-line comments (`#`, `;`, possibly
//! indented); `=` or `:` delimits, whichever comes first; keys are lower-cased; a line indented
//! deeper than its key continues the value (blank lines inside are kept, trailing ones dropped);
//! `[DEFAULT]` values show through in every section; a duplicate section or key rejects the
//! whole file; lines are split on `\n`, `\r\n` and a lone `\r` (universal newlines).

use crate::diagnostic::Span;

/// One `key = value` entry.
#[derive(Debug, Clone)]
pub struct IniEntry {
    /// Lower-cased, as `optionxform` leaves it.
    pub key: String,
    pub key_span: Span,
    /// The value with continuation lines joined by `\n`, as configparser returns it.
    pub value: String,
    /// From the first byte of the value to the end of its last line's text.
    pub value_span: Span,
    /// The whole entry, from the start of its first line to the end of its last line,
    /// including the line break.
    pub lines: Span,
}

#[derive(Debug, Clone)]
pub struct IniSection {
    pub name: String,
    /// The `[name]` header line (without its line break).
    pub header_span: Span,
    pub entries: Vec<IniEntry>,
    /// The end of the section's last entry line (or of its header), where new keys go.
    pub end: usize,
}

#[derive(Debug, Clone, Default)]
pub struct IniFile {
    /// `[DEFAULT]`: its entries show through in every section.
    pub defaults: Vec<IniEntry>,
    pub sections: Vec<IniSection>,
}

/// Why configparser rejects a file: the message it gives and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniError {
    pub span: Span,
    pub message: String,
}

impl IniFile {
    pub fn section(&self, name: &str) -> Option<&IniSection> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// A section's keys in configparser's order (its own, then `[DEFAULT]`'s it lacks), each
    /// with the entry that supplies its value.
    pub fn items<'a>(&'a self, section: &'a IniSection) -> Vec<&'a IniEntry> {
        let mut items: Vec<&IniEntry> = section.entries.iter().collect();
        for entry in &self.defaults {
            if !section.entries.iter().any(|e| e.key == entry.key) {
                items.push(entry);
            }
        }
        items
    }
}

/// Python's `str.isspace` for one character (it also counts U+001C..U+001F).
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Lines as Python's universal-newline reader yields them: (start, end of text, end with break).
fn lines(text: &str) -> Vec<(usize, usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                out.push((start, i, i + 1));
                start = i + 1;
            }
            b'\r' => {
                let end = if bytes.get(i + 1) == Some(&b'\n') {
                    i + 2
                } else {
                    i + 1
                };
                out.push((start, i, end));
                start = end;
                i = end - 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        out.push((start, bytes.len(), bytes.len()));
    }
    out
}

/// Where the current value's lines go.
enum Target {
    None,
    Defaults,
    Section(usize),
}

/// Parses `text` as configparser would.
pub fn parse(text: &str) -> Result<IniFile, IniError> {
    let mut file = IniFile::default();
    let mut target = Target::None;
    // The entry continuation lines extend, with its value's lines so far.
    let mut current: Option<(usize, Vec<String>)> = None;
    let mut indent_level = usize::MAX;
    let mut bad_lines: Vec<(usize, Span)> = Vec::new();
    let mut seen_default_keys: Vec<String> = Vec::new();

    for (number, (start, end, next)) in lines(text).into_iter().enumerate() {
        let line = &text[start..end];
        let stripped = py_strip(line);
        if stripped.starts_with('#') || stripped.starts_with(';') {
            continue;
        }
        if stripped.is_empty() {
            // An empty line inside a value is kept (configparser's `empty_lines_in_values`).
            if let Some((_, parts)) = current.as_mut() {
                parts.push(String::new());
            }
            continue;
        }
        let indent = line.chars().take_while(|c| is_py_space(*c)).count();
        if let Some((index, parts)) = current.as_mut().filter(|_| indent > indent_level) {
            parts.push(stripped.to_string());
            let index = *index;
            let entry = entry_mut(&mut file, &target, Some(index));
            if let Some(entry) = entry {
                let value_start = start + line.len() - line.trim_start_matches(is_py_space).len();
                if entry.value.is_empty() && entry.value_span.is_empty() {
                    entry.value_span.start = value_start;
                }
                entry.value_span.end = start + line.trim_end_matches(is_py_space).len();
                entry.lines.end = next;
            }
            continue;
        }
        finish_value(&mut file, &target, current.take());
        indent_level = indent;
        let stripped_start = start + (line.len() - line.trim_start_matches(is_py_space).len());
        if let Some(header) = section_header(stripped) {
            let header_span = stripped_start..stripped_start + stripped.len();
            if header == "DEFAULT" {
                target = Target::Defaults;
            } else if let Some(index) = file.sections.iter().position(|s| s.name == header) {
                return Err(IniError {
                    span: header_span,
                    message: format!(
                        "While reading from config file [line {:2}]: section '{header}' already exists (first at line {})",
                        number + 1,
                        line_of(text, file.sections[index].header_span.start)
                    ),
                });
            } else {
                file.sections.push(IniSection {
                    name: header.to_string(),
                    header_span: header_span.clone(),
                    entries: Vec::new(),
                    end: next,
                });
                target = Target::Section(file.sections.len() - 1);
            }
            continue;
        }
        if matches!(target, Target::None) {
            return Err(IniError {
                span: start..end,
                message: format!(
                    "File contains no section headers.\nfile: <config>, line: {}\n{:?}",
                    number + 1,
                    line
                ),
            });
        }
        let Some(delimiter) = stripped.find(['=', ':']) else {
            bad_lines.push((number + 1, start..end));
            continue;
        };
        let option = py_strip(&stripped[..delimiter]);
        if option.is_empty() {
            bad_lines.push((number + 1, start..end));
        }
        let key = option.to_lowercase();
        let raw_value = &stripped[delimiter + 1..];
        let value = py_strip(raw_value).to_string();
        let value_start = stripped_start
            + delimiter
            + 1
            + (raw_value.len() - raw_value.trim_start_matches(is_py_space).len());
        let key_span = stripped_start..stripped_start + option.len();
        let entry = IniEntry {
            key: key.clone(),
            key_span,
            value_span: value_start..value_start + value.len(),
            value: value.clone(),
            lines: start..next,
        };
        let (entries, section_name) = match &target {
            Target::Defaults => (&mut file.defaults, "DEFAULT".to_string()),
            Target::Section(index) => {
                let section = &mut file.sections[*index];
                (&mut section.entries, section.name.clone())
            }
            Target::None => unreachable!("handled above"),
        };
        let duplicate = match &target {
            Target::Defaults => seen_default_keys.contains(&key),
            _ => entries.iter().any(|e| e.key == key),
        };
        if duplicate {
            return Err(IniError {
                span: start..end,
                message: format!(
                    "While reading from config file [line {:2}]: option '{key}' in section '{section_name}' already exists",
                    number + 1
                ),
            });
        }
        if matches!(target, Target::Defaults) {
            seen_default_keys.push(key.clone());
        }
        entries.push(entry);
        let index = entries.len() - 1;
        current = Some((index, vec![value]));
    }
    finish_value(&mut file, &target, current.take());
    if let Some((_, first)) = bad_lines.first() {
        let listed: Vec<String> = bad_lines
            .iter()
            .map(|(number, span)| format!("\t[line {number:2}]: {:?}", &text[span.clone()]))
            .collect();
        return Err(IniError {
            span: first.clone(),
            message: format!(
                "Source contains parsing errors: <config>\n{}",
                listed.join("\n")
            ),
        });
    }
    Ok(file)
}

/// configparser's section regex `\[(?P<header>.+)\]`, matched at the start: the header runs to
/// the last `]` of the line.
fn section_header(stripped: &str) -> Option<&str> {
    let rest = stripped.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    let header = &rest[..close];
    (!header.is_empty() && !header.contains(['\n', '\r'])).then_some(header)
}

fn line_of(text: &str, offset: usize) -> usize {
    lines(text)
        .iter()
        .position(|(start, _, next)| offset >= *start && offset < (*next).max(start + 1))
        .map_or(1, |i| i + 1)
}

fn entry_mut<'a>(
    file: &'a mut IniFile,
    target: &Target,
    index: Option<usize>,
) -> Option<&'a mut IniEntry> {
    let index = index?;
    match target {
        Target::Defaults => file.defaults.get_mut(index),
        Target::Section(section) => file.sections.get_mut(*section)?.entries.get_mut(index),
        Target::None => None,
    }
}

/// Joins a finished value's lines as configparser does (`'\n'.join(...).rstrip()`), and moves
/// the section's end past it.
fn finish_value(file: &mut IniFile, target: &Target, current: Option<(usize, Vec<String>)>) {
    let Some((index, parts)) = current else {
        return;
    };
    let joined = parts.join("\n");
    let value = joined.trim_end_matches(is_py_space).to_string();
    let lines_end = entry_mut(file, target, Some(index)).map(|entry| {
        entry.value = value;
        entry.lines.end
    });
    if let (Target::Section(section), Some(end)) = (target, lines_end) {
        file.sections[*section].end = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_entries_and_spans() {
        let text = "# c\n[mypy]\nstrict = True\nPlugins: a,\n  b\n\n[mypy-app.*]\nx=1\n";
        let file = parse(text).unwrap();
        let mypy = file.section("mypy").unwrap();
        assert_eq!(mypy.entries[0].key, "strict");
        assert_eq!(&text[mypy.entries[0].value_span.clone()], "True");
        assert_eq!(mypy.entries[1].key, "plugins");
        assert_eq!(mypy.entries[1].value, "a,\nb");
        assert_eq!(&text[mypy.entries[1].value_span.clone()], "a,\n  b");
        assert_eq!(&text[mypy.end..mypy.end + 1], "\n");
        assert_eq!(file.sections[1].name, "mypy-app.*");
    }

    #[test]
    fn comments_are_whole_lines_only() {
        let file = parse("[mypy]\nstrict = True # not a comment\n  ; comment\n").unwrap();
        assert_eq!(
            file.section("mypy").unwrap().entries[0].value,
            "True # not a comment"
        );
    }

    #[test]
    fn defaults_show_through() {
        let file = parse("[DEFAULT]\nstrict = 1\n[mypy]\nx = 2\n").unwrap();
        let mypy = file.section("mypy").unwrap();
        let keys: Vec<_> = file.items(mypy).iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["x", "strict"]);
    }

    #[test]
    fn rejects_what_configparser_rejects() {
        assert!(parse("strict = 1\n")
            .unwrap_err()
            .message
            .contains("no section"));
        assert!(parse("[a]\n[a]\n")
            .unwrap_err()
            .message
            .contains("already exists"));
        assert!(parse("[a]\nx=1\nX=2\n")
            .unwrap_err()
            .message
            .contains("already exists"));
        assert!(parse("[a]\njunk\n")
            .unwrap_err()
            .message
            .contains("parsing errors"));
        assert!(parse("[a]\n= 1\n")
            .unwrap_err()
            .message
            .contains("parsing errors"));
    }

    #[test]
    fn header_runs_to_the_last_bracket_and_lone_cr_breaks_lines() {
        let file = parse("[mypy] x]\r[b]\ry = 1").unwrap();
        assert_eq!(file.sections[0].name, "mypy] x");
        assert_eq!(file.sections[1].entries[0].value, "1");
    }
}
