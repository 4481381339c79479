//! `lambda-gate pipeline`: this repository's own Jenkins pipeline. Builds the release and dev
//! base images from `images/` for every platform as `test`, builds `example-project` against
//! those `test` bases (gate, build, smoke test), and only when all of that passed promotes both
//! bases to `latest` — by the digests just built, never whatever `test` points at by then.
//! With a policy file to record in, it then writes the two new digests there, the replaced
//! ones kept allowed until a grace date ([`crate::policy::record`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use super::build::{self, BuildRequest, BuildResult, Log};
use super::outcome::{Outcome, Refusal};
use super::promote::{self, PromoteRequest, PromoteResult, Source};
use super::reference::Reference;
use super::registry::{AnyRegistry, Connection};
use super::Platform;
use crate::policy::record::{record_in_file, BuiltBase, RecordedDigest};
use crate::rules::dockerfile::image::ImageRef;

pub const RELEASE_BASE: &str = "aws-lambda-python-release-base";
pub const DEV_BASE: &str = "aws-lambda-python-dev-base";
pub const EXAMPLE: &str = "example-project";

#[derive(Debug, Clone)]
pub struct PipelineRequest {
    /// The repository root (holds `images/` and `example-project/`).
    pub root: PathBuf,
    /// `host[:port]/prefix`: images go to `<prefix>/<image name>`.
    pub registry: String,
    pub platforms: Vec<Platform>,
    /// Given to every build (a Dockerfile ignores the ones it does not declare).
    pub build_args: BTreeMap<String, String>,
    pub connection: Connection,
    pub ladders: Vec<Vec<String>>,
    pub moving_tags: Vec<String>,
    pub builder: crate::policy::BuilderChoice,
    /// Where to record the promoted bases' digests, if anywhere.
    pub record: Option<RecordPolicy>,
}

/// The policy file the promoted digests are recorded in, and how long a replaced digest stays
/// allowed.
#[derive(Debug, Clone)]
pub struct RecordPolicy {
    pub file: PathBuf,
    pub grace_days: u32,
}

#[derive(Debug, Serialize)]
pub struct PipelineResult {
    pub builds: Vec<BuildResult>,
    pub promotions: Vec<PromoteResult>,
    /// What recording the digests did to each policy key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recorded: Vec<RecordedDigest>,
}

/// Runs the pipeline; `gate` checks a project and says whether it is clean.
pub async fn run(
    request: &PipelineRequest,
    gate: &(dyn Fn(&Path) -> anyhow::Result<bool> + Sync),
    log: Log<'_>,
) -> Outcome<PipelineResult> {
    let repository = |name: &str| -> anyhow::Result<Reference> {
        Reference::parse(&format!(
            "{}/{name}",
            request.registry.trim_end_matches('/')
        ))
        .with_context(|| format!("the pipeline's registry `{}`", request.registry))
    };
    let step = |project: &str,
                dockerfile: &str,
                push: Reference,
                extra: &[(&str, String)],
                smoke: bool| {
        let mut build_args = request.build_args.clone();
        for (name, value) in extra {
            build_args.insert((*name).to_string(), value.clone());
        }
        BuildRequest {
            project: request.root.join(project),
            dockerfile: dockerfile.to_string(),
            platforms: request.platforms.clone(),
            tags: vec!["test".to_string()],
            push: Some(push),
            build_args,
            target: None,
            smoke,
            events: Vec::new(),
            connection: request.connection.clone(),
            builder: request.builder,
            secrets: Vec::new(),
            signing: None,
        }
    };

    log(&format!("pipeline: {RELEASE_BASE}"));
    let release_repo = repository(RELEASE_BASE)?;
    let release = build::build(
        &step(
            &format!("images/{RELEASE_BASE}"),
            "Dockerfile",
            release_repo.clone(),
            &[],
            false,
        ),
        &mut *log,
    )
    .await
    .map_err(|stop| stop.context(format!("building {RELEASE_BASE}")))?;
    let release_ref = format!(
        "{}@{}",
        release_repo.without_tag(),
        release.index_digest.clone().unwrap_or_default()
    );

    log(&format!("pipeline: {DEV_BASE}"));
    let dev_repo = repository(DEV_BASE)?;
    let dev = build::build(
        &step(
            ".",
            &format!("images/{DEV_BASE}/Dockerfile"),
            dev_repo.clone(),
            &[("RELEASE_BASE", release_ref.clone())],
            false,
        ),
        &mut *log,
    )
    .await
    .map_err(|stop| stop.context(format!("building {DEV_BASE}")))?;

    log(&format!("pipeline: {EXAMPLE} against the `test` bases"));
    let example_dir = request.root.join(EXAMPLE);
    if !gate(&example_dir)? {
        return Err(Refusal::GateFailed(example_dir).into());
    }
    let example = build::build(
        &step(
            EXAMPLE,
            "Dockerfile",
            repository(EXAMPLE)?,
            &[("BASE_IMAGE", release_ref)],
            true,
        ),
        &mut *log,
    )
    .await
    .map_err(|stop| stop.context(format!("building {EXAMPLE}: nothing is promoted")))?;

    let mut promotions = Vec::new();
    for (repo, built) in [(&release_repo, &release), (&dev_repo, &dev)] {
        let digest = built
            .index_digest
            .clone()
            .context("a base build pushed no index")?;
        log(&format!("pipeline: promoting {repo} {digest} to latest"));
        let registry = AnyRegistry::connect(repo, &request.connection).await?;
        let result = promote::promote(
            &registry,
            &PromoteRequest {
                repository: repo.clone(),
                source: Source::Digest(digest),
                to: "latest".into(),
                ladders: request.ladders.clone(),
                moving_tags: request.moving_tags.clone(),
                record_ssm: None,
            },
        )
        .await?;
        promotions.push(result);
    }
    let mut recorded = Vec::new();
    if let Some(record) = &request.record {
        let bases = [(&release_repo, &release), (&dev_repo, &dev)]
            .into_iter()
            .map(|(repo, built)| BuiltBase {
                repository: repo.without_tag(),
                digest: built.index_digest.clone().unwrap_or_default(),
            })
            .collect::<Vec<_>>();
        let tag = upstream_tag(request)?;
        log(&format!(
            "pipeline: recording the base digests in {}",
            record.file.display()
        ));
        recorded = record_in_file(&record.file, &bases, tag.as_deref(), record.grace_days)
            .context("the bases are promoted, but their digests are not recorded")?;
        for line in &recorded {
            log(&format!("pipeline: {line}"));
        }
    }
    Ok(PipelineResult {
        builds: vec![release, dev, example],
        promotions,
        recorded,
    })
}

/// The tag of the upstream image the release base builds on (`3.12` of
/// `public.ecr.aws/lambda/python:3.12@sha256:...`, or of the `UPSTREAM_IMAGE` build argument):
/// the tag Lambdas name the bases by, so a policy with no key for a base gets `REPO:TAG`.
fn upstream_tag(request: &PipelineRequest) -> anyhow::Result<Option<String>> {
    let dockerfile = request
        .root
        .join(format!("images/{RELEASE_BASE}/Dockerfile"));
    let text = std::fs::read_to_string(&dockerfile)
        .with_context(|| format!("cannot read `{}`", dockerfile.display()))?;
    let bases = build::base_images(&text, &request.build_args, None)?;
    Ok(bases
        .last()
        .and_then(|base| ImageRef::parse(base).ok())
        .and_then(|image| image.tag))
}
