//! `[terraform]`: the approved Lambda module sources, the ECR tags that may move, and which
//! modules must bound their version constraints.

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::policy::{spanned_glob, strings, SettingError};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TerraformPolicy {
    /// Approved sources of the Lambda module (before any `?ref=`); relative paths inside the
    /// repository are always allowed.
    pub lambda_module_sources: Vec<String>,
    /// ECR tags that may move (the pipeline's promotion tags); every other tag is immutable.
    pub moving_tags: Vec<String>,
    /// Which modules must give every version constraint an upper bound.
    pub upper_bounds: UpperBounds,
}

impl TerraformPolicy {
    /// Before the embedded policy: no source approved, no tag moving.
    pub fn unset() -> TerraformPolicy {
        TerraformPolicy {
            lambda_module_sources: Vec::new(),
            moving_tags: Vec::new(),
            upper_bounds: UpperBounds::RootModules,
        }
    }
}

/// Which Terraform modules TF012 asks for upper bounds on versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpperBounds {
    /// Root modules pin a bounded range; reusable modules state only a minimum (HashiCorp's
    /// guidance), so their callers stay free to upgrade.
    RootModules,
    /// Every module, reusable ones included.
    AllModules,
}

/// `[terraform]` as written in one configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TerraformLayer {
    pub lambda_module_sources: Option<Vec<Spanned<String>>>,
    pub moving_tags: Option<Vec<Spanned<String>>>,
    pub upper_bounds: Option<UpperBounds>,
}

impl TerraformLayer {
    /// Lists replace the layer below.
    pub fn apply(&self, terraform: &mut TerraformPolicy) {
        if let Some(v) = &self.lambda_module_sources {
            terraform.lambda_module_sources = strings(v);
        }
        if let Some(v) = &self.moving_tags {
            terraform.moving_tags = strings(v);
        }
        if let Some(v) = self.upper_bounds {
            terraform.upper_bounds = v;
        }
    }

    /// What serde cannot check: tag globs, sources written without their pin.
    pub fn validate(&self) -> Result<(), SettingError> {
        for tag in self.moving_tags.iter().flatten() {
            spanned_glob(tag)?;
        }
        for source in self.lambda_module_sources.iter().flatten() {
            if source.get_ref().contains('?') {
                return Err(SettingError::at(
                    source.span(),
                    "a Lambda module source is written without `?ref=`: the rule checks the pin itself",
                ));
            }
        }
        Ok(())
    }
}
