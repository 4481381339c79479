//! Dockerfile rules: the base-image policy, the handler, secrets and platforms.

pub mod build_commands;
pub mod buildkit;
pub mod code;
pub mod declared;
pub mod expand;
pub mod image;
pub mod image_files;
pub mod kind;
pub mod parser;
pub mod sam;
pub mod settings;
pub mod terraform_image;
pub mod unit;

pub mod dkr001_parse_error;
pub mod dkr002_base_not_approved;
pub mod dkr003_base_unresolved;
pub mod dkr004_base_not_pinned;
pub mod dkr005_base_digest;
pub mod dkr006_handler_missing;
pub mod dkr007_handler_module_missing;
pub mod dkr008_secret_in_build_config;
pub mod dkr009_platform_mismatch;
pub mod dkr010_buildkit_syntax;
pub mod dkr011_credential_file_in_image;

use std::path::Path;

use crate::build_context::BuildContext;
use crate::policy::EffectivePolicy;

use image::ImageRef;
use parser::{Base, Dockerfile, Stage};

/// What a Dockerfile rule sees.
pub struct Context<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub dockerfile: &'a Dockerfile,
    pub policy: &'a EffectivePolicy,
    /// The files `docker build` would send for this Lambda (its directory, less `.dockerignore`).
    pub build_context: &'a BuildContext,
    /// What the Dockerfile builds.
    pub kind: &'a kind::ImageKind,
    /// What Lambda runs of it, as discovery located it (a Lambda image in a walked project).
    pub code: Option<&'a code::LambdaCode>,
    /// The files the image holds as its build shows them: given with `code`, else a rule that
    /// needs them simulates the build itself.
    pub files: Option<&'a image_files::ImageFiles>,
}

impl Context<'_> {
    pub fn is_final(&self, stage: &Stage) -> bool {
        self.dockerfile
            .final_stage()
            .is_some_and(|last| last.from == stage.from)
    }

    /// The stages the final image is made of, final stage first ([`final_chain`]).
    pub fn final_chain(&self) -> Vec<usize> {
        final_chain(self.dockerfile)
    }

    /// Whether `reference` is an approved base for a stage that is (`final_image`) or is not
    /// part of the final image.
    pub fn is_approved(&self, reference: &ImageRef, final_image: bool) -> bool {
        let repository = reference.repository();
        self.policy.dockerfile.release_bases.is_match(&repository)
            || (!final_image && self.policy.dockerfile.dev_bases.is_match(&repository))
    }
}

/// Why a CMD is not a usable Lambda handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlerProblem {
    /// No CMD in the final stage or the stages it builds on.
    Missing,
    /// CMD in shell form: the base's entrypoint would get `/bin/sh -c ...`.
    ShellForm,
    /// An exec-form CMD that is not one `module.function` string.
    NotAHandler(String),
}

impl Context<'_> {
    /// The CMD in force for the final image ([`final_cmd`]).
    pub fn final_cmd(&self) -> Option<&parser::Instruction> {
        final_cmd(self.dockerfile)
    }

    /// The handler the final image runs ([`handler`]).
    pub fn handler(&self) -> Result<&parser::Word, (HandlerProblem, Option<&parser::Instruction>)> {
        handler(self.dockerfile)
    }
}

/// The Python version of the final image's base, when its reference says it: a Python image's
/// tag that starts with `3.N` (`python:3.11-slim`, `public.ecr.aws/lambda/python:3.12.2025.01`,
/// `…/aws-lambda-python-release-base:3.12`).
pub fn base_python_version(dockerfile: &Dockerfile) -> Option<String> {
    let root = *final_chain(dockerfile).last()?;
    let Base::Image(reference) = &dockerfile.stages[root].base else {
        return None;
    };
    if !reference.path.contains("python") {
        return None;
    }
    let tag = reference.tag.as_deref()?;
    let mut parts = tag.split(|c: char| !c.is_ascii_digit()).take(2);
    let (major, minor) = (parts.next()?, parts.next()?);
    let version = format!("{major}.{minor}");
    (major == "3" && !minor.is_empty() && tag.starts_with(&version)).then_some(version)
}

/// The stages the final image is made of, from the final stage back to the one built FROM an
/// image: `FROM build` makes `build`'s base the final image's base.
pub fn final_chain(dockerfile: &Dockerfile) -> Vec<usize> {
    match dockerfile.stages.len().checked_sub(1) {
        Some(last) => stage_chain(dockerfile, last),
        None => Vec::new(),
    }
}

/// A stage and the stages it builds on (`FROM builder AS final`), the stage itself first.
pub fn stage_chain(dockerfile: &Dockerfile, stage: usize) -> Vec<usize> {
    let mut chain = Vec::new();
    let mut current = Some(stage).filter(|s| *s < dockerfile.stages.len());
    while let Some(index) = current {
        chain.push(index);
        current = match dockerfile.stages[index].base {
            // Stage references always point backwards, so this terminates.
            Base::Stage(earlier) if earlier < index => Some(earlier),
            _ => None,
        };
    }
    chain
}

/// The CMD in force for the final image: the last one in the final stage, else in the stages
/// it builds on.
pub fn final_cmd(dockerfile: &Dockerfile) -> Option<&parser::Instruction> {
    final_chain(dockerfile).into_iter().find_map(|index| {
        let stage = &dockerfile.stages[index];
        dockerfile
            .body(stage)
            .iter()
            .rev()
            .find(|instruction| instruction.keyword == "CMD")
    })
}

/// The handler the final image runs (`module.function`), or why there is none.
pub fn handler(
    dockerfile: &Dockerfile,
) -> Result<&parser::Word, (HandlerProblem, Option<&parser::Instruction>)> {
    let Some(cmd) = final_cmd(dockerfile) else {
        return Err((HandlerProblem::Missing, None));
    };
    match &cmd.args {
        parser::Args::Shell(_) => Err((HandlerProblem::ShellForm, Some(cmd))),
        parser::Args::Exec(items) => match items.as_slice() {
            [only] if is_handler_name(&only.text) => Ok(only),
            _ => Err((
                HandlerProblem::NotAHandler(
                    items
                        .iter()
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                Some(cmd),
            )),
        },
    }
}

/// `module[.sub...].function`, each part a Python identifier.
fn is_handler_name(text: &str) -> bool {
    text.contains('.') && is_dotted_name(text)
}

/// A dotted Python name (`app`, `app.main`): each part an identifier.
pub(crate) fn is_dotted_name(text: &str) -> bool {
    text.split('.').all(|part| {
        let mut chars = part.chars();
        chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod base_python_tests {
    #[test]
    fn python_version_from_the_base_tag() {
        let version =
            |text: &str| super::base_python_version(&super::parser::parse(text).expect("parses"));
        assert_eq!(version("FROM python:3.11-slim\n").as_deref(), Some("3.11"));
        assert_eq!(
            version("FROM public.ecr.aws/lambda/python:3.13.2025.01.01\n").as_deref(),
            Some("3.13")
        );
        assert_eq!(version("FROM node:20\n"), None);
        assert_eq!(version("FROM python:latest\n"), None);
    }
}

/// The lines a help text lists, one pattern each.
pub(crate) fn bullet_list(items: &[String]) -> String {
    if items.is_empty() {
        return "  (none)".into();
    }
    items
        .iter()
        .map(|item| format!("  - {item}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
pub(crate) mod testing {
    //! Runs one rule over an in-memory Dockerfile with the default policy.

    use std::path::Path;

    use super::{parser, Context};
    use crate::build_context::BuildContext;
    use crate::diagnostic::Finding;
    use crate::policy::{default_policy, EffectivePolicy};

    pub fn run_with(
        check: fn(&Context<'_>) -> Vec<Finding>,
        text: &str,
        context_files: &[&str],
        adjust: impl FnOnce(&mut crate::policy::Policy),
    ) -> Vec<Finding> {
        let dockerfile = parser::parse(text).expect("test Dockerfile parses");
        let mut policy = default_policy();
        adjust(&mut policy);
        let policy = EffectivePolicy::compile(policy).expect("policy compiles");
        let build_context =
            BuildContext::from_files(context_files.iter().map(|f| f.to_string()).collect());
        let kind = super::kind::ImageKind::Lambda("a test".into());
        check(&Context {
            kind: &kind,
            path: Path::new("Dockerfile"),
            text,
            dockerfile: &dockerfile,
            policy: &policy,
            build_context: &build_context,
            code: None,
            files: None,
        })
    }

    pub fn run(check: fn(&Context<'_>) -> Vec<Finding>, text: &str) -> Vec<Finding> {
        run_with(check, text, &["app/handler.py"], |_| {})
    }

    pub const RELEASE: &str =
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-lambda-python-release-base";
    pub const DEV: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-lambda-python-dev-base";
    pub const DIGEST: &str =
        "sha256:0e54c71614c181dba589a9d58c74c6e7ce4fa65b81f620733248b6a4b7b0b555";
}
