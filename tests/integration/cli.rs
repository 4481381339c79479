//! The command line as users and CI meet it: exit codes, formats, bad input, fixes.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

const RELEASE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-lambda-python-release-base";
const DIGEST: &str = "sha256:0e54c71614c181dba589a9d58c74c6e7ce4fa65b81f620733248b6a4b7b0b555";

fn gate() -> Command {
    let mut cmd = Command::cargo_bin("lambda-gate").expect("binary");
    cmd.env_remove("RUST_LOG");
    cmd
}

/// A Lambda directory with `dockerfile` and an app module, under a fresh temporary root that
/// has its own (empty) configuration so nothing above it applies.
fn lambda(dockerfile: &[u8]) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tempdir");
    fs::write(root.path().join("lambda-gate.toml"), "").expect("config");
    let dir = root.path().join("fn");
    fs::create_dir_all(dir.join("app")).expect("mkdir");
    fs::write(dir.join("Dockerfile"), dockerfile).expect("write");
    fs::write(dir.join("app/handler.py"), TYPED_HANDLER).expect("write");
    fs::write(dir.join("mypy.ini"), TEAM_MYPY_INI).expect("write");
    root
}

/// A handler module that passes the Python rules.
const TYPED_HANDLER: &str =
    "from typing import Any\n\n\ndef handler(event: dict[str, Any], context: object) -> dict[str, Any]:\n    return {}\n";

/// The mypy configuration the default policy asks for.
const TEAM_MYPY_INI: &str = "[mypy]\npython_version = 3.12\nstrict = True\nwarn_unused_ignores = True\nenable_error_code = ignore-without-code, redundant-expr, truthy-bool\n";

/// `lambda-gate check ROOT` with extra arguments.
fn check_root(root: &tempfile::TempDir, extra: &[&str]) -> assert_cmd::assert::Assert {
    gate().arg("check").args(extra).arg(root.path()).assert()
}

fn clean_dockerfile() -> String {
    format!("FROM {RELEASE}:3.12@{DIGEST}\nCOPY app/ ${{LAMBDA_TASK_ROOT}}/app/\nCMD [\"app.handler.handler\"]\n")
}

/// Copies `dirs` of this repository into a temporary root and runs example-project's tests
/// there, so its coverage report exists and is fresh.
fn repository_copy(dirs: &[&str]) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tempdir");
    for dir in dirs {
        let status = std::process::Command::new("cp")
            .args(["-R", dir])
            .arg(root.path().join(dir))
            .status()
            .expect("cp");
        assert!(status.success(), "cp {dir}");
    }
    let status = std::process::Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .current_dir(root.path().join("example-project"))
        .status()
        .expect("pytest (tests/run.sh installs it)");
    assert!(status.success(), "example-project's tests pass");
    root
}

#[test]
fn example_project_passes_with_the_embedded_policy() {
    let root = repository_copy(&["example-project"]);
    gate()
        .current_dir(root.path())
        .args(["check", "example-project", "--isolated"])
        .assert()
        .code(0)
        .stdout(contains(
            "lambda-gate passed: 8 files, 1 Lambda, 0 errors, 0 warnings",
        ));
}

#[test]
fn example_project_without_its_report_says_how_to_make_one() {
    let root = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .args(["-R", "example-project"])
        .arg(root.path().join("example-project"))
        .status()
        .unwrap();
    assert!(status.success());
    let _ = fs::remove_file(root.path().join("example-project/coverage.xml"));
    gate()
        .current_dir(root.path())
        .args(["check", "example-project", "--isolated"])
        .assert()
        .code(1)
        .stdout(contains("error[COV005]").and(contains(
            "python -m pytest --cov=app --cov-branch --cov-report=xml:coverage.xml",
        )));
}

#[test]
fn this_repository_passes_its_own_gate() {
    let root = repository_copy(&["example-project", "images", "lambda-gate.toml"]);
    gate()
        .current_dir(root.path())
        .args(["check", "."])
        .assert()
        .code(0);
}

#[test]
fn violations_exit_1_and_warnings_alone_exit_0() {
    gate()
        .args(["check", "testdata/dockerfile/DKR002/fail"])
        .assert()
        .code(1)
        .stdout(contains("error[DKR002]"));
    gate()
        .args(["check", "testdata/core/LG002/fail"])
        .assert()
        .code(0)
        .stdout(contains("warning[LG002]"));
}

#[test]
fn a_missing_path_is_a_usage_error() {
    gate()
        .args(["check", "does/not/exist"])
        .assert()
        .code(2)
        .stderr(contains("cannot check `does/not/exist`"));
}

#[test]
fn bad_arguments_exit_2() {
    gate().args(["check", "--format", "yaml"]).assert().code(2);
    gate().args(["frobnicate"]).assert().code(2);
    gate()
        .args(["explain", "DKR999"])
        .assert()
        .code(2)
        .stderr(contains("unknown rule"));
}

#[test]
fn configuration_errors_point_at_file_and_line() {
    let root = lambda(clean_dockerfile().as_bytes());
    fs::write(
        root.path().join("lambda-gate.toml"),
        "platforms = [\"linux/amd64\"]\n\n[rules]\nDKR005 = \"fatal\"\n",
    )
    .unwrap();
    gate()
        .current_dir(root.path())
        .args(["check", "."])
        .assert()
        .code(2)
        .stderr(contains("lambda-gate.toml:4:").and(contains("unknown variant `fatal`")));

    fs::write(
        root.path().join("lambda-gate.toml"),
        "[dockerfile]\nrelease-basis = []\n",
    )
    .unwrap();
    gate()
        .current_dir(root.path())
        .args(["check", "."])
        .assert()
        .code(2)
        .stderr(contains("lambda-gate.toml:2:").and(contains("release-basis")));
}

#[test]
fn pyproject_table_configures_the_gate() {
    let root = lambda(
        format!("FROM {RELEASE}:3.12\nCOPY app/ /var/task/app/\nCMD [\"app.handler.handler\"]\n")
            .as_bytes(),
    );
    fs::remove_file(root.path().join("lambda-gate.toml")).unwrap();
    fs::write(
        root.path().join("pyproject.toml"),
        "[tool.lambda-gate.rules]\nDKR005 = \"warning\"\n",
    )
    .unwrap();
    gate()
        .current_dir(root.path())
        .args(["check", "fn"])
        .assert()
        .code(0)
        .stdout(contains("warning[DKR005]"));
}

#[test]
fn empty_dockerfile_is_a_parse_error() {
    let root = lambda(b"");
    check_root(&root, &[])
        .code(1)
        .stdout(contains("DKR001").and(contains("no instructions")));
}

#[test]
fn binary_dockerfile_is_reported_not_parsed() {
    let root = lambda(b"\x7fELF\x02\x01\x01\x00\x00\x00binary");
    check_root(&root, &[])
        .code(1)
        .stdout(contains("LG003").and(contains("binary")));
}

#[test]
fn non_utf8_dockerfile_gives_the_position_of_the_bad_byte() {
    let root = lambda(b"FROM a:1\nENV X=caf\xe9\n");
    check_root(&root, &[])
        .code(1)
        .stdout(contains("LG003").and(contains("invalid byte at line 2, column 10")));
}

#[test]
fn a_50_mb_dockerfile_is_refused_without_being_read() {
    let root = lambda(clean_dockerfile().as_bytes());
    let big = root.path().join("fn/Dockerfile");
    let file = fs::File::options().append(true).open(&big).unwrap();
    file.set_len(50 * 1024 * 1024).unwrap();
    check_root(&root, &[])
        .code(1)
        .stdout(contains("LG003").and(contains("52428800 bytes, over the 10485760-byte limit")));
}

#[test]
fn a_large_dockerfile_under_the_cap_is_checked() {
    let mut text = clean_dockerfile();
    while text.len() < 4 * 1024 * 1024 {
        text.push_str("RUN echo 'layer' \\\n    && true\n");
    }
    let root = lambda(text.as_bytes());
    check_root(&root, &[]).code(0);
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_reported_once_with_follow_links() {
    let root = lambda(clean_dockerfile().as_bytes());
    std::os::unix::fs::symlink("..", root.path().join("fn/app/loop")).unwrap();
    check_root(&root, &["--follow-links", "--format", "json"])
        .code(0)
        .stdout(contains("\"rule\": \"LG004\"").and(contains("\"lambdas\": 1")));
    // Without --follow-links the link is not followed at all.
    check_root(&root, &[])
        .code(0)
        .stdout(contains("LG004").not());
}

#[cfg(unix)]
#[test]
fn unreadable_dockerfiles_fail_closed() {
    // A dangling link and a link to itself cannot be read, whoever runs the gate.
    let root = lambda(clean_dockerfile().as_bytes());
    let other = root.path().join("other");
    fs::create_dir(&other).unwrap();
    std::os::unix::fs::symlink("missing", other.join("Dockerfile")).unwrap();
    let looping = root.path().join("looping");
    fs::create_dir(&looping).unwrap();
    std::os::unix::fs::symlink("Dockerfile", looping.join("Dockerfile")).unwrap();
    check_root(&root, &["--format", "json"]).code(1).stdout(
        contains("cannot read the file: No such file or directory")
            .and(contains(
                "cannot read the file: Too many levels of symbolic links",
            ))
            .and(contains("\"lambdas\": 3")),
    );
}

#[test]
fn fix_pins_the_digest_keeps_comments_and_is_idempotent() {
    let original = format!(
        "# The team's quote service.\nARG BASE_IMAGE={RELEASE}:3.12\nFROM ${{BASE_IMAGE}}\n# app code\nCOPY app/ /var/task/app/\nCMD [\"app.handler.handler\"]\n"
    );
    let root = lambda(original.as_bytes());
    let dockerfile = root.path().join("fn/Dockerfile");

    check_root(&root, &["--fix", "--diff"])
        .code(1)
        .stdout(contains(format!("+ARG BASE_IMAGE={RELEASE}:3.12@{DIGEST}")));
    assert_eq!(
        fs::read_to_string(&dockerfile).unwrap(),
        original,
        "--diff writes nothing"
    );

    check_root(&root, &["--fix"]).code(0);
    let fixed = fs::read_to_string(&dockerfile).unwrap();
    assert_eq!(
        fixed,
        original.replace(":3.12\n", &format!(":3.12@{DIGEST}\n"))
    );

    check_root(&root, &["--fix"]).code(0);
    assert_eq!(
        fs::read_to_string(&dockerfile).unwrap(),
        fixed,
        "a second fix changes nothing"
    );
    check_root(&root, &["--fix", "--diff"])
        .code(0)
        .stdout(predicate::str::is_empty());
}

#[test]
fn junit_is_well_formed_xml_with_one_case_per_file() {
    let output = gate()
        .args(["check", "testdata/dockerfile", "--format", "junit"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let mut reader = quick_xml::Reader::from_reader(output.stdout.as_slice());
    let mut buf = Vec::new();
    let (mut cases, mut failures) = (0, 0);
    loop {
        match reader.read_event_into(&mut buf).expect("well-formed XML") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    b"testcase" => cases += 1,
                    b"failure" => failures += 1,
                    _ => {}
                }
            }
            _ => {}
        }
        buf.clear();
    }
    // One summary case plus one per failing Dockerfile (DKR001..DKR009 and DKR011 fail twins).
    assert_eq!(cases, 11);
    assert_eq!(failures, 10);
}

#[test]
fn github_annotations_escape_and_position() {
    gate()
        .args(["check", "testdata/dockerfile/DKR009/fail", "--format", "github"])
        .assert()
        .code(1)
        .stdout(contains(
            "::error file=testdata/dockerfile/DKR009/fail/Dockerfile,line=1,col=17,endLine=1,endColumn=28,title=DKR009::",
        ));
}

#[test]
fn sarif_and_json_carry_every_diagnostic() {
    let sarif = gate()
        .args(["check", "testdata/dockerfile", "--format", "sarif"])
        .output()
        .unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let json = gate()
        .args(["check", "testdata/dockerfile", "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(json["version"], 1);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let diagnostics = json["diagnostics"].as_array().unwrap();
    assert_eq!(results.len(), diagnostics.len());
    assert!(diagnostics.len() >= 9);
    for (result, diagnostic) in results.iter().zip(diagnostics) {
        assert_eq!(result["ruleId"], diagnostic["rule"]);
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], diagnostic["line"]);
        assert_eq!(region["endColumn"], diagnostic["end_column"]);
    }
}

#[test]
fn output_file_receives_the_report() {
    let root = lambda(clean_dockerfile().as_bytes());
    let out = root.path().join("gate.sarif");
    gate()
        .args(["check", "--format", "sarif", "--output"])
        .arg(&out)
        .arg(root.path().join("fn"))
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty());
    let sarif: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 0);
    assert_eq!(sarif["runs"][0]["tool"]["driver"]["name"], "lambda-gate");
}

#[test]
fn rules_and_explain_come_from_the_registry() {
    let listed = gate().args(["rules", "--format", "json"]).output().unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let registry: Vec<&str> = lambda_gate::rules::registry::all()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, registry);
    gate()
        .args(["explain", "DKR005"])
        .assert()
        .code(0)
        .stdout(contains("# DKR005 base-digest").and(contains("## How to fix")));
    gate()
        .args(["explain", "base-not-approved"])
        .assert()
        .code(0)
        .stdout(contains("# DKR002"));
}

#[test]
fn policy_show_applies_overrides_for_a_path() {
    gate()
        .args([
            "policy",
            "show",
            "images/aws-lambda-python-release-base/Dockerfile",
        ])
        .assert()
        .code(0)
        .stdout(contains("DKR006 = \"off\"").and(contains("public.ecr.aws/lambda/python")));
    gate()
        .args(["policy", "show", "example-project"])
        .assert()
        .code(0)
        .stdout(contains("DKR006 = \"error\""));
}

#[test]
fn suppression_in_a_dockerfile_silences_its_line_only() {
    let text = format!(
        "# lambda-gate: ignore[DKR005] the canary tracks the newest base (PLAT-142)\nFROM {RELEASE}:3.12\nCOPY app/ /var/task/app/\nENV DB_PASSWORD=hunter2\nCMD [\"app.handler.handler\"]\n"
    );
    let root = lambda(text.as_bytes());
    let output = gate()
        .args(["check", "--format", "json"])
        .arg(root.path())
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let lines: Vec<(String, u64)> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    // DKR005 on line 2 is suppressed; the secret on line 4 is not.
    assert_eq!(lines, vec![("DKR008".to_string(), 4)]);
}

#[test]
fn completions_and_man_page_come_from_the_cli_definitions() {
    gate()
        .args(["completions", "bash"])
        .assert()
        .code(0)
        .stdout(contains("_lambda__gate()").and(contains("--diff-base")));
    gate()
        .args(["man"])
        .assert()
        .code(0)
        .stdout(contains(".TH lambda-gate 1").and(contains("Policy gate")));
}

#[test]
fn files_mode_checks_whole_lambdas_and_skips_strangers() {
    let root = lambda(clean_dockerfile().as_bytes());
    fs::write(root.path().join("README.md"), "not in a Lambda").unwrap();
    gate()
        .current_dir(root.path())
        .args([
            "check",
            "--files",
            "fn/app/handler.py",
            "README.md",
            "deleted.py",
        ])
        .assert()
        .code(0)
        .stdout(contains("2 files, 1 Lambda"));
    // Without --files a missing path is still an error.
    gate()
        .current_dir(root.path())
        .args(["check", "deleted.py"])
        .assert()
        .code(2);
}

#[test]
fn fix_diff_exits_with_what_remains_and_honours_the_format() {
    // Nothing fixable, one error (a shell-form handler): `--fix --diff` prints no diff, reports
    // the error in the requested format and fails.
    let shell = format!("FROM {RELEASE}:3.12@{DIGEST}\nCOPY app/ ${{LAMBDA_TASK_ROOT}}/app/\nCMD python -m app.handler\n");
    let root = lambda(shell.as_bytes());
    let report = root.path().join("gate.json");
    gate()
        .args(["check", "--fix", "--diff", "--format", "json", "-o"])
        .arg(&report)
        .arg(root.path())
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty());
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["diagnostics"][0]["rule"], "DKR006", "{json}");
    // Without `-o` the diagnostics go to standard error, so standard output stays a patch.
    check_root(&root, &["--fix", "--diff"])
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(contains("DKR006"));
    // ... but a machine-readable report without `-o` is read from standard output.
    let output = check_root(&root, &["--fix", "--diff", "--format", "json"])
        .code(1)
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&output).expect("JSON on stdout");
    assert_eq!(json["diagnostics"][0]["rule"], "DKR006", "{json}");
}

/// A Lambda with tests whose coverage report is the build output a developer's checkout lacks.
fn lambda_with_tests() -> tempfile::TempDir {
    let root = lambda(clean_dockerfile().as_bytes());
    let dir = root.path().join("fn");
    fs::create_dir_all(dir.join("tests")).unwrap();
    fs::write(
        dir.join("tests/test_handler.py"),
        "from app.handler import handler\n\n\ndef test_handler() -> None:\n    assert handler({}, None) == {}\n",
    )
    .unwrap();
    fs::write(
        dir.join("pyproject.toml"),
        "[project]\nname = \"fn\"\nversion = \"1\"\n",
    )
    .unwrap();
    root
}

#[test]
fn a_missing_report_fails_ci_but_not_a_commit() {
    let root = lambda_with_tests();
    // CI: the report is judged, and the finding points at the file that configures the tests.
    check_root(&root, &["--format", "github"]).code(1).stdout(
        contains("::error file=")
            .and(contains("fn/pyproject.toml,line=1"))
            .and(contains("COV005")),
    );
    // pre-commit: the policy's [pre-commit] levels turn COV005 off.
    gate()
        .arg("check")
        .arg("--files")
        .arg(root.path().join("fn/app/handler.py"))
        .assert()
        .code(0);
}

#[test]
fn a_stale_report_is_left_to_ci_on_a_commit_and_said_so() {
    let root = lambda_with_tests();
    let dir = root.path().join("fn");
    // A report that fails the threshold, older than the handler it covers.
    fs::write(
        dir.join("coverage.xml"),
        "<?xml version=\"1.0\" ?>\n<coverage version=\"7.6.1\" lines-valid=\"2\" lines-covered=\"1\" line-rate=\"0.5\" branches-valid=\"0\" branches-covered=\"0\" branch-rate=\"0\" complexity=\"0\">\n<sources><source>.</source></sources>\n<packages><package name=\"app\" line-rate=\"0.5\" branch-rate=\"0\" complexity=\"0\"><classes>\n<class name=\"handler.py\" filename=\"app/handler.py\" line-rate=\"0.5\" branch-rate=\"0\" complexity=\"0\"><methods/><lines><line number=\"1\" hits=\"1\"/><line number=\"4\" hits=\"0\"/></lines></class>\n</classes></package></packages>\n</coverage>\n",
    )
    .unwrap();
    let report = fs::File::options()
        .append(true)
        .open(dir.join("coverage.xml"))
        .unwrap();
    report
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
    check_root(&root, &[]).code(1).stdout(contains("COV002"));
    gate()
        .arg("check")
        .arg("--files")
        .arg(dir.join("app/handler.py"))
        .assert()
        .code(0)
        .stdout(
            contains("info[COV006]")
                .and(contains("not judged on a commit's files"))
                .and(contains("COV002").not()),
        );
}

#[test]
fn renamed_dockerfiles_are_found_and_a_named_file_is_always_checked() {
    for name in [
        "Dockerfile.lambda",
        "Dockerfile.aws.lambda",
        "lambda.Dockerfile",
        "app.dockerfile",
        "dockerfile",
    ] {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("lambda-gate.toml"), "").unwrap();
        let dir = root.path().join("svc");
        fs::create_dir_all(dir.join("app")).unwrap();
        // A handler with a syntax error must not pass, whatever the Dockerfile is called.
        fs::write(
            dir.join("app/handler.py"),
            "def handler(event, context)\n    return {}\n",
        )
        .unwrap();
        fs::write(dir.join("mypy.ini"), TEAM_MYPY_INI).unwrap();
        fs::write(dir.join(name), clean_dockerfile()).unwrap();
        check_root(&root, &["--format", "json"])
            .code(1)
            .stdout(contains("\"lambdas\": 1").and(contains("PY001")));
        gate()
            .arg("check")
            .arg(dir.join(name))
            .assert()
            .code(1)
            .stdout(contains("PY001"));
    }
}

#[test]
fn an_explicit_path_with_nothing_to_check_says_so() {
    let root = tempfile::tempdir().unwrap();
    fs::write(root.path().join("lambda-gate.toml"), "").unwrap();
    fs::create_dir_all(root.path().join("docs")).unwrap();
    fs::write(root.path().join("docs/README.md"), "# docs\n").unwrap();
    gate()
        .arg("check")
        .arg(root.path().join("docs"))
        .assert()
        .code(0)
        .stdout(contains("warning[LG006]").and(contains("nothing to check")));
}

/// A command against AWS with no credentials anywhere: the error is one line that says what
/// to set; the SDK's account of every provider it tried comes only with `--verbose`. The
/// endpoint is a closed local port, so nothing leaves the machine.
#[test]
fn missing_aws_credentials_say_what_to_set_and_keep_the_sdk_account_for_verbose() {
    let home = tempfile::tempdir().expect("home");
    let run = |extra: &[&str]| {
        let mut cmd = gate();
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .args([
                "promote",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/quote",
                "--digest",
                DIGEST,
                "--to",
                "staging",
            ])
            .args(extra);
        let output = cmd.output().expect("runs");
        assert_eq!(output.status.code(), Some(2));
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let plain = run(&[]);
    assert!(
        plain.contains("no AWS credentials: set AWS_PROFILE"),
        "{plain}"
    );
    assert!(plain.contains("--verbose"), "{plain}");
    assert!(!plain.contains("DispatchFailure"), "{plain}");
    assert!(plain.lines().count() <= 3, "{plain}");
    let verbose = run(&["--verbose"]);
    assert!(verbose.contains("no AWS credentials"), "{verbose}");
    assert!(verbose.contains("Ec2InstanceMetadata"), "{verbose}");
}

/// A registry that is not there: where the command tried, and what to check.
#[test]
fn an_unreachable_registry_names_the_address_and_what_to_check() {
    gate()
        .args([
            "verify-deployable",
            &format!("127.0.0.1:9/team/quote@{DIGEST}"),
            "--architecture",
            "arm64",
        ])
        .env("LAMBDA_GATE_REGISTRY_ATTEMPTS", "1")
        .assert()
        .code(2)
        .stderr(contains("cannot connect to http://127.0.0.1:9"))
        .stderr(contains("check that the registry runs there"));
}

/// The base pipeline keeps a base's previous digest allowed until a grace date: DKR005 warns
/// (naming the date and the fix) until then and errors after it; JSON carries the date.
#[test]
fn a_previous_base_digest_warns_until_its_grace_date_then_fails() {
    let old = format!("sha256:{}", "1".repeat(64));
    let root = lambda(
        format!("FROM {RELEASE}:3.12@{old}\nCOPY app/ ${{LAMBDA_TASK_ROOT}}/app/\nCMD [\"app.handler.handler\"]\n")
            .as_bytes(),
    );
    let policy = |until: &str| {
        format!(
            "[dockerfile.digests]\n\"{RELEASE}:3.12\" = \"{DIGEST}\"\n\n[dockerfile.previous-digests]\n\"{RELEASE}:3.12\" = [{{ digest = \"{old}\", allowed-until = {until} }}]\n"
        )
    };
    fs::write(root.path().join("lambda-gate.toml"), policy("2999-12-31")).unwrap();
    let within = check_root(&root, &["--no-cache"]).code(0);
    let stdout = text_of(&within);
    assert!(stdout.contains("warning[DKR005]"), "{stdout}");
    assert!(stdout.contains("allowed until 2999-12-31"), "{stdout}");
    assert!(
        stdout.contains("after 2999-12-31 this is an error"),
        "{stdout}"
    );
    let json = check_root(&root, &["--no-cache", "--format", "json"]).code(0);
    let report: serde_json::Value = serde_json::from_str(&text_of(&json)).unwrap();
    let dkr005 = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["rule"] == "DKR005")
        .expect("a DKR005 diagnostic");
    assert_eq!(dkr005["grace_until"], "2999-12-31");
    assert_eq!(dkr005["severity"], "warning");

    fs::write(root.path().join("lambda-gate.toml"), policy("2001-01-01")).unwrap();
    let ended = check_root(&root, &["--no-cache"]).code(1);
    assert!(text_of(&ended).contains("grace ended on 2001-01-01"));
    // `--fix` moves the pin to the digest policy records.
    check_root(&root, &["--no-cache", "--fix"]).code(0);
    let fixed = fs::read_to_string(root.path().join("fn/Dockerfile")).unwrap();
    assert!(
        fixed.starts_with(&format!("FROM {RELEASE}:3.12@{DIGEST}\n")),
        "{fixed}"
    );

    // A grace date that is not a TOML date is a configuration error at its line.
    fs::write(
        root.path().join("lambda-gate.toml"),
        policy("\"16 December\""),
    )
    .unwrap();
    check_root(&root, &["--no-cache"])
        .code(2)
        .stderr(contains("lambda-gate.toml:5:"));
}

fn text_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// What `policy show` prints is a configuration: written to a file, it loads back as the same
/// policy (dates as TOML dates, every table a table), so a team can start from it.
#[test]
fn policy_show_prints_a_configuration_that_loads_back_as_the_same_policy() {
    let root = tempfile::tempdir().unwrap();
    fs::write(
        root.path().join("lambda-gate.toml"),
        r#"platforms = ["linux/arm64"]

[dockerfile.previous-digests]
"*.dkr.ecr.*.amazonaws.com/aws-lambda-python-release-base:3.12" = [
  { digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111", allowed-until = 2026-12-16 },
]

[coverage.paths]
"app/billing/**" = 95

[deploy.environments.prod]
function = "quote"
canary = 10
bake = "10m"

[[fleet.accounts]]
name = "prod"
regions = ["eu-west-1"]
"#,
    )
    .unwrap();
    let show = |dir: &Path| {
        let output = gate().args(["policy", "show"]).arg(dir).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        // The first line names where the policy came from.
        text.split_once('\n').unwrap().1.to_string()
    };
    let shown = show(root.path());
    assert!(shown.contains("allowed-until = 2026-12-16\n"), "{shown}");
    let again = root.path().join("again");
    fs::create_dir(&again).unwrap();
    fs::write(again.join("lambda-gate.toml"), &shown).unwrap();
    assert_eq!(show(&again), shown);
}

/// `lambda-gate-hook ARGS` is `lambda-gate check ARGS`: the same output, the same exit code,
/// for a failing Lambda, a clean one, a pre-commit run, a bad argument and an unreadable path.
#[test]
fn the_hook_binary_is_check() {
    let failing = lambda(format!("FROM {RELEASE}:3.12\nCOPY app/ ${{LAMBDA_TASK_ROOT}}/app/\nCMD [\"app.handler.handler\"]\n").as_bytes());
    let clean = lambda(format!("FROM {RELEASE}:3.12@{DIGEST}\nCOPY app/ ${{LAMBDA_TASK_ROOT}}/app/\nCMD [\"app.handler.handler\"]\n").as_bytes());
    let run = |binary: &str, check: bool, dir: &Path, args: &[&str]| {
        let mut cmd = Command::cargo_bin(binary).expect("binary");
        cmd.env_remove("RUST_LOG").current_dir(dir);
        if check {
            cmd.arg("check");
        }
        let output = cmd.args(args).args(["--no-cache"]).output().expect("run");
        (output.status.code(), output.stdout, output.stderr)
    };
    let cases: [(&Path, &[&str]); 6] = [
        (failing.path(), &["fn", "--format", "json"]),
        (failing.path(), &["fn"]),
        (clean.path(), &["fn", "--format", "json"]),
        (
            failing.path(),
            &["--files", "fn/app/handler.py", "fn/Dockerfile"],
        ),
        (failing.path(), &["fn", "--format", "no-such-format"]),
        (failing.path(), &["no-such-directory"]),
    ];
    let timing = regex::Regex::new(r#"in [\d.]+(?:µs|ms|s)|"elapsed_ms": \d+"#).expect("regex");
    let mut codes = Vec::new();
    for (dir, args) in cases {
        let (code, stdout, stderr) = run("lambda-gate", true, dir, args);
        let (hook_code, hook_stdout, hook_stderr) = run("lambda-gate-hook", false, dir, args);
        assert_eq!(code, hook_code, "{args:?}");
        // Timings differ from run to run; nothing else may.
        let steady = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            let text = timing.replace_all(&text, "").into_owned();
            // clap names the program it runs.
            text.replace("lambda-gate-hook", "lambda-gate check")
        };
        assert_eq!(steady(&stdout), steady(&hook_stdout), "{args:?}");
        assert_eq!(steady(&stderr), steady(&hook_stderr), "{args:?}");
        codes.push(code);
    }
    assert_eq!(
        codes,
        [Some(1), Some(1), Some(0), Some(1), Some(2), Some(2)],
        "the cases cover each exit code"
    );
}
