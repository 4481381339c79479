//! SARIF, GitHub annotations and JUnit as their consumers read them: every finding attaches
//! to a file (a finding about a directory is a run-level notice), and the SARIF log passes
//! Microsoft's SARIF Multitool with GitHub's ingestion rules (`--rule-kind "Sarif;Gh"`), for
//! relative paths and for the absolute paths Jenkins hands over.

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

/// `lambda-gate check` of `paths` from `cwd` in `format`, its output.
fn report(cwd: &Path, paths: &[&Path], format: &str) -> String {
    let output = Command::cargo_bin("lambda-gate")
        .expect("binary")
        .current_dir(cwd)
        .args(["check", "--format", format])
        .args(paths)
        .output()
        .expect("lambda-gate runs");
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The corpus with findings of every family, and an empty directory (LG006 at the directory).
fn inputs() -> (tempfile::TempDir, PathBuf) {
    let empty = tempfile::tempdir().expect("tempdir");
    std::fs::write(empty.path().join("lambda-gate.toml"), "").expect("config");
    std::fs::create_dir(empty.path().join("nothing-here")).expect("mkdir");
    let path = empty.path().join("nothing-here");
    (empty, path)
}

/// The multitool's findings on `log` at error or warning level, as `id: message` lines.
fn multitool_findings(log: &Path) -> Vec<String> {
    // tests/run.sh installs it from npm and names it here.
    let program =
        std::env::var_os("LAMBDA_GATE_SARIF_MULTITOOL").unwrap_or_else(|| "sarif-multitool".into());
    let out = log.with_extension("validation.sarif");
    let status = Command::new(program)
        .args(["validate", "--rule-kind", "Sarif;Gh", "-o"])
        .arg(&out)
        .arg(log)
        .output()
        .expect(
            "the SARIF Multitool (tests/run.sh installs it and sets LAMBDA_GATE_SARIF_MULTITOOL)",
        );
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    let validation: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("validation log"))
            .expect("validation JSON");
    validation["runs"][0]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| matches!(r["level"].as_str(), Some("error" | "warning") | None))
        .map(|r| format!("{}: {}", r["ruleId"], r["message"]))
        .collect()
}

#[test]
fn sarif_passes_the_multitool_with_relative_and_absolute_paths() {
    let (_empty, nothing) = inputs();
    let corpus = repository().join("testdata/realworld");
    let scratch = tempfile::tempdir().expect("tempdir");
    for (name, cwd, paths) in [
        (
            "relative",
            repository(),
            vec![Path::new("testdata/realworld")],
        ),
        // From elsewhere, as Jenkins runs it: every path absolute.
        (
            "absolute",
            scratch.path().to_path_buf(),
            vec![corpus.as_path(), nothing.as_path()],
        ),
    ] {
        let text = report(&cwd, &paths, "sarif");
        let log: Value = serde_json::from_str(&text).expect("SARIF JSON");
        let results = log["runs"][0]["results"].as_array().expect("results");
        assert!(results.len() >= 10, "{name}: {} results", results.len());
        for result in results {
            let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .expect("uri");
            assert!(
                !uri.is_empty() && uri != "." && !uri.ends_with('/'),
                "{name}: a result at a directory: {uri}"
            );
            if name == "absolute" {
                assert!(uri.starts_with("file:///"), "{uri}");
            }
        }
        let file = scratch.path().join(format!("{name}.sarif"));
        std::fs::write(&file, &text).expect("write");
        let findings = multitool_findings(&file);
        assert!(findings.is_empty(), "{name}: {findings:#?}");
    }
}

#[test]
fn a_finding_about_a_directory_is_a_run_level_notice_in_every_format() {
    let (empty, nothing) = inputs();
    let sarif: Value =
        serde_json::from_str(&report(empty.path(), &[&nothing], "sarif")).expect("SARIF");
    let run = &sarif["runs"][0];
    assert_eq!(run["results"].as_array().map(Vec::len), Some(0), "{run}");
    let notices = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    assert_eq!(notices.len(), 1, "{run}");
    assert_eq!(notices[0]["descriptor"]["id"], "LG006");

    let github = report(empty.path(), &[&nothing], "github");
    let line = github.lines().find(|l| l.contains("LG006")).expect("LG006");
    assert!(line.starts_with("::warning title=LG006::"), "{line}");
    assert!(!line.contains("file="), "{line}");

    let junit = report(empty.path(), &[&nothing], "junit");
    assert!(junit.contains("nothing-here/\""), "{junit}");
    assert!(!junit.contains(r#"name=".""#), "{junit}");
}

/// Findings about a Lambda as a whole (no coverage report) point at the file that decides them.
#[test]
fn lambda_level_findings_attach_to_a_file_in_github_and_junit() {
    let work = tempfile::tempdir().expect("tempdir");
    let project = work.path().join("example-project");
    std::fs::create_dir(&project).expect("mkdir");
    for entry in [
        "Dockerfile",
        "pyproject.toml",
        "requirements.txt",
        "app",
        "tests",
    ] {
        let (from, to) = (
            repository().join("example-project").join(entry),
            project.join(entry),
        );
        if from.is_dir() {
            crate::common::copy_dir(&from, &to);
        } else {
            std::fs::copy(&from, &to).expect("copy");
        }
    }
    std::fs::write(work.path().join("lambda-gate.toml"), "").expect("config");
    let github = report(work.path(), &[Path::new("example-project")], "github");
    let cov005 = github
        .lines()
        .find(|l| l.contains("COV005"))
        .expect("COV005");
    assert!(
        cov005.contains("file=example-project/pyproject.toml,"),
        "{cov005}"
    );
    let junit = report(work.path(), &[Path::new("example-project")], "junit");
    assert!(
        junit.contains(r#"name="example-project/pyproject.toml""#),
        "{junit}"
    );
}
