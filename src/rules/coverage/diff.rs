//! Lines added since a git ref, for diff coverage (what diff-cover computes).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context as _};

/// Added line numbers per path relative to `dir`, for changes between `base` and the working tree.
pub fn changed_lines(dir: &Path, base: &str) -> anyhow::Result<HashMap<String, Vec<u32>>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "diff",
            "--relative",
            "--unified=0",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
        ])
        .arg(base)
        .args(["--", "."])
        .output()
        .context("cannot run git for --diff-base")?;
    if !output.status.success() {
        bail!(
            "git diff {base} failed in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(parse_unified_zero(&String::from_utf8_lossy(&output.stdout)))
}

/// Parses `git diff --unified=0`: `+++ b/path` then `@@ -a,b +c,d @@` hunks.
pub fn parse_unified_zero(diff: &str) -> HashMap<String, Vec<u32>> {
    let mut changed: HashMap<String, Vec<u32>> = HashMap::new();
    let mut current: Option<String> = None;
    for line in diff.lines() {
        if let Some(path) = line.strip_prefix("+++ ") {
            current = path.strip_prefix("b/").map(str::to_string);
        } else if let (Some(path), Some(hunk)) = (&current, line.strip_prefix("@@ ")) {
            let Some(added) = hunk.split(' ').find_map(|part| part.strip_prefix('+')) else {
                continue;
            };
            let (start, count) = match added.split_once(',') {
                Some((start, count)) => (
                    start.parse::<u32>().unwrap_or(0),
                    count.parse::<u32>().unwrap_or(0),
                ),
                None => (added.parse::<u32>().unwrap_or(0), 1),
            };
            changed
                .entry(path.clone())
                .or_default()
                .extend(start..start + count);
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_added_ranges() {
        let diff = "diff --git a/app/x.py b/app/x.py\n--- a/app/x.py\n+++ b/app/x.py\n@@ -1,0 +2,3 @@\n+a\n+b\n+c\n@@ -9 +12 @@\n-x\n+y\n--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-z\n";
        let changed = parse_unified_zero(diff);
        assert_eq!(changed["app/x.py"], vec![2, 3, 4, 12]);
        assert_eq!(changed.len(), 1);
    }
}
