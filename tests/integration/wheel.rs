//! lambda-gate installed as Python teams install ruff: the wheel that carries the binary
//! (built by maturin in tests/run.sh, which names its directory in LAMBDA_GATE_WHEEL_DIR)
//! installs into a fresh virtual environment and works, and the pre-commit hook repository in
//! `pre-commit-hook/` installs it through the real pre-commit framework with no Rust toolchain
//! on PATH and no package index (the wheel comes from a local directory, `PIP_FIND_LINKS`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{git, ok, text};

const RELEASE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-lambda-python-release-base";
const DIGEST: &str = "sha256:0e54c71614c181dba589a9d58c74c6e7ce4fa65b81f620733248b6a4b7b0b555";

/// The directory holding the built wheel, and the wheel (exactly one, of this version).
fn wheel() -> (PathBuf, PathBuf) {
    let dir = PathBuf::from(
        std::env::var_os("LAMBDA_GATE_WHEEL_DIR")
            .expect("LAMBDA_GATE_WHEEL_DIR (tests/run.sh builds the wheel with maturin)"),
    );
    let prefix = format!("lambda_gate-{}-", env!("CARGO_PKG_VERSION"));
    let wheels: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("wheel directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".whl"))
        })
        .collect();
    assert_eq!(wheels.len(), 1, "one {prefix}*.whl in {}", dir.display());
    (dir, wheels[0].clone())
}

/// A `PATH` of the directories that hold python3 and git, without cargo or rustc: whatever
/// pre-commit does, it cannot compile Rust.
fn path_without_rust() -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs: Vec<String> = std::env::split_paths(&path)
        .filter(|dir| !dir.join("cargo").exists() && !dir.join("rustc").exists())
        .filter_map(|dir| dir.to_str().map(str::to_string))
        .collect();
    dirs.join(":")
}

/// Where virtualenv keeps the setuptools wheel it seeds with: the hook repository's package is
/// built with it (pre-commit runs `pip install .`), still without an index.
fn setuptools_wheels() -> String {
    let output = ok(Command::new("python3")
        .args([
            "-c",
            "import pathlib, virtualenv; print(pathlib.Path(virtualenv.__file__).parent / 'seed' / 'wheels' / 'embed')",
        ])
        .output()
        .expect("python3 with virtualenv (pre-commit depends on it)"));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn the_wheel_installs_a_working_lambda_gate_into_a_fresh_environment() {
    let (dir, wheel) = wheel();
    let scratch = tempfile::tempdir().expect("tempdir");
    let venv = scratch.path().join("venv");
    ok(Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .expect("python3 -m venv"));
    ok(Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
        ])
        .arg(&dir)
        .arg("lambda-gate")
        .output()
        .expect("pip"));
    let installed = venv.join("bin/lambda-gate");
    let version = ok(Command::new(&installed)
        .arg("--version")
        .output()
        .expect("lambda-gate"));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("lambda-gate {}", env!("CARGO_PKG_VERSION"))
    );
    // The binary in the wheel is stripped: far smaller than the release build's.
    let size = std::fs::metadata(&wheel).expect("wheel").len();
    assert!(size < 40 << 20, "the wheel is {size} bytes");

    // It checks: an unpinned base is refused with the rule and the file.
    let lambda = scratch.path().join("repo/quote");
    std::fs::create_dir_all(lambda.join("app")).expect("mkdir");
    std::fs::write(scratch.path().join("repo/lambda-gate.toml"), "").expect("config");
    std::fs::write(
        lambda.join("Dockerfile"),
        format!("FROM {RELEASE}:3.12\nCOPY app/ ${{LAMBDA_TASK_ROOT}}/app/\nCMD [\"app.handler.handler\"]\n"),
    )
    .expect("Dockerfile");
    std::fs::write(
        lambda.join("app/handler.py"),
        "def handler(event: dict, context: object) -> dict:\n    return {}\n",
    )
    .expect("handler");
    let checked = Command::new(&installed)
        .arg("check")
        .arg(scratch.path().join("repo"))
        .output()
        .expect("lambda-gate check");
    assert_eq!(checked.status.code(), Some(1), "{}", text(&checked));
    assert!(
        text(&checked).contains("error[DKR005]"),
        "{}",
        text(&checked)
    );
}

#[test]
fn the_hook_repository_pins_this_version() {
    let pyproject =
        std::fs::read_to_string("pre-commit-hook/pyproject.toml").expect("hook pyproject");
    assert!(
        pyproject.contains(&format!("\"lambda-gate=={}\"", env!("CARGO_PKG_VERSION"))),
        "pre-commit-hook/pyproject.toml must pin lambda-gate=={}",
        env!("CARGO_PKG_VERSION")
    );
}

#[test]
fn pre_commit_installs_the_hook_from_the_wheel_and_refuses_a_breaking_commit() {
    let (dir, _) = wheel();
    let scratch = tempfile::tempdir().expect("tempdir");

    // The hook repository, tagged as a release is.
    let hooks = scratch.path().join("hooks");
    std::fs::create_dir(&hooks).expect("mkdir");
    for file in [".pre-commit-hooks.yaml", "pyproject.toml"] {
        std::fs::copy(Path::new("pre-commit-hook").join(file), hooks.join(file)).expect("copy");
    }
    let tag = format!("v{}", env!("CARGO_PKG_VERSION"));
    ok(git(&hooks, &["init", "-q"]));
    ok(git(&hooks, &["add", "."]));
    ok(git(&hooks, &["commit", "-q", "-m", "hooks"]));
    ok(git(&hooks, &["tag", &tag]));

    // The team's repository with one Lambda.
    let repo = scratch.path().join("repo");
    std::fs::create_dir_all(repo.join("quote/app")).expect("mkdir");
    std::fs::write(
        repo.join("quote/app/handler.py"),
        "def handler(event: dict, context: object) -> dict:\n    return {}\n",
    )
    .expect("handler");
    std::fs::write(
        repo.join("quote/mypy.ini"),
        "[mypy]\npython_version = 3.12\nstrict = True\nwarn_unused_ignores = True\nenable_error_code = ignore-without-code, redundant-expr, truthy-bool\n",
    )
    .expect("mypy.ini");
    std::fs::write(
        repo.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {tag}\n    hooks:\n      - id: lambda-gate\n",
            hooks.display()
        ),
    )
    .expect("config");
    ok(git(&repo, &["init", "-q"]));

    let path = path_without_rust();
    let find_links = format!("{} {}", dir.display(), setuptools_wheels());
    let home = scratch.path().join("pre-commit-home");
    let with_env = |command: &mut Command| {
        command
            .current_dir(&repo)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", &home)
            .env("PIP_NO_INDEX", "1")
            .env("PIP_FIND_LINKS", &find_links)
            .env_remove("VIRTUAL_ENV");
    };
    let mut install = Command::new("python3");
    install.args(["-m", "pre_commit", "install", "--install-hooks"]);
    with_env(&mut install);
    ok(install
        .output()
        .expect("pre-commit (tests/run.sh installs it)"));
    let commit = |message: &str| {
        let mut command = Command::new("git");
        command.args([
            "-c",
            "user.email=dev@example.com",
            "-c",
            "user.name=dev",
            "commit",
            "-q",
            "-m",
            message,
        ]);
        with_env(&mut command);
        command.output().expect("git commit")
    };

    // Unpinned base: refused, with the diagnostic.
    std::fs::write(
        repo.join("quote/Dockerfile"),
        format!("FROM {RELEASE}:3.12\nCOPY app/ ${{LAMBDA_TASK_ROOT}}/app/\nCMD [\"app.handler.handler\"]\n"),
    )
    .expect("Dockerfile");
    ok(git(&repo, &["add", "."]));
    let refused = commit("add quote");
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        text(&refused).contains("error[DKR005]") && text(&refused).contains("quote/Dockerfile"),
        "{}",
        text(&refused)
    );

    // Pinned: the commit goes in.
    std::fs::write(
        repo.join("quote/Dockerfile"),
        format!("FROM {RELEASE}:3.12@{DIGEST}\nCOPY app/ ${{LAMBDA_TASK_ROOT}}/app/\nCMD [\"app.handler.handler\"]\n"),
    )
    .expect("Dockerfile");
    ok(git(&repo, &["add", "."]));
    let accepted = commit("add quote");
    assert!(accepted.status.success(), "{}", text(&accepted));
    assert_eq!(
        String::from_utf8_lossy(&git(&repo, &["log", "--oneline"]).stdout)
            .lines()
            .count(),
        1
    );
}
