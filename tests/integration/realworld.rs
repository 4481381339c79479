//! The gate on repositories in the shapes real teams have (`testdata/realworld/`): each one's
//! verdict is written down in its `expected.txt`, and its rendered report is a snapshot.

use std::path::Path;

use lambda_gate::check::{check, CheckOptions};
use lambda_gate::diagnostic::Severity;
use lambda_gate::report::{render, Format, RenderOptions};

#[test]
fn every_repository_gets_the_verdict_written_beside_it() {
    let root = Path::new("testdata/realworld");
    let mut repositories: Vec<_> = std::fs::read_dir(root)
        .expect("testdata/realworld")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.is_dir())
        .collect();
    repositories.sort();
    assert!(repositories.len() >= 6, "{repositories:?}");
    for repository in repositories {
        let name = repository
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let result = check(&CheckOptions {
            paths: vec![repository.clone()],
            ..CheckOptions::default()
        })
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let expected_text = std::fs::read_to_string(repository.join("expected.txt"))
            .unwrap_or_else(|e| panic!("{name}/expected.txt: {e}"));
        let mut expected: Vec<String> = expected_text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        expected.sort();
        let shown = |severity: Severity| match severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        let mut actual: Vec<String> = result
            .diagnostics
            .iter()
            .map(|d| {
                let path = d
                    .path
                    .strip_prefix(root)
                    .unwrap_or(&d.path)
                    .to_string_lossy()
                    .into_owned();
                format!("{} {} {path}", shown(d.severity), d.rule)
            })
            .collect();
        actual.sort();
        actual.dedup();
        assert_eq!(
            actual, expected,
            "{name}: the verdict differs from expected.txt"
        );
        let mut out = Vec::new();
        render(
            Format::Human,
            &result,
            RenderOptions {
                color: false,
                deterministic: true,
            },
            &mut out,
        )
        .expect("render");
        insta::assert_snapshot!(name, String::from_utf8(out).expect("utf-8"));
    }
}
