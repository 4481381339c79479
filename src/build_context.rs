//! The build context `docker build` sends for a Lambda: the files of its directory, less what
//! `.dockerignore` excludes. Rules read it to know what COPY can bring into the image.

use std::path::Path;

use globset::GlobMatcher;

use crate::policy::path_glob;

#[derive(Debug, Clone, Default)]
pub struct BuildContext {
    /// `/`-separated paths relative to the context root, sorted.
    files: Vec<String>,
}

/// One `.dockerignore` line: a pattern, or an exception (`!pattern`).
struct IgnoreRule {
    matcher: GlobMatcher,
    exception: bool,
}

impl BuildContext {
    pub fn from_files(mut files: Vec<String>) -> BuildContext {
        files.sort();
        files.dedup();
        BuildContext { files }
    }

    /// The context of `dir` given its files (relative, `/`-separated), applying `dir/.dockerignore`.
    pub fn for_dir<'a>(dir: &Path, files: impl Iterator<Item = &'a str>) -> BuildContext {
        let files: Vec<&str> = files.collect();
        // The walk already knows whether there is a .dockerignore: no need to try opening one.
        let rules = if files.contains(&".dockerignore") {
            std::fs::read_to_string(dir.join(".dockerignore"))
                .map(|text| parse_dockerignore(&text))
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        BuildContext::from_files(
            files
                .into_iter()
                .filter(|file| !is_ignored(&rules, file))
                .map(str::to_string)
                .collect(),
        )
    }

    pub fn files(&self) -> &[String] {
        &self.files
    }

    pub fn is_file(&self, path: &str) -> bool {
        self.files
            .binary_search_by(|f| f.as_str().cmp(path))
            .is_ok()
    }

    /// Files below directory `dir` (`""` is the root).
    pub fn under<'a>(&'a self, dir: &str) -> impl Iterator<Item = &'a String> + 'a {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{}/", dir.trim_end_matches('/'))
        };
        let start = self.files.partition_point(|f| f.as_str() < prefix.as_str());
        self.files[start..]
            .iter()
            .take_while(move |f| f.starts_with(&prefix))
    }
}

fn parse_dockerignore(text: &str) -> Vec<IgnoreRule> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let (exception, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let pattern = pattern.trim_start_matches('/').trim_end_matches('/');
            let pattern = pattern.strip_prefix("./").unwrap_or(pattern);
            let matcher = path_glob(pattern).ok()?.compile_matcher();
            Some(IgnoreRule { matcher, exception })
        })
        .collect()
}

/// Docker's rule: the last pattern that matches the path or one of its parent directories wins.
fn is_ignored(rules: &[IgnoreRule], file: &str) -> bool {
    let mut ignored = false;
    for rule in rules {
        let mut candidate = Some(file);
        while let Some(path) = candidate {
            if rule.matcher.is_match(path) {
                ignored = !rule.exception;
                break;
            }
            candidate = path.rfind('/').map(|i| &path[..i]);
        }
    }
    ignored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerignore_excludes_with_exceptions() {
        let rules = parse_dockerignore("# comment\ntests\n*.md\n!README.md\n/build/\n");
        assert!(is_ignored(&rules, "tests/test_app.py"));
        assert!(is_ignored(&rules, "NOTES.md"));
        assert!(!is_ignored(&rules, "README.md"));
        assert!(is_ignored(&rules, "build/x.py"));
        assert!(!is_ignored(&rules, "app/handler.py"));
    }

    #[test]
    fn under_lists_a_directory() {
        let context = BuildContext::from_files(vec![
            "app/a.py".into(),
            "app/b/c.py".into(),
            "apps.py".into(),
        ]);
        assert_eq!(context.under("app").count(), 2);
        assert_eq!(context.under("").count(), 3);
        assert!(context.is_file("apps.py"));
    }
}
