//! DKR007 `handler-module-missing`: the handler's module is among the files copied into the
//! image. Best effort: it follows COPY and ADD from the build context through WORKDIR, ARG and
//! ENV; where it cannot follow (COPY --from, remote ADD, unresolvable values) it says it could
//! not decide instead of guessing.

use std::collections::HashSet;

use super::expand::{expand, Scope};
use super::parser::{declare, Args, Base, Instruction};
use super::Context;
use crate::diagnostic::{Finding, Severity, Span};
use crate::policy::path_glob;
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
    let Ok(handler) = ctx.handler() else {
        // DKR006 reports a missing or malformed handler.
        return Vec::new();
    };
    let Some((module, _function)) = handler.text.rsplit_once('.') else {
        return Vec::new();
    };
    let line_of = |span: &Span| {
        crate::diagnostic::LineIndex::new(ctx.text)
            .line_col(ctx.text, span.start)
            .line
    };
    if let Some((entrypoint, text)) = replaced_entrypoint(ctx) {
        return vec![Finding::new(
            handler.span.clone(),
            format!("the ENTRYPOINT `{text}` (line {}) replaces the Lambda base's entrypoint: this CMD reaches the runtime as a handler only if that program hands it on, so its module is not checked", line_of(&entrypoint.span)),
        )
        .help("keep the base's entrypoint, or have yours end with `exec /lambda-entrypoint.sh \"$@\"`")
        .undecided()];
    }
    let task_root = ctx.policy.policy.dockerfile.task_root.trim_end_matches('/');
    let relative = module.replace('.', "/");
    let candidates = [
        format!("{task_root}/{relative}.py"),
        format!("{task_root}/{relative}/__init__.py"),
    ];
    let image = ImageFiles::simulate(ctx);
    if candidates.iter().any(|c| image.files.contains(c)) {
        return Vec::new();
    }
    if let Some((span, reason)) = image.unknown.first() {
        return vec![Finding::new(
            handler.span.clone(),
            format!("could not resolve whether handler module `{module}` is in the image: {reason} (line {})", line_of(span)),
        )
        .undecided()];
    }
    if let Some((span, source)) = image.missing_sources.first() {
        let context = ctx
            .build_context
            .root()
            .map(|root| format!(" (`{}`)", root.display()))
            .unwrap_or_default();
        return vec![Finding::new(
            handler.span.clone(),
            format!("could not resolve whether handler module `{module}` is in the image: the COPY source `{source}` (line {}) is not in the build context assumed here, the Dockerfile's directory{context}, so the image is probably built from another context", line_of(span)),
        )
        .help("if a SAM template builds it, its `Metadata.DockerContext` is read; otherwise check the `docker build` context")
        .undecided()];
    }
    let top = relative.split('/').next().unwrap_or(&relative);
    let mut help = format!(
        "copy the module into the task root, e.g. `COPY {top} ${{LAMBDA_TASK_ROOT}}/{top}/`"
    );
    if let Some(nearest) = nearest_module(module, &image, task_root) {
        help = format!("did you mean `{nearest}`? The image has that module; or {help}");
    }
    vec![Finding::new(
        handler.span.clone(),
        format!(
            "handler module `{module}` is not copied into the image: neither {} nor {} exists",
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

/// The files the final image holds, as far as the Dockerfile shows.
struct ImageFiles {
    files: HashSet<String>,
    dirs: HashSet<String>,
    /// Where files may come from that cannot be followed, and why.
    unknown: Vec<(Span, String)>,
    /// COPY sources the build context does not have: the context is probably another one.
    missing_sources: Vec<(Span, String)>,
}

impl ImageFiles {
    fn simulate(ctx: &Context<'_>) -> ImageFiles {
        let task_root = ctx
            .policy
            .policy
            .dockerfile
            .task_root
            .trim_end_matches('/')
            .to_string();
        let mut image = ImageFiles {
            files: HashSet::new(),
            dirs: HashSet::from(["/".to_string(), task_root.clone()]),
            unknown: Vec::new(),
            missing_sources: Vec::new(),
        };
        let mut chain = ctx.final_chain();
        chain.reverse();
        let Some(&root) = chain.first() else {
            return image;
        };
        let root_stage = &ctx.dockerfile.stages[root];
        let from_release = match &root_stage.base {
            Base::Image(reference) => ctx.is_approved(reference, true),
            _ => false,
        };
        if !from_release {
            // Another base may hold files of its own: nothing can be ruled out.
            image.unknown.push((
                root_stage.image.span.clone(),
                format!(
                    "the final image builds on `{}`, whose files are unknown",
                    root_stage.image.text
                ),
            ));
        }
        let no_env = Default::default();
        let mut scope = Scope::stage(
            &ctx.dockerfile.global_args,
            if from_release {
                &ctx.policy.base_env
            } else {
                &no_env
            },
        );
        let mut workdir = if from_release {
            task_root
        } else {
            "/".to_string()
        };
        for index in chain {
            for instruction in ctx.dockerfile.body(&ctx.dockerfile.stages[index]) {
                match instruction.keyword.as_str() {
                    "ARG" | "ENV" => declare(instruction, &mut scope),
                    "WORKDIR" => match instruction.words.first().map(|w| expand(&w.text, &scope)) {
                        Some(Ok(dir)) => {
                            workdir = join(&workdir, &dir);
                            image.dirs.insert(workdir.clone());
                        }
                        _ => image.unknown.push((
                            instruction.span.clone(),
                            "WORKDIR cannot be resolved statically".into(),
                        )),
                    },
                    "COPY" | "ADD" => image.copy(ctx, instruction, &scope, &workdir),
                    _ => {}
                }
            }
        }
        image
    }

    fn copy(&mut self, ctx: &Context<'_>, instruction: &Instruction, scope: &Scope, workdir: &str) {
        let unknown = |image: &mut ImageFiles, reason: String| {
            image.unknown.push((instruction.span.clone(), reason));
        };
        if let Some(from) = instruction.flag("from") {
            // Files from another stage or image are unknown, but they matter only where they
            // can land on the handler's path: `COPY --from=uv /uv /bin/` cannot.
            let task_root = ctx.policy.policy.dockerfile.task_root.trim_end_matches('/');
            let dest = copy_destination(instruction)
                .and_then(|d| expand(d, scope).ok())
                .map(|d| join(workdir, &d));
            let reaches_task_root = dest.as_ref().is_none_or(|dest| {
                dest == "/"
                    || task_root.starts_with(&format!("{dest}/"))
                    || dest == task_root
                    || dest.starts_with(&format!("{task_root}/"))
            });
            if !reaches_task_root {
                return;
            }
            let stage = from.value.as_ref().map_or("", |v| v.text.as_str());
            return unknown(
                self,
                format!(
                    "{} --from={stage} copies files of another stage or image",
                    instruction.keyword
                ),
            );
        }
        if instruction.flag("parents").is_some() {
            return unknown(
                self,
                format!("{} --parents is not followed", instruction.keyword),
            );
        }
        let raw: Vec<&str> = match &instruction.args {
            Args::Exec(items) => items.iter().map(|w| w.text.as_str()).collect(),
            Args::Shell(_) => instruction.words.iter().map(|w| w.text.as_str()).collect(),
        };
        let Some((dest_raw, sources)) = raw.split_last() else {
            return;
        };
        let Ok(dest) = expand(dest_raw, scope) else {
            return unknown(
                self,
                format!("the destination `{dest_raw}` cannot be resolved statically"),
            );
        };
        let dest_is_dir = dest.ends_with('/') || sources.len() > 1;
        let dest = join(workdir, &dest);
        let into_dir = |image: &ImageFiles, dir_expected: bool| {
            dir_expected || dest_is_dir || image.dirs.contains(&dest)
        };
        for source in sources {
            if let Some(delimiter) = source.strip_prefix("<<") {
                // A heredoc becomes a file named after its delimiter, or the destination itself.
                let name = delimiter.trim_start_matches('-').trim_matches(['"', '\'']);
                let target = if into_dir(self, false) {
                    format!("{dest}/{name}")
                } else {
                    dest.clone()
                };
                self.add(target);
                continue;
            }
            if instruction.keyword == "ADD"
                && (source.contains("://") || source.starts_with("git@"))
            {
                unknown(self, format!("ADD {source} fetches remote content"));
                continue;
            }
            let Ok(source) = expand(source, scope) else {
                unknown(
                    self,
                    format!("the source `{source}` cannot be resolved statically"),
                );
                continue;
            };
            let source = normalize_source(&source);
            if source.contains(['*', '?', '[']) {
                let Ok(glob) = path_glob(&source) else {
                    unknown(self, format!("the source pattern `{source}` is not valid"));
                    continue;
                };
                let matcher = glob.compile_matcher();
                let mut matched = Vec::new();
                for file in ctx.build_context.files() {
                    if matcher.is_match(file) {
                        matched.push(format!("{dest}/{}", basename(file)));
                    } else if let Some(dir) = ancestors(file).find(|dir| matcher.is_match(dir)) {
                        matched.push(format!("{dest}/{}", &file[dir.len() + 1..]));
                    }
                }
                matched.into_iter().for_each(|f| self.add(f));
            } else if instruction.keyword == "ADD"
                && ctx.build_context.is_file(&source)
                && is_tar_archive(&source)
            {
                // ADD unpacks a local tar archive into the destination directory.
                match archive_members(ctx, &source) {
                    Ok(members) => members
                        .into_iter()
                        .for_each(|member| self.add(format!("{dest}/{member}"))),
                    Err(why) => unknown(self, format!("ADD {source}: {why}")),
                }
            } else if ctx.build_context.is_file(&source) {
                let target = if into_dir(self, false) {
                    format!("{dest}/{}", basename(&source))
                } else {
                    dest.clone()
                };
                self.add(target);
            } else {
                let prefix_len = if source.is_empty() {
                    0
                } else {
                    source.len() + 1
                };
                let files: Vec<String> = ctx
                    .build_context
                    .under(&source)
                    .map(|file| format!("{dest}/{}", &file[prefix_len..]))
                    .collect();
                if files.is_empty() && !source.is_empty() {
                    self.missing_sources
                        .push((instruction.span.clone(), source.clone()));
                }
                files.into_iter().for_each(|f| self.add(f));
            }
        }
    }

    fn add(&mut self, file: String) {
        for dir in ancestors(&file) {
            self.dirs.insert(if dir.is_empty() {
                "/".into()
            } else {
                dir.to_string()
            });
        }
        self.files.insert(file);
    }
}

/// The destination word of a COPY or ADD.
fn copy_destination(instruction: &Instruction) -> Option<&str> {
    match &instruction.args {
        Args::Exec(items) => items.last().map(|w| w.text.as_str()),
        Args::Shell(_) => instruction.words.last().map(|w| w.text.as_str()),
    }
}

/// Whether ADD unpacks a local file: a tar archive, plain or compressed, by its name.
fn is_tar_archive(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    [".tar", ".tar.gz", ".tgz"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// Largest archive whose member names are read.
const MAX_ARCHIVE: u64 = 256 * 1024 * 1024;

/// The regular files a local tar archive holds (relative paths), read from the build context.
fn archive_members(ctx: &Context<'_>, source: &str) -> Result<Vec<String>, String> {
    let root = ctx
        .build_context
        .root()
        .ok_or_else(|| "the archive is not on disk".to_string())?;
    let path = root.join(source);
    let file = std::fs::File::open(&path).map_err(|e| format!("cannot read the archive: {e}"))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > MAX_ARCHIVE {
        return Err(format!("the archive is {size} bytes, too large to list"));
    }
    // One open: the gzip magic is peeked from the buffer the archive is then read through.
    let mut buffered = std::io::BufReader::new(file);
    let gzip = std::io::BufRead::fill_buf(&mut buffered)
        .map_err(|e| format!("cannot read the archive: {e}"))?
        .starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn std::io::Read> = if gzip {
        Box::new(flate2::read::GzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    let mut archive = tar::Archive::new(reader);
    let mut members = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| format!("not a readable tar archive: {e}"))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("not a readable tar archive: {e}"))?;
        if entry.header().entry_type().is_file() {
            let name = entry
                .path()
                .map_err(|e| format!("a member name is not valid: {e}"))?
                .to_string_lossy()
                .replace('\\', "/");
            members.push(normalize_source(&name));
        }
    }
    Ok(members)
}

/// `./app/` -> `app`, `.` -> `` (the context root).
fn normalize_source(source: &str) -> String {
    let mut parts = Vec::new();
    for part in source.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

/// `dest` made absolute against `workdir`, with `.` and `..` resolved, no trailing `/`.
fn join(workdir: &str, dest: &str) -> String {
    let combined = if dest.starts_with('/') {
        dest.to_string()
    } else {
        format!("{workdir}/{dest}")
    };
    format!("/{}", normalize_source(&combined))
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Parent directories of a `/`-separated path, nearest first.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut current = path;
    std::iter::from_fn(move || {
        let cut = current.rfind('/')?;
        current = &current[..cut];
        Some(current)
    })
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
        let findings = run_with(check, &text, &[], |_| {});
        assert_eq!(findings.len(), 1);
        assert!(findings[0].undecided);
        assert!(
            findings[0].message.contains("could not resolve"),
            "{}",
            findings[0].message
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
        let findings = run_with(check, &text, files, |_| {});
        assert!(
            findings.len() == 1 && !findings[0].undecided,
            "{findings:?}"
        );
        assert!(
            findings[0]
                .help
                .as_deref()
                .unwrap_or_default()
                .contains("did you mean `app.handler`"),
            "{findings:?}"
        );
        // Into the task root, another image's files may hold the module: undecided.
        let venv = run(
            "COPY --from=builder /app/.venv ${LAMBDA_TASK_ROOT}",
            &["x.py"],
        );
        assert!(venv.len() == 1 && venv[0].undecided, "{venv:?}");
    }

    #[test]
    fn a_source_the_context_lacks_means_another_context() {
        let findings = run(
            "COPY src/quote/app ${LAMBDA_TASK_ROOT}/app",
            &["app/handler.py"],
        );
        assert!(findings.len() == 1 && findings[0].undecided, "{findings:?}");
        assert!(
            findings[0].message.contains("another context"),
            "{findings:?}"
        );
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
            })
        };
        assert!(lint("app.handler.handler").is_empty());
        let missing = lint("app.main.handler");
        assert!(missing.len() == 1 && !missing[0].undecided, "{missing:?}");
    }
}
