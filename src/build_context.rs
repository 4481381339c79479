//! The build context `docker build` sends for a Lambda: the files of its directory, less what
//! `.dockerignore` excludes. Rules read it to know what COPY can bring into the image.

use std::path::Path;

use std::path::PathBuf;

use crate::glob::GlobMatcher;
use crate::policy::path_glob;

#[derive(Debug, Clone, Default)]
pub struct BuildContext {
    /// The context's directory, when it is one on disk.
    root: Option<PathBuf>,
    /// `/`-separated paths relative to the context root, sorted.
    files: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: invalid .dockerignore pattern `{pattern}`: {reason}")]
pub struct PatternError {
    pub path: PathBuf,
    pub line: usize,
    pub pattern: String,
    pub reason: String,
}

/// One `.dockerignore` line.
#[derive(Debug)]
struct Pattern {
    matcher: GlobMatcher,
    /// The pattern's text before its first wildcard, to know which directories it can reach.
    literal_prefix: String,
    exception: bool,
}

/// `.dockerignore` as Docker reads it: one pattern per line, `#` comments, `!` exceptions, the
/// last matching line wins, and a pattern that matches a directory excludes what is inside it.
#[derive(Debug, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

impl DockerIgnore {
    pub fn parse(text: &str, path: &Path) -> Result<DockerIgnore, PatternError> {
        let mut patterns = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exception, body) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let cleaned = clean(body);
            if cleaned.is_empty() {
                continue;
            }
            let matcher = path_glob(&cleaned)
                .map_err(|e| PatternError {
                    path: path.to_path_buf(),
                    line: index + 1,
                    pattern: line.to_string(),
                    reason: e.kind().to_string(),
                })?
                .compile_matcher();
            let literal_prefix = cleaned
                .split(['*', '?', '[', '\\'])
                .next()
                .unwrap_or_default()
                .to_string();
            patterns.push(Pattern {
                matcher,
                literal_prefix,
                exception,
            });
        }
        Ok(DockerIgnore { patterns })
    }

    /// Whether `relative` (with `/` separators) is left out of the context.
    pub fn is_excluded(&self, relative: &str) -> bool {
        let mut excluded = false;
        for pattern in &self.patterns {
            if pattern.exception == excluded && matches_or_parent(&pattern.matcher, relative) {
                excluded = !pattern.exception;
            }
        }
        excluded
    }

    /// Whether an excluded directory must still be walked because an exception may reach inside.
    pub fn may_include_below(&self, directory: &str) -> bool {
        let inside = format!("{directory}/");
        self.patterns.iter().any(|p| {
            p.exception
                && (p.literal_prefix.starts_with(&inside)
                    || inside.starts_with(&p.literal_prefix)
                    || p.literal_prefix.is_empty())
        })
    }
}

/// Docker's `filepath.Clean` of a pattern, without a leading `/`.
fn clean(pattern: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

fn matches_or_parent(matcher: &GlobMatcher, relative: &str) -> bool {
    if matcher.is_match(relative) {
        return true;
    }
    let mut end = relative.len();
    while let Some(slash) = relative[..end].rfind('/') {
        if matcher.is_match(&relative[..slash]) {
            return true;
        }
        end = slash;
    }
    false
}

impl BuildContext {
    pub fn from_files(mut files: Vec<String>) -> BuildContext {
        files.sort();
        files.dedup();
        BuildContext { root: None, files }
    }

    /// The context's directory on disk, to read a file the build unpacks (`ADD x.tar.gz`).
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// The context of `dir` given its files (relative, `/`-separated), applying `dir/.dockerignore`.
    pub fn for_dir<'a>(dir: &Path, files: impl Iterator<Item = &'a str>) -> BuildContext {
        let files: Vec<&str> = files.collect();
        // The walk already knows whether there is a .dockerignore: no need to try opening one.
        let rules = if files.contains(&".dockerignore") {
            crate::fsio::read_to_string(&dir.join(".dockerignore"))
                .ok()
                .and_then(|text| DockerIgnore::parse(&text, &dir.join(".dockerignore")).ok())
                .unwrap_or_default()
        } else {
            DockerIgnore::default()
        };
        let mut context = BuildContext::from_files(
            files
                .into_iter()
                .filter(|file| !rules.is_excluded(file))
                .map(str::to_string)
                .collect(),
        );
        context.root = Some(dir.to_path_buf());
        context
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn ignore(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text, Path::new(".dockerignore")).unwrap()
    }

    #[test]
    fn last_match_wins_and_exceptions_reinclude() {
        let rules = ignore("# comment\n*.md\n!README.md\n/target\n**/__pycache__\n");
        assert!(rules.is_excluded("NOTES.md"));
        assert!(!rules.is_excluded("README.md"));
        assert!(rules.is_excluded("target/release/x"));
        assert!(rules.is_excluded("app/sub/__pycache__/m.pyc"));
        assert!(!rules.is_excluded("app/handler.py"));
        // As in Docker, `*.md` is anchored at the root: it does not reach into directories.
        assert!(!rules.is_excluded("docs/guide.md"));
    }

    #[test]
    fn allow_list_style_walks_only_what_exceptions_reach() {
        let rules = ignore("*\n!src\n!Cargo.toml\n");
        assert!(rules.is_excluded("target"));
        assert!(!rules.may_include_below("target"));
        assert!(!rules.is_excluded("src/main.rs"));
        assert!(!rules.is_excluded("Cargo.toml"));
    }

    #[test]
    fn dockerignore_excludes_with_exceptions() {
        let rules = ignore("# comment\ntests\n*.md\n!README.md\n/build/\n");
        assert!(rules.is_excluded("tests/test_app.py"));
        assert!(rules.is_excluded("NOTES.md"));
        assert!(!rules.is_excluded("README.md"));
        assert!(rules.is_excluded("build/x.py"));
        assert!(!rules.is_excluded("app/handler.py"));
    }

    #[test]
    fn bad_pattern_names_file_and_line() {
        let error = DockerIgnore::parse("ok\n[z-a\n", Path::new("p/.dockerignore")).unwrap_err();
        assert!(
            error.to_string().starts_with("p/.dockerignore:2:"),
            "{error}"
        );
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
