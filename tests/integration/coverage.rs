//! Coverage decided as coverage.py decides it: a differential test against the real
//! `coverage report --fail-under` on projects measured by pytest-cov, and diff coverage on a
//! real git repository.

use std::fs;
use std::path::Path;
use std::process::Command;

use assert_cmd::Command as Gate;

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn run(dir: &Path, program: &str, args: &[&str]) -> std::process::Output {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .expect(program);
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A package whose module has `executed` top-level statements, one function that runs with a
/// branch taken one way, and an uncalled function of `missed` statements.
fn project(dir: &Path, executed: usize, missed: usize) {
    let mut module = String::new();
    for i in 0..executed {
        module.push_str(&format!("v{i} = {i}\n"));
    }
    module.push_str(
        "def used(x):\n    if x:\n        return 1\n    return 2\n\nused(1)\n\ndef unused():\n",
    );
    for i in 0..missed.max(1) {
        module.push_str(&format!("    w{i} = {i}\n"));
    }
    write(&dir.join("pkg/__init__.py"), "");
    write(&dir.join("pkg/m.py"), &module);
    write(
        &dir.join("tests/test_m.py"),
        "import pkg.m\n\n\ndef test_imports() -> None:\n    assert pkg.m.used(1) == 1\n",
    );
}

const ORACLE: &str = r#"
import contextlib, io, sys
from coverage.cmdline import main
for item in sys.argv[1:]:
    threshold, precision = item.split("/")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        status = main(["report", f"--fail-under={threshold}", f"--precision={precision}"])
    print(item, status)
"#;

#[test]
fn fail_under_decisions_match_coverage_report() {
    // (top-level statements, missed statements): 15,999 + 1 of 20,000 lines is 79.995%.
    let cases = [
        (15_998, 4_001, false),
        (5, 2, true),
        (40, 10, true),
        (7, 3, true),
        (1, 0, true),
    ];
    let thresholds = [
        "0", "50", "62.5", "79", "79.99", "79.995", "79.996", "80", "80.5", "83.33", "90", "99.5",
        "100",
    ];
    let mut compared = 0;
    for (executed, missed, branch) in cases {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path(), executed, missed);
        let mut args = vec![
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--cov=pkg",
            "--cov-report=xml",
            "--cov-report=json",
            "--cov-report=lcov",
        ];
        if branch {
            args.push("--cov-branch");
        }
        run(dir.path(), "python3", &args);
        let items: Vec<String> = thresholds
            .iter()
            .flat_map(|t| ["0", "1", "2", "3"].map(|p| format!("{t}/{p}")))
            .collect();
        let mut oracle_args = vec!["-c", ORACLE];
        oracle_args.extend(items.iter().map(String::as_str));
        let oracle = run(dir.path(), "python3", &oracle_args);
        let json: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.path().join("coverage.json")).unwrap()).unwrap();
        for line in String::from_utf8_lossy(&oracle.stdout).lines() {
            let (item, status) = line.split_once(' ').unwrap();
            let (threshold, precision) = item.split_once('/').unwrap();
            for report in ["coverage.xml", "coverage.json", "coverage.lcov"] {
                let output = Gate::cargo_bin("lambda-gate")
                    .unwrap()
                    .current_dir(dir.path())
                    .args([
                        "inspect",
                        "coverage",
                        report,
                        "--fail-under",
                        threshold,
                        "--precision",
                        precision,
                        "--format",
                        "json",
                    ])
                    .output()
                    .unwrap();
                let ours: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
                let expected = status == "0";
                assert_eq!(ours["passes"], expected, "{report} {item} ({executed}, {missed}): coverage report exited {status}, we said {ours}");
                assert_eq!(output.status.code(), Some(if expected { 0 } else { 1 }));
                assert_eq!(
                    ours["total_percent"], json["totals"]["percent_covered"],
                    "{report} total"
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 5 * 13 * 4 * 3);
}

#[test]
fn diff_coverage_on_a_real_git_repository() {
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    write(
        &dir.join("lambda-gate.toml"),
        "[coverage]\nfail-under = 50\n",
    );
    let lambda = dir.join("fn");
    write(
        &lambda.join("Dockerfile"),
        "FROM 123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-lambda-python-release-base:3.12@sha256:0e54c71614c181dba589a9d58c74c6e7ce4fa65b81f620733248b6a4b7b0b555\nCOPY app/ ${LAMBDA_TASK_ROOT}/app/\nCMD [\"app.handler.handler\"]\n",
    );
    write(&lambda.join("app/__init__.py"), "");
    write(&lambda.join("mypy.ini"), "[mypy]\npython_version = 3.12\nstrict = True\nenable_error_code = ignore-without-code, redundant-expr, truthy-bool\n");
    write(
        &lambda.join("app/handler.py"),
        "def handler(event: dict, context: object) -> dict:\n    return {}\n",
    );
    write(&lambda.join("tests/test_handler.py"), "from app.handler import handler\n\n\ndef test_handler() -> None:\n    assert handler({}, None) == {}\n");
    write(
        &dir.join(".gitignore"),
        "coverage.xml\n.coverage\n__pycache__/\n",
    );
    for args in [
        &["init", "-q", "-b", "main"][..],
        &[
            "-c",
            "user.email=ci@example.com",
            "-c",
            "user.name=ci",
            "add",
            ".",
        ],
        &[
            "-c",
            "user.email=ci@example.com",
            "-c",
            "user.name=ci",
            "commit",
            "-q",
            "-m",
            "base",
        ],
    ] {
        run(dir, "git", args);
    }
    // New, untested code: 4 of the 5 added lines never run.
    write(
        &lambda.join("app/handler.py"),
        "def handler(event: dict, context: object) -> dict:\n    return {}\n\n\ndef refund(order):\n    total = order['total']\n    if total > 100:\n        return total * 0.9\n    return total\n",
    );
    let pytest = [
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--cov=app",
        "--cov-branch",
        "--cov-report=xml",
    ];
    run(&lambda, "python3", &pytest);
    let check = |expect: i32| {
        Gate::cargo_bin("lambda-gate")
            .unwrap()
            .current_dir(dir)
            .args(["check", "fn", "--diff-base", "main", "--format", "json"])
            .assert()
            .code(expect)
    };
    let output = check(1).get_output().stdout.clone();
    let json: serde_json::Value = serde_json::from_slice(&output).unwrap();
    let cov007: Vec<_> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "COV007")
        .collect();
    assert_eq!(cov007.len(), 1, "{json}");
    let message = cov007[0]["message"].as_str().unwrap();
    assert!(
        message.contains("since main is 20%") && message.contains("(1 of 5)"),
        "{message}"
    );

    // Test the new code: the changed lines are covered and the gate passes.
    write(
        &lambda.join("tests/test_refund.py"),
        "from app.handler import refund\n\n\ndef test_refund() -> None:\n    assert refund({'total': 200}) == 180\n    assert refund({'total': 10}) == 10\n",
    );
    run(&lambda, "python3", &pytest);
    check(0);
    // A ref that does not exist is a usage error.
    Gate::cargo_bin("lambda-gate")
        .unwrap()
        .current_dir(dir)
        .args(["check", "fn", "--diff-base", "nope"])
        .assert()
        .code(2);
}
