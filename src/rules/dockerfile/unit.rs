//! The Dockerfile family's part of a run: every Dockerfile of an image project, read and parsed
//! once by discovery, judged by the rules that apply to what it builds.

use std::path::Path;

use super::code::{CodeStatus, LambdaCode};
use super::image_files::ImageFiles;
use super::kind::ImageKind;
use super::parser::{Dockerfile, ParseError};
use super::Context;
use crate::build_context::BuildContext;
use crate::diagnostic::Finding;
use crate::engine::{finish_text, unreadable, FileOutcome, Session, Unit};
use crate::policy::{EffectivePolicy, Level};
use crate::rules::{registry, Check, Rule};
use crate::suppression::CommentStyle;

/// Rules that apply to every image, Lambda or not: the file parses, and it bakes in no secret
/// (in its configuration or as a copied file).
const ANY_IMAGE: &[&str] = &["DKR001", "DKR008", "DKR011"];

/// Checks each Dockerfile of an image project.
pub fn check(unit: Unit<'_>, session: &Session<'_>) -> Vec<FileOutcome> {
    let Unit::Lambda(lambda) = unit else {
        return Vec::new();
    };
    let mut outcomes = Vec::new();
    for image in &lambda.images {
        let file = &lambda.files[image.file];
        let shown = (session.display)(&file.path);
        let policy = session.policy(&lambda.config, &file.path);
        let text = match &image.text {
            Ok(text) => text,
            Err((message, help)) => {
                outcomes.push(unreadable(&policy, &shown, message.clone(), help.clone()));
                continue;
            }
        };
        let Some(parsed) = image.parse() else {
            continue;
        };
        let located = image
            .code
            .as_ref()
            .zip(lambda.image_files(image))
            .map(|(code, files)| Located { code, files });
        let mut findings = lint_parsed(
            &file.path,
            text,
            parsed,
            &image.kind,
            &policy,
            lambda.context_of(image),
            located,
        );
        // The note points at what decided it: the final stage's FROM.
        let from = parsed
            .as_ref()
            .ok()
            .and_then(|d| {
                d.final_stage()
                    .map(|stage| d.instructions[stage.from].span.clone())
            })
            .unwrap_or(0..0);
        if let Some(note) = kind_note(&image.kind, &file.relative, lambda, from.clone()) {
            findings.push((&crate::rules::core::lg005_not_a_lambda::RULE, note));
        }
        if let Some(code) = &image.code {
            if let Some(note) = code_note(code, from) {
                findings.push((&crate::rules::core::lg007_code_not_located::RULE, note));
            }
        }
        outcomes.push(finish_text(
            findings,
            text.to_string(),
            CommentStyle::FullLineHash,
            &policy,
            &shown,
        ));
    }
    outcomes
}

/// LG007 for a Lambda image whose code the gate could not locate: at warning when none of it
/// was read, as a note when part of it was.
fn code_note(code: &LambdaCode, fallback: std::ops::Range<usize>) -> Option<Finding> {
    let span = code.span.clone().unwrap_or(fallback);
    match &code.status {
        CodeStatus::Located
        | CodeStatus::Unlocated {
            said_by: Some(_), ..
        } => None,
        CodeStatus::Unlocated { why, said_by: None } => Some(
            Finding::new(
                span,
                format!("none of this Lambda's Python code was checked: {why}"),
            )
            .help(match code.untied {
                Some(_) => HOW_TO_TIE,
                None => HOW_TO_LOCATE,
            }),
        ),
        CodeStatus::Partly(why) => Some(
            Finding::new(span, format!("this Lambda was only partly checked: {why}"))
                .help(HOW_TO_LOCATE)
                .undecided(),
        ),
    }
}

const HOW_TO_LOCATE: &str = "copy the handler's module from the build context (`COPY app/ ${LAMBDA_TASK_ROOT}/app/`); a SAM template's `Metadata.DockerContext`, or a `docker build -f` in a Makefile, Jenkinsfile or CI workflow, names a context elsewhere";

const HOW_TO_TIE: &str = "set the handler in the image (`CMD [\"module.function\"]`), or build the image in the Terraform that deploys it (a `docker_image` resource or the `docker-build` module whose output is the function's `image_uri`)";

/// The note (LG005) for an image the Lambda rules skip, said once per Dockerfile.
fn kind_note(
    kind: &ImageKind,
    name: &str,
    lambda: &crate::units::Lambda,
    span: std::ops::Range<usize>,
) -> Option<Finding> {
    let how = "if Lambda runs it, name it in the policy: `[dockerfile] lambda-images = [\"path/to/Dockerfile\"]`";
    match kind {
        ImageKind::Lambda(_) | ImageKind::WebAdapter => None,
        ImageKind::Variant(variant) => {
            let main = lambda
                .main_dockerfile()
                .filter(|main| main.relative != name)
                .map(|main| format!(" (the image Lambda runs is `{}`)", main.relative))
                .unwrap_or_default();
            Some(
                Finding::new(
                    span,
                    format!("`{name}` is a {variant} variant of the image, not what Lambda runs{main}: only DKR001, DKR008 and DKR011 apply"),
                )
                .help(how),
            )
        }
        ImageKind::NotPython(why) => Some(
            Finding::new(
                span,
                format!("not judged as a Python Lambda: {why}; only DKR001, DKR008 and DKR011 apply"),
            )
            .help("lambda-gate's Lambda rules are for Python functions"),
        ),
        ImageKind::NotLambda(why) => Some(
            Finding::new(
                span,
                format!("not a Lambda image: {why}; the Lambda rules do not apply (only DKR001, DKR008 and DKR011)"),
            )
            .help(how),
        ),
    }
}

/// Parses a Dockerfile and runs every enabled Dockerfile rule on it, judging it by what it builds.
pub fn lint_dockerfile(
    path: &Path,
    text: &str,
    policy: &EffectivePolicy,
    build_context: &BuildContext,
) -> Vec<(&'static Rule, Finding)> {
    let parsed = super::parser::parse(text);
    let kind = match &parsed {
        Ok(dockerfile) => super::kind::classify(dockerfile, policy, false, None),
        Err(_) => ImageKind::Lambda("it does not parse".into()),
    };
    lint_parsed(path, text, &parsed, &kind, policy, build_context, None)
}

/// What discovery located of a Lambda image, with the image's files it was located in.
#[derive(Clone, Copy)]
struct Located<'a> {
    code: &'a LambdaCode,
    files: &'a ImageFiles,
}

fn lint_parsed(
    path: &Path,
    text: &str,
    parsed: &Result<Dockerfile, ParseError>,
    kind: &ImageKind,
    policy: &EffectivePolicy,
    build_context: &BuildContext,
    located: Option<Located<'_>>,
) -> Vec<(&'static Rule, Finding)> {
    let dockerfile = match parsed {
        Ok(dockerfile) => dockerfile,
        Err(error) => {
            return vec![(
                &super::dkr001_parse_error::RULE,
                Finding::new(error.span.clone(), error.message.clone()),
            )]
        }
    };
    let context = Context {
        path,
        text,
        dockerfile,
        policy,
        build_context,
        kind,
        code: located.map(|l| l.code),
        files: located.map(|l| l.files),
    };
    let mut findings = Vec::new();
    for (rule, check) in registry::checks_of(Check::dockerfile) {
        let applies = kind.is_lambda() || ANY_IMAGE.contains(&rule.id);
        if applies && policy.policy.level(rule.id) != Level::Off {
            findings.extend(check(&context).into_iter().map(|f| (rule, f)));
        }
    }
    findings
}
