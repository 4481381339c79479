//! The registry: every rule lambda-gate knows, grouped by family.

use super::{core, coverage, dockerfile, mypy, python, terraform, Rule};
use crate::engine::{FamilyState, FileOutcome, RunOptions, Session, Unit};
use crate::units::Workspace;

static RULES: &[&Rule] = &[
    &core::lg001_invalid_suppression::RULE,
    &core::lg002_unused_suppression::RULE,
    &core::lg003_unreadable_file::RULE,
    &core::lg004_symlink_loop::RULE,
    &core::lg005_not_a_lambda::RULE,
    &core::lg006_nothing_to_check::RULE,
    &core::lg007_code_not_located::RULE,
    &dockerfile::dkr001_parse_error::RULE,
    &dockerfile::dkr002_base_not_approved::RULE,
    &dockerfile::dkr003_base_unresolved::RULE,
    &dockerfile::dkr004_base_not_pinned::RULE,
    &dockerfile::dkr005_base_digest::RULE,
    &dockerfile::dkr006_handler_missing::RULE,
    &dockerfile::dkr007_handler_module_missing::RULE,
    &dockerfile::dkr008_secret_in_build_config::RULE,
    &dockerfile::dkr009_platform_mismatch::RULE,
    &dockerfile::dkr010_buildkit_syntax::RULE,
    &dockerfile::dkr011_credential_file_in_image::RULE,
    &mypy::myp001_config_invalid::RULE,
    &mypy::myp002_config_missing::RULE,
    &mypy::myp003_required_setting::RULE,
    &mypy::myp004_override_weakens::RULE,
    &mypy::myp005_ignore_missing_imports::RULE,
    &mypy::myp006_first_party_excluded::RULE,
    &python::py001_syntax_error::RULE,
    &python::py002_type_ignore_without_code::RULE,
    &python::py003_handler_signature::RULE,
    &python::py004_handler_unannotated::RULE,
    &terraform::tf001_syntax_error::RULE,
    &terraform::tf002_lambda_module_source::RULE,
    &terraform::tf003_image_not_by_digest::RULE,
    &terraform::tf004_architectures::RULE,
    &terraform::tf005_alarms_disabled::RULE,
    &terraform::tf006_log_retention::RULE,
    &terraform::tf007_tracing_off::RULE,
    &terraform::tf008_ecr_tag_mutability::RULE,
    &terraform::tf009_ecr_scan_on_push::RULE,
    &terraform::tf010_ecr_lifecycle_policy::RULE,
    &terraform::tf011_variable_undocumented::RULE,
    &terraform::tf012_version_unpinned::RULE,
    &terraform::tf013_duplicate_object_key::RULE,
    &terraform::tf014_literal_secret::RULE,
    &terraform::tf015_state_file_committed::RULE,
    &terraform::tf016_ecr_lifecycle_rules::RULE,
    &coverage::cov001_report_unreadable::RULE,
    &coverage::cov002_coverage_below_threshold::RULE,
    &coverage::cov003_path_coverage_below_threshold::RULE,
    &coverage::cov004_branch_coverage_missing::RULE,
    &coverage::cov005_report_missing::RULE,
    &coverage::cov006_report_stale::RULE,
    &coverage::cov007_diff_coverage_below_threshold::RULE,
    &coverage::cov008_report_paths_unmapped::RULE,
];

pub fn all() -> &'static [&'static Rule] {
    RULES
}

/// The rules of one family with their checks, in registry order: `checks_of(Check::python)`.
/// Which of them run (the policy's levels, pre-commit, the kind of image) is the caller's.
pub fn checks_of<C>(
    family: fn(&super::Check) -> Option<C>,
) -> impl Iterator<Item = (&'static Rule, C)> {
    RULES
        .iter()
        .filter_map(move |rule| family(&rule.check).map(|check| (*rule, check)))
}

/// How the engine runs a family: on each unit discovery hands over, one signature for all.
pub struct FamilyRunner {
    pub family: super::Family,
    /// Makes the family's state for a run, once, before any unit is judged (see
    /// [`Session::state`]); an error stops the run (`--diff-base` naming no commit).
    pub prepare: Option<Prepare>,
    /// Checks one unit; a family returns nothing for a unit it does not judge.
    pub check: fn(Unit<'_>, &Session<'_>) -> Vec<FileOutcome>,
}

/// A family's `prepare`.
pub type Prepare = fn(&Workspace, RunOptions<'_>) -> anyhow::Result<FamilyState>;

/// Every family's state for a run over `workspace`.
pub fn prepare(
    workspace: &Workspace,
    options: RunOptions<'_>,
) -> anyhow::Result<Vec<(super::Family, FamilyState)>> {
    FAMILIES
        .iter()
        .filter_map(|runner| Some((runner.family, runner.prepare?)))
        .map(|(family, prepare)| Ok((family, prepare(workspace, options)?)))
        .collect()
}

static FAMILIES: &[FamilyRunner] = &[
    FamilyRunner {
        family: super::Family::Dockerfile,
        prepare: None,
        check: dockerfile::unit::check,
    },
    FamilyRunner {
        family: super::Family::Mypy,
        prepare: Some(mypy::unit::prepare),
        check: mypy::unit::check,
    },
    FamilyRunner {
        family: super::Family::Python,
        prepare: None,
        check: python::unit::check,
    },
    FamilyRunner {
        family: super::Family::Terraform,
        prepare: None,
        check: terraform::unit::check,
    },
    FamilyRunner {
        family: super::Family::Coverage,
        prepare: Some(coverage::unit::prepare),
        check: coverage::unit::check,
    },
];

/// Every family the engine runs on units.
pub fn families() -> &'static [FamilyRunner] {
    FAMILIES
}

/// A rule's name (`base-digest` for DKR005); empty for an id no rule has.
pub fn name_of(id: &str) -> &'static str {
    find(id).map_or("", |rule| rule.name)
}

pub fn find(id: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|rule| rule.id.eq_ignore_ascii_case(id) || rule.name == id)
}

/// The rule table as Markdown (`lambda-gate rules --format markdown`, and the book's rules
/// reference, where each id links to its page: `link` is the path to `docs/rules/`).
pub fn markdown_table(rules: &[&Rule], link: Option<&str>) -> String {
    let mut table = String::from(
        "| id | name | family | severity | summary |\n|----|------|--------|----------|---------|\n",
    );
    for rule in rules {
        let id = match link {
            Some(prefix) => format!("[`{}`]({prefix}{}.md)", rule.id, rule.id),
            None => format!("`{}`", rule.id),
        };
        table.push_str(&format!(
            "| {id} | {} | {} | {} | {}{} |\n",
            rule.name,
            rule.family.as_str(),
            rule.default_severity.as_str(),
            rule.summary,
            if rule.fixable { " (fixable)" } else { "" }
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_sorted_and_documented() {
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "rule ids must be unique");
        for rule in RULES {
            assert!(
                rule.doc
                    .starts_with(&format!("# {} {}", rule.id, rule.name)),
                "{} doc title",
                rule.id
            );
            for section in [
                "## What it does",
                "## Why",
                "## Example",
                "## How to fix",
                "## Configuration",
            ] {
                assert!(
                    rule.doc.contains(section),
                    "{} doc lacks {section}",
                    rule.id
                );
            }
        }
    }
}
