//! Rules: every check lambda-gate makes, one per file, listed in [`registry`].

pub mod core;
pub mod coverage;
pub mod dockerfile;
pub mod mypy;
pub mod python;
pub mod registry;
pub mod terraform;

use crate::diagnostic::{Finding, Severity};

/// The family a rule belongs to: the kind of file it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// The gate itself: unreadable files, suppressions.
    Core,
    Dockerfile,
    Mypy,
    Python,
    Terraform,
    Coverage,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Core => "core",
            Family::Dockerfile => "dockerfile",
            Family::Mypy => "mypy",
            Family::Python => "python",
            Family::Terraform => "terraform",
            Family::Coverage => "coverage",
        }
    }
}

/// How the engine runs a rule.
#[derive(Clone, Copy)]
pub enum Check {
    /// Emitted by the engine itself (parse errors, unreadable files, suppressions).
    Engine,
    Dockerfile(fn(&dockerfile::Context<'_>) -> Vec<Finding>),
    /// Once per Lambda, with its mypy configuration read.
    Mypy(fn(&mypy::Context<'_>) -> Vec<Finding>),
    /// Once per Python module that has a syntax tree.
    Python(fn(&python::Context<'_>) -> Vec<Finding>),
    /// Once per Terraform module (a directory of `*.tf` files), with every file parsed.
    Terraform(fn(&terraform::Context<'_>) -> Vec<terraform::Located>),
    /// Once per Lambda, with its coverage report read.
    Coverage(fn(&coverage::Context<'_>) -> Vec<coverage::Located>),
}

/// Each family's check, picked out of a [`Check`] for [`registry::checks_of`]: the one place a
/// family's runner learns which rules are its own.
impl Check {
    pub fn dockerfile(&self) -> Option<fn(&dockerfile::Context<'_>) -> Vec<Finding>> {
        match self {
            Check::Dockerfile(check) => Some(*check),
            _ => None,
        }
    }

    pub fn mypy(&self) -> Option<fn(&mypy::Context<'_>) -> Vec<Finding>> {
        match self {
            Check::Mypy(check) => Some(*check),
            _ => None,
        }
    }

    pub fn python(&self) -> Option<fn(&python::Context<'_>) -> Vec<Finding>> {
        match self {
            Check::Python(check) => Some(*check),
            _ => None,
        }
    }

    pub fn terraform(&self) -> Option<fn(&terraform::Context<'_>) -> Vec<terraform::Located>> {
        match self {
            Check::Terraform(check) => Some(*check),
            _ => None,
        }
    }

    pub fn coverage(&self) -> Option<fn(&coverage::Context<'_>) -> Vec<coverage::Located>> {
        match self {
            Check::Coverage(check) => Some(*check),
            _ => None,
        }
    }
}

/// A rule's identity and documentation. Ids are stable forever; a retired id is never reused.
pub struct Rule {
    pub id: &'static str,
    /// kebab-case name, e.g. `base-not-approved`.
    pub name: &'static str,
    pub family: Family,
    /// One line: what the rule enforces.
    pub summary: &'static str,
    pub default_severity: Severity,
    /// Whether `--fix` can repair what it finds.
    pub fixable: bool,
    /// The rule's Markdown documentation (`rules/<ID>.md`).
    pub doc: &'static str,
    pub check: Check,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule").field("id", &self.id).finish()
    }
}

/// Embeds `rules/<ID>.md` for a rule defined in this crate.
#[macro_export]
macro_rules! rule_doc {
    ($id:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/", $id, ".md"))
    };
}
