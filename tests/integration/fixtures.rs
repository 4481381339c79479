//! Every rule has a failing and a passing twin under `testdata/<family>/<ID>/{fail,pass}`.
//! A `pass` fixture is entirely clean; a `fail` fixture has at least one diagnostic of its rule,
//! and its rendering in each format that renders differently is a snapshot.

use std::path::{Path, PathBuf};

use lambda_gate::check::{check, CheckOptions, CheckResult};
use lambda_gate::discover::WalkOptions;
use lambda_gate::report::{render, Format, RenderOptions};
use lambda_gate::rules::registry;

/// Rules whose twins need more than a directory: COV007 needs a git history and
/// `--diff-base`, and is tested on a real repository in tests/coverage.rs.
const TESTED_ELSEWHERE: &[&str] = &["COV007"];

fn fixture_dir(id: &str) -> PathBuf {
    let family = match id {
        _ if id.starts_with("LG") => "core",
        _ if id.starts_with("COV") => "coverage",
        _ if id.starts_with("MYP") => "mypy",
        _ if id.starts_with("PY") => "python",
        _ if id.starts_with("TF") => "terraform",
        _ => "dockerfile",
    };
    Path::new("testdata").join(family).join(id)
}

/// A checkout gives files arbitrary modification times: make every report newer than the
/// code it covers, except where COV006 wants it stale.
fn set_report_times() {
    let now = std::time::SystemTime::now();
    let hour = std::time::Duration::from_secs(3600);
    let families = ["testdata/coverage", "testdata/coverage-formats"];
    let dirs = families
        .iter()
        .flat_map(|f| std::fs::read_dir(f).expect("coverage fixtures"));
    for entry in dirs {
        for twin in ["pass", "fail", "unreadable"] {
            let dir = entry.as_ref().expect("entry").path().join(twin);
            for name in [
                "coverage.xml",
                "coverage.json",
                "coverage.lcov",
                "lcov.info",
            ] {
                if let Ok(report) = std::fs::File::options().append(true).open(dir.join(name)) {
                    report.set_modified(now).expect("set report time");
                }
            }
            let Ok(handler) = std::fs::File::options()
                .append(true)
                .open(dir.join("app/handler.py"))
            else {
                continue;
            };
            let at = if dir.ends_with("COV006/fail") {
                now + hour
            } else {
                now - hour
            };
            handler.set_modified(at).expect("set source time");
        }
    }
}

fn run(dir: &Path) -> CheckResult {
    check(&CheckOptions {
        paths: vec![dir.to_path_buf()],
        walk: WalkOptions {
            follow_links: true,
            threads: 1,
        },
        ..CheckOptions::default()
    })
    .unwrap_or_else(|e| panic!("{}: {e:#}", dir.display()))
}

fn rendered(result: &CheckResult, format: Format) -> String {
    let mut out = Vec::new();
    let options = RenderOptions {
        color: false,
        deterministic: true,
    };
    render(format, result, options, &mut out).expect("render");
    String::from_utf8(out).expect("utf-8 output")
}

#[test]
fn every_rule_has_a_failing_and_a_passing_twin() {
    set_report_times();
    for rule in registry::all()
        .iter()
        .filter(|r| !TESTED_ELSEWHERE.contains(&r.id))
    {
        let dir = fixture_dir(rule.id);
        let pass = run(&dir.join("pass"));
        assert!(
            pass.diagnostics.is_empty(),
            "{}/pass must be clean, got {:#?}",
            dir.display(),
            pass.diagnostics
        );
        assert!(
            pass.files_checked > 0,
            "{}/pass checked nothing",
            dir.display()
        );

        let fail = run(&dir.join("fail"));
        assert!(
            fail.diagnostics.iter().any(|d| d.rule == rule.id),
            "{}/fail has no {} diagnostic: {:#?}",
            dir.display(),
            rule.id,
            fail.diagnostics
        );
        insta::assert_snapshot!(format!("{}_human", rule.id), rendered(&fail, Format::Human));
        insta::assert_snapshot!(format!("{}_json", rule.id), rendered(&fail, Format::Json));
        insta::assert_snapshot!(format!("{}_sarif", rule.id), rendered(&fail, Format::Sarif));
    }
}

#[test]
fn fixtures_cover_exactly_the_registry() {
    for family in [
        "core",
        "coverage",
        "dockerfile",
        "mypy",
        "python",
        "terraform",
    ] {
        for entry in std::fs::read_dir(Path::new("testdata").join(family)).expect("testdata family")
        {
            let entry = entry.expect("entry");
            // A family may hold a shared mypy.ini beside its rule directories.
            if !entry.file_type().expect("file type").is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                registry::find(&name).is_some(),
                "testdata/{family}/{name} names no rule"
            );
        }
    }
}

/// The coverage decision and read errors in each report format, not only Cobertura.
#[test]
fn every_report_format_has_twins() {
    set_report_times();
    for format in ["json", "lcov"] {
        let dir = Path::new("testdata/coverage-formats").join(format);
        let pass = run(&dir.join("pass"));
        assert!(
            pass.diagnostics.is_empty(),
            "{format}/pass: {:#?}",
            pass.diagnostics
        );
        for (twin, rule) in [("fail", "COV002"), ("unreadable", "COV001")] {
            let result = run(&dir.join(twin));
            let rules: Vec<&str> = result.diagnostics.iter().map(|d| d.rule).collect();
            assert_eq!(rules, vec![rule], "{format}/{twin}");
            insta::assert_snapshot!(
                format!("{format}_{twin}_human"),
                rendered(&result, Format::Human)
            );
        }
    }
}
