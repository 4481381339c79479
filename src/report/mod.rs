//! Output formats, one file each.

mod github;
pub mod html;
mod human;
mod json;
mod junit;
mod sarif;
pub mod sweep_text;

use std::io::{self, Write};

use crate::check::CheckResult;
use crate::diagnostic::Severity;

pub use human::render_config_error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// rustc-style snippets and a summary line.
    Human,
    /// The versioned JSON schema (`version: 1`).
    Json,
    /// SARIF 2.1.0, for Jenkins Warnings NG and GitHub code scanning.
    Sarif,
    /// JUnit XML, for Jenkins `junit`.
    Junit,
    /// GitHub Actions workflow commands (`::error file=...`).
    Github,
}

/// Everything a renderer needs besides the diagnostics.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    pub color: bool,
    /// Leave out wall-clock figures (for reproducible output).
    pub deterministic: bool,
}

pub fn render(
    format: Format,
    result: &CheckResult,
    options: RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Human => human::render(result, options, out),
        Format::Json => json::render(result, options, out),
        Format::Sarif => sarif::render(result, out),
        Format::Junit => junit::render(result, out),
        Format::Github => github::render(result, out),
    }
}

/// The counts every format reports.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Summary {
    pub files: usize,
    pub lambdas: usize,
    /// Of the Lambdas: those whose code was only partly located, not located at all, and those
    /// that are not Python (the rest were fully checked).
    pub lambdas_partly_checked: usize,
    pub lambdas_not_checked: usize,
    pub lambdas_not_python: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Summary {
    pub fn of(result: &CheckResult) -> Summary {
        Summary {
            files: result.files_checked,
            lambdas: result.lambdas(),
            lambdas_partly_checked: result.lambdas_checked(crate::check::Checked::Partly),
            lambdas_not_checked: result.lambdas_checked(crate::check::Checked::NotChecked),
            lambdas_not_python: result.lambdas_checked(crate::check::Checked::NotPython),
            errors: result.count(Severity::Error),
            warnings: result.count(Severity::Warning),
            infos: result.count(Severity::Info),
        }
    }
}

impl Summary {
    /// `3 Lambdas` when every one was fully checked, else how many were and what of the others:
    /// `3 Lambdas (1 fully checked, 1 partly checked, 1 not Python)`.
    pub fn lambdas_text(&self) -> String {
        let total = count(self.lambdas, "Lambda", "Lambdas");
        let others =
            self.lambdas_partly_checked + self.lambdas_not_checked + self.lambdas_not_python;
        if others == 0 {
            return total;
        }
        let parts: Vec<String> = [
            (self.lambdas - others, "fully checked"),
            (self.lambdas_partly_checked, "partly checked"),
            (self.lambdas_not_checked, "not checked"),
            (self.lambdas_not_python, "not Python"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        format!("{total} ({})", parts.join(", "))
    }
}

/// A path as every format prints it: `/`-separated.
pub fn display_path(path: &std::path::Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// `n` and the noun in the number it takes: `1 error`, `2 errors`, `0 repositories`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `path` as shown to the person running the command: relative to `base` (the working
/// directory) when it lies below it (`.` for `base` itself), else as it is.
pub fn shown_below(path: &std::path::Path, base: Option<&std::path::Path>) -> std::path::PathBuf {
    match base.and_then(|base| path.strip_prefix(base).ok()) {
        Some(relative) if relative.as_os_str().is_empty() => std::path::PathBuf::from("."),
        Some(relative) => relative.to_path_buf(),
        None => path.to_path_buf(),
    }
}
