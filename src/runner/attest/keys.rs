//! Signing and verification keys: ECDSA P-256 (SHA-256) and Ed25519, read from PEM files.
//!
//! Private keys: PKCS#8 (`BEGIN PRIVATE KEY`, what `openssl genpkey` and Python's
//! `cryptography` write) or, for P-256, SEC1 (`BEGIN EC PRIVATE KEY`, what `openssl ecparam
//! -genkey` writes). Public keys: SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`). Encrypted keys are
//! refused with a message: the runner never asks for a passphrase. A private key's bytes never
//! leave this module: no `Debug`, no `Display`, no serialisation.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use sha2::{Digest as _, Sha256};
use thiserror::Error;

/// The DER header of a P-256 SubjectPublicKeyInfo; the 65-byte uncompressed point follows.
const P256_SPKI_HEADER: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// The DER header of an Ed25519 SubjectPublicKeyInfo; the 32-byte key follows.
const ED25519_SPKI_HEADER: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// PKCS#8's wrapping of a SEC1 P-256 key: version 0 and the algorithm (id-ecPublicKey, P-256).
const P256_PKCS8_ALGORITHM: [u8; 24] = [
    0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
    0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
];

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// The signature algorithms the runner signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA over P-256 with SHA-256, ASN.1 DER signatures (as KMS's `ECDSA_SHA_256` and
    /// securesystemslib's `ecdsa-sha2-nistp256` make them).
    EcdsaP256Sha256,
    Ed25519,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256Sha256 => "ecdsa-sha2-nistp256",
            Algorithm::Ed25519 => "ed25519",
        }
    }
}

/// A public key: what an environment's policy names to accept attestations by.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub algorithm: Algorithm,
    /// The raw key: the uncompressed point (P-256) or the 32 bytes (Ed25519).
    raw: Vec<u8>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PublicKey({}, {})",
            self.algorithm.as_str(),
            self.key_id()
        )
    }
}

impl PublicKey {
    /// Reads a `BEGIN PUBLIC KEY` PEM file.
    pub fn read(path: &Path) -> Result<PublicKey, KeyError> {
        read_pem(path, PublicKey::from_pem)
    }

    pub fn from_pem(text: &str) -> Result<PublicKey, String> {
        let (label, der) = pem(text)?;
        if label != "PUBLIC KEY" {
            return Err(format!(
                "a `{label}` PEM block, expected `PUBLIC KEY` (SubjectPublicKeyInfo)"
            ));
        }
        PublicKey::from_spki(&der)
    }

    /// A DER SubjectPublicKeyInfo (what KMS's `GetPublicKey` returns).
    pub fn from_spki(der: &[u8]) -> Result<PublicKey, String> {
        if let Some(point) = der.strip_prefix(&P256_SPKI_HEADER[..]) {
            if point.len() == 65 && point[0] == 4 {
                return Ok(PublicKey {
                    algorithm: Algorithm::EcdsaP256Sha256,
                    raw: point.to_vec(),
                });
            }
        }
        if let Some(key) = der.strip_prefix(&ED25519_SPKI_HEADER[..]) {
            if key.len() == 32 {
                return Ok(PublicKey {
                    algorithm: Algorithm::Ed25519,
                    raw: key.to_vec(),
                });
            }
        }
        Err("not an ECDSA P-256 or Ed25519 public key (the runner verifies those two)".into())
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki(&self) -> Vec<u8> {
        let header: &[u8] = match self.algorithm {
            Algorithm::EcdsaP256Sha256 => &P256_SPKI_HEADER,
            Algorithm::Ed25519 => &ED25519_SPKI_HEADER,
        };
        [header, &self.raw].concat()
    }

    /// The PEM text (`BEGIN PUBLIC KEY`).
    pub fn to_pem(&self) -> String {
        let body = base64::engine::general_purpose::STANDARD.encode(self.spki());
        let mut text = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            text.push_str(&String::from_utf8_lossy(line));
            text.push('\n');
        }
        text.push_str("-----END PUBLIC KEY-----\n");
        text
    }

    /// The key's id in envelopes: the hex SHA-256 of its SubjectPublicKeyInfo.
    pub fn key_id(&self) -> String {
        format!("{:x}", Sha256::digest(self.spki()))
    }

    /// Whether `signature` is this key's over `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let algorithm: &dyn signature::VerificationAlgorithm = match self.algorithm {
            Algorithm::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
            Algorithm::Ed25519 => &signature::ED25519,
        };
        UnparsedPublicKey::new(algorithm, &self.raw)
            .verify(message, signature)
            .is_ok()
    }
}

enum Pair {
    EcdsaP256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A private key read from a file. Signs; shows nothing of itself.
pub struct FileKey {
    pair: Pair,
    public: PublicKey,
}

impl std::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileKey({:?})", self.public)
    }
}

impl FileKey {
    pub fn read(path: &Path) -> Result<FileKey, KeyError> {
        read_pem(path, FileKey::from_pem)
    }

    pub fn from_pem(text: &str) -> Result<FileKey, String> {
        let (label, der) = pem(text)?;
        let pkcs8 = match label.as_str() {
            "PRIVATE KEY" => der,
            "EC PRIVATE KEY" => sec1_to_pkcs8(&der),
            "ENCRYPTED PRIVATE KEY" => {
                return Err(
                    "an encrypted private key: the runner asks no passphrase; decrypt \
                     it into a file only the build can read, or sign with AWS KMS"
                        .into(),
                )
            }
            "PUBLIC KEY" => {
                return Err("a public key where the signing (private) key is needed".into())
            }
            other => return Err(format!("a `{other}` PEM block, expected `PRIVATE KEY`")),
        };
        let rng = SystemRandom::new();
        if let Ok(pair) =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8, &rng)
        {
            let public = PublicKey {
                algorithm: Algorithm::EcdsaP256Sha256,
                raw: pair.public_key().as_ref().to_vec(),
            };
            return Ok(FileKey {
                pair: Pair::EcdsaP256(pair),
                public,
            });
        }
        match Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8) {
            Ok(pair) => {
                let public = PublicKey {
                    algorithm: Algorithm::Ed25519,
                    raw: pair.public_key().as_ref().to_vec(),
                };
                Ok(FileKey {
                    pair: Pair::Ed25519(pair),
                    public,
                })
            }
            Err(_) => Err(
                "not an ECDSA P-256 or Ed25519 private key (the runner signs with those two)"
                    .into(),
            ),
        }
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        match &self.pair {
            Pair::EcdsaP256(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "ECDSA signing failed".to_string()),
            Pair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// A key file, read and parsed by `parse`; errors name the file.
fn read_pem<T>(path: &Path, parse: fn(&str) -> Result<T, String>) -> Result<T, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|reason| KeyError::Invalid {
        path: path.to_path_buf(),
        reason,
    })
}

/// The one PEM block in `text`: its label and decoded bytes.
fn pem(text: &str) -> Result<(String, Vec<u8>), String> {
    let mut lines = text.lines().map(str::trim).skip_while(|l| l.is_empty());
    let first = lines.next().ok_or("empty file: expected a PEM key")?;
    let label = first
        .strip_prefix("-----BEGIN ")
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or("not a PEM file (no `-----BEGIN …-----` line first)")?
        .to_string();
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    for line in lines.by_ref() {
        if line == end {
            return base64::engine::general_purpose::STANDARD
                .decode(body.as_bytes())
                .map(|der| (label, der))
                .map_err(|e| format!("the PEM body is not base64: {e}"));
        }
        if line.contains(':') {
            return Err(
                "a PEM block with headers (an encrypted legacy key?): not supported".into(),
            );
        }
        body.push_str(line);
    }
    Err(format!("no `{end}` line"))
}

/// Wraps a SEC1 `ECPrivateKey` (assumed P-256: ring refuses any other curve) in PKCS#8.
fn sec1_to_pkcs8(sec1: &[u8]) -> Vec<u8> {
    let mut octets = vec![0x04];
    der_length(sec1.len(), &mut octets);
    octets.extend_from_slice(sec1);
    let content = [&P256_PKCS8_ALGORITHM[..], &octets].concat();
    let mut der = vec![0x30];
    der_length(content.len(), &mut der);
    der.extend_from_slice(&content);
    der
}

fn der_length(length: usize, out: &mut Vec<u8>) {
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes = length.to_be_bytes();
        let significant: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        out.push(0x80 | significant.len() as u8);
        out.extend(significant);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    // Test keys, signing nothing outside these tests: `openssl genpkey -algorithm EC -pkeyopt
    // ec_paramgen_curve:P-256` and `openssl genpkey -algorithm ed25519`.
    pub const P256_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgX8DTEUrJszmjre9N
lii4ojOdQewB5gXDwamfktBCCNahRANCAAQ/lZPes81+lSsoVBcbMJLQ2Cp0w0GP
w0De6W6i9QK4+CCHxF2QelAW15i7Cf393CEORxfnaoeSa3g9YE3/j3ly
-----END PRIVATE KEY-----
";
    pub const ED25519_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIA83rHa+fcf4PKoQcuZB1cwMgCDg+dnJWVH9WPHpxa9q
-----END PRIVATE KEY-----
";
    /// `openssl ecparam -name prime256v1 -genkey -noout`.
    pub const P256_SEC1: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIIc2CQZrx6Ym8+OJbzgWaV0K35KFak9YwdpxxwmHOdEfoAoGCCqGSM49
AwEHoUQDQgAE88KSrlMB5SRr7EHr9mqHmOWqb+/f6GL6HFtJXXpviZEaWFE/nYzQ
hdYSqhej59XHOsKDGIA4uNJb1kgjSm3JGQ==
-----END EC PRIVATE KEY-----
";

    #[test]
    fn both_algorithms_sign_and_verify_and_refuse_a_changed_message() {
        for text in [P256_PKCS8, ED25519_PKCS8, P256_SEC1] {
            let key = FileKey::from_pem(text).unwrap();
            let signature = key.sign(b"message").unwrap();
            let public = PublicKey::from_pem(&key.public_key().to_pem()).unwrap();
            assert_eq!(&public, key.public_key());
            assert!(public.verifies(b"message", &signature));
            assert!(!public.verifies(b"messagE", &signature));
        }
    }

    #[test]
    fn key_ids_differ_by_key() {
        let a = FileKey::from_pem(P256_PKCS8).unwrap();
        let b = FileKey::from_pem(ED25519_PKCS8).unwrap();
        assert_ne!(a.public_key().key_id(), b.public_key().key_id());
        assert_eq!(a.public_key().key_id().len(), 64);
    }

    #[test]
    fn bad_files_say_what_they_are() {
        assert!(FileKey::from_pem("").unwrap_err().contains("empty"));
        assert!(FileKey::from_pem("hello")
            .unwrap_err()
            .contains("not a PEM"));
        let public = FileKey::from_pem(P256_PKCS8).unwrap().public_key().to_pem();
        assert!(FileKey::from_pem(&public)
            .unwrap_err()
            .contains("public key"));
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(FileKey::from_pem(encrypted)
            .unwrap_err()
            .contains("passphrase"));
        let truncated = &P256_PKCS8[..P256_PKCS8.len() - 30];
        assert!(FileKey::from_pem(truncated).is_err());
        assert!(PublicKey::from_spki(&[0x30, 0x00]).is_err());
    }
}
