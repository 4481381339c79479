//! The mypy and Python families end to end: `--fix` round trips on real configuration files,
//! and bad Python input (huge, deeply nested, not UTF-8, binary) handled with a diagnostic.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::str::contains;

const RELEASE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-lambda-python-release-base:3.12@sha256:0e54c71614c181dba589a9d58c74c6e7ce4fa65b81f620733248b6a4b7b0b555";

fn gate() -> Command {
    Command::cargo_bin("lambda-gate").expect("binary")
}

/// A Lambda under a fresh root with its own empty policy file and a `.git`, so nothing above
/// it applies: `files` are (relative path, text).
fn lambda(files: &[(&str, &str)]) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tempdir");
    fs::write(root.path().join("lambda-gate.toml"), "").unwrap();
    fs::create_dir(root.path().join(".git")).unwrap();
    let dockerfile = format!(
        "FROM {RELEASE}\nCOPY app/ ${{LAMBDA_TASK_ROOT}}/app/\nCMD [\"app.handler.handler\"]\n"
    );
    let mut all = vec![
        ("fn/Dockerfile", dockerfile.as_str()),
        (
            "fn/app/handler.py",
            "from typing import Any\n\n\ndef handler(event: dict[str, Any], context: object) -> dict[str, Any]:\n    return {}\n",
        ),
    ];
    all.extend_from_slice(files);
    for (path, text) in all {
        let path = root.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    root
}

fn fix_round_trip(config: &str, text: &str, expect_after: &[&str]) -> String {
    let root = lambda(&[(config, text)]);
    let path = root.path().join(config);
    gate().arg("check").arg(root.path()).assert().code(1);
    // --fix --diff shows the change and writes nothing.
    gate()
        .args(["check", "--fix", "--diff"])
        .arg(root.path())
        .assert()
        .stdout(contains("+"));
    assert_eq!(fs::read_to_string(&path).unwrap(), text, "--diff wrote");
    gate()
        .args(["check", "--fix"])
        .arg(root.path())
        .assert()
        .code(0);
    let after = fs::read_to_string(&path).unwrap();
    for wanted in expect_after {
        assert!(after.contains(wanted), "missing {wanted:?} in:\n{after}");
    }
    // Clean now, and a second --fix changes nothing.
    gate().arg("check").arg(root.path()).assert().code(0);
    gate()
        .args(["check", "--fix"])
        .arg(root.path())
        .assert()
        .code(0);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        after,
        "second --fix changed the file"
    );
    after
}

#[test]
fn fix_brings_a_pyproject_to_policy_keeping_comments() {
    let text = "# Quote service.\n[project]\nname = \"quote\"\n\n[tool.mypy]\n# Pinned to the runtime.\npython_version = \"3.11\"  # the old runtime\nwarn_return_any = false\nignore_missing_imports = true\nenable_error_code = [\n    \"truthy-bool\",  # keep\n]\n\n[tool.ruff]\nline-length = 100\n";
    let after = fix_round_trip(
        "fn/pyproject.toml",
        text,
        &[
            "# Quote service.",
            "# Pinned to the runtime.",
            "python_version = \"3.12\"  # the old runtime",
            "warn_return_any = true",
            "strict = true",
            "\"truthy-bool\",  # keep",
            "[tool.ruff]\nline-length = 100",
            "[[tool.mypy.overrides]]\nmodule = [\"aws_xray_sdk.*\", \"jmespath.*\"]\nignore_missing_imports = true",
        ],
    );
    assert!(
        !after.contains("ignore_missing_imports = true\nenable"),
        "{after}"
    );
}

#[test]
fn fix_brings_a_mypy_ini_to_policy_keeping_comments() {
    let text = "; Team settings.\n[mypy]\n# strict comes later\nallow_untyped_defs = True\nignore_missing_imports = yes\nenable_error_code =\n    truthy-bool,\n    # more to come\n    redundant-expr\n\n[mypy-jmespath]\nignore_missing_imports = True\n";
    fix_round_trip(
        "fn/mypy.ini",
        text,
        &[
            "; Team settings.",
            "# strict comes later",
            "allow_untyped_defs = False",
            "python_version = 3.12",
            "strict = True",
            "    # more to come\n    redundant-expr, ignore-without-code",
            "[mypy-aws_xray_sdk.*,jmespath.*]\nignore_missing_imports = True",
        ],
    );
}

#[test]
fn fix_adds_the_block_to_a_pyproject_without_mypy() {
    fix_round_trip(
        "fn/pyproject.toml",
        "[project]\nname = \"quote\"\n",
        &["[project]\nname = \"quote\"\n\n[tool.mypy]\npython_version = \"3.12\"\nstrict = true\n"],
    );
}

fn check_json(root: &Path, extra: &[&str]) -> serde_json::Value {
    let output = gate()
        .args(["check", "--format", "json"])
        .args(extra)
        .arg(root)
        .output()
        .unwrap();
    assert!(output.status.code().is_some_and(|c| c <= 1), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

fn rules_at(report: &serde_json::Value) -> Vec<(String, String, u64)> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap().to_string(),
                d["path"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

const TEAM_INI: &str = "[mypy]\npython_version = 3.12\nstrict = True\nenable_error_code = ignore-without-code, redundant-expr, truthy-bool\n";

#[test]
fn a_20_mb_python_module_is_parsed_when_the_cap_allows_and_reported_when_not() {
    let mut big = String::with_capacity(21 << 20);
    while big.len() < 20 << 20 {
        big.push_str("def f(x: int) -> int:\n    return x + 1  # type: ignore[misc]\n\n\n");
    }
    big.push_str("y = 1  # type: ignore\n");
    let root = lambda(&[("fn/mypy.ini", TEAM_INI), ("fn/app/big.py", &big)]);
    let capped = rules_at(&check_json(root.path(), &[]));
    assert_eq!(capped, vec![("LG003".to_string(), "big.py".to_string(), 1)]);
    fs::write(
        root.path().join("lambda-gate.toml"),
        "max-file-size = 30000000\n",
    )
    .unwrap();
    let parsed = rules_at(&check_json(root.path(), &[]));
    assert_eq!(parsed.len(), 1, "{parsed:?}");
    assert_eq!(parsed[0].0, "PY002");
    assert!(parsed[0].2 > 300_000, "{parsed:?}");
}

#[test]
fn a_million_levels_of_nesting_do_not_overflow() {
    // Each shape nests the syntax tree once per operator: parsing, checking and freeing the
    // tree must all cope (freeing is recursive; the tree of `----…1` is a million levels deep).
    let depth = 100_000;
    let shapes = [
        format!("x = {}0{}", "[".repeat(depth), "]".repeat(depth)),
        format!("y = {}1", "-".repeat(1_000_000)),
        format!("z = 1{}", "+1".repeat(depth)),
        format!("w = {}1", "not ".repeat(depth)),
        format!("v = {}1", "lambda: ".repeat(depth)),
        format!("u = a{}", ".b".repeat(depth)),
        format!("t = a{}", "()".repeat(depth)),
    ];
    let nested = format!(
        "from typing import Any\n\n\ndef handler(event: dict[str, Any], context: object) -> dict[str, Any]:\n    {}\n    return {{}}\n",
        shapes.join("\n    ")
    );
    let broken = format!("x = {}0\n", "(".repeat(depth));
    let root = lambda(&[
        ("fn/mypy.ini", TEAM_INI),
        ("fn/app/handler.py", &nested),
        (
            "fn/app/broken.py",
            &format!("# type: ignore[misc]\n{broken}"),
        ),
    ]);
    let found = rules_at(&check_json(root.path(), &[]));
    assert!(
        found
            .iter()
            .all(|(rule, file, _)| rule == "PY001" && file == "broken.py"),
        "{found:?}"
    );
    assert!(!found.is_empty());
}

#[test]
fn non_utf8_and_binary_python_files_are_reported_with_a_position() {
    let root = lambda(&[("fn/mypy.ini", TEAM_INI)]);
    fs::write(root.path().join("fn/app/latin1.py"), b"# caf\xe9\nx = 1\n").unwrap();
    fs::write(root.path().join("fn/app/blob.py"), b"\x00\x01\x02binary").unwrap();
    gate()
        .arg("check")
        .arg(root.path())
        .assert()
        .code(1)
        .stdout(contains("invalid byte at line 1, column 6"))
        .stdout(contains("binary"));
}

#[test]
fn a_config_shared_by_many_lambdas_is_reported_once() {
    let root = lambda(&[("mypy.ini", "[mypy]\nstrict = True\n")]);
    let dockerfile = fs::read_to_string(root.path().join("fn/Dockerfile")).unwrap();
    for other in ["fn2", "fn3"] {
        fs::create_dir_all(root.path().join(other).join("app")).unwrap();
        fs::write(root.path().join(other).join("Dockerfile"), &dockerfile).unwrap();
        fs::copy(
            root.path().join("fn/app/handler.py"),
            root.path().join(other).join("app/handler.py"),
        )
        .unwrap();
    }
    let found = rules_at(&check_json(root.path(), &[]));
    let myp003: Vec<_> = found
        .iter()
        .filter(|(rule, _, _)| rule == "MYP003")
        .collect();
    assert_eq!(
        myp003.len(),
        2,
        "python_version and error codes, once each: {found:?}"
    );
}

#[test]
fn broken_config_files_are_reported_and_the_search_goes_on() {
    let root = lambda(&[
        ("fn/mypy.ini", "[mypy]\nstrict = True\n[mypy]\n"),
        ("fn/pyproject.toml", "[tool.mypy\nstrict = true\n"),
        ("fn/setup.cfg", TEAM_INI),
    ]);
    let found = rules_at(&check_json(root.path(), &[]));
    assert_eq!(
        found,
        vec![
            ("MYP001".to_string(), "mypy.ini".to_string(), 3),
            ("MYP001".to_string(), "pyproject.toml".to_string(), 1),
        ]
    );
    gate()
        .args(["inspect", "mypy"])
        .arg(root.path().join("fn"))
        .assert()
        .success()
        .stdout(contains("config file: setup.cfg"));
}
