//! Every rule has a failing and a passing twin under `testdata/<family>/<ID>/{fail,pass}`.
//! A `pass` fixture is entirely clean; a `fail` fixture has at least one diagnostic of its rule,
//! and its rendering in each format that renders differently is a snapshot.

use std::path::{Path, PathBuf};

use lambda_gate::check::{check, CheckOptions, CheckResult};
use lambda_gate::discover::WalkOptions;
use lambda_gate::report::{render, Format, RenderOptions};
use lambda_gate::rules::registry;

fn fixture_dir(id: &str) -> PathBuf {
    let family = if id.starts_with("LG") {
        "core"
    } else {
        "dockerfile"
    };
    Path::new("testdata").join(family).join(id)
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
    for rule in registry::all() {
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
    for family in ["core", "dockerfile"] {
        for entry in std::fs::read_dir(Path::new("testdata").join(family)).expect("testdata family")
        {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            assert!(
                registry::find(&name).is_some(),
                "testdata/{family}/{name} names no rule"
            );
        }
    }
}
