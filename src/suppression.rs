//! Suppression comments: `# lambda-gate: ignore[ID, ...] reason`.
//!
//! A comment on a line of its own covers the next line that is not a comment; a comment after
//! code covers its own line. A reason is required. Suppressions that are malformed or name
//! unknown rules are reported (LG001), and so are those that suppress nothing (LG002).

use crate::diagnostic::{LineIndex, Span};
use crate::rules::registry;

const MARKER: &str = "lambda-gate:";

/// Where a file type allows a suppression comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentStyle {
    /// Dockerfile: `#` starts a comment only at the start of a line.
    FullLineHash,
    /// TOML, INI, Python: `#` anywhere.
    Hash,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// 0-based line the suppression covers.
    pub target_line: usize,
    /// The rule ids named, each with its span.
    pub rules: Vec<(String, Span)>,
    pub reason: Option<String>,
    /// The whole comment from the marker on.
    pub span: Span,
    /// Set when the comment is malformed or names an unknown rule.
    pub problem: Option<String>,
}

impl Suppression {
    pub fn covers(&self, line: usize, rule: &str) -> Option<usize> {
        if line != self.target_line {
            return None;
        }
        self.rules
            .iter()
            .position(|(id, _)| id.eq_ignore_ascii_case(rule))
    }
}

/// Every suppression comment in `text`.
pub fn parse(text: &str, index: &LineIndex, style: CommentStyle) -> Vec<Suppression> {
    let mut suppressions = Vec::new();
    for at in memchr::memmem::find_iter(text.as_bytes(), MARKER) {
        let line = index.line_of(at);
        let line_range = index.line_range(text, line);
        let before = &text[line_range.start..at];
        let Some(hash) = before.trim_end().strip_suffix('#') else {
            continue;
        };
        let own_line = hash.trim().is_empty();
        if style == CommentStyle::FullLineHash && !own_line {
            continue;
        }
        let comment_end = line_range.end.max(at);
        let body = &text[at + MARKER.len()..comment_end];
        let span = at..comment_end;
        let target_line = if own_line {
            next_code_line(text, index, line)
        } else {
            line
        };
        let Some(after_ignore) = body.trim_start().strip_prefix("ignore") else {
            continue;
        };
        let body_offset =
            at + MARKER.len() + (body.len() - body.trim_start().len()) + "ignore".len();
        suppressions.push(parse_body(after_ignore, body_offset, target_line, span));
    }
    suppressions
}

fn parse_body(body: &str, offset: usize, target_line: usize, span: Span) -> Suppression {
    let malformed = |problem: &str| Suppression {
        target_line,
        rules: Vec::new(),
        reason: None,
        span: span.clone(),
        problem: Some(problem.to_string()),
    };
    let Some(list) = body.strip_prefix('[') else {
        return malformed("expected `ignore[RULE, ...] reason`");
    };
    let Some(close) = list.find(']') else {
        return malformed("the rule list has no closing `]`");
    };
    let mut rules = Vec::new();
    let mut problem = None;
    let mut cursor = offset + 1;
    for part in list[..close].split(',') {
        let id = part.trim();
        let start = cursor + (part.len() - part.trim_start().len());
        cursor += part.len() + 1;
        if id.is_empty() {
            continue;
        }
        match registry::find(id) {
            Some(rule) => rules.push((rule.id.to_string(), start..start + id.len())),
            None => problem = Some(format!("unknown rule `{id}` (see `lambda-gate rules`)")),
        }
    }
    if rules.is_empty() && problem.is_none() {
        problem = Some("the rule list is empty".into());
    }
    let reason = list[close + 1..].trim();
    if reason.is_empty() && problem.is_none() {
        problem = Some("a suppression needs a reason after the rule list".into());
    }
    Suppression {
        target_line,
        rules,
        reason: (!reason.is_empty()).then(|| reason.to_string()),
        span,
        problem,
    }
}

fn next_code_line(text: &str, index: &LineIndex, line: usize) -> usize {
    let mut next = line + 1;
    while next < index.line_count() {
        let range = index.line_range(text, next);
        if !text[range].trim_start().starts_with('#') {
            break;
        }
        next += 1;
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(text: &str, style: CommentStyle) -> Vec<Suppression> {
        parse(text, &LineIndex::new(text), style)
    }

    #[test]
    fn own_line_comment_covers_the_next_code_line() {
        let text =
            "# lambda-gate: ignore[DKR004] pinned by the platform team\n# another\nFROM python\n";
        let s = &parse_all(text, CommentStyle::FullLineHash)[0];
        assert_eq!(s.target_line, 2);
        assert_eq!(s.covers(2, "dkr004"), Some(0));
        assert_eq!(s.reason.as_deref(), Some("pinned by the platform team"));
        assert!(s.problem.is_none());
        assert_eq!(&text[s.rules[0].1.clone()], "DKR004");
    }

    #[test]
    fn trailing_comment_covers_its_line_but_not_in_dockerfiles() {
        let text = "x = 1  # lambda-gate: ignore[DKR004, DKR005] legacy\n";
        assert_eq!(parse_all(text, CommentStyle::Hash)[0].target_line, 0);
        assert_eq!(parse_all(text, CommentStyle::Hash)[0].rules.len(), 2);
        assert!(parse_all(text, CommentStyle::FullLineHash).is_empty());
    }

    #[test]
    fn problems_are_recorded() {
        let cases = [
            ("# lambda-gate: ignore[DKR004]\n", "needs a reason"),
            ("# lambda-gate: ignore[NOPE1] why\n", "unknown rule"),
            ("# lambda-gate: ignore DKR004 why\n", "expected"),
            ("# lambda-gate: ignore[] why\n", "empty"),
            ("# lambda-gate: ignore[DKR004 why\n", "closing"),
        ];
        for (text, expected) in cases {
            let s = &parse_all(text, CommentStyle::FullLineHash)[0];
            assert!(
                s.problem.as_deref().unwrap_or("").contains(expected),
                "{text}: {:?}",
                s.problem
            );
        }
    }
}
