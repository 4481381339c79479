//! Terraform: agreement with checkov on the checks that overlap, the repository's own modules
//! against checkov and lambda-gate, and bad input.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

/// checkov check -> the lambda-gate rule that decides the same question.
const OVERLAP: &[(&str, &str)] = &[
    ("CKV_AWS_51", "TF008"),
    ("CKV_AWS_163", "TF009"),
    ("CKV_AWS_50", "TF007"),
    ("CKV_AWS_66", "TF006"),
];

/// (fixture directory, resource address, check id) where the two tools decide differently.
type Differences = BTreeSet<(String, String, String)>;

/// One checkov result: (fixture directory, resource address, check id) -> (passed, lines).
type Verdicts = BTreeMap<(String, String, String), (bool, (u64, u64))>;

/// Runs the real checkov (offline) over `dir`; `checks` limits it to those ids.
fn checkov(dir: &Path, checks: Option<&str>) -> Vec<Value> {
    // tests/run.sh installs checkov in its own virtual environment and names it here.
    let program = std::env::var_os("LAMBDA_GATE_CHECKOV").unwrap_or_else(|| "checkov".into());
    let mut command = Command::new(program);
    command
        .env("BC_SKIP_MAPPING", "TRUE")
        .args([
            "--framework",
            "terraform",
            "--skip-download",
            "-o",
            "json",
            "-d",
        ])
        .arg(dir);
    if let Some(checks) = checks {
        command.args(["--check", checks]);
    }
    let output = command
        .output()
        .expect("checkov (tests/run.sh installs it and sets LAMBDA_GATE_CHECKOV)");
    let json: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    match json {
        Value::Array(reports) => reports,
        report => vec![report],
    }
}

fn checkov_verdicts(dir: &Path) -> Verdicts {
    let ids: Vec<&str> = OVERLAP.iter().map(|(c, _)| *c).collect();
    let mut verdicts = Verdicts::new();
    for report in checkov(dir, Some(&ids.join(","))) {
        for (key, passed) in [("passed_checks", true), ("failed_checks", false)] {
            for check in report["results"][key].as_array().into_iter().flatten() {
                let file = check["file_path"].as_str().expect("file_path");
                let fixture = file.trim_start_matches('/').split('/').next().expect("dir");
                let range = &check["file_line_range"];
                verdicts.insert(
                    (
                        fixture.to_string(),
                        check["resource"].as_str().expect("resource").to_string(),
                        check["check_id"].as_str().expect("check_id").to_string(),
                    ),
                    (
                        passed,
                        (
                            range[0].as_u64().expect("start"),
                            range[1].as_u64().expect("end"),
                        ),
                    ),
                );
            }
        }
    }
    verdicts
}

/// lambda-gate's diagnostics over `dir` as JSON.
fn gate_json(dir: &Path) -> Value {
    let output = Command::cargo_bin("lambda-gate")
        .expect("binary")
        .args(["check", "--format", "json"])
        .arg(dir)
        .output()
        .expect("lambda-gate runs");
    serde_json::from_slice(&output.stdout).expect("JSON report")
}

/// The `.tf` files at and below `dir`.
fn terraform_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("directory").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(terraform_files(&path));
        } else if path.extension().is_some_and(|e| e == "tf") {
            files.push(path);
        }
    }
    files
}

/// `# differs: CHECK resource: why` lines of each fixture (any `.tf` file below it).
fn declared_differences(dir: &Path) -> BTreeSet<(String, String, String)> {
    let mut declared = BTreeSet::new();
    for entry in std::fs::read_dir(dir).expect("fixtures") {
        let fixture = entry.expect("entry").path();
        if !fixture.is_dir() {
            continue;
        }
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        for file in terraform_files(&fixture) {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            for line in text.lines() {
                let Some(rest) = line.strip_prefix("# differs: ") else {
                    continue;
                };
                let mut parts = rest.splitn(3, [' ', ':']);
                let check = parts.next().expect("check id").to_string();
                let resource = parts.next().expect("resource").to_string();
                let why = parts.next().unwrap_or("").trim();
                assert!(
                    why.len() > 10,
                    "{name}: a declared difference says why: {line}"
                );
                declared.insert((name.clone(), resource, check));
            }
        }
    }
    declared
}

/// Where lambda-gate and checkov decide an overlapping check differently over `dir`, and how
/// often each check passed and failed in checkov's eyes.
fn differences_with_checkov(dir: &Path) -> (Differences, BTreeMap<&'static str, (usize, usize)>) {
    let verdicts = checkov_verdicts(dir);
    let report = gate_json(dir);
    let diagnostics = report["diagnostics"].as_array().expect("diagnostics");
    let mut differences = BTreeSet::new();
    let mut outcomes: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for ((fixture, resource, check), (passed, (start, end))) in &verdicts {
        let (check_id, rule) = OVERLAP
            .iter()
            .find(|(c, _)| c == check)
            .copied()
            .expect("overlapping check");
        let gate_failed = diagnostics.iter().any(|d| {
            let path = d["path"].as_str().unwrap_or("");
            let line = d["line"].as_u64().unwrap_or(0);
            d["rule"] == rule
                && d["severity"] == "error"
                && path.contains(&format!("/{fixture}/"))
                && (*start..=*end).contains(&line)
        });
        let count = outcomes.entry(check_id).or_default();
        if *passed {
            count.0 += 1;
        } else {
            count.1 += 1;
        }
        if gate_failed == *passed {
            differences.insert((fixture.clone(), resource.clone(), check.clone()));
        }
    }
    (differences, outcomes)
}

/// Every difference over `dir` is declared with a reason, and every declared one still differs.
fn assert_only_declared_differences(dir: &Path, differences: &Differences) {
    let declared = declared_differences(dir);
    let undeclared: Vec<_> = differences.difference(&declared).collect();
    let stale: Vec<_> = declared.difference(differences).collect();
    assert!(
        undeclared.is_empty(),
        "{}: lambda-gate and checkov disagree without a declared reason: {undeclared:#?}",
        dir.display()
    );
    assert!(
        stale.is_empty(),
        "{}: declared differences that are no longer differences: {stale:#?}",
        dir.display()
    );
}

#[test]
fn agrees_with_checkov_on_the_overlapping_checks() {
    let dir = Path::new("testdata/terraform-checkov");
    let fixtures = std::fs::read_dir(dir)
        .expect("fixtures")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().is_dir()))
        .count();
    assert!(fixtures >= 25, "only {fixtures} fixtures");
    let (differences, outcomes) = differences_with_checkov(dir);
    for (check, _) in OVERLAP {
        let (passes, fails) = outcomes.get(check).copied().unwrap_or_default();
        assert!(
            passes > 0 && fails > 0,
            "{check}: the fixtures exercise both outcomes ({passes} passed, {fails} failed)"
        );
    }
    assert_only_declared_differences(dir, &differences);
}

/// The real-world corpus (a reusable ECR module with null defaults, dynamic blocks and
/// duplicate keys; SAM and service repositories beside it): the same agreement.
#[test]
fn agrees_with_checkov_on_the_real_world_corpus() {
    let dir = Path::new("testdata/realworld");
    let (differences, outcomes) = differences_with_checkov(dir);
    let judged: usize = outcomes.values().map(|(p, f)| p + f).sum();
    assert!(
        judged >= 3,
        "checkov judged only {judged} resources: {outcomes:?}"
    );
    assert_only_declared_differences(dir, &differences);
}

/// Both modules of this repository: no failed checkov check, every skip with a reason, and
/// nothing above `info` from lambda-gate.
#[test]
fn repository_modules_pass_checkov_and_the_gate() {
    for module in [
        "terraform/modules/aws-lambda-container",
        "terraform/modules/lambda-publisher-role",
    ] {
        let reports = checkov(Path::new(module), None);
        let mut passed = 0;
        for report in &reports {
            let results = &report["results"];
            let failed = results["failed_checks"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let failed: Vec<String> = failed
                .iter()
                .map(|c| format!("{} {}", c["check_id"], c["resource"]))
                .collect();
            assert!(failed.is_empty(), "{module}: checkov fails {failed:?}");
            for skipped in results["skipped_checks"].as_array().into_iter().flatten() {
                let reason = skipped["check_result"]["suppress_comment"]
                    .as_str()
                    .unwrap_or("");
                assert!(
                    reason.len() > 20,
                    "{module}: skip of {} has no written reason",
                    skipped["check_id"]
                );
            }
            passed += results["passed_checks"].as_array().map_or(0, Vec::len);
        }
        assert!(
            passed > 5,
            "{module}: checkov ran its checks ({passed} passed)"
        );

        let report = gate_json(Path::new(module));
        let serious: Vec<&Value> = report["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .filter(|d| d["severity"] != "info")
            .collect();
        assert!(serious.is_empty(), "{module}: {serious:#?}");
        assert!(report["summary"]["files"].as_u64().unwrap_or(0) >= 4);
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

/// Malformed, binary, non-UTF-8, huge and deeply nested files: a diagnostic with a position
/// each, the other files still checked, exit 1, no panic.
#[test]
fn bad_terraform_gets_positioned_diagnostics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::write(root.join("lambda-gate.toml"), "max-file-size = 67108864\n").expect("policy");
    write(
        root,
        "syntax.tf",
        b"resource \"aws_s3_bucket\" \"b\" {\n  bucket = \n}\n",
    );
    write(
        root,
        "heredoc.tf",
        b"locals {\n  text = <<EOT\nnever closed\n",
    );
    write(root, "latin1.tf", b"locals {\n  name = \"caf\xe9\"\n}\n");
    write(root, "binary.tf", b"\x00\x01\x02terraform");
    let deep = format!(
        "locals {{\n  x = {}1{}\n}}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    write(root, "deep.tf", deep.as_bytes());
    let mut huge = String::from("terraform {\n  required_version = \">= 1.6.0, < 2.0.0\"\n}\n");
    let mut i = 0;
    while huge.len() < 20 * 1024 * 1024 {
        huge.push_str(&format!(
            "resource \"aws_cloudwatch_log_group\" \"g{i}\" {{\n  name = \"/aws/lambda/g{i}\"\n  retention_in_days = 30\n}}\n"
        ));
        i += 1;
    }
    // One violation at the very end of the 20 MB file.
    huge.push_str("resource \"aws_cloudwatch_log_group\" \"last\" {\n  name = \"last\"\n}\n");
    write(root, "huge.tf", huge.as_bytes());

    let output = Command::cargo_bin("lambda-gate")
        .expect("binary")
        .args(["check", "--format", "json"])
        .arg(root)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let diagnostics = report["diagnostics"].as_array().expect("diagnostics");
    let find = |file: &str, rule: &str| -> &Value {
        diagnostics
            .iter()
            .find(|d| d["rule"] == rule && d["path"].as_str().unwrap_or("").ends_with(file))
            .unwrap_or_else(|| panic!("{rule} on {file}: {diagnostics:#?}"))
    };
    assert_eq!(find("syntax.tf", "TF001")["line"], 2);
    assert!(find("heredoc.tf", "TF001")["message"]
        .as_str()
        .unwrap()
        .contains("heredoc"));
    assert!(find("deep.tf", "TF001")["message"]
        .as_str()
        .unwrap()
        .contains("nest"));
    assert!(find("latin1.tf", "LG003")["message"]
        .as_str()
        .unwrap()
        .contains("line 2"));
    assert!(find("binary.tf", "LG003")["message"]
        .as_str()
        .unwrap()
        .contains("binary"));
    let last = find("huge.tf", "TF006");
    assert!(last["line"].as_u64().unwrap() > 100_000, "{last}");
    assert_eq!(report["summary"]["files"], 6);
}

/// A changed shared `.tf` (outside every Lambda) is checked with its whole module, and a
/// suppression comment with a reason silences exactly the rule it names.
#[test]
fn changed_shared_terraform_is_checked_and_suppressions_apply() {
    let dir = tempfile::tempdir().expect("tempdir");
    let module = dir.path().join("modules/registry");
    std::fs::create_dir_all(&module).expect("module dir");
    std::fs::write(dir.path().join("lambda-gate.toml"), "").expect("policy");
    std::fs::write(
        module.join("versions.tf"),
        "terraform {\n  required_version = \"~> 1.6\"\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \"~> 6.8\"\n    }\n  }\n}\n",
    )
    .expect("versions");
    let main = module.join("main.tf");
    let repository = |suppression: &str| {
        format!(
            "resource \"aws_ecr_repository\" \"r\" {{\n  name                 = \"r\"\n  image_tag_mutability = \"IMMUTABLE\"\n  image_scanning_configuration {{\n    {suppression}\n    scan_on_push = false\n  }}\n}}\n\nresource \"aws_ecr_lifecycle_policy\" \"r\" {{\n  repository = aws_ecr_repository.r.name\n  policy     = jsonencode({{ rules = [{{ rulePriority = 1, selection = {{ tagStatus = \"untagged\", countType = \"sinceImagePushed\", countUnit = \"days\", countNumber = 14 }}, action = {{ type = \"expire\" }} }}] }})\n}}\n"
        )
    };
    std::fs::write(&main, repository("")).expect("main");
    let run = || {
        Command::cargo_bin("lambda-gate")
            .expect("binary")
            .current_dir(dir.path())
            .args([
                "check",
                "--format",
                "json",
                "--files",
                "modules/registry/main.tf",
            ])
            .output()
            .expect("runs")
    };
    let output = run();
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let rules: Vec<&str> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| d["rule"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(rules, vec!["TF009"], "{report:#}");
    assert_eq!(report["summary"]["files"], 2, "the whole module is read");

    std::fs::write(
        &main,
        repository("# lambda-gate: ignore[TF009] the registry scans with Inspector rules"),
    )
    .expect("main");
    let output = run();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
}
