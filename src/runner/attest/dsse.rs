//! DSSE envelopes (Dead Simple Signing Envelope, v1): a payload, its type, and signatures over
//! the pre-authentication encoding (PAE) of the two, so a signature can never be replayed for
//! a payload of another type. The format securesystemslib and in-toto read.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::keys::PublicKey;

/// The media type of an envelope (a referrer's layer and artifact type).
pub const ENVELOPE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub payload_type: String,
    /// Standard base64 of the payload.
    pub payload: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    #[serde(default)]
    pub keyid: String,
    /// Standard base64 of the signature.
    pub sig: String,
}

/// Why an envelope did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeProblem {
    /// Not an envelope at all, or base64 that does not decode.
    Malformed(String),
    /// No signature by the expected key; the key ids that did sign.
    NotSignedBy { signed_by: Vec<String> },
    /// A signature claiming the expected key that does not verify: payload or signature
    /// changed after signing.
    BadSignature,
}

/// `DSSEv1 <len(type)> <type> <len(payload)> <payload>`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

impl Envelope {
    /// An envelope of `payload` with `signature` (over [`pae`] of the two) by `key_id`.
    pub fn signed(payload_type: &str, payload: &[u8], key_id: &str, signature: &[u8]) -> Envelope {
        let b64 = base64::engine::general_purpose::STANDARD;
        Envelope {
            payload_type: payload_type.to_string(),
            payload: b64.encode(payload),
            signatures: vec![EnvelopeSignature {
                keyid: key_id.to_string(),
                sig: b64.encode(signature),
            }],
        }
    }

    /// Parsing can only find the bytes malformed: the reason.
    pub fn parse(bytes: &[u8]) -> Result<Envelope, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a DSSE envelope: {e}"))
    }

    pub fn payload_bytes(&self) -> Result<Vec<u8>, EnvelopeProblem> {
        base64::engine::general_purpose::STANDARD
            .decode(self.payload.as_bytes())
            .map_err(|e| EnvelopeProblem::Malformed(format!("payload is not base64: {e}")))
    }

    /// The payload, when a signature of `key` over it verifies. A signature without a key id is
    /// tried too (DSSE makes the id optional).
    pub fn verify(&self, key: &PublicKey) -> Result<Vec<u8>, EnvelopeProblem> {
        let payload = self.payload_bytes()?;
        let message = pae(&self.payload_type, &payload);
        let wanted = key.key_id();
        let mut claimed = false;
        for signature in &self.signatures {
            if !signature.keyid.is_empty() && signature.keyid != wanted {
                continue;
            }
            claimed |= signature.keyid == wanted;
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(&signature.sig) else {
                continue;
            };
            if key.verifies(&message, &bytes) {
                return Ok(payload);
            }
        }
        if claimed {
            Err(EnvelopeProblem::BadSignature)
        } else {
            Err(EnvelopeProblem::NotSignedBy {
                signed_by: self
                    .signatures
                    .iter()
                    .map(|s| s.keyid.clone())
                    .filter(|id| !id.is_empty())
                    .collect(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::keys::FileKey;
    use super::*;

    #[test]
    fn pae_is_the_specification_s() {
        // The example of the DSSE specification's protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    fn signed(key: &FileKey) -> Envelope {
        let payload_type = "application/vnd.in-toto+json";
        let payload = br#"{"a":1}"#;
        let signature = key.sign(&pae(payload_type, payload)).unwrap();
        Envelope::signed(
            payload_type,
            payload,
            &key.public_key().key_id(),
            &signature,
        )
    }

    #[test]
    fn a_signed_envelope_verifies_and_round_trips() {
        let key = FileKey::from_pem(super::super::keys::tests::P256_PKCS8).unwrap();
        let envelope = signed(&key);
        let text = serde_json::to_vec(&envelope).unwrap();
        let parsed = Envelope::parse(&text).unwrap();
        assert_eq!(parsed.verify(key.public_key()).unwrap(), br#"{"a":1}"#);
    }

    #[test]
    fn tampering_and_other_keys_are_told_apart() {
        let key = FileKey::from_pem(super::super::keys::tests::P256_PKCS8).unwrap();
        let other = FileKey::from_pem(super::super::keys::tests::ED25519_PKCS8).unwrap();
        let mut envelope = signed(&key);
        assert_eq!(
            envelope.verify(other.public_key()),
            Err(EnvelopeProblem::NotSignedBy {
                signed_by: vec![key.public_key().key_id()]
            })
        );
        envelope.payload = base64::engine::general_purpose::STANDARD.encode(br#"{"a":2}"#);
        assert_eq!(
            envelope.verify(key.public_key()),
            Err(EnvelopeProblem::BadSignature)
        );
        // The type is signed too.
        let mut retyped = signed(&key);
        retyped.payload_type = "text/plain".into();
        assert_eq!(
            retyped.verify(key.public_key()),
            Err(EnvelopeProblem::BadSignature)
        );
        assert!(Envelope::parse(b"{}")
            .unwrap_err()
            .contains("not a DSSE envelope"));
    }
}
