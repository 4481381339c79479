//! The Terraform family's part of a run: one Terraform module (the `.tf` and tfvars files of
//! one directory), each file read and parsed once, the rules run on the module as a whole.

use std::path::PathBuf;
use std::sync::Arc;

use crate::diagnostic::Finding;
use crate::engine::{
    finish_text, read_text, text_of, unreadable, whole_file_if_on, FileOutcome, Session, Unit,
};
use crate::policy::{EffectivePolicy, Level};
use crate::rules::{registry, Family, Rule};
use crate::suppression::CommentStyle;

/// Checks a Terraform module.
pub fn check(unit: Unit<'_>, session: &Session<'_>) -> Vec<FileOutcome> {
    let Unit::TerraformModule(unit) = unit else {
        return Vec::new();
    };
    let config = &unit.config;
    let policy = session.policy(config, &unit.dir);
    let any_on = registry::all()
        .iter()
        .any(|r| r.family == Family::Terraform && policy.policy.level(r.id) != Level::Off);
    if !any_on {
        return Vec::new();
    }
    let mut outcomes: Vec<FileOutcome> = unit
        .state_files
        .iter()
        .map(|path| {
            let shown = (session.display)(path);
            let policy = session.policy(config, path);
            FileOutcome::bare(
                shown.clone(),
                whole_file_if_on(
                    &super::tf015_state_file_committed::RULE,
                    &policy,
                    shown,
                    "Terraform state is in the repository (git does not ignore it): it holds every attribute of the resources it manages, passwords and keys included, in plain text".into(),
                    Some("move the state to a remote backend (S3 with a DynamoDB or S3 lock, encrypted), delete this file from the repository and its history, rotate the secrets it held, and add `*.tfstate*` to .gitignore".into()),
                ),
            )
        })
        .collect();
    if unit.files.is_empty() {
        return outcomes;
    }
    // Outside a repository, a relative module source must stay inside the directory the
    // check runs from (else the configuration root).
    let outside_repository = session
        .cwd
        .filter(|cwd| unit.dir.starts_with(cwd))
        .unwrap_or(&config.root);
    {
        let group = &unit.files;
        let dir = unit.dir.as_path();
        let policy = session.policy(config, dir);
        let mut parsed: Vec<super::TfFile> = Vec::new();
        // Beside each parsed file: how it is shown, its text and its policy.
        let mut read: Vec<(PathBuf, String, Arc<EffectivePolicy>)> = Vec::new();
        for (index, file) in group.iter().enumerate() {
            let shown = (session.display)(&file.path);
            let file_policy = session.policy(config, &file.path);
            let text = match unit.bytes.get(index).and_then(Option::as_ref) {
                Some(bytes) => text_of(bytes.clone(), &file_policy),
                None => read_text(file, &file_policy),
            };
            let text = match text {
                Ok(text) => text,
                Err((message, help)) => {
                    outcomes.push(unreadable(&file_policy, &shown, message, help));
                    continue;
                }
            };
            match super::TfFile::parse(file.path.clone(), &text) {
                Ok(tf_file) => {
                    parsed.push(tf_file);
                    read.push((shown, text, file_policy));
                }
                Err(error) => {
                    let rule = &super::tf001_syntax_error::RULE;
                    let finding = Finding::new(
                        error.span,
                        format!("invalid HCL: {}", error.message),
                    )
                    .help(
                        "fix the syntax; the other Terraform rules skip this file until it parses",
                    );
                    let outcome = finish_text(
                        vec![(rule, finding)],
                        text,
                        CommentStyle::Hash,
                        &file_policy,
                        &shown,
                    );
                    outcomes.push(outcome);
                }
            }
        }
        if parsed.is_empty() {
            return outcomes;
        }
        let module = super::Module::new(dir, &parsed);
        let context = super::Context {
            module: &module,
            policy: &policy,
            outside_repository,
        };
        let found = super::lint(&context, &|rule: &Rule| {
            policy.policy.level(rule.id) != Level::Off
        });
        let mut per_file: Vec<Vec<(&'static Rule, Finding)>> = vec![Vec::new(); parsed.len()];
        for (rule, located) in found {
            if let Some(slot) = per_file.get_mut(located.file) {
                slot.push((rule, located.finding));
            }
        }
        for (findings, (shown, text, file_policy)) in per_file.into_iter().zip(read) {
            outcomes.push(finish_text(
                findings,
                text,
                CommentStyle::Hash,
                &file_policy,
                &shown,
            ));
        }
    }
    outcomes
}
