//! `lambda-gate trace`: what serves a function's alias, and why it was allowed to. The chain
//! from alias weights to each version, its image digest, the gate verdict attached to that
//! digest (policy, commit, signer) and the build's provenance (source, builder, base digests).
//! Read-only: every link is read from Lambda and the registry, none is assumed.

use serde::Serialize;

use super::lambda::{digest_of, Session};
use super::target::Target;
use crate::runner::attest::dsse::Envelope;
use crate::runner::attest::keys::PublicKey;
use crate::runner::attest::referrers;
use crate::runner::attest::statement::{Statement, Verdict, SLSA_PROVENANCE_V1, VERDICT_V1};
use crate::runner::attest::verify::{self, Requirement};
use crate::runner::reference::Reference;
use crate::runner::registry::{AnyRegistry, Connection, Registry as _};

/// What to trace.
pub struct TraceRequest {
    pub target: Target,
    /// The environment's requirement: verdicts are verified against it.
    pub requirement: Option<Requirement>,
    /// A key to check signatures with when no requirement is given.
    pub key: Option<PublicKey>,
    pub connection: Connection,
}

/// The chain, as read.
#[derive(Debug, Clone, Serialize)]
pub struct Trace {
    pub function: String,
    pub alias: String,
    /// Every version the alias sends traffic to, the main one first.
    pub versions: Vec<TracedVersion>,
}

impl Trace {
    /// Whether a requirement was checked and every serving version meets it.
    pub fn all_verified(&self) -> bool {
        self.versions
            .iter()
            .all(|v| matches!(v.verdict, VerdictLink::Verified { .. }))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TracedVersion {
    pub version: String,
    /// The share of the alias's traffic, in percent.
    pub weight: f64,
    pub image_uri: Option<String>,
    pub digest: Option<String>,
    /// The verdict envelope the deploy stamped on the version's description, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stamped_verdict: Option<String>,
    pub verdict: VerdictLink,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<ProvenanceLink>,
}

/// The verdict link of the chain.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum VerdictLink {
    /// Signed by the environment's key, about this digest, passed, under the policy in force.
    Verified {
        envelope: String,
        key_id: String,
        verdict: Verdict,
        /// The version's stamp names another envelope than the one that verifies.
        #[serde(skip_serializing_if = "Option::is_none")]
        stamp_differs: Option<String>,
    },
    /// Falls short of the environment's requirement.
    Refused { reason: String },
    /// Signed by the key given, about this digest; no environment's policy to judge it by.
    Signed {
        envelope: String,
        key_id: String,
        verdict: Verdict,
    },
    /// Attached, but no key was given to check its signature: a claim, not a proof.
    Unchecked { envelope: String, verdict: Verdict },
    /// Nothing attached (or, with a key, nothing that key signed).
    Missing { reason: String },
    /// The image cannot be traced further (a tag instead of a digest, an unreadable registry).
    Untraceable { reason: String },
}

impl VerdictLink {
    /// Its status word (as in JSON) and, unless verified or signed, why.
    pub fn status(&self) -> (&'static str, Option<&str>) {
        match self {
            VerdictLink::Verified { .. } => ("verified", None),
            VerdictLink::Refused { reason } => ("refused", Some(reason)),
            VerdictLink::Signed { .. } => ("signed", None),
            VerdictLink::Unchecked { .. } => (
                "unchecked",
                Some("no key to check its signature: a claim, not a proof"),
            ),
            VerdictLink::Missing { reason } => ("missing", Some(reason)),
            VerdictLink::Untraceable { reason } => ("untraceable", Some(reason)),
        }
    }
}

/// The build link: where the image came from, per its provenance.
#[derive(Debug, Clone, Serialize)]
pub struct ProvenanceLink {
    /// `true` when its signature was checked with the key in use.
    pub signature_checked: bool,
    pub source: Option<String>,
    pub commit: Option<String>,
    pub builder: Option<String>,
    pub invocation: Option<String>,
    /// Each base by the digest the build resolved it to, per platform.
    pub bases: Vec<BaseLink>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BaseLink {
    pub name: String,
    pub digest: String,
    pub platform: Option<String>,
}

pub async fn trace(request: &TraceRequest) -> anyhow::Result<Trace> {
    let mut quiet = |_: &str| {};
    let mut session = Session::connect(&request.target, &mut quiet).await?;
    let function = request.target.function.clone();
    let alias = session.alias("GetAlias").await?.ok_or_else(|| {
        anyhow::anyhow!(
            "{function} has no alias {}: nothing serves through it",
            request.target.alias
        )
    })?;
    let mut shares = vec![(
        alias.version.clone(),
        100.0 - alias.weights.iter().map(|(_, w)| w * 100.0).sum::<f64>(),
    )];
    shares.extend(alias.weights.iter().map(|(v, w)| (v.clone(), w * 100.0)));
    let mut versions = Vec::new();
    for (version, weight) in shares {
        let answer = session
            .get_function(Some(&version), "GetFunction (alias version)")
            .await?;
        let code = answer.code();
        // The image by digest: as deployed when that named one (lambda-gate deploys do), else
        // the digest Lambda resolved a tag to.
        let image_uri = code
            .and_then(|c| {
                c.image_uri()
                    .filter(|uri| digest_of(uri).is_some())
                    .or(c.resolved_image_uri())
                    .or(c.image_uri())
            })
            .map(str::to_string);
        let description = answer
            .configuration()
            .and_then(|c| c.description())
            .unwrap_or_default();
        let stamped_verdict = description
            .strip_prefix("verdict ")
            .and_then(|rest| rest.split(';').next())
            .map(str::to_string);
        let (digest, verdict, provenance) = match &image_uri {
            Some(uri) => follow_image(uri, request).await,
            None => (
                None,
                VerdictLink::Untraceable {
                    reason: format!("version {version} names no container image"),
                },
                None,
            ),
        };
        let verdict = match verdict {
            VerdictLink::Verified {
                envelope,
                key_id,
                verdict,
                ..
            } => VerdictLink::Verified {
                stamp_differs: stamped_verdict.clone().filter(|stamp| *stamp != envelope),
                envelope,
                key_id,
                verdict,
            },
            other => other,
        };
        versions.push(TracedVersion {
            version,
            weight: (weight * 10.0).round() / 10.0,
            image_uri,
            digest,
            stamped_verdict,
            verdict,
            provenance,
        });
    }
    Ok(Trace {
        function,
        alias: request.target.alias.clone(),
        versions,
    })
}

/// The image's verdict and provenance, read from its registry.
async fn follow_image(
    uri: &str,
    request: &TraceRequest,
) -> (Option<String>, VerdictLink, Option<ProvenanceLink>) {
    let Some(digest) = digest_of(uri).filter(|d| d.starts_with("sha256:")) else {
        return (
            None,
            VerdictLink::Untraceable {
                reason: format!("{uri} names a tag, not a digest: what it pointed at when deployed cannot be known"),
            },
            None,
        );
    };
    let digest = digest.to_string();
    let untraceable = |reason: String| VerdictLink::Untraceable { reason };
    let reference = match Reference::parse(uri) {
        Ok(reference) => reference,
        Err(e) => return (Some(digest), untraceable(format!("{uri}: {e}")), None),
    };
    let registry = match AnyRegistry::connect(&reference, &request.connection).await {
        Ok(registry) => registry,
        Err(e) => return (Some(digest), untraceable(format!("{uri}: {e:#}")), None),
    };
    let repository = reference.repository.as_str();
    match registry.manifest(repository, &digest).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return (
                Some(digest),
                untraceable(format!("{uri} is not in its registry: deleted (a lifecycle rule?) or never pushed there, so nothing attached to it can be read")),
                None,
            )
        }
        Err(e) => return (Some(digest), untraceable(format!("{uri}: {e}")), None),
    }
    let key = request
        .requirement
        .as_ref()
        .map(|r| &r.key)
        .or(request.key.as_ref());
    let claims = match read_claims(&registry, repository, &digest, key).await {
        Ok(claims) => claims,
        Err(reason) => return (Some(digest), untraceable(reason), None),
    };
    let verdict = match &request.requirement {
        Some(requirement) => {
            match verify::verify(&registry, repository, &digest, requirement).await {
                Ok(Ok(verified)) => VerdictLink::Verified {
                    envelope: verified.envelope,
                    key_id: verified.key_id,
                    verdict: verified.verdict,
                    stamp_differs: None,
                },
                Ok(Err(shortfall)) => VerdictLink::Refused {
                    reason: shortfall.to_string(),
                },
                Err(e) => untraceable(e.to_string()),
            }
        }
        None => claims.verdict(key.is_some()),
    };
    (Some(digest), verdict, claims.provenance(key.is_some()))
}

/// The statements attached to one digest, each with whether its signature was checked.
struct Claims {
    found: Vec<Claim>,
    /// Attached statements the key did not sign (only counted when a key is in use).
    unsigned: usize,
}

struct Claim {
    envelope: String,
    key_id: String,
    statement: Statement,
}

impl Claims {
    fn verdict(&self, key_in_use: bool) -> VerdictLink {
        let found = self.found.iter().find_map(|claim| {
            (claim.statement.predicate_type == VERDICT_V1)
                .then(|| serde_json::from_value::<Verdict>(claim.statement.predicate.clone()).ok())
                .flatten()
                .map(|verdict| (claim, verdict))
        });
        match found {
            Some((claim, verdict)) if key_in_use => VerdictLink::Signed {
                envelope: claim.envelope.clone(),
                key_id: claim.key_id.clone(),
                verdict,
            },
            Some((claim, verdict)) => VerdictLink::Unchecked {
                envelope: claim.envelope.clone(),
                verdict,
            },
            None if key_in_use && self.unsigned > 0 => VerdictLink::Missing {
                reason: format!(
                    "{} attestation(s) attached, none signed by the key given",
                    self.unsigned
                ),
            },
            None => VerdictLink::Missing {
                reason: "no gate verdict is attached to this digest".into(),
            },
        }
    }

    fn provenance(&self, key_in_use: bool) -> Option<ProvenanceLink> {
        let claim = self
            .found
            .iter()
            .find(|c| c.statement.predicate_type == SLSA_PROVENANCE_V1)?;
        let predicate = &claim.statement.predicate;
        let text = |pointer: &str| {
            predicate
                .pointer(pointer)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let bases = predicate
            .pointer("/buildDefinition/resolvedDependencies")
            .and_then(|d| d.as_array())
            .into_iter()
            .flatten()
            .filter(|d| {
                d["uri"]
                    .as_str()
                    .is_some_and(|uri| uri.starts_with("docker-image://"))
            })
            .filter_map(|d| {
                Some(BaseLink {
                    name: d["name"].as_str()?.to_string(),
                    digest: format!("sha256:{}", d["digest"]["sha256"].as_str()?),
                    platform: d["annotations"]["platform"].as_str().map(str::to_string),
                })
            })
            .collect();
        Some(ProvenanceLink {
            signature_checked: key_in_use,
            source: text("/buildDefinition/externalParameters/source/uri"),
            commit: text("/buildDefinition/externalParameters/source/digest/gitCommit"),
            builder: text("/runDetails/builder/id"),
            invocation: text("/runDetails/metadata/invocationId"),
            bases,
        })
    }
}

/// Every verdict and provenance statement attached to `digest` and about it; with a key, only
/// those it signed.
async fn read_claims(
    registry: &AnyRegistry,
    repository: &str,
    digest: &str,
    key: Option<&PublicKey>,
) -> Result<Claims, String> {
    let listed = referrers::envelopes_of(registry, repository, digest)
        .await
        .map_err(|e| e.to_string())?;
    let mut claims = Claims {
        found: Vec::new(),
        unsigned: 0,
    };
    for referrer in listed {
        let predicate = referrers::predicate_of(&referrer);
        if predicate.is_some_and(|p| p != VERDICT_V1 && p != SLSA_PROVENANCE_V1) {
            continue;
        }
        let Ok(bytes) = referrers::fetch_envelope(registry, repository, digest, &referrer).await
        else {
            continue;
        };
        let Ok(envelope) = Envelope::parse(&bytes) else {
            continue;
        };
        let (payload, key_id) = match key {
            Some(key) => match envelope.verify(key) {
                Ok(payload) => (payload, key.key_id()),
                Err(_) => {
                    claims.unsigned += 1;
                    continue;
                }
            },
            None => match envelope.payload_bytes() {
                Ok(payload) => (
                    payload,
                    envelope
                        .signatures
                        .first()
                        .map(|s| s.keyid.clone())
                        .unwrap_or_default(),
                ),
                Err(_) => continue,
            },
        };
        let Ok(statement) = Statement::parse(&payload) else {
            continue;
        };
        if statement.is_about(digest) {
            claims.found.push(Claim {
                envelope: crate::runner::sha256_digest(&bytes),
                key_id,
                statement,
            });
        }
    }
    Ok(claims)
}
