//! The image a deploy puts in: the child of an index for the function's architecture,
//! verified in the registry as `verify-deployable` does.

use super::DeployRefusal;
use crate::runner::outcome::{Outcome, Stop};
use crate::runner::promote;
use crate::runner::reference::Reference;
use crate::runner::registry::{require_manifest, AnyRegistry, Manifest, ManifestKind};

/// The single-platform manifest of `image` for `architecture`, verified in the registry.
pub(super) async fn child_for(
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

fn manifest_platforms(manifest: &Manifest) -> String {
    match &manifest.kind {
        ManifestKind::Index(children) => {
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
pub(super) async fn index_children(
    registry: &AnyRegistry,
    image: &Reference,
    digest: &str,
) -> anyhow::Result<Vec<String>> {
    let manifest = require_manifest(registry, image, digest).await?;
    Ok(match &manifest.kind {
        ManifestKind::Index(children) => children.iter().map(|c| c.digest.clone()).collect(),
        _ => Vec::new(),
    })
}
