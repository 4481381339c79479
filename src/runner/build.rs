//! `lambda-gate build`: one image per platform through the Engine, smoke-tested, pushed with an
//! index over them, skipped when the registry already holds an image built from the same inputs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _};
use serde::Serialize;
use serde_json::json;

use super::attest::{self, statement::Verdict, Attested, Signer};
use super::buildkit::{self, BuildSecret};
use super::context;
use super::engine::{self, BuildSpec, Builder};
use super::outcome::{Outcome, Refusal, Stop};
use super::push;
use super::reference::Reference;
use super::registry::{config_of, AnyRegistry, Connection, Manifest, Registry};
use super::smoke;
use super::{sha256_digest, Platform};

use crate::policy::BuilderChoice;
use crate::rules::dockerfile::parser::{self as dockerfile, Base};

/// The label that records what an image was built from.
pub const INPUTS_LABEL: &str = "dev.lambda-gate.inputs";
/// The label that carries a platform's build facts (no secrets), for `push --sign-key`.
pub const FACTS_LABEL: &str = "dev.lambda-gate.build";
/// The base the final stage builds on, as named (`org.opencontainers.image.base.name`).
pub const BASE_NAME_LABEL: &str = "org.opencontainers.image.base.name";
/// That base's digest: as pinned in the Dockerfile, else the platform's manifest.
pub const BASE_DIGEST_LABEL: &str = "org.opencontainers.image.base.digest";

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub project: PathBuf,
    /// Relative to the project.
    pub dockerfile: String,
    pub platforms: Vec<Platform>,
    pub tags: Vec<String>,
    /// `host/path` to push to; without it images are only built (and smoke-tested).
    pub push: Option<Reference>,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub smoke: bool,
    /// Events for the smoke test; empty means the project's `events/*.json`.
    pub events: Vec<PathBuf>,
    pub connection: Connection,
    /// `auto`: BuildKit when the Engine has it.
    pub builder: BuilderChoice,
    /// For `RUN --mount=type=secret` (needs BuildKit).
    pub secrets: Vec<BuildSecret>,
    /// Sign and attach attestations to what is pushed (`--sign-key`).
    pub signing: Option<Signing>,
}

/// What attests a build: the signer, and the gate's verdict on its sources.
#[derive(Clone)]
pub struct Signing {
    pub signer: std::sync::Arc<Signer>,
    pub verdict: Verdict,
}

impl std::fmt::Debug for Signing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signing({})", self.signer.describe())
    }
}

/// One platform's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformResult {
    pub platform: String,
    /// What a function's `architectures` must say to run it.
    pub lambda_architecture: &'static str,
    /// The single-platform manifest's digest: what a function deploys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// `host/path@digest`, ready for a function's `image_uri`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_uri: Option<String>,
    /// The Engine's image ID (absent when the build was skipped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    pub inputs: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub smoke: Vec<smoke::SmokeResult>,
}

/// The machine-readable result of a build.
#[derive(Debug, Clone, Serialize)]
pub struct BuildResult {
    pub project: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// `built`, or `skipped` when an image built from the same inputs was already pushed.
    pub status: &'static str,
    /// The Engine builder that built (or would have built) the images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builder: Option<Builder>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_digest: Option<String>,
    pub tags: Vec<String>,
    pub platforms: Vec<PlatformResult>,
    /// The signed attestations attached to each pushed image.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attestations: Vec<Attested>,
    pub seconds: f64,
}

/// Progress lines for a person; the caller decides where they go.
pub type Log<'a> = &'a mut (dyn FnMut(&str) + Send);

pub async fn build(request: &BuildRequest, log: Log<'_>) -> Outcome<BuildResult> {
    let started = Instant::now();
    let project = &request.project;
    let dockerfile_path = project.join(&request.dockerfile);
    let dockerfile_text = std::fs::read_to_string(&dockerfile_path)
        .with_context(|| format!("reading {}", dockerfile_path.display()))?;
    let context = context::archive(project, &request.dockerfile).map_err(Stop::failed)?;
    log(&format!(
        "context: {} files, {} KiB, {}",
        context.files,
        context.tar.len() / 1024,
        short(&context.digest)
    ));
    let registry = match &request.push {
        Some(repository) => Some(AnyRegistry::connect(repository, &request.connection).await?),
        None => None,
    };
    let bases = base_images(
        &dockerfile_text,
        &request.build_args,
        request.target.as_deref(),
    )
    .with_context(|| format!("reading the bases of {}", dockerfile_path.display()))?;
    let runs_on = final_base(
        &dockerfile_text,
        &request.build_args,
        request.target.as_deref(),
    );
    let docker = engine::connect().await?;
    let engine_builder = engine::choose_builder(&docker, request.builder).await?;
    let builder = engine_builder.builder;
    refuse_unbuildable_syntax(
        &dockerfile_text,
        &dockerfile_path.display().to_string(),
        request,
        &engine_builder,
    )?;
    for secret in &request.secrets {
        secret.check_readable()?;
    }
    log(&format!("builder: {builder}"));
    let revision = git_revision(project);
    // Provenance times are real, whatever `SOURCE_DATE_EPOCH` says.
    let started_on = crate::date::now_rfc3339();
    let resolved = resolve_bases(&docker, &bases, &request.connection).await;
    let mut results = Vec::new();
    let mut inputs_by_platform = Vec::new();
    for platform in &request.platforms {
        let base_digests: Vec<(String, Option<String>)> = resolved
            .iter()
            .map(|base| (base.name.clone(), base.digest_for(platform)))
            .collect();
        let inputs = inputs_digest(&context.digest, request, platform, &base_digests);
        inputs_by_platform.push((platform.clone(), inputs));
    }
    let facts = build_facts(
        request,
        revision.as_deref(),
        &resolved,
        builder,
        &started_on,
        &context.digest,
    );
    let plan = request.signing.as_ref().map(|signing| attest::Plan {
        signer: signing.signer.clone(),
        verdict: Verdict {
            inputs_digest: context.digest.clone(),
            commit: revision.clone(),
            ..signing.verdict.clone()
        },
        facts: facts.clone(),
    });

    // Already pushed from the same inputs? Then only the tags move.
    if let (Some(registry), Some(repository)) = (&registry, &request.push) {
        if let Some((index, tagged, attestations)) = retag_if_pushed(
            registry,
            repository,
            &request.tags,
            &inputs_by_platform,
            plan.as_ref(),
        )
        .await?
        {
            log("unchanged inputs: an identical image is in the registry; tagging only");
            for ((platform, inputs), (_, manifest)) in inputs_by_platform.iter().zip(&tagged) {
                results.push(platform_result(
                    platform,
                    inputs,
                    Some(repository),
                    Some(manifest),
                    None,
                ));
            }
            return Ok(BuildResult {
                project: project.display().to_string(),
                repository: Some(repository.to_string()),
                status: "skipped",
                builder: Some(builder),
                index_digest: Some(index.digest),
                tags: request.tags.clone(),
                platforms: results,
                attestations,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
    }

    let name = project_name(project);
    let mut built = Vec::new();
    for (platform, inputs) in &inputs_by_platform {
        engine::check_binfmt(platform)?;
        let local_tag = format!(
            "lambda-gate/{name}:{}-{}",
            platform.architecture,
            &inputs[7..19]
        );
        let mut labels = HashMap::new();
        labels.insert(INPUTS_LABEL.to_string(), inputs.clone());
        labels.insert(
            FACTS_LABEL.to_string(),
            serde_json::to_string(&platform_facts(&facts, platform)).unwrap_or_default(),
        );
        labels.insert(
            "org.opencontainers.image.created".to_string(),
            created_timestamp(),
        );
        if let Some(revision) = &revision {
            labels.insert(
                "org.opencontainers.image.revision".to_string(),
                revision.clone(),
            );
        }
        if let Some(repository) = &request.push {
            labels.insert(
                "org.opencontainers.image.source".to_string(),
                repository.to_string(),
            );
        }
        // What the image runs on, by the OCI annotations' names: the fleet view judges it.
        if let Some(base) = resolved.iter().find(|b| Some(&b.name) == runs_on.as_ref()) {
            labels.insert(BASE_NAME_LABEL.to_string(), base.name.clone());
            if let Some(digest) = base.digest_for(platform) {
                labels.insert(BASE_DIGEST_LABEL.to_string(), digest);
            }
        }
        log(&format!(
            "building {platform} as {local_tag} with {builder}"
        ));
        let build_args: HashMap<String, String> = request
            .build_args
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut build_log = |line: &str| log(&format!("  {line}"));
        let spec = BuildSpec {
            context: context.tar.clone(),
            dockerfile: &request.dockerfile,
            platform,
            tag: &local_tag,
            build_args: &build_args,
            labels,
            target: request.target.as_deref(),
            secrets: &request.secrets,
        };
        let found = match builder {
            Builder::Classic => {
                // The classic builder takes a base by name whatever its platform: make sure the
                // local copy of each base is this platform's, and keep it so until the build
                // is done.
                let lock = engine::lock_bases(&bases)?;
                for base in &resolved {
                    engine::ensure_image(&docker, &base.name, platform, base.login.clone())
                        .await
                        .with_context(|| format!("the base {} for {platform}", base.name))?;
                }
                let id = engine::build_classic(&docker, spec, &mut build_log).await?;
                // The ID, not the tag, from here on: a parallel build of the same inputs may
                // retag.
                let found = engine::inspect(&docker, id.as_deref().unwrap_or(&local_tag)).await?;
                drop(lock);
                found
            }
            Builder::BuildKit => {
                // BuildKit resolves each base for the platform it builds, from its registry.
                let logins: HashMap<String, bollard::auth::DockerCredentials> = resolved
                    .iter()
                    .filter_map(|base| Some((base.registry.clone()?, base.login.clone()?)))
                    .collect();
                buildkit::build(&docker, spec, &logins, &mut build_log).await?;
                engine::inspect(&docker, &local_tag).await?
            }
        };
        engine::require_platform(&found, platform)?;
        let image_id = found
            .id
            .context("the Engine reported an image without an ID")?;
        let mut smoke_results = Vec::new();
        if request.smoke {
            let events = smoke::events(project, &request.events)?;
            for event in &events {
                log(&format!("smoke {platform}: {}", event.display()));
                let result = smoke::run(&docker, &image_id, platform, event).await?;
                if !result.passed {
                    return Err(Refusal::SmokeFailed {
                        platform: platform.clone(),
                        event: event.display().to_string(),
                        outcome: result.outcome,
                        logs: result.logs,
                    }
                    .into());
                }
                smoke_results.push(result);
            }
        }
        built.push((platform.clone(), inputs.clone(), image_id, smoke_results));
    }

    let Some((registry, repository)) = registry.as_ref().zip(request.push.as_ref()) else {
        return Ok(BuildResult {
            project: project.display().to_string(),
            repository: None,
            status: "built",
            builder: Some(builder),
            index_digest: None,
            tags: Vec::new(),
            platforms: built
                .into_iter()
                .map(|(platform, inputs, id, smoke)| PlatformResult {
                    smoke,
                    ..platform_result(&platform, &inputs, None, None, Some(id))
                })
                .collect(),
            attestations: Vec::new(),
            seconds: started.elapsed().as_secs_f64(),
        });
    };
    let pushed = push_built(
        &docker,
        registry,
        repository,
        built,
        &request.tags,
        plan.as_ref(),
        log,
    )
    .await?;
    Ok(BuildResult {
        project: project.display().to_string(),
        builder: Some(builder),
        seconds: started.elapsed().as_secs_f64(),
        ..pushed
    })
}

/// One built platform image: its platform, inputs digest, Engine image ID and smoke results.
pub type Built = (Platform, String, String, Vec<smoke::SmokeResult>);

/// Pushes built images (exactly those image IDs) and the index over them under `tags`.
pub async fn push_built<R: Registry>(
    docker: &bollard::Docker,
    registry: &R,
    repository: &Reference,
    built: Vec<Built>,
    tags: &[String],
    plan: Option<&attest::Plan>,
    log: Log<'_>,
) -> Outcome<BuildResult> {
    let started = Instant::now();
    let inputs: Vec<(Platform, String)> = built
        .iter()
        .map(|(platform, inputs, _, _)| (platform.clone(), inputs.clone()))
        .collect();
    // A replay (a retried stage, Jenkins' Replay, a re-run of the same commit) rebuilds the same
    // inputs into new image IDs: the registry's images stay, and the tags follow them.
    if let Some((index, tagged, attestations)) =
        retag_if_pushed(registry, repository, tags, &inputs, plan).await?
    {
        log(&format!(
            "unchanged inputs: {repository}@{} was built from the same inputs; tagged {} without pushing",
            index.digest,
            tags.join(", ")
        ));
        let results = built
            .into_iter()
            .zip(&tagged)
            .map(
                |((platform, inputs, image_id, smoke), (_, manifest))| PlatformResult {
                    smoke,
                    ..platform_result(
                        &platform,
                        &inputs,
                        Some(repository),
                        Some(manifest),
                        Some(image_id),
                    )
                },
            )
            .collect();
        return Ok(BuildResult {
            project: String::new(),
            repository: Some(repository.to_string()),
            status: "skipped",
            builder: None,
            index_digest: Some(index.digest),
            tags: tags.to_vec(),
            platforms: results,
            attestations,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let mut results = Vec::new();
    let mut descriptors = Vec::new();
    let mut children = Vec::new();
    for (platform, inputs, image_id, smoke) in built {
        log(&format!("pushing {platform} to {repository}"));
        let saved = engine::save(docker, &image_id).await?;
        // The SBOM is read from the very layers pushed, before their spool files go.
        let packages = match plan {
            Some(_) => {
                let layers: Vec<&std::path::Path> =
                    saved.layers.iter().map(|l| l.path.as_path()).collect();
                match attest::sbom::packages(&layers) {
                    Ok(packages) => Some(packages),
                    Err(reason) => {
                        log(&format!("no SBOM for {platform}: {reason}"));
                        None
                    }
                }
            }
            None => None,
        };
        let (descriptor, manifest) =
            push::push_platform_image(registry, repository, saved, &platform).await?;
        results.push(PlatformResult {
            smoke,
            ..platform_result(
                &platform,
                &inputs,
                Some(repository),
                Some(&manifest),
                Some(image_id),
            )
        });
        descriptors.push(descriptor);
        children.push((platform, manifest, packages));
    }
    let index = push::index(&descriptors);
    let attestations = match plan {
        Some(plan) => {
            attest_before_tagging(registry, repository, &index, &children, plan, log).await?
        }
        None => Vec::new(),
    };
    let children: Vec<(Platform, Manifest)> = children
        .into_iter()
        .map(|(platform, manifest, _)| (platform, manifest))
        .collect();
    push::tag_all(registry, repository, &index, &children, tags)
        .await
        .map_err(|stop| {
            stop.context(format!(
                "tagging {repository}@{} (platform images {}) as {}",
                index.digest,
                children
                    .iter()
                    .map(|(_, m)| m.digest.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                tags.join(", ")
            ))
        })?;
    log(&format!(
        "pushed {repository}@{} as {}",
        index.digest,
        tags.join(", ")
    ));
    Ok(BuildResult {
        project: String::new(),
        repository: Some(repository.to_string()),
        status: "built",
        builder: None,
        index_digest: Some(index.digest),
        tags: tags.to_vec(),
        platforms: results,
        attestations,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Signs and attaches a build's attestations; called before any tag moves, so a tag never
/// names an image whose attestations are not in the registry yet.
async fn attest_before_tagging<R: Registry>(
    registry: &R,
    repository: &Reference,
    index: &Manifest,
    children: &[(Platform, Manifest, Option<Vec<attest::sbom::Package>>)],
    plan: &attest::Plan,
    log: Log<'_>,
) -> Outcome<Vec<Attested>> {
    log(&format!(
        "attesting {repository}@{} (signed by {})",
        index.digest,
        plan.signer.describe()
    ));
    attest::attach_build(registry, repository, index, children, plan)
        .await
        .map_err(|error| {
            Stop::failed(error.context(format!(
                "attaching attestations to {repository}@{}: nothing was tagged",
                index.digest
            )))
        })
}

/// The build, as its provenance tells it.
fn build_facts(
    request: &BuildRequest,
    revision: Option<&str>,
    resolved: &[ResolvedBase],
    builder: Builder,
    started: &str,
    context_digest: &str,
) -> attest::statement::BuildFacts {
    attest::statement::BuildFacts {
        source_uri: git_remote(&request.project),
        commit: revision.map(str::to_string),
        dockerfile: request.dockerfile.clone(),
        platforms: request.platforms.iter().map(|p| p.to_string()).collect(),
        build_args: request.build_args.clone(),
        target: request.target.clone(),
        secret_ids: request.secrets.iter().map(|s| s.id.clone()).collect(),
        bases: resolved
            .iter()
            .map(|base| {
                let digests = request
                    .platforms
                    .iter()
                    .filter_map(|p| Some((p.to_string(), base.digest_for(p)?)))
                    .filter(|(_, digest)| crate::digest::is_sha256_digest(digest))
                    .collect();
                (base.name.clone(), digests)
            })
            .collect(),
        builder: builder.as_str().to_string(),
        invocation: invocation(),
        started: started.to_string(),
        finished: crate::date::now_rfc3339(),
        context_digest: context_digest.to_string(),
    }
    .without_secrets()
}

/// One platform's part of `facts`, as its image's label carries it (no run times: the label is
/// part of the image, and the same inputs make the same facts).
fn platform_facts(
    facts: &attest::statement::BuildFacts,
    platform: &Platform,
) -> attest::statement::BuildFacts {
    let platform = platform.to_string();
    attest::statement::BuildFacts {
        platforms: vec![platform.clone()],
        bases: facts
            .bases
            .iter()
            .map(|(name, digests)| {
                let mine = digests
                    .iter()
                    .filter(|(p, _)| *p == platform)
                    .cloned()
                    .collect();
                (name.clone(), mine)
            })
            .collect(),
        invocation: None,
        started: String::new(),
        finished: String::new(),
        ..facts.clone()
    }
}

/// Pushes images the Engine already has (`platform=image` pairs, e.g. from `build --format
/// json` without `--push`), checking each is the platform it is pushed as. With `signing`, the
/// gate's verdict on `signing.project` is attested, and only if the images were built from
/// exactly the sources the project holds now (their build context's digest, from their label).
pub async fn push_images(
    images: &[(Platform, String)],
    repository: &Reference,
    tags: &[String],
    connection: &Connection,
    signing: Option<&PushSigning>,
    log: Log<'_>,
) -> Outcome<BuildResult> {
    let docker = engine::connect().await?;
    let registry = AnyRegistry::connect(repository, connection).await?;
    let mut built = Vec::new();
    let mut facts: Option<attest::statement::BuildFacts> = None;
    let mut unlabelled = Vec::new();
    for (platform, image) in images {
        let inspect = engine::inspect(&docker, image).await?;
        engine::require_platform(&inspect, platform)?;
        let labels = inspect.config.and_then(|c| c.labels).unwrap_or_default();
        let inputs = labels.get(INPUTS_LABEL).cloned().unwrap_or_default();
        match labels
            .get(FACTS_LABEL)
            .and_then(|text| serde_json::from_str::<attest::statement::BuildFacts>(text).ok())
        {
            Some(own) => {
                facts = Some(match facts {
                    Some(known) => known.merge(own),
                    None => own,
                })
            }
            None => unlabelled.push(image.clone()),
        }
        let id = inspect.id.unwrap_or_else(|| image.clone());
        built.push((platform.clone(), inputs, id, Vec::new()));
    }
    let plan = match signing {
        Some(signing) => Some(push_plan(signing, facts, &unlabelled)?),
        None => None,
    };
    let result = push_built(
        &docker,
        &registry,
        repository,
        built,
        tags,
        plan.as_ref(),
        log,
    )
    .await?;
    Ok(BuildResult {
        project: String::new(),
        ..result
    })
}

/// What `push --sign-key` attests with: the gate's verdict on the project the images came from.
#[derive(Debug, Clone)]
pub struct PushSigning {
    pub signing: Signing,
    pub project: PathBuf,
}

/// The attestation plan of a push: the images' own build facts, checked against the project.
fn push_plan(
    signing: &PushSigning,
    facts: Option<attest::statement::BuildFacts>,
    unlabelled: &[String],
) -> anyhow::Result<attest::Plan> {
    let facts = match facts {
        Some(facts) if unlabelled.is_empty() => facts,
        _ => {
            bail!(
                "{} carries no `{FACTS_LABEL}` label: only images built by `lambda-gate build` can be attested (nothing was pushed)",
                unlabelled.join(", ")
            )
        }
    };
    let context = context::archive(&signing.project, &facts.dockerfile)?;
    if context.digest != facts.context_digest {
        bail!(
            "the images were built from other sources than {} holds now (build context {}, now {}): the gate's verdict would not be about them; build and push from the same checkout (nothing was pushed)",
            signing.project.display(),
            facts.context_digest,
            context.digest
        );
    }
    let now = crate::date::now_rfc3339();
    Ok(attest::Plan {
        signer: signing.signing.signer.clone(),
        verdict: Verdict {
            inputs_digest: context.digest,
            commit: facts.commit.clone(),
            ..signing.signing.verdict.clone()
        },
        facts: attest::statement::BuildFacts {
            invocation: invocation(),
            started: now.clone(),
            finished: now,
            ..facts
        },
    })
}

/// The CI run this is: Jenkins' `BUILD_URL`, else its `BUILD_TAG`.
fn invocation() -> Option<String> {
    ["BUILD_URL", "BUILD_TAG"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

fn platform_result(
    platform: &Platform,
    inputs: &str,
    repository: Option<&Reference>,
    manifest: Option<&Manifest>,
    image_id: Option<String>,
) -> PlatformResult {
    PlatformResult {
        platform: platform.to_string(),
        lambda_architecture: platform.lambda_architecture(),
        digest: manifest.map(|m| m.digest.clone()),
        image_uri: repository
            .zip(manifest)
            .map(|(r, m)| format!("{}/{}@{}", r.registry, r.repository, m.digest)),
        image_id,
        inputs: inputs.to_string(),
        smoke: Vec::new(),
    }
}

/// The images the build starts from (after ARG substitution with the build args), in order.
/// The base the final stage (or `target`) builds on, through `FROM <stage>`: what the image
/// runs on top of. `None` for `scratch` or a Dockerfile that does not parse.
fn final_base(
    text: &str,
    build_args: &BTreeMap<String, String>,
    target: Option<&str>,
) -> Option<String> {
    let parsed = dockerfile::parse(text).ok()?;
    let mut scope = parsed.global_args.clone();
    for (name, value) in build_args {
        if scope.get(name).is_some() {
            scope.declare(name, Some(value.clone()));
        }
    }
    let mut index = match target {
        Some(target) => parsed.stage_by_name(target)?,
        None => parsed.stages.len().checked_sub(1)?,
    };
    // Stages only name earlier stages, so this ends.
    loop {
        let stage = parsed.stages.get(index)?;
        match &stage.base {
            Base::Stage(earlier) if *earlier < index => index = *earlier,
            Base::Stage(_) | Base::Scratch => return None,
            _ => return crate::rules::dockerfile::expand::expand(&stage.image.text, &scope).ok(),
        }
    }
}

pub fn base_images(
    text: &str,
    build_args: &BTreeMap<String, String>,
    target: Option<&str>,
) -> anyhow::Result<Vec<String>> {
    let parsed = dockerfile::parse(text).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let mut scope = parsed.global_args.clone();
    for (name, value) in build_args {
        if scope.get(name).is_some() {
            scope.declare(name, Some(value.clone()));
        }
    }
    let last = match target {
        Some(target) => parsed
            .stage_by_name(target)
            .with_context(|| format!("no stage named `{target}`"))?,
        None => parsed.stages.len().saturating_sub(1),
    };
    let mut bases = Vec::new();
    for stage in parsed.stages.iter().take(last + 1) {
        if matches!(stage.base, Base::Stage(_) | Base::Scratch) {
            continue;
        }
        let text = crate::rules::dockerfile::expand::expand(&stage.image.text, &scope)
            .map_err(|e| anyhow::anyhow!("FROM {}: {e}", stage.image.text))?;
        if parsed.stage_by_name(&text).is_none() && !bases.contains(&text) {
            bases.push(text);
        }
    }
    Ok(bases)
}

/// A base image, looked up once per build (not once per platform): its registry's manifest,
/// the login to pull it, and the Engine's ID when no registry knows it.
struct ResolvedBase {
    name: String,
    /// The registry host, for BuildKit's session logins.
    registry: Option<String>,
    /// The digest written in the reference (`name@sha256:...`).
    pinned: Option<String>,
    manifest: Option<Manifest>,
    engine_id: Option<String>,
    login: Option<bollard::auth::DockerCredentials>,
}

impl ResolvedBase {
    /// The digest the base resolves to for `platform`; `None` when nothing knows it (then the
    /// build never counts as unchanged).
    fn digest_for(&self, platform: &Platform) -> Option<String> {
        if let Some(pinned) = &self.pinned {
            return Some(pinned.clone());
        }
        if let Some(manifest) = &self.manifest {
            return Some(
                manifest
                    .child(&platform.architecture)
                    .map_or(manifest.digest.clone(), |child| child.digest.clone()),
            );
        }
        self.engine_id.clone()
    }
}

async fn resolve_bases(
    docker: &bollard::Docker,
    bases: &[String],
    connection: &Connection,
) -> Vec<ResolvedBase> {
    let mut resolved = Vec::new();
    for name in bases {
        let reference = Reference::parse(name).ok();
        let mut manifest = None;
        if let Some(reference) = reference.as_ref().filter(|r| r.digest.is_none()) {
            if let Ok(registry) = AnyRegistry::connect(reference, connection).await {
                let tag = reference.tag.as_deref().unwrap_or("latest");
                manifest = registry
                    .manifest(&reference.repository, tag)
                    .await
                    .ok()
                    .flatten();
            }
        }
        let engine_id = match (
            &manifest,
            reference.as_ref().and_then(|r| r.digest.as_ref()),
        ) {
            (None, None) => engine::inspect(docker, name).await.ok().and_then(|f| f.id),
            _ => None,
        };
        resolved.push(ResolvedBase {
            name: name.clone(),
            registry: reference.as_ref().map(|r| r.registry.clone()),
            pinned: reference.as_ref().and_then(|r| r.digest.clone()),
            manifest,
            engine_id,
            login: engine::login_for(name).await,
        });
    }
    resolved
}

/// Refuses, before anything is built, what the chosen builder cannot build: BuildKit syntax
/// (or `--secret`) for the classic builder, heredocs for an Engine whose Dockerfile frontend
/// predates them. Names the line, as DKR010 does.
fn refuse_unbuildable_syntax(
    text: &str,
    dockerfile: &str,
    request: &BuildRequest,
    engine: &engine::EngineBuilder,
) -> anyhow::Result<()> {
    let parsed = dockerfile::parse(text).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let found = crate::rules::dockerfile::buildkit::buildkit_only(&parsed);
    let line = |offset: usize| crate::diagnostic::LineIndex::new(text).line_of(offset) + 1;
    if engine.builder == Builder::Classic {
        let why = match request.builder {
            BuilderChoice::Classic => "`--builder classic` or policy `builder = \"classic\"`",
            _ => "this Docker Engine has no BuildKit",
        };
        if let Some(secret) = request.secrets.first() {
            bail!(
                "`--secret id={}` needs BuildKit, and this build uses the classic builder ({why}): nothing was built",
                secret.id
            );
        }
        if let Some(found) = found.first() {
            bail!(
                "{dockerfile}:{}: `{}` needs BuildKit, and this build uses the classic builder \
                 ({why}): nothing was built",
                line(found.span.start),
                found.feature
            );
        }
        return Ok(());
    }
    // A `# syntax=` directive makes the Engine fetch that frontend instead of its own.
    let own_frontend = !parsed
        .directives
        .iter()
        .any(|d| d.name.eq_ignore_ascii_case("syntax"));
    if own_frontend && !engine.heredocs {
        if let Some(heredoc) = found.iter().find(|f| f.feature.contains("<<")) {
            bail!(
                "{dockerfile}:{}: `{}` (a heredoc) needs Dockerfile syntax 1.4, which this Docker \
                 Engine's own frontend (API {}) predates: use Docker Engine 23.0 or later, or \
                 start the Dockerfile with `# syntax=docker/dockerfile:1` (the Engine then pulls \
                 that frontend image): nothing was built",
                line(heredoc.span.start),
                heredoc.feature,
                engine.api
            );
        }
    }
    Ok(())
}

/// What decides an image: the context bytes, the Dockerfile's name, build args, target,
/// platform and the base digests.
fn inputs_digest(
    context_digest: &str,
    request: &BuildRequest,
    platform: &Platform,
    bases: &[(String, Option<String>)],
) -> String {
    let unresolved = bases.iter().any(|(_, digest)| digest.is_none());
    let description = json!({
        "context": context_digest,
        "dockerfile": request.dockerfile,
        "build_args": request.build_args,
        "target": request.target,
        "platform": platform.to_string(),
        "bases": bases,
        // An unresolvable base makes every build unique: never skip on a guess.
        "nonce": if unresolved { Some(created_timestamp()) } else { None },
    });
    sha256_digest(description.to_string().as_bytes())
}

/// When, under one of `tags`, the registry holds for every platform an image built from the same
/// inputs: moves the tags onto those images (with the same index over them) and returns the
/// index and the platforms' manifests. Images without an inputs label (not built by
/// lambda-gate) are never matched.
async fn retag_if_pushed<R: Registry>(
    registry: &R,
    repository: &Reference,
    tags: &[String],
    inputs: &[(Platform, String)],
    plan: Option<&attest::Plan>,
) -> Outcome<Option<(Manifest, Vec<(Platform, Manifest)>, Vec<Attested>)>> {
    if inputs.is_empty() || inputs.iter().any(|(_, wanted)| wanted.is_empty()) {
        return Ok(None);
    }
    let Some(children) = find_pushed(registry, repository, tags, inputs).await? else {
        return Ok(None);
    };
    let descriptors: Vec<_> = children.iter().map(|(d, _)| d.clone()).collect();
    let index = push::index(&descriptors);
    let tagged: Vec<(Platform, Manifest)> = inputs
        .iter()
        .map(|(p, _)| p.clone())
        .zip(children.into_iter().map(|(_, m)| m))
        .collect();
    // The images are the same; this run's gate verdict is attested on them all the same (its
    // policy may be newer than the one the first build passed). No SBOM: no layers were read.
    let attestations = match plan {
        Some(plan) => {
            let with_packages: Vec<_> = tagged
                .iter()
                .map(|(p, m)| (p.clone(), m.clone(), None))
                .collect();
            attest_before_tagging(
                registry,
                repository,
                &index,
                &with_packages,
                plan,
                &mut |_| {},
            )
            .await?
        }
        None => Vec::new(),
    };
    push::tag_all(registry, repository, &index, &tagged, tags).await?;
    Ok(Some((index, tagged, attestations)))
}

/// For every platform, a pushed image (under `<tag>-<arch>`) whose inputs label matches.
async fn find_pushed<R: Registry>(
    registry: &R,
    repository: &Reference,
    tags: &[String],
    inputs: &[(Platform, String)],
) -> anyhow::Result<Option<Vec<(super::registry::Descriptor, Manifest)>>> {
    let mut found = Vec::new();
    for (platform, wanted) in inputs {
        let mut hit = None;
        for tag in tags {
            let Some(manifest) = registry
                .manifest(&repository.repository, &push::arch_tag(tag, platform))
                .await?
            else {
                continue;
            };
            let Ok(config) = config_of(registry, repository, &manifest).await else {
                continue;
            };
            let label = config
                .pointer(&format!(
                    "/config/Labels/{}",
                    INPUTS_LABEL.replace('/', "~1")
                ))
                .and_then(|v| v.as_str());
            if label == Some(wanted.as_str()) {
                let variant = config
                    .get("variant")
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
                let descriptor =
                    super::registry::Descriptor::of_platform(&manifest, platform, variant);
                hit = Some((descriptor, manifest));
                break;
            }
        }
        match hit {
            Some(hit) => found.push(hit),
            None => return Ok(None),
        }
    }
    Ok(Some(found))
}

fn project_name(project: &Path) -> String {
    let name = std::fs::canonicalize(project)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_lowercase()))
        .unwrap_or_else(|| "project".into());
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    cleaned
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

/// The commit the project is at, for `org.opencontainers.image.revision`.
pub fn git_revision(project: &Path) -> Option<String> {
    let output = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(project)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The short commit, the default tag.
/// The project's `origin` remote, credentials removed, for provenance.
fn git_remote(project: &Path) -> Option<String> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(project)
        .args(["remote", "get-url", "origin"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let url = String::from_utf8(output.stdout).ok()?.trim().to_string();
    // `https://user:token@host/…`: what is before `@` is never attested. (`git@host:path` has
    // no password: it stays.)
    let url = match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
            match authority.rfind('@') {
                Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
                None => url,
            }
        }
        None => url,
    };
    Some(url).filter(|u| !u.is_empty())
}

pub fn git_short_revision(project: &Path) -> Option<String> {
    git_revision(project).map(|r| r[..r.len().min(12)].to_string())
}

/// RFC 3339 UTC, from `SOURCE_DATE_EPOCH` when set (reproducible builds), else now.
fn created_timestamp() -> String {
    match std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
    {
        Some(seconds) => crate::date::rfc3339(seconds),
        None => crate::date::now_rfc3339(),
    }
}

fn short(digest: &str) -> &str {
    &digest[..digest.len().min(19)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_base_follows_stages_targets_and_build_args() {
        let text = "ARG BASE=example.com/a:1\nFROM ${BASE} AS build\nRUN x\nFROM example.com/b:2 AS other\nFROM build AS final\n";
        let none = BTreeMap::new();
        assert_eq!(
            final_base(text, &none, None).as_deref(),
            Some("example.com/a:1")
        );
        assert_eq!(
            final_base(text, &none, Some("other")).as_deref(),
            Some("example.com/b:2")
        );
        let mut args = BTreeMap::new();
        args.insert(
            "BASE".to_string(),
            "example.com/c:3@sha256:".to_string() + &"1".repeat(64),
        );
        assert!(final_base(text, &args, None)
            .unwrap()
            .starts_with("example.com/c:3@sha256:"));
        assert_eq!(final_base("FROM scratch\n", &none, None), None);
    }

    #[test]
    fn bases_follow_build_args_and_skip_stages() {
        let text = "ARG BASE=example.com/a:1\nFROM ${BASE} AS build\nRUN x\nFROM build\nFROM scratch AS s\nFROM example.com/b:2\n";
        let mut args = BTreeMap::new();
        assert_eq!(
            base_images(text, &args, None).unwrap(),
            vec!["example.com/a:1", "example.com/b:2"]
        );
        args.insert("BASE".into(), "127.0.0.1:5000/x:test".into());
        args.insert("UNDECLARED".into(), "ignored".into());
        assert_eq!(
            base_images(text, &args, Some("build")).unwrap(),
            vec!["127.0.0.1:5000/x:test"]
        );
        assert!(base_images(text, &args, Some("nope")).is_err());
    }
}
