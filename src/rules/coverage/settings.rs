//! `[coverage]`: the thresholds, decided as `coverage report --fail-under` decides them, and
//! where each Lambda's report is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::policy::{spanned_glob, strings, SettingError};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CoveragePolicy {
    /// Total coverage threshold (percent), decided as `coverage report --fail-under`.
    pub fail_under: f64,
    /// Threshold for the lines changed since `--diff-base`.
    pub diff_fail_under: f64,
    pub require_branch: bool,
    /// Report files, relative to the Lambda, in order of preference.
    pub reports: Vec<String>,
    /// `coverage report`'s precision; unset: the project's coverage configuration, else 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
    /// Largest report read, in bytes.
    pub max_report_size: u64,
    /// Glob (relative to the Lambda) -> threshold for the files under it.
    pub paths: BTreeMap<String, f64>,
}

impl CoveragePolicy {
    /// Before the embedded policy: no threshold, no report named.
    pub fn unset() -> CoveragePolicy {
        CoveragePolicy {
            fail_under: 0.0,
            diff_fail_under: 0.0,
            require_branch: false,
            reports: Vec::new(),
            precision: None,
            max_report_size: u64::MAX,
            paths: BTreeMap::new(),
        }
    }
}

/// `[coverage]` as written in one configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CoverageLayer {
    pub fail_under: Option<Spanned<f64>>,
    pub diff_fail_under: Option<Spanned<f64>>,
    pub require_branch: Option<bool>,
    pub reports: Option<Vec<Spanned<String>>>,
    pub precision: Option<Spanned<u32>>,
    pub max_report_size: Option<Spanned<u64>>,
    pub paths: Option<BTreeMap<Spanned<String>, Spanned<f64>>>,
}

impl CoverageLayer {
    /// Lists replace the layer below; `paths` merges by glob.
    pub fn apply(&self, coverage: &mut CoveragePolicy) {
        if let Some(v) = &self.fail_under {
            coverage.fail_under = *v.get_ref();
        }
        if let Some(v) = &self.diff_fail_under {
            coverage.diff_fail_under = *v.get_ref();
        }
        if let Some(v) = self.require_branch {
            coverage.require_branch = v;
        }
        if let Some(v) = &self.reports {
            coverage.reports = strings(v);
        }
        if let Some(v) = &self.precision {
            coverage.precision = Some(*v.get_ref());
        }
        if let Some(v) = &self.max_report_size {
            coverage.max_report_size = *v.get_ref();
        }
        for (glob, threshold) in self.paths.iter().flatten() {
            coverage
                .paths
                .insert(glob.get_ref().clone(), *threshold.get_ref());
        }
    }

    /// What serde cannot check: percentages in range, globs, at least one report.
    pub fn validate(&self) -> Result<(), SettingError> {
        let percent = |value: &Spanned<f64>, what: &str| -> Result<(), SettingError> {
            let v = *value.get_ref();
            if !(0.0..=100.0).contains(&v) {
                return Err(SettingError::at(
                    value.span(),
                    format!("`{what}` must be between 0 and 100, not {v}"),
                ));
            }
            Ok(())
        };
        for (value, what) in [
            (&self.fail_under, "fail-under"),
            (&self.diff_fail_under, "diff-fail-under"),
        ] {
            if let Some(value) = value {
                percent(value, what)?;
            }
        }
        for (glob, threshold) in self.paths.iter().flatten() {
            spanned_glob(glob)?;
            percent(threshold, "paths")?;
        }
        if self.reports.as_ref().is_some_and(|r| r.is_empty()) {
            return Err(SettingError::whole(
                "`coverage.reports` must name at least one file",
            ));
        }
        Ok(())
    }
}
