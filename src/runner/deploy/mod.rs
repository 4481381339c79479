//! `lambda-gate deploy`: points a function at an image by digest, smoke-tests the published
//! version where it runs, then moves its alias at once or in steps (canary, linear) judged by
//! the new version's own metrics and the team's alarms, checks the alias after the last step,
//! and rolls back when any check fails. Without CodeDeploy, so without anyone watching when the
//! process is gone: every change is compare-and-set, nothing changes before every refusal has
//! been decided, an interruption (SIGINT, SIGTERM) or an error after the first change puts
//! traffic back before the process ends, and the alias carries an in-flight record that the
//! next deploy, `--status` and `--abort` read.

mod configuration;
mod image;
mod inflight;
mod judge;
mod lambda;
mod target;
pub mod trace;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use aws_sdk_lambda::types::{Architecture, PackageType};
use serde::Serialize;
use thiserror::Error;

use super::attest::verify::{self, Requirement, Shortfall, Verified};
use super::outcome::{Outcome, Refusal, Stop};
use super::promote::{self, ArchitectureDigest};
use super::reference::Reference;
use super::registry::{AnyRegistry, Connection};
use configuration::Configuration;
pub use inflight::InFlight;
use lambda::{AliasState, Code, Routing, Session};
pub(crate) use target::Clients;
pub use target::{session_name, Target, TargetChoice};

/// How traffic moves to the new version.
#[derive(Debug, Clone, PartialEq)]
pub enum Shift {
    /// All of it at once, after the version's smoke test.
    AllAtOnce,
    /// Each percent in turn (rising, each under 100), each for `bake`, then all of it: one
    /// step is a canary, several a linear shift.
    Steps { percents: Vec<f64>, bake: Duration },
}

impl Shift {
    /// A canary (`percent` for `bake`) or a linear shift (`10,25,50` or with a final `100`).
    pub fn steps(percents: &[f64], bake: Duration) -> Result<Shift, String> {
        let mut steps: Vec<f64> = percents.to_vec();
        if steps.last() == Some(&100.0) {
            steps.pop();
        }
        if steps.is_empty() {
            return Ok(Shift::AllAtOnce);
        }
        if let Some(bad) = steps.iter().find(|p| !(**p > 0.0 && **p < 100.0)) {
            return Err(format!(
                "step {bad}: each step takes more than 0 and less than 100 percent (the last step, 100, is implied)"
            ));
        }
        if steps.windows(2).any(|w| w[1] <= w[0]) {
            return Err(format!(
                "steps {steps:?}: each step must take more traffic than the one before"
            ));
        }
        Ok(Shift::Steps {
            percents: steps,
            bake,
        })
    }
}

/// A deploy past the usual checks during an incident: all at once, past alarms in ALARM, and
/// recorded with who, why and which build.
#[derive(Debug, Clone, Serialize)]
pub struct Emergency {
    pub reason: String,
    pub by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
}

impl std::fmt::Display for Emergency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "emergency deploy by {}", self.by)?;
        if let Some(build) = &self.build {
            write!(f, " ({build})")?;
        }
        write!(f, ": {}", self.reason)
    }
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
    /// Smoke-test events (JSON files), invoked on the new version before the alias moves and on
    /// the alias after the last step.
    pub events: Vec<PathBuf>,
    /// No events, on purpose: the environment's calls have side effects.
    pub side_effects: bool,
    pub shift: Shift,
    /// Alarms that judge the shift besides the version's own metrics; each must exist.
    pub alarms: Vec<String>,
    /// Invocations the new version must serve through the alias during the steps (0: none
    /// required; a step without traffic is then said, not silently passed).
    pub min_invocations: u64,
    pub record_ssm: Option<String>,
    /// The rung below on a promotion ladder: the digest must be what it serves now.
    pub below: Option<Below>,
    pub emergency: Option<Emergency>,
    pub connection: Connection,
    /// The environment takes only images with a signed gate verdict that meets this.
    pub attestation: Option<Requirement>,
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
    #[error("{function}:{alias} has a deploy in flight ({record}): wait for it, or if its process is gone, `lambda-gate deploy --abort {function} --alias {alias}` puts all traffic back on version {serving}")]
    InFlight {
        function: String,
        alias: String,
        record: String,
        serving: String,
    },
    #[error("{environment} only takes what {below} runs: {below}'s {function}:{alias} serves {serving}, not {wanted}. Deploy {wanted} to {below} first")]
    Ladder {
        environment: String,
        below: String,
        function: String,
        alias: String,
        serving: String,
        wanted: String,
    },
    #[error("no smoke-test events: pass --event FILE, or run where events/*.json (or events/<environment>/*.json) are; for an environment whose calls have side effects, set `side-effects = true` in its policy")]
    NoEvents,
    #[error("no alarm named {} exists in {region} (as a metric or composite alarm): the shift would be watched by nothing. Check the names", missing.join(", "))]
    UnknownAlarms {
        missing: Vec<String>,
        region: String,
    },
    #[error("{function}:{alias}'s provisioned concurrency ({requested}) is {status}{}: a shift now would judge a version that is not warm. Deploy once it is READY (`aws lambda get-provisioned-concurrency-config --function-name {function} --qualifier {alias}`)", reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    ProvisionedNotReady {
        function: String,
        alias: String,
        requested: i32,
        status: String,
        reason: Option<String>,
    },
    #[error("{shortfall}. Nothing was changed. (Break-glass: `--emergency \"REASON\"` deploys it anyway, recorded.)")]
    NotAttested { shortfall: Shortfall },
    #[error("alarm {} already in ALARM: the new version could not be judged by it. Deploy once it is OK again, or during an incident `--emergency \"REASON\"` deploys all at once past it (recorded)", .0.join(", "))]
    AlarmBeforeStart(Vec<String>),
}

/// One invocation of the published version (or of the alias, after the last step).
#[derive(Debug, Clone, Serialize)]
pub struct Invocation {
    pub event: String,
    /// The version, or the alias for the check after the last step.
    pub qualifier: String,
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

/// How the traffic moved in steps, and what judged it.
#[derive(Debug, Clone, Serialize)]
pub struct ShiftReport {
    /// The percents of the steps taken (the last 100 not listed).
    pub steps: Vec<f64>,
    pub bake_seconds: f64,
    pub alarms: Vec<String>,
    /// The new version's invocations and errors through the alias during the steps.
    pub invocations: f64,
    pub errors: f64,
    /// Said when the steps passed without traffic to judge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a deploy did to the alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployStatus {
    /// The alias serves the new version.
    Deployed,
    /// The alias already served this image: nothing was changed.
    Unchanged,
    /// A check failed or the deploy was interrupted: traffic is back where it was (exit 1).
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
    /// The configuration changes (of `$LATEST` since the alias's version) this deploy
    /// publishes; the whole change when the image is the same.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configuration: Vec<String>,
    /// The provisioned concurrency on the alias, moved with it and waited for after each move.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioned_concurrency: Option<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub smoke: Vec<Invocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shift: Option<ShiftReport>,
    /// The invocations of the alias after the last step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub after_shift: Vec<Invocation>,
    /// Why it rolled back: the event, metric, alarm or signal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emergency: Option<Emergency>,
    /// The signed verdict the environment required, as checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation: Option<AttestationCheck>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ssm_parameters: Vec<String>,
    pub timings: Timings,
}

impl DeployResult {
    /// What the alias serves now, in words.
    pub fn describe_serving(&self) -> String {
        if self.serving.is_empty() {
            "nothing (it had no version before)".into()
        } else {
            format!("version {}", self.serving)
        }
    }
}

pub type Log<'a> = &'a mut (dyn FnMut(&str) + Send);

/// Everything read before the first change, and every refusal decided.
struct Plan {
    architecture: String,
    before: Code,
    child: String,
    image_uri: String,
    /// The alias as it was (`None`: the first deploy creates it).
    alias: Option<AliasState>,
    events: Vec<(PathBuf, Vec<u8>)>,
    /// `$LATEST` runs another image: update it (else only its configuration is published).
    update_code: bool,
    /// The configuration changes published with it.
    configuration: Vec<String>,
    /// The provisioned concurrency on the alias.
    provisioned: Option<i32>,
    attestation: Option<AttestationCheck>,
}

/// What a deploy found of the image's signed verdict, where its environment requires one.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum AttestationCheck {
    Verified(Box<Verified>),
    /// `--emergency` deployed an image whose verdict fell short; why, as it was told.
    Bypassed {
        shortfall: String,
    },
}

impl AttestationCheck {
    /// What the published version's description carries: the verdict's envelope digest.
    fn stamp(&self) -> String {
        match self {
            AttestationCheck::Verified(verified) => format!("verdict {}", verified.envelope),
            AttestationCheck::Bypassed { .. } => "verdict none (emergency)".to_string(),
        }
    }
}

/// What has been changed so far: what a rollback must undo.
#[derive(Default)]
struct Changed {
    /// The alias's revision after this deploy's last write to it.
    alias_revision: Option<String>,
    /// This deploy has written the alias (its in-flight record, a split, the new version).
    alias: bool,
    /// `$LATEST` was pointed at the new image.
    code: bool,
}

/// Why the change phase stopped before the end.
enum Halt {
    /// A check of the new version failed: roll back, exit 1.
    Check(String),
    /// SIGINT or SIGTERM: roll back, exit 1.
    Signal(&'static str),
    /// An error or refusal of the machinery after the first change: roll back, then report it.
    Stopped(Stop),
}

impl From<Stop> for Halt {
    fn from(stop: Stop) -> Self {
        Halt::Stopped(stop)
    }
}

impl From<anyhow::Error> for Halt {
    fn from(error: anyhow::Error) -> Self {
        Halt::Stopped(Stop::Failed(error))
    }
}

pub async fn deploy(request: &DeployRequest, log: Log<'_>) -> Outcome<DeployResult> {
    let Some(wanted) = request.image.digest.clone() else {
        return Err(anyhow::anyhow!(
            "--image {}: deploy takes an image by digest (`host/path@sha256:…`), never a tag",
            request.image
        )
        .into());
    };
    let mut session = Session::connect(&request.target, log).await?;
    let plan = match plan(&mut session, request, &wanted).await? {
        Planned::Unchanged(result) => return Ok(*result),
        Planned::Change(plan) => plan,
    };
    let mut result = DeployResult {
        function: request.target.function.clone(),
        alias: request.target.alias.clone(),
        status: DeployStatus::Deployed,
        architecture: plan.architecture.clone(),
        digest: plan.child.clone(),
        image_uri: plan.image_uri.clone(),
        version: None,
        previous_version: plan.alias.as_ref().map(|a| a.version.clone()),
        serving: plan
            .alias
            .as_ref()
            .map(|a| a.version.clone())
            .unwrap_or_default(),
        configuration: plan.configuration.clone(),
        provisioned_concurrency: plan.provisioned,
        smoke: Vec::new(),
        shift: None,
        after_shift: Vec::new(),
        failure: None,
        emergency: request.emergency.clone(),
        attestation: plan.attestation.clone(),
        ssm_parameters: Vec::new(),
        timings: Timings::default(),
    };
    let mut changed = Changed {
        alias_revision: plan.alias.as_ref().and_then(|a| a.revision.clone()),
        ..Changed::default()
    };

    // From the first change on, nothing leaves traffic split: a signal or an error stops the
    // work where it is (the pending call is dropped), and traffic goes back before returning.
    let halted = {
        let work = change(&mut session, request, &plan, &mut result, &mut changed);
        tokio::select! {
            outcome = work => outcome.err(),
            signal = interrupted() => Some(Halt::Signal(signal)),
        }
    };
    let Some(halt) = halted else {
        result.timings = std::mem::take(&mut session.clock.timings);
        return Ok(result);
    };
    if let Halt::Stopped(Stop::Refused(Refusal::Deploy(DeployRefusal::ConcurrentChange {
        ..
    }))) = &halt
    {
        // Someone else changed the function or the alias: theirs stands. Only this deploy's own
        // record comes off the alias, and only while the alias is as this deploy left it.
        if changed.alias {
            release_record(&mut session, &plan).await;
        }
        if let Halt::Stopped(stop) = halt {
            return Err(stop);
        }
    }
    let reason = match &halt {
        Halt::Check(failure) => failure.clone(),
        Halt::Signal(signal) => format!("interrupted by {signal}"),
        Halt::Stopped(Stop::Refused(refusal)) => refusal.to_string(),
        Halt::Stopped(Stop::Failed(error)) => format!("{error:#}"),
    };
    if let Halt::Signal(signal) = &halt {
        session.say(&format!(
            "{signal}: putting traffic back before exiting (a second signal is ignored until done)"
        ));
    }
    // The rollback runs to its end whatever signals come; each call is short.
    let rolled = roll_back(&mut session, &plan, &mut result, &changed, &reason).await;
    result.timings = std::mem::take(&mut session.clock.timings);
    match (rolled, halt) {
        (Ok(()), Halt::Stopped(Stop::Failed(error))) => Err(Stop::Failed(error.context(format!(
            "the deploy stopped after its first change; {}:{} serves {} again",
            result.function,
            result.alias,
            result.describe_serving()
        )))),
        (Ok(()), _) => Err(Refusal::RolledBack(Box::new(result)).into()),
        (Err(RollbackFailure::Alias(error)), _) => Err(Stop::Failed(anyhow::anyhow!(
            "{reason}; and putting traffic back failed: {error:#}. Now {}:{} may still split traffic to version {}: finish with `lambda-gate deploy --abort {} --alias {}{}`",
            result.function,
            result.alias,
            result.version.as_deref().unwrap_or("?"),
            result.function,
            result.alias,
            request
                .target
                .region
                .as_deref()
                .map(|r| format!(" --region {r}"))
                .unwrap_or_default()
        ))),
        (Err(RollbackFailure::Latest(error)), _) => Err(Stop::Failed(anyhow::anyhow!(
            "{reason}; traffic is back: {}:{} serves {}; restoring $LATEST's previous image {} failed: {error:#}. $LATEST serves no alias traffic; the next deploy updates it",
            result.function,
            result.alias,
            result.describe_serving(),
            plan.before.image_uri.as_deref().unwrap_or("(none)")
        ))),
    }
}

/// Which part of a rollback failed: the traffic, or only `$LATEST`'s image.
enum RollbackFailure {
    Alias(anyhow::Error),
    Latest(anyhow::Error),
}

/// The first SIGINT or SIGTERM.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // No signal handling to be had: never resolves, the work decides.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

enum Planned {
    Unchanged(Box<DeployResult>),
    Change(Box<Plan>),
}

/// 1. Reads everything and decides every refusal before anything changes.
async fn plan(
    session: &mut Session<'_>,
    request: &DeployRequest,
    wanted: &str,
) -> Outcome<Planned> {
    let function = session.function();
    let read = session.get_function(None, "GetFunction").await?;
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
        .unwrap_or(Architecture::X8664)
        .as_str()
        .to_string();
    let before = Code::read(&read);
    let latest_configuration = Configuration::read(configuration);

    let registry = AnyRegistry::connect(&request.image, &request.connection).await?;
    let child =
        image::child_for(&registry, &request.image, wanted, function, &architecture).await?;
    let image_uri = format!(
        "{}/{}@{}",
        request.image.registry, request.image.repository, child
    );
    session.say(&format!("{function} ({architecture}): {image_uri}"));

    if let Some(below) = &request.below {
        let serving = serving_digest(&below.target).await?;
        let index_children = image::index_children(&registry, &request.image, wanted).await?;
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
                wanted: wanted.to_string(),
            }
            .into());
        }
    }
    let attestation = match &request.attestation {
        Some(requirement) => {
            Some(check_attestation(session, request, &registry, &child, requirement).await?)
        }
        None => None,
    };

    let alias = session.alias("GetAlias").await?;
    let mut configuration_changes = Vec::new();
    let mut provisioned = None;
    let mut provisioned_not_ready = None;
    if let Some(alias) = &alias {
        if let Some(record) = InFlight::parse(&alias.description) {
            return Err(DeployRefusal::InFlight {
                function: function.to_string(),
                alias: session.target.alias.clone(),
                record: record.to_string(),
                serving: alias.version.clone(),
            }
            .into());
        }
        if let Some(config) = session
            .provisioned(
                &session.target.alias.clone(),
                "GetProvisionedConcurrencyConfig",
            )
            .await?
        {
            provisioned = Some(config.requested);
            if config.status != "READY" {
                // Decided once it is known that something changes: a deploy of what the
                // alias already serves stays a no-op whatever the allocation is doing.
                provisioned_not_ready = Some(DeployRefusal::ProvisionedNotReady {
                    function: function.to_string(),
                    alias: session.target.alias.clone(),
                    requested: config.requested,
                    status: config.status,
                    reason: config.reason,
                });
            }
        }
        if !alias.is_split() {
            let served = session
                .get_function(Some(&alias.version), "GetFunction (alias version)")
                .await?;
            configuration_changes = served
                .configuration()
                .map(|c| latest_configuration.changes_since(&Configuration::read(c)))
                .unwrap_or_default();
            if !configuration_changes.is_empty() {
                session.say(&format!(
                    "{function}'s configuration changed since version {}: {}; the deploy publishes it",
                    alias.version,
                    configuration_changes.join(", ")
                ));
            }
            let same_image = Code::read(&served).digest() == Some(child.as_str());
            if same_image && configuration_changes.is_empty() {
                session.say(&format!(
                    "{function}:{} already serves {child}: nothing to do",
                    session.target.alias
                ));
                return Ok(Planned::Unchanged(Box::new(DeployResult {
                    function: function.to_string(),
                    alias: session.target.alias.clone(),
                    status: DeployStatus::Unchanged,
                    architecture,
                    digest: child,
                    image_uri,
                    version: None,
                    serving: alias.version.clone(),
                    previous_version: Some(alias.version.clone()),
                    configuration: Vec::new(),
                    provisioned_concurrency: provisioned,
                    smoke: Vec::new(),
                    shift: None,
                    after_shift: Vec::new(),
                    failure: None,
                    emergency: None,
                    attestation,
                    ssm_parameters: Vec::new(),
                    timings: std::mem::take(&mut session.clock.timings),
                })));
            }
        }
    }
    if let Some(refusal) = provisioned_not_ready {
        match &request.emergency {
            None => return Err(refusal.into()),
            // Break-glass: the hotfix may be what the allocation needs; it is waited for after
            // the move like any other.
            Some(_) => session.say(&format!("emergency: going ahead although {refusal}")),
        }
    }
    if request.events.is_empty() && !request.side_effects && request.emergency.is_none() {
        return Err(DeployRefusal::NoEvents.into());
    }
    let events = read_events(&request.events)?;
    if request.emergency.is_none() {
        let firing = judge::check_named(session, &request.alarms).await?;
        if !firing.is_empty() {
            return Err(DeployRefusal::AlarmBeforeStart(firing).into());
        }
    }
    if let Some(emergency) = &request.emergency {
        // Recorded before any change: if the record cannot be written, nothing is deployed.
        let parameter = emergency_parameter(request, session.target);
        write_emergency(session, &parameter, emergency, &image_uri).await?;
        session.say(&format!("{emergency}: recorded in SSM {parameter}"));
    }
    let update_code = before.digest() != Some(child.as_str());
    Ok(Planned::Change(Box::new(Plan {
        architecture,
        before,
        child,
        image_uri,
        alias,
        events,
        update_code,
        configuration: configuration_changes,
        provisioned,
        attestation,
    })))
}

/// The image's signed verdict against the environment's requirement: verified, refused, or
/// (with `--emergency`) let through and said so.
async fn check_attestation(
    session: &mut Session<'_>,
    request: &DeployRequest,
    registry: &AnyRegistry,
    child: &str,
    requirement: &Requirement,
) -> Outcome<AttestationCheck> {
    let found = verify::verify(registry, &request.image.repository, child, requirement).await?;
    match (found, &request.emergency) {
        (Ok(verified), _) => {
            session.say(&format!(
                "attested: the gate passed {} under {}'s policy {} (commit {}), signed by {}",
                child,
                requirement.environment,
                verified.verdict.policy.digest,
                verified.verdict.commit.as_deref().unwrap_or("unknown"),
                verified.key_id
            ));
            Ok(AttestationCheck::Verified(Box::new(verified)))
        }
        (Err(shortfall), None) => Err(DeployRefusal::NotAttested { shortfall }.into()),
        (Err(shortfall), Some(_)) => {
            session.say(&format!("emergency: going ahead although {shortfall}"));
            Ok(AttestationCheck::Bypassed {
                shortfall: shortfall.to_string(),
            })
        }
    }
}

/// Where an emergency deploy is recorded in SSM: beside the environment's recorded image, or
/// under the publisher role's default path.
fn emergency_parameter(request: &DeployRequest, target: &Target) -> String {
    match &request.record_ssm {
        Some(parameter) => format!("{}/emergency", parameter.trim_end_matches('/')),
        None => format!("/lambda/{}/emergency", target.function_name()),
    }
}

async fn write_emergency(
    session: &mut Session<'_>,
    parameter: &str,
    emergency: &Emergency,
    image_uri: &str,
) -> anyhow::Result<()> {
    let value = serde_json::json!({
        "reason": emergency.reason,
        "by": emergency.by,
        "build": emergency.build,
        "image": image_uri,
        "function": session.target.function,
        "alias": session.target.alias,
        "at": now_text(),
    })
    .to_string();
    let call = session
        .clients
        .ssm
        .put_parameter()
        .name(parameter)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send();
    session
        .clock
        .api("PutParameter (emergency)", call)
        .await
        .map_err(|e| crate::runner::aws_error::explain("PutParameter", e))
        .with_context(|| format!("recording the emergency deploy in SSM {parameter}"))?;
    Ok(())
}

fn now_text() -> String {
    aws_sdk_lambda::primitives::DateTime::from(SystemTime::now())
        .fmt(aws_sdk_lambda::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default()
}

/// 2–5. The changes: in-flight record, update, publish, smoke, shift, check, record.
async fn change(
    session: &mut Session<'_>,
    request: &DeployRequest,
    plan: &Plan,
    result: &mut DeployResult,
    changed: &mut Changed,
) -> Result<(), Halt> {
    let function = session.function();
    let mut record = InFlight {
        by: session.target.session_name.clone(),
        since: now_text(),
        version: None,
        was: plan
            .alias
            .as_ref()
            .map(|a| a.description.clone())
            .unwrap_or_default(),
    };
    // The in-flight record: the lock a second deploy reads (compare-and-set on the alias).
    if let Some(alias) = &plan.alias {
        changed.alias_revision = session
            .set_alias(
                &alias.version,
                Routing::All,
                &record.description(),
                changed.alias_revision.as_deref(),
            )
            .await?;
        changed.alias = true;
    }

    // $LATEST by digest, compare-and-set on what was read: its code must be as planned; the
    // update and the publish then go by the revision read now (a configuration change since
    // the plan is published with it, as it would be a moment later).
    let now = session
        .get_function(None, "GetFunction (before update)")
        .await?;
    let current = Code::read(&now);
    if !current.same_code(&plan.before) {
        return Err(Stop::from(DeployRefusal::ConcurrentChange {
            function: function.to_string(),
            what: plan.before.describe_change(&current),
        })
        .into());
    }
    let updated = if plan.update_code {
        session.say(&format!("updating {function} to {}", plan.child));
        changed.code = true;
        session
            .update_code(&plan.image_uri, current.revision_id.as_deref())
            .await?;
        session.wait_for_update().await?
    } else {
        session.say(&format!(
            "{function}'s $LATEST already runs {}: publishing it as it is",
            plan.child
        ));
        current
    };
    if updated.digest() != Some(plan.child.as_str()) {
        return Err(Stop::from(DeployRefusal::ConcurrentChange {
            function: function.to_string(),
            what: format!(
                "after the update it runs {}, not {}",
                updated.image_uri.as_deref().unwrap_or("no image"),
                plan.image_uri
            ),
        })
        .into());
    }
    let description = match &request.emergency {
        Some(emergency) => emergency.to_string(),
        None if plan.configuration.is_empty() => {
            format!("lambda-gate deploy by {}", session.target.session_name)
        }
        None => format!(
            "lambda-gate deploy by {} (configuration: {})",
            session.target.session_name,
            plan.configuration.join(", ")
        ),
    };
    // The verdict first: a long description is cut at its end, never the stamp.
    let description = match &plan.attestation {
        Some(check) => format!("{}; {description}", check.stamp()),
        None => description,
    };
    let description = truncate(&description, 256);
    let version = session.publish(&updated, &description).await?;
    session.say(&format!("published {function}:{version}"));
    result.version = Some(version.clone());
    record.version = Some(version.clone());

    // The version, where it runs, before any traffic.
    invoke_each(
        session,
        &version,
        &plan.events,
        &mut result.smoke,
        |path, outcome| format!("smoke test with {} failed: {outcome}", path.display()),
    )
    .await?;

    // The traffic: in steps watched by the version's metrics and the named alarms, then all.
    let shift = match (&request.emergency, &request.shift, &plan.alias) {
        (Some(_), Shift::Steps { .. }, _) => {
            session.say("emergency: all traffic at once, no steps");
            &Shift::AllAtOnce
        }
        (_, Shift::Steps { .. }, Some(alias)) if alias.version == version => {
            session.say(&format!(
                "{function}:{} already has version {version} as its main version: no steps",
                session.target.alias
            ));
            &Shift::AllAtOnce
        }
        (None, Shift::Steps { .. }, None) => {
            session.say(&format!(
                "{function}:{} serves no version yet: the first deploy moves it at once",
                session.target.alias
            ));
            &Shift::AllAtOnce
        }
        (_, shift, _) => shift,
    };
    if let (Shift::Steps { percents, bake }, Some(alias)) = (shift, &plan.alias) {
        let steps = Steps {
            previous: &alias.version,
            version: &version,
            percents,
            bake: *bake,
            record: &record,
            provisioned: plan.provisioned,
        };
        step_through(session, request, &steps, result, changed).await?;
    }
    match &plan.alias {
        Some(alias) => {
            changed.alias_revision = session
                .set_alias(
                    &version,
                    Routing::All,
                    &alias.description,
                    changed.alias_revision.as_deref(),
                )
                .await?;
            provisioned_follows(session, plan.provisioned, &version).await?;
        }
        None => session.create_alias(&version).await?,
    }
    session.say(&format!(
        "{function}:{} serves version {version}",
        session.target.alias
    ));
    result.serving = version.clone();

    // After the last step: the alias itself answers. Only when there is a version to go back to.
    if plan.alias.is_some() {
        let alias = &session.target.alias;
        invoke_each(
            session,
            alias,
            &plan.events,
            &mut result.after_shift,
            |path, outcome| {
                format!(
                    "the check of {function}:{alias} after the shift with {} failed: {outcome}",
                    path.display()
                )
            },
        )
        .await?;
    }

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
        result.ssm_parameters =
            promote::record_ssm(&session.clients.ssm, parameter, &platforms).await?;
    }
    Ok(())
}

/// Invokes `qualifier` (a version, or the alias) with each event, keeping every invocation in
/// `into`; the first that fails ends it, in the words `failure` gives it.
async fn invoke_each(
    session: &mut Session<'_>,
    qualifier: &str,
    events: &[(PathBuf, Vec<u8>)],
    into: &mut Vec<Invocation>,
    failure: impl Fn(&std::path::Path, &str) -> String,
) -> Result<(), Halt> {
    for (path, payload) in events {
        let invocation = session.invoke(qualifier, path, payload).await?;
        session.say(&format!(
            "smoke {}:{qualifier} with {}: {}",
            session.function(),
            invocation.event,
            invocation.outcome
        ));
        let failed = (!invocation.passed).then(|| failure(path, &invocation.outcome));
        into.push(invocation);
        if let Some(failure) = failed {
            return Err(Halt::Check(failure));
        }
    }
    Ok(())
}

fn truncate(text: &str, limit: usize) -> String {
    let mut end = text.len().min(limit);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// A shift in steps, from the version the alias serves to the one just published.
struct Steps<'a> {
    previous: &'a str,
    version: &'a str,
    percents: &'a [f64],
    bake: Duration,
    record: &'a InFlight,
    provisioned: Option<i32>,
}

/// After the alias moved: Lambda moves its provisioned concurrency with it (to the new version,
/// or shared by the weights). The version is judged once it is allocated; an allocation that
/// fails (the version cannot initialise) is a failed check.
async fn provisioned_follows(
    session: &mut Session<'_>,
    provisioned: Option<i32>,
    version: &str,
) -> Result<(), Halt> {
    let Some(requested) = provisioned else {
        return Ok(());
    };
    session.say(&format!(
        "waiting for {}:{}'s provisioned concurrency ({requested}) to follow",
        session.function(),
        session.target.alias
    ));
    match session.wait_provisioned().await? {
        None => Ok(()),
        Some(failed) => Err(Halt::Check(format!(
            "provisioned concurrency ({requested}) on {}:{} could not be allocated with version {version}: {}{}",
            session.function(),
            session.target.alias,
            failed.status,
            failed
                .reason
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ))),
    }
}

/// The steps of a shift: each percent for `bake`, polling the named alarms and the new
/// version's metrics; the report goes into `result` as it grows, a failed judge ends it.
async fn step_through(
    session: &mut Session<'_>,
    request: &DeployRequest,
    steps: &Steps<'_>,
    result: &mut DeployResult,
    changed: &mut Changed,
) -> Result<(), Halt> {
    let function = session.function();
    let version = steps.version;
    let report = result.shift.insert(ShiftReport {
        steps: Vec::new(),
        bake_seconds: steps.bake.as_secs_f64(),
        alarms: request.alarms.clone(),
        invocations: 0.0,
        errors: 0.0,
        note: None,
    });
    let since = SystemTime::now();
    let poll = (steps.bake / 10).clamp(Duration::from_secs(1), Duration::from_secs(15));
    for percent in steps.percents {
        session.say(&format!(
            "{percent}% of {function}:{} to version {version} for {}s, judged by its own errors{}",
            session.target.alias,
            steps.bake.as_secs(),
            if request.alarms.is_empty() {
                String::new()
            } else {
                format!(" and {}", request.alarms.join(", "))
            }
        ));
        changed.alias_revision = session
            .set_alias(
                steps.previous,
                Routing::Share {
                    version,
                    percent: *percent,
                },
                &steps.record.description(),
                changed.alias_revision.as_deref(),
            )
            .await?;
        report.steps.push(*percent);
        provisioned_follows(session, steps.provisioned, version).await?;
        let baking = Instant::now();
        loop {
            let firing = judge::check_named(session, &request.alarms).await?;
            if let Some(alarm) = firing.first() {
                return Err(Halt::Check(format!(
                    "alarm {alarm} went into ALARM during the shift"
                )));
            }
            let health = judge::health(session, version, since).await?;
            report.invocations = health.invocations;
            report.errors = health.errors;
            if health.errors > 0.0 {
                return Err(Halt::Check(format!(
                    "version {version} had {} errors in {} invocations through {function}:{} during the shift",
                    health.errors, health.invocations, session.target.alias
                )));
            }
            let elapsed = baking.elapsed();
            if elapsed >= steps.bake {
                break;
            }
            session
                .clock
                .wait("bake", poll.min(steps.bake - elapsed))
                .await;
        }
    }
    let served = report.invocations as u64;
    if served < request.min_invocations {
        return Err(Halt::Check(format!(
            "only {served} invocations reached version {version} through the alias during the shift; the policy asks for {}",
            request.min_invocations
        )));
    }
    if served == 0 {
        let note = format!(
            "no traffic reached version {version} during the shift: it was judged by its smoke test only"
        );
        session.say(&note);
        report.note = Some(note);
    }
    Ok(())
}

/// Puts traffic back on what served before, restores `$LATEST`'s image, and clears the
/// in-flight record; the published version stays for inspection.
async fn roll_back(
    session: &mut Session<'_>,
    plan: &Plan,
    result: &mut DeployResult,
    changed: &Changed,
    failure: &str,
) -> Result<(), RollbackFailure> {
    session.say(&format!("rolling back: {failure}"));
    let function = session.function();
    result.status = DeployStatus::RolledBack;
    result.failure = Some(failure.to_string());
    // Traffic first: one call, after which nothing serves the new version.
    if let Some(alias) = &plan.alias {
        if changed.alias {
            session
                .set_alias(
                    &alias.version,
                    Routing::All,
                    &alias.description,
                    changed.alias_revision.as_deref(),
                )
                .await
                .map_err(|stop| RollbackFailure::Alias(stop.into_error()))?;
        }
        result.serving = alias.version.clone();
    }
    if changed.code {
        if let Some(image) = &plan.before.image_uri {
            // Interrupted while its own update was landing: Lambda takes no other until it has.
            async {
                session.settle().await?;
                session
                    .update_code(image, None)
                    .await
                    .map_err(Stop::into_error)?;
                session.wait_for_update().await
            }
            .await
            .map_err(RollbackFailure::Latest)?;
        }
    }
    session.say(&format!(
        "{function}:{} serves {}; version {} is left for inspection",
        result.alias,
        result.describe_serving(),
        result.version.as_deref().unwrap_or("(none published)")
    ));
    Ok(())
}

/// Takes this deploy's in-flight record off the alias when the alias still carries it on the
/// version it served before; anything else on the alias is someone else's and stays.
async fn release_record(session: &mut Session<'_>, plan: &Plan) {
    let Some(before) = &plan.alias else { return };
    let Ok(Some(now)) = session.alias("GetAlias (release)").await else {
        return;
    };
    let ours = InFlight::parse(&now.description)
        .is_some_and(|r| r.by == session.target.session_name && now.version == before.version);
    if ours && !now.is_split() {
        let _ = session
            .set_alias(
                &before.version,
                Routing::All,
                &before.description,
                now.revision.as_deref(),
            )
            .await;
    }
}

/// The image digest `target`'s alias serves now (its main version), read from the function.
async fn serving_digest(target: &Target) -> anyhow::Result<Option<String>> {
    let mut quiet = |_: &str| {};
    let mut session = Session::connect(target, &mut quiet).await?;
    let Some(alias) = session.alias("GetAlias (rung below)").await? else {
        return Ok(None);
    };
    let served = session
        .get_function(Some(&alias.version), "GetFunction (rung below)")
        .await?;
    Ok(Code::read(&served).digest().map(str::to_string))
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

/// What an alias serves now, and whether a deploy is in flight on it.
#[derive(Debug, Clone, Serialize)]
pub struct AliasStatus {
    pub function: String,
    pub alias: String,
    /// `None`: the alias does not exist.
    pub version: Option<String>,
    pub image_uri: Option<String>,
    /// Versions given a share of the traffic, with their percent.
    pub split: Vec<(String, f64)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<InFlight>,
}

/// `deploy --status`.
pub async fn status(target: &Target) -> anyhow::Result<AliasStatus> {
    let mut quiet = |_: &str| {};
    let mut session = Session::connect(target, &mut quiet).await?;
    let alias = session.alias("GetAlias").await?;
    let image_uri = match &alias {
        Some(alias) => {
            Code::read(
                &session
                    .get_function(Some(&alias.version), "GetFunction (alias version)")
                    .await?,
            )
            .image_uri
        }
        None => None,
    };
    Ok(AliasStatus {
        function: target.function.clone(),
        alias: target.alias.clone(),
        version: alias.as_ref().map(|a| a.version.clone()),
        image_uri,
        split: alias
            .as_ref()
            .map(|a| {
                a.weights
                    .iter()
                    .map(|(v, w)| (v.clone(), (w * 1000.0).round() / 10.0))
                    .collect()
            })
            .unwrap_or_default(),
        in_flight: alias.as_ref().and_then(|a| InFlight::parse(&a.description)),
    })
}

/// `deploy --abort`: all traffic back on the alias's main version, the in-flight record
/// cleared (its saved description restored). For a deploy whose process is gone.
pub async fn abort(target: &Target, log: Log<'_>) -> Outcome<AliasStatus> {
    let mut session = Session::connect(target, log).await?;
    let function = target.function.clone();
    let Some(alias) = session.alias("GetAlias").await? else {
        return Err(anyhow::anyhow!("{function} has no alias {}", target.alias).into());
    };
    let record = InFlight::parse(&alias.description);
    if !alias.is_split() && record.is_none() {
        session.say(&format!(
            "{function}:{} serves version {} with no deploy in flight: nothing to abort",
            target.alias, alias.version
        ));
    } else {
        let description = record
            .as_ref()
            .map_or(alias.description.clone(), |r| r.was.clone());
        session
            .set_alias(
                &alias.version,
                Routing::All,
                &description,
                alias.revision.as_deref(),
            )
            .await?;
        session.say(&format!(
            "{function}:{}: all traffic on version {}{}",
            target.alias,
            alias.version,
            record
                .map(|r| format!("; cleared the in-flight record ({r})"))
                .unwrap_or_default()
        ));
    }
    Ok(status(target).await?)
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
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("ten minutes").is_err());
        assert!(parse_duration("5d").is_err());
    }

    #[test]
    fn steps_rise_below_100_and_a_final_100_is_implied() {
        let bake = Duration::from_secs(60);
        assert_eq!(
            Shift::steps(&[10.0, 25.0, 50.0, 100.0], bake),
            Ok(Shift::Steps {
                percents: vec![10.0, 25.0, 50.0],
                bake
            })
        );
        assert_eq!(Shift::steps(&[100.0], bake), Ok(Shift::AllAtOnce));
        assert!(Shift::steps(&[50.0, 25.0], bake).is_err());
        assert!(Shift::steps(&[0.0], bake).is_err());
        assert!(Shift::steps(&[120.0], bake).is_err());
    }

    #[test]
    fn an_emergency_says_who_why_and_which_build() {
        let emergency = Emergency {
            reason: "INC-42: orders failing".into(),
            by: "alice".into(),
            build: Some("jenkins-quote-7".into()),
        };
        assert_eq!(
            emergency.to_string(),
            "emergency deploy by alice (jenkins-quote-7): INC-42: orders failing"
        );
        assert_eq!(truncate("héllo", 2), "h");
    }
}
