//! Signed attestations: what ties a deployed image to the gate that passed its sources.
//!
//! After a clean gate and a build, the runner signs in-toto Statements in DSSE envelopes —
//! SLSA provenance (how it was built), the gate's verdict (under which policy it passed) and,
//! per platform, a CycloneDX SBOM of its Python packages — and stores each beside the image as
//! an OCI 1.1 referrer ([`referrers`]). `deploy` to an environment that requires attestation
//! accepts a digest only with a verdict that [`verify`] accepts.

pub mod dsse;
pub mod keys;
pub mod kms;
pub mod referrers;
pub mod sbom;
pub mod statement;
pub mod verify;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bytes::Bytes;
use serde::Serialize;

use self::keys::{FileKey, PublicKey};
use self::kms::KmsKey;
use self::referrers::Attachment;
use self::statement::{BuildFacts, Statement, Subject, Verdict};
use super::reference::Reference;
use super::registry::{Manifest, Registry, RegistryError};
use super::Platform;

/// The environment variable that names the signing key when `--sign-key` is not given.
pub const SIGNING_KEY_ENV: &str = "LAMBDA_GATE_SIGNING_KEY";

/// What signs attestations.
pub enum Signer {
    /// A PEM private key file (ECDSA P-256 or Ed25519).
    File { path: PathBuf, key: Box<FileKey> },
    /// An asymmetric AWS KMS key (`awskms:KEY`).
    Kms(KmsKey),
}

impl Signer {
    /// The signer `spec` names: `awskms:KEY` (a KMS key id, ARN or alias), else a private key
    /// file.
    pub async fn open(spec: &str) -> anyhow::Result<Signer> {
        if let Some(key) = kms::key_of(spec) {
            return Ok(Signer::Kms(
                KmsKey::open(key).await.context("the signing key")?,
            ));
        }
        let path = PathBuf::from(spec);
        let key = FileKey::read(&path).context("the signing key")?;
        Ok(Signer::File {
            path,
            key: Box::new(key),
        })
    }

    pub fn public_key(&self) -> &PublicKey {
        match self {
            Signer::File { key, .. } => key.public_key(),
            Signer::Kms(key) => key.public_key(),
        }
    }

    pub fn key_id(&self) -> String {
        self.public_key().key_id()
    }

    /// Where the key is, for logs (never the key).
    pub fn describe(&self) -> String {
        match self {
            Signer::File { path, .. } => format!("{} ({})", path.display(), self.key_id()),
            Signer::Kms(key) => format!("{}{} ({})", kms::SCHEME, key.key(), self.key_id()),
        }
    }

    /// A signature over `message`.
    pub async fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        match self {
            Signer::File { key, .. } => key.sign(message).map_err(anyhow::Error::msg),
            Signer::Kms(key) => key.sign(message).await,
        }
    }

    /// `statement` in a DSSE envelope signed by this signer, as JSON bytes.
    pub async fn seal(&self, statement: &Statement) -> anyhow::Result<Bytes> {
        let payload = statement.to_payload();
        let signature = self
            .sign(&dsse::pae(statement::PAYLOAD_TYPE, &payload))
            .await?;
        let envelope = dsse::Envelope::signed(
            statement::PAYLOAD_TYPE,
            &payload,
            &self.key_id(),
            &signature,
        );
        Ok(Bytes::from(serde_json::to_vec(&envelope)?))
    }
}

/// A verification key as policy names it: `awskms:KEY` (its public key, from KMS), else a PEM
/// public key file, relative to the policy's directory.
pub async fn verification_key(spec: &str, root: &Path) -> anyhow::Result<PublicKey> {
    if let Some(key) = kms::key_of(spec) {
        return kms::public_key(key)
            .await
            .context("the environment's `attestation-key`");
    }
    let path = root.join(spec);
    PublicKey::read(&path).context("the environment's `attestation-key`")
}

/// What a build attests, besides the images it pushes.
pub struct Plan {
    pub signer: std::sync::Arc<Signer>,
    pub verdict: Verdict,
    pub facts: BuildFacts,
}

/// One image's attestations, as the build result reports them.
#[derive(Debug, Clone, Serialize)]
pub struct Attested {
    pub subject: String,
    /// Referrer manifest digests, with what each attests.
    pub referrers: Vec<AttestedReferrer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AttestedReferrer {
    pub predicate_type: String,
    pub digest: String,
}

/// Signs and attaches: provenance and the verdict to the index and every platform's image, and
/// each platform's SBOM (when its packages could be read) to that image.
pub async fn attach_build<R: Registry>(
    registry: &R,
    repository: &Reference,
    index: &Manifest,
    children: &[(Platform, Manifest, Option<Vec<sbom::Package>>)],
    plan: &Plan,
) -> anyhow::Result<Vec<Attested>> {
    let name = format!("{}/{}", repository.registry, repository.repository);
    let mut subjects = vec![Subject::image(&name, &index.digest)];
    subjects.extend(
        children
            .iter()
            .map(|(_, manifest, _)| Subject::image(&name, &manifest.digest)),
    );
    let provenance = plan
        .signer
        .seal(&Statement::new(
            subjects.clone(),
            statement::SLSA_PROVENANCE_V1,
            statement::provenance(&plan.facts),
        ))
        .await?;
    let verdict = plan
        .signer
        .seal(&Statement::new(
            subjects,
            statement::VERDICT_V1,
            plan.verdict.predicate(),
        ))
        .await?;
    let created = plan.facts.finished.clone();
    let shared = || {
        vec![
            Attachment {
                predicate_type: statement::SLSA_PROVENANCE_V1.to_string(),
                envelope: provenance.clone(),
            },
            Attachment {
                predicate_type: statement::VERDICT_V1.to_string(),
                envelope: verdict.clone(),
            },
        ]
    };
    let mut attested = Vec::new();
    let repo = repository.repository.as_str();
    let on = |subject: &Manifest, attachments: Vec<Attachment>| {
        let created = created.clone();
        let subject = subject.clone();
        async move {
            let descriptors =
                referrers::attach(registry, repo, &subject, &attachments, &created).await?;
            Ok::<_, RegistryError>(Attested {
                subject: subject.digest.clone(),
                referrers: attachments
                    .iter()
                    .zip(descriptors)
                    .map(|(a, d)| AttestedReferrer {
                        predicate_type: a.predicate_type.clone(),
                        digest: d.digest,
                    })
                    .collect(),
            })
        }
    };
    attested.push(on(index, shared()).await?);
    for (_, manifest, packages) in children {
        let mut attachments = shared();
        if let Some(packages) = packages {
            let bom = sbom::cyclonedx(&name, &manifest.digest, packages, &created);
            let statement = Statement::new(
                vec![Subject::image(&name, &manifest.digest)],
                statement::CYCLONEDX,
                bom,
            );
            attachments.push(Attachment {
                predicate_type: statement::CYCLONEDX.to_string(),
                envelope: plan.signer.seal(&statement).await?,
            });
        }
        attested.push(on(manifest, attachments).await?);
    }
    Ok(attested)
}
