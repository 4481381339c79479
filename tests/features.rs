//! The binary and the tests compile each shared dependency once: every crate the binary
//! uses has the same features whether or not the dev-dependencies are part of the build
//! (cargo's resolver turns on their features only for tests, benches and examples, and a
//! crate built with other features is built again). Cargo.toml turns the differing features
//! on for the binary too; this test names any difference a new dependency brings.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// `package version` -> its feature sets, as `cargo tree` resolves them for `edges` (a package
/// built for build scripts as well as for the binary may have two).
fn resolved(edges: &str) -> BTreeMap<String, BTreeSet<String>> {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--locked",
            "--prefix",
            "none",
            "--format",
            "{p}|{f}",
        ])
        .args(["--edges", edges])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut packages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some((package, features)) = line.split_once('|') else {
            continue;
        };
        // `(*)` marks a package shown before; `(proc-macro)` is part of the name.
        packages
            .entry(package.trim_end_matches(" (*)").to_string())
            .or_default()
            .insert(features.trim_end_matches(" (*)").to_string());
    }
    packages
}

#[test]
fn the_binary_and_the_tests_share_every_compiled_dependency() {
    let binary = resolved("normal,build");
    let tests = resolved("normal,build,dev");
    let differing: Vec<String> = binary
        .iter()
        .filter_map(|(package, features)| {
            let with_dev = tests.get(package)?;
            (with_dev != features)
                .then(|| format!("{package}: binary {features:?}, tests {with_dev:?}"))
        })
        .collect();
    assert!(
        differing.is_empty(),
        "turn these features on in [dependencies] so one build serves both:\n{}",
        differing.join("\n")
    );
    assert!(
        binary.len() > 100,
        "cargo tree listed {} packages",
        binary.len()
    );
}
