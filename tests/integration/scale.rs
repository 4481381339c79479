//! A generated tree of 300 Lambdas: the gate finds exactly the violations the generator put in.

use std::collections::BTreeMap;

use lambda_gate::check::{check, CheckOptions};

#[test]
fn diagnostics_match_the_generated_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lambda-gate.toml"), "").unwrap();
    let truth = lambda_gate::corpus::write_tree(dir.path(), 300, 11).unwrap();
    let result = check(&CheckOptions {
        paths: vec![dir.path().to_path_buf()],
        ..CheckOptions::default()
    })
    .unwrap();
    assert_eq!(result.lambdas(), 300);
    // A Dockerfile, four Python modules and a Terraform file each.
    assert_eq!(result.files_checked, 1800);
    let mut found: BTreeMap<&str, usize> = BTreeMap::new();
    for d in result
        .diagnostics
        .iter()
        .filter(|d| d.severity != lambda_gate::diagnostic::Severity::Info)
    {
        *found.entry(d.rule).or_default() += 1;
    }
    assert_eq!(found, truth);
    // Every rule the generator can break is exercised at this size.
    assert_eq!(
        truth.len(),
        lambda_gate::corpus::VIOLATIONS.len(),
        "{truth:?}"
    );
}

/// The threads this process runs now.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |tasks| tasks.count())
}

#[test]
fn a_check_of_one_lambda_starts_no_threads() {
    // A pre-commit run's case: one Lambda and its Terraform module, walked on this thread.
    // Starting rayon's workers would cost about as much as the check (BENCHMARKS.md). nextest
    // runs each test in a process of its own, so no other test's threads come or go here.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lambda-gate.toml"), "").unwrap();
    lambda_gate::corpus::write_tree(dir.path(), 1, 11).unwrap();
    let before = threads();
    assert!(before > 0, "/proc/self/task lists this thread");
    let result = check(&CheckOptions {
        paths: vec![dir.path().to_path_buf()],
        walk: lambda_gate::discover::WalkOptions {
            follow_links: false,
            threads: 1,
        },
        ..CheckOptions::default()
    })
    .unwrap();
    assert_eq!((result.lambdas(), result.files_checked), (1, 6));
    assert_eq!(threads(), before);
}
