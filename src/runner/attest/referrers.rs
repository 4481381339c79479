//! Attestations stored beside the image they are about, as OCI 1.1 referrers: one artifact
//! manifest per envelope, whose `subject` is the image. Registries with the referrers API (ECR,
//! distribution 3) index them themselves; for the others (distribution 2, what Debian ships) the
//! runner keeps the OCI referrers tag schema's index under the tag `sha256-<hex>`, which any
//! client can read (the `oras` client, `crane`, `skopeo`).

use bytes::Bytes;
use serde_json::json;

use super::dsse::ENVELOPE_MEDIA_TYPE;
use crate::runner::registry::manifest::{OCI_INDEX, OCI_MANIFEST};
use crate::runner::registry::{Blob, Descriptor, Manifest, Registry, RegistryError};
use crate::runner::sha256_digest;

/// The annotation naming an attestation's predicate type (as Docker's and cosign's do).
pub const PREDICATE_ANNOTATION: &str = "in-toto.io/predicate-type";
/// OCI 1.1's empty config: `{}`.
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
const EMPTY: &[u8] = b"{}";

/// One signed envelope to attach: its predicate type and its bytes.
pub struct Attachment {
    pub predicate_type: String,
    pub envelope: Bytes,
}

/// The predicate type a referrer's annotation names, when it names one: a referrer without it is
/// read to find out.
pub fn predicate_of(referrer: &Descriptor) -> Option<&str> {
    referrer
        .annotations
        .as_ref()?
        .get(PREDICATE_ANNOTATION)?
        .as_str()
}

/// The referrers tag schema's tag for `digest`: `sha256:<hex>` → `sha256-<hex>`.
pub fn fallback_tag(digest: &str) -> String {
    digest.replace(':', "-")
}

/// Pushes each attachment as a referrer of `subject` in `repository`, then (on a registry
/// without the referrers API) writes the referrers tag once with all of them. Returns the
/// referrers' descriptors.
pub async fn attach<R: Registry>(
    registry: &R,
    repository: &str,
    subject: &Manifest,
    attachments: &[Attachment],
    created: &str,
) -> Result<Vec<Descriptor>, RegistryError> {
    let empty_digest = sha256_digest(EMPTY);
    if !registry.has_blob(repository, &empty_digest).await? {
        registry
            .put_blob(
                repository,
                &empty_digest,
                Blob::Bytes(Bytes::from_static(EMPTY)),
            )
            .await?;
    }
    let mut descriptors = Vec::new();
    for attachment in attachments {
        let blob_digest = sha256_digest(&attachment.envelope);
        if !registry.has_blob(repository, &blob_digest).await? {
            registry
                .put_blob(
                    repository,
                    &blob_digest,
                    Blob::Bytes(attachment.envelope.clone()),
                )
                .await?;
        }
        let annotations = json!({
            PREDICATE_ANNOTATION: attachment.predicate_type,
            "org.opencontainers.image.created": created,
        });
        let manifest = Manifest::build(
            &json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "artifactType": ENVELOPE_MEDIA_TYPE,
                "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": empty_digest, "size": EMPTY.len(), "data": "e30="},
                "layers": [{"mediaType": ENVELOPE_MEDIA_TYPE, "digest": blob_digest, "size": attachment.envelope.len()}],
                "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": subject.bytes.len()},
                "annotations": annotations,
            }),
            OCI_MANIFEST,
        );
        registry
            .put_manifest(repository, &manifest.digest, &manifest)
            .await?;
        descriptors.push(Descriptor {
            media_type: OCI_MANIFEST.to_string(),
            digest: manifest.digest.clone(),
            size: manifest.bytes.len() as u64,
            platform: None,
            artifact_type: Some(ENVELOPE_MEDIA_TYPE.to_string()),
            annotations: annotations.as_object().cloned(),
        });
    }
    let indexed = registry.referrers(repository, &subject.digest).await?;
    let all_indexed = indexed.as_ref().is_some_and(|listed| {
        descriptors
            .iter()
            .all(|d| listed.iter().any(|l| l.digest == d.digest))
    });
    if !all_indexed {
        extend_fallback(registry, repository, &subject.digest, &descriptors).await?;
    }
    Ok(descriptors)
}

/// Adds `descriptors` to the referrers tag's index of `subject` (created when absent).
async fn extend_fallback<R: Registry>(
    registry: &R,
    repository: &str,
    subject: &str,
    descriptors: &[Descriptor],
) -> Result<(), RegistryError> {
    let tag = fallback_tag(subject);
    let mut listed = fallback(registry, repository, subject).await?;
    let before = listed.len();
    for descriptor in descriptors {
        if !listed.iter().any(|l| l.digest == descriptor.digest) {
            listed.push(descriptor.clone());
        }
    }
    if listed.len() == before && before > 0 {
        return Ok(());
    }
    let index = Manifest::build(
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": listed}),
        OCI_INDEX,
    );
    registry.put_manifest(repository, &tag, &index).await
}

/// The referrers tag's index of `subject`: empty when there is none (or it is not an index).
async fn fallback<R: Registry>(
    registry: &R,
    repository: &str,
    subject: &str,
) -> Result<Vec<Descriptor>, RegistryError> {
    Ok(
        match registry
            .manifest(repository, &fallback_tag(subject))
            .await?
            .map(|m| m.kind)
        {
            Some(crate::runner::registry::ManifestKind::Index(listed)) => listed,
            _ => Vec::new(),
        },
    )
}

/// Every DSSE referrer of `subject`: from the referrers API where the registry has it, and from
/// the referrers tag (a registry may have gained the API after the tag was written).
pub async fn envelopes_of<R: Registry>(
    registry: &R,
    repository: &str,
    subject: &str,
) -> Result<Vec<Descriptor>, RegistryError> {
    let mut listed = registry
        .referrers(repository, subject)
        .await?
        .unwrap_or_default();
    for descriptor in fallback(registry, repository, subject).await? {
        if !listed.iter().any(|l| l.digest == descriptor.digest) {
            listed.push(descriptor);
        }
    }
    listed.retain(|d| d.artifact_type.as_deref() == Some(ENVELOPE_MEDIA_TYPE));
    Ok(listed)
}

/// The envelope a referrer manifest carries, checked: the manifest is what its digest says,
/// its subject is `subject`, and the envelope blob hashes to its descriptor.
pub async fn fetch_envelope<R: Registry>(
    registry: &R,
    repository: &str,
    subject: &str,
    referrer: &Descriptor,
) -> Result<Bytes, String> {
    let manifest = registry
        .manifest(repository, &referrer.digest)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the referrer {} is listed but not stored", referrer.digest))?;
    let raw: serde_json::Value =
        serde_json::from_slice(&manifest.bytes).map_err(|e| e.to_string())?;
    let points_at = raw
        .pointer("/subject/digest")
        .and_then(|d| d.as_str())
        .unwrap_or_default();
    if points_at != subject {
        return Err(format!(
            "the referrer {} is about {points_at}, not {subject}",
            referrer.digest
        ));
    }
    let layer = match &manifest.kind {
        crate::runner::registry::ManifestKind::Image { layers, .. } => layers
            .iter()
            .find(|l| l.media_type == ENVELOPE_MEDIA_TYPE)
            .ok_or_else(|| format!("the referrer {} holds no envelope", referrer.digest))?,
        _ => return Err(format!("the referrer {} is an index", referrer.digest)),
    };
    let bytes = registry
        .blob(repository, &layer.digest)
        .await
        .map_err(|e| e.to_string())?;
    let actual = sha256_digest(&bytes);
    if actual != layer.digest {
        return Err(format!(
            "the envelope blob {} hashes to {actual}: changed in the registry",
            layer.digest
        ));
    }
    Ok(bytes)
}
