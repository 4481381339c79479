//! A Dockerfile parser that follows the grammar as BuildKit reads it.
//!
//! It keeps byte spans into the original text for every word it hands out, so diagnostics
//! point at the exact characters even across line continuations. It never panics: anything
//! BuildKit would refuse is a [`ParseError`] with a position.
//!
//! Covered: parser directives (`# syntax`, `# escape`, `# check`), comments (also inside
//! continuations), line continuations with the active escape character, exec (JSON) and shell
//! forms, flags (`--platform=...`), heredocs (`<<EOF`, `<<-EOF`, quoted delimiters), `ARG`
//! before `FROM`, `FROM [--platform=P] IMAGE [AS NAME]` and stages built from earlier stages.

use crate::diagnostic::Span;

use super::expand::{expand, ExpandError, Scope};
use super::image::{ImageRef, ImageRefError};

/// Instructions BuildKit knows. Anything else is a parse error, as in BuildKit.
const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Instructions that accept heredocs.
const HEREDOC_KEYWORDS: &[&str] = &["RUN", "COPY", "ADD"];

/// Instructions whose shell-form words rules read (see [`Instruction::words`]).
const WORD_KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "COPY",
    "ENV",
    "FROM",
    "LABEL",
    "ONBUILD",
    "USER",
    "WORKDIR",
    "EXPOSE",
    "VOLUME",
    "STOPSIGNAL",
];

/// Instructions whose arguments may be a JSON array.
const EXEC_KEYWORDS: &[&str] = &["CMD", "ENTRYPOINT", "RUN", "SHELL", "COPY", "ADD", "VOLUME"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub span: Span,
    pub message: String,
}

/// A piece of text with its span in the original file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub name: String,
    pub value: String,
    pub span: Span,
}

/// `--name=value` (or a bare `--name`) before an instruction's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    pub value: Option<Word>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    /// The JSON array form: `CMD ["app.handler"]`.
    Exec(Vec<Word>),
    /// Everything after the flags, as written (continuations joined, comments removed).
    Shell(Word),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub delimiter: String,
    pub body: Word,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Upper-case keyword.
    pub keyword: String,
    pub keyword_span: Span,
    /// From the keyword to the end of the last line (heredoc bodies included).
    pub span: Span,
    pub flags: Vec<Flag>,
    pub args: Args,
    pub heredocs: Vec<Heredoc>,
    /// The shell-form words after the flags (quotes kept), for the instructions in
    /// `WORD_KEYWORDS` (and a RUN with heredocs); empty for others.
    pub words: Vec<Word>,
}

/// `NAME=value` in ENV, ARG or LABEL (or the legacy `ENV NAME value...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment<'a> {
    pub name: &'a str,
    /// As written (quotes kept); `None` for `ARG NAME`.
    pub value: Option<String>,
    /// The whole `NAME=value` (or `NAME value`) text.
    pub span: Span,
}

impl Instruction {
    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|flag| flag.name == name)
    }

    /// The assignments of an ENV, ARG or LABEL instruction.
    pub fn assignments(&self) -> Vec<Assignment<'_>> {
        let Some(first) = self.words.first() else {
            return Vec::new();
        };
        if self.keyword == "ENV" && !first.text.contains('=') {
            // Legacy form: `ENV NAME the rest of the line`.
            let rest = &self.words[1..];
            let value = rest
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let end = rest.last().map_or(first.span.end, |w| w.span.end);
            return vec![Assignment {
                name: &first.text,
                value: Some(value),
                span: first.span.start..end,
            }];
        }
        self.words
            .iter()
            .map(|word| match word.text.split_once('=') {
                Some((name, value)) => Assignment {
                    name,
                    value: Some(value.to_string()),
                    span: word.span.clone(),
                },
                None => Assignment {
                    name: &word.text,
                    value: None,
                    span: word.span.clone(),
                },
            })
            .collect()
    }
}

/// What a stage is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// An earlier stage, by index.
    Stage(usize),
    Scratch,
    Image(ImageRef),
    /// The reference could not be worked out statically.
    Unresolved(BaseError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseError {
    Expand(ExpandError),
    Invalid(ImageRefError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Index of the FROM instruction in [`Dockerfile::instructions`].
    pub from: usize,
    /// The image word as written (`${BASE}`, `python:3.12`, ...).
    pub image: Word,
    /// The reference after ARG substitution.
    pub image_text: Option<String>,
    pub platform: Option<Flag>,
    pub name: Option<Word>,
    pub base: Base,
    /// Indices of this stage's instructions after FROM.
    pub body: std::ops::Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    pub directives: Vec<Directive>,
    pub escape: char,
    pub instructions: Vec<Instruction>,
    /// `ARG`s before the first `FROM`, with their defaults: the scope of every FROM line.
    pub global_args: Scope,
    pub stages: Vec<Stage>,
}

impl Dockerfile {
    pub fn final_stage(&self) -> Option<&Stage> {
        self.stages.last()
    }

    pub fn stage_by_name(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|stage| {
            stage
                .name
                .as_ref()
                .is_some_and(|n| n.text.eq_ignore_ascii_case(name))
        })
    }

    pub fn body<'a>(&'a self, stage: &Stage) -> &'a [Instruction] {
        &self.instructions[stage.body.clone()]
    }
}

/// A logical line: physical lines joined at continuations, with a map back to source offsets.
struct LogicalLine {
    text: String,
    /// (offset in `text`, offset in source) at the start of each contiguous piece.
    pieces: Vec<(usize, usize)>,
    /// Source offset just past the last physical line's content.
    source_end: usize,
}

impl LogicalLine {
    fn to_source(&self, offset: usize) -> usize {
        let idx = match self
            .pieces
            .binary_search_by(|(start, _)| start.cmp(&offset))
        {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let (text_start, source_start) = self.pieces[idx];
        source_start + (offset - text_start)
    }

    fn span(&self, range: Span) -> Span {
        if range.start >= self.text.len() {
            return self.source_end..self.source_end;
        }
        let start = self.to_source(range.start);
        let end = if range.end > range.start {
            self.to_source(range.end - 1) + 1
        } else {
            start
        };
        start..end
    }

    fn word(&self, range: Span) -> Word {
        Word {
            text: self.text[range.clone()].to_string(),
            span: self.span(range),
        }
    }
}

/// Physical lines of the source: (start, end of content without the line break, next line start).
struct Lines<'a> {
    source: &'a str,
    pos: usize,
}

impl<'a> Lines<'a> {
    fn peek(&self) -> Option<(usize, usize, usize)> {
        if self.pos >= self.source.len() {
            return None;
        }
        let rest = &self.source.as_bytes()[self.pos..];
        let (end, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (self.pos + i, self.pos + i + 1),
            None => (self.source.len(), self.source.len()),
        };
        let end = if end > self.pos && self.source.as_bytes()[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        Some((self.pos, end, next))
    }

    fn next_line(&mut self) -> Option<(usize, usize)> {
        let (start, end, next) = self.peek()?;
        self.pos = next;
        Some((start, end))
    }

    fn text(&self, start: usize, end: usize) -> &'a str {
        &self.source[start..end]
    }
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Parses a parser directive line (`# name=value`), as BuildKit's directive regexp does.
fn directive(line: &str) -> Option<(String, String)> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start();
    let eq = rest.find('=')?;
    let name = rest[..eq].trim_end();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let name = name.to_ascii_lowercase();
    if !matches!(name.as_str(), "syntax" | "escape" | "check") {
        return None;
    }
    Some((name, rest[eq + 1..].trim().to_string()))
}

pub fn parse(source: &str) -> Result<Dockerfile, ParseError> {
    let body_start = if source.starts_with('\u{feff}') { 3 } else { 0 };
    let mut lines = Lines {
        source,
        pos: body_start,
    };
    let mut directives = Vec::new();
    let mut escape = '\\';

    // Directives: only at the very top; the first other line ends them.
    while let Some((start, end, next)) = lines.peek() {
        let Some((name, value)) = directive(lines.text(start, end)) else {
            break;
        };
        if directives.iter().any(|d: &Directive| d.name == name) {
            return Err(ParseError {
                span: start..end,
                message: format!("only one `{name}` parser directive can be used"),
            });
        }
        if name == "escape" {
            escape = match value.as_str() {
                "\\" => '\\',
                "`" => '`',
                _ => {
                    return Err(ParseError {
                        span: start..end,
                        message: format!("invalid escape token `{value}`: it must be ` or \\"),
                    })
                }
            };
        }
        directives.push(Directive {
            name,
            value,
            span: start..end,
        });
        lines.pos = next;
    }

    let mut instructions = Vec::new();
    while let Some((start, end)) = lines.next_line() {
        let line = lines.text(start, end);
        if line.trim().is_empty() || is_comment(line) {
            continue;
        }
        let logical = join_continuations(&mut lines, start, end, escape);
        instructions.push(parse_instruction(&mut lines, logical, escape)?);
    }

    build_stages(source, directives, escape, instructions)
}

/// Joins a line with its continuation lines, dropping comment and empty lines inside it.
fn join_continuations(
    lines: &mut Lines<'_>,
    start: usize,
    end: usize,
    escape: char,
) -> LogicalLine {
    let mut logical = LogicalLine {
        text: String::new(),
        pieces: Vec::new(),
        source_end: end,
    };
    let (mut start, mut end) = (start, end);
    loop {
        let line = lines.text(start, end);
        let trimmed = line.trim_end_matches([' ', '\t']);
        let continued = trimmed.ends_with(escape);
        let content = if continued {
            &trimmed[..trimmed.len() - escape.len_utf8()]
        } else {
            line
        };
        logical.pieces.push((logical.text.len(), start));
        logical.text.push_str(content);
        logical.source_end = start + content.len();
        if !continued {
            return logical;
        }
        // Skip comment and empty lines inside the continuation, as BuildKit does.
        loop {
            match lines.next_line() {
                None => return logical,
                Some((s, e)) => {
                    let next = lines.text(s, e);
                    if is_comment(next) || next.trim().is_empty() {
                        continue;
                    }
                    start = s;
                    end = e;
                    break;
                }
            }
        }
    }
}

fn parse_instruction(
    lines: &mut Lines<'_>,
    logical: LogicalLine,
    escape: char,
) -> Result<Instruction, ParseError> {
    let text = logical.text.as_str();
    let lead = text.len() - text.trim_start().len();
    let keyword_end = text[lead..]
        .find(|c: char| c.is_whitespace())
        .map_or(text.len(), |i| lead + i);
    let keyword_range = lead..keyword_end;
    let keyword = text[keyword_range.clone()].to_ascii_uppercase();
    let keyword_span = logical.span(keyword_range);
    if !KEYWORDS.contains(&keyword.as_str()) {
        return Err(ParseError {
            span: keyword_span,
            message: format!("unknown instruction: {}", &text[lead..keyword_end]),
        });
    }

    // Flags: leading words that start with `--`.
    let mut pos = skip_space(text, keyword_end);
    let mut flags = Vec::new();
    while text[pos..].starts_with("--") {
        let word_end = text[pos..]
            .find(|c: char| c.is_whitespace())
            .map_or(text.len(), |i| pos + i);
        let raw = &text[pos + 2..word_end];
        let (name, value) = match raw.find('=') {
            Some(eq) => {
                let value_start = pos + 2 + eq + 1;
                (
                    raw[..eq].to_ascii_lowercase(),
                    Some(logical.word(value_start..word_end)),
                )
            }
            None => (raw.to_ascii_lowercase(), None),
        };
        flags.push(Flag {
            name,
            value,
            span: logical.span(pos..word_end),
        });
        pos = skip_space(text, word_end);
    }

    let rest_end = text.trim_end().len().max(pos);
    let rest = pos..rest_end;
    let exec = if EXEC_KEYWORDS.contains(&keyword.as_str()) {
        parse_json_array(&text[rest.clone()]).map(|items| {
            items
                .into_iter()
                .map(|(value, range)| Word {
                    text: value,
                    span: logical.span(rest.start + range.start..rest.start + range.end),
                })
                .collect::<Vec<_>>()
        })
    } else {
        None
    };
    // Rules read the words of instructions that name images, paths and variables; a RUN
    // needs them only to find heredoc markers.
    let needs_words = WORD_KEYWORDS.contains(&keyword.as_str())
        || (keyword == "RUN" && text[rest.clone()].contains("<<"));
    let words = if needs_words {
        split_words(text, rest.clone(), escape)
            .into_iter()
            .map(|range| logical.word(range))
            .collect::<Vec<_>>()
    } else {
        Vec::new()
    };

    let mut heredocs = Vec::new();
    if exec.is_none() && HEREDOC_KEYWORDS.contains(&keyword.as_str()) {
        for (delimiter, strip_tabs) in heredoc_markers(&words) {
            heredocs.push(read_heredoc(lines, &delimiter, strip_tabs, &keyword_span)?);
        }
    }
    let args = match exec {
        Some(items) => Args::Exec(items),
        None => Args::Shell(logical.word(rest)),
    };
    let end = heredocs
        .last()
        .map_or(logical.source_end, |h: &Heredoc| h.body.span.end);
    Ok(Instruction {
        keyword,
        span: keyword_span.start..end.max(keyword_span.end),
        keyword_span,
        flags,
        args,
        heredocs,
        words,
    })
}

fn skip_space(text: &str, pos: usize) -> usize {
    pos + (text.len() - pos - text[pos..].trim_start().len())
}

/// Splits shell-form arguments on unquoted white space, keeping quotes in the words.
fn split_words(text: &str, range: Span, escape: char) -> Vec<Span> {
    let mut words = Vec::new();
    let mut start = None;
    let mut quote = None;
    let mut chars = text[range.clone()].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let at = range.start + i;
        if quote.is_none() && c.is_whitespace() {
            if let Some(s) = start.take() {
                words.push(s..at);
            }
            continue;
        }
        start.get_or_insert(at);
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (Some('\''), _) => {}
            (_, c) if c == escape => {
                chars.next();
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(s..range.end);
    }
    words
}

/// Heredoc markers (`<<EOF`, `<<-EOF`, `<<"EOF"`) among the words, in order.
fn heredoc_markers(words: &[Word]) -> Vec<(String, bool)> {
    let mut markers = Vec::new();
    for word in words {
        let mut text = word.text.as_str();
        // A marker may follow a redirect or a command in the same word (`cat<<EOF`).
        while let Some(at) = text.find("<<") {
            let mut rest = &text[at + 2..];
            let strip_tabs = rest.starts_with('-');
            if strip_tabs {
                rest = &rest[1..];
            }
            let (delimiter, consumed) = match rest.chars().next() {
                Some(q @ ('"' | '\'')) => match rest[1..].find(q) {
                    Some(end) => (rest[1..1 + end].to_string(), end + 2),
                    None => break,
                },
                _ => {
                    let end = rest
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(rest.len());
                    (rest[..end].to_string(), end)
                }
            };
            if delimiter.is_empty() {
                break;
            }
            markers.push((delimiter, strip_tabs));
            text = &rest[consumed..];
        }
    }
    markers
}

fn read_heredoc(
    lines: &mut Lines<'_>,
    delimiter: &str,
    strip_tabs: bool,
    keyword_span: &Span,
) -> Result<Heredoc, ParseError> {
    let body_start = lines.pos;
    let mut body_end = body_start;
    while let Some((start, end)) = lines.next_line() {
        let line = lines.text(start, end);
        let candidate = if strip_tabs {
            line.trim_start_matches('\t')
        } else {
            line
        };
        if candidate == delimiter {
            return Ok(Heredoc {
                delimiter: delimiter.to_string(),
                body: Word {
                    text: lines.text(body_start, body_end).to_string(),
                    span: body_start..body_end,
                },
            });
        }
        body_end = lines.pos.min(lines.source.len());
    }
    Err(ParseError {
        span: keyword_span.clone(),
        message: format!("unterminated heredoc: no line `{delimiter}` closes it"),
    })
}

/// Parses a JSON array of strings, returning each value with its range in `text`.
/// Anything else returns `None`, and the instruction is in shell form, as in BuildKit.
fn parse_json_array(text: &str) -> Option<Vec<(String, Span)>> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    let skip_ws = |pos: &mut usize| {
        while *pos < bytes.len() && matches!(bytes[*pos], b' ' | b'\t' | b'\r' | b'\n') {
            *pos += 1;
        }
    };
    skip_ws(&mut pos);
    if bytes.get(pos) != Some(&b'[') {
        return None;
    }
    pos += 1;
    let mut items = Vec::new();
    skip_ws(&mut pos);
    if bytes.get(pos) == Some(&b']') {
        pos += 1;
    } else {
        loop {
            skip_ws(&mut pos);
            if bytes.get(pos) != Some(&b'"') {
                return None;
            }
            let start = pos;
            pos += 1;
            let mut value = String::new();
            loop {
                let c = text[pos..].chars().next()?;
                match c {
                    '"' => {
                        pos += 1;
                        break;
                    }
                    '\\' => {
                        let escaped = text[pos + 1..].chars().next()?;
                        pos += 2;
                        match escaped {
                            '"' => value.push('"'),
                            '\\' => value.push('\\'),
                            '/' => value.push('/'),
                            'b' => value.push('\u{8}'),
                            'f' => value.push('\u{c}'),
                            'n' => value.push('\n'),
                            'r' => value.push('\r'),
                            't' => value.push('\t'),
                            'u' => {
                                let hex = text.get(pos..pos + 4)?;
                                let code = u32::from_str_radix(hex, 16).ok()?;
                                value.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                                pos += 4;
                            }
                            _ => return None,
                        }
                    }
                    c if (c as u32) < 0x20 => return None,
                    c => {
                        value.push(c);
                        pos += c.len_utf8();
                    }
                }
            }
            items.push((value, start..pos));
            skip_ws(&mut pos);
            match bytes.get(pos) {
                Some(b',') => pos += 1,
                Some(b']') => {
                    pos += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    skip_ws(&mut pos);
    (pos == bytes.len()).then_some(items)
}

/// Declares `ARG` words into `scope`: `NAME` or `NAME=default`, several per line.
/// Declares what an ARG or ENV instruction assigns into `scope`.
pub fn declare(instruction: &Instruction, scope: &mut Scope) {
    for assignment in instruction.assignments() {
        match &assignment.value {
            Some(raw) => {
                let value = expand(raw, scope).ok();
                scope.declare(assignment.name, value);
            }
            // `ARG NAME` inside a stage brings a global ARG (and its default) into scope.
            None => scope.declare_or_keep(assignment.name),
        }
    }
}

fn build_stages(
    source: &str,
    directives: Vec<Directive>,
    escape: char,
    instructions: Vec<Instruction>,
) -> Result<Dockerfile, ParseError> {
    let mut global_args = Scope::default();
    let mut stages: Vec<Stage> = Vec::new();
    let mut first_from = None;
    for (index, instruction) in instructions.iter().enumerate() {
        match instruction.keyword.as_str() {
            "FROM" => {
                if let Some(last) = stages.last_mut() {
                    last.body.end = index;
                }
                first_from.get_or_insert(index);
                stages.push(parse_from(index, instruction, &global_args, &stages)?);
            }
            "ARG" if first_from.is_none() => declare(instruction, &mut global_args),
            _ if first_from.is_none() => {
                return Err(ParseError {
                    span: instruction.keyword_span.clone(),
                    message: format!(
                        "{} before the first FROM: only ARG may come before FROM",
                        instruction.keyword
                    ),
                })
            }
            _ => {}
        }
    }
    if let Some(last) = stages.last_mut() {
        last.body.end = instructions.len();
    }
    if instructions.is_empty() {
        return Err(ParseError {
            span: 0..0,
            message: "the Dockerfile has no instructions".into(),
        });
    }
    if stages.is_empty() {
        return Err(ParseError {
            span: source.len()..source.len(),
            message: "the Dockerfile has no FROM instruction".into(),
        });
    }
    Ok(Dockerfile {
        directives,
        escape,
        instructions,
        global_args,
        stages,
    })
}

fn parse_from(
    index: usize,
    instruction: &Instruction,
    global_args: &Scope,
    earlier: &[Stage],
) -> Result<Stage, ParseError> {
    let words = &instruction.words;
    let (image, name) = match words.len() {
        1 => (words[0].clone(), None),
        3 if words[1].text.eq_ignore_ascii_case("as") => (words[0].clone(), Some(words[2].clone())),
        _ => {
            return Err(ParseError {
                span: instruction.span.clone(),
                message: "FROM takes `IMAGE` or `IMAGE AS NAME`".into(),
            })
        }
    };
    for flag in &instruction.flags {
        if flag.name != "platform" {
            return Err(ParseError {
                span: flag.span.clone(),
                message: format!("unknown flag for FROM: --{}", flag.name),
            });
        }
    }
    let platform = instruction.flag("platform").cloned();
    let (image_text, base) = match expand(&image.text, global_args) {
        Err(error) => (None, Base::Unresolved(BaseError::Expand(error))),
        Ok(text) => {
            let base = if text.eq_ignore_ascii_case("scratch") {
                Base::Scratch
            } else if let Some(stage) = earlier.iter().position(|stage| {
                stage
                    .name
                    .as_ref()
                    .is_some_and(|n| n.text.eq_ignore_ascii_case(&text))
            }) {
                Base::Stage(stage)
            } else {
                match ImageRef::parse(&text) {
                    Ok(reference) => Base::Image(reference),
                    Err(error) => Base::Unresolved(BaseError::Invalid(error)),
                }
            };
            (Some(text), base)
        }
    };
    Ok(Stage {
        from: index,
        image,
        image_text,
        platform,
        name,
        base,
        body: index + 1..index + 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(source: &str) -> Dockerfile {
        parse(source).unwrap_or_else(|e| panic!("{source:?}: {e:?}"))
    }

    #[test]
    fn continuation_joins_lines_and_drops_inner_comments() {
        let source = "FROM a\nLABEL one=1 \\\n# a comment\n\n    two=2\nRUN x \\\n  y\n";
        let df = parse_ok(source);
        let label = &df.instructions[1];
        let Args::Shell(word) = &label.args else {
            panic!("shell form expected")
        };
        assert_eq!(word.text, "one=1     two=2");
        let two = label.words.last().unwrap();
        assert_eq!(&source[two.span.clone()], "two=2");
        // RUN keeps its text but has no words unless it has heredocs.
        assert!(df.instructions[2].words.is_empty());
    }

    #[test]
    fn escape_directive_switches_continuation_character() {
        let source = "# escape=`\nFROM a\nRUN dir `\n  c:\\\\\n";
        let df = parse_ok(source);
        assert_eq!(df.escape, '`');
        assert_eq!(df.instructions.len(), 2);
        assert_eq!(df.directives[0].name, "escape");
    }

    #[test]
    fn directive_after_comment_is_a_comment() {
        let df = parse_ok("# hello\n# escape=`\nFROM a\nRUN x \\\n y\n");
        assert!(df.directives.is_empty());
        assert_eq!(df.escape, '\\');
    }

    #[test]
    fn exec_form_is_parsed_with_spans() {
        let source = "FROM a\nCMD [ \"app.handler\" , \"x\\\"y\" ]\n";
        let df = parse_ok(source);
        let Args::Exec(items) = &df.instructions[1].args else {
            panic!("exec form expected")
        };
        assert_eq!(items[0].text, "app.handler");
        assert_eq!(&source[items[0].span.clone()], "\"app.handler\"");
        assert_eq!(items[1].text, "x\"y");
    }

    #[test]
    fn invalid_json_falls_back_to_shell_form() {
        let df = parse_ok("FROM a\nCMD [app.handler]\n");
        assert!(matches!(df.instructions[1].args, Args::Shell(_)));
    }

    #[test]
    fn heredocs_are_read_to_their_delimiter() {
        let source = "FROM a\nRUN <<EOF bash\necho hi\nEOF\nCOPY <<-\"END\" /x\n\tdata\n\tEND\nCMD [\"x.y\"]\n";
        let df = parse_ok(source);
        assert_eq!(df.instructions.len(), 4);
        assert_eq!(df.instructions[1].heredocs[0].body.text, "echo hi\n");
        assert_eq!(df.instructions[2].heredocs[0].delimiter, "END");
        assert_eq!(df.instructions[3].keyword, "CMD");
    }

    #[test]
    fn unterminated_heredoc_is_an_error() {
        let error = parse("FROM a\nRUN <<EOF\necho\n").unwrap_err();
        assert!(error.message.contains("unterminated heredoc"));
    }

    #[test]
    fn from_resolves_global_args_and_stages() {
        let source = "ARG REG=registry.example.com\nARG TAG\nFROM --platform=$BUILDPLATFORM ${REG}/base:${TAG:-3.12} AS build\nFROM build\nFROM ${REG}/base:$TAG\n";
        let df = parse_ok(source);
        let Base::Image(image) = &df.stages[0].base else {
            panic!("{:?}", df.stages[0].base)
        };
        assert_eq!(image.to_string(), "registry.example.com/base:3.12");
        assert_eq!(df.stages[0].platform.as_ref().unwrap().name, "platform");
        assert_eq!(df.stages[1].base, Base::Stage(0));
        assert!(matches!(df.stages[2].base, Base::Unresolved(_)));
    }

    #[test]
    fn instructions_before_from_must_be_args() {
        let error = parse("RUN x\nFROM a\n").unwrap_err();
        assert!(error.message.contains("before the first FROM"));
    }

    #[test]
    fn empty_and_comment_only_files_are_errors() {
        assert!(parse("").is_err());
        assert!(parse("# nothing\n\n").is_err());
        assert!(parse("ARG A=1\n").unwrap_err().message.contains("no FROM"));
    }

    #[test]
    fn unknown_instruction_is_an_error_at_the_keyword() {
        let source = "FROM a\nFROBNICATE x\n";
        let error = parse(source).unwrap_err();
        assert_eq!(&source[error.span], "FROBNICATE");
    }

    #[test]
    fn crlf_and_bom_are_accepted() {
        let df = parse_ok("\u{feff}FROM a\r\nCMD [\"m.f\"]\r\n");
        assert_eq!(df.instructions.len(), 2);
    }
}
