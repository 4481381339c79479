//! `lambda-gate fleet`: what every function of the fleet runs, and on which base. For each
//! account and region of `[fleet]` it lists the image functions, follows each serving alias to
//! its versions (a split alias to all of them), each version to its image digest, and the image
//! to the base it runs on (its `org.opencontainers.image.base.*` labels, else the approved base
//! its layers start with), then judges that base by the policy's digests: current, a
//! previous digest in its grace window, past its grace date, outdated with no grace, or not an
//! approved base. It also says which digests no ladder tag of their repository points at
//! (deployed outside the pipeline). Read-only.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context as _;
use futures_util::stream::{self, StreamExt as _};
use serde::Serialize;
use tokio::sync::Mutex;

use super::deploy::{Clients, Target};
use super::reference::Reference;
use super::registry::manifest::{Manifest, ManifestKind};
use super::registry::{config_of, AnyRegistry, Connection, Registry as _, RegistryError};
use crate::date::Date;
use crate::policy::{EffectivePolicy, FleetAccount};
use crate::rules::dockerfile::image::ImageRef;

/// What to survey.
pub struct FleetRequest {
    pub accounts: Vec<FleetAccount>,
    /// The aliases that serve; empty: every alias.
    pub aliases: Vec<String>,
    /// Judges bases (`[dockerfile]` digests, previous digests, approved bases) and names the
    /// ladder tags (`[promotion]`).
    pub policy: Arc<EffectivePolicy>,
    pub connection: Connection,
    pub today: Date,
    /// Calls in flight at once.
    pub concurrency: usize,
}

/// The fleet as read.
#[derive(Debug, Clone, Serialize)]
pub struct Fleet {
    pub date: Date,
    pub accounts: Vec<AccountRecord>,
    pub functions: Vec<FunctionRecord>,
    pub summary: FleetSummary,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountRecord {
    pub name: String,
    pub region: String,
    /// Image functions listed.
    pub functions: usize,
    /// Functions of other package types, not judged.
    pub zip_functions: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionRecord {
    pub account: String,
    pub region: String,
    pub function: String,
    pub aliases: Vec<AliasRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AliasRecord {
    pub alias: String,
    /// Traffic goes to more than one version: a deploy in flight, or one abandoned midway.
    pub split: bool,
    pub versions: Vec<VersionRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionRecord {
    pub version: String,
    /// Percent of the alias's traffic.
    pub weight: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// When the version was published (Lambda's `LastModified` of it): what it has run since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<Date>,
    pub base: BaseRecord,
    /// The ladder tags of the image's repository that point at its digest; empty: deployed
    /// outside the pipeline (or its tags moved on). `None`: the registry could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ladder_tags: Option<Vec<String>>,
}

/// The image manifest `digest` names in `repository`, read through its index when it is one:
/// the image of `architecture`, or (architecture unknown) the amd64 image, else the first,
/// whose final stage's base the other platforms share. An index without `architecture` is
/// returned as it is. `Ok(None)`: nothing under `digest`.
async fn platform_image(
    registry: &AnyRegistry,
    repository: &str,
    digest: &str,
    architecture: Option<&str>,
) -> Result<Option<Manifest>, RegistryError> {
    let Some(manifest) = registry.manifest(repository, digest).await? else {
        return Ok(None);
    };
    let child = match (&manifest.kind, architecture) {
        (ManifestKind::Index(_), Some(architecture)) => manifest.child(architecture).cloned(),
        (ManifestKind::Index(children), None) => {
            manifest.child("amd64").or(children.first()).cloned()
        }
        (ManifestKind::Image { .. }, _) => None,
    };
    let Some(child) = child else {
        return Ok(Some(manifest));
    };
    match registry.manifest(repository, &child.digest).await? {
        Some(image) => Ok(Some(image)),
        None => Err(RegistryError::Invalid(format!(
            "{repository}@{digest}: its image {} is missing",
            child.digest
        ))),
    }
}

/// The base an image runs on, and the policy's judgement of it.
#[derive(Debug, Clone, Serialize)]
pub struct BaseRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(flatten)]
    pub status: BaseStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum BaseStatus {
    /// The digest policy records for the base's tag.
    Current,
    /// A previous digest, allowed until the date.
    InGrace { until: Date },
    /// A previous digest whose grace ended.
    PastGrace { until: Date },
    /// Another digest than the recorded one, with no grace recorded for it.
    Outdated { recorded: String },
    /// Not one of the approved release bases.
    Unapproved,
    /// Approved, but policy records no digest for its tag: nothing to judge it by.
    Unrecorded,
    /// The base could not be read.
    Unknown { reason: String },
}

impl BaseStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            BaseStatus::Current => "current",
            BaseStatus::InGrace { .. } => "in grace",
            BaseStatus::PastGrace { .. } => "past grace",
            BaseStatus::Outdated { .. } => "outdated",
            BaseStatus::Unapproved => "unapproved",
            BaseStatus::Unrecorded => "unrecorded",
            BaseStatus::Unknown { .. } => "unknown",
        }
    }

    /// Runs an image the policy no longer allows: a grace date passed, or no grace at all.
    pub fn is_past_grace(&self) -> bool {
        matches!(
            self,
            BaseStatus::PastGrace { .. } | BaseStatus::Outdated { .. }
        )
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FleetSummary {
    pub functions: usize,
    pub versions_serving: usize,
    /// Serving versions by base status.
    pub by_status: BTreeMap<String, usize>,
    pub split_aliases: usize,
    /// Serving digests no ladder tag points at.
    pub outside_pipeline: usize,
    pub accounts_unreadable: usize,
    /// Functions listed whose aliases or versions could not be read.
    pub functions_unreadable: usize,
}

impl Fleet {
    /// Whether any serving version runs an image past its grace date.
    pub fn any_past_grace(&self) -> bool {
        self.versions()
            .any(|(_, _, v)| v.base.status.is_past_grace())
    }

    /// Every serving version with its function and alias.
    pub fn versions(
        &self,
    ) -> impl Iterator<Item = (&FunctionRecord, &AliasRecord, &VersionRecord)> {
        self.functions.iter().flat_map(|f| {
            f.aliases
                .iter()
                .flat_map(move |a| a.versions.iter().map(move |v| (f, a, v)))
        })
    }
}

/// Lists and judges the fleet.
pub async fn survey(request: &FleetRequest) -> Fleet {
    let images = ImageCache::default();
    let mut accounts = Vec::new();
    let mut functions = Vec::new();
    for account in &request.accounts {
        for region in &account.regions {
            let (record, listed) = survey_region(request, account, region, &images).await;
            accounts.push(record);
            functions.extend(listed);
        }
    }
    functions.sort_by(|a, b| {
        (&a.account, &a.region, &a.function).cmp(&(&b.account, &b.region, &b.function))
    });
    let mut fleet = Fleet {
        date: request.today,
        accounts,
        functions,
        summary: FleetSummary::default(),
    };
    fleet.summary = summarize(&fleet);
    fleet
}

fn summarize(fleet: &Fleet) -> FleetSummary {
    let mut summary = FleetSummary {
        functions: fleet.functions.len(),
        accounts_unreadable: fleet.accounts.iter().filter(|a| a.error.is_some()).count(),
        functions_unreadable: fleet.functions.iter().filter(|f| f.error.is_some()).count(),
        split_aliases: (fleet.functions.iter())
            .flat_map(|f| &f.aliases)
            .filter(|a| a.split)
            .count(),
        ..FleetSummary::default()
    };
    for (_, _, version) in fleet.versions() {
        summary.versions_serving += 1;
        *summary
            .by_status
            .entry(version.base.status.as_str().to_string())
            .or_default() += 1;
        if version.ladder_tags.as_ref().is_some_and(Vec::is_empty) {
            summary.outside_pipeline += 1;
        }
    }
    summary
}

async fn survey_region(
    request: &FleetRequest,
    account: &FleetAccount,
    region: &str,
    images: &ImageCache,
) -> (AccountRecord, Vec<FunctionRecord>) {
    let mut record = AccountRecord {
        name: account.name.clone(),
        region: region.to_string(),
        functions: 0,
        zip_functions: 0,
        error: None,
    };
    let listed = async {
        let target = Target {
            region: Some(region.to_string()),
            role_arn: account.role_arn.clone(),
            session_name: "lambda-gate-fleet".into(),
            ..Target::default()
        };
        let clients = Clients::connect(&target).await?;
        let names = list_image_functions(&clients.lambda, &mut record).await?;
        anyhow::Ok((clients, names))
    }
    .await;
    let (clients, names) = match listed {
        Ok(listed) => listed,
        Err(error) => {
            record.error = Some(format!("{error:#}"));
            return (record, Vec::new());
        }
    };
    let lambda = &clients.lambda;
    let functions = stream::iter(names)
        .map(|name| async move {
            let mut function = FunctionRecord {
                account: account.name.clone(),
                region: region.to_string(),
                function: name.clone(),
                aliases: Vec::new(),
                error: None,
            };
            match read_function(lambda, &name, request, images).await {
                Ok(aliases) => function.aliases = aliases,
                Err(error) => function.error = Some(format!("{error:#}")),
            }
            function
        })
        .buffer_unordered(request.concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    (record, functions)
}

/// The names of the region's image functions (counting the others in `record`).
async fn list_image_functions(
    lambda: &aws_sdk_lambda::Client,
    record: &mut AccountRecord,
) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        let page = lambda
            .list_functions()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| crate::runner::aws_error::explain("ListFunctions", e))?;
        for function in page.functions() {
            let is_image =
                function.package_type() == Some(&aws_sdk_lambda::types::PackageType::Image);
            match (is_image, function.function_name()) {
                (true, Some(name)) => names.push(name.to_string()),
                _ => record.zip_functions += 1,
            }
        }
        marker = page.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    record.functions = names.len();
    Ok(names)
}

/// Each serving alias of `function`, followed to its versions and their images.
async fn read_function(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    request: &FleetRequest,
    images: &ImageCache,
) -> anyhow::Result<Vec<AliasRecord>> {
    let mut aliases = Vec::new();
    let mut marker = None;
    loop {
        let page = lambda
            .list_aliases()
            .function_name(function)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| crate::runner::aws_error::explain("ListAliases", e))?;
        aliases.extend(page.aliases().iter().cloned());
        marker = page.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    let mut records = Vec::new();
    for alias in aliases {
        let name = alias.name().unwrap_or_default().to_string();
        if !request.aliases.is_empty() && !request.aliases.contains(&name) {
            continue;
        }
        let weights: Vec<(String, f64)> = alias
            .routing_config()
            .and_then(|r| r.additional_version_weights())
            .map(|w| w.iter().map(|(v, w)| (v.clone(), w * 100.0)).collect())
            .unwrap_or_default();
        let mut shares = vec![(
            alias.function_version().unwrap_or_default().to_string(),
            100.0 - weights.iter().map(|(_, w)| w).sum::<f64>(),
        )];
        shares.extend(weights);
        let mut versions = Vec::new();
        for (version, weight) in shares {
            let answer = lambda
                .get_function()
                .function_name(function)
                .qualifier(&version)
                .send()
                .await
                .map_err(|e| crate::runner::aws_error::explain("GetFunction", e))
                .with_context(|| format!("{function}:{version}"))?;
            let code = answer.code();
            let image_uri = code
                .and_then(|c| {
                    c.image_uri()
                        .filter(|uri| uri.contains("@sha256:"))
                        .or(c.resolved_image_uri())
                        .or(c.image_uri())
                })
                .map(str::to_string);
            let configuration = answer.configuration();
            let architecture = configuration
                .and_then(|c| c.architectures().first())
                .map_or("amd64", |a| match a.as_str() {
                    "arm64" => "arm64",
                    _ => "amd64",
                });
            let since = configuration
                .and_then(|c| c.last_modified())
                .and_then(|t| Date::parse(t.get(..10)?));
            let digest = image_uri
                .as_deref()
                .and_then(|uri| uri.rsplit_once('@'))
                .map(|(_, digest)| digest.to_string());
            let (base, ladder_tags) = match &image_uri {
                Some(uri) => images.judge(uri, architecture, request).await,
                None => (
                    BaseRecord {
                        name: None,
                        digest: None,
                        status: BaseStatus::Unknown {
                            reason: "the version names no container image".into(),
                        },
                    },
                    None,
                ),
            };
            versions.push(VersionRecord {
                version,
                weight: (weight * 10.0).round() / 10.0,
                image_uri,
                digest,
                since,
                base,
                ladder_tags,
            });
        }
        records.push(AliasRecord {
            alias: name,
            split: versions.len() > 1,
            versions,
        });
    }
    Ok(records)
}

type Ladder = HashMap<String, Vec<String>>;

/// The ladder tags that point at `digest`, sorted; `None` when the ladder could not be read.
fn ladder_tags(ladder: Option<&Ladder>, digest: &str) -> Option<Vec<String>> {
    ladder.map(|tags| {
        let mut pointing: Vec<String> = (tags.iter())
            .filter(|(_, at)| at.iter().any(|d| d == digest))
            .map(|(tag, _)| tag.clone())
            .collect();
        pointing.sort();
        pointing
    })
}

/// What images and repositories were read, once each across the fleet (two hundred
/// functions often run a few dozen images).
#[derive(Default)]
struct ImageCache {
    bases: Mutex<HashMap<(String, String), BaseRecord>>,
    /// Per repository: each ladder tag and the digests it points at (an index and its
    /// images: a deploy runs the image of the function's architecture).
    ladders: Mutex<HashMap<String, Option<Ladder>>>,
}

impl ImageCache {
    /// The base `uri` runs on for `architecture`, judged, and the ladder tags that point at it.
    async fn judge(
        &self,
        uri: &str,
        architecture: &str,
        request: &FleetRequest,
    ) -> (BaseRecord, Option<Vec<String>>) {
        let unknown = |reason: String| BaseRecord {
            name: None,
            digest: None,
            status: BaseStatus::Unknown { reason },
        };
        let Some((_, digest)) = uri.rsplit_once('@') else {
            return (
                unknown(format!("{uri} names a tag, not a digest: what it pointed at when deployed cannot be known")),
                None,
            );
        };
        let reference = match Reference::parse(uri) {
            Ok(reference) => reference,
            Err(e) => return (unknown(format!("{uri}: {e}")), None),
        };
        let key = (uri.to_string(), architecture.to_string());
        let known = self.bases.lock().await.get(&key).cloned();
        // An image already judged in a repository already read: nothing to connect for.
        let ladder = self
            .ladders
            .lock()
            .await
            .get(&reference.without_tag())
            .cloned();
        if let (Some(base), Some(ladder)) = (&known, ladder) {
            return (base.clone(), ladder_tags(ladder.as_ref(), digest));
        }
        let registry = match AnyRegistry::connect(&reference, &request.connection).await {
            Ok(registry) => registry,
            Err(e) => return (unknown(format!("{uri}: {e:#}")), None),
        };
        let base = match known {
            Some(base) => base,
            None => {
                let base = match image_base(
                    &registry,
                    &reference,
                    digest,
                    Some(architecture),
                    &request.policy,
                    &request.connection,
                )
                .await
                {
                    Ok((name, digest)) => {
                        judge_base(&name, &digest, &request.policy, request.today)
                    }
                    Err(reason) => unknown(reason),
                };
                self.bases.lock().await.insert(key, base.clone());
                base
            }
        };
        let ladder = self.ladder_of(&registry, &reference, request).await;
        (base, ladder_tags(ladder.as_ref(), digest))
    }

    /// The ladder tags of the image's repository and the digests they point at; `None` when
    /// the registry cannot be read.
    async fn ladder_of(
        &self,
        registry: &AnyRegistry,
        reference: &Reference,
        request: &FleetRequest,
    ) -> Option<Ladder> {
        let repository = reference.without_tag();
        if let Some(known) = self.ladders.lock().await.get(&repository) {
            return known.clone();
        }
        let tags: HashSet<&String> = request
            .policy
            .policy
            .promotion
            .ladders
            .iter()
            .flatten()
            .collect();
        let mut pointing = Some(HashMap::new());
        for tag in tags {
            match registry.manifest(&reference.repository, tag).await {
                Ok(Some(manifest)) => {
                    let mut digests = vec![manifest.digest.clone()];
                    if let ManifestKind::Index(children) = &manifest.kind {
                        digests.extend(children.iter().map(|c| c.digest.clone()));
                    }
                    if let Some(map) = pointing.as_mut() {
                        map.insert(tag.clone(), digests);
                    }
                }
                Ok(None) => {}
                Err(_) => {
                    pointing = None;
                    break;
                }
            }
        }
        self.ladders
            .lock()
            .await
            .insert(repository, pointing.clone());
        pointing
    }
}

/// The base an image runs on: its `org.opencontainers.image.base.*` labels, else the approved
/// base its layers start with.
async fn image_base(
    registry: &AnyRegistry,
    reference: &Reference,
    digest: &str,
    architecture: Option<&str>,
    policy: &EffectivePolicy,
    connection: &Connection,
) -> Result<(String, String), String> {
    let manifest = match platform_image(registry, &reference.repository, digest, architecture).await {
        Ok(Some(manifest)) => manifest,
        Ok(None) => {
            return Err(format!(
                "{reference} is not in its registry: deleted or never pushed there, so its base cannot be read"
            ))
        }
        Err(e) => return Err(format!("{reference}: {e}")),
    };
    let config = config_of(registry, reference, &manifest)
        .await
        .map_err(|e| e.to_string())?;
    let labels = &config["config"]["Labels"];
    let label = |name: &str| labels[name].as_str().map(str::to_string);
    let base = label(super::build::BASE_NAME_LABEL);
    if let (Some(name), Some(digest)) = (base, label(super::build::BASE_DIGEST_LABEL)) {
        return Ok((name, digest));
    }
    // No label (an image built by other means, or before builds wrote it): the approved base
    // whose layers the image's start with, the longest such.
    let ManifestKind::Image { layers, .. } = &manifest.kind else {
        return Err(format!("{reference}: not an image manifest"));
    };
    let image_layers: Vec<&str> = layers.iter().map(|l| l.digest.as_str()).collect();
    let architecture = config["architecture"].as_str().unwrap_or("amd64");
    let mut best: Option<(usize, String, String)> = None;
    for (tagged, digest) in candidates(policy) {
        let Some(base_layers) = layers_of(&tagged, &digest, architecture, connection).await else {
            continue;
        };
        let longer = best.as_ref().is_none_or(|(n, ..)| base_layers.len() > *n);
        if !base_layers.is_empty()
            && image_layers.starts_with(&base_layers.iter().map(String::as_str).collect::<Vec<_>>())
            && longer
        {
            best = Some((base_layers.len(), tagged, digest));
        }
    }
    match best {
        Some((_, tagged, digest)) => Ok((format!("{tagged}@{digest}"), digest)),
        None => Err(format!(
            "{reference} names no base (no `{}` label) and its layers start with none of the approved bases policy names by repository: built by something other than `lambda-gate build`?",
            super::build::BASE_NAME_LABEL
        )),
    }
}

/// The bases policy names by a concrete `repository:tag` (no pattern), with every digest it
/// records for them, current and previous: what an image's layers can be matched against.
fn candidates(policy: &EffectivePolicy) -> Vec<(String, String)> {
    let literal = |key: &str| !key.contains(['*', '?', '[', '{']);
    let dockerfile = &policy.policy.dockerfile;
    let current = (dockerfile.digests.iter())
        .filter(|(key, _)| literal(key))
        .map(|(key, digest)| (key.clone(), digest.clone()));
    let previous = (dockerfile.previous_digests.iter())
        .filter(|(key, _)| literal(key))
        .flat_map(|(key, entries)| entries.iter().map(move |p| (key.clone(), p.digest.clone())));
    current.chain(previous).collect()
}

/// The layers of `repository:tag@digest` for `architecture`, when the registry gives them.
async fn layers_of(
    tagged: &str,
    digest: &str,
    architecture: &str,
    connection: &Connection,
) -> Option<Vec<String>> {
    let reference = Reference::parse(&format!("{tagged}@{digest}")).ok()?;
    let registry = AnyRegistry::connect(&reference, connection).await.ok()?;
    let manifest = platform_image(&registry, &reference.repository, digest, Some(architecture))
        .await
        .ok()??;
    match &manifest.kind {
        ManifestKind::Image { layers, .. } => {
            Some(layers.iter().map(|l| l.digest.clone()).collect())
        }
        ManifestKind::Index(_) => None,
    }
}

/// The base the image `uri` runs on, judged by `policy` on `today` (for `sweep --deployed`,
/// which knows the image but not the function's architecture).
pub async fn base_of(
    uri: &str,
    policy: &EffectivePolicy,
    connection: &Connection,
    today: Date,
) -> BaseRecord {
    let unknown = |reason: String| BaseRecord {
        name: None,
        digest: None,
        status: BaseStatus::Unknown { reason },
    };
    let Some((_, digest)) = uri.rsplit_once('@') else {
        return unknown(format!("{uri} names a tag, not a digest"));
    };
    let reference = match Reference::parse(uri) {
        Ok(reference) => reference,
        Err(e) => return unknown(format!("{uri}: {e}")),
    };
    let registry = match AnyRegistry::connect(&reference, connection).await {
        Ok(registry) => registry,
        Err(e) => return unknown(format!("{uri}: {e:#}")),
    };
    match image_base(&registry, &reference, digest, None, policy, connection).await {
        Ok((name, digest)) => judge_base(&name, &digest, policy, today),
        Err(reason) => unknown(reason),
    }
}

/// What an image's config says of it, for a person: `Python 3.12.8, linux 2023.6, created
/// 2026-12-02` (the parts its config holds: the `PYTHON_VERSION` variable, the OCI `os` and
/// `os.version`, its creation day). `None` when the image cannot be read.
pub async fn image_facts(image: &str, connection: &Connection) -> Option<String> {
    let (_, digest) = image.rsplit_once('@')?;
    let reference = Reference::parse(image).ok()?;
    let registry = AnyRegistry::connect(&reference, connection).await.ok()?;
    let manifest = platform_image(&registry, &reference.repository, digest, None)
        .await
        .ok()??;
    let config = config_of(&registry, &reference, &manifest).await.ok()?;
    let mut facts = Vec::new();
    let env = config["config"]["Env"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if let Some(python) = env
        .iter()
        .filter_map(|v| v.as_str()?.strip_prefix("PYTHON_VERSION="))
        .next()
    {
        facts.push(format!("Python {python}"));
    }
    if let (Some(os), Some(version)) = (config["os"].as_str(), config["os.version"].as_str()) {
        facts.push(format!("{os} {version}"));
    }
    if let Some(created) = config["created"].as_str().and_then(|c| c.get(..10)) {
        facts.push(format!("created {created}"));
    }
    if facts.is_empty() {
        return Some("its config names no Python or OS version".into());
    }
    Some(facts.join(", "))
}

impl BaseRecord {
    /// In words: `in grace until 2026-12-16`, `past grace since 2026-12-16`, ...
    pub fn describe(&self) -> String {
        match &self.status {
            BaseStatus::InGrace { until } => format!("in grace until {until}"),
            BaseStatus::PastGrace { until } => format!("past grace since {until}"),
            BaseStatus::Outdated { recorded } => {
                format!("outdated: policy records {}", short_digest(recorded))
            }
            BaseStatus::Unknown { reason } => format!("unknown: {reason}"),
            other => other.as_str().to_string(),
        }
    }
}

/// The policy's judgement of a base, by name and digest, on `today`.
pub fn judge_base(name: &str, digest: &str, policy: &EffectivePolicy, today: Date) -> BaseRecord {
    let record = |status| BaseRecord {
        name: Some(name.to_string()),
        digest: Some(digest.to_string()),
        status,
    };
    let Ok(image) = ImageRef::parse(name) else {
        return record(BaseStatus::Unknown {
            reason: format!("`{name}` is not an image reference"),
        });
    };
    let matchers = &policy.dockerfile;
    if !matchers.release_bases.is_match(image.repository()) {
        return record(BaseStatus::Unapproved);
    }
    let Some(tagged) = image.tagged() else {
        return record(BaseStatus::Unrecorded);
    };
    let Some(recorded) = matchers.recorded_digest(&tagged) else {
        return record(BaseStatus::Unrecorded);
    };
    if recorded == digest {
        return record(BaseStatus::Current);
    }
    match matchers.allowed_until(&tagged, digest) {
        Some(until) if today <= until => record(BaseStatus::InGrace { until }),
        Some(until) => record(BaseStatus::PastGrace { until }),
        None => record(BaseStatus::Outdated {
            recorded: recorded.to_string(),
        }),
    }
}

/// The fleet for a person: what needs attention first (past grace, outdated, unapproved,
/// split aliases, digests outside the pipeline, bases that could not be read), then the counts.
pub fn render_text(fleet: &Fleet, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    writeln!(
        out,
        "Fleet on {}: {} image functions in {} account regions",
        fleet.date,
        fleet.summary.functions,
        fleet.accounts.len()
    )?;
    for account in &fleet.accounts {
        if let Some(error) = &account.error {
            writeln!(
                out,
                "  {} {}: not listed: {error}",
                account.name, account.region
            )?;
        }
    }
    for function in fleet.functions.iter().filter(|f| f.error.is_some()) {
        let error = function.error.as_deref().unwrap_or_default();
        writeln!(
            out,
            "  {} {} {}: not read: {error}",
            function.account, function.region, function.function
        )?;
    }
    let mut attention = Vec::new();
    for (function, alias, version) in fleet.versions() {
        let at = format!(
            "{} {} {}:{} version {} ({}%)",
            function.account,
            function.region,
            function.function,
            alias.alias,
            version.version,
            version.weight
        );
        let base = match (&version.base.name, &version.base.digest) {
            (Some(name), Some(digest)) => format!(
                "{} @ {}",
                name.split('@').next().unwrap_or(name),
                short_digest(digest)
            ),
            _ => "its base".to_string(),
        };
        let since = version
            .since
            .map(|d| {
                format!(
                    ", running since {d} ({} days)",
                    fleet.date.days() - d.days()
                )
            })
            .unwrap_or_default();
        let line = match &version.base.status {
            BaseStatus::PastGrace { until } => Some(format!(
                "past grace  {at}: {base}, grace ended {until} ({} days ago){since}",
                fleet.date.days() - until.days()
            )),
            BaseStatus::Outdated { recorded } => Some(format!(
                "outdated    {at}: {base}, policy records {} and allows no grace for it{since}",
                short_digest(recorded)
            )),
            BaseStatus::InGrace { until } => Some(format!(
                "in grace    {at}: {base}, allowed until {until} ({} days left){since}",
                until.days() - fleet.date.days()
            )),
            BaseStatus::Unapproved => Some(format!(
                "unapproved  {at}: {base} is not an approved release base{since}"
            )),
            BaseStatus::Unknown { reason } => Some(format!("unknown     {at}: {reason}")),
            BaseStatus::Current | BaseStatus::Unrecorded => None,
        };
        attention.extend(line);
        if version.ladder_tags.as_ref().is_some_and(Vec::is_empty) {
            attention.push(format!(
                "outside     {at}: {} is under no ladder tag of its repository: deployed outside the pipeline, or its tags moved on",
                version.digest.as_deref().map_or("its image", short_digest)
            ));
        }
    }
    for function in &fleet.functions {
        for alias in function.aliases.iter().filter(|a| a.split) {
            let shares: Vec<String> = (alias.versions.iter())
                .map(|v| format!("version {} {}%", v.version, v.weight))
                .collect();
            attention.push(format!(
                "split       {} {} {}:{}: {} (a deploy in flight, or one abandoned midway)",
                function.account,
                function.region,
                function.function,
                alias.alias,
                shares.join(", ")
            ));
        }
    }
    for line in &attention {
        writeln!(out, "  {line}")?;
    }
    let counts: Vec<String> = fleet
        .summary
        .by_status
        .iter()
        .map(|(status, n)| format!("{n} {status}"))
        .collect();
    writeln!(
        out,
        "Serving versions: {} ({}); {} split aliases; {} outside the pipeline",
        fleet.summary.versions_serving,
        if counts.is_empty() {
            "none".to_string()
        } else {
            counts.join(", ")
        },
        fleet.summary.split_aliases,
        fleet.summary.outside_pipeline
    )
}

/// The fleet as one self-contained HTML page (no network): the report embedded as JSON and
/// rendered by a small inline script, every serving version a row, filterable by base status.
pub fn render_html(fleet: &Fleet, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    crate::report::html::embed(include_str!("fleet.html"), "/*FLEET-DATA*/", fleet, out)
}

fn short_digest(digest: &str) -> &str {
    &digest[..digest.len().min(19)]
}
