//! lambda-gate as a pre-commit hook, run by the real pre-commit framework in a temporary git
//! repository: a commit that breaks policy is refused with the diagnostic; a clean one goes in.

use std::process::Command;

use crate::common::{git, ok};

const RELEASE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-lambda-python-release-base";
const DIGEST: &str = "sha256:0e54c71614c181dba589a9d58c74c6e7ce4fa65b81f620733248b6a4b7b0b555";

#[test]
fn pre_commit_refuses_a_policy_breaking_commit_and_accepts_a_clean_one() {
    refuses_and_accepts("      - id: lambda-gate-system\n");
}

/// The `lambda-gate` hook's own entry (`lambda-gate-hook`, which `language: rust` installs with
/// the crate), run from the built binaries: `language: system` in the team's configuration
/// keeps pre-commit from building the crate with cargo, and nothing else of the hook changes.
#[test]
fn the_rust_hooks_entry_refuses_and_accepts_as_the_installed_one_does() {
    refuses_and_accepts("      - id: lambda-gate\n        language: system\n");
}

/// A commit that breaks policy is refused with the diagnostic, a clean one goes in, and a
/// change to any file of a Lambda checks the whole Lambda, with `hook` (a hooks entry of
/// `.pre-commit-config.yaml`) as the hook.
fn refuses_and_accepts(hook: &str) {
    let scratch = tempfile::tempdir().unwrap();
    // A hook repository holding this project's .pre-commit-hooks.yaml.
    let hooks = scratch.path().join("hooks");
    std::fs::create_dir(&hooks).unwrap();
    std::fs::copy(
        ".pre-commit-hooks.yaml",
        hooks.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    ok(git(&hooks, &["init", "-q"]));
    ok(git(&hooks, &["add", "."]));
    ok(git(&hooks, &["commit", "-q", "-m", "hooks"]));
    let rev = String::from_utf8(ok(git(&hooks, &["rev-parse", "HEAD"])).stdout).unwrap();

    // The team's repository with one Lambda.
    let repo = scratch.path().join("repo");
    std::fs::create_dir_all(repo.join("quote/app")).unwrap();
    std::fs::write(
        repo.join("quote/app/handler.py"),
        "def handler(event: dict, context: object) -> dict:\n    return {}\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("quote/mypy.ini"),
        "[mypy]\npython_version = 3.12\nstrict = True\nenable_error_code = ignore-without-code, redundant-expr, truthy-bool\n",
    )
    .unwrap();
    std::fs::write(
        repo.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n{hook}",
            hooks.display(),
            rev.trim()
        ),
    )
    .unwrap();
    ok(git(&repo, &["init", "-q"]));
    let binary = assert_cmd::cargo::cargo_bin("lambda-gate");
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let pre_commit_home = scratch.path().join("pre-commit-home");
    let run_pre_commit = |args: &[&str]| {
        Command::new("python3")
            .args(["-m", "pre_commit"])
            .args(args)
            .current_dir(&repo)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", &pre_commit_home)
            .output()
            .expect("pre-commit (tests/run.sh installs it)")
    };
    ok(run_pre_commit(&["install"]));
    let commit = |message: &str| {
        Command::new("git")
            .args([
                "-c",
                "user.email=dev@example.com",
                "-c",
                "user.name=dev",
                "commit",
                "-q",
                "-m",
                message,
            ])
            .current_dir(&repo)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", &pre_commit_home)
            .output()
            .unwrap()
    };

    // Unpinned base: refused, and the diagnostic is shown.
    std::fs::write(
        repo.join("quote/Dockerfile"),
        format!("FROM {RELEASE}:3.12\nCOPY app/ ${{LAMBDA_TASK_ROOT}}/app/\nCMD [\"app.handler.handler\"]\n"),
    )
    .unwrap();
    ok(git(&repo, &["add", "."]));
    let refused = commit("add quote");
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(
        !refused.status.success(),
        "the commit must be refused: {shown}"
    );
    assert!(
        shown.contains("error[DKR005]") && shown.contains("quote/Dockerfile"),
        "{shown}"
    );
    assert!(String::from_utf8(git(&repo, &["log", "--oneline"]).stdout)
        .unwrap()
        .is_empty());

    // Pinned: the commit goes in.
    std::fs::write(
        repo.join("quote/Dockerfile"),
        format!("FROM {RELEASE}:3.12@{DIGEST}\nCOPY app/ ${{LAMBDA_TASK_ROOT}}/app/\nCMD [\"app.handler.handler\"]\n"),
    )
    .unwrap();
    ok(git(&repo, &["add", "."]));
    ok(commit("add quote"));

    // A change to a file of the Lambda (not its Dockerfile) still checks the whole Lambda.
    std::fs::rename(
        repo.join("quote/app/handler.py"),
        repo.join("quote/app/main.py"),
    )
    .unwrap();
    ok(git(&repo, &["add", "-A"]));
    let refused = commit("rename the handler module");
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(
        !refused.status.success() && shown.contains("error[DKR007]"),
        "{shown}"
    );
}
