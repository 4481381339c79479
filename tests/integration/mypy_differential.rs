//! lambda-gate reads mypy configuration exactly as the pinned mypy does: for every fixture in
//! `testdata/mypy-config/`, `lambda-gate inspect mypy` and mypy's own config parser
//! (`tests/mypy/oracle.py`) agree on the file used, on every option the policy looks at,
//! globally and per module, and on whether the configuration has something mypy rejects.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::copy_dir;
use serde_json::Value;

const MODULES: &[&str] = &[
    "app",
    "app.handler",
    "app.core.models",
    "app.legacy",
    "app.legacy.old",
    "tests.test_handler",
    "boto3",
    "boto3.session",
    "x.y.core",
    "other",
];

/// The fixtures as project roots (each with a `.git`, where mypy's search stops), and the
/// directory each is read from.
fn projects(root: &Path) -> Vec<(String, PathBuf)> {
    let mut projects = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir("testdata/mypy-config")
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let dir = root.join(&name);
        copy_dir(&entry.path(), &dir);
        projects.push((name, dir));
    }
    // Not valid UTF-8: mypy fails reading it; lambda-gate must say so.
    let dir = root.join("99-non-utf8");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("mypy.ini"), b"[mypy]\nstrict = True\n# caf\xe9\n").unwrap();
    projects.push(("99-non-utf8".into(), dir));
    for (_, dir) in &mut projects {
        std::fs::create_dir_all(dir.join(".git")).unwrap();
        if dir.join("lambda").is_dir() {
            *dir = dir.join("lambda");
        }
    }
    projects
}

fn mypy_reads(dirs: &[&Path], home: &Path) -> Vec<Value> {
    let mut command = Command::new("python3");
    command
        .arg("tests/mypy/oracle.py")
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("MYPY_CONFIG_FILE_DIR");
    for module in MODULES {
        command.args(["--module", module]);
    }
    command.args(dirs);
    let output = command
        .output()
        .expect("python3 with mypy (tests/requirements.txt)");
    assert!(
        output.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn lambda_gate_reads(dir: &Path) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lambda-gate"));
    command
        .args(["inspect", "mypy", "--format", "json"])
        .arg(dir);
    for module in MODULES {
        command.args(["--module", module]);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn compare(
    scope: &str,
    ours: &Value,
    theirs: &Value,
    default_python: &Value,
    out: &mut Vec<String>,
) {
    for (option, value) in theirs.as_object().unwrap() {
        let mine = &ours[option];
        let agrees = if option == "python_version" && mine.is_null() {
            // Unset: mypy uses the Python it runs under.
            value == default_python
        } else {
            mine == value
        };
        if !agrees {
            out.push(format!(
                "{scope}.{option}: mypy {value}, lambda-gate {mine}"
            ));
        }
    }
}

#[test]
fn lambda_gate_reads_every_fixture_as_mypy_does() {
    let scratch = tempfile::tempdir().unwrap();
    let home = scratch.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let projects = projects(&scratch.path().join("projects"));
    assert!(projects.len() >= 30, "at least 30 fixtures");
    let dirs: Vec<&Path> = projects.iter().map(|(_, dir)| dir.as_path()).collect();
    let theirs = mypy_reads(&dirs, &home);
    assert_eq!(theirs.len(), projects.len());

    let mut disagreements = Vec::new();
    let mut rejected = 0;
    for ((name, dir), mypy) in projects.iter().zip(&theirs) {
        let ours = lambda_gate_reads(dir);
        let mut out = Vec::new();
        let mypy_complains =
            !mypy["complaints"].as_array().unwrap().is_empty() || mypy.get("crash").is_some();
        let we_complain = !ours["problems"].as_array().unwrap().is_empty();
        if mypy_complains != we_complain {
            out.push(format!(
                "complaints: mypy {}, lambda-gate {}",
                mypy["complaints"], ours["problems"]
            ));
        }
        rejected += usize::from(mypy_complains);
        if mypy.get("crash").is_none() {
            if ours["config_file"] != mypy["config_file"] {
                out.push(format!(
                    "config file: mypy {}, lambda-gate {}",
                    mypy["config_file"], ours["config_file"]
                ));
            }
            let default_python = &mypy["default_python_version"];
            compare(
                "global",
                &ours["global"],
                &mypy["global"],
                default_python,
                &mut out,
            );
            for module in MODULES {
                compare(
                    module,
                    &ours["modules"][module],
                    &mypy["modules"][module],
                    default_python,
                    &mut out,
                );
            }
        }
        disagreements.extend(out.into_iter().map(|line| format!("{name}: {line}")));
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    // The set exercises rejection as well as acceptance.
    assert!(rejected >= 10, "only {rejected} fixtures with complaints");
}
