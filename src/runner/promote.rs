//! `lambda-gate promote` and `verify-deployable`: a promotion copies a manifest's original bytes
//! to another tag in the registry (no layer moves), checks the digest is unchanged, respects
//! immutable tags and the policy's environment ladders, and can record the per-architecture
//! digests in SSM for each environment's Terraform.

use serde::Serialize;
use thiserror::Error;

use super::outcome::{Outcome, Refusal, Stop};
use super::push::arch_tag;
use super::reference::{Backend, Reference};
use super::registry::{
    config_of, require_manifest, Manifest, ManifestKind, Registry, RegistryError,
};
use super::Platform;

/// What to promote.
#[derive(Debug, Clone)]
pub enum Source {
    /// Whatever the tag points at now.
    Tag(String),
    /// Exactly this image (compare-and-set: what passed is what moves).
    Digest(String),
}

#[derive(Debug, Clone)]
pub struct PromoteRequest {
    pub repository: Reference,
    pub source: Source,
    pub to: String,
    /// The policy's environment ladders.
    pub ladders: Vec<Vec<String>>,
    /// Globs of tags that may move; every other tag is immutable.
    pub moving_tags: Vec<String>,
    pub record_ssm: Option<String>,
}

/// Why a promotion up a ladder was refused: the rung below must carry the very digest.
#[derive(Debug, Error)]
pub enum LadderRefusal {
    #[error("`{to}` only accepts the digest `{below}` currently carries: `{below}` is at {current}, not {wanted}")]
    Moved {
        to: String,
        below: String,
        current: String,
        wanted: String,
    },
    #[error(
        "`{to}` only accepts the digest `{below}` currently carries, and `{below}` names no image"
    )]
    Empty { to: String, below: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct ArchitectureDigest {
    pub architecture: &'static str,
    pub digest: String,
    pub image_uri: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PromoteResult {
    pub repository: String,
    pub to: String,
    pub digest: String,
    pub media_type: String,
    /// `promoted`, or `unchanged` when the tag already pointed at the digest.
    pub status: &'static str,
    pub platforms: Vec<ArchitectureDigest>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ssm_parameters: Vec<String>,
}

pub async fn promote<R: Registry>(
    registry: &R,
    request: &PromoteRequest,
) -> Outcome<PromoteResult> {
    let image = &request.repository;
    let repo = image.repository.as_str();
    let source = match &request.source {
        Source::Tag(tag) => require_manifest(registry, image, tag).await?,
        Source::Digest(digest) => require_manifest(registry, image, digest).await?,
    };
    // The ladder: the rung below must carry this very digest now.
    if let Some(below) = rung_below(&request.ladders, &request.to) {
        match registry.manifest(repo, below).await? {
            Some(current) if current.digest == source.digest => {}
            Some(current) => {
                return Err(LadderRefusal::Moved {
                    to: request.to.clone(),
                    below: below.to_string(),
                    current: current.digest,
                    wanted: source.digest,
                }
                .into())
            }
            None => {
                return Err(LadderRefusal::Empty {
                    to: request.to.clone(),
                    below: below.to_string(),
                }
                .into())
            }
        }
    }
    let current = registry.manifest(repo, &request.to).await?;
    let status = match &current {
        Some(current) if current.digest == source.digest => "unchanged",
        Some(current) if !is_moving(&request.moving_tags, &request.to) => {
            return Err(Refusal::ImmutableTag {
                tag: request.to.clone(),
                current: current.digest.clone(),
                wanted: source.digest.clone(),
            }
            .into())
        }
        _ => "promoted",
    };
    let platforms = platform_manifests(registry, image, &source).await?;
    if status == "promoted" {
        // Per-architecture tags first, so `<to>` never names an index whose children lack them.
        for (platform, manifest) in &platforms {
            if source.is_index() {
                registry
                    .put_manifest(repo, &arch_tag(&request.to, platform), manifest)
                    .await
                    .map_err(|e| Stop::from_registry(e, &manifest.digest))?;
            }
        }
        registry
            .put_manifest(repo, &request.to, &source)
            .await
            .map_err(|e| Stop::from_registry(e, &source.digest))?;
    }
    let stored = require_manifest(registry, image, &request.to).await?;
    if stored.digest != source.digest {
        return Err(RegistryError::DigestMismatch {
            registry: image.registry.clone(),
            what: format!("`{}` after the promotion", request.to),
            expected: source.digest.clone(),
            actual: stored.digest,
        }
        .into());
    }
    let platforms: Vec<ArchitectureDigest> = platforms
        .iter()
        .map(|(platform, manifest)| ArchitectureDigest {
            architecture: platform.lambda_architecture(),
            digest: manifest.digest.clone(),
            image_uri: format!(
                "{}/{}@{}",
                image.registry, image.repository, manifest.digest
            ),
        })
        .collect();
    let ssm_parameters = match &request.record_ssm {
        Some(parameter) => record_ssm(&ssm_client(image).await, parameter, &platforms).await?,
        None => Vec::new(),
    };
    Ok(PromoteResult {
        repository: format!("{}/{}", image.registry, image.repository),
        to: request.to.clone(),
        digest: source.digest,
        media_type: source.media_type,
        status,
        platforms,
        ssm_parameters,
    })
}

fn rung_below<'a>(ladders: &'a [Vec<String>], to: &str) -> Option<&'a str> {
    ladders.iter().find_map(|ladder| {
        let position = ladder.iter().position(|rung| rung == to)?;
        position.checked_sub(1).map(|below| ladder[below].as_str())
    })
}

fn is_moving(moving_tags: &[String], tag: &str) -> bool {
    moving_tags.iter().any(|pattern| {
        crate::glob::Glob::new(pattern, crate::glob::Options::default())
            .is_ok_and(|g| g.compile_matcher().is_match(tag))
    })
}

/// Each platform's single-platform manifest: an index's children, or the manifest itself.
async fn platform_manifests<R: Registry>(
    registry: &R,
    image: &Reference,
    manifest: &Manifest,
) -> Result<Vec<(Platform, Manifest)>, RegistryError> {
    let mut out = Vec::new();
    match &manifest.kind {
        ManifestKind::Index(children) => {
            for child in children {
                let Some(platform) = child.platform.as_ref() else {
                    continue;
                };
                // Attestation entries (`unknown/unknown`) are not images.
                let Ok(parsed) =
                    Platform::parse(&format!("{}/{}", platform.os, platform.architecture))
                else {
                    continue;
                };
                let child_manifest = require_manifest(registry, image, &child.digest).await?;
                out.push((parsed, child_manifest));
            }
        }
        ManifestKind::Image { .. } => {
            let config = config_of(registry, image, manifest).await?;
            let architecture = config
                .get("architecture")
                .and_then(|a| a.as_str())
                .unwrap_or("amd64");
            if let Ok(platform) = Platform::parse(&format!("linux/{architecture}")) {
                out.push((platform, manifest.clone()));
            }
        }
    }
    Ok(out)
}

/// An SSM client in the region of `image`'s registry unless the environment names one.
async fn ssm_client(image: &Reference) -> aws_sdk_ssm::Client {
    let mut loader = aws_config::from_env();
    if let Backend::Ecr { region, .. } = image.backend() {
        if std::env::var_os("AWS_REGION").is_none()
            && std::env::var_os("AWS_DEFAULT_REGION").is_none()
        {
            loader = loader.region(aws_config::Region::new(region));
        }
    }
    aws_sdk_ssm::Client::new(&loader.load().await)
}

/// Writes `<parameter>/<architecture>` = `host/path@digest` for each platform.
pub async fn record_ssm(
    client: &aws_sdk_ssm::Client,
    parameter: &str,
    platforms: &[ArchitectureDigest],
) -> anyhow::Result<Vec<String>> {
    let mut written = Vec::new();
    for platform in platforms {
        let name = format!(
            "{}/{}",
            parameter.trim_end_matches('/'),
            platform.architecture
        );
        client
            .put_parameter()
            .name(&name)
            .value(&platform.image_uri)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| crate::runner::aws_error::explain("PutParameter", e))
            .map_err(|e| anyhow::Error::new(e).context(format!("writing SSM parameter {name}")))?;
        written.push(name);
    }
    Ok(written)
}

/// Why a reference cannot be deployed to a function of an architecture.
#[derive(Debug, Error)]
pub enum NotDeployable {
    #[error("{0}")]
    NotAttested(#[from] crate::runner::attest::verify::Shortfall),
    #[error("{image} is an image index (multi-platform); Lambda accepts only a single-platform manifest. Deploy {suggestion}")]
    Index { image: String, suggestion: String },
    #[error("{image} is built for {actual}, but the function is {wanted}: it would fail at invoke time with `exec format error`")]
    Architecture {
        image: String,
        actual: String,
        wanted: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Deployable {
    pub image: String,
    pub digest: String,
    pub architecture: String,
    pub image_uri: String,
    /// The signed verdict the environment asked for (`--environment`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation: Option<crate::runner::attest::verify::Verified>,
}

/// Checks that `image` resolves to a single-platform manifest for `architecture`
/// (`x86_64`/`amd64` or `arm64`).
pub async fn verify_deployable<R: Registry>(
    registry: &R,
    image: &Reference,
    architecture: &str,
) -> Outcome<Deployable> {
    let wanted = match architecture {
        "x86_64" | "amd64" => "amd64",
        "arm64" | "aarch64" => "arm64",
        other => {
            return Err(anyhow::anyhow!(
                "unknown architecture `{other}`: Lambda runs `x86_64` and `arm64`"
            )
            .into())
        }
    };
    let reference = image
        .digest
        .clone()
        .or_else(|| image.tag.clone())
        .unwrap_or_else(|| "latest".into());
    let manifest = require_manifest(registry, image, &reference).await?;
    if manifest.is_index() {
        let suggestion = match manifest.child(wanted) {
            Some(child) => format!(
                "{}/{}@{} for {architecture}",
                image.registry, image.repository, child.digest
            ),
            None => format!("a single-platform image: the index has no linux/{wanted} entry"),
        };
        return Err(NotDeployable::Index {
            image: image.to_string(),
            suggestion,
        }
        .into());
    }
    let config = config_of(registry, image, &manifest).await?;
    let actual = config
        .get("architecture")
        .and_then(|a| a.as_str())
        .unwrap_or("unknown")
        .to_string();
    let os = config.get("os").and_then(|a| a.as_str()).unwrap_or("linux");
    if actual != wanted || os != "linux" {
        return Err(NotDeployable::Architecture {
            image: image.to_string(),
            actual: format!("{os}/{actual}"),
            wanted: format!("linux/{wanted} ({architecture})"),
        }
        .into());
    }
    Ok(Deployable {
        image: image.to_string(),
        digest: manifest.digest.clone(),
        architecture: wanted.to_string(),
        image_uri: format!(
            "{}/{}@{}",
            image.registry, image.repository, manifest.digest
        ),
        attestation: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_rungs_and_moving_tags() {
        let ladders = vec![
            vec!["test".to_string(), "latest".to_string()],
            vec!["dev".to_string(), "staging".to_string(), "prod".to_string()],
        ];
        assert_eq!(rung_below(&ladders, "prod"), Some("staging"));
        assert_eq!(rung_below(&ladders, "latest"), Some("test"));
        assert_eq!(rung_below(&ladders, "dev"), None);
        assert_eq!(rung_below(&ladders, "v1.2.3"), None);
        let moving = vec!["latest".to_string(), "pr-*".to_string()];
        assert!(is_moving(&moving, "pr-12"));
        assert!(!is_moving(&moving, "3f2a9c1"));
    }
}
