//! Keys held by AWS KMS: `awskms:KEY`, where KEY is a key id, a key ARN, an alias (`alias/NAME`)
//! or an alias ARN (cosign's `awskms:///KEY` is read the same way).
//!
//! The private key never leaves KMS. The runner signs with `kms:Sign` over the SHA-256 digest of
//! the message (`MessageType = DIGEST`: KMS takes at most 4,096 bytes of raw message, and an
//! SBOM's envelope is larger), which is the same ECDSA P-256 signature a file key makes, so
//! verifiers need only the public key (`kms:GetPublicKey`, or the PEM it exports).

use anyhow::{bail, Context as _};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};
use sha2::{Digest as _, Sha256};

use super::keys::{Algorithm, PublicKey};
use crate::runner::aws_error;

/// How a key spec names a KMS key.
pub const SCHEME: &str = "awskms:";

/// The KMS key `spec` names, if it names one.
pub fn key_of(spec: &str) -> Option<&str> {
    let key = spec.strip_prefix(SCHEME)?;
    Some(key.strip_prefix("///").unwrap_or(key))
}

/// An asymmetric KMS key (`ECC_NIST_P256`, `SIGN_VERIFY`) that signs attestations.
pub struct KmsKey {
    key: String,
    client: aws_sdk_kms::Client,
    public: PublicKey,
}

impl KmsKey {
    /// Looks the key up (`kms:GetPublicKey`) and checks it can sign as the runner signs.
    pub async fn open(key: &str) -> anyhow::Result<KmsKey> {
        let client = client_for(key).await;
        let public = public_key_with(&client, key).await?;
        Ok(KmsKey {
            key: key.to_string(),
            client,
            public,
        })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// An ECDSA P-256 signature (DER) over `message`, made by KMS from its SHA-256 digest.
    pub async fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        let digest = Sha256::digest(message);
        let signed = self
            .client
            .sign()
            .key_id(&self.key)
            .message(Blob::new(digest.to_vec()))
            .message_type(MessageType::Digest)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| aws_error::explain("kms:Sign", e))
            .with_context(|| format!("signing with KMS key {}", self.key))?;
        let signature = signed
            .signature
            .map(Blob::into_inner)
            .context("kms:Sign returned no signature")?;
        // What KMS signed must verify with the key the envelope names: an alias moved to
        // another key between the lookup and the signature would otherwise sign unverifiably.
        if !self.public.verifies(message, &signature) {
            bail!(
                "KMS key {}: its signature does not verify with the public key it reported (key id {}); has the alias moved?",
                self.key,
                self.public.key_id()
            );
        }
        Ok(signature)
    }
}

/// The public key of KMS key `key`, for verifying (`kms:GetPublicKey`).
pub async fn public_key(key: &str) -> anyhow::Result<PublicKey> {
    public_key_with(&client_for(key).await, key).await
}

async fn public_key_with(client: &aws_sdk_kms::Client, key: &str) -> anyhow::Result<PublicKey> {
    let found = client
        .get_public_key()
        .key_id(key)
        .send()
        .await
        .map_err(|e| aws_error::explain("kms:GetPublicKey", e))
        .with_context(|| format!("KMS key {key}"))?;
    if found.key_usage != Some(KeyUsageType::SignVerify) {
        bail!(
            "KMS key {key} is not a signing key (its usage is {}): attestations need an asymmetric key with usage SIGN_VERIFY and spec ECC_NIST_P256",
            found.key_usage.as_ref().map_or("unknown", |u| u.as_str())
        );
    }
    // An answer without `KeySpec` is judged by the key itself, below.
    if let Some(spec) = found
        .key_spec
        .as_ref()
        .filter(|s| **s != KeySpec::EccNistP256)
    {
        bail!(
            "KMS key {key} has spec {}: attestations are signed with ECDSA P-256 (spec ECC_NIST_P256), which in-toto and DSSE verifiers read",
            spec.as_str()
        );
    }
    let der = found
        .public_key
        .context("kms:GetPublicKey returned no public key")?;
    let public = PublicKey::from_spki(der.as_ref())
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("KMS key {key}"))?;
    if public.algorithm != Algorithm::EcdsaP256Sha256 {
        bail!(
            "KMS key {key} is not an ECC_NIST_P256 key: attestations are signed with ECDSA P-256"
        );
    }
    Ok(public)
}

/// A KMS client in the key's region when its ARN names one, else the environment's.
async fn client_for(key: &str) -> aws_sdk_kms::Client {
    let mut loader = aws_config::from_env();
    if let Some(region) = region_of_arn(key) {
        loader = loader.region(aws_config::Region::new(region.to_string()));
    }
    aws_sdk_kms::Client::new(&loader.load().await)
}

/// `arn:aws:kms:<region>:<account>:key/<id>` (or `:alias/<name>`) names its region.
fn region_of_arn(key: &str) -> Option<&str> {
    match key.splitn(6, ':').collect::<Vec<_>>()[..] {
        ["arn", _, "kms", region, _, _] if !region.is_empty() => Some(region),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_names_a_kms_key_by_id_arn_or_alias() {
        assert_eq!(key_of("awskms:alias/release"), Some("alias/release"));
        assert_eq!(
            key_of("awskms:///arn:aws:kms:eu-west-1:111122223333:key/abc"),
            Some("arn:aws:kms:eu-west-1:111122223333:key/abc")
        );
        assert_eq!(key_of("keys/release.pem"), None);
    }

    #[test]
    fn a_key_arn_names_its_region() {
        assert_eq!(
            region_of_arn("arn:aws:kms:eu-west-1:111122223333:key/abc"),
            Some("eu-west-1")
        );
        assert_eq!(
            region_of_arn("arn:aws:kms:us-east-2:111122223333:alias/release"),
            Some("us-east-2")
        );
        assert_eq!(region_of_arn("alias/release"), None);
        assert_eq!(region_of_arn("1234abcd-12ab-34cd-56ef-1234567890ab"), None);
    }
}
