//! Pushing built images: blobs first, then each platform's manifest by digest, then the tags.
//! A tag is only ever written once everything it references is in the registry, so an
//! interrupted push leaves at most unreferenced blobs, never a tag pointing at a partial image.

use serde_json::json;

use super::engine::SavedImage;
use super::outcome::{Outcome, Stop};
use super::reference::Reference;
use super::registry::manifest::{OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST};
use super::registry::{Blob, Descriptor, Manifest, Registry, RegistryError};
use super::{sha256_digest, Platform};

/// Uploads `blob` unless the repository already has it.
async fn ensure_blob<R: Registry>(
    registry: &R,
    repository: &str,
    digest: &str,
    blob: Blob,
) -> Result<(), RegistryError> {
    if !registry.has_blob(repository, digest).await? {
        registry.put_blob(repository, digest, blob).await?;
    }
    Ok(())
}

/// Pushes one platform's image and its manifest (by digest, untagged); returns the index entry.
/// Its layers go up from the files [`super::engine::save`] spooled them to, a chunk at a time.
pub async fn push_platform_image<R: Registry>(
    registry: &R,
    repository: &Reference,
    image: SavedImage,
    platform: &Platform,
) -> Result<(Descriptor, Manifest), RegistryError> {
    let repo = repository.repository.as_str();
    let variant = serde_json::from_slice::<serde_json::Value>(&image.config)
        .ok()
        .and_then(|c| {
            c.get("variant")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        });
    let config_digest = sha256_digest(&image.config);
    let config_size = image.config.len() as u64;
    ensure_blob(
        registry,
        repo,
        &config_digest,
        Blob::Bytes(image.config.clone()),
    )
    .await?;
    let mut layers = Vec::new();
    for layer in &image.layers {
        let blob = Blob::File {
            path: layer.path.clone(),
            size: layer.size,
        };
        ensure_blob(registry, repo, &layer.digest, blob).await?;
        layers
            .push(json!({"mediaType": OCI_LAYER_GZIP, "digest": layer.digest, "size": layer.size}));
    }
    let manifest = Manifest::build(
        &json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
            "layers": layers,
        }),
        OCI_MANIFEST,
    );
    registry
        .put_manifest(repo, &manifest.digest, &manifest)
        .await?;
    let descriptor = Descriptor::of_platform(&manifest, platform, variant);
    Ok((descriptor, manifest))
}

/// The image index over `children`, in the order given (no attestation entries).
pub fn index(children: &[Descriptor]) -> Manifest {
    Manifest::build(
        &json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": children,
        }),
        OCI_INDEX,
    )
}

/// Writes the tags: `<tag>-<arch>` for each platform's manifest, then the index under `<tag>`.
pub async fn tag_all<R: Registry>(
    registry: &R,
    repository: &Reference,
    index: &Manifest,
    children: &[(Platform, Manifest)],
    tags: &[String],
) -> Outcome<()> {
    let repo = repository.repository.as_str();
    put(registry, repo, &index.digest, index).await?;
    for tag in tags {
        for (platform, manifest) in children {
            put(registry, repo, &arch_tag(tag, platform), manifest).await?;
        }
        put(registry, repo, tag, index).await?;
    }
    Ok(())
}

/// Writes one tag; a tag the registry will not move is a refusal naming both digests.
async fn put<R: Registry>(
    registry: &R,
    repository: &str,
    reference: &str,
    manifest: &Manifest,
) -> Outcome<()> {
    registry
        .put_manifest(repository, reference, manifest)
        .await
        .map_err(|error| Stop::from_registry(error, &manifest.digest))
}

/// The per-platform tag: `<tag>-<arch>`, so tag-based lifecycle rules see every image (the
/// shapes are defined once, in [`crate::ecr::tags`]).
pub fn arch_tag(tag: &str, platform: &Platform) -> String {
    crate::ecr::tags::child_tag(tag, &platform.architecture)
}
