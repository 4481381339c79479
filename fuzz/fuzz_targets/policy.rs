//! Any bytes as lambda-gate.toml: loading either succeeds or returns a positioned error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile_dir() else { return };
    let path = dir.join("lambda-gate.toml");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Err(error) = lambda_gate::policy::load(&dir, None, false) {
        assert!(error.line >= 1 && error.column >= 1);
    }
});

/// One scratch directory per fuzzing process.
fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("lambda-gate-fuzz-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
