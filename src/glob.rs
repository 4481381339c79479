//! Globs as `globset` reads and matches them, without its regular expressions where a
//! pattern needs none.
//!
//! `globset` compiles every set into a regular expression: about 0.1-0.5 ms a set, several
//! milliseconds for a policy's sets together, more than a pre-commit run's whole check of a
//! changed Lambda. Nearly every pattern a policy holds is literals, `*`, `?` and `{a,b}`:
//! those are matched here directly, byte by byte, exactly as `globset`'s expression would
//! (its `(?-u)` bytes mode: `?` is one byte, case-insensitivity is ASCII's). Anything else
//! (classes, escapes, `**`, nested alternatives) goes to `globset`. A pattern of the direct
//! form is one `globset` accepts (it has none of the characters its errors are about), and
//! every other pattern is parsed by `globset`, so errors are its own. A differential test and
//! the `glob` fuzz target compare the two, answers and errors.

use std::path::Path;
use std::sync::Arc;

/// How a pattern is read: `globset`'s options of the same names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// ASCII letters match either case.
    pub case_insensitive: bool,
    /// `*` and `?` do not match `/`.
    pub literal_separator: bool,
}

/// One parsed glob: its direct form, or `globset`'s.
#[derive(Debug, Clone)]
pub struct Glob {
    pattern: String,
    options: Options,
    form: Form,
}

#[derive(Debug, Clone)]
enum Form {
    Direct(Direct),
    Compiled(globset::Glob),
}

impl Glob {
    /// Parses `pattern`; backslashes escape (as `globset` has them on Unix).
    pub fn new(pattern: &str, options: Options) -> Result<Glob, globset::Error> {
        let form = match Direct::parse(pattern).filter(|_| DIRECT_PATHS) {
            Some(direct) => Form::Direct(direct),
            None => Form::Compiled(globset_glob(pattern, options)?),
        };
        Ok(Glob {
            pattern: pattern.to_string(),
            options,
            form,
        })
    }

    /// The pattern as written.
    pub fn glob(&self) -> &str {
        &self.pattern
    }

    pub fn compile_matcher(self) -> GlobMatcher {
        let mut set = GlobSetBuilder::new();
        set.add(self.clone());
        GlobMatcher {
            // A single valid glob always compiles (`globset::Glob::compile_matcher` unwraps).
            set: set.build().unwrap_or_else(|_| GlobSet::empty()),
            glob: self,
        }
    }
}

/// One glob, compiled.
#[derive(Debug, Clone)]
pub struct GlobMatcher {
    glob: Glob,
    set: GlobSet,
}

impl GlobMatcher {
    pub fn glob(&self) -> &Glob {
        &self.glob
    }

    pub fn is_match(&self, path: impl AsRef<Path>) -> bool {
        self.set.is_match(path)
    }
}

#[derive(Debug, Default)]
pub struct GlobSetBuilder {
    globs: Vec<Glob>,
}

impl GlobSetBuilder {
    pub fn new() -> GlobSetBuilder {
        GlobSetBuilder::default()
    }

    pub fn add(&mut self, glob: Glob) -> &mut GlobSetBuilder {
        self.globs.push(glob);
        self
    }

    /// The set; only patterns without a direct form are compiled (by `globset`).
    pub fn build(&self) -> Result<GlobSet, globset::Error> {
        let mut direct = Vec::new();
        let mut compiled = globset::GlobSetBuilder::new();
        let mut any_compiled = false;
        for glob in &self.globs {
            match &glob.form {
                Form::Direct(form) => direct.push((form.clone(), glob.options)),
                Form::Compiled(glob) => {
                    compiled.add(glob.clone());
                    any_compiled = true;
                }
            }
        }
        let compiled = if any_compiled {
            Some(compiled.build()?)
        } else {
            None
        };
        Ok(GlobSet(Arc::new(SetParts {
            direct,
            compiled,
            len: self.globs.len(),
        })))
    }
}

/// Patterns matched together; cheap to clone.
#[derive(Debug, Clone)]
pub struct GlobSet(Arc<SetParts>);

#[derive(Debug)]
struct SetParts {
    direct: Vec<(Direct, Options)>,
    compiled: Option<globset::GlobSet>,
    len: usize,
}

impl GlobSet {
    pub fn empty() -> GlobSet {
        GlobSet(Arc::new(SetParts {
            direct: Vec::new(),
            compiled: None,
            len: 0,
        }))
    }

    pub fn is_empty(&self) -> bool {
        self.0.len == 0
    }

    pub fn len(&self) -> usize {
        self.0.len
    }

    /// Whether any pattern matches `path` (its bytes, as `globset` takes them on Unix).
    pub fn is_match(&self, path: impl AsRef<Path>) -> bool {
        let path = path.as_ref();
        if !self.0.direct.is_empty() {
            let bytes = path.as_os_str().as_encoded_bytes();
            if (self.0.direct.iter()).any(|(form, options)| form.is_match(bytes, *options)) {
                return true;
            }
        }
        self.0
            .compiled
            .as_ref()
            .is_some_and(|set| set.is_match(path))
    }
}

/// `globset`'s reading of `pattern`.
fn globset_glob(pattern: &str, options: Options) -> Result<globset::Glob, globset::Error> {
    globset::GlobBuilder::new(pattern)
        .case_insensitive(options.case_insensitive)
        .literal_separator(options.literal_separator)
        .backslash_escape(true)
        .build()
}

/// On Unix `globset` matches a path's bytes as they are; elsewhere it rewrites separators
/// first, which the direct form does not do.
const DIRECT_PATHS: bool = cfg!(unix);

/// A pattern of literals, `*` and `?`, with its `{a,b}` alternatives spelled out: it matches
/// when one of its sequences does.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Direct {
    sequences: Vec<Vec<Token>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Byte(u8),
    /// `?`: one byte.
    Any,
    /// `*`: any bytes.
    Star,
}

/// Beyond this many spelled-out sequences a pattern is left to `globset`.
const MAX_SEQUENCES: usize = 256;

impl Direct {
    /// The direct form of `pattern`, when it has one. The pattern is already valid for
    /// `globset`.
    fn parse(pattern: &str) -> Option<Direct> {
        // Each part is a choice of token sequences: a literal run or `*`/`?` is a choice of
        // one, `{a,b}` of its non-empty alternatives (`globset` drops empty ones; with none
        // left the group matches the empty string).
        let mut parts: Vec<Vec<Vec<Token>>> = Vec::new();
        let mut group: Option<Vec<Vec<Token>>> = None;
        let mut previous = None;
        for c in pattern.chars() {
            let token = match c {
                '[' | '\\' => return None,
                '*' if previous == Some('*') => return None,
                '*' => Some(Token::Star),
                '?' => Some(Token::Any),
                '{' if group.is_some() => return None,
                '{' => {
                    group = Some(vec![Vec::new()]);
                    None
                }
                ',' if group.is_some() => {
                    group.as_mut()?.push(Vec::new());
                    None
                }
                '}' => {
                    let mut alternatives = group.take()?;
                    alternatives.retain(|alternative| !alternative.is_empty());
                    if alternatives.is_empty() {
                        alternatives.push(Vec::new());
                    }
                    parts.push(alternatives);
                    None
                }
                c => {
                    let mut buffer = [0; 4];
                    let bytes = c.encode_utf8(&mut buffer).bytes().map(Token::Byte);
                    match group.as_mut() {
                        Some(alternatives) => alternatives.last_mut()?.extend(bytes),
                        None => parts.push(vec![bytes.collect()]),
                    }
                    None
                }
            };
            if let Some(token) = token {
                match group.as_mut() {
                    Some(alternatives) => alternatives.last_mut()?.push(token),
                    None => parts.push(vec![vec![token]]),
                }
            }
            previous = Some(c);
        }
        if group.is_some() {
            return None;
        }
        let mut sequences: Vec<Vec<Token>> = vec![Vec::new()];
        for choices in parts {
            if sequences.len() * choices.len() > MAX_SEQUENCES {
                return None;
            }
            sequences = (sequences.iter())
                .flat_map(|head| {
                    choices.iter().map(move |tail| {
                        let mut sequence = head.clone();
                        sequence.extend_from_slice(tail);
                        sequence
                    })
                })
                .collect();
        }
        Some(Direct { sequences })
    }

    fn is_match(&self, text: &[u8], options: Options) -> bool {
        (self.sequences.iter()).any(|sequence| matches(sequence, text, options))
    }
}

/// Whether `tokens` match all of `text`: the classic wildcard match, going back to the last
/// `*` on a mismatch. With `literal_separator` a `*` cannot take a `/`, and then no earlier
/// `*` can either (it would have to take the same `/`), so the match fails there.
fn matches(tokens: &[Token], text: &[u8], options: Options) -> bool {
    let same = |a: u8, b: u8| {
        if options.case_insensitive {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let takes = |byte: u8| !(options.literal_separator && byte == b'/');
    let (mut t, mut s) = (0, 0);
    // After the last `*` seen: the token after it, and where in `text` it resumes.
    let mut resume: Option<(usize, usize)> = None;
    while s < text.len() {
        match tokens.get(t) {
            Some(Token::Star) => {
                resume = Some((t + 1, s));
                t += 1;
                continue;
            }
            Some(Token::Any) if takes(text[s]) => {
                t += 1;
                s += 1;
                continue;
            }
            Some(Token::Byte(byte)) if same(*byte, text[s]) => {
                t += 1;
                s += 1;
                continue;
            }
            _ => {}
        }
        match resume {
            Some((after, from)) if takes(text[from]) => {
                resume = Some((after, from + 1));
                t = after;
                s = from + 1;
            }
            _ => return false,
        }
    }
    tokens[t..].iter().all(|token| *token == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_OPTIONS: [Options; 4] = [
        Options {
            case_insensitive: false,
            literal_separator: false,
        },
        Options {
            case_insensitive: true,
            literal_separator: false,
        },
        Options {
            case_insensitive: false,
            literal_separator: true,
        },
        Options {
            case_insensitive: true,
            literal_separator: true,
        },
    ];

    /// Our answer and `globset`'s, for one pattern and text; `None` when both refuse the
    /// pattern.
    fn both(pattern: &str, text: &str, options: Options) -> Option<(bool, bool)> {
        let theirs = globset_glob(pattern, options);
        let ours = Glob::new(pattern, options);
        assert_eq!(
            ours.is_ok(),
            theirs.is_ok(),
            "{pattern:?} accepted by one only"
        );
        let (ours, theirs) = (ours.ok()?, theirs.ok()?);
        let answer = theirs.compile_matcher().is_match(text);
        // Their set picks a strategy per pattern (literal, extension, ...): the same answer.
        let mut set = globset::GlobSetBuilder::new();
        set.add(theirs);
        assert_eq!(
            set.build().ok()?.is_match(text),
            answer,
            "{pattern:?} {text:?}"
        );
        Some((ours.compile_matcher().is_match(text), answer))
    }

    #[test]
    fn the_policys_own_patterns_take_the_direct_form() {
        for pattern in [
            "*.dkr.ecr.*.amazonaws.com/aws-lambda-python-release-base",
            "*.dkr.ecr.*.amazonaws.com/aws-lambda-python-release-base:3.12",
            "Dockerfile.*",
            "*.{rs,py,pyi,go,js,md,j2,orig}",
            "PARAMETERS_SECRETS_EXTENSION_*",
            "*_SECRET_ARN",
            "services/*/Dockerfile.prod",
        ] {
            assert!(Direct::parse(pattern).is_some(), "{pattern}");
        }
        for pattern in ["src/**/*.py", "[ab]c", "a\\*", "{a,{b,c}}", "a**"] {
            assert!(Direct::parse(pattern).is_none(), "{pattern}");
        }
    }

    #[test]
    fn matches_as_globset_does_on_chosen_cases() {
        let cases = [
            (
                "*.dkr.ecr.*.amazonaws.com/base",
                "1.dkr.ecr.eu-west-1.amazonaws.com/base",
            ),
            (
                "*.dkr.ecr.*.amazonaws.com/base",
                "1.dkr.ecr.a/b.amazonaws.com/base",
            ),
            ("Dockerfile.*", "dockerfile.PROD"),
            ("Dockerfile.*", "Dockerfile."),
            ("*.{rs,py}", "a.PY"),
            ("*.{rs,py}", "a/b.py"),
            ("{a,}", ""),
            ("{a,}", "a"),
            ("{,}", ""),
            ("x{,}y", "xy"),
            ("?", "é"),
            ("??", "é"),
            ("é", "É"),
            ("a*b*c", "abxbxc"),
            ("a*b*c", "ab/c"),
            ("*", ""),
            ("*/", "a/"),
            ("a?c", "a/c"),
            (",", ","),
            ("}", "}"),
            ("a{b,c}d{e,f}", "acdf"),
        ];
        for (pattern, text) in cases {
            for options in ALL_OPTIONS {
                if let Some((ours, theirs)) = both(pattern, text, options) {
                    assert_eq!(
                        ours, theirs,
                        "{pattern:?} against {text:?} with {options:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn matches_as_globset_does_on_random_patterns() {
        // A small alphabet makes collisions (and so matches) frequent; a fixed seed keeps
        // the test the same from run to run.
        const PATTERN: &[&str] = &["a", "B", "/", ".", "*", "?", "{", ",", "}", "é"];
        const TEXT: &[&str] = &["a", "A", "b", "B", "/", ".", "é", ","];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below as u64) as usize
        };
        let (mut compared, mut matched) = (0, 0);
        for _ in 0..20_000 {
            let pattern: String = (0..next(8)).map(|_| PATTERN[next(PATTERN.len())]).collect();
            let text: String = (0..next(9)).map(|_| TEXT[next(TEXT.len())]).collect();
            let options = ALL_OPTIONS[next(4)];
            if let Some((ours, theirs)) = both(&pattern, &text, options) {
                assert_eq!(
                    ours, theirs,
                    "{pattern:?} against {text:?} with {options:?}"
                );
                compared += 1;
                matched += usize::from(ours);
            }
        }
        assert!(compared > 5_000, "only {compared} cases compared");
        assert!(matched > 500, "only {matched} of {compared} cases matched");
    }

    #[test]
    fn a_set_mixes_direct_and_compiled_patterns() {
        let mut builder = GlobSetBuilder::new();
        for pattern in ["*.py", "src/**/*.tf"] {
            builder.add(Glob::new(pattern, ALL_OPTIONS[2]).expect("valid"));
        }
        let set = builder.build().expect("compiles");
        assert_eq!(set.len(), 2);
        assert!(set.is_match("handler.py"));
        assert!(!set.is_match("a/handler.py"));
        assert!(set.is_match("src/x/y/main.tf"));
        assert!(!set.is_match("main.tf"));
        assert!(GlobSet::empty().is_empty());
        assert!(!GlobSet::empty().is_match("a"));
    }

    #[test]
    fn invalid_patterns_are_globsets_errors() {
        for pattern in ["{a", "a}", "[a"] {
            let ours = Glob::new(pattern, Options::default())
                .map(drop)
                .map_err(|e| e.to_string());
            let theirs = globset::Glob::new(pattern)
                .map(drop)
                .map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{pattern}");
        }
    }
}
