//! Registries: one trait, two backends. `oci` speaks the OCI distribution API v2 to any
//! registry; `ecr` speaks Amazon ECR's own API for manifests (and the distribution API, with an
//! ECR authorization token, for blobs). Manifests always travel as their original bytes, so a
//! digest never changes on the way.

pub mod ecr;
pub mod manifest;
pub mod oci;
pub mod retry;

use std::future::Future;

use bytes::Bytes;
use thiserror::Error;

pub use manifest::{Descriptor, Manifest, ManifestKind, Platform, ACCEPT_MANIFESTS};

use super::reference::{Backend, Reference};
use crate::runner::sha256_digest;

#[derive(Debug, Error)]
pub enum RegistryError {
    #[error("{registry}: tag `{tag}` already points at {digest} and the repository's tags are immutable")]
    ImmutableTag {
        registry: String,
        tag: String,
        digest: String,
    },
    #[error("{registry}: authentication failed: {reason}")]
    Unauthorized { registry: String, reason: String },
    #[error("{registry}: {what} answered HTTP {status}: {body}")]
    Status {
        registry: String,
        what: String,
        status: u16,
        body: String,
    },
    /// An AWS API call failed; the error says what to do, its detail is the SDK's account.
    #[error("{registry}: {error}")]
    Aws {
        registry: String,
        #[source]
        error: crate::error::Detailed,
    },
    #[error("{registry}: {what}: {reason}")]
    Transport {
        registry: String,
        what: String,
        reason: String,
    },
    #[error("{registry}: {what}: the registry sent {actual}, expected {expected}")]
    DigestMismatch {
        registry: String,
        what: String,
        expected: String,
        actual: String,
    },
    #[error("{0}")]
    Invalid(String),
}

/// What the runner needs of a registry. Tags and digests are both "references" here, as in the
/// distribution API.
pub trait Registry: Send + Sync {
    /// The manifest `reference` names, as stored (all four manifest media types accepted), or
    /// `None` when there is none.
    fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> impl Future<Output = Result<Option<Manifest>, RegistryError>> + Send;

    /// Stores `manifest` under `reference` (a tag, or its own digest).
    fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        manifest: &Manifest,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send;

    fn has_blob(
        &self,
        repository: &str,
        digest: &str,
    ) -> impl Future<Output = Result<bool, RegistryError>> + Send;

    fn blob(
        &self,
        repository: &str,
        digest: &str,
    ) -> impl Future<Output = Result<Bytes, RegistryError>> + Send;

    /// Uploads `blob`, whose digest is `digest`.
    fn put_blob(
        &self,
        repository: &str,
        digest: &str,
        blob: Blob,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send;

    /// The manifests whose `subject` is `digest`, from the OCI 1.1 referrers API; `None` when
    /// the registry does not have that API (the caller falls back to the referrers tag).
    fn referrers(
        &self,
        repository: &str,
        digest: &str,
    ) -> impl Future<Output = Result<Option<Vec<Descriptor>>, RegistryError>> + Send;
}

/// A blob to upload: bytes in memory (a config, a manifest's worth), or a file streamed from
/// disk (a layer: never held whole in memory).
#[derive(Debug, Clone)]
pub enum Blob {
    Bytes(Bytes),
    /// A file the runner wrote itself (a compressed layer), its digest computed as it was written.
    File {
        path: std::path::PathBuf,
        size: u64,
    },
}

impl Blob {
    pub fn size(&self) -> u64 {
        match self {
            Blob::Bytes(bytes) => bytes.len() as u64,
            Blob::File { size, .. } => *size,
        }
    }
}

impl Manifest {
    /// A manifest as a registry sent it for `reference`, verified: it parses, and when
    /// `reference` is a digest, the bytes hash to it (a registry's word is never taken).
    pub fn fetched(
        registry: &str,
        what: &str,
        reference: &str,
        bytes: Bytes,
        media_type: Option<&str>,
    ) -> Result<Manifest, RegistryError> {
        let manifest = Manifest::parse(bytes, media_type)
            .map_err(|e| RegistryError::Invalid(format!("{registry}: {what}: {e}")))?;
        if crate::digest::is_sha256_digest(reference) && manifest.digest != reference {
            return Err(RegistryError::DigestMismatch {
                registry: registry.to_string(),
                what: what.to_string(),
                expected: reference.to_string(),
                actual: manifest.digest,
            });
        }
        Ok(manifest)
    }
}

/// How to reach registries: credentials come from the environment or Docker's config, never
/// from the command line (where they would land in shell history and process lists).
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// Hosts (`host` or `host:port`) spoken to over plain HTTP, besides loopback.
    pub insecure_registries: Vec<String>,
}

/// The backend a reference's host calls for.
pub enum AnyRegistry {
    Oci(oci::OciRegistry),
    Ecr(ecr::EcrRegistry),
}

impl AnyRegistry {
    pub async fn connect(
        reference: &Reference,
        connection: &Connection,
    ) -> Result<AnyRegistry, RegistryError> {
        Ok(match reference.backend() {
            Backend::Oci => AnyRegistry::Oci(oci::OciRegistry::new(reference, connection)?),
            Backend::Ecr { account, region } => AnyRegistry::Ecr(
                ecr::EcrRegistry::connect(reference, connection, &account, &region).await?,
            ),
        })
    }
}

/// The same call on whichever backend this is.
macro_rules! on_backend {
    ($registry:expr, $backend:ident => $call:expr) => {
        match $registry {
            AnyRegistry::Oci($backend) => $call,
            AnyRegistry::Ecr($backend) => $call,
        }
    };
}

impl Registry for AnyRegistry {
    async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        on_backend!(self, r => r.manifest(repository, reference).await)
    }
    async fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        manifest: &Manifest,
    ) -> Result<(), RegistryError> {
        on_backend!(self, r => r.put_manifest(repository, reference, manifest).await)
    }
    async fn has_blob(&self, repository: &str, digest: &str) -> Result<bool, RegistryError> {
        on_backend!(self, r => r.has_blob(repository, digest).await)
    }
    async fn blob(&self, repository: &str, digest: &str) -> Result<Bytes, RegistryError> {
        on_backend!(self, r => r.blob(repository, digest).await)
    }
    async fn put_blob(
        &self,
        repository: &str,
        digest: &str,
        blob: Blob,
    ) -> Result<(), RegistryError> {
        on_backend!(self, r => r.put_blob(repository, digest, blob).await)
    }
    async fn referrers(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<Option<Vec<Descriptor>>, RegistryError> {
        on_backend!(self, r => r.referrers(repository, digest).await)
    }
}

/// What the Docker Engine needs to pull `image`: an ECR token, or the credentials the OCI
/// client would use; `None` for an anonymous pull.
pub async fn login(
    image: &Reference,
) -> Result<Option<bollard::auth::DockerCredentials>, RegistryError> {
    let credentials = match image.backend() {
        Backend::Ecr { account, region } => Some(
            ecr::EcrRegistry::connect(image, &Connection::default(), &account, &region)
                .await?
                .authorization()
                .await?
                .0,
        ),
        Backend::Oci => oci::Credentials::for_registry(&image.registry),
    };
    Ok(credentials.map(|c| bollard::auth::DockerCredentials {
        username: Some(c.username),
        password: Some(c.password),
        serveraddress: Some(image.registry.clone()),
        ..Default::default()
    }))
}

/// The manifest `reference` names, required to exist.
pub async fn require_manifest<R: Registry>(
    registry: &R,
    image: &Reference,
    reference: &str,
) -> Result<Manifest, RegistryError> {
    registry
        .manifest(&image.repository, reference)
        .await?
        .ok_or_else(|| {
            RegistryError::Invalid(format!(
                "{}/{}: no image at `{reference}`",
                image.registry, image.repository
            ))
        })
}

/// The image config blob of a single-platform manifest, checked against its digest.
pub async fn config_of<R: Registry>(
    registry: &R,
    image: &Reference,
    manifest: &Manifest,
) -> Result<serde_json::Value, RegistryError> {
    let Some(config) = manifest.config() else {
        return Err(RegistryError::Invalid(format!(
            "{}: {} is an image index, not a single-platform manifest",
            image, manifest.digest
        )));
    };
    let bytes = registry.blob(&image.repository, &config.digest).await?;
    let actual = sha256_digest(&bytes);
    if actual != config.digest {
        return Err(RegistryError::DigestMismatch {
            registry: image.registry.clone(),
            what: format!("config blob of {}", manifest.digest),
            expected: config.digest.clone(),
            actual,
        });
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| RegistryError::Invalid(format!("{image}: config blob is not JSON: {e}")))
}
