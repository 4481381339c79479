//! One configuration file's worth of policy, as written: every field optional, every value
//! with its span so a mistake points at file:line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::{BuilderChoice, DigestRequirement, EnvironmentPolicy, Level, Policy};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DockerfileLayer {
    pub release_bases: Option<Vec<Spanned<String>>>,
    pub dev_bases: Option<Vec<Spanned<String>>>,
    pub require_digest: Option<DigestRequirement>,
    pub digests: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    pub secret_names: Option<Vec<Spanned<String>>>,
    pub task_root: Option<Spanned<String>>,
    pub base_env: Option<BTreeMap<String, String>>,
    pub names: Option<Vec<Spanned<String>>>,
    pub lambda_images: Option<Vec<Spanned<String>>>,
    pub not_secret_names: Option<Vec<Spanned<String>>>,
}

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
    fn apply(&self, policy: &mut Policy) {
        let coverage = &mut policy.coverage;
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
}

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
    fn apply(&self, policy: &mut Policy) {
        let mypy = &mut policy.mypy;
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
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TerraformLayer {
    pub lambda_module_sources: Option<Vec<Spanned<String>>>,
    pub moving_tags: Option<Vec<Spanned<String>>>,
    pub upper_bounds: Option<super::UpperBounds>,
}

impl TerraformLayer {
    fn apply(&self, policy: &mut Policy) {
        let terraform = &mut policy.terraform;
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
}

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
    pub pre_commit: Option<ContextLayer>,
    #[serde(default)]
    pub overrides: Vec<OverrideLayer>,
}

fn strings(values: &[Spanned<String>]) -> Vec<String> {
    values.iter().map(|v| v.get_ref().clone()).collect()
}

fn apply_rules(rules: &Option<BTreeMap<Spanned<String>, Level>>, policy: &mut Policy) {
    for (id, level) in rules.iter().flatten() {
        policy.rules.insert(id.get_ref().clone(), *level);
    }
}

impl DockerfileLayer {
    fn apply(&self, policy: &mut Policy) {
        let dockerfile = &mut policy.dockerfile;
        if let Some(v) = &self.release_bases {
            dockerfile.release_bases = strings(v);
        }
        if let Some(v) = &self.dev_bases {
            dockerfile.dev_bases = strings(v);
        }
        if let Some(v) = self.require_digest {
            dockerfile.require_digest = v;
        }
        for (key, digest) in self.digests.iter().flatten() {
            dockerfile
                .digests
                .insert(key.get_ref().clone(), digest.get_ref().clone());
        }
        if let Some(v) = &self.secret_names {
            dockerfile.secret_names = strings(v);
        }
        if let Some(v) = &self.task_root {
            dockerfile.task_root = v.get_ref().clone();
        }
        for (name, value) in self.base_env.iter().flatten() {
            dockerfile.base_env.insert(name.clone(), value.clone());
        }
        if let Some(v) = &self.names {
            dockerfile.names = strings(v);
        }
        if let Some(v) = &self.lambda_images {
            dockerfile.lambda_images = strings(v);
        }
        if let Some(v) = &self.not_secret_names {
            dockerfile.not_secret_names = strings(v);
        }
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
        if let Some(dockerfile) = &self.dockerfile {
            dockerfile.apply(policy);
        }
        if let Some(coverage) = &self.coverage {
            coverage.apply(policy);
        }
        if let Some(mypy) = &self.mypy {
            mypy.apply(policy);
        }
        if let Some(terraform) = &self.terraform {
            terraform.apply(policy);
        }
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
        if let Some(dockerfile) = &self.dockerfile {
            dockerfile.apply(policy);
        }
        if let Some(coverage) = &self.coverage {
            coverage.apply(policy);
        }
        if let Some(mypy) = &self.mypy {
            mypy.apply(policy);
        }
        if let Some(terraform) = &self.terraform {
            terraform.apply(policy);
        }
    }
}
