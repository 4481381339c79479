//! `lambda-gate deploy`: points a function at an image by digest, smoke-tests the published
//! version where it runs, then moves its alias at once or as a canary watched by CloudWatch
//! alarms, and rolls back when either check fails. Without CodeDeploy; every change is
//! compare-and-set, and nothing is changed before every refusal has been decided.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use aws_sdk_lambda::error::ProvideErrorMetadata as _;
use aws_sdk_lambda::types::{
    AliasRoutingConfiguration, Architecture, LastUpdateStatus, PackageType,
};
use serde::Serialize;
use thiserror::Error;

use super::outcome::{Outcome, Refusal, Stop};
use super::promote::{self, ArchitectureDigest};
use super::reference::Reference;
use super::registry::{require_manifest, AnyRegistry, Connection};

/// Where a function lives and how lambda-gate reaches it.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// A name or an ARN.
    pub function: String,
    pub alias: String,
    /// Default: the AWS configuration's region.
    pub region: Option<String>,
    /// Assumed (STS) for an environment in another account.
    pub role_arn: Option<String>,
    /// The external ID the role's trust policy asks for (`sts:ExternalId`).
    pub external_id: Option<String>,
    /// The assumed role's session name: CloudTrail records it with every call, so it names the
    /// build ([`session_name`]).
    pub session_name: String,
}

/// The session name for an assumed role: the one given, else Jenkins' `BUILD_TAG`
/// (`jenkins-team-quote-42`), else `lambda-gate-deploy`; made what STS accepts (2 to 64 of
/// letters, digits and `+=,.@-`; anything else becomes `-`).
pub fn session_name(given: Option<&str>, build_tag: Option<&str>) -> String {
    let raw = given
        .or(build_tag)
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .unwrap_or("lambda-gate-deploy");
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    // Keep the end: a build number is what tells two runs of a job apart.
    if name.len() > 64 {
        name = name[name.len() - 64..].to_string();
    }
    if name.len() < 2 {
        name = format!("lambda-gate-{name}");
    }
    name
}

/// A canary: `percent` of the alias's traffic to the new version for `bake`, then all of it.
#[derive(Debug, Clone, Copy)]
pub struct Canary {
    pub percent: f64,
    pub bake: Duration,
}

/// On a ladder, the environment below the one deployed to.
#[derive(Debug, Clone)]
pub struct Below {
    /// The environment deployed to.
    pub environment: String,
    /// The environment below it.
    pub name: String,
    pub target: Target,
}

#[derive(Debug, Clone)]
pub struct DeployRequest {
    pub target: Target,
    /// `host/path@sha256:…`: an index or a single-platform manifest.
    pub image: Reference,
    /// Smoke-test events (JSON files), invoked on the new version before the alias moves.
    pub events: Vec<PathBuf>,
    pub canary: Option<Canary>,
    /// Alarms watched during the bake; `None`: the function's alarms (by their `FunctionName`
    /// dimension).
    pub alarms: Option<Vec<String>>,
    pub record_ssm: Option<String>,
    /// The rung below on a promotion ladder: the digest must be what it serves now.
    pub below: Option<Below>,
    pub connection: Connection,
}

/// Why a deploy stopped before changing anything (exit 1).
#[derive(Debug, Error)]
pub enum DeployRefusal {
    #[error("{function} is a {package} function: lambda-gate deploys container images (PackageType Image)")]
    NotImage { function: String, package: String },
    #[error("{image} has no image for {function}'s architecture {architecture} (it holds {holds}): build linux/{platform} or deploy to a function of another architecture")]
    NoChild {
        image: String,
        function: String,
        architecture: String,
        holds: String,
        platform: String,
    },
    #[error("{function} changed while this deploy ran ({what}): someone else is deploying it; nothing was overwritten. Run again once they are done")]
    ConcurrentChange { function: String, what: String },
    #[error("{environment} only takes what {below} runs: {below}'s {function}:{alias} serves {serving}, not {wanted}. Deploy {wanted} to {below} first")]
    Ladder {
        environment: String,
        below: String,
        function: String,
        alias: String,
        serving: String,
        wanted: String,
    },
    #[error("no smoke-test events: pass --event FILE, or run where events/*.json are")]
    NoEvents,
    #[error("alarm {0} is already in ALARM: a canary could not be judged by it. Deploy once it is OK again")]
    AlarmBeforeStart(String),
}

/// One invocation of the published version.
#[derive(Debug, Clone, Serialize)]
pub struct Invocation {
    pub event: String,
    pub passed: bool,
    /// `ok`, or what failed (`FunctionError: Unhandled`, `errorType: KeyError`, a timeout).
    pub outcome: String,
    pub seconds: f64,
}

/// Where the time went: the API calls and the waits, each by name.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    pub api_seconds: f64,
    pub wait_seconds: f64,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub name: String,
    pub kind: &'static str,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CanaryReport {
    pub percent: f64,
    pub bake_seconds: f64,
    pub alarms: Vec<String>,
}

/// What a deploy did to the alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployStatus {
    /// The alias serves the new version.
    Deployed,
    /// The alias already served this image: nothing was changed.
    Unchanged,
    /// A smoke test or an alarm failed: traffic is back where it was (a refusal, exit 1).
    RolledBack,
}

impl std::fmt::Display for DeployStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeployStatus::Deployed => "deployed",
            DeployStatus::Unchanged => "unchanged",
            DeployStatus::RolledBack => "rolled-back",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DeployResult {
    pub function: String,
    pub alias: String,
    pub status: DeployStatus,
    /// Lambda's name for it: `x86_64` or `arm64`.
    pub architecture: String,
    /// The single-platform manifest deployed.
    pub digest: String,
    pub image_uri: String,
    /// The version published by this deploy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What the alias served before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<String>,
    /// What the alias serves now.
    pub serving: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub smoke: Vec<Invocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryReport>,
    /// Why it rolled back: the event or alarm that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ssm_parameters: Vec<String>,
    pub timings: Timings,
}

pub type Log<'a> = &'a mut (dyn FnMut(&str) + Send);

/// The AWS clients of one target, with the role assumed when asked.
struct Clients {
    lambda: aws_sdk_lambda::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    ssm: aws_sdk_ssm::Client,
}

impl Clients {
    async fn connect(target: &Target) -> anyhow::Result<Clients> {
        let mut loader = aws_config::from_env();
        let region = target
            .region
            .clone()
            .or_else(|| region_of_arn(&target.function));
        if let Some(region) = region {
            loader = loader.region(aws_config::Region::new(region));
        }
        let mut config = loader.load().await;
        if let Some(role) = &target.role_arn {
            let mut provider = aws_config::sts::AssumeRoleProvider::builder(role)
                .session_name(&target.session_name)
                .configure(&config);
            if let Some(external_id) = &target.external_id {
                provider = provider.external_id(external_id);
            }
            let provider = provider.build().await;
            config = config
                .into_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build();
        }
        Ok(Clients {
            lambda: aws_sdk_lambda::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
        })
    }
}

/// `arn:aws:lambda:<region>:<account>:function:<name>` names its region.
fn region_of_arn(function: &str) -> Option<String> {
    let parts: Vec<&str> = function.split(':').collect();
    (parts.len() >= 7 && parts[0] == "arn" && parts[2] == "lambda").then(|| parts[3].to_string())
}

/// Records how long each call and wait took.
#[derive(Default)]
struct Clock {
    timings: Timings,
}

impl Clock {
    async fn api<T, F: std::future::Future<Output = T>>(&mut self, name: &str, call: F) -> T {
        let started = Instant::now();
        let result = call.await;
        let seconds = started.elapsed().as_secs_f64();
        self.timings.api_seconds += seconds;
        self.timings.steps.push(Step {
            name: name.to_string(),
            kind: "api",
            seconds,
        });
        result
    }

    async fn wait(&mut self, name: &str, duration: Duration) {
        tokio::time::sleep(duration).await;
        let seconds = duration.as_secs_f64();
        self.timings.wait_seconds += seconds;
        match self.timings.steps.last_mut() {
            Some(step) if step.name == name && step.kind == "wait" => step.seconds += seconds,
            _ => self.timings.steps.push(Step {
                name: name.to_string(),
                kind: "wait",
                seconds,
            }),
        }
    }
}

/// What a function runs: its image, code hash and revision.
#[derive(Debug, Clone, PartialEq)]
struct Code {
    image_uri: Option<String>,
    code_sha256: Option<String>,
    revision_id: Option<String>,
}

impl Code {
    /// What a `GetFunction` answer says the function runs.
    fn read(answer: &aws_sdk_lambda::operation::get_function::GetFunctionOutput) -> Code {
        let configuration = answer.configuration();
        Code {
            image_uri: answer
                .code()
                .and_then(|c| c.image_uri())
                .map(str::to_string),
            code_sha256: configuration
                .and_then(|c| c.code_sha256())
                .map(str::to_string),
            revision_id: configuration
                .and_then(|c| c.revision_id())
                .map(str::to_string),
        }
    }
}

fn explain<E, R>(
    operation: &str,
    function: &str,
    error: aws_sdk_lambda::error::SdkError<E, R>,
) -> anyhow::Error
where
    E: aws_sdk_lambda::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    anyhow::Error::new(super::aws_error::explain(operation, error))
        .context(format!("{function}: {operation}"))
}

/// The digest of `host/path@sha256:…`.
fn digest_of(image_uri: &str) -> Option<&str> {
    image_uri.rsplit_once('@').map(|(_, digest)| digest)
}

pub async fn deploy(request: &DeployRequest, log: Log<'_>) -> Outcome<DeployResult> {
    let mut clock = Clock::default();
    let target = &request.target;
    let function = target.function.as_str();
    let Some(wanted) = request.image.digest.clone() else {
        return Err(anyhow::anyhow!(
            "--image {}: deploy takes an image by digest (`host/path@sha256:…`), never a tag",
            request.image
        )
        .into());
    };
    let clients = Clients::connect(target).await?;

    // 1. Read everything; decide every refusal before anything changes.
    let read = clock
        .api(
            "GetFunction",
            clients.lambda.get_function().function_name(function).send(),
        )
        .await
        .map_err(|e| explain("GetFunction", function, e))?;
    let configuration = read
        .configuration()
        .context("GetFunction returned no configuration")?;
    let package = configuration
        .package_type()
        .cloned()
        .unwrap_or(PackageType::Zip);
    if package != PackageType::Image {
        return Err(DeployRefusal::NotImage {
            function: function.to_string(),
            package: package.as_str().to_string(),
        }
        .into());
    }
    let architecture = configuration
        .architectures()
        .first()
        .cloned()
        .unwrap_or(Architecture::X8664);
    let architecture = architecture.as_str().to_string();
    let before = Code::read(&read);

    let registry = AnyRegistry::connect(&request.image, &request.connection).await?;
    let child = child_for(&registry, &request.image, &wanted, function, &architecture).await?;
    let image_uri = format!(
        "{}/{}@{}",
        request.image.registry, request.image.repository, child
    );
    log(&format!("{function} ({architecture}): {image_uri}"));

    if let Some(below) = &request.below {
        let serving = serving_digest(&below.target, &mut clock).await?;
        let index_children = index_children(&registry, &request.image, &wanted).await?;
        let accepted = serving
            .as_deref()
            .is_some_and(|s| s == wanted || index_children.iter().any(|c| c == s));
        if !accepted {
            return Err(DeployRefusal::Ladder {
                environment: below.environment.clone(),
                below: below.name.clone(),
                function: below.target.function.clone(),
                alias: below.target.alias.clone(),
                serving: serving.unwrap_or_else(|| "nothing".into()),
                wanted,
            }
            .into());
        }
    }

    let alias = clock
        .api(
            "GetAlias",
            clients
                .lambda
                .get_alias()
                .function_name(function)
                .name(&target.alias)
                .send(),
        )
        .await;
    let alias = match alias {
        Ok(alias) => Some(alias),
        Err(error) if error.code() == Some("ResourceNotFoundException") => None,
        Err(error) => return Err(explain("GetAlias", function, error).into()),
    };
    let previous_version = alias
        .as_ref()
        .and_then(|a| a.function_version())
        .map(str::to_string);
    let alias_revision = alias
        .as_ref()
        .and_then(|a| a.revision_id())
        .map(str::to_string);
    let alias_split = alias
        .as_ref()
        .and_then(|a| a.routing_config())
        .and_then(|r| r.additional_version_weights())
        .is_some_and(|w| !w.is_empty());
    if let Some(version) = &previous_version {
        let served = clock
            .api(
                "GetFunction (alias version)",
                clients
                    .lambda
                    .get_function()
                    .function_name(function)
                    .qualifier(version)
                    .send(),
            )
            .await
            .map_err(|e| explain("GetFunction", function, e))?;
        let served_digest = served
            .code()
            .and_then(|c| c.image_uri())
            .and_then(digest_of)
            .map(str::to_string);
        if served_digest.as_deref() == Some(child.as_str()) && !alias_split {
            log(&format!(
                "{function}:{} already serves {child}: nothing to do",
                target.alias
            ));
            return Ok(DeployResult {
                function: function.to_string(),
                alias: target.alias.clone(),
                status: DeployStatus::Unchanged,
                architecture,
                digest: child,
                image_uri,
                version: None,
                serving: version.clone(),
                previous_version: previous_version.clone(),
                smoke: Vec::new(),
                canary: None,
                failure: None,
                ssm_parameters: Vec::new(),
                timings: clock.timings,
            });
        }
    }
    if request.events.is_empty() {
        return Err(DeployRefusal::NoEvents.into());
    }
    let events = read_events(&request.events)?;
    let alarms = match (&request.canary, &request.alarms) {
        (None, _) => Vec::new(),
        (Some(_), Some(named)) => named.clone(),
        (Some(_), None) => function_alarms(&clients, function, &mut clock).await?,
    };
    if request.canary.is_some() {
        if alarms.is_empty() {
            log(&format!("no CloudWatch alarm watches {function} (none has its FunctionName dimension): the canary is judged by its smoke test and bake time only"));
        }
        if let Some(firing) = firing_alarm(&clients, &alarms, &mut clock).await? {
            return Err(DeployRefusal::AlarmBeforeStart(firing).into());
        }
    }

    // 2. Update $LATEST by digest, compare-and-set.
    let now = clock
        .api(
            "GetFunction (before update)",
            clients.lambda.get_function().function_name(function).send(),
        )
        .await
        .map_err(|e| explain("GetFunction", function, e))?;
    let current = Code::read(&now);
    if current != before {
        return Err(DeployRefusal::ConcurrentChange {
            function: function.to_string(),
            what: describe_change(&before, &current),
        }
        .into());
    }
    log(&format!("updating {function} to {child}"));
    let mut update = clients
        .lambda
        .update_function_code()
        .function_name(function)
        .image_uri(&image_uri);
    if let Some(revision) = &before.revision_id {
        update = update.revision_id(revision);
    }
    match clock.api("UpdateFunctionCode", update.send()).await {
        Ok(_) => {}
        Err(error) if error.code() == Some("PreconditionFailedException") => {
            return Err(DeployRefusal::ConcurrentChange {
                function: function.to_string(),
                what: "its revision moved between the read and the update".into(),
            }
            .into())
        }
        Err(error) => return Err(explain("UpdateFunctionCode", function, error).into()),
    }
    let updated = wait_for_update(&clients, function, &mut clock).await?;
    if updated.image_uri.as_deref().and_then(digest_of) != Some(child.as_str()) {
        return Err(DeployRefusal::ConcurrentChange {
            function: function.to_string(),
            what: format!(
                "after the update it runs {}, not {image_uri}",
                updated.image_uri.as_deref().unwrap_or("no image")
            ),
        }
        .into());
    }
    let mut publish = clients.lambda.publish_version().function_name(function);
    if let Some(sha) = &updated.code_sha256 {
        publish = publish.code_sha256(sha);
    }
    if let Some(revision) = &updated.revision_id {
        publish = publish.revision_id(revision);
    }
    let published = clock
        .api("PublishVersion", publish.send())
        .await
        .map_err(|e| explain("PublishVersion", function, e))?;
    let version = published
        .version()
        .context("PublishVersion returned no version")?
        .to_string();
    log(&format!("published {function}:{version}"));

    let mut result = DeployResult {
        function: function.to_string(),
        alias: target.alias.clone(),
        status: DeployStatus::Deployed,
        architecture,
        digest: child,
        image_uri,
        version: Some(version.clone()),
        previous_version: previous_version.clone(),
        serving: previous_version.clone().unwrap_or_default(),
        smoke: Vec::new(),
        canary: None,
        failure: None,
        ssm_parameters: Vec::new(),
        timings: Timings::default(),
    };

    // 3. Smoke-test the published version where it runs.
    for (path, payload) in &events {
        let invocation = invoke(&clients, function, &version, path, payload, &mut clock).await?;
        log(&format!(
            "smoke {function}:{version} with {}: {}",
            invocation.event, invocation.outcome
        ));
        let passed = invocation.passed;
        result.smoke.push(invocation);
        if !passed {
            let failure = format!(
                "smoke test with {} failed: {}",
                path.display(),
                result.smoke.last().map_or("", |i| i.outcome.as_str())
            );
            roll_back(
                &clients,
                &mut result,
                &before,
                alias_revision.as_deref(),
                failure,
                &mut clock,
                log,
            )
            .await?;
            result.timings = clock.timings;
            return Err(Refusal::RolledBack(Box::new(result)).into());
        }
    }

    // 4. Move the alias: at once, or as a canary watched by alarms.
    let alias_revision = match (&request.canary, &previous_version) {
        (Some(canary), Some(previous)) => {
            log(&format!(
                "canary: {}% of {function}:{} to version {version} for {}s, watching {}",
                canary.percent,
                target.alias,
                canary.bake.as_secs(),
                if alarms.is_empty() {
                    "no alarm".to_string()
                } else {
                    alarms.join(", ")
                }
            ));
            let mut weights = std::collections::HashMap::new();
            weights.insert(version.clone(), canary.percent / 100.0);
            let routing = AliasRoutingConfiguration::builder()
                .set_additional_version_weights(Some(weights))
                .build();
            let revision = set_alias(
                &clients,
                function,
                &target.alias,
                previous,
                Some(routing),
                alias_revision.as_deref(),
                &mut clock,
            )
            .await?;
            result.canary = Some(CanaryReport {
                percent: canary.percent,
                bake_seconds: canary.bake.as_secs_f64(),
                alarms: alarms.clone(),
            });
            let poll = (canary.bake / 10).clamp(Duration::from_secs(1), Duration::from_secs(15));
            let baking = Instant::now();
            loop {
                if let Some(firing) = firing_alarm(&clients, &alarms, &mut clock).await? {
                    let failure = format!("alarm {firing} went into ALARM during the canary");
                    roll_back(
                        &clients,
                        &mut result,
                        &before,
                        revision.as_deref(),
                        failure,
                        &mut clock,
                        log,
                    )
                    .await?;
                    result.timings = clock.timings;
                    return Err(Refusal::RolledBack(Box::new(result)).into());
                }
                let elapsed = baking.elapsed();
                if elapsed >= canary.bake {
                    break;
                }
                clock.wait("bake", poll.min(canary.bake - elapsed)).await;
            }
            revision
        }
        (canary, _) => {
            if canary.is_some() {
                log(&format!(
                    "{function}:{} serves no version yet: the first deploy moves it at once",
                    target.alias
                ));
            }
            alias_revision
        }
    };
    match &previous_version {
        Some(_) => {
            set_alias(
                &clients,
                function,
                &target.alias,
                &version,
                None,
                alias_revision.as_deref(),
                &mut clock,
            )
            .await?;
        }
        None => {
            clock
                .api(
                    "CreateAlias",
                    clients
                        .lambda
                        .create_alias()
                        .function_name(function)
                        .name(&target.alias)
                        .function_version(&version)
                        .send(),
                )
                .await
                .map_err(|e| explain("CreateAlias", function, e))?;
        }
    }
    log(&format!(
        "{function}:{} serves version {version}",
        target.alias
    ));
    result.serving = version;

    if let Some(parameter) = &request.record_ssm {
        let platforms = [ArchitectureDigest {
            architecture: if result.architecture == "arm64" {
                "arm64"
            } else {
                "x86_64"
            },
            digest: result.digest.clone(),
            image_uri: result.image_uri.clone(),
        }];
        result.ssm_parameters = promote::record_ssm(&clients.ssm, parameter, &platforms).await?;
    }
    result.timings = clock.timings;
    Ok(result)
}

/// The single-platform manifest of `image` for `architecture`, verified in the registry.
async fn child_for(
    registry: &AnyRegistry,
    image: &Reference,
    digest: &str,
    function: &str,
    architecture: &str,
) -> Outcome<String> {
    let manifest = require_manifest(registry, image, digest).await?;
    let platform = if architecture == "arm64" {
        "arm64"
    } else {
        "amd64"
    };
    let child = if manifest.is_index() {
        match manifest.child(platform) {
            Some(child) => child.digest.clone(),
            None => {
                return Err(DeployRefusal::NoChild {
                    image: image.to_string(),
                    function: function.to_string(),
                    architecture: architecture.to_string(),
                    holds: manifest_platforms(&manifest),
                    platform: platform.to_string(),
                }
                .into())
            }
        }
    } else {
        digest.to_string()
    };
    let child_ref = Reference::parse(&format!("{}/{}@{child}", image.registry, image.repository))
        .map_err(Stop::failed)?;
    promote::verify_deployable(registry, &child_ref, architecture).await?;
    Ok(child)
}

fn manifest_platforms(manifest: &super::registry::Manifest) -> String {
    match &manifest.kind {
        super::registry::ManifestKind::Index(children) => {
            let names: Vec<String> = children
                .iter()
                .filter_map(|c| c.platform.as_ref())
                .map(|p| format!("{}/{}", p.os, p.architecture))
                .collect();
            if names.is_empty() {
                "no platform entries".into()
            } else {
                names.join(", ")
            }
        }
        _ => "one platform".into(),
    }
}

/// The digests an index names (empty for a single-platform manifest).
async fn index_children(
    registry: &AnyRegistry,
    image: &Reference,
    digest: &str,
) -> anyhow::Result<Vec<String>> {
    let manifest = require_manifest(registry, image, digest).await?;
    Ok(match &manifest.kind {
        super::registry::ManifestKind::Index(children) => {
            children.iter().map(|c| c.digest.clone()).collect()
        }
        _ => Vec::new(),
    })
}

/// The image digest `target`'s alias serves now (its main version), read from the function.
async fn serving_digest(target: &Target, clock: &mut Clock) -> anyhow::Result<Option<String>> {
    let clients = Clients::connect(target).await?;
    let function = target.function.as_str();
    let alias = clock
        .api(
            "GetAlias (rung below)",
            clients
                .lambda
                .get_alias()
                .function_name(function)
                .name(&target.alias)
                .send(),
        )
        .await;
    let version = match alias {
        Ok(alias) => alias.function_version().map(str::to_string),
        Err(error) if error.code() == Some("ResourceNotFoundException") => None,
        Err(error) => return Err(explain("GetAlias", function, error)),
    };
    let Some(version) = version else {
        return Ok(None);
    };
    let served = clock
        .api(
            "GetFunction (rung below)",
            clients
                .lambda
                .get_function()
                .function_name(function)
                .qualifier(&version)
                .send(),
        )
        .await
        .map_err(|e| explain("GetFunction", function, e))?;
    Ok(served
        .code()
        .and_then(|c| c.image_uri())
        .and_then(digest_of)
        .map(str::to_string))
}

fn read_events(paths: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    paths
        .iter()
        .map(|path| {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading event {}", path.display()))?;
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .with_context(|| format!("event {} is not JSON", path.display()))?;
            Ok((path.clone(), bytes))
        })
        .collect()
}

/// The names of the metric alarms whose `FunctionName` dimension is `function`.
async fn function_alarms(
    clients: &Clients,
    function: &str,
    clock: &mut Clock,
) -> anyhow::Result<Vec<String>> {
    // An ARN's name part (`arn:aws:lambda:region:account:function:NAME[:qualifier]`).
    let name = match function.strip_prefix("arn:") {
        Some(_) => function.split(':').nth(6).unwrap_or(function),
        None => function,
    };
    let mut found = Vec::new();
    let mut token = None;
    loop {
        let page = clock
            .api(
                "DescribeAlarms",
                clients
                    .cloudwatch
                    .describe_alarms()
                    .set_next_token(token.clone())
                    .send(),
            )
            .await
            .map_err(|e| anyhow::Error::new(super::aws_error::explain("DescribeAlarms", e)))?;
        for alarm in page.metric_alarms() {
            if alarm
                .dimensions()
                .iter()
                .any(|d| d.name() == Some("FunctionName") && d.value() == Some(name))
            {
                found.extend(alarm.alarm_name().map(str::to_string));
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(found)
}

/// The first of `alarms` in ALARM, if any.
async fn firing_alarm(
    clients: &Clients,
    alarms: &[String],
    clock: &mut Clock,
) -> anyhow::Result<Option<String>> {
    if alarms.is_empty() {
        return Ok(None);
    }
    let answer = clock
        .api(
            "DescribeAlarms",
            clients
                .cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(alarms.to_vec()))
                .send(),
        )
        .await
        .map_err(|e| anyhow::Error::new(super::aws_error::explain("DescribeAlarms", e)))?;
    Ok(answer
        .metric_alarms()
        .iter()
        .find(|a| a.state_value() == Some(&aws_sdk_cloudwatch::types::StateValue::Alarm))
        .and_then(|a| a.alarm_name())
        .map(str::to_string))
}

/// Waits until the update has landed (`LastUpdateStatus: Successful`), or reports Lambda's reason.
async fn wait_for_update(
    clients: &Clients,
    function: &str,
    clock: &mut Clock,
) -> anyhow::Result<Code> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let read = clock
            .api(
                "GetFunction (update status)",
                clients.lambda.get_function().function_name(function).send(),
            )
            .await
            .map_err(|e| explain("GetFunction", function, e))?;
        let configuration = read
            .configuration()
            .context("GetFunction returned no configuration")?;
        match configuration.last_update_status() {
            Some(LastUpdateStatus::Failed) => anyhow::bail!(
                "{function}: the update failed: {} ({})",
                configuration
                    .last_update_status_reason()
                    .unwrap_or("no reason given"),
                configuration
                    .last_update_status_reason_code()
                    .map_or("no code", |c| c.as_str())
            ),
            Some(LastUpdateStatus::InProgress) if Instant::now() < deadline => {
                clock
                    .wait("update in progress", Duration::from_secs(1))
                    .await;
            }
            Some(LastUpdateStatus::InProgress) => {
                anyhow::bail!("{function}: the update is still in progress after 10 minutes")
            }
            _ => return Ok(Code::read(&read)),
        }
    }
}

/// Invokes `version` with one event; a function error, an `errorType` payload or a timeout fails.
async fn invoke(
    clients: &Clients,
    function: &str,
    version: &str,
    path: &std::path::Path,
    payload: &[u8],
    clock: &mut Clock,
) -> anyhow::Result<Invocation> {
    let timeout = super::smoke::timeout();
    let started = Instant::now();
    let call = clients
        .lambda
        .invoke()
        .function_name(function)
        .qualifier(version)
        .payload(aws_sdk_lambda::primitives::Blob::new(payload.to_vec()))
        .send();
    let answer = clock
        .api("Invoke", tokio::time::timeout(timeout, call))
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let event = path.display().to_string();
    let outcome = match answer {
        Err(_) => format!("no answer within {}s", timeout.as_secs()),
        Ok(Err(error)) => return Err(explain("Invoke", function, error)),
        Ok(Ok(answer)) => {
            let body: Option<serde_json::Value> = answer
                .payload()
                .and_then(|p| serde_json::from_slice(p.as_ref()).ok());
            let error_type = body
                .as_ref()
                .and_then(|b| b.get("errorType"))
                .and_then(|t| t.as_str());
            match (answer.function_error(), error_type) {
                (Some(kind), _) => format!(
                    "FunctionError: {kind}{}",
                    error_type.map(|t| format!(" ({t})")).unwrap_or_default()
                ),
                (None, Some(kind)) => format!(
                    "errorType: {kind}: {}",
                    body.as_ref()
                        .and_then(|b| b.get("errorMessage"))
                        .and_then(|m| m.as_str())
                        .unwrap_or("")
                ),
                (None, None) => "ok".to_string(),
            }
        }
    };
    Ok(Invocation {
        event,
        passed: outcome == "ok",
        outcome,
        seconds,
    })
}

/// Points the alias at `version` (with a canary split, or none), compare-and-set on the
/// alias's revision; returns its new revision.
#[allow(clippy::too_many_arguments)]
async fn set_alias(
    clients: &Clients,
    function: &str,
    alias: &str,
    version: &str,
    routing: Option<AliasRoutingConfiguration>,
    revision: Option<&str>,
    clock: &mut Clock,
) -> anyhow::Result<Option<String>> {
    let mut call = clients
        .lambda
        .update_alias()
        .function_name(function)
        .name(alias)
        .function_version(version)
        .routing_config(routing.unwrap_or_else(|| {
            AliasRoutingConfiguration::builder()
                .set_additional_version_weights(Some(Default::default()))
                .build()
        }));
    if let Some(revision) = revision {
        call = call.revision_id(revision);
    }
    match clock.api("UpdateAlias", call.send()).await {
        Ok(answer) => Ok(answer.revision_id().map(str::to_string)),
        Err(error) if error.code() == Some("PreconditionFailedException") => {
            Err(DeployRefusal::ConcurrentChange {
                function: function.to_string(),
                what: format!("alias {alias} was changed by someone else"),
            }
            .into())
        }
        Err(error) => Err(explain("UpdateAlias", function, error)),
    }
}

/// Returns traffic to what served before and restores `$LATEST`'s image; the published
/// version stays for inspection.
#[allow(clippy::too_many_arguments)]
async fn roll_back(
    clients: &Clients,
    result: &mut DeployResult,
    before: &Code,
    alias_revision: Option<&str>,
    failure: String,
    clock: &mut Clock,
    log: Log<'_>,
) -> anyhow::Result<()> {
    log(&format!("rolling back: {failure}"));
    let function = result.function.clone();
    if let Some(previous) = &result.previous_version {
        set_alias(
            clients,
            &function,
            &result.alias,
            previous,
            None,
            alias_revision,
            clock,
        )
        .await?;
        result.serving = previous.clone();
    }
    if let Some(image) = &before.image_uri {
        clock
            .api(
                "UpdateFunctionCode (restore)",
                clients
                    .lambda
                    .update_function_code()
                    .function_name(&function)
                    .image_uri(image)
                    .send(),
            )
            .await
            .map_err(|e| explain("UpdateFunctionCode", &function, e))?;
        wait_for_update(clients, &function, clock).await?;
    }
    log(&format!(
        "{function}:{} serves {}; version {} is left for inspection",
        result.alias,
        if result.serving.is_empty() {
            "nothing (it had no version before)"
        } else {
            &result.serving
        },
        result.version.as_deref().unwrap_or("?")
    ));
    result.status = DeployStatus::RolledBack;
    result.failure = Some(failure);
    Ok(())
}

fn describe_change(before: &Code, now: &Code) -> String {
    let mut changed = Vec::new();
    if before.image_uri != now.image_uri {
        changed.push(format!(
            "its image moved from {} to {}",
            before.image_uri.as_deref().unwrap_or("none"),
            now.image_uri.as_deref().unwrap_or("none")
        ));
    }
    if before.code_sha256 != now.code_sha256 {
        changed.push("its CodeSha256 changed".to_string());
    }
    if before.revision_id != now.revision_id {
        changed.push("its RevisionId changed".to_string());
    }
    changed.join(", ")
}

/// `90s`, `10m`, `1h`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: write e.g. `90s`, `10m` or `1h`"))?;
    let seconds = match unit {
        "s" => value,
        "m" => value * 60,
        "h" => value * 3600,
        _ => {
            return Err(format!(
                "`{text}` is not a duration: write e.g. `90s`, `10m` or `1h`"
            ))
        }
    };
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_session_name_names_the_build_as_sts_accepts_it() {
        assert_eq!(
            session_name(None, Some("jenkins-team/quote-main-42")),
            "jenkins-team-quote-main-42"
        );
        assert_eq!(session_name(Some("release 7"), Some("x")), "release-7");
        assert_eq!(session_name(None, None), "lambda-gate-deploy");
        assert_eq!(session_name(None, Some("  ")), "lambda-gate-deploy");
        let long = format!("jenkins-{}-1234", "a".repeat(80));
        let name = session_name(None, Some(&long));
        assert_eq!(name.len(), 64);
        assert!(name.ends_with("-1234"), "{name}");
        assert_eq!(session_name(Some("x"), None), "lambda-gate-x");
    }
    use super::*;

    #[test]
    fn durations_and_arns() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("ten minutes").is_err());
        assert!(parse_duration("5d").is_err());
        assert_eq!(
            region_of_arn("arn:aws:lambda:eu-west-1:123456789012:function:quote"),
            Some("eu-west-1".into())
        );
        assert_eq!(region_of_arn("quote"), None);
        assert_eq!(digest_of("h/p@sha256:ab"), Some("sha256:ab"));
    }
}
