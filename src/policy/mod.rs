//! The policy: the team's defaults (embedded from `rules/policy.toml`), then the repository's
//! `lambda-gate.toml` or `[tool.lambda-gate]`, then per-path overrides.

mod layer;
mod load;
pub mod record;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::glob::{Glob, GlobSet, GlobSetBuilder, Options};
use serde::{Deserialize, Serialize};

use crate::diagnostic::Severity;
use crate::rules::coverage::settings::CoveragePolicy;
use crate::rules::dockerfile::settings::{DockerfileMatchers, DockerfilePolicy};
use crate::rules::mypy::settings::MypyPolicy;
use crate::rules::terraform::settings::TerraformPolicy;

pub use layer::{Layer, OverrideLayer};
pub use load::{default_policy, find_config, load, policy_of_text, ConfigError, ConfigSource};

/// The embedded default policy.
pub const DEFAULT_POLICY: &str = include_str!("../../rules/policy.toml");

/// A rule's level in a policy: a severity, or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Off,
    Info,
    Warning,
    Error,
}

impl Level {
    pub fn severity(self) -> Option<Severity> {
        match self {
            Level::Off => None,
            Level::Info => Some(Severity::Info),
            Level::Warning => Some(Severity::Warning),
            Level::Error => Some(Severity::Error),
        }
    }
}

impl From<Severity> for Level {
    fn from(severity: Severity) -> Self {
        match severity {
            Severity::Info => Level::Info,
            Severity::Warning => Level::Warning,
            Severity::Error => Level::Error,
        }
    }
}

/// Which of the Engine's builders the runner uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BuilderChoice {
    /// BuildKit when the Engine has it (every Linux Engine since 18.09), else the classic builder.
    Auto,
    #[serde(rename = "buildkit")]
    BuildKit,
    /// The Engine's classic builder: no `RUN --mount`, heredocs or `COPY --chmod`.
    Classic,
}

impl BuilderChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            BuilderChoice::Auto => "auto",
            BuilderChoice::BuildKit => "buildkit",
            BuilderChoice::Classic => "classic",
        }
    }
}

/// Rule levels that apply in a context on top of the policy.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ContextPolicy {
    pub rules: BTreeMap<String, Level>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PromotionPolicy {
    /// Environment ladders, lowest first: promoting to a rung takes only the digest the rung
    /// below currently carries (`dev -> staging -> prod`).
    pub ladders: Vec<Vec<String>>,
}

/// `[deploy.environments.<name>]`: where `lambda-gate deploy --environment <name>` deploys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EnvironmentPolicy {
    /// The function's name or ARN.
    pub function: String,
    #[serde(default = "default_alias")]
    pub alias: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Assumed for an environment in another account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Percent of the alias's traffic the new version takes during the bake (a canary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<f64>,
    /// Percents the traffic moves in, each for `bake` (a linear shift): `[10, 25, 50, 100]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<f64>>,
    /// How long each step bakes: `10m`, `90s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake: Option<String>,
    /// Alarms (metric or composite) that judge the shift besides the new version's own errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<Vec<String>>,
    /// Invocations the new version must serve through the alias during the steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_invocations: Option<u64>,
    /// Calls to this environment have side effects: no smoke events unless given by `--event`
    /// (or in `events/<environment>/`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub side_effects: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_ssm: Option<String>,
    /// Deploys take only images carrying a gate verdict signed by `attestation-key` under this
    /// policy. Default: on for the last rung of a ladder (`prod`), off elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_attestation: Option<bool>,
    /// The key verdicts must be signed by: a PEM public key file (relative to the policy's
    /// directory) or `awskms:KEY` (its public key, read with kms:GetPublicKey).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_key: Option<String>,
}

fn default_alias() -> String {
    "live".to_string()
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct DeployPolicy {
    pub environments: BTreeMap<String, EnvironmentPolicy>,
}

/// `[fleet]`: where `lambda-gate fleet` looks for functions, and which aliases serve.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FleetPolicy {
    /// The aliases that serve traffic (`live`, `prod`, ...); empty: every alias.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The accounts and regions listed; empty: the credentials' own account, in the default
    /// region.
    #[serde(default)]
    pub accounts: Vec<FleetAccount>,
}

/// One account of the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FleetAccount {
    /// How reports name it (`prod`, `111111111111`).
    pub name: String,
    pub regions: Vec<String>,
    /// Assumed (STS) to list the account; absent: the credentials in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

/// The policy as a configuration file says it (`policy show`), so that it loads back as itself:
/// grace dates are TOML dates there (`allowed-until = 2026-12-16`), where JSON has strings.
pub fn to_toml(policy: &Policy) -> anyhow::Result<String> {
    let mut document: toml_edit::DocumentMut = toml::to_string_pretty(policy)?.parse()?;
    let previous = document
        .get_mut("dockerfile")
        .and_then(|d| d.get_mut("previous-digests"))
        .and_then(toml_edit::Item::as_table_like_mut);
    for (_, entries) in previous.into_iter().flat_map(|p| p.iter_mut()) {
        let Some(entries) = entries.as_array_of_tables_mut() else {
            continue;
        };
        for entry in entries.iter_mut() {
            let date = entry.get("allowed-until").and_then(|until| {
                until
                    .as_str()
                    .and_then(|d| d.parse::<toml_edit::Datetime>().ok())
            });
            if let Some(date) = date {
                entry["allowed-until"] = toml_edit::value(date);
            }
        }
    }
    Ok(document.to_string())
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Policy {
    /// Platforms the runner builds (`os/arch`).
    pub platforms: Vec<String>,
    /// The Engine builder the runner uses (DKR010 reads it).
    pub builder: BuilderChoice,
    /// Bytes; larger files are reported, not read.
    pub max_file_size: u64,
    /// Globs relative to the configuration root that are never walked.
    pub exclude: Vec<String>,
    /// Every registered rule's level.
    pub rules: BTreeMap<String, Level>,
    pub dockerfile: DockerfilePolicy,
    pub coverage: CoveragePolicy,
    pub mypy: MypyPolicy,
    pub terraform: TerraformPolicy,
    pub promotion: PromotionPolicy,
    pub deploy: DeployPolicy,
    pub fleet: FleetPolicy,
    /// Levels in force when the gate runs on a commit's files (`check --files`, pre-commit):
    /// build outputs such as coverage reports are absent or stale in a developer's checkout.
    pub pre_commit: ContextPolicy,
}

impl Policy {
    pub fn level(&self, rule: &str) -> Level {
        self.rules.get(rule).copied().unwrap_or(Level::Off)
    }
}

/// A policy with its patterns compiled, shared by every file it applies to.
#[derive(Debug)]
pub struct EffectivePolicy {
    pub policy: Policy,
    pub dockerfile: DockerfileMatchers,
}

/// A matcher compiled from a list of patterns, once per process: the layers of one
/// configuration (overrides, the `[pre-commit]` levels) and the repositories of a sweep mostly
/// share their pattern lists, and compiling a glob set is a good part of a one-Lambda check.
pub(crate) fn compiled<T: Clone + Send + 'static>(
    kind: &'static str,
    patterns: &[String],
    compile: impl FnOnce(&[String]) -> Result<T, globset::Error>,
) -> Result<T, globset::Error> {
    use std::any::Any;
    type Compiled = HashMap<(&'static str, Vec<String>), Box<dyn Any + Send>>;
    static COMPILED: std::sync::OnceLock<std::sync::Mutex<Compiled>> = std::sync::OnceLock::new();
    let memo = COMPILED.get_or_init(Default::default);
    let key = (kind, patterns.to_vec());
    if let Some(known) = memo
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .and_then(|known| known.downcast_ref::<T>())
    {
        return Ok(known.clone());
    }
    let matcher = compile(patterns)?;
    memo.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, Box::new(matcher.clone()));
    Ok(matcher)
}

impl EffectivePolicy {
    pub fn compile(policy: Policy) -> Result<EffectivePolicy, globset::Error> {
        Ok(EffectivePolicy {
            dockerfile: DockerfileMatchers::compile(&policy.dockerfile)?,
            policy,
        })
    }
}

/// Why a family's settings are invalid, and where (a span of the configuration file's text),
/// when one value is to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub span: Option<std::ops::Range<usize>>,
    pub message: String,
}

impl SettingError {
    pub fn at(span: std::ops::Range<usize>, message: impl Into<String>) -> SettingError {
        SettingError {
            span: Some(span),
            message: message.into(),
        }
    }

    /// About the file as a whole (an empty list, a table that names nothing).
    pub fn whole(message: impl Into<String>) -> SettingError {
        SettingError {
            span: None,
            message: message.into(),
        }
    }
}

/// A glob of a configuration file, or why it is not one (at the pattern).
pub fn spanned_glob(pattern: &toml::Spanned<String>) -> Result<Glob, SettingError> {
    path_glob(pattern.get_ref())
        .map_err(|e| SettingError::at(pattern.span(), format!("invalid glob: {}", e.kind())))
}

/// The values of a list as written, without their spans.
pub fn strings(values: &[toml::Spanned<String>]) -> Vec<String> {
    values.iter().map(|v| v.get_ref().clone()).collect()
}

/// Case-insensitive name patterns. `*WORD*` (the common form) is a substring test; anything
/// else goes through a glob set.
#[derive(Debug, Clone)]
pub struct NameMatcher {
    /// Upper-cased words of `*WORD*` patterns.
    contains: Vec<String>,
    globs: GlobSet,
}

impl NameMatcher {
    pub fn new(patterns: &[String]) -> Result<NameMatcher, globset::Error> {
        let mut contains = Vec::new();
        let mut globs = GlobSetBuilder::new();
        for pattern in patterns {
            let word = pattern.strip_prefix('*').and_then(|p| p.strip_suffix('*'));
            match word {
                Some(word)
                    if !word.is_empty() && !word.contains(['*', '?', '[', ']', '{', '}', '\\']) =>
                {
                    contains.push(word.to_ascii_uppercase());
                }
                _ => {
                    globs.add(Glob::new(
                        pattern,
                        Options {
                            case_insensitive: true,
                            literal_separator: false,
                        },
                    )?);
                }
            }
        }
        Ok(NameMatcher {
            contains,
            globs: globs.build()?,
        })
    }

    pub fn is_match(&self, name: &str) -> bool {
        if !self.contains.is_empty() {
            let upper = name.to_ascii_uppercase();
            if self
                .contains
                .iter()
                .any(|word| upper.contains(word.as_str()))
            {
                return true;
            }
        }
        !self.globs.is_empty() && self.globs.is_match(name)
    }
}

/// A glob where `*` stays within one `/`-separated component and `**` crosses them.
pub fn path_glob(pattern: &str) -> Result<Glob, globset::Error> {
    Glob::new(
        pattern,
        Options {
            case_insensitive: false,
            literal_separator: true,
        },
    )
}

/// A compiled per-path override.
#[derive(Debug)]
pub struct Override {
    pub paths: GlobSet,
    pub layer: OverrideLayer,
}

/// Everything one configuration root decides: its policy, overrides and exclusions.
#[derive(Debug)]
pub struct Config {
    /// Where the configuration came from (`None`: only the embedded default).
    pub source: Option<ConfigSource>,
    /// Paths in the policy are relative to this directory.
    pub root: PathBuf,
    pub base: Arc<EffectivePolicy>,
    pub overrides: Vec<Override>,
    pub exclude: GlobSet,
    cache: Mutex<HashMap<PolicyKey, Arc<EffectivePolicy>>>,
}

/// What decides a compiled policy: the indices of the matching overrides, and whether the
/// run is on a commit's files (the `[pre-commit]` levels apply).
type PolicyKey = (Vec<usize>, bool);

impl Config {
    pub(crate) fn new(
        source: Option<ConfigSource>,
        root: PathBuf,
        base: Arc<EffectivePolicy>,
        overrides: Vec<Override>,
        exclude: GlobSet,
    ) -> Config {
        Config {
            source,
            root,
            base,
            overrides,
            exclude,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Path relative to the configuration root, `/`-separated, for glob matching.
    pub fn relative<'a>(&self, path: &'a Path) -> &'a Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }

    /// The Dockerfile names discovery looks for under this configuration.
    pub fn dockerfile_names(&self) -> crate::units::DockerfileNames {
        self.base.dockerfile.names.clone()
    }

    /// Whether the policy names the Dockerfile at `path` a Lambda image.
    pub fn is_lambda_image(&self, path: &Path) -> bool {
        let policy = self.policy_for(path);
        !policy.dockerfile.lambda_images.is_empty()
            && policy
                .dockerfile
                .lambda_images
                .is_match(self.relative(path))
    }

    pub fn is_excluded(&self, path: &Path) -> bool {
        !self.exclude.is_empty() && self.exclude.is_match(self.relative(path))
    }

    /// The policy in force for `path`: the base with every matching override applied in order.
    pub fn policy_for(&self, path: &Path) -> Arc<EffectivePolicy> {
        self.policy_in(path, false)
    }

    /// [`Config::policy_for`] in a run's context: on a commit's files (`pre_commit`) the
    /// policy's `[pre-commit]` levels apply on top. Each combination is compiled once.
    pub fn policy_in(&self, path: &Path, pre_commit: bool) -> Arc<EffectivePolicy> {
        let pre_commit = pre_commit && !self.base.policy.pre_commit.rules.is_empty();
        if self.overrides.is_empty() && !pre_commit {
            return self.base.clone();
        }
        let relative = self.relative(path);
        let matching: Vec<usize> = self
            .overrides
            .iter()
            .enumerate()
            .filter(|(_, o)| o.paths.is_match(relative))
            .map(|(i, _)| i)
            .collect();
        if matching.is_empty() && !pre_commit {
            return self.base.clone();
        }
        let key = (matching, pre_commit);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(policy) = cache.get(&key) {
            return policy.clone();
        }
        let mut policy = self.base.policy.clone();
        for index in &key.0 {
            self.overrides[*index].layer.apply(&mut policy);
        }
        if pre_commit {
            for (id, level) in &self.base.policy.pre_commit.rules {
                policy.rules.insert(id.clone(), *level);
            }
        }
        // Every pattern was compiled once when the configuration was loaded, so this succeeds.
        let effective =
            EffectivePolicy::compile(policy).map_or_else(|_| self.base.clone(), Arc::new);
        cache.insert(key, effective.clone());
        effective
    }

    /// `sha256:` of what the gate judges by under this configuration: every rule's level and
    /// each family's settings, of the base policy and of each per-path override (with its
    /// paths). Deploy settings, ladders and builder choice are not part of it: a verdict stays
    /// valid when only those change. The digest a signed verdict names (provenance).
    pub fn gate_digest(&self) -> String {
        let overrides: Vec<serde_json::Value> = self
            .overrides
            .iter()
            .map(|o| {
                let mut policy = self.base.policy.clone();
                o.layer.apply(&mut policy);
                serde_json::json!({
                    "paths": strings(&o.layer.paths),
                    "policy": policy.gate_part(),
                })
            })
            .collect();
        let whole = serde_json::json!({
            "policy": self.base.policy.gate_part(),
            "overrides": overrides,
        });
        crate::digest::sha256_of(whole.to_string().as_bytes())
    }
}

impl Policy {
    /// Whether deploys to environment `name` require a signed verdict: as its policy says, else
    /// when it is the last rung of a ladder.
    pub fn requires_attestation(&self, name: &str) -> bool {
        self.deploy
            .environments
            .get(name)
            .and_then(|e| e.require_attestation)
            .unwrap_or_else(|| {
                self.promotion
                    .ladders
                    .iter()
                    .any(|ladder| ladder.len() > 1 && ladder.last().is_some_and(|l| l == name))
            })
    }

    /// The settings the gate's verdict depends on (see [`Config::gate_digest`]).
    fn gate_part(&self) -> serde_json::Value {
        let rules: BTreeMap<&str, Level> = crate::rules::registry::all()
            .iter()
            .map(|rule| (rule.id, self.level(rule.id)))
            .collect();
        serde_json::json!({
            "rules": rules,
            "max-file-size": self.max_file_size,
            "exclude": self.exclude,
            "dockerfile": self.dockerfile,
            "coverage": self.coverage,
            "mypy": self.mypy,
            "terraform": self.terraform,
        })
    }

    /// Every rule the registry knows at a level other than `off`, by id.
    pub fn rules_enabled(&self) -> Vec<&'static str> {
        crate::rules::registry::all()
            .iter()
            .filter(|rule| self.level(rule.id) != Level::Off)
            .map(|rule| rule.id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::NameMatcher;

    #[test]
    fn name_matcher_is_case_insensitive_for_words_and_globs() {
        let m = NameMatcher::new(&["*TOKEN*".into(), "DB_?ASS".into()]).unwrap();
        assert!(m.is_match("github_token"));
        assert!(m.is_match("db_pass"));
        assert!(!m.is_match("TOKE"));
        assert!(!m.is_match("DB_PASSWORD"));
    }
}
