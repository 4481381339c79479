//! Amazon ECR. Manifests go through ECR's API (BatchGetImage asking for every manifest media
//! type; PutImage with the original bytes and their media type), so a promotion never moves a
//! layer. Blobs go through the registry endpoint with an ECR authorization token.
//!
//! Digests are computed here from the bytes, never taken from the API's word, and an
//! immutable-tag refusal is recognised under both names it comes by.

use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::operation::put_image::PutImageError;
use aws_sdk_ecr::types::ImageIdentifier;
use base64::Engine as _;
use bytes::Bytes;
use tokio::sync::OnceCell;

use super::manifest::{Manifest, ACCEPT_MANIFESTS};
use super::oci::{Credentials, OciRegistry};
use super::{Blob, Connection, Registry, RegistryError};
use crate::digest::is_sha256_digest;
use crate::runner::reference::Reference;

pub struct EcrRegistry {
    client: aws_sdk_ecr::Client,
    account: String,
    /// `host` of the reference, for messages.
    name: String,
    /// The registry endpoint for blobs, opened on first use (a promotion never needs it).
    blobs: OnceCell<OciRegistry>,
    blob_endpoint: Option<String>,
}

impl EcrRegistry {
    pub async fn connect(
        reference: &Reference,
        _connection: &Connection,
        account: &str,
        region: &str,
    ) -> Result<EcrRegistry, RegistryError> {
        // AWS_ENDPOINT_URL_ECR / AWS_ENDPOINT_URL and the usual credential chain apply.
        let config = aws_config::from_env()
            .region(aws_config::Region::new(region.to_string()))
            .load()
            .await;
        Ok(EcrRegistry {
            client: aws_sdk_ecr::Client::new(&config),
            account: account.to_string(),
            name: reference.registry.clone(),
            blobs: OnceCell::new(),
            // For emulators that serve ECR's API but no registry endpoint.
            blob_endpoint: std::env::var("LAMBDA_GATE_ECR_REGISTRY_URL").ok(),
        })
    }

    fn api_error<E, R>(
        &self,
        what: &str,
        error: aws_sdk_ecr::error::SdkError<E, R>,
    ) -> RegistryError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        RegistryError::Aws {
            registry: self.name.clone(),
            error: crate::runner::aws_error::explain(what, error),
        }
    }

    /// A registry login from GetAuthorizationToken (`AWS` and a 12-hour token), and the
    /// registry endpoint it is for.
    pub async fn authorization(&self) -> Result<(Credentials, Option<String>), RegistryError> {
        let answer = self
            .client
            .get_authorization_token()
            .send()
            .await
            .map_err(|e| self.api_error("GetAuthorizationToken", e))?;
        let data =
            answer
                .authorization_data()
                .first()
                .ok_or_else(|| RegistryError::Unauthorized {
                    registry: self.name.clone(),
                    reason: "GetAuthorizationToken returned no authorization data".into(),
                })?;
        let credentials = data
            .authorization_token()
            .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
            .and_then(|t| String::from_utf8(t).ok())
            .and_then(|t| {
                t.split_once(':').map(|(u, p)| Credentials {
                    username: u.to_string(),
                    password: p.to_string(),
                })
            })
            .ok_or_else(|| RegistryError::Unauthorized {
                registry: self.name.clone(),
                reason: "GetAuthorizationToken returned a token that is not `user:password`".into(),
            })?;
        Ok((credentials, data.proxy_endpoint().map(str::to_string)))
    }

    async fn blobs(&self) -> Result<&OciRegistry, RegistryError> {
        self.blobs
            .get_or_try_init(|| async {
                let (credentials, proxy_endpoint) = self.authorization().await?;
                let endpoint = self
                    .blob_endpoint
                    .clone()
                    .or(proxy_endpoint)
                    .unwrap_or_else(|| format!("https://{}", self.name));
                OciRegistry::with_base(&self.name, &endpoint, Some(credentials))
            })
            .await
    }

    fn identifier(reference: &str) -> ImageIdentifier {
        if is_sha256_digest(reference) {
            ImageIdentifier::builder().image_digest(reference).build()
        } else {
            ImageIdentifier::builder().image_tag(reference).build()
        }
    }
}

impl Registry for EcrRegistry {
    async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        let what = format!("BatchGetImage {repository}:{reference}");
        let mut request = self
            .client
            .batch_get_image()
            .registry_id(&self.account)
            .repository_name(repository)
            .image_ids(Self::identifier(reference));
        for media_type in ACCEPT_MANIFESTS {
            request = request.accepted_media_types(media_type);
        }
        // One call, by digest or by tag: ECR's image digest is the sha256 of the manifest bytes,
        // so a digest that is not found is not there.
        let answer = request.send().await.map_err(|e| self.api_error(&what, e))?;
        let Some(image) = answer.images().first() else {
            return match answer.failures().first() {
                Some(failure)
                    if failure.failure_code().map(|c| c.as_str()) == Some("ImageNotFound")
                        || failure.failure_code().is_none() =>
                {
                    Ok(None)
                }
                Some(failure) => Err(RegistryError::Invalid(format!(
                    "{}: {what}: {}: {}",
                    self.name,
                    failure
                        .failure_code()
                        .map(|c| c.as_str())
                        .unwrap_or("failure"),
                    failure.failure_reason().unwrap_or_default()
                ))),
                None => Ok(None),
            };
        };
        let Some(text) = image.image_manifest() else {
            return Ok(None);
        };
        let manifest = Manifest::fetched(
            &self.name,
            &what,
            reference,
            Bytes::from(text.to_string()),
            image.image_manifest_media_type(),
        )?;
        Ok(Some(manifest))
    }

    async fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        manifest: &Manifest,
    ) -> Result<(), RegistryError> {
        let what = format!("PutImage {repository}:{reference}");
        let text = std::str::from_utf8(&manifest.bytes)
            .map_err(|_| RegistryError::Invalid(format!("{what}: manifest is not UTF-8")))?;
        let mut request = self
            .client
            .put_image()
            .registry_id(&self.account)
            .repository_name(repository)
            .image_manifest(text)
            .image_manifest_media_type(&manifest.media_type);
        if !is_sha256_digest(reference) {
            request = request.image_tag(reference);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error) => {
                let error = error.into_service_error();
                let already = matches!(
                    error,
                    PutImageError::ImageAlreadyExistsException(_)
                        | PutImageError::ImageTagAlreadyExistsException(_)
                );
                if !already {
                    let code = error.code().unwrap_or("error").to_string();
                    return Err(RegistryError::Invalid(format!(
                        "{}: {what}: {code}: {}",
                        self.name,
                        error.message().unwrap_or_default()
                    )));
                }
                // The same digest already there is success; another one means the tag is
                // immutable (ECR says ImageTagAlreadyExists, some emulators ImageAlreadyExists).
                let current = self.manifest(repository, reference).await?;
                match current {
                    Some(current) if current.digest == manifest.digest => Ok(()),
                    Some(current) => Err(RegistryError::ImmutableTag {
                        registry: self.name.clone(),
                        tag: reference.to_string(),
                        digest: current.digest,
                    }),
                    None if is_sha256_digest(reference) => Ok(()),
                    None => Err(RegistryError::Invalid(format!(
                        "{}: {what}: refused as existing, but `{reference}` names no image",
                        self.name
                    ))),
                }
            }
        }
    }

    async fn has_blob(&self, repository: &str, digest: &str) -> Result<bool, RegistryError> {
        self.blobs().await?.has_blob(repository, digest).await
    }

    async fn blob(&self, repository: &str, digest: &str) -> Result<Bytes, RegistryError> {
        self.blobs().await?.blob(repository, digest).await
    }

    async fn put_blob(
        &self,
        repository: &str,
        digest: &str,
        blob: Blob,
    ) -> Result<(), RegistryError> {
        self.blobs().await?.put_blob(repository, digest, blob).await
    }

    /// ECR serves the referrers API on its registry endpoint (the distribution API), not
    /// through its own API.
    async fn referrers(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<Option<Vec<super::Descriptor>>, RegistryError> {
        self.blobs().await?.referrers(repository, digest).await
    }
}
