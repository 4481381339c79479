//! `[dockerfile]`: the approved bases, digest pins, secret names, where Lambda imports the
//! handler from, and which files are Dockerfiles.

use std::collections::{BTreeMap, HashMap};

use crate::glob::{GlobMatcher, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::image::{normalize_repository_pattern, ImageRef};
use crate::date::Date;
use crate::policy::{compiled, path_glob, spanned_glob, strings, NameMatcher, SettingError};

/// Which stages must pin their base by digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DigestRequirement {
    /// Only the final stage (what Lambda runs).
    FinalStage,
    AllStages,
    None,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct DockerfilePolicy {
    /// Repository patterns (globs; `*` stays within one path component) of the release bases.
    pub release_bases: Vec<String>,
    /// Repository patterns of the dev bases: allowed for build stages, never for the final one.
    pub dev_bases: Vec<String>,
    pub require_digest: DigestRequirement,
    /// `repository:tag` (glob) -> the digest that tag is pinned to.
    pub digests: BTreeMap<String, String>,
    /// `repository:tag` (glob) -> digests pinned before the current one, each allowed (DKR005
    /// warns) until its grace date and refused (DKR005 errors) after it.
    pub previous_digests: BTreeMap<String, Vec<PreviousDigest>>,
    /// Name patterns (case-insensitive globs) of ENV/ARG that must not hold a literal value.
    pub secret_names: Vec<String>,
    /// Where Lambda imports the handler from.
    pub task_root: String,
    /// Environment the approved bases define, used to resolve `${LAMBDA_TASK_ROOT}` and friends.
    pub base_env: BTreeMap<String, String>,
    /// File names (case-insensitive globs) discovered as Dockerfiles.
    pub names: Vec<String>,
    /// Dockerfiles (globs relative to the configuration root) that are Lambda images whatever
    /// they build on.
    pub lambda_images: Vec<String>,
    /// ENV/ARG names (case-insensitive globs) that match `secret-names` but hold no secret
    /// (settings of the Parameters and Secrets Lambda Extension, ...).
    pub not_secret_names: Vec<String>,
}

impl DockerfilePolicy {
    /// Before the embedded policy: nothing approved, nothing named.
    pub fn unset() -> DockerfilePolicy {
        DockerfilePolicy {
            release_bases: Vec::new(),
            dev_bases: Vec::new(),
            require_digest: DigestRequirement::FinalStage,
            digests: BTreeMap::new(),
            previous_digests: BTreeMap::new(),
            secret_names: Vec::new(),
            task_root: String::new(),
            base_env: BTreeMap::new(),
            names: Vec::new(),
            lambda_images: Vec::new(),
            not_secret_names: Vec::new(),
        }
    }
}

/// A digest a tag was pinned to before, and the last day (UTC) it is still allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PreviousDigest {
    pub digest: String,
    pub allowed_until: Date,
}

/// `{ digest = "sha256:...", allowed-until = 2026-12-16 }` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PreviousDigestLayer {
    pub digest: Spanned<String>,
    pub allowed_until: Spanned<toml::value::Datetime>,
}

impl PreviousDigestLayer {
    /// The grace date: a TOML local date (`2026-12-16`), nothing else.
    fn date(&self) -> Result<Date, SettingError> {
        let value = self.allowed_until.get_ref();
        let date = match (value.date, value.time, value.offset) {
            (Some(date), None, None) => Date::parse(&date.to_string()),
            _ => None,
        };
        date.ok_or_else(|| {
            SettingError::at(
                self.allowed_until.span(),
                format!("`allowed-until = {value}` is not a date: write a TOML date, `allowed-until = 2026-12-16`"),
            )
        })
    }
}

/// `[dockerfile]` as written in one configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DockerfileLayer {
    pub release_bases: Option<Vec<Spanned<String>>>,
    pub dev_bases: Option<Vec<Spanned<String>>>,
    pub require_digest: Option<DigestRequirement>,
    pub digests: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    pub previous_digests: Option<BTreeMap<Spanned<String>, Vec<PreviousDigestLayer>>>,
    pub secret_names: Option<Vec<Spanned<String>>>,
    pub task_root: Option<Spanned<String>>,
    pub base_env: Option<BTreeMap<String, String>>,
    pub names: Option<Vec<Spanned<String>>>,
    pub lambda_images: Option<Vec<Spanned<String>>>,
    pub not_secret_names: Option<Vec<Spanned<String>>>,
}

impl DockerfileLayer {
    /// Lists replace the layer below; `digests`, `previous-digests` and `base-env` merge by key.
    pub fn apply(&self, dockerfile: &mut DockerfilePolicy) {
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
        for (key, previous) in self.previous_digests.iter().flatten() {
            // Validated before layers apply; a date that did not read is never reached.
            let previous = previous
                .iter()
                .filter_map(|p| {
                    Some(PreviousDigest {
                        digest: p.digest.get_ref().clone(),
                        allowed_until: p.date().ok()?,
                    })
                })
                .collect();
            dockerfile
                .previous_digests
                .insert(key.get_ref().clone(), previous);
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

    /// What serde cannot check: globs, digests, an absolute task root.
    pub fn validate(&self) -> Result<(), SettingError> {
        for pattern in (self.release_bases.iter())
            .chain(self.dev_bases.iter())
            .chain(self.secret_names.iter())
            .chain(self.not_secret_names.iter())
            .chain(self.lambda_images.iter())
            .chain(self.names.iter())
            .flatten()
        {
            spanned_glob(pattern)?;
        }
        if (self.names.as_ref()).is_some_and(|n| n.iter().all(|p| p.get_ref().starts_with('!'))) {
            return Err(SettingError::whole(
                "`dockerfile.names` must name at least one file name pattern (besides `!` exclusions)",
            ));
        }
        let tagged_key = |key: &Spanned<String>| {
            spanned_glob(key)?;
            if key.get_ref().contains(':') {
                return Ok(());
            }
            Err(SettingError::at(
                key.span(),
                format!(
                    "`{}` has no tag: digest keys are `repository:tag`",
                    key.get_ref()
                ),
            ))
        };
        let digest_value = |digest: &Spanned<String>| {
            let probe = format!("example.com/x@{}", digest.get_ref());
            if ImageRef::parse(&probe).is_ok() {
                return Ok(());
            }
            Err(SettingError::at(
                digest.span(),
                format!(
                    "`{}` is not a digest: expected `sha256:` and 64 lower-case hex digits",
                    digest.get_ref()
                ),
            ))
        };
        for (key, digest) in self.digests.iter().flatten() {
            tagged_key(key)?;
            digest_value(digest)?;
        }
        for (key, previous) in self.previous_digests.iter().flatten() {
            tagged_key(key)?;
            for entry in previous {
                digest_value(&entry.digest)?;
                entry.date()?;
            }
        }
        if let Some(root) = &self.task_root {
            if !root.get_ref().starts_with('/') {
                return Err(SettingError::at(
                    root.span(),
                    "`task-root` must be an absolute path",
                ));
            }
        }
        Ok(())
    }
}

/// The `[dockerfile]` patterns, compiled once per policy.
#[derive(Debug)]
pub struct DockerfileMatchers {
    pub release_bases: GlobSet,
    pub dev_bases: GlobSet,
    pub secret_names: NameMatcher,
    pub not_secret_names: NameMatcher,
    pub digests: Vec<(GlobMatcher, String)>,
    pub previous_digests: Vec<(GlobMatcher, Vec<PreviousDigest>)>,
    pub base_env: HashMap<String, String>,
    pub names: crate::units::DockerfileNames,
    pub lambda_images: GlobSet,
}

impl DockerfileMatchers {
    pub fn compile(dockerfile: &DockerfilePolicy) -> Result<DockerfileMatchers, globset::Error> {
        let repositories = |patterns: &[String]| -> Result<GlobSet, globset::Error> {
            compiled("repositories", patterns, |patterns| {
                let mut set = GlobSetBuilder::new();
                for pattern in patterns {
                    set.add(path_glob(&normalize_repository_pattern(pattern))?);
                }
                set.build()
            })
        };
        let names = |patterns: &[String]| compiled("names", patterns, NameMatcher::new);
        let lambda_images = compiled("paths", &dockerfile.lambda_images, |patterns| {
            let mut set = GlobSetBuilder::new();
            for pattern in patterns {
                set.add(path_glob(pattern)?);
            }
            set.build()
        })?;
        fn by_tag<T: Clone>(
            table: &BTreeMap<String, T>,
        ) -> Result<Vec<(GlobMatcher, T)>, globset::Error> {
            (table.iter())
                .map(|(key, value)| {
                    let matcher = compiled("digest", std::slice::from_ref(key), |key| {
                        Ok(path_glob(&normalize_repository_pattern(&key[0]))?.compile_matcher())
                    })?;
                    Ok((matcher, value.clone()))
                })
                .collect()
        }
        Ok(DockerfileMatchers {
            release_bases: repositories(&dockerfile.release_bases)?,
            dev_bases: repositories(&dockerfile.dev_bases)?,
            secret_names: names(&dockerfile.secret_names)?,
            not_secret_names: names(&dockerfile.not_secret_names)?,
            digests: by_tag(&dockerfile.digests)?,
            previous_digests: by_tag(&dockerfile.previous_digests)?,
            base_env: (dockerfile.base_env.iter())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            names: compiled(
                "dockerfile-names",
                &dockerfile.names,
                crate::units::DockerfileNames::new,
            )?,
            lambda_images,
        })
    }

    /// The digest the policy records for `repository:tag`, if any. When several keys match
    /// (the embedded `*.dkr.ecr.*...` and a team's own registry), the most specific one wins:
    /// the one with the most literal characters.
    pub fn recorded_digest(&self, tagged: &str) -> Option<&str> {
        self.digests
            .iter()
            .filter(|(matcher, _)| matcher.is_match(tagged))
            .max_by_key(|(matcher, _)| literal_characters(matcher.glob().glob()))
            .map(|(_, digest)| digest.as_str())
    }

    /// The last day `digest`, pinned before the one policy records for `repository:tag`, is
    /// still allowed (the latest, when several entries name it).
    pub fn allowed_until(&self, tagged: &str, digest: &str) -> Option<Date> {
        (self.previous_digests.iter())
            .filter(|(matcher, _)| matcher.is_match(tagged))
            .flat_map(|(_, previous)| previous)
            .filter(|previous| previous.digest == digest)
            .map(|previous| previous.allowed_until)
            .max()
    }
}

/// How specific a glob is: the characters it matches literally.
fn literal_characters(glob: &str) -> usize {
    glob.chars()
        .filter(|c| !matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | ','))
        .count()
}
