//! Applying fixes: non-overlapping edits, first come first served.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::check::CheckResult;
use crate::diagnostic::Edit;

/// Applies `edits` to `text`. Edits are sorted by position; one that overlaps an earlier one
/// is skipped (the next `--fix` run will pick it up if it still applies).
pub fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|edit| (edit.range.start, edit.range.end));
    let mut out = String::with_capacity(text.len() + 64);
    let mut cursor = 0;
    for edit in sorted {
        if edit.range.start < cursor || edit.range.end > text.len() {
            continue;
        }
        out.push_str(&text[cursor..edit.range.start]);
        out.push_str(&edit.replacement);
        cursor = edit.range.end;
    }
    out.push_str(&text[cursor..]);
    out
}

/// A unified diff of one file, for `--fix --diff`.
pub fn unified_diff(path: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// Every file with fixes, as the diagnostics show it: its text before and after the fixes.
/// Shown paths are relative to `base` (where the check ran from) when not absolute.
pub fn fixed_files(
    result: &CheckResult,
    base: &Path,
) -> anyhow::Result<BTreeMap<PathBuf, (String, String)>> {
    let mut edits: BTreeMap<PathBuf, Vec<Edit>> = BTreeMap::new();
    for diagnostic in &result.diagnostics {
        if let Some(fix) = &diagnostic.fix {
            edits
                .entry(diagnostic.path.clone())
                .or_default()
                .extend(fix.edits.iter().cloned());
        }
    }
    let mut changes = BTreeMap::new();
    for (path, edits) in edits {
        let before = match result.sources.get(&path) {
            Some(text) => text.to_string(),
            None => std::fs::read_to_string(base.join(&path))
                .with_context(|| format!("cannot read `{}`", path.display()))?,
        };
        let after = apply_edits(&before, &edits);
        if after != before {
            changes.insert(path, (before, after));
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(range: std::ops::Range<usize>, replacement: &str) -> Edit {
        Edit {
            range,
            replacement: replacement.into(),
        }
    }

    #[test]
    fn applies_in_order_and_skips_overlaps() {
        let text = "FROM a:1\nFROM b:2\n";
        let edits = [edit(17..17, "@d2"), edit(8..8, "@d1"), edit(5..8, "x")];
        assert_eq!(apply_edits(text, &edits), "FROM x@d1\nFROM b:2@d2\n");
    }

    #[test]
    fn diff_names_the_file() {
        let diff = unified_diff("Dockerfile", "FROM a\n", "FROM b\n");
        assert!(diff.contains("--- a/Dockerfile") && diff.contains("+FROM b"));
    }
}
