//! `[mypy]`: the mypy version whose configuration semantics apply, the Python version, and
//! what every Lambda's mypy configuration must turn on.

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::options;
use crate::policy::{strings, SettingError};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct MypyPolicy {
    /// The mypy version whose configuration semantics apply.
    pub version: String,
    /// `python_version` every Lambda's mypy configuration must name (the release base's).
    pub python_version: String,
    /// Every flag `strict = true` turns on must be on globally.
    pub require_strict: bool,
    /// Boolean options that must be on globally.
    pub required_flags: Vec<String>,
    /// Error codes that must be enabled globally and never disabled for first-party modules.
    pub required_error_codes: Vec<String>,
    /// Third-party module patterns allowed `ignore_missing_imports` in a per-module section.
    pub untyped_modules: Vec<String>,
}

impl MypyPolicy {
    /// Before the embedded policy: nothing required.
    pub fn unset() -> MypyPolicy {
        MypyPolicy {
            version: String::new(),
            python_version: String::new(),
            require_strict: false,
            required_flags: Vec::new(),
            required_error_codes: Vec::new(),
            untyped_modules: Vec::new(),
        }
    }
}

/// `[mypy]` as written in one configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MypyLayer {
    pub version: Option<Spanned<String>>,
    pub python_version: Option<Spanned<String>>,
    pub require_strict: Option<bool>,
    pub required_flags: Option<Vec<Spanned<String>>>,
    pub required_error_codes: Option<Vec<Spanned<String>>>,
    pub untyped_modules: Option<Vec<Spanned<String>>>,
}

impl MypyLayer {
    /// Lists replace the layer below.
    pub fn apply(&self, mypy: &mut MypyPolicy) {
        if let Some(v) = &self.version {
            mypy.version = v.get_ref().clone();
        }
        if let Some(v) = &self.python_version {
            mypy.python_version = v.get_ref().clone();
        }
        if let Some(v) = self.require_strict {
            mypy.require_strict = v;
        }
        if let Some(v) = &self.required_flags {
            mypy.required_flags = strings(v);
        }
        if let Some(v) = &self.required_error_codes {
            mypy.required_error_codes = strings(v);
        }
        if let Some(v) = &self.untyped_modules {
            mypy.untyped_modules = strings(v);
        }
    }

    /// What serde cannot check: the version lambda-gate reproduces, a well-formed Python
    /// version, known flags and error codes.
    pub fn validate(&self) -> Result<(), SettingError> {
        let spanned = |value: &Spanned<String>| (value.span(), value.get_ref().clone());
        if let Some(version) = &self.version {
            let (span, version) = spanned(version);
            if version != options::MYPY_VERSION {
                return Err(SettingError::at(
                    span,
                    format!(
                        "lambda-gate reads mypy configuration as mypy {} does; the policy names mypy {version}",
                        options::MYPY_VERSION
                    ),
                ));
            }
        }
        if let Some(python) = &self.python_version {
            let (span, text) = spanned(python);
            let valid = text
                .split_once('.')
                .is_some_and(|(major, minor)| major == "3" && minor.parse::<u32>().is_ok());
            if !valid {
                return Err(SettingError::at(
                    span,
                    format!("`python-version` must look like 3.12, not `{text}`"),
                ));
            }
        }
        for flag in self.required_flags.iter().flatten() {
            let (span, name) = spanned(flag);
            let is_bool = options::OPTIONS
                .iter()
                .any(|(n, kind)| *n == name && matches!(kind, options::Kind::Bool(_)));
            if !is_bool {
                return Err(SettingError::at(
                    span,
                    format!("`{name}` is not a boolean mypy option"),
                ));
            }
        }
        for code in self.required_error_codes.iter().flatten() {
            let (span, code) = spanned(code);
            if options::ERROR_CODES.binary_search(&code.as_str()).is_err() {
                return Err(SettingError::at(
                    span,
                    format!("`{code}` is not a mypy error code"),
                ));
            }
        }
        Ok(())
    }
}
