//! Mutated inputs never panic the parsers, and every span they report is valid. `cargo fuzz`
//! (fuzz/) explores far more; this keeps a deterministic slice of it in every test run.

use std::path::Path;

use lambda_gate::build_context::BuildContext;
use lambda_gate::diagnostic::LineIndex;
use lambda_gate::policy::{default_policy, EffectivePolicy};
use lambda_gate::rules::dockerfile::unit::lint_dockerfile;
use lambda_gate::suppression::{self, CommentStyle};

const INTERESTING: &[&str] = &[
    "\\",
    "`",
    "$",
    "${",
    "}",
    ":-",
    "\"",
    "'",
    "[",
    "]",
    "<<",
    "<<-EOF",
    "EOF",
    "\n",
    "\r\n",
    "# escape=`\n",
    "# syntax=x\n",
    "FROM ",
    " AS ",
    "--platform=",
    "@sha256:",
    "é",
    "\u{feff}",
    "# lambda-gate: ignore[",
    "ARG ",
    "ENV ",
    "COPY ",
    "CMD [\"",
    "\t",
    "=",
];

/// The seed corpus of a fuzz target, sorted so mutation runs are deterministic.
fn seeds_in(dir: &str) -> Vec<String> {
    let mut seeds: Vec<String> = std::fs::read_dir(dir)
        .expect("seeds")
        .map(|entry| std::fs::read_to_string(entry.expect("entry").path()).expect("seed"))
        .collect();
    seeds.sort();
    seeds
}

fn mutate(rng: &mut fastrand::Rng, text: &str) -> String {
    let mut out = text.to_string();
    for _ in 0..rng.usize(1..6) {
        let mut at = rng.usize(0..=out.len());
        while !out.is_char_boundary(at) {
            at -= 1;
        }
        match rng.u8(0..4) {
            0 => out.insert_str(at, INTERESTING[rng.usize(0..INTERESTING.len())]),
            1 => out.truncate(at),
            2 => {
                let mut end = (at + rng.usize(0..20)).min(out.len());
                while !out.is_char_boundary(end) {
                    end -= 1;
                }
                out.replace_range(at..end.max(at), "");
            }
            _ => {
                let line = out
                    .lines()
                    .nth(rng.usize(0..out.lines().count().max(1)))
                    .unwrap_or("")
                    .to_string();
                out.insert_str(at, &format!("{line}\n"));
            }
        }
    }
    out
}

#[test]
fn mutated_dockerfiles_never_panic_and_spans_are_valid() {
    let policy = EffectivePolicy::compile(default_policy()).unwrap();
    let context = BuildContext::from_files(vec!["app/handler.py".into(), "app/__init__.py".into()]);
    let mut rng = fastrand::Rng::with_seed(2026);
    let seeds = seeds_in("fuzz/seeds/dockerfile");
    assert!(seeds.len() >= 10);
    for round in 0..20_000 {
        let text = mutate(&mut rng, &seeds[round % seeds.len()]);
        for (rule, finding) in lint_dockerfile(Path::new("Dockerfile"), &text, &policy, &context) {
            let span = finding.span;
            assert!(
                span.start <= span.end && span.end <= text.len(),
                "{}: {span:?} in {text:?}",
                rule.id
            );
            assert!(
                text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
                "{}: {text:?}",
                rule.id
            );
        }
        let index = LineIndex::new(&text);
        for s in suppression::parse(&text, &index, CommentStyle::FullLineHash) {
            assert!(text.get(s.span.clone()).is_some());
        }
    }
}

#[test]
fn deep_continuations_and_long_lines_are_linear() {
    // 200,000 continuation lines and a 5 MB single line parse without recursion or blow-up.
    let policy = EffectivePolicy::compile(default_policy()).unwrap();
    let context = BuildContext::default();
    let mut text = String::from("FROM a:1\nRUN true");
    for _ in 0..200_000 {
        text.push_str(" \\\n && true");
    }
    text.push('\n');
    text.push_str(&format!("ENV X={}\n", "y".repeat(5_000_000)));
    let findings = lint_dockerfile(Path::new("Dockerfile"), &text, &policy, &context);
    assert!(findings.iter().all(|(rule, _)| rule.id != "DKR001"));
}

#[test]
fn mutated_coverage_reports_never_panic() {
    use lambda_gate::rules::coverage::{cobertura, coverage_json, lcov};
    let seeds = seeds_in("fuzz/seeds/coverage");
    let mut rng = fastrand::Rng::with_seed(7);
    for round in 0..5000 {
        let text = mutate(&mut rng, &seeds[round % seeds.len()]);
        let bytes = text.as_bytes();
        let path = Path::new("/nonexistent/coverage.xml");
        let results = [
            cobertura::read(bytes, path, true),
            coverage_json::read(bytes, true),
            lcov::read(bytes, true),
        ];
        for result in results {
            match result {
                Ok(report) => assert!(report.totals.percent().is_finite()),
                Err(error) => assert!(error.line >= 1 && error.column >= 1, "{error:?}"),
            }
        }
    }
}

#[test]
fn mutated_mypy_configurations_never_panic_and_spans_are_valid() {
    use lambda_gate::rules::mypy::config::{from_text, Loaded};
    let seeds = seeds_in("fuzz/seeds/mypy");
    assert!(seeds.len() >= 30);
    let mut rng = fastrand::Rng::with_seed(24);
    for round in 0..5000 {
        let text = mutate(&mut rng, &seeds[round % seeds.len()]);
        for name in ["mypy.ini", "pyproject.toml"] {
            match from_text(Path::new(name), std::sync::Arc::from(text.as_str())) {
                Loaded::Used(config) => {
                    for problem in &config.problems {
                        assert!(
                            text.get(problem.span.clone()).is_some(),
                            "{problem:?} in {text:?}"
                        );
                    }
                    let _ = config.for_module("app.handler");
                }
                Loaded::Broken { problem, .. } => {
                    assert!(
                        text.get(problem.span.clone()).is_some(),
                        "{problem:?} in {text:?}"
                    )
                }
                Loaded::NotMypy => {}
            }
        }
    }
}

#[test]
fn mutated_python_never_panics_and_spans_are_valid() {
    let seeds = seeds_in("fuzz/seeds/python");
    assert!(seeds.len() >= 10);
    let mut rng = fastrand::Rng::with_seed(3);
    for round in 0..5000 {
        let text = mutate(&mut rng, &seeds[round % seeds.len()]);
        let findings = lambda_gate::rules::python::lint(
            Path::new("handler.py"),
            &text,
            Some("handler"),
            &|_| true,
        );
        for (rule, finding) in findings {
            assert!(
                text.get(finding.span.clone()).is_some(),
                "{}: {:?} in {text:?}",
                rule.id,
                finding.span
            );
        }
    }
}

#[test]
fn mutated_terraform_never_panics_and_spans_are_valid() {
    use lambda_gate::rules::terraform::{lint, parse, Context, Module, TfFile};
    let seeds = seeds_in("fuzz/seeds/terraform");
    assert!(seeds.len() >= 10);
    let policy = EffectivePolicy::compile(default_policy()).unwrap();
    let dir = Path::new("/repo/lambda/terraform");
    let mut rng = fastrand::Rng::with_seed(4);
    let mut parsed = 0;
    for round in 0..5000 {
        let text = mutate(&mut rng, &seeds[round % seeds.len()]);
        let body = match parse(&text) {
            Ok(body) => body,
            Err(error) => {
                assert!(text.get(error.span.clone()).is_some(), "{:?}", error.span);
                continue;
            }
        };
        parsed += 1;
        let files = [TfFile {
            path: dir.join("main.tf"),
            body,
            is_vars: false,
            duplicate_keys: Vec::new(),
        }];
        let module = Module::new(dir, &files);
        let context = Context {
            module: &module,
            policy: &policy,
            outside_repository: Path::new("/repo"),
        };
        for (rule, located) in lint(&context, &|_| true) {
            let span = located.finding.span;
            assert!(
                text.get(span.clone()).is_some(),
                "{}: {span:?} in {text:?}",
                rule.id
            );
        }
    }
    // The mutations must leave enough valid HCL for the rules to run on.
    assert!(parsed > 200, "only {parsed} of 5000 mutations parsed");
}

#[test]
fn mutated_build_declarations_never_panic_and_name_absolute_paths() {
    use lambda_gate::rules::dockerfile::{build_commands, terraform_image};
    let seeds = seeds_in("fuzz/seeds/build_declarations");
    assert!(seeds.len() >= 5);
    // A real tree, so that declared Dockerfiles exist and builds are declared.
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    for path in [
        "docker/orders.Dockerfile",
        "billing/Dockerfile",
        "lambda/Dockerfile",
        "src/Dockerfile",
    ] {
        std::fs::create_dir_all(root.join(path).parent().expect("parent")).expect("mkdir");
        std::fs::write(root.join(path), "FROM x\n").expect("write");
    }
    let infra = root.join("infra");
    let mut rng = fastrand::Rng::with_seed(24);
    let mut declared = 0;
    for round in 0..3000 {
        let text = mutate(&mut rng, &seeds[round % seeds.len()]);
        for name in [
            "Makefile",
            "Jenkinsfile",
            ".github/workflows/b.yml",
            "build.sh",
        ] {
            for build in build_commands::builds(&root.join(name), &text, &|| root.to_path_buf()) {
                assert!(build.dockerfile.is_absolute() && build.context.is_absolute());
                declared += 1;
            }
        }
        let (builds, _) =
            terraform_image::declared(&infra, &[(infra.join("main.tf"), text.clone())]);
        for build in builds {
            assert!(build.dockerfile.is_file(), "{build:?}");
            declared += 1;
        }
    }
    assert!(
        declared > 100,
        "the mutations should still declare builds: {declared}"
    );
}
