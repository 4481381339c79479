//! One configuration file's worth of policy, as written: every field optional, every value
//! with its span so a mistake points at file:line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::{strings, BuilderChoice, EnvironmentPolicy, FleetPolicy, Level, Policy, SettingError};
use crate::rules::coverage::settings::CoverageLayer;
use crate::rules::dockerfile::settings::DockerfileLayer;
use crate::rules::mypy::settings::MypyLayer;
use crate::rules::terraform::settings::TerraformLayer;

/// What a per-path override may change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OverrideLayer {
    /// Globs relative to the configuration root.
    pub paths: Vec<Spanned<String>>,
    pub platforms: Option<Vec<Spanned<String>>>,
    pub builder: Option<BuilderChoice>,
    pub rules: Option<BTreeMap<Spanned<String>, Level>>,
    pub dockerfile: Option<DockerfileLayer>,
    pub coverage: Option<CoverageLayer>,
    pub mypy: Option<MypyLayer>,
    pub terraform: Option<TerraformLayer>,
}

/// A whole configuration file (or `[tool.lambda-gate]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Layer {
    pub platforms: Option<Vec<Spanned<String>>>,
    pub builder: Option<BuilderChoice>,
    pub max_file_size: Option<Spanned<u64>>,
    pub exclude: Option<Vec<Spanned<String>>>,
    pub rules: Option<BTreeMap<Spanned<String>, Level>>,
    pub dockerfile: Option<DockerfileLayer>,
    pub coverage: Option<CoverageLayer>,
    pub mypy: Option<MypyLayer>,
    pub terraform: Option<TerraformLayer>,
    pub promotion: Option<PromotionLayer>,
    pub deploy: Option<DeployLayer>,
    pub fleet: Option<FleetPolicy>,
    pub pre_commit: Option<ContextLayer>,
    #[serde(default)]
    pub overrides: Vec<OverrideLayer>,
}

/// Each family's section onto the family's settings: the one place a layer names them.
fn apply_families(
    policy: &mut Policy,
    dockerfile: &Option<DockerfileLayer>,
    coverage: &Option<CoverageLayer>,
    mypy: &Option<MypyLayer>,
    terraform: &Option<TerraformLayer>,
) {
    if let Some(dockerfile) = dockerfile {
        dockerfile.apply(&mut policy.dockerfile);
    }
    if let Some(coverage) = coverage {
        coverage.apply(&mut policy.coverage);
    }
    if let Some(mypy) = mypy {
        mypy.apply(&mut policy.mypy);
    }
    if let Some(terraform) = terraform {
        terraform.apply(&mut policy.terraform);
    }
}

/// Each family's section checked for what serde cannot check.
pub(super) fn validate_families(
    dockerfile: &Option<DockerfileLayer>,
    coverage: &Option<CoverageLayer>,
    mypy: &Option<MypyLayer>,
    terraform: &Option<TerraformLayer>,
) -> Result<(), SettingError> {
    if let Some(mypy) = mypy {
        mypy.validate()?;
    }
    if let Some(terraform) = terraform {
        terraform.validate()?;
    }
    if let Some(dockerfile) = dockerfile {
        dockerfile.validate()?;
    }
    if let Some(coverage) = coverage {
        coverage.validate()?;
    }
    Ok(())
}

fn apply_rules(rules: &Option<BTreeMap<Spanned<String>, Level>>, policy: &mut Policy) {
    for (id, level) in rules.iter().flatten() {
        policy.rules.insert(id.get_ref().clone(), *level);
    }
}

impl OverrideLayer {
    pub fn apply(&self, policy: &mut Policy) {
        if let Some(v) = &self.platforms {
            policy.platforms = strings(v);
        }
        if let Some(v) = self.builder {
            policy.builder = v;
        }
        apply_rules(&self.rules, policy);
        apply_families(
            policy,
            &self.dockerfile,
            &self.coverage,
            &self.mypy,
            &self.terraform,
        );
    }
}

/// `[pre-commit]`: rule levels when the gate runs on a commit's files.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ContextLayer {
    pub rules: Option<BTreeMap<Spanned<String>, Level>>,
}

/// `[deploy]`: repository-wide, so not in per-path overrides.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeployLayer {
    pub environments: Option<BTreeMap<String, EnvironmentPolicy>>,
}

/// `[promotion]`: repository-wide, so not in per-path overrides.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PromotionLayer {
    pub ladders: Option<Vec<Vec<Spanned<String>>>>,
}

impl Layer {
    /// Lists replace the layer below; tables (`rules`, `digests`, `base-env`) merge by key.
    pub fn apply(&self, policy: &mut Policy) {
        if let Some(ladders) = self.promotion.as_ref().and_then(|p| p.ladders.as_ref()) {
            policy.promotion.ladders = ladders.iter().map(|l| strings(l)).collect();
        }
        // `[fleet]` as a whole: the accounts of one organisation are listed in one place.
        if let Some(fleet) = &self.fleet {
            policy.fleet = fleet.clone();
        }
        // Environments merge by name; each one as a whole.
        for (name, environment) in self
            .deploy
            .iter()
            .flat_map(|d| d.environments.iter())
            .flatten()
        {
            policy
                .deploy
                .environments
                .insert(name.clone(), environment.clone());
        }
        if let Some(v) = &self.platforms {
            policy.platforms = strings(v);
        }
        if let Some(v) = self.builder {
            policy.builder = v;
        }
        for (id, level) in self
            .pre_commit
            .iter()
            .flat_map(|p| p.rules.iter())
            .flatten()
        {
            policy.pre_commit.rules.insert(id.get_ref().clone(), *level);
        }
        if let Some(v) = &self.max_file_size {
            policy.max_file_size = *v.get_ref();
        }
        if let Some(v) = &self.exclude {
            policy.exclude = strings(v);
        }
        apply_rules(&self.rules, policy);
        apply_families(
            policy,
            &self.dockerfile,
            &self.coverage,
            &self.mypy,
            &self.terraform,
        );
    }
}
