//! Manifests as the runner handles them: the original bytes (whose sha256 is the digest), the
//! media type they were stored with, and what they say once parsed.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::runner::sha256_digest;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// Every manifest media type the runner reads, for every manifest request: a registry asked
/// with fewer answers with something else (an old schema1 manifest without an Accept header,
/// the amd64 child when only the v2 manifest type is accepted for a list).
pub const ACCEPT_MANIFESTS: [&str; 4] = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST];

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// An artifact's type (OCI 1.1), as a referrer's descriptor carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Descriptor {
    /// An index's entry for a single-platform manifest: the one way the runner writes one.
    pub fn of_platform(
        manifest: &Manifest,
        platform: &crate::runner::Platform,
        variant: Option<String>,
    ) -> Descriptor {
        Descriptor {
            media_type: manifest.media_type.clone(),
            digest: manifest.digest.clone(),
            size: manifest.bytes.len() as u64,
            platform: Some(Platform {
                architecture: platform.architecture.clone(),
                os: platform.os.clone(),
                variant,
            }),
            artifact_type: None,
            annotations: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// What a manifest is, once parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestKind {
    /// An OCI index or Docker manifest list.
    Index(Vec<Descriptor>),
    /// A single-platform image.
    Image {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    schema_version: Option<u32>,
    media_type: Option<String>,
    manifests: Option<Vec<Descriptor>>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
}

/// A manifest as stored: the bytes are never re-serialised.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub bytes: Bytes,
    pub media_type: String,
    /// `sha256:` of `bytes`, computed here, never taken from a registry's word.
    pub digest: String,
    pub kind: ManifestKind,
}

impl Manifest {
    /// Parses `bytes` stored with `media_type` (when the registry gave none, the manifest's own
    /// `mediaType` field decides).
    pub fn parse(bytes: Bytes, media_type: Option<&str>) -> Result<Manifest, String> {
        let raw: Raw = serde_json::from_slice(&bytes)
            .map_err(|e| format!("manifest is not valid JSON: {e}"))?;
        if raw.schema_version != Some(2) {
            return Err(format!(
                "manifest schemaVersion {} is not supported (only 2: OCI and Docker v2)",
                raw.schema_version
                    .map_or_else(|| "missing".to_string(), |v| v.to_string())
            ));
        }
        let media_type = media_type
            .filter(|m| ACCEPT_MANIFESTS.contains(m))
            .map(str::to_string)
            .or(raw.media_type.clone())
            .unwrap_or_else(|| {
                if raw.manifests.is_some() {
                    OCI_INDEX.to_string()
                } else {
                    OCI_MANIFEST.to_string()
                }
            });
        let kind = match (media_type.as_str(), raw.manifests, raw.config) {
            (OCI_INDEX | DOCKER_LIST, Some(manifests), _) => ManifestKind::Index(manifests),
            (OCI_MANIFEST | DOCKER_MANIFEST, _, Some(config)) => ManifestKind::Image {
                config,
                layers: raw.layers.unwrap_or_default(),
            },
            (other, ..) if !ACCEPT_MANIFESTS.contains(&other) => {
                return Err(format!("unsupported manifest media type `{other}`"))
            }
            _ => {
                return Err(format!(
                    "manifest does not have the fields of a `{media_type}`"
                ))
            }
        };
        Ok(Manifest {
            digest: sha256_digest(&bytes),
            bytes,
            media_type,
            kind,
        })
    }

    /// Serialises a new manifest (one the runner makes: an image or an index).
    pub fn build(value: &serde_json::Value, media_type: &str) -> Manifest {
        let bytes = Bytes::from(serde_json::to_vec(value).unwrap_or_default());
        let kind = Manifest::parse(bytes.clone(), Some(media_type))
            .map(|m| m.kind)
            .unwrap_or(ManifestKind::Index(Vec::new()));
        Manifest {
            digest: sha256_digest(&bytes),
            bytes,
            media_type: media_type.to_string(),
            kind,
        }
    }

    pub fn is_index(&self) -> bool {
        matches!(self.kind, ManifestKind::Index(_))
    }

    pub fn config(&self) -> Option<&Descriptor> {
        match &self.kind {
            ManifestKind::Image { config, .. } => Some(config),
            ManifestKind::Index(_) => None,
        }
    }

    /// The index entry for `architecture` (linux), if this is an index.
    pub fn child(&self, architecture: &str) -> Option<&Descriptor> {
        match &self.kind {
            ManifestKind::Index(children) => children.iter().find(|d| {
                d.platform
                    .as_ref()
                    .is_some_and(|p| p.os == "linux" && p.architecture == architecture)
            }),
            ManifestKind::Image { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_of_the_original_bytes_not_a_reserialisation() {
        let text = br#"{"schemaVersion":2,  "mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        let manifest = Manifest::parse(Bytes::from_static(text), None).unwrap();
        assert_eq!(manifest.digest, sha256_digest(text));
        assert!(manifest.is_index());
    }

    #[test]
    fn schema1_and_unknown_types_are_refused() {
        let schema1 = br#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#;
        assert!(Manifest::parse(Bytes::from_static(schema1), None)
            .unwrap_err()
            .contains("schemaVersion 1"));
        let helm = br#"{"schemaVersion":2,"mediaType":"application/vnd.cncf.helm.config","config":{"mediaType":"x","digest":"sha256:00","size":1}}"#;
        assert!(Manifest::parse(Bytes::from_static(helm), None)
            .unwrap_err()
            .contains("unsupported"));
    }

    #[test]
    fn child_is_found_by_architecture() {
        let text = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_LIST}","manifests":[
            {{"mediaType":"{DOCKER_MANIFEST}","digest":"sha256:aa","size":1,"platform":{{"architecture":"amd64","os":"linux"}}}},
            {{"mediaType":"{DOCKER_MANIFEST}","digest":"sha256:bb","size":1,"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}}]}}"#
        );
        let manifest = Manifest::parse(Bytes::from(text), Some(DOCKER_LIST)).unwrap();
        assert_eq!(manifest.child("arm64").unwrap().digest, "sha256:bb");
        assert!(manifest.child("s390x").is_none());
    }
}
