//! Finding, reading and validating configuration files.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::glob::GlobSetBuilder;
use serde::Deserialize;
use toml::Spanned;

use super::layer::{validate_families, Layer};
use super::{
    path_glob, spanned_glob, BuilderChoice, Config, EffectivePolicy, Override, Policy,
    SettingError, DEFAULT_POLICY,
};
use crate::diagnostic::{LineIndex, Span};
use crate::rules::coverage::settings::CoveragePolicy;
use crate::rules::dockerfile::settings::DockerfilePolicy;
use crate::rules::mypy::settings::MypyPolicy;
use crate::rules::registry;
use crate::rules::terraform::settings::TerraformPolicy;

/// Platforms AWS Lambda runs.
const LAMBDA_PLATFORMS: &[&str] = &["linux/amd64", "linux/arm64"];

/// A configuration file and the form it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    LambdaGateToml(PathBuf),
    Pyproject(PathBuf),
}

impl ConfigSource {
    pub fn path(&self) -> &Path {
        match self {
            ConfigSource::LambdaGateToml(p) | ConfigSource::Pyproject(p) => p,
        }
    }
}

/// A configuration mistake, with the place it was made.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

fn error_at(
    path: &Path,
    text: &str,
    span: Option<Span>,
    message: impl Into<String>,
) -> ConfigError {
    let position = span.map_or(Default::default(), |span| {
        LineIndex::new(text).line_col(text, span.start)
    });
    ConfigError {
        path: path.to_path_buf(),
        line: position.line.max(1),
        column: position.column.max(1),
        message: message.into(),
    }
}

/// The nearest configuration at or above `start`: `lambda-gate.toml`, else a `pyproject.toml`
/// with a `[tool.lambda-gate]` table.
pub fn find_config(start: &Path) -> Option<ConfigSource> {
    let start = if crate::fsio::is_file(start) {
        start.parent()?
    } else {
        start
    };
    let start = std::fs::canonicalize(start).ok()?;
    for dir in start.ancestors() {
        let candidate = dir.join("lambda-gate.toml");
        if crate::fsio::is_file(&candidate) {
            return Some(ConfigSource::LambdaGateToml(candidate));
        }
        let pyproject = dir.join("pyproject.toml");
        if crate::fsio::is_file(&pyproject) && pyproject_has_table(&pyproject) {
            return Some(ConfigSource::Pyproject(pyproject));
        }
    }
    None
}

/// Whether a pyproject.toml holds `[tool.lambda-gate]`. A file that does not parse but
/// mentions the table counts, so that loading it reports the syntax error.
fn pyproject_has_table(path: &Path) -> bool {
    // Shared: mypy and coverage read `pyproject.toml` too.
    let Ok(text) = crate::fsio::read_shared_string(path) else {
        return false;
    };
    if !text.contains("lambda-gate") {
        return false;
    }
    match text.parse::<toml::Table>() {
        Ok(table) => table
            .get("tool")
            .and_then(|tool| tool.get("lambda-gate"))
            .is_some(),
        Err(_) => text.contains("[tool.lambda-gate"),
    }
}

#[derive(Deserialize)]
struct Pyproject {
    tool: Option<PyprojectTools>,
}

#[derive(Deserialize)]
struct PyprojectTools {
    #[serde(rename = "lambda-gate")]
    lambda_gate: Option<Layer>,
}

fn read(path: &Path) -> Result<String, ConfigError> {
    let bytes = crate::fsio::read(path).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        message: format!("cannot read the configuration: {e}"),
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let text =
            String::from_utf8_lossy(&e.as_bytes()[..e.utf8_error().valid_up_to()]).into_owned();
        let at = text.len();
        error_at(
            path,
            &text,
            Some(at..at),
            "the configuration is not valid UTF-8",
        )
    })
}

fn toml_error(path: &Path, text: &str, error: toml::de::Error) -> ConfigError {
    error_at(path, text, error.span(), error.message().trim().to_string())
}

fn pyproject_layer(path: &Path, text: &str) -> Result<Option<Layer>, ConfigError> {
    let pyproject: Pyproject = toml::from_str(text).map_err(|e| toml_error(path, text, e))?;
    Ok(pyproject.tool.and_then(|tool| tool.lambda_gate))
}

fn read_layer(source: &ConfigSource) -> Result<(Layer, String), ConfigError> {
    let text = read(source.path())?;
    let layer = parse_layer(source, &text)?;
    Ok((layer, text))
}

fn parse_layer(source: &ConfigSource, text: &str) -> Result<Layer, ConfigError> {
    match source {
        ConfigSource::LambdaGateToml(path) => {
            toml::from_str(text).map_err(|e| toml_error(path, text, e))
        }
        ConfigSource::Pyproject(path) => pyproject_layer(path, text)?.ok_or_else(|| ConfigError {
            path: path.clone(),
            line: 1,
            column: 1,
            message: "no [tool.lambda-gate] table".into(),
        }),
    }
}

/// The configuration file `path` names, read as a `pyproject.toml` by its name.
fn source_of(path: &Path) -> ConfigSource {
    if path
        .file_name()
        .is_some_and(|name| name == "pyproject.toml")
    {
        ConfigSource::Pyproject(path.to_path_buf())
    } else {
        ConfigSource::LambdaGateToml(path.to_path_buf())
    }
}

/// The policy `text` would make as the configuration file `path` (validated as a loaded one
/// is, on top of the embedded default): for a tool that writes a policy file and must not
/// write one the gate refuses.
pub fn policy_of_text(path: &Path, text: &str) -> Result<Policy, ConfigError> {
    let layer = parse_layer(&source_of(path), text)?;
    validate(path, text, &layer)?;
    let mut policy = default_policy();
    layer.apply(&mut policy);
    Ok(policy)
}

/// The embedded default policy, with every registered rule at its default level (parsed once
/// per process).
pub fn default_policy() -> Policy {
    static DEFAULT: OnceLock<Policy> = OnceLock::new();
    DEFAULT.get_or_init(parse_default_policy).clone()
}

fn parse_default_policy() -> Policy {
    let mut policy = Policy {
        platforms: Vec::new(),
        builder: BuilderChoice::Auto,
        max_file_size: 0,
        exclude: Vec::new(),
        rules: registry::all()
            .iter()
            .map(|rule| (rule.id.to_string(), rule.default_severity.into()))
            .collect(),
        dockerfile: DockerfilePolicy::unset(),
        coverage: CoveragePolicy::unset(),
        mypy: MypyPolicy::unset(),
        terraform: TerraformPolicy::unset(),
        promotion: super::PromotionPolicy {
            ladders: Vec::new(),
        },
        deploy: super::DeployPolicy::default(),
        fleet: super::FleetPolicy::default(),
        pre_commit: super::ContextPolicy::default(),
    };
    // The embedded policy is checked by a test; if it ever failed to parse, rules still run
    // at their registry defaults.
    if let Ok(layer) = toml::from_str::<Layer>(DEFAULT_POLICY) {
        layer.apply(&mut policy);
    }
    policy
}

/// Loads the configuration for a checked path: `explicit` if given, else the nearest one
/// (unless `isolated`), on top of the embedded default.
pub fn load(start: &Path, explicit: Option<&Path>, isolated: bool) -> Result<Config, ConfigError> {
    let source = match explicit {
        Some(path) => Some(source_of(path)),
        None if isolated => None,
        None => find_config(start),
    };
    let mut policy = default_policy();
    let mut overrides = Vec::new();
    let root = match &source {
        Some(source) => {
            let (layer, text) = read_layer(source)?;
            validate(source.path(), &text, &layer)?;
            layer.apply(&mut policy);
            for override_layer in layer.overrides {
                let mut paths = GlobSetBuilder::new();
                for pattern in &override_layer.paths {
                    paths.add(spanned_glob(pattern).map_err(|error| {
                        error_at(source.path(), &text, error.span, error.message)
                    })?);
                }
                overrides.push(Override {
                    paths: paths.build().map_err(|e| {
                        error_at(source.path(), &text, None, format!("invalid glob: {e}"))
                    })?,
                    layer: override_layer,
                });
            }
            let dir = source.path().parent().unwrap_or(Path::new("."));
            std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
        }
        None => {
            let dir = if crate::fsio::is_file(start) {
                start.parent().unwrap_or(Path::new("."))
            } else {
                start
            };
            std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
        }
    };
    let mut exclude = GlobSetBuilder::new();
    for pattern in &policy.exclude {
        if let Ok(glob) = path_glob(pattern) {
            exclude.add(glob);
        }
    }
    let origin = source.as_ref().map_or_else(
        || PathBuf::from("<default policy>"),
        |s| s.path().to_path_buf(),
    );
    let internal = |e: globset::Error| ConfigError {
        path: origin.clone(),
        line: 1,
        column: 1,
        message: format!("invalid pattern: {e}"),
    };
    let exclude = exclude.build().map_err(internal)?;
    // The embedded policy alone is compiled once per process: a sweep loads it for every
    // repository that has no configuration of its own.
    let embedded = source.is_none().then(embedded_policy).flatten();
    let base = match embedded {
        Some(embedded) => embedded,
        None => Arc::new(EffectivePolicy::compile(policy).map_err(internal)?),
    };
    Ok(Config::new(source, root, base, overrides, exclude))
}

/// The embedded default policy, compiled once.
fn embedded_policy() -> Option<Arc<EffectivePolicy>> {
    static EMBEDDED: OnceLock<Option<Arc<EffectivePolicy>>> = OnceLock::new();
    EMBEDDED
        .get_or_init(|| {
            EffectivePolicy::compile(default_policy())
                .ok()
                .map(Arc::new)
        })
        .clone()
}

/// Checks what serde cannot: rule ids, globs, platforms, digests.
fn validate(path: &Path, text: &str, layer: &Layer) -> Result<(), ConfigError> {
    let at =
        |spanned_span: Span, message: String| error_at(path, text, Some(spanned_span), message);
    let check_platforms = |platforms: &Option<Vec<Spanned<String>>>| -> Result<(), ConfigError> {
        for platform in platforms.iter().flatten() {
            if !LAMBDA_PLATFORMS.contains(&platform.get_ref().as_str()) {
                return Err(at(
                    platform.span(),
                    format!(
                        "unsupported platform `{}`: Lambda runs {}",
                        platform.get_ref(),
                        LAMBDA_PLATFORMS.join(" and ")
                    ),
                ));
            }
        }
        if platforms.as_ref().is_some_and(|p| p.is_empty()) {
            return Err(error_at(
                path,
                text,
                None,
                "`platforms` must name at least one platform",
            ));
        }
        Ok(())
    };
    let check_rules =
        |rules: &Option<BTreeMap<Spanned<String>, super::Level>>| -> Result<(), ConfigError> {
            for id in rules.iter().flat_map(|r| r.keys()) {
                if registry::find(id.get_ref()).is_none() {
                    return Err(at(
                        id.span(),
                        format!("unknown rule `{}` (see `lambda-gate rules`)", id.get_ref()),
                    ));
                }
            }
            Ok(())
        };
    let check_families = |families: Result<(), SettingError>| -> Result<(), ConfigError> {
        families.map_err(|error| error_at(path, text, error.span, error.message))
    };
    check_platforms(&layer.platforms)?;
    check_rules(&layer.rules)?;
    check_rules(&layer.pre_commit.as_ref().and_then(|p| p.rules.clone()))?;
    check_families(validate_families(
        &layer.dockerfile,
        &layer.coverage,
        &layer.mypy,
        &layer.terraform,
    ))?;
    if let Some(size) = &layer.max_file_size {
        if *size.get_ref() == 0 {
            return Err(at(
                size.span(),
                "`max-file-size` must be greater than 0".into(),
            ));
        }
    }
    for pattern in layer.exclude.iter().flatten() {
        check_families(spanned_glob(pattern).map(drop))?;
    }
    for override_layer in &layer.overrides {
        if override_layer.paths.is_empty() {
            return Err(error_at(
                path,
                text,
                None,
                "an override needs at least one glob in `paths`",
            ));
        }
        check_platforms(&override_layer.platforms)?;
        check_rules(&override_layer.rules)?;
        check_families(validate_families(
            &override_layer.dockerfile,
            &override_layer.coverage,
            &override_layer.mypy,
            &override_layer.terraform,
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_policy_parses_and_validates() {
        let layer: Layer = toml::from_str(DEFAULT_POLICY).expect("rules/policy.toml parses");
        validate(Path::new("rules/policy.toml"), DEFAULT_POLICY, &layer).expect("valid");
        let policy = default_policy();
        assert!(!policy.dockerfile.release_bases.is_empty());
        assert_eq!(policy.rules.len(), registry::all().len());
    }

    fn load_text(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lambda-gate.toml");
        std::fs::write(&path, text).unwrap();
        load(dir.path(), None, false)
    }

    #[test]
    fn unknown_key_points_at_its_line() {
        let error =
            load_text("platforms = [\"linux/amd64\"]\n\n[dockerfile]\nrelease-basis = []\n")
                .unwrap_err();
        assert_eq!(error.line, 4, "{error}");
        assert!(
            error.message.contains("unknown field `release-basis`"),
            "{error}"
        );
    }

    #[test]
    fn unknown_rule_and_bad_values_point_at_the_value() {
        let error = load_text("[rules]\nDKR999 = \"off\"\n").unwrap_err();
        assert_eq!((error.line, error.column), (2, 1), "{error}");
        let error = load_text("[rules]\nDKR002 = \"fatal\"\n").unwrap_err();
        assert_eq!(error.line, 2, "{error}");
        let error =
            load_text("platforms = [\n  \"linux/amd64\",\n  \"windows/amd64\",\n]\n").unwrap_err();
        assert_eq!(error.line, 3, "{error}");
        let error = load_text("[dockerfile.digests]\n\"a/b:1\" = \"sha256:nope\"\n").unwrap_err();
        assert_eq!(error.line, 2, "{error}");
    }

    #[test]
    fn overrides_apply_by_path() {
        let config = load_text(
            "[rules]\nDKR006 = \"warning\"\n[[overrides]]\npaths = [\"images/**\"]\nrules = { DKR006 = \"off\" }\n",
        )
        .unwrap();
        let root = config.root.clone();
        assert_eq!(
            config
                .policy_for(&root.join("app/Dockerfile"))
                .policy
                .level("DKR006"),
            super::super::Level::Warning
        );
        assert_eq!(
            config
                .policy_for(&root.join("images/x/Dockerfile"))
                .policy
                .level("DKR006"),
            super::super::Level::Off
        );
    }

    #[test]
    fn pyproject_table_is_found() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[project]\nname = \"x\"\n\n[tool.lambda-gate]\nplatforms = [\"linux/arm64\"]\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let config = load(&dir.path().join("sub"), None, false).unwrap();
        assert!(matches!(config.source, Some(ConfigSource::Pyproject(_))));
        assert_eq!(config.base.policy.platforms, vec!["linux/arm64"]);
    }
}
