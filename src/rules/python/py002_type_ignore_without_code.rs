//! PY002 `type-ignore-without-code`: a `# type: ignore` comment names no error code.

use ruff_python_ast::token::TokenKind;
use ruff_text_size::Ranged;

use super::{span, Context};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "PY002",
    name: "type-ignore-without-code",
    family: Family::Python,
    summary: "`# type: ignore` without an error code",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("PY002"),
    check: Check::Python(check),
};

/// The byte offset (within `comment`) of a `type: ignore` that has no `[code]`, as mypy's
/// pattern `#\s*type:\s*ignore\s*(\[[^[#]*\]\s*)?($|#)` reads it.
pub fn bare_ignore(comment: &str) -> Option<usize> {
    let mut offset = 0;
    while let Some(hash) = comment[offset..].find('#') {
        let start = offset + hash;
        let rest = comment[start + 1..].trim_start();
        if let Some(after) = rest.strip_prefix("type:") {
            if let Some(tail) = after.trim_start().strip_prefix("ignore") {
                let tail = tail.trim_start();
                if tail.is_empty() || tail.starts_with('#') {
                    return Some(start);
                }
                if let Some(inner) = tail.strip_prefix('[') {
                    let codes = inner.split(']').next().unwrap_or("");
                    if inner.contains(']') && codes.trim().is_empty() {
                        return Some(start);
                    }
                }
            }
        }
        offset = start + 1;
    }
    None
}

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    // Only where the byte scan sees `type:` can a type comment be: look at the comment tokens
    // only when there is one.
    if memchr::memmem::find(ctx.text.as_bytes(), b"type:").is_none() {
        return Vec::new();
    }
    let mut findings = Vec::new();
    for token in ctx.module.tokens() {
        if token.kind() != TokenKind::Comment {
            continue;
        }
        let range = span(token.range());
        let Some(text) = ctx.text.get(range.clone()) else {
            continue;
        };
        if let Some(offset) = bare_ignore(text) {
            findings.push(
                Finding::new(
                    range.start + offset..range.end,
                    "`# type: ignore` without an error code silences every error on the line",
                )
                .help("name the code mypy reports, e.g. `# type: ignore[attr-defined]`"),
            );
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_comments_as_mypy_does() {
        assert_eq!(bare_ignore("# type: ignore"), Some(0));
        assert_eq!(bare_ignore("#type:ignore # why"), Some(0));
        assert_eq!(bare_ignore("# type: ignore[]"), Some(0));
        assert_eq!(bare_ignore("# noqa # type: ignore"), Some(7));
        assert_eq!(bare_ignore("# type: ignore[attr-defined]"), None);
        assert_eq!(bare_ignore("# type: ignore[misc]  # reason"), None);
        assert_eq!(bare_ignore("# type: int"), None);
        assert_eq!(bare_ignore("# type: ignored"), None);
    }

    #[test]
    fn strings_are_not_comments() {
        let text = "x = '# type: ignore'\ny = 1  # type: ignore\n";
        let findings = super::super::testing::run(check, text, None);
        assert_eq!(findings.len(), 1);
        assert_eq!(&text[findings[0].span.clone()], "# type: ignore");
    }
}
