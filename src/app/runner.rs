//! The runner's commands: the command line's arguments turned into the runner's requests, the
//! gate first where it applies, one tokio runtime, progress on stderr, the result on stdout
//! (human or JSON), and the documented exit code, decided in one place ([`finish`]) from the
//! worker's typed outcome.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};

use super::{EXIT_CLEAN, EXIT_ERROR, EXIT_VIOLATIONS};
use crate::check::{check, CheckOptions};
use crate::cli::{
    BuildArgs, BuilderArg, DeployArgs, DevImagePullArgs, FleetArgs, PipelineArgs, PromoteArgs,
    PushArgs, RunnerFormat, SmokeArgs, TraceArgs, VerifyArgs,
};
use crate::policy::BuilderChoice;
use crate::report::{self, Format, RenderOptions};
use crate::runner::attest::statement::{GateIdentity, PolicyIdentity, Verdict};
use crate::runner::attest::{self, Signer};
use crate::runner::build::{self, BuildRequest, BuildResult, PushSigning, Signing};
use crate::runner::buildkit::BuildSecret;
use crate::runner::deploy::trace::{Trace, TraceRequest, VerdictLink};
use crate::runner::deploy::{
    self, AliasStatus, DeployRequest, DeployResult, Emergency, Shift, Target, TargetChoice,
};
use crate::runner::outcome::{Outcome, Refusal, Stop};
use crate::runner::pipeline::{self, PipelineRequest};
use crate::runner::promote::{self, PromoteRequest, Source};
use crate::runner::reference::{Backend, Reference};
use crate::runner::registry::{self, AnyRegistry, Connection};
use crate::runner::{engine, parse_platforms, runtime, smoke, Platform};
use crate::sweep::report::{DeployedRecord, DeployedVersion};

/// Runs the gate on `project`, printing its findings to stderr; true when it passed.
pub fn gate(project: &Path) -> anyhow::Result<bool> {
    Ok(gate_verdict(project, None)?.passed())
}

/// Runs the gate on `project`, printing its findings to stderr: its verdict, as a build
/// attests it (the build fills in what it read and the commit).
pub fn gate_verdict(project: &Path, config: Option<&Path>) -> anyhow::Result<Verdict> {
    let result = check(&CheckOptions {
        paths: vec![project.to_path_buf()],
        config: config.map(Path::to_path_buf),
        ..Default::default()
    })?;
    if !result.passed() || !result.diagnostics.is_empty() {
        let mut err = std::io::stderr().lock();
        report::render(
            Format::Human,
            &result,
            RenderOptions {
                color: std::io::stderr().is_terminal(),
                deterministic: false,
            },
            &mut err,
        )?;
    }
    if result.lambdas() == 0 {
        bail!(
            "{}: the gate found no Lambda project here",
            project.display()
        );
    }
    let config = crate::policy::load(project, None, false)?;
    let mut counts: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for diagnostic in &result.diagnostics {
        let family = crate::rules::registry::find(diagnostic.rule)
            .map_or("core", |rule| rule.family.as_str());
        *counts
            .entry(family.to_string())
            .or_default()
            .entry(diagnostic.severity.as_str().to_string())
            .or_default() += 1;
    }
    Ok(Verdict {
        result: if result.passed() { "passed" } else { "failed" }.to_string(),
        gate: GateIdentity::this(),
        policy: PolicyIdentity {
            digest: config.gate_digest(),
            source: config.source.as_ref().map_or_else(
                || "embedded".to_string(),
                |s| s.path().display().to_string(),
            ),
        },
        rules_enabled: config
            .policy_for(project)
            .policy
            .rules_enabled()
            .into_iter()
            .map(str::to_string)
            .collect(),
        inputs_digest: String::new(),
        counts,
        coverage: result
            .lambda_dirs
            .iter()
            .filter_map(|dir| {
                let at = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
                let (report, total) =
                    crate::rules::coverage::report_total(dir, &config.policy_for(&at))?;
                let path = dir.join(report);
                let shown = path.strip_prefix(".").unwrap_or(&path);
                Some((crate::report::display_path(shown), total))
            })
            .collect(),
        commit: None,
        time_verified: crate::date::now_rfc3339(),
    })
}

/// The signer `--sign-key` (or `$LAMBDA_GATE_SIGNING_KEY`) names, if any, opened on `runtime`
/// (the one the command goes on with: a KMS client keeps its connections there).
fn signer(flag: Option<&str>, runtime: &tokio::runtime::Runtime) -> anyhow::Result<Option<Signer>> {
    let from_env = std::env::var(attest::SIGNING_KEY_ENV)
        .ok()
        .filter(|v| !v.is_empty());
    match flag.map(str::to_string).or(from_env) {
        Some(spec) => Ok(Some(runtime.block_on(Signer::open(&spec))?)),
        None => Ok(None),
    }
}

fn build_args(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .filter(|(k, _)| !k.is_empty())
                .with_context(|| format!("`--build-arg {pair}`: expected NAME=VALUE"))
        })
        .collect()
}

/// What the runner takes from the project's policy unless the command line says otherwise.
struct BuildSettings {
    platforms: Vec<Platform>,
    builder: BuilderChoice,
}

fn build_settings(
    platforms: &[String],
    builder: Option<BuilderArg>,
    project: &Path,
    config: Option<&Path>,
) -> anyhow::Result<BuildSettings> {
    let loaded = crate::policy::load(project, config, false)?;
    let file = std::fs::canonicalize(project).unwrap_or_else(|_| project.to_path_buf());
    let policy = &loaded.policy_for(&file).policy;
    let texts = if platforms.is_empty() {
        policy.platforms.clone()
    } else {
        platforms.to_vec()
    };
    Ok(BuildSettings {
        platforms: parse_platforms(&texts).map_err(anyhow::Error::msg)?,
        builder: match builder {
            None => policy.builder,
            Some(BuilderArg::Auto) => BuilderChoice::Auto,
            Some(BuilderArg::Buildkit) => BuilderChoice::BuildKit,
            Some(BuilderArg::Classic) => BuilderChoice::Classic,
        },
    })
}

/// The one place a runner worker's end becomes an exit code: done 0; refused 1, the refusal
/// said on stderr; failed 2, the error going up to `main`, which prints it. Each command prints
/// its result (and a rolled-back deploy's) before.
fn finish<T>(outcome: Outcome<T>) -> anyhow::Result<ExitCode> {
    match outcome {
        Ok(_) => Ok(ExitCode::from(EXIT_CLEAN)),
        Err(Stop::Refused(refusal)) => {
            eprintln!("lambda-gate: {refusal}");
            Ok(ExitCode::from(EXIT_VIOLATIONS))
        }
        Err(Stop::Failed(error)) => Err(error),
    }
}

/// Progress lines to stderr unless quiet (each prefixed, so CI logs read well).
fn progress(quiet: bool) -> impl FnMut(&str) + Send {
    move |line: &str| {
        if !quiet {
            eprintln!("{line}");
        }
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

fn print_build(result: &BuildResult) {
    println!(
        "{} {}{}",
        result.status,
        result.repository.as_deref().unwrap_or(&result.project),
        result
            .index_digest
            .as_ref()
            .map(|d| format!(" (index {d})"))
            .unwrap_or_default()
    );
    if !result.tags.is_empty() {
        println!("  tags: {}", result.tags.join(", "));
    }
    for platform in &result.platforms {
        match &platform.image_uri {
            Some(uri) => println!(
                "  {} -> deploy with architectures = [\"{}\"]: {uri}",
                platform.platform, platform.lambda_architecture
            ),
            None => println!(
                "  {} built: {}",
                platform.platform,
                platform.image_id.as_deref().unwrap_or("?")
            ),
        }
        for smoke in &platform.smoke {
            println!(
                "    smoke {} ({}): {} in {:.1}s",
                smoke.event, smoke.method, smoke.outcome, smoke.seconds
            );
        }
    }
}

pub fn run_build(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let project = args.project.clone();
    if !project.join(&args.dockerfile).is_file() {
        bail!(
            "{}: no such Dockerfile",
            project.join(&args.dockerfile).display()
        );
    }
    let runtime = runtime()?;
    let signer = signer(args.sign_key.as_deref(), &runtime)?;
    let verdict = gate_verdict(&project, args.config.as_deref())?;
    if !verdict.passed() {
        return finish::<()>(Err(Refusal::GateFailed(project).into()));
    }
    let push = args
        .push
        .as_deref()
        .map(Reference::parse)
        .transpose()
        .context("--push")?;
    let mut tags = args.tags.clone();
    if tags.is_empty() {
        tags.extend(build::git_short_revision(&project));
        tags.push("test".into());
    }
    if let Some(repository) = &push {
        for tag in &tags {
            repository.with_tag(tag).context("--tag")?;
        }
    }
    let settings = build_settings(
        &args.platform,
        args.builder,
        &project,
        args.config.as_deref(),
    )?;
    let secrets = args
        .secrets
        .iter()
        .map(|text| BuildSecret::parse(text).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let request = BuildRequest {
        platforms: settings.platforms,
        builder: settings.builder,
        secrets,
        project,
        dockerfile: args.dockerfile.clone(),
        tags,
        push,
        build_args: build_args(&args.build_args)?,
        target: args.target.clone(),
        smoke: !args.no_smoke,
        events: args.events.clone(),
        connection: Connection {
            insecure_registries: args.registry.insecure_registries.clone(),
        },
        signing: signer.map(|signer| Signing {
            signer: std::sync::Arc::new(signer),
            verdict,
        }),
    };
    let mut log = progress(args.output.quiet);
    if request.push.is_some() && request.signing.is_none() {
        log("no signing key (--sign-key, $LAMBDA_GATE_SIGNING_KEY): the pushed images carry no attestations, and environments that require them will refuse them");
    }
    let outcome = runtime.block_on(build::build(&request, &mut log));
    if let Ok(result) = &outcome {
        print_built(result, args.output.format)?;
    }
    finish(outcome)
}

fn print_built(result: &BuildResult, format: RunnerFormat) -> anyhow::Result<()> {
    match format {
        RunnerFormat::Json => print_json(result)?,
        RunnerFormat::Human => print_build(result),
    }
    Ok(())
}

pub fn run_push(args: PushArgs) -> anyhow::Result<ExitCode> {
    let repository = Reference::parse(&args.repository).context("REPOSITORY")?;
    for tag in &args.tags {
        repository.with_tag(tag).context("--tag")?;
    }
    let mut images = Vec::new();
    for pair in &args.images {
        let (platform, image) = pair
            .split_once('=')
            .with_context(|| format!("`--image {pair}`: expected PLATFORM=IMAGE"))?;
        let platform = Platform::parse(platform).map_err(anyhow::Error::msg)?;
        images.push((platform, image.to_string()));
    }
    let connection = Connection {
        insecure_registries: args.registry.insecure_registries.clone(),
    };
    let runtime = runtime()?;
    let signing = match signer(args.sign_key.as_deref(), &runtime)? {
        Some(signer) => {
            let verdict = gate_verdict(&args.project, None)?;
            if !verdict.passed() {
                return finish::<()>(Err(Refusal::GateFailed(args.project.clone()).into()));
            }
            Some(PushSigning {
                signing: Signing {
                    signer: std::sync::Arc::new(signer),
                    verdict,
                },
                project: args.project.clone(),
            })
        }
        None => None,
    };
    let mut log = progress(args.output.quiet);
    let outcome = runtime.block_on(build::push_images(
        &images,
        &repository,
        &args.tags,
        &connection,
        signing.as_ref(),
        &mut log,
    ));
    if let Ok(result) = &outcome {
        print_built(result, args.output.format)?;
    }
    finish(outcome)
}

pub fn run_smoke(args: SmokeArgs) -> anyhow::Result<ExitCode> {
    let platform = match &args.platform {
        Some(text) => Platform::parse(text).map_err(anyhow::Error::msg)?,
        None => Platform::native(),
    };
    let events = smoke::events(Path::new("."), &args.events)?;
    if events.is_empty() {
        bail!("no events: pass --event FILE or run where events/*.json are");
    }
    let results = runtime()?.block_on(async {
        let docker = engine::connect().await?;
        let login = engine::login_for(&args.image).await;
        engine::ensure_image(&docker, &args.image, &platform, login).await?;
        let mut results = Vec::new();
        for event in &events {
            results.push(smoke::run(&docker, &args.image, &platform, event).await?);
        }
        anyhow::Ok(results)
    })?;
    let failed = results.iter().filter(|r| !r.passed).count();
    match args.format {
        RunnerFormat::Json => print_json(&results)?,
        RunnerFormat::Human => {
            for result in &results {
                println!(
                    "{} {} on {} ({}): {} in {:.1}s",
                    if result.passed { "ok  " } else { "FAIL" },
                    result.event,
                    result.platform,
                    result.method,
                    result.outcome,
                    result.seconds
                );
                if !result.passed {
                    eprintln!("{}", result.logs.trim_end());
                }
            }
        }
    }
    finish(match failed {
        0 => Ok(()),
        failed => Err(Refusal::SmokeInvocations {
            failed,
            run: results.len(),
        }
        .into()),
    })
}

pub fn run_promote(args: PromoteArgs) -> anyhow::Result<ExitCode> {
    let repository = Reference::parse(&args.repository).context("REPOSITORY")?;
    if repository.tag.is_some() || repository.digest.is_some() {
        bail!("REPOSITORY is `host/path` alone; name the image with --from TAG or --digest DIGEST");
    }
    let source = match (&args.from, &args.digest) {
        (_, Some(digest)) => {
            if !crate::digest::is_sha256_digest(digest) {
                bail!("--digest `{digest}`: expected `sha256:` and 64 lowercase hex digits");
            }
            Source::Digest(digest.clone())
        }
        (Some(tag), None) => {
            repository.with_tag(tag).context("--from")?;
            Source::Tag(tag.clone())
        }
        (None, None) => bail!("give --from TAG or --digest DIGEST"),
    };
    repository.with_tag(&args.to).context("--to")?;
    let loaded = crate::policy::load(Path::new("."), args.config.as_deref(), false)?;
    let cwd = std::env::current_dir()?;
    let policy = loaded.policy_for(&cwd);
    let request = PromoteRequest {
        repository: repository.clone(),
        source,
        to: args.to.clone(),
        ladders: policy.policy.promotion.ladders.clone(),
        moving_tags: policy.policy.terraform.moving_tags.clone(),
        record_ssm: args.record_ssm.clone(),
    };
    let connection = Connection {
        insecure_registries: args.registry.insecure_registries.clone(),
    };
    let outcome = runtime()?.block_on(async {
        let registry = AnyRegistry::connect(&repository, &connection).await?;
        promote::promote(&registry, &request).await
    });
    if let Ok(result) = &outcome {
        {
            match args.format {
                RunnerFormat::Json => print_json(&result)?,
                RunnerFormat::Human => {
                    println!(
                        "{} {}:{} = {}",
                        result.status, result.repository, result.to, result.digest
                    );
                    for platform in &result.platforms {
                        println!("  {}: {}", platform.architecture, platform.image_uri);
                    }
                    for name in &result.ssm_parameters {
                        println!("  recorded in SSM: {name}");
                    }
                }
            }
        }
    }
    finish(outcome)
}

pub fn run_verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let image = Reference::parse(&args.image).context("IMAGE")?;
    let connection = Connection {
        insecure_registries: args.registry.insecure_registries.clone(),
    };
    let runtime = runtime()?;
    let requirement = match &args.environment {
        Some(name) => {
            let loaded = crate::policy::load(&args.project, None, false)?;
            let policy = &loaded.base.policy;
            if !policy.deploy.environments.contains_key(name) {
                bail!(
                    "--environment {name}: the policy has no `[deploy.environments.{name}]` (it has: {})",
                    policy.deploy.environments.keys().cloned().collect::<Vec<_>>().join(", ")
                );
            }
            attestation_requirement(name, &loaded, &runtime)?
        }
        None => None,
    };
    let outcome = runtime.block_on(async {
        let registry = AnyRegistry::connect(&image, &connection).await?;
        let mut deployable =
            promote::verify_deployable(&registry, &image, &args.architecture).await?;
        if let Some(requirement) = &requirement {
            let found = attest::verify::verify(
                &registry,
                &image.repository,
                &deployable.digest,
                requirement,
            )
            .await?;
            deployable.attestation = Some(found.map_err(promote::NotDeployable::from)?);
        }
        Ok(deployable)
    });
    match (&outcome, args.format) {
        (Ok(deployable), RunnerFormat::Json) => print_json(deployable)?,
        (Ok(deployable), RunnerFormat::Human) => {
            println!(
                "deployable: {} is a single-platform linux/{} image ({})",
                deployable.image, deployable.architecture, deployable.image_uri
            );
            if let Some(verified) = &deployable.attestation {
                println!(
                    "attested: the gate passed it under policy {} (commit {}), signed by {}",
                    verified.verdict.policy.digest,
                    verified.verdict.commit.as_deref().unwrap_or("unknown"),
                    verified.key_id
                );
            }
        }
        (Err(Stop::Refused(Refusal::NotDeployable(problem))), RunnerFormat::Json) => {
            print_json(&serde_json::json!({"deployable": false, "reason": problem.to_string()}))?
        }
        _ => {}
    }
    finish(outcome)
}

/// What deploys to environment `name` ask of an image's signed verdict, if anything.
fn attestation_requirement(
    name: &str,
    config: &crate::policy::Config,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Option<attest::verify::Requirement>> {
    let policy = &config.base.policy;
    if !policy.requires_attestation(name) {
        return Ok(None);
    }
    let environment = policy.deploy.environments.get(name);
    let Some(spec) = environment.and_then(|e| e.attestation_key.as_deref()) else {
        let why = if environment.and_then(|e| e.require_attestation) == Some(true) {
            "its policy says `require-attestation = true`".to_string()
        } else {
            "it is the last rung of a ladder in `[promotion]`".to_string()
        };
        bail!(
            "{name} takes only images with a signed gate verdict ({why}), but names no key to check them with: set `attestation-key = \"FILE.pub\"` (the public key builds sign with) or `attestation-key = \"awskms:KEY\"` in `[deploy.environments.{name}]`, or `require-attestation = false`"
        );
    };
    let key = runtime.block_on(attest::verification_key(spec, &config.root))?;
    Ok(Some(attest::verify::Requirement {
        environment: name.to_string(),
        key,
        policy_digest: config.gate_digest(),
    }))
}

/// `sweep --deployed`: each environment of a Lambda's policy, traced as `trace --environment`
/// traces it. Lambdas under one policy share its environments: each policy's are traced once.
pub struct TracedDeployments {
    runtime: tokio::runtime::Runtime,
    /// The sweep's `--config`, else each Lambda's own policy.
    config: Option<PathBuf>,
    connection: Connection,
    /// By policy file; held while tracing, so that parallel repositories under one policy do not
    /// trace it twice.
    traced: std::sync::Mutex<HashMap<PathBuf, Vec<DeployedRecord>>>,
}

impl TracedDeployments {
    pub fn new(config: Option<PathBuf>, connection: Connection) -> anyhow::Result<Self> {
        Ok(TracedDeployments {
            runtime: runtime()?,
            config,
            connection,
            traced: Default::default(),
        })
    }

    fn trace(&self, name: &str, loaded: &crate::policy::Config) -> DeployedRecord {
        let environment = &loaded.base.policy.deploy.environments[name];
        let traced = (|| {
            let requirement = attestation_requirement(name, loaded, &self.runtime)?;
            // An environment that names a key without requiring a verdict: checked with it.
            let key = match (&requirement, environment.attestation_key.as_deref()) {
                (None, Some(spec)) => Some(
                    self.runtime
                        .block_on(attest::verification_key(spec, &loaded.root))?,
                ),
                _ => None,
            };
            let choice = TargetChoice {
                function: None,
                alias: None,
                region: None,
                role_arn: None,
                external_id: None,
                session_name: deploy::session_name(
                    None,
                    std::env::var("BUILD_TAG").ok().as_deref(),
                ),
            };
            let target = Target::resolve(&choice, Some(environment)).map_err(anyhow::Error::msg)?;
            self.runtime.block_on(deploy::trace::trace(&TraceRequest {
                target,
                requirement,
                key,
                connection: self.connection.clone(),
            }))
        })();
        let mut record = DeployedRecord {
            environment: name.to_string(),
            function: format!("{}:{}", environment.function, environment.alias),
            error: None,
            versions: Vec::new(),
        };
        match traced {
            Ok(trace) => {
                let today = crate::date::Date::today();
                record.versions = (trace.versions.iter())
                    .map(|version| {
                        let (verdict, reason) = version.verdict.status();
                        let base = version.image_uri.as_deref().map(|uri| {
                            let judged = crate::runner::fleet::base_of(
                                uri,
                                &loaded.base,
                                &self.connection,
                                today,
                            );
                            self.runtime.block_on(judged).describe()
                        });
                        DeployedVersion {
                            version: version.version.clone(),
                            weight: version.weight,
                            digest: version.digest.clone(),
                            verdict: verdict.to_string(),
                            reason: reason.map(str::to_string),
                            base,
                        }
                    })
                    .collect()
            }
            Err(error) => record.error = Some(format!("{error:#}")),
        }
        record
    }
}

impl crate::sweep::Deployments for TracedDeployments {
    fn of(&self, lambda_dir: &Path) -> Vec<DeployedRecord> {
        // A policy that cannot be loaded is the repository's error in the report already.
        let Ok(loaded) = crate::policy::load(lambda_dir, self.config.as_deref(), false) else {
            return Vec::new();
        };
        let Some(source) = &loaded.source else {
            return Vec::new();
        };
        let mut traced = self.traced.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(records) = traced.get(source.path()) {
            return records.clone();
        }
        let records: Vec<DeployedRecord> = (loaded.base.policy.deploy.environments.keys())
            .map(|name| self.trace(name, &loaded))
            .collect();
        traced.insert(source.path().to_path_buf(), records.clone());
        records
    }
}

/// Facts about base images for `sweep --fix` commit messages, read from their registries.
#[derive(Debug)]
pub struct RegistryBaseFacts {
    runtime: tokio::runtime::Runtime,
    connection: Connection,
}

impl RegistryBaseFacts {
    pub fn new(connection: Connection) -> anyhow::Result<RegistryBaseFacts> {
        Ok(RegistryBaseFacts {
            runtime: runtime()?,
            connection,
        })
    }
}

impl crate::sweep::BaseFacts for RegistryBaseFacts {
    fn facts(&self, image: &str) -> Option<String> {
        self.runtime
            .block_on(crate::runner::fleet::image_facts(image, &self.connection))
    }
}

pub fn run_fleet(args: FleetArgs) -> anyhow::Result<ExitCode> {
    use crate::runner::fleet::{self, FleetRequest};
    let loaded = crate::policy::load(Path::new("."), args.config.as_deref(), false)?;
    let policy = loaded.base.clone();
    let fleet_policy = &policy.policy.fleet;
    let accounts = if fleet_policy.accounts.is_empty() {
        let regions = if args.region.is_empty() {
            let region = std::env::var("AWS_REGION")
                .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
                .context(
                    "name a region: --region, AWS_REGION, or `[fleet] accounts` in the policy",
                )?;
            vec![region]
        } else {
            args.region.clone()
        };
        vec![crate::policy::FleetAccount {
            name: "default".into(),
            regions,
            role_arn: None,
        }]
    } else {
        let unknown: Vec<&String> = (args.account.iter())
            .filter(|name| !fleet_policy.accounts.iter().any(|a| &a.name == *name))
            .collect();
        if !unknown.is_empty() {
            anyhow::bail!(
                "--account {}: the policy's `[fleet]` has no such account (it has: {})",
                unknown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                fleet_policy
                    .accounts
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        (fleet_policy.accounts.iter())
            .filter(|a| args.account.is_empty() || args.account.contains(&a.name))
            .map(|a| crate::policy::FleetAccount {
                regions: if args.region.is_empty() {
                    a.regions.clone()
                } else {
                    args.region.clone()
                },
                ..a.clone()
            })
            .collect()
    };
    let request = FleetRequest {
        accounts,
        aliases: if args.alias.is_empty() {
            fleet_policy.aliases.clone()
        } else {
            args.alias.clone()
        },
        policy,
        connection: Connection {
            insecure_registries: args.registry.insecure_registries.clone(),
        },
        today: crate::date::Date::today(),
        concurrency: args.jobs,
    };
    let surveyed = runtime()?.block_on(fleet::survey(&request));
    if let Some(path) = &args.html {
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write `{}`", path.display()))?,
        );
        fleet::render_html(&surveyed, &mut file)
            .and_then(|()| file.flush())
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    match args.format {
        RunnerFormat::Json => print_json(&surveyed)?,
        RunnerFormat::Human => {
            let mut out = std::io::stdout().lock();
            fleet::render_text(&surveyed, &mut out)?;
        }
    }
    Ok(ExitCode::from(if surveyed.any_past_grace() {
        EXIT_VIOLATIONS
    } else if surveyed.summary.accounts_unreadable + surveyed.summary.functions_unreadable > 0 {
        EXIT_ERROR
    } else {
        EXIT_CLEAN
    }))
}

pub fn run_pipeline(args: PipelineArgs) -> anyhow::Result<ExitCode> {
    let root = args.root.clone();
    let loaded = crate::policy::load(&root, None, false)?;
    let file = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
    let policy = loaded.policy_for(&file);
    let settings = build_settings(&args.platform, args.builder, &root, None)?;
    let request = PipelineRequest {
        platforms: settings.platforms,
        builder: settings.builder,
        root,
        registry: args.registry.clone(),
        build_args: build_args(&args.build_args)?,
        connection: Connection {
            insecure_registries: args.registry_args.insecure_registries.clone(),
        },
        ladders: policy.policy.promotion.ladders.clone(),
        moving_tags: policy.policy.terraform.moving_tags.clone(),
        record: args
            .record_policy
            .clone()
            .map(|file| pipeline::RecordPolicy {
                file,
                grace_days: args.grace_days,
            }),
    };
    let mut log = progress(args.output.quiet);
    let outcome = runtime()?.block_on(pipeline::run(&request, &gate, &mut log));
    let Ok(result) = &outcome else {
        return finish(outcome);
    };
    match args.output.format {
        RunnerFormat::Json => print_json(&result)?,
        RunnerFormat::Human => {
            for build in &result.builds {
                print_build(build);
            }
            for promotion in &result.promotions {
                println!(
                    "{} {}:{} = {}",
                    promotion.status, promotion.repository, promotion.to, promotion.digest
                );
            }
            for line in &result.recorded {
                println!("recorded {line}");
            }
        }
    }
    finish(outcome)
}

pub fn run_dev_image_pull(args: DevImagePullArgs) -> anyhow::Result<ExitCode> {
    let image = Reference::parse(&args.image).context("--image")?;
    let platform = match &args.platform {
        Some(text) => Platform::parse(text).map_err(anyhow::Error::msg)?,
        None => Platform::native(),
    };
    let reference = image.to_string();
    if args.print {
        if let Backend::Ecr { region, .. } = image.backend() {
            println!(
                "aws ecr get-login-password --region {region} | docker login --username AWS --password-stdin {}",
                image.registry
            );
        }
        println!("docker pull --platform {platform} {reference}");
        return Ok(ExitCode::from(EXIT_CLEAN));
    }
    runtime()?.block_on(async {
        let credentials = registry::login(&image).await?;
        let docker = engine::connect().await?;
        engine::pull(&docker, &reference, &platform, credentials).await?;
        let found = engine::inspect(&docker, &reference).await?;
        engine::require_platform(&found, &platform)
    })?;
    println!("pulled {reference} for {platform}");
    Ok(ExitCode::from(EXIT_CLEAN))
}

pub fn run_deploy(args: DeployArgs) -> anyhow::Result<ExitCode> {
    let loaded = crate::policy::load(&args.project, None, false)?;
    let file = std::fs::canonicalize(&args.project).unwrap_or_else(|_| args.project.clone());
    let policy = &loaded.policy_for(&file).policy;
    let environment = match &args.environment {
        Some(name) => Some(policy.deploy.environments.get(name).with_context(|| {
            format!(
                "--environment {name}: the policy has no `[deploy.environments.{name}]` (it has: {})",
                policy.deploy.environments.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?),
        None => None,
    };
    let choice = TargetChoice {
        function: args.function.clone(),
        alias: args.alias.clone(),
        region: args.region.clone(),
        role_arn: args.role_arn.clone(),
        external_id: args.external_id.clone(),
        session_name: deploy::session_name(
            args.session_name.as_deref(),
            std::env::var("BUILD_TAG").ok().as_deref(),
        ),
    };
    let target = Target::resolve(&choice, environment).map_err(anyhow::Error::msg)?;
    let runtime = runtime()?;
    if args.status {
        let status = runtime.block_on(deploy::status(&target))?;
        print_status(&status, args.output.format)?;
        return finish(Ok(()));
    }
    if args.abort {
        let mut log = progress(args.output.quiet);
        let outcome = runtime.block_on(deploy::abort(&target, &mut log));
        if let Ok(status) = &outcome {
            print_status(status, args.output.format)?;
        }
        return finish(outcome);
    }
    let image = args
        .image
        .as_deref()
        .context("--image REPOSITORY@DIGEST: what to deploy")?;
    let image = Reference::parse(image).context("--image")?;
    let bake = args
        .bake
        .clone()
        .or_else(|| environment.and_then(|e| e.bake.clone()));
    let percents: Vec<f64> = match (args.canary, args.steps.is_empty()) {
        (Some(percent), _) => vec![percent],
        (None, false) => args.steps.clone(),
        (None, true) => environment
            .and_then(|e| e.canary.map(|p| vec![p]).or_else(|| e.steps.clone()))
            .unwrap_or_default(),
    };
    let shift = match (percents.is_empty(), bake) {
        (true, None) => Shift::AllAtOnce,
        (false, Some(bake)) => Shift::steps(
            &percents,
            deploy::parse_duration(&bake)
                .map_err(anyhow::Error::msg)
                .context("--bake")?,
        )
        .map_err(anyhow::Error::msg)?,
        (false, None) => {
            bail!("--canary and --steps need --bake: how long each step runs before the next")
        }
        (true, Some(_)) => bail!("--bake needs --canary or --steps: the traffic that bakes"),
    };
    let emergency = match &args.emergency {
        Some(reason) if reason.trim().is_empty() => {
            bail!("--emergency needs a reason: it is recorded with who deployed and which build")
        }
        Some(reason) => Some(Emergency {
            reason: reason.trim().to_string(),
            by: ["BUILD_USER_ID", "BUILD_USER", "USER", "LOGNAME"]
                .iter()
                .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
                .unwrap_or_else(|| "unknown".into()),
            build: std::env::var("BUILD_URL")
                .or_else(|_| std::env::var("BUILD_TAG"))
                .ok(),
        }),
        None => None,
    };
    // On a ladder, the rung below is an environment too: its function must serve this image.
    let below = match &args.environment {
        Some(name) => policy
            .promotion
            .ladders
            .iter()
            .find_map(|ladder| {
                let at = ladder.iter().position(|rung| rung == name)?;
                at.checked_sub(1).map(|below| ladder[below].clone())
            })
            .map(|below| {
                let environment = policy.deploy.environments.get(&below).with_context(|| {
                    format!("the ladder puts {below} below {name}, and the policy has no `[deploy.environments.{below}]` to read what it serves")
                })?;
                anyhow::Ok(deploy::Below {
                    environment: name.clone(),
                    name: below.clone(),
                    target: Target::of_environment(environment, &choice),
                })
            })
            .transpose()?,
        None => None,
    };
    let side_effects = environment.is_some_and(|e| e.side_effects);
    let request = DeployRequest {
        target,
        image,
        events: deploy_events(&args, side_effects)?,
        side_effects,
        shift,
        alarms: if args.alarms.is_empty() {
            environment
                .and_then(|e| e.alarms.clone())
                .unwrap_or_default()
        } else {
            args.alarms.clone()
        },
        min_invocations: args
            .min_invocations
            .or_else(|| environment.and_then(|e| e.min_invocations))
            .unwrap_or(0),
        record_ssm: args
            .record_ssm
            .clone()
            .or_else(|| environment.and_then(|e| e.record_ssm.clone())),
        below,
        emergency,
        connection: Connection {
            insecure_registries: args.registry.insecure_registries.clone(),
        },
        attestation: match &args.environment {
            Some(name) => attestation_requirement(name, &loaded, &runtime)?,
            None => None,
        },
    };
    let mut log = progress(args.output.quiet);
    let outcome = runtime.block_on(deploy::deploy(&request, &mut log));
    match &outcome {
        Ok(result) => print_deployed(result, args.output.format)?,
        Err(Stop::Refused(Refusal::RolledBack(result))) => {
            print_deployed(result, args.output.format)?
        }
        Err(Stop::Refused(refusal)) if args.output.format == RunnerFormat::Json => {
            let reason = match refusal {
                Refusal::Deploy(why) => why.to_string(),
                other => other.to_string(),
            };
            print_json(&serde_json::json!({"status": "refused", "reason": reason}))?
        }
        Err(_) => {}
    }
    finish(outcome)
}

/// The smoke events of a deploy: those given, else the environment's own
/// (`events/<environment>/*.json`), else the project's `events/*.json` unless the environment's
/// calls have side effects.
fn deploy_events(args: &DeployArgs, side_effects: bool) -> anyhow::Result<Vec<PathBuf>> {
    if !args.events.is_empty() {
        return Ok(args.events.clone());
    }
    if let Some(name) = &args.environment {
        let own = smoke::events_in(&args.project.join("events").join(name));
        if !own.is_empty() {
            return Ok(own);
        }
    }
    if side_effects {
        return Ok(Vec::new());
    }
    smoke::events(&args.project, &[])
}

fn print_status(status: &AliasStatus, format: RunnerFormat) -> anyhow::Result<()> {
    match format {
        RunnerFormat::Json => print_json(status)?,
        RunnerFormat::Human => {
            match &status.version {
                Some(version) => println!(
                    "{}:{} serves version {version}{}",
                    status.function,
                    status.alias,
                    status
                        .image_uri
                        .as_deref()
                        .map(|uri| format!(" ({uri})"))
                        .unwrap_or_default()
                ),
                None => println!("{}:{} does not exist", status.function, status.alias),
            }
            for (version, percent) in &status.split {
                println!("  {percent}% of its traffic goes to version {version}");
            }
            match &status.in_flight {
                Some(record) => println!("  a deploy is in flight: {record}"),
                None => println!("  no deploy in flight"),
            }
        }
    }
    Ok(())
}

fn print_deployed(result: &DeployResult, format: RunnerFormat) -> anyhow::Result<()> {
    match format {
        RunnerFormat::Json => print_json(result)?,
        RunnerFormat::Human => {
            println!(
                "{} {}:{} -> version {} ({} {})",
                result.status,
                result.function,
                result.alias,
                result.serving,
                result.architecture,
                result.image_uri
            );
            if let Some(failure) = &result.failure {
                println!("  because: {failure}");
            }
            println!(
                "  time: {:.1}s in API calls, {:.1}s waiting",
                result.timings.api_seconds, result.timings.wait_seconds
            );
        }
    }
    Ok(())
}

pub fn run_trace(args: TraceArgs) -> anyhow::Result<ExitCode> {
    let runtime = runtime()?;
    let (function, alias) = match args.function.as_deref() {
        Some(given) => {
            let (function, alias) = split_qualifier(given);
            (Some(function), alias)
        }
        None => (None, None),
    };
    let loaded;
    let (environment, requirement) = match &args.environment {
        Some(name) => {
            loaded = crate::policy::load(&args.project, None, false)?;
            let policy = &loaded.base.policy;
            let environment = policy.deploy.environments.get(name).with_context(|| {
                format!(
                    "--environment {name}: the policy has no `[deploy.environments.{name}]` (it has: {})",
                    policy.deploy.environments.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            })?;
            (
                Some(environment),
                attestation_requirement(name, &loaded, &runtime)?,
            )
        }
        None => (None, None),
    };
    let key = match (&requirement, &args.key) {
        (None, Some(spec)) => Some(
            runtime
                .block_on(attest::verification_key(spec, Path::new(".")))
                .context("--key")?,
        ),
        _ => None,
    };
    let choice = TargetChoice {
        function,
        alias,
        region: args.region.clone(),
        role_arn: args.role_arn.clone(),
        external_id: args.external_id.clone(),
        session_name: deploy::session_name(None, std::env::var("BUILD_TAG").ok().as_deref()),
    };
    let target = Target::resolve(&choice, environment).map_err(anyhow::Error::msg)?;
    let judged = requirement.is_some();
    let request = TraceRequest {
        target,
        requirement,
        key,
        connection: Connection {
            insecure_registries: args.registry.insecure_registries.clone(),
        },
    };
    let trace = runtime.block_on(deploy::trace::trace(&request))?;
    match args.format {
        RunnerFormat::Json => print_json(&trace)?,
        RunnerFormat::Human => print!("{}", render_trace(&trace)),
    }
    Ok(ExitCode::from(if judged && !trace.all_verified() {
        EXIT_VIOLATIONS
    } else {
        EXIT_CLEAN
    }))
}

/// `NAME:ALIAS`, or an ARN with a qualifier: the function and the alias.
fn split_qualifier(given: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = given.split(':').collect();
    match parts[..] {
        ["arn", ..] if parts.len() == 8 => (parts[..7].join(":"), Some(parts[7].to_string())),
        [name, alias] => (name.to_string(), Some(alias.to_string())),
        _ => (given.to_string(), None),
    }
}

fn render_trace(trace: &Trace) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "{}:{}", trace.function, trace.alias);
    for version in &trace.versions {
        let _ = writeln!(
            out,
            "  version {} ({}% of traffic): {}",
            version.version,
            version.weight,
            version.image_uri.as_deref().unwrap_or("no image")
        );
        let verdict = |v: &Verdict| {
            format!(
                "{} under policy {} (gate {} {}), commit {}",
                v.result,
                v.policy.digest,
                v.gate.name,
                v.gate.version,
                v.commit.as_deref().unwrap_or("unknown")
            )
        };
        let line = match &version.verdict {
            VerdictLink::Verified {
                envelope,
                key_id,
                verdict: v,
                stamp_differs,
            } => {
                let mut line = format!(
                    "verified: {}; signed by {key_id}; envelope {envelope}",
                    verdict(v)
                );
                if let Some(stamp) = stamp_differs {
                    let _ = write!(line, " (the version's description names {stamp})");
                }
                line
            }
            VerdictLink::Refused { reason } => format!("REFUSED: {reason}"),
            VerdictLink::Signed {
                envelope,
                key_id,
                verdict: v,
            } => format!(
                "signed by {key_id} (no environment's policy to judge it by): {}; envelope {envelope}",
                verdict(v)
            ),
            VerdictLink::Unchecked {
                envelope,
                verdict: v,
            } => format!(
                "unchecked (no key given: --environment or --key): claims {}; envelope {envelope}",
                verdict(v)
            ),
            VerdictLink::Missing { reason } => format!("none: {reason}"),
            VerdictLink::Untraceable { reason } => format!("cannot trace: {reason}"),
        };
        let _ = writeln!(out, "    verdict  {line}");
        if let Some(build) = &version.provenance {
            let _ = writeln!(
                out,
                "    build    {} at {}, by {}{}{}",
                build.source.as_deref().unwrap_or("an unnamed source"),
                build.commit.as_deref().unwrap_or("an unknown commit"),
                build.builder.as_deref().unwrap_or("an unnamed builder"),
                build
                    .invocation
                    .as_deref()
                    .map_or(String::new(), |i| format!(" ({i})")),
                if build.signature_checked {
                    ""
                } else {
                    " [signature unchecked]"
                }
            );
            for base in &build.bases {
                let _ = writeln!(
                    out,
                    "    base     {}@{}{}",
                    base.name,
                    base.digest,
                    base.platform
                        .as_deref()
                        .map_or(String::new(), |p| format!(" ({p})"))
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::split_qualifier;

    #[test]
    fn a_function_names_its_alias_after_a_colon() {
        assert_eq!(
            split_qualifier("quote:prod"),
            ("quote".into(), Some("prod".into()))
        );
        assert_eq!(split_qualifier("quote"), ("quote".into(), None));
        assert_eq!(
            split_qualifier("arn:aws:lambda:eu-west-1:111122223333:function:quote:live"),
            (
                "arn:aws:lambda:eu-west-1:111122223333:function:quote".into(),
                Some("live".into())
            )
        );
        assert_eq!(
            split_qualifier("arn:aws:lambda:eu-west-1:111122223333:function:quote"),
            (
                "arn:aws:lambda:eu-west-1:111122223333:function:quote".into(),
                None
            )
        );
    }
}
