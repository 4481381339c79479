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

/// The gate-only build (`--no-default-features`, built by tests/run.sh, which names it in
/// LAMBDA_GATE_GATE_ONLY): it checks as the full build does, and each runner command says
/// which feature it lacks instead of failing obscurely.
#[test]
fn the_gate_only_build_checks_and_names_the_feature_the_runner_needs() {
    let gate_only = std::env::var_os("LAMBDA_GATE_GATE_ONLY")
        .expect("LAMBDA_GATE_GATE_ONLY (tests/run.sh builds the gate alone and names it)");
    let check = |binary: &std::ffi::OsStr| {
        Command::new(binary)
            .args([
                "check",
                "--isolated",
                "--format",
                "json",
                "testdata/realworld",
            ])
            .output()
            .expect("the binary runs")
    };
    let checked = check(&gate_only);
    let full = check(env!("CARGO_BIN_EXE_lambda-gate").as_ref());
    let diagnostics = |output: &std::process::Output| -> serde_json::Value {
        let report: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("JSON report");
        report["diagnostics"].clone()
    };
    assert_eq!(checked.status.code(), full.status.code());
    assert_eq!(diagnostics(&checked), diagnostics(&full));
    assert!(
        diagnostics(&full).as_array().is_some_and(|d| !d.is_empty()),
        "the corpus has findings"
    );

    for command in [
        vec!["build", "example-project"],
        vec![
            "promote",
            "127.0.0.1:9/team/quote",
            "--digest",
            "sha256:0e54c71614c181dba589a9d58c74c6e7ce4fa65b81f620733248b6a4b7b0b555",
            "--to",
            "staging",
        ],
        vec![
            "verify-deployable",
            "127.0.0.1:9/team/quote:v1",
            "--architecture",
            "arm64",
        ],
        vec!["trace", "quote:live"],
        vec!["fleet", "--region", "eu-west-1"],
        vec!["sweep", "--root", "example-project", "--deployed"],
    ] {
        let output = Command::new(&gate_only)
            .args(&command)
            .output()
            .expect("the gate-only binary runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(
            stderr.contains("built without it") && stderr.contains("--features runner"),
            "{command:?}: {stderr}"
        );
    }
}
