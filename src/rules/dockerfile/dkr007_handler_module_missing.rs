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
        let line = crate::diagnostic::LineIndex::new(ctx.text)
            .line_col(ctx.text, span.start)
            .line;
        return vec![Finding::new(
            handler.span.clone(),
            format!("could not resolve whether handler module `{module}` is in the image: {reason} (line {line})"),
        )
        .undecided()];
    }
    vec![Finding::new(
        handler.span.clone(),
        format!(
            "handler module `{module}` is not copied into the image: neither {} nor {} exists",
            candidates[0], candidates[1]
        ),
    )
    .help(format!(
        "copy the module into the task root, e.g. `COPY {} ${{LAMBDA_TASK_ROOT}}/{}/`",
        relative.split('/').next().unwrap_or(&relative),
        relative.split('/').next().unwrap_or(&relative)
    ))]
}

/// The files the final image holds, as far as the Dockerfile shows.
struct ImageFiles {
    files: HashSet<String>,
    dirs: HashSet<String>,
    /// Where files may come from that cannot be followed, and why.
    unknown: Vec<(Span, String)>,
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
}
