//! Variable substitution as BuildKit's shell lexer does it for FROM, ENV, ARG, COPY and friends.
//!
//! `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`,
//! `${VAR:?msg}`, `${VAR?msg}`; single quotes are literal, double quotes expand, the escape
//! character escapes. Where BuildKit would use a value only known at build time (an ARG with no
//! default, an undeclared name), expansion fails with the variable's name instead of guessing.

use std::collections::HashMap;

/// What is known about the variables in scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `None`: declared without a value (only `--build-arg` can give it one).
    vars: HashMap<String, Option<String>>,
    /// Global ARGs an in-stage `ARG NAME` may bring into scope.
    outer: Option<Box<Scope>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// Declared with no default: the value comes from `--build-arg` at build time.
    NoDefault(String),
    /// Never declared before use: BuildKit expands it to an empty string.
    Undeclared(String),
    /// `${VAR:?message}` on an unset variable, or a malformed `${...}`.
    Invalid(String),
}

impl std::fmt::Display for ExpandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpandError::NoDefault(name) => write!(
                f,
                "`{name}` is an ARG with no default: its value is only known at build time"
            ),
            ExpandError::Undeclared(name) => write!(
                f,
                "`{name}` is not declared before use (BuildKit would substitute an empty string)"
            ),
            ExpandError::Invalid(message) => f.write_str(message),
        }
    }
}

impl Scope {
    /// A stage scope: starts empty, with the global ARGs reachable through `ARG NAME`.
    pub fn stage(global: &Scope, base_env: &HashMap<String, String>) -> Scope {
        let mut scope = Scope {
            vars: HashMap::new(),
            outer: Some(Box::new(global.clone())),
        };
        for (name, value) in base_env {
            scope.vars.insert(name.clone(), Some(value.clone()));
        }
        scope
    }

    pub fn declare(&mut self, name: &str, value: Option<String>) {
        self.vars.insert(name.to_string(), value);
    }

    /// `ARG NAME` with no default: keeps a value the scope (or the global scope) already has.
    pub fn declare_or_keep(&mut self, name: &str) {
        if self.vars.contains_key(name) {
            return;
        }
        let inherited = self
            .outer
            .as_ref()
            .and_then(|outer| outer.vars.get(name).cloned())
            .flatten();
        self.vars.insert(name.to_string(), inherited);
    }

    pub fn get(&self, name: &str) -> Option<&Option<String>> {
        self.vars.get(name)
    }
}

/// Expands `word` in `scope`, removing quotes and escapes as BuildKit does.
pub fn expand(word: &str, scope: &Scope) -> Result<String, ExpandError> {
    if !word.contains(['$', '\'', '"', '\\']) {
        return Ok(word.to_string());
    }
    Expander {
        text: word,
        pos: 0,
        scope,
    }
    .word(None)
}

struct Expander<'a> {
    text: &'a str,
    /// Byte offset into `text`, always on a char boundary.
    pos: usize,
    scope: &'a Scope,
}

impl Expander<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn bump(&mut self, c: char) {
        self.pos += c.len_utf8();
    }

    /// Reads until `stop` (used for `${VAR:-word}` bodies) or the end.
    fn word(&mut self, stop: Option<char>) -> Result<String, ExpandError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                break;
            }
            self.bump(c);
            match c {
                '\'' => {
                    while let Some(c) = self.peek() {
                        self.bump(c);
                        if c == '\'' {
                            break;
                        }
                        out.push(c);
                    }
                }
                '"' => {
                    while let Some(c) = self.peek() {
                        self.bump(c);
                        match c {
                            '"' => break,
                            '\\' => match self.peek() {
                                Some(next @ ('"' | '$' | '\\')) => {
                                    self.pos += 1;
                                    out.push(next);
                                }
                                _ => out.push('\\'),
                            },
                            '$' => out.push_str(&self.variable()?),
                            c => out.push(c),
                        }
                    }
                }
                '\\' => {
                    if let Some(next) = self.peek() {
                        self.bump(next);
                        out.push(next);
                    }
                }
                '$' => out.push_str(&self.variable()?),
                c => out.push(c),
            }
        }
        Ok(out)
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        name
    }

    fn lookup(&self, name: &str) -> Result<Option<String>, ExpandError> {
        match self.scope.get(name) {
            Some(Some(value)) => Ok(Some(value.clone())),
            Some(None) => Err(ExpandError::NoDefault(name.to_string())),
            None => Err(ExpandError::Undeclared(name.to_string())),
        }
    }

    /// After a `$`.
    fn variable(&mut self) -> Result<String, ExpandError> {
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return self.lookup(&name).map(Option::unwrap_or_default);
        }
        self.pos += 1;
        let name = self.name();
        if name.is_empty() {
            return Err(ExpandError::Invalid(
                "bad substitution: `${` without a name".into(),
            ));
        }
        let colon = self.peek() == Some(':');
        if colon {
            self.pos += 1;
        }
        let operator = self.peek();
        match operator {
            Some('}') if !colon => {
                self.pos += 1;
                self.lookup(&name).map(Option::unwrap_or_default)
            }
            Some(op @ ('-' | '+' | '?')) => {
                self.pos += 1;
                let word = self.word(Some('}'))?;
                if self.peek() != Some('}') {
                    return Err(ExpandError::Invalid(format!(
                        "bad substitution: `${{{name}` is not closed"
                    )));
                }
                self.pos += 1;
                // Unknown values count as unset: the build-time default applies.
                let value = self.lookup(&name).ok().flatten();
                let set = match &value {
                    Some(v) => !(colon && v.is_empty()),
                    None => false,
                };
                match op {
                    '-' => Ok(if set { value.unwrap_or_default() } else { word }),
                    '+' => {
                        if matches!(self.scope.get(&name), Some(None)) {
                            return Err(ExpandError::NoDefault(name));
                        }
                        Ok(if set { word } else { String::new() })
                    }
                    _ => match value {
                        Some(v) if set => Ok(v),
                        _ => Err(ExpandError::Invalid(format!("{name}: {word}"))),
                    },
                }
            }
            _ => Err(ExpandError::Invalid(format!(
                "unsupported substitution in `${{{name}...}}`"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(vars: &[(&str, Option<&str>)]) -> Scope {
        let mut scope = Scope::default();
        for (name, value) in vars {
            scope.declare(name, value.map(str::to_string));
        }
        scope
    }

    #[test]
    fn expands_plain_and_braced_forms() {
        let s = scope(&[("A", Some("x")), ("E", Some(""))]);
        assert_eq!(expand("$A/${A}", &s).unwrap(), "x/x");
        assert_eq!(expand("${E:-d}|${E-d}|${U:-d}", &s).unwrap(), "d||d");
        assert_eq!(expand("${A:+y}|${E:+y}|${E+y}", &s).unwrap(), "y||y");
        assert_eq!(expand("${A:?boom}", &s).unwrap(), "x");
        assert!(expand("${U:?boom}", &s).is_err());
    }

    #[test]
    fn quotes_and_escapes() {
        let s = scope(&[("A", Some("x"))]);
        assert_eq!(expand("'$A'\"$A\"\\$A", &s).unwrap(), "$Ax$A");
        assert_eq!(expand("\"a b\"", &s).unwrap(), "a b");
        assert_eq!(expand("${A:-\"q\"}", &s).unwrap(), "x");
    }

    #[test]
    fn non_ascii_text_survives_expansion() {
        let s = scope(&[("A", Some("é"))]);
        assert_eq!(expand("ü'ß'\"ö$A\"\\ñ${B:-ç}", &s).unwrap(), "üßöéñç");
    }

    #[test]
    fn unknown_values_are_errors_not_guesses() {
        let s = scope(&[("T", None)]);
        assert_eq!(expand("$T", &s), Err(ExpandError::NoDefault("T".into())));
        assert_eq!(expand("${X}", &s), Err(ExpandError::Undeclared("X".into())));
        assert_eq!(expand("${T:-3.12}", &s).unwrap(), "3.12");
        assert!(expand("${T", &s).is_err());
    }

    #[test]
    fn stage_scope_inherits_global_args_only_when_redeclared() {
        let global = scope(&[("G", Some("g"))]);
        let mut stage = Scope::stage(&global, &HashMap::new());
        assert!(expand("$G", &stage).is_err());
        stage.declare_or_keep("G");
        assert_eq!(expand("$G", &stage).unwrap(), "g");
    }
}
