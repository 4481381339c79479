//! Whether an image may deploy to an environment that requires attestation: a verdict attached
//! to exactly that digest, signed by the environment's key, made under the environment's policy,
//! that passed. Each way to fall short has its own message, told before anything changes.

use serde::Serialize;
use thiserror::Error;

use super::dsse::{Envelope, EnvelopeProblem};
use super::keys::PublicKey;
use super::referrers;
use super::statement::{Statement, Verdict, VERDICT_V1};
use crate::runner::registry::Registry;

/// What an environment asks of an image's verdict.
#[derive(Debug, Clone)]
pub struct Requirement {
    pub environment: String,
    pub key: PublicKey,
    /// The gate digest of the policy in force ([`crate::policy::Config::gate_digest`]).
    pub policy_digest: String,
}

/// A verdict that satisfies a [`Requirement`].
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    /// The referrer manifest that carries it.
    pub referrer: String,
    /// `sha256:` of the envelope: what a deploy stamps on the version it publishes.
    pub envelope: String,
    pub key_id: String,
    pub verdict: Verdict,
}

/// Why an image falls short, most telling first (when several verdicts are attached, the one
/// that came closest is reported).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Shortfall {
    #[error("the verdict attached to {digest} was made under policy {attested}, but {environment}'s policy is {expected}: rebuild it through the gate under this policy")]
    OtherPolicy {
        digest: String,
        environment: String,
        attested: String,
        expected: String,
    },
    #[error("the gate failed on the sources of {digest} (its signed verdict says `{result}`)")]
    GateFailed { digest: String, result: String },
    #[error("the verdict in {referrer} is about {subjects}, not {digest}: it was attached to an image it does not describe")]
    OtherSubject {
        digest: String,
        referrer: String,
        subjects: String,
    },
    #[error("the verdict in {referrer} claims {environment}'s key {key_id} but its signature does not verify: the envelope was changed after signing")]
    Tampered {
        referrer: String,
        environment: String,
        key_id: String,
    },
    #[error("the verdict attached to {digest} is signed by {signed_by}, not by {environment}'s key {key_id}")]
    OtherKey {
        digest: String,
        environment: String,
        signed_by: String,
        key_id: String,
    },
    #[error("the attestation in {referrer} cannot be read: {reason}")]
    Unreadable { referrer: String, reason: String },
    #[error("{digest} carries no signed gate verdict: only images built by `lambda-gate build --sign-key` after a clean gate may deploy to {environment}")]
    Missing { digest: String, environment: String },
}

impl Shortfall {
    /// Lower is closer to a valid verdict.
    fn rank(&self) -> u8 {
        match self {
            Shortfall::OtherPolicy { .. } => 0,
            Shortfall::GateFailed { .. } => 1,
            Shortfall::OtherSubject { .. } => 2,
            Shortfall::Tampered { .. } => 3,
            Shortfall::OtherKey { .. } => 4,
            Shortfall::Unreadable { .. } => 5,
            Shortfall::Missing { .. } => 6,
        }
    }
}

/// The verdict attached to `digest` in `repository` that satisfies `requirement`.
pub async fn verify<R: Registry>(
    registry: &R,
    repository: &str,
    digest: &str,
    requirement: &Requirement,
) -> Result<Result<Verified, Shortfall>, crate::runner::registry::RegistryError> {
    let mut closest = Shortfall::Missing {
        digest: digest.to_string(),
        environment: requirement.environment.clone(),
    };
    let candidates = referrers::envelopes_of(registry, repository, digest).await?;
    for referrer in candidates {
        let predicate = referrers::predicate_of(&referrer);
        // Unannotated referrers are read too: the annotation only spares fetching the others.
        if predicate.is_some_and(|p| p != VERDICT_V1) {
            continue;
        }
        let outcome = match referrers::fetch_envelope(registry, repository, digest, &referrer).await
        {
            Ok(bytes) => judge(&bytes, &referrer.digest, digest, requirement),
            Err(reason) => Err(Shortfall::Unreadable {
                referrer: referrer.digest.clone(),
                reason,
            }),
        };
        match outcome {
            Ok(verified) => return Ok(Ok(verified)),
            Err(shortfall) if shortfall.rank() < closest.rank() => closest = shortfall,
            Err(_) => {}
        }
    }
    Ok(Err(closest))
}

/// One envelope against the requirement.
pub fn judge(
    bytes: &[u8],
    referrer: &str,
    digest: &str,
    requirement: &Requirement,
) -> Result<Verified, Shortfall> {
    let unreadable = |reason: String| Shortfall::Unreadable {
        referrer: referrer.to_string(),
        reason,
    };
    let envelope = Envelope::parse(bytes).map_err(unreadable)?;
    let payload = envelope
        .verify(&requirement.key)
        .map_err(|problem| match problem {
            EnvelopeProblem::BadSignature => Shortfall::Tampered {
                referrer: referrer.to_string(),
                environment: requirement.environment.clone(),
                key_id: requirement.key.key_id(),
            },
            EnvelopeProblem::NotSignedBy { signed_by } => Shortfall::OtherKey {
                digest: digest.to_string(),
                environment: requirement.environment.clone(),
                signed_by: if signed_by.is_empty() {
                    "no key".to_string()
                } else {
                    signed_by.join(", ")
                },
                key_id: requirement.key.key_id(),
            },
            EnvelopeProblem::Malformed(reason) => unreadable(reason),
        })?;
    if envelope.payload_type != super::statement::PAYLOAD_TYPE {
        return Err(unreadable(format!(
            "payload type `{}`, not an in-toto statement",
            envelope.payload_type
        )));
    }
    let statement = Statement::parse(&payload).map_err(unreadable)?;
    if statement.predicate_type != VERDICT_V1 {
        return Err(unreadable(format!(
            "a `{}` statement, not a gate verdict",
            statement.predicate_type
        )));
    }
    if !statement.is_about(digest) {
        return Err(Shortfall::OtherSubject {
            digest: digest.to_string(),
            referrer: referrer.to_string(),
            subjects: statement
                .subject
                .iter()
                .flat_map(|s| s.digest.iter().map(|(a, h)| format!("{a}:{h}")))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let verdict: Verdict = serde_json::from_value(statement.predicate)
        .map_err(|e| unreadable(format!("the verdict does not parse: {e}")))?;
    if !verdict.passed() {
        return Err(Shortfall::GateFailed {
            digest: digest.to_string(),
            result: verdict.result,
        });
    }
    if verdict.policy.digest != requirement.policy_digest {
        return Err(Shortfall::OtherPolicy {
            digest: digest.to_string(),
            environment: requirement.environment.clone(),
            attested: verdict.policy.digest,
            expected: requirement.policy_digest.clone(),
        });
    }
    Ok(Verified {
        referrer: referrer.to_string(),
        envelope: crate::runner::sha256_digest(bytes),
        key_id: requirement.key.key_id(),
        verdict,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::dsse::{pae, Envelope};
    use super::super::keys::{tests as keys, FileKey};
    use super::super::statement::{self, GateIdentity, PolicyIdentity, Subject};
    use super::*;

    const POLICY: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn digest(n: u8) -> String {
        format!("sha256:{}", format!("{n:02x}").repeat(32))
    }

    fn verdict(result: &str, policy: &str) -> Verdict {
        Verdict {
            result: result.into(),
            gate: GateIdentity::this(),
            policy: PolicyIdentity {
                digest: policy.into(),
                source: "lambda-gate.toml".into(),
            },
            rules_enabled: vec!["DKR005".into()],
            inputs_digest: digest(9),
            counts: BTreeMap::new(),
            coverage: BTreeMap::new(),
            commit: Some("abc".into()),
            time_verified: "2026-12-03T00:00:00Z".into(),
        }
    }

    fn envelope(key: &FileKey, about: &str, verdict: &Verdict) -> Envelope {
        let statement = Statement::new(
            vec![Subject::image("registry/app", about)],
            VERDICT_V1,
            verdict.predicate(),
        );
        let payload = statement.to_payload();
        let signature = key.sign(&pae(statement::PAYLOAD_TYPE, &payload)).unwrap();
        Envelope::signed(
            statement::PAYLOAD_TYPE,
            &payload,
            &key.public_key().key_id(),
            &signature,
        )
    }

    fn requirement(key: &FileKey) -> Requirement {
        Requirement {
            environment: "prod".into(),
            key: key.public_key().clone(),
            policy_digest: POLICY.into(),
        }
    }

    fn judged(envelope: &Envelope, image: &str, key: &FileKey) -> Result<Verified, Shortfall> {
        judge(
            &serde_json::to_vec(envelope).unwrap(),
            &digest(7),
            image,
            &requirement(key),
        )
    }

    #[test]
    fn a_passed_verdict_under_the_policy_signed_by_the_key_is_accepted() {
        let key = FileKey::from_pem(keys::P256_PKCS8).unwrap();
        let good = envelope(&key, &digest(1), &verdict("passed", POLICY));
        let verified = judged(&good, &digest(1), &key).unwrap();
        assert_eq!(verified.verdict.commit.as_deref(), Some("abc"));
        assert!(verified.envelope.starts_with("sha256:"));
    }

    #[test]
    fn each_shortfall_has_its_own_message() {
        let key = FileKey::from_pem(keys::P256_PKCS8).unwrap();
        let other = FileKey::from_pem(keys::ED25519_PKCS8).unwrap();
        let good = envelope(&key, &digest(1), &verdict("passed", POLICY));

        // A byte of the statement flipped after signing.
        let mut tampered = good.clone();
        let mut payload = tampered.payload_bytes().unwrap();
        let at = payload.len() / 2;
        payload[at] ^= 1;
        tampered.payload =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &payload);
        let shortfall = judged(&tampered, &digest(1), &key).unwrap_err();
        assert!(
            matches!(shortfall, Shortfall::Tampered { .. }),
            "{shortfall}"
        );
        assert!(shortfall.to_string().contains("changed after signing"));

        // The verdict of one image attached to another.
        let shortfall = judged(&good, &digest(2), &key).unwrap_err();
        assert!(
            matches!(shortfall, Shortfall::OtherSubject { .. }),
            "{shortfall}"
        );
        assert!(shortfall.to_string().contains("it does not describe"));

        // Signed by someone else's key.
        let foreign = envelope(&other, &digest(1), &verdict("passed", POLICY));
        let shortfall = judged(&foreign, &digest(1), &key).unwrap_err();
        assert!(
            matches!(shortfall, Shortfall::OtherKey { .. }),
            "{shortfall}"
        );
        assert!(shortfall.to_string().contains(&other.public_key().key_id()));

        // Another policy.
        let other_policy = envelope(&key, &digest(1), &verdict("passed", &digest(3)));
        let shortfall = judged(&other_policy, &digest(1), &key).unwrap_err();
        assert!(
            matches!(shortfall, Shortfall::OtherPolicy { .. }),
            "{shortfall}"
        );
        assert!(shortfall.to_string().contains(POLICY));

        // A failed gate, signed all the same.
        let failed = envelope(&key, &digest(1), &verdict("failed", POLICY));
        let shortfall = judged(&failed, &digest(1), &key).unwrap_err();
        assert!(
            matches!(shortfall, Shortfall::GateFailed { .. }),
            "{shortfall}"
        );

        // Not an envelope.
        let shortfall = judge(b"{", &digest(7), &digest(1), &requirement(&key)).unwrap_err();
        assert!(
            matches!(shortfall, Shortfall::Unreadable { .. }),
            "{shortfall}"
        );
    }

    #[test]
    fn the_closest_shortfall_is_reported() {
        let missing = Shortfall::Missing {
            digest: digest(1),
            environment: "prod".into(),
        };
        let policy = Shortfall::OtherPolicy {
            digest: digest(1),
            environment: "prod".into(),
            attested: digest(2),
            expected: digest(3),
        };
        assert!(policy.rank() < missing.rank());
    }
}
