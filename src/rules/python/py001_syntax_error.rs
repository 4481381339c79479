//! PY001 `syntax-error`: the module does not parse as Python.

use ruff_python_ast::token::TokenKind;
use ruff_text_size::Ranged;

use super::{span, Context};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "PY001",
    name: "syntax-error",
    family: Family::Python,
    summary: "A Python module has a syntax error",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("PY001"),
    check: Check::Python(check),
};

/// More than this many errors in one file are one mistake echoing: report the first ones.
const MAX_PER_FILE: usize = 5;

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let Some(first) = ctx.module.errors().first() else {
        return Vec::new();
    };
    // As CPython: a bracket left open on an earlier line is the mistake, not where the parser
    // gave up on what follows it.
    if let Some((bracket, at)) = unclosed_before(ctx, first.location.start().to_usize()) {
        return vec![Finding::new(
            at..at + 1,
            format!("syntax error: `{bracket}` was never closed"),
        )];
    }
    let mut findings = Vec::new();
    let mut last_start: Option<usize> = None;
    for error in ctx.module.errors() {
        if findings.len() == MAX_PER_FILE {
            break;
        }
        // The parser recovers and may report the same mistake twice on its line (`def f(x:`
        // is a missing parameter and a missing `)`); CPython reports one. Comparing with the
        // previous error's offset keeps a file of many errors linear.
        let start = error.location.start().to_usize().min(ctx.text.len());
        if let Some(last) = last_start {
            let between = &ctx.text.as_bytes()[last.min(start)..last.max(start)];
            if memchr::memchr(b'\n', between).is_none() {
                continue;
            }
        }
        last_start = Some(start);
        let message = error.error.to_string();
        // The parser's messages start with a capital ("Expected ':', found newline").
        let mut chars = message.chars();
        let message: String = match chars.next() {
            Some(first) => first.to_lowercase().chain(chars).collect(),
            None => message,
        };
        findings.push(Finding::new(
            on_its_line(ctx.text, span(error.location)),
            format!("syntax error: {message}"),
        ));
    }
    findings
}

/// The error's range cut at the end of the line it starts on, and at least one character wide:
/// "found newline" covers the line break, which would otherwise underline the next line too.
fn on_its_line(text: &str, range: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let start = range.start.min(text.len());
    let line_end =
        memchr::memchr(b'\n', &text.as_bytes()[start..]).map_or(text.len(), |at| start + at);
    let end = range.end.min(line_end);
    if end > start {
        return start..end;
    }
    // The character there; at a line break or the end of the file, the point itself (a
    // caret after the line's last character, as CPython shows it).
    let width = text[start..]
        .chars()
        .next()
        .filter(|c| *c != '\n' && *c != '\r')
        .map_or(0, char::len_utf8);
    start..start + width
}

/// The innermost bracket still open where the first error is, when it was opened on an earlier
/// line or the error is at the end of the file: (the bracket, its offset).
fn unclosed_before(ctx: &Context<'_>, error: usize) -> Option<(char, usize)> {
    let mut open: Vec<(TokenKind, usize)> = Vec::new();
    for token in ctx.module.tokens() {
        let start = token.start().to_usize();
        if start >= error {
            break;
        }
        let kind = token.kind();
        match kind {
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => open.push((kind, start)),
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => {
                let matches = open.last().is_some_and(|(opener, _)| {
                    matches!(
                        (opener, kind),
                        (TokenKind::Lpar, TokenKind::Rpar)
                            | (TokenKind::Lsqb, TokenKind::Rsqb)
                            | (TokenKind::Lbrace, TokenKind::Rbrace)
                    )
                });
                if !matches {
                    // A mismatched closer is its own error.
                    return None;
                }
                open.pop();
            }
            _ => {}
        }
    }
    let (kind, at) = *open.last()?;
    let at_end = ctx.text[error.min(ctx.text.len())..].trim().is_empty();
    let earlier_line = ctx.text[at..error.min(ctx.text.len())].contains('\n');
    let bracket = match kind {
        TokenKind::Lpar => '(',
        TokenKind::Lsqb => '[',
        _ => '{',
    };
    (at_end || earlier_line).then_some((bracket, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<Finding> {
        super::super::testing::run(check, text, None)
    }

    #[test]
    fn valid_source_passes() {
        assert!(run("def f(x: int) -> int:\n    return x\n").is_empty());
    }

    #[test]
    fn errors_have_positions() {
        let findings = run("def f(:\n    return 1\n");
        assert!(!findings.is_empty());
        assert!(findings[0].span.start <= 6, "{findings:?}");
    }

    #[test]
    fn an_unclosed_bracket_is_reported_where_it_opens_as_in_cpython() {
        let text = "def handler(event, context):\n    return {\"statusCode\": 200,\n\n";
        let findings = run(text);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].message, "syntax error: `{` was never closed");
        assert_eq!(&text[findings[0].span.clone()], "{");
        let findings = run("x = [1, (2)\ny = 1\n");
        assert_eq!(findings[0].message, "syntax error: `[` was never closed");
        assert_eq!(findings[0].span, 4..5);
    }

    #[test]
    fn a_missing_colon_is_underlined_on_its_own_line() {
        let text = "def handler(event, context)\n    return {}\n";
        let findings = run(text);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(
            findings[0].message,
            "syntax error: expected `:`, found newline"
        );
        assert_eq!(findings[0].span, 27..27);
    }

    #[test]
    fn one_error_per_line_and_five_per_file() {
        let text = "x = = 1 = = 2\n".repeat(20);
        let findings = run(&text);
        assert_eq!(findings.len(), MAX_PER_FILE, "{findings:?}");
        let lines: Vec<usize> = findings
            .iter()
            .map(|f| text[..f.span.start].matches('\n').count())
            .collect();
        assert_eq!(lines, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn spans_stay_on_character_boundaries() {
        let findings = run("x = (\u{e9}\u{e9} +\n");
        assert!(!findings.is_empty());
        let text = "x = (\u{e9}\u{e9} +\n";
        for finding in findings {
            assert!(text.get(finding.span.clone()).is_some() || finding.span.start == text.len());
        }
    }

    #[test]
    fn an_empty_block_is_an_error_as_in_cpython() {
        let findings = run("def f(x):\n    if x:\n    return 1\n");
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0].message.contains("indented block"),
            "{findings:?}"
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let depth = 10_000;
        let text = format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth - 1));
        let findings = run(&text);
        assert!(!findings.is_empty());
    }
}
