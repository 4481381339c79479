//! Any bytes as lambda-gate.toml: loading either succeeds or returns a positioned error; and
//! recording a new base digest in it (what the base pipeline does) either fails with an error or
//! yields a policy that loads whenever the original did, holding the new digest.
#![no_main]

use std::path::Path;

use lambda_gate::date::Date;
use lambda_gate::policy::record::{record_digests, BuiltBase};
use libfuzzer_sys::fuzz_target;

const NEW: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile_dir() else { return };
    let path = dir.join("lambda-gate.toml");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let loaded = lambda_gate::policy::load(&dir, None, false);
    if let Err(error) = &loaded {
        assert!(error.line >= 1 && error.column >= 1);
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    let base = BuiltBase {
        repository: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-lambda-python-release-base".into(),
        digest: NEW.into(),
    };
    let today = Date::from_days(20_000);
    let recorded = record_digests(text, false, &[base], Some("3.12"), today.plus_days(14), today);
    if let (Ok(_), Ok((after, recorded))) = (&loaded, recorded) {
        let policy = lambda_gate::policy::policy_of_text(Path::new("lambda-gate.toml"), &after)
            .expect("a recorded policy loads when the original did");
        for entry in &recorded {
            assert_eq!(policy.dockerfile.digests.get(&entry.key).map(String::as_str), Some(NEW));
        }
    }
});

/// One scratch directory per fuzzing process.
fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("lambda-gate-fuzz-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
