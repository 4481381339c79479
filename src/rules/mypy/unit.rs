//! The mypy family's part of a run: a Lambda's mypy configuration, found and read as mypy
//! finds and reads it (each file once per run), judged against the policy.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Finding, LineIndex};
use crate::engine::{finish, whole_file_if_on, FileOutcome, Session, Unit};
use crate::policy::{EffectivePolicy, Level};
use crate::rules::{registry, Check, Family};
use crate::suppression::CommentStyle;
use crate::units::{FileKind, Lambda};

/// The run's cache of configuration files: Lambdas of one repository share their `setup.cfg`
/// or `pyproject.toml` above them, and each is read once.
pub fn prepare(
    _: &crate::units::Workspace,
    _: crate::engine::RunOptions<'_>,
) -> anyhow::Result<crate::engine::FamilyState> {
    Ok(Box::new(super::ConfigCache::default()))
}

/// Checks a Lambda's mypy configuration.
pub fn check(unit: Unit<'_>, session: &Session<'_>) -> Vec<FileOutcome> {
    let Unit::Lambda(lambda) = unit else {
        return Vec::new();
    };
    if !lambda.is_lambda() {
        return Vec::new();
    }
    // Prepared by every run; a caller that skipped it reads each file once per Lambda.
    let own;
    let configs = match session.state::<super::ConfigCache>(Family::Mypy) {
        Some(configs) => configs,
        None => {
            own = super::ConfigCache::default();
            &own
        }
    };
    let outcomes = check_lambda(lambda, session, configs);
    // A configuration inside this Lambda is read by no other one, unless a Lambda is nested
    // below it: then it stays cached for that one.
    if !lambda.has_nested {
        configs.evict_below(&lambda.dir);
    }
    outcomes
}

fn check_lambda(
    lambda: &Lambda,
    session: &Session<'_>,
    configs: &super::ConfigCache,
) -> Vec<FileOutcome> {
    let policy = session.policy(&lambda.config, &lambda.dir);
    let display = session.display;
    let enabled = |id: &str| policy.policy.level(id) != Level::Off;
    let family_on = registry::all()
        .iter()
        .any(|r| r.family == Family::Mypy && enabled(r.id));
    // A Lambda without Python (a base image) has nothing for mypy to check.
    let has_python = lambda.files.iter().any(|f| f.kind == FileKind::Python);
    if !family_on || !has_python {
        return Vec::new();
    }
    let search = super::config::find(&lambda.dir, &|path: &Path| configs.load(path));
    let mut outcomes = Vec::new();
    for broken in &search.broken {
        if !configs.first_report(broken) {
            continue;
        }
        let loaded = configs.load(broken);
        let super::config::Loaded::Broken { text, problem } = &*loaded else {
            continue;
        };
        let rule = &super::myp001_config_invalid::RULE;
        let finding =
            super::myp001_config_invalid::unreadable(problem.span.clone(), &problem.message);
        let shown = display(broken);
        let outcome = match text {
            Some(text) => {
                let index = LineIndex::new(text);
                FileOutcome {
                    path: shown.clone(),
                    diagnostics: finish(
                        vec![(rule, finding)],
                        text,
                        &index,
                        CommentStyle::FullLineHash,
                        &policy,
                        &shown,
                    ),
                    source: Some(text.clone()),
                }
            }
            None => FileOutcome::bare(
                shown.clone(),
                whole_file_if_on(rule, &policy, shown, finding.message, finding.help),
            ),
        };
        outcomes.push(outcome);
    }
    let Some(used) = &search.used else {
        outcomes.push(config_missing(lambda, &policy, display));
        return outcomes;
    };
    let loaded = configs.load(used);
    let super::config::Loaded::Used(config) = &*loaded else {
        return outcomes;
    };
    let first_party = super::first_party(lambda);
    let python_version = python_version(lambda, &policy);
    let context = super::Context {
        lambda,
        policy: &policy,
        config,
        first_party: &first_party,
        python_version: &python_version,
    };
    let mut findings = Vec::new();
    for (rule, check) in registry::checks_of(Check::mypy) {
        if enabled(rule.id) {
            findings.extend(check(&context).into_iter().map(|f| (rule, f)));
        }
    }
    let style = match config.format {
        super::config::Format::Ini => CommentStyle::FullLineHash,
        super::config::Format::Toml => CommentStyle::Hash,
    };
    let shown = display(used);
    let index = LineIndex::new(&config.text);
    let diagnostics = finish(findings, &config.text, &index, style, &policy, &shown);
    let source = (!diagnostics.is_empty()).then(|| config.text.clone());
    outcomes.push(FileOutcome {
        path: shown,
        diagnostics,
        source,
    });
    outcomes
}

/// The Python the Lambda's image runs: its base's when the Dockerfile shows it, else the
/// policy's (the release base's).
fn python_version(lambda: &Lambda, policy: &EffectivePolicy) -> String {
    lambda
        .images
        .first()
        .and_then(|image| image.base_python.clone())
        .unwrap_or_else(|| policy.policy.mypy.python_version.clone())
}

/// MYP002 for a Lambda without any mypy configuration: on its pyproject.toml (with a fix that
/// adds the block) or, without one, on its Dockerfile.
fn config_missing(
    lambda: &Lambda,
    policy: &EffectivePolicy,
    display: &(dyn Fn(&Path) -> PathBuf + Sync),
) -> FileOutcome {
    let rule = &super::myp002_config_missing::RULE;
    let mut mypy_policy = policy.policy.mypy.clone();
    mypy_policy.python_version = python_version(lambda, policy);
    let mypy_policy = &mypy_policy;
    let pyproject = lambda.dir.join("pyproject.toml");
    let message = "no mypy configuration: mypy would run with its lax defaults (no strict checks)";
    let text = crate::fsio::read_shared_string(&pyproject).ok();
    let (path, text, finding) = match text {
        Some(text) => {
            let block = super::myp002_config_missing::pyproject_block(mypy_policy);
            let fix = crate::diagnostic::Fix {
                description: "add the policy's [tool.mypy] block".into(),
                edits: vec![super::fix::append_block(&text, &block)],
            };
            let finding = Finding::new(0..0, message)
                .help(format!("add to pyproject.toml:\n\n{block}"))
                .fix(fix);
            (pyproject, Some(text), finding)
        }
        None => {
            let finding = Finding::new(0..0, message).help(format!(
                "add a mypy.ini beside the Dockerfile:\n\n{}",
                super::myp002_config_missing::ini_block(mypy_policy)
            ));
            let dockerfile = lambda
                .main_dockerfile()
                .map_or_else(|| lambda.dir.clone(), |file| file.path.clone());
            (dockerfile, None, finding)
        }
    };
    let shown = display(&path);
    let Some(text) = text else {
        let diagnostics =
            whole_file_if_on(rule, policy, shown.clone(), finding.message, finding.help);
        return FileOutcome::bare(shown, diagnostics);
    };
    let index = LineIndex::new(&text);
    let diagnostics = finish(
        vec![(rule, finding)],
        &text,
        &index,
        CommentStyle::Hash,
        policy,
        &shown,
    );
    let source = (!diagnostics.is_empty()).then(|| Arc::from(text));
    FileOutcome {
        path: shown,
        diagnostics,
        source,
    }
}
