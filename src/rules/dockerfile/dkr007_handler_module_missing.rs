//! DKR007 `handler-module-missing`: the handler's module is among the files copied into the
//! image. It follows the build ([`super::image_files`]: COPY and ADD from the build context
//! through WORKDIR, ARG and ENV) and reports only a decided absence; where the build cannot be
//! followed (COPY --from, remote ADD, unresolvable values, another context) LG007 says that the
//! Lambda's code was not located, instead of guessing.

use super::code::{CodeStatus, Handler, HandlerOrigin, LambdaCode};
use super::image_files::ImageFiles;
use super::parser::{Args, Instruction};
use super::Context;
use crate::diagnostic::{Finding, Severity, Span};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "DKR007",
    name: "handler-module-missing",
    family: Family::Dockerfile,
    summary: "The handler's module is not among the files copied into the image",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("DKR007"),
    check: Check::Dockerfile(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    // A Web Adapter image runs a web server: its CMD is not a handler.
    if !ctx.kind.expects_handler() {
        return Vec::new();
    }
    let local;
    let (code, image) = match (ctx.code, ctx.files) {
        (Some(code), Some(files)) => (code, files),
        _ => {
            local = LambdaCode::resolve(
                ctx.dockerfile,
                ctx.kind,
                ctx.policy,
                ctx.build_context,
                ctx.handler().ok().map(|word| Handler {
                    text: word.text.clone(),
                    origin: HandlerOrigin::Cmd,
                }),
                "the Dockerfile's directory",
            );
            (&local.0, &local.1)
        }
    };
    // DKR006 reports a missing or malformed handler.
    let Some(handler) = &code.handler else {
        return Vec::new();
    };
    let Some((module, _function)) = handler.parts() else {
        return Vec::new();
    };
    let line_of = |span: &Span| {
        crate::diagnostic::LineIndex::new(ctx.text)
            .line_col(ctx.text, span.start)
            .line
    };
    // Point at the CMD that names the handler, else (a template sets it) at the final FROM.
    let span = match (&handler.origin, ctx.handler()) {
        (HandlerOrigin::Cmd, Ok(word)) => word.span.clone(),
        _ => ctx.dockerfile.final_stage().map_or(0..0, |stage| {
            ctx.dockerfile.instructions[stage.from].span.clone()
        }),
    };
    let dir = ctx.path.parent().unwrap_or(std::path::Path::new(""));
    let set_by = match handler.origin {
        HandlerOrigin::Cmd => String::new(),
        HandlerOrigin::Deployment { .. } => format!(", set by {},", handler.origin_text(dir)),
    };
    if handler.origin == HandlerOrigin::Cmd {
        if let Some((entrypoint, text)) = replaced_entrypoint(ctx) {
            return vec![Finding::new(
                span,
                format!("the ENTRYPOINT `{text}` (line {}) replaces the Lambda base's entrypoint: this CMD reaches the runtime as a handler only if that program hands it on, so its module is not checked", line_of(&entrypoint.span)),
            )
            .help("keep the base's entrypoint, or have yours end with `exec /lambda-entrypoint.sh \"$@\"`")
            .undecided()];
        }
    }
    // Only a decided absence is this rule's: what cannot be located is said by LG007.
    if !matches!(
        code.status,
        CodeStatus::Unlocated {
            said_by: Some("DKR007"),
            ..
        }
    ) {
        return Vec::new();
    }
    let roots = image.import_roots(&ctx.policy.policy.dockerfile.task_root);
    let task_root = roots[0].clone();
    let candidates = ImageFiles::module_candidates(&task_root, module);
    let relative = module.replace('.', "/");
    let top = relative.split('/').next().unwrap_or(&relative);
    let mut help = format!(
        "copy the module into the task root, e.g. `COPY {top} ${{LAMBDA_TASK_ROOT}}/{top}/`"
    );
    if let Some(nearest) = nearest_module(module, image, &task_root) {
        help = format!("did you mean `{nearest}`? The image has that module; or {help}");
    }
    vec![Finding::new(
        span,
        format!(
            "handler module `{module}`{set_by} is not copied into the image: neither {} nor {} exists",
            candidates[0], candidates[1]
        ),
    )
    .help(help)]
}

/// The final image's ENTRYPOINT when it replaces the Lambda entrypoint: not the base's
/// `/lambda-entrypoint.sh`, the runtime interface client or its emulator.
fn replaced_entrypoint<'a>(ctx: &'a Context<'_>) -> Option<(&'a Instruction, String)> {
    let entrypoint = ctx.final_chain().into_iter().find_map(|index| {
        let stage = &ctx.dockerfile.stages[index];
        ctx.dockerfile
            .body(stage)
            .iter()
            .rev()
            .find(|i| i.keyword == "ENTRYPOINT")
    })?;
    let text = match &entrypoint.args {
        Args::Exec(items) => items
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        Args::Shell(word) => word.text.clone(),
    };
    let lambda = ["lambda-entrypoint.sh", "awslambdaric", "aws-lambda-rie"]
        .iter()
        .any(|known| text.contains(known));
    (!lambda && !text.trim().is_empty()).then_some((entrypoint, text))
}

/// The module under the task root whose dotted name is nearest to `module`, if one is close.
fn nearest_module(module: &str, image: &ImageFiles, task_root: &str) -> Option<String> {
    let prefix = format!("{task_root}/");
    let limit = (module.len() / 3).max(2);
    image
        .files
        .iter()
        .filter_map(|file| file.strip_prefix(&prefix))
        .filter_map(|file| file.strip_suffix(".py"))
        .map(|file| file.trim_end_matches("/__init__").replace('/', "."))
        .map(|name| (edit_distance(module, &name), name))
        .filter(|(distance, _)| *distance > 0 && *distance <= limit)
        .min()
        .map(|(_, name)| name)
}

/// Levenshtein distance between two short names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current.push(
                (previous[j] + cost)
                    .min(previous[j + 1] + 1)
                    .min(current[j] + 1),
            );
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_with, DIGEST, RELEASE};
    use super::*;
    use crate::build_context::BuildContext;

    fn run(body: &str, files: &[&str]) -> Vec<Finding> {
        let text = format!("FROM {RELEASE}:3.12@{DIGEST}\n{body}\nCMD [\"app.handler.handler\"]\n");
        run_with(check, &text, files, |_| {})
    }

    /// What discovery locates of the Lambda `text` builds from a context of `files`.
    fn located(text: &str, files: &[&str]) -> (LambdaCode, ImageFiles) {
        let dockerfile = super::super::parser::parse(text).expect("parses");
        let policy = crate::policy::EffectivePolicy::compile(crate::policy::default_policy())
            .expect("policy");
        let context = BuildContext::from_files(files.iter().map(|f| f.to_string()).collect());
        let kind = super::super::kind::ImageKind::Lambda("a test".into());
        let handler = super::super::handler(&dockerfile).ok().map(|word| Handler {
            text: word.text.clone(),
            origin: HandlerOrigin::Cmd,
        });
        LambdaCode::resolve(&dockerfile, &kind, &policy, &context, handler, "the test's")
    }

    /// One decided finding, whose help suggests the module `nearest`.
    fn assert_suggests(findings: &[Finding], nearest: &str) {
        assert!(
            findings.len() == 1 && !findings[0].undecided,
            "{findings:?}"
        );
        let help = findings[0].help.as_deref().unwrap_or_default();
        assert!(
            help.contains(&format!("did you mean `{nearest}`")),
            "{findings:?}"
        );
    }

    fn not_located_because(code: &LambdaCode) -> &str {
        match &code.status {
            CodeStatus::Unlocated { why, said_by: None } => why,
            other => panic!("expected an undecided location, got {other:?}"),
        }
    }

    #[test]
    fn directory_copy_into_task_root() {
        let files = &["app/handler.py", "app/__init__.py", "tests/test_x.py"];
        assert!(run("COPY app/ ${LAMBDA_TASK_ROOT}/app/", files).is_empty());
        assert!(run("COPY app ./app", files).is_empty());
        assert!(run("COPY . .", files).is_empty());
        assert!(run("WORKDIR /var/task\nCOPY [\"app\", \"./app/\"]", files).is_empty());
    }

    #[test]
    fn copying_the_directory_contents_flattens_it() {
        // `COPY app /var/task/` copies app's contents, not app itself.
        let findings = run("COPY app /var/task/", &["app/handler.py"]);
        assert_eq!(findings.len(), 1);
        assert!(!findings[0].undecided);
        assert!(findings[0].message.contains("/var/task/app/handler.py"));
    }

    #[test]
    fn single_file_and_glob_sources() {
        assert!(run(
            "COPY app/handler.py ${LAMBDA_TASK_ROOT}/app/",
            &["app/handler.py"]
        )
        .is_empty());
        assert!(run("COPY ap* ${LAMBDA_TASK_ROOT}/app/", &["app/handler.py"]).is_empty());
        assert!(run(
            "ARG DIR=app\nCOPY $DIR/handler.py /var/task/app/handler.py",
            &["app/handler.py"]
        )
        .is_empty());
    }

    #[test]
    fn dockerignored_or_absent_module_is_reported() {
        assert_eq!(run("COPY lib/ /var/task/lib/", &["lib/x.py"]).len(), 1);
    }

    #[test]
    fn copy_from_another_stage_is_undecided() {
        let text = format!(
            "FROM {RELEASE}:3.12 AS build\nRUN build\nFROM {RELEASE}:3.12@{DIGEST}\nCOPY --from=build /out /var/task\nCMD [\"app.handler.handler\"]\n"
        );
        // Not this rule's to say: LG007 reports that the module could not be located.
        assert!(run_with(check, &text, &[], |_| {}).is_empty());
        let (code, _) = located(&text, &[]);
        assert!(
            not_located_because(&code).contains("a RUN in the stage it copies from"),
            "{code:?}"
        );
        // What that stage copies from the context is followed: a misspelt module there is an
        // error only when nothing else can put it in (no RUN).
        let copied = format!(
            "FROM {RELEASE}:3.12 AS build\nCOPY app /out/app\nFROM {RELEASE}:3.12@{DIGEST}\nCOPY --from=build /out /var/task\nCMD [\"app.handlr.handler\"]\n"
        );
        assert_eq!(
            run_with(check, &copied, &["app/handler.py"], |_| {}).len(),
            1
        );
    }

    #[test]
    fn heredoc_creates_the_module() {
        assert!(run(
            "COPY <<EOF /var/task/app/handler.py\ndef handler(e, c): ...\nEOF",
            &[]
        )
        .is_empty());
    }

    #[test]
    fn copies_from_an_image_outside_the_task_root_do_not_matter() {
        let files = &["app/handler.py"];
        let uv = "COPY --from=ghcr.io/astral-sh/uv:0.5 /uv /uvx /bin/\nCOPY app/ ${LAMBDA_TASK_ROOT}/app/";
        assert!(run(uv, files).is_empty());
        // A misspelt handler is still found, with the module it probably meant.
        let text = format!("FROM {RELEASE}:3.12@{DIGEST}\n{uv}\nCMD [\"ap.handler.handler\"]\n");
        assert_suggests(&run_with(check, &text, files, |_| {}), "app.handler");
        // Into the task root, another image's files may hold the module: not located.
        let venv = format!("FROM {RELEASE}:3.12@{DIGEST}\nCOPY --from=builder /app/.venv ${{LAMBDA_TASK_ROOT}}\nCMD [\"app.handler.handler\"]\n");
        assert!(run_with(check, &venv, &["x.py"], |_| {}).is_empty());
        not_located_because(&located(&venv, &["x.py"]).0);
        // ... unless the handler's package comes from the context (uv's documented layout):
        // then a misspelt module in it is an error, not a guess.
        let uv = format!("FROM {RELEASE}:3.12@{DIGEST}\nCOPY --from=builder ${{LAMBDA_TASK_ROOT}} ${{LAMBDA_TASK_ROOT}}\nCOPY ./app ${{LAMBDA_TASK_ROOT}}/app\nCMD [\"app.mian.handler\"]\n");
        let findings = run_with(check, &uv, &["app/__init__.py", "app/main.py"], |_| {});
        assert_suggests(&findings, "app.main");
    }

    #[test]
    fn a_source_the_context_lacks_means_another_context() {
        let body = "COPY src/quote/app ${LAMBDA_TASK_ROOT}/app";
        assert!(run(body, &["app/handler.py"]).is_empty());
        let text = format!("FROM {RELEASE}:3.12@{DIGEST}\n{body}\nCMD [\"app.handler.handler\"]\n");
        let (code, image) = located(&text, &["app/handler.py"]);
        assert!(
            not_located_because(&code).contains("in no build context tried"),
            "{code:?}"
        );
        assert_eq!(image.missing_sources.len(), 1);
    }

    #[test]
    fn an_entrypoint_that_replaces_the_lambda_one_is_said() {
        let findings = run(
            "COPY app/ /var/task/app/\nENTRYPOINT [\"python\", \"-m\", \"app.server\"]",
            &["x.py"],
        );
        assert!(findings.len() == 1 && findings[0].undecided, "{findings:?}");
        assert!(findings[0]
            .message
            .contains("replaces the Lambda base's entrypoint"));
        let ric = "COPY app/ /var/task/app/\nENTRYPOINT [\"/usr/local/bin/python\", \"-m\", \"awslambdaric\"]";
        assert!(run(ric, &["app/handler.py"]).is_empty());
    }

    #[test]
    fn add_unpacks_a_local_tar_archive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = std::fs::File::create(dir.path().join("app.tar.gz")).expect("create");
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            archive,
            flate2::Compression::default(),
        ));
        let body = b"def handler(event, context):\n    return {}\n";
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "app/handler.py", &body[..])
            .expect("append");
        builder
            .into_inner()
            .expect("gzip")
            .finish()
            .expect("finish");
        let context = BuildContext::for_dir(dir.path(), ["app.tar.gz"].into_iter());
        let policy = crate::policy::EffectivePolicy::compile(crate::policy::default_policy())
            .expect("policy");
        let kind = super::super::kind::ImageKind::Lambda("a test".into());
        let lint = |cmd: &str| {
            let text = format!("FROM {RELEASE}:3.12@{DIGEST}\nADD app.tar.gz ${{LAMBDA_TASK_ROOT}}/\nCMD [\"{cmd}\"]\n");
            let dockerfile = super::super::parser::parse(&text).expect("parses");
            check(&Context {
                path: std::path::Path::new("Dockerfile"),
                text: &text,
                dockerfile: &dockerfile,
                policy: &policy,
                build_context: &context,
                kind: &kind,
                code: None,
                files: None,
            })
        };
        assert!(lint("app.handler.handler").is_empty());
        let missing = lint("app.main.handler");
        assert!(missing.len() == 1 && !missing[0].undecided, "{missing:?}");
    }
}
