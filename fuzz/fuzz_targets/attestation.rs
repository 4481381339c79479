//! What a registry hands `deploy` and `verify-deployable` as attestations (DSSE envelopes and the
//! in-toto statements inside them), the key files policy names, and the layers an SBOM is read
//! from. None may panic, and an envelope is accepted only as [`judge`] promises: a passed
//! verdict, about the image, under the required policy.
#![no_main]

use lambda_gate::runner::attest::keys::{FileKey, PublicKey};
use lambda_gate::runner::attest::sbom;
use lambda_gate::runner::attest::statement::Statement;
use lambda_gate::runner::attest::verify::{judge, Requirement};
use libfuzzer_sys::fuzz_target;

/// A test key (P-256), signing nothing outside fuzzing.
const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgX8DTEUrJszmjre9N
lii4ojOdQewB5gXDwamfktBCCNahRANCAAQ/lZPes81+lSsoVBcbMJLQ2Cp0w0GP
w0De6W6i9QK4+CCHxF2QelAW15i7Cf393CEORxfnaoeSa3g9YE3/j3ly
-----END PRIVATE KEY-----
";
const POLICY: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const IMAGE: &str = "sha256:0101010101010101010101010101010101010101010101010101010101010101";

fuzz_target!(|data: &[u8]| {
    let (selector, body) = data.split_first().unwrap_or((&0, &[]));
    let text = String::from_utf8_lossy(body);
    match selector % 4 {
        0 => {
            let key = FileKey::from_pem(KEY).expect("the fuzz key parses");
            let requirement = Requirement {
                environment: "prod".into(),
                key: key.public_key().clone(),
                policy_digest: POLICY.into(),
            };
            if let Ok(verified) = judge(body, "sha256:00", IMAGE, &requirement) {
                assert!(verified.verdict.passed());
                assert_eq!(verified.verdict.policy.digest, POLICY);
            }
        }
        1 => {
            let _ = PublicKey::from_pem(&text);
            let _ = PublicKey::from_spki(body);
            if let Ok(key) = FileKey::from_pem(&text) {
                let signature = key.sign(b"m").expect("a parsed key signs");
                assert!(key.public_key().verifies(b"m", &signature));
            }
        }
        2 => {
            if let Ok(statement) = Statement::parse(body) {
                let _ = statement.is_about(IMAGE);
            }
        }
        _ => {
            let path = std::env::temp_dir().join(format!("lambda-gate-fuzz-{}.tgz", std::process::id()));
            if std::fs::write(&path, body).is_ok() {
                let _ = sbom::packages(&[path.as_path()]);
            }
        }
    }
});
