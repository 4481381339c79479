//! DKR005 `base-digest`: the bases policy requires to be pinned carry the `@sha256:` digest
//! the policy records for their tag. Fixable.

use super::parser::{Base, Stage};
use super::settings::DigestRequirement;
use super::Context;
use crate::date::Date;
use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "DKR005",
    name: "base-digest",
    family: Family::Dockerfile,
    summary: "A base that must be pinned by digest has no digest, or not the one policy records",
    default_severity: Severity::Error,
    fixable: true,
    doc: crate::rule_doc!("DKR005"),
    check: Check::Dockerfile(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let required: Vec<usize> = match ctx.policy.policy.dockerfile.require_digest {
        DigestRequirement::None => return Vec::new(),
        DigestRequirement::AllStages => (0..ctx.dockerfile.stages.len()).collect(),
        DigestRequirement::FinalStage => ctx.final_chain(),
    };
    let mut findings = Vec::new();
    for index in required {
        let stage = &ctx.dockerfile.stages[index];
        let Base::Image(reference) = &stage.base else {
            continue;
        };
        let recorded = reference
            .tagged()
            .and_then(|tagged| ctx.policy.dockerfile.recorded_digest(&tagged));
        let finding = match (&reference.digest, recorded) {
            (None, recorded) => {
                let finding = Finding::new(
                    stage.image.span.clone(),
                    format!("the base `{reference}` is not pinned by digest"),
                );
                match recorded {
                    Some(digest) => finding
                        .help(format!("pin it: `{reference}@{digest}` (the digest policy records for this tag)"))
                        .fix(pin_fix(ctx, stage, digest)),
                    None => finding.help(
                        "append the digest of the tag: `@sha256:<digest>` (e.g. from `docker buildx imagetools inspect`); record it under [dockerfile.digests] so `--fix` can pin it",
                    ),
                }
            }
            (Some(pinned), Some(recorded)) if pinned != recorded => {
                let until = reference
                    .tagged()
                    .and_then(|tagged| ctx.policy.dockerfile.allowed_until(&tagged, pinned));
                outdated(ctx, stage, &reference.to_string(), recorded, until)
            }
            _ => continue,
        };
        findings.push(finding);
    }
    findings
}

/// What one DKR005 fix changes: `repository:tag`, the digest it was pinned to (if any) and the
/// one it is pinned to after the fix. Read back from the diagnostic this rule wrote (a sweep's
/// commit message names every re-pinned base).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseChange {
    pub tagged: String,
    pub from: Option<String>,
    pub to: String,
}

pub fn base_change(diagnostic: &crate::diagnostic::Diagnostic) -> Option<BaseChange> {
    if diagnostic.rule != RULE.id {
        return None;
    }
    let to = diagnostic
        .fix
        .as_ref()?
        .description
        .strip_prefix(PIN_FIX)?
        .to_string();
    let reference = diagnostic.message.split('`').nth(1)?;
    let (tagged, from) = match reference.split_once('@') {
        Some((tagged, from)) => (tagged, Some(from.to_string())),
        None => (reference, None),
    };
    Some(BaseChange {
        tagged: tagged.to_string(),
        from,
        to,
    })
}

/// How a fix of this rule describes itself, followed by the digest.
const PIN_FIX: &str = "pin the base to ";

/// A base pinned to another digest than the one policy records: an error, or a warning while
/// the pinned digest is a previous one still in its grace window.
fn outdated(
    ctx: &Context<'_>,
    stage: &Stage,
    reference: &str,
    recorded: &str,
    allowed_until: Option<Date>,
) -> Finding {
    let span = stage.image.span.clone();
    let fix = pin_fix(ctx, stage, recorded);
    let Some(until) = allowed_until else {
        return Finding::new(
            span,
            format!("the base `{reference}` is pinned to an outdated digest: policy records `{recorded}` for this tag"),
        )
        .help("update the digest to the one policy records, which carries the current security updates")
        .fix(fix);
    };
    // Only a previous digest's verdict depends on the day, so only then is the clock read.
    if Date::today() <= until {
        Finding::new(
            span,
            format!("the base `{reference}` is pinned to the previous digest, allowed until {until}: policy records `{recorded}` for this tag"),
        )
        .help(format!("update the digest to the one policy records (`lambda-gate check --fix`, or merge the re-pinning branch); after {until} this is an error"))
        .fix(fix)
        .in_grace_until(until)
    } else {
        Finding::new(
            span,
            format!("the base `{reference}` is pinned to a previous digest whose grace ended on {until}: policy records `{recorded}` for this tag"),
        )
        .help("update the digest to the one policy records, which carries the current security updates (`lambda-gate check --fix`)")
        .fix(fix)
    }
}

/// Where the reference is written literally: the FROM word, or the default of the global ARG
/// the FROM word consists of (`FROM ${BASE_IMAGE}`).
fn literal_reference(ctx: &Context<'_>, stage: &Stage) -> Option<(Span, String)> {
    let literal = |text: &str, span: &Span| {
        let plain = !text.contains(['$', '"', '\'', '\\']) && span.len() == text.len();
        plain.then(|| (span.clone(), text.to_string()))
    };
    let word = &stage.image;
    if !word.text.contains('$') {
        return literal(&word.text, &word.span);
    }
    let name = word
        .text
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        .or_else(|| word.text.strip_prefix('$'))?;
    // The last global declaration of that ARG with a default is the one FROM sees.
    let df = ctx.dockerfile;
    let first_from = df.stages.first()?.from;
    df.instructions[..first_from]
        .iter()
        .filter(|instruction| instruction.keyword == "ARG")
        .flat_map(|instruction| instruction.words.iter())
        .filter_map(|w| {
            let (arg, value) = w.text.split_once('=')?;
            (arg == name).then(|| {
                let start = w.span.start + arg.len() + 1;
                (value, start..w.span.end)
            })
        })
        .next_back()
        .and_then(|(value, span)| literal(value, &span))
}

fn pin_fix(ctx: &Context<'_>, stage: &Stage, digest: &str) -> Option<Fix> {
    let (span, text) = literal_reference(ctx, stage)?;
    let edit = match text.find('@') {
        Some(at) => Edit {
            range: span.start + at + 1..span.end,
            replacement: digest.to_string(),
        },
        None => Edit {
            range: span.end..span.end,
            replacement: format!("@{digest}"),
        },
    };
    Some(Fix {
        description: format!("{PIN_FIX}{digest}"),
        edits: vec![edit],
    })
}

#[cfg(test)]
mod tests {
    use super::super::settings::PreviousDigest;
    use super::super::testing::{run, run_with, DEV, DIGEST, RELEASE};
    use super::*;
    use crate::fix::apply_edits;

    fn fixed(text: &str) -> String {
        let findings = run(check, text);
        let edits: Vec<_> = findings
            .iter()
            .filter_map(|f| f.fix.as_ref())
            .flat_map(|f| f.edits.iter().cloned())
            .collect();
        apply_edits(text, &edits)
    }

    #[test]
    fn final_stage_is_pinned_to_the_recorded_digest() {
        let text = format!("FROM {RELEASE}:3.12\n");
        assert_eq!(fixed(&text), format!("FROM {RELEASE}:3.12@{DIGEST}\n"));
        assert!(run(check, &fixed(&text)).is_empty(), "fix is idempotent");
    }

    #[test]
    fn fix_edits_the_arg_default_behind_from() {
        let text = format!("ARG BASE_IMAGE={RELEASE}:3.12\nFROM ${{BASE_IMAGE}}\n");
        assert_eq!(
            fixed(&text),
            format!("ARG BASE_IMAGE={RELEASE}:3.12@{DIGEST}\nFROM ${{BASE_IMAGE}}\n")
        );
    }

    #[test]
    fn outdated_digest_is_replaced() {
        let old = format!("sha256:{}", "1".repeat(64));
        let text = format!("FROM {RELEASE}:3.12@{old}\n");
        let findings = run(check, &text);
        assert!(findings[0].message.contains("outdated"));
        assert_eq!(fixed(&text), format!("FROM {RELEASE}:3.12@{DIGEST}\n"));
    }

    #[test]
    fn a_previous_digest_warns_until_its_grace_date_and_errors_after() {
        let old = format!("sha256:{}", "1".repeat(64));
        let text = format!("FROM {RELEASE}:3.12@{old}\n");
        let grace = |until: &str| {
            let old = old.clone();
            let until = Date::parse(until).unwrap();
            run_with(check, &text, &[], move |p| {
                p.dockerfile.previous_digests.insert(
                    format!("{RELEASE}:3.12"),
                    vec![PreviousDigest {
                        digest: old.clone(),
                        allowed_until: until,
                    }],
                );
            })
        };
        let within = grace("2999-12-31");
        assert_eq!(within.len(), 1);
        assert_eq!(within[0].grace_until, Date::parse("2999-12-31"));
        assert_eq!(within[0].severity_under(Severity::Error), Severity::Warning);
        assert!(
            within[0].message.contains("allowed until 2999-12-31"),
            "{}",
            within[0].message
        );
        assert!(within[0].fix.is_some());
        let ended = grace("2001-01-01");
        assert_eq!(ended[0].grace_until, None);
        assert_eq!(ended[0].severity_under(Severity::Error), Severity::Error);
        assert!(
            ended[0].message.contains("grace ended on 2001-01-01"),
            "{}",
            ended[0].message
        );
        // Another digest than the previous one gets no grace.
        let other = run_with(
            check,
            &format!("FROM {RELEASE}:3.12@sha256:{}\n", "2".repeat(64)),
            &[],
            |p| {
                p.dockerfile.previous_digests.insert(
                    format!("{RELEASE}:3.12"),
                    vec![PreviousDigest {
                        digest: format!("sha256:{}", "1".repeat(64)),
                        allowed_until: Date::parse("2999-12-31").unwrap(),
                    }],
                );
            },
        );
        assert!(other[0].message.contains("outdated") && other[0].grace_until.is_none());
    }

    #[test]
    fn a_teams_own_key_wins_over_the_embedded_glob_for_the_same_tag() {
        let own = format!("sha256:{}", "3".repeat(64));
        let findings = run_with(check, &format!("FROM {RELEASE}:3.12\n"), &[], |p| {
            p.dockerfile
                .digests
                .insert(format!("{RELEASE}:3.12"), own.clone());
        });
        assert!(
            findings[0].help.as_deref().unwrap().contains(&own),
            "{findings:?}"
        );
    }

    #[test]
    fn build_stages_need_no_digest_by_default() {
        let text = format!("FROM {DEV}:3.12 AS build\nFROM {RELEASE}:3.12@{DIGEST}\n");
        assert!(run(check, &text).is_empty());
        let all = run_with(check, &text, &[], |p| {
            p.dockerfile.require_digest = DigestRequirement::AllStages
        });
        assert_eq!(all.len(), 1);
        assert!(all[0].message.contains("aws-lambda-python-dev-base:3.12"));
    }

    #[test]
    fn unknown_tag_has_no_fix_but_says_how() {
        let findings = run(check, &format!("FROM {RELEASE}:9.99\n"));
        assert!(findings[0].fix.is_none());
        assert!(findings[0]
            .help
            .as_deref()
            .unwrap()
            .contains("[dockerfile.digests]"));
    }
}
