//! The files the final image holds, as far as the Dockerfile shows: the build as Docker performs
//! it (WORKDIR, ARG and ENV, COPY and ADD from the build context, through the stages the final
//! image is made of). Each file copied from the context remembers where it came from, so the
//! gate reads the file Lambda runs, never a guessed neighbour. Where the build cannot be followed
//! (COPY --from another image, what a RUN writes, remote ADD, values known only at build time)
//! it says so instead of guessing. `COPY --from=<stage>` follows that stage's own COPY.

use std::collections::{HashMap, HashSet};

use super::expand::{expand, Scope};
use super::image::ImageRef;
use super::parser::{declare, Args, Base, Dockerfile, Instruction};
use crate::build_context::BuildContext;
use crate::diagnostic::Span;
use crate::policy::{path_glob, EffectivePolicy};

/// What the simulation needs: the Dockerfile, the policy (task root, approved bases and what
/// they define) and the build context.
pub struct Build<'a> {
    pub dockerfile: &'a Dockerfile,
    pub policy: &'a EffectivePolicy,
    pub context: &'a BuildContext,
}

/// Whether a base is one whose files are known: the team's approved release base, or AWS's own
/// Lambda base (its task root is empty and `LAMBDA_TASK_ROOT` is `/var/task`).
pub fn known_base(reference: &ImageRef, policy: &EffectivePolicy) -> bool {
    let repository = reference.repository();
    policy.dockerfile.release_bases.is_match(&repository)
        || super::kind::is_aws_lambda_runtime(&repository)
}

/// The files the final image holds, as far as the Dockerfile shows.
#[derive(Debug)]
pub struct ImageFiles {
    /// Absolute paths in the image.
    pub files: HashSet<String>,
    /// The directories, while the build is simulated (empty after).
    dirs: HashSet<String>,
    /// Where files may come from that cannot be followed, and why, with the directory they land
    /// in when it is known.
    pub unknown: Vec<Unknown>,
    /// COPY sources the build context does not have: the context is probably another one.
    pub missing_sources: Vec<(Span, String)>,
    /// For each image file copied from the build context: where from, and by what.
    pub sources: HashMap<String, Copied>,
    /// Whether the final image builds on a base whose files are known ([`known_base`]).
    pub known_base: bool,
    /// The final WORKDIR: where the runtime interface client imports the handler from.
    pub workdir: String,
}

/// An image file copied from the build context (one map, not two keyed alike: a large run holds
/// one of these per copied file of every Lambda).
#[derive(Debug, Clone)]
pub struct Copied {
    /// The context file it came from.
    pub source: String,
    /// The COPY or ADD that copied it.
    pub by: Span,
}

/// Files the simulation cannot follow.
#[derive(Debug, Clone)]
pub struct Unknown {
    /// The instruction that brings them.
    pub span: Span,
    pub reason: String,
    /// The image directory they land in, when it is known (`COPY --from=builder /out /var/task`).
    pub into: Option<String>,
}

/// How many `COPY --from=<stage>` are followed into each other: a build stage copied from a
/// stage copied from another is as deep as real Dockerfiles go.
const MAX_STAGE_DEPTH: usize = 4;

impl ImageFiles {
    pub fn simulate(build: &Build<'_>) -> ImageFiles {
        let mut files = match build.dockerfile.stages.len().checked_sub(1) {
            Some(last) => Self::simulate_stage(build, last, 0),
            None => Self::simulate_stage(build, 0, 0),
        };
        // Kept until the unit is checked, once per Lambda: no room to grow, and no directories
        // (only the simulation asks whether a destination is one).
        files.files.shrink_to_fit();
        files.dirs = HashSet::new();
        files.sources.shrink_to_fit();
        files
    }

    /// The files of one stage's image (`stage` and the stages it builds on); `depth` counts the
    /// `COPY --from` that led here.
    fn simulate_stage(build: &Build<'_>, stage: usize, depth: usize) -> ImageFiles {
        let task_root = build
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
            sources: HashMap::new(),
            known_base: false,
            workdir: "/".into(),
        };
        let mut chain = super::stage_chain(build.dockerfile, stage);
        chain.reverse();
        let Some(&root) = chain.first() else {
            return image;
        };
        let root_stage = &build.dockerfile.stages[root];
        let from_release = match &root_stage.base {
            Base::Image(reference) => known_base(reference, build.policy),
            _ => false,
        };
        if !from_release {
            // Another base may hold files of its own: nothing can be ruled out.
            let what = if depth == 0 {
                "the final image"
            } else {
                "the stage"
            };
            image.unknown.push(Unknown {
                span: root_stage.image.span.clone(),
                reason: format!(
                    "{what} builds on `{}`, whose files are unknown",
                    root_stage.image.text
                ),
                into: None,
            });
        }
        // What a Lambda base defines (`LAMBDA_TASK_ROOT`) is assumed of an unknown base too, so
        // that a COPY into `${LAMBDA_TASK_ROOT}` is followed to the file it copies; the unknown
        // base stays recorded above, so nothing is ruled out because of it.
        let mut scope = Scope::stage(
            &build.dockerfile.global_args,
            &build.policy.dockerfile.base_env,
        );
        image.known_base = from_release;
        let mut workdir = if from_release {
            task_root
        } else {
            "/".to_string()
        };
        for index in chain {
            for instruction in build.dockerfile.body(&build.dockerfile.stages[index]) {
                match instruction.keyword.as_str() {
                    "ARG" | "ENV" => declare(instruction, &mut scope),
                    "WORKDIR" => match instruction.words.first().map(|w| expand(&w.text, &scope)) {
                        Some(Ok(dir)) => {
                            workdir = join(&workdir, &dir);
                            image.dirs.insert(workdir.clone());
                        }
                        _ => image.unknown.push(Unknown {
                            span: instruction.span.clone(),
                            reason: "WORKDIR cannot be resolved statically".into(),
                            into: None,
                        }),
                    },
                    "COPY" | "ADD" => image.copy(build, instruction, &scope, &workdir, depth),
                    _ => {}
                }
            }
        }
        image.workdir = workdir;
        image
    }

    fn copy(
        &mut self,
        build: &Build<'_>,
        instruction: &Instruction,
        scope: &Scope,
        workdir: &str,
        depth: usize,
    ) {
        let unknown = |image: &mut ImageFiles, reason: String| {
            image.unknown.push(Unknown {
                span: instruction.span.clone(),
                reason,
                into: None,
            });
        };
        if let Some(from) = instruction.flag("from") {
            let earlier = from.value.as_ref().and_then(|value| {
                let name = expand(&value.text, scope).ok()?;
                build
                    .dockerfile
                    .stage_by_name(&name)
                    .or_else(|| name.parse::<usize>().ok())
            });
            if let Some(earlier) = earlier.filter(|_| depth < MAX_STAGE_DEPTH) {
                return self.copy_from_stage(build, instruction, scope, workdir, earlier, depth);
            }
            // Files from another stage or image are unknown, but they matter only where they
            // can land on the handler's path: `COPY --from=uv /uv /bin/` cannot.
            let task_root = build
                .policy
                .policy
                .dockerfile
                .task_root
                .trim_end_matches('/');
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
            self.unknown.push(Unknown {
                span: instruction.span.clone(),
                reason: format!(
                    "{} --from={stage} copies files of another stage or image",
                    instruction.keyword
                ),
                into: dest,
            });
            return;
        }
        if instruction.flag("parents").is_some() {
            return unknown(
                self,
                format!("{} --parents is not followed", instruction.keyword),
            );
        }
        let Targets {
            sources,
            dest,
            dest_is_dir,
        } = match Targets::of(instruction, scope, workdir) {
            None => return,
            Some(Err(why)) => return unknown(self, why),
            Some(Ok(targets)) => targets,
        };
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
                for file in build.context.files() {
                    if matcher.is_match(file) {
                        matched.push((format!("{dest}/{}", basename(file)), file));
                    } else if let Some(dir) = ancestors(file).find(|dir| matcher.is_match(dir)) {
                        matched.push((format!("{dest}/{}", &file[dir.len() + 1..]), file));
                    }
                }
                // Docker fails the build when a pattern matches nothing: another context.
                if matched.is_empty() {
                    self.missing_sources
                        .push((instruction.span.clone(), source.clone()));
                }
                for (target, file) in matched {
                    self.copied(target, file, &instruction.span);
                }
            } else if instruction.keyword == "ADD"
                && build.context.is_file(&source)
                && is_tar_archive(&source)
            {
                // ADD unpacks a local tar archive into the destination directory.
                match archive_members(build.context, &source) {
                    Ok(members) => members
                        .into_iter()
                        .for_each(|member| self.add(format!("{dest}/{member}"))),
                    Err(why) => unknown(self, format!("ADD {source}: {why}")),
                }
            } else if build.context.is_file(&source) {
                let target = if into_dir(self, false) {
                    format!("{dest}/{}", basename(&source))
                } else {
                    dest.clone()
                };
                self.copied(target, &source, &instruction.span);
            } else {
                let prefix_len = if source.is_empty() {
                    0
                } else {
                    source.len() + 1
                };
                let files: Vec<(String, &String)> = build
                    .context
                    .under(&source)
                    .map(|file| (format!("{dest}/{}", &file[prefix_len..]), file))
                    .collect();
                if files.is_empty() && !source.is_empty() {
                    self.missing_sources
                        .push((instruction.span.clone(), source.clone()));
                }
                for (target, file) in files {
                    self.copied(target, file, &instruction.span);
                }
            }
        }
    }

    /// `COPY --from=<stage>`: the files that stage's image holds under each source, with the
    /// context files they came from (AWS's pattern for other bases: the code is copied into a
    /// build stage beside `awslambdaric`, then the whole directory into the final stage). What
    /// that stage cannot account for (its base's files, a COPY it cannot follow) stays unknown,
    /// now landing in the destination.
    fn copy_from_stage(
        &mut self,
        build: &Build<'_>,
        instruction: &Instruction,
        scope: &Scope,
        workdir: &str,
        stage: usize,
        depth: usize,
    ) {
        let from = ImageFiles::simulate_stage(build, stage, depth + 1);
        let first_run = super::stage_chain(build.dockerfile, stage)
            .into_iter()
            .flat_map(|index| build.dockerfile.body(&build.dockerfile.stages[index]))
            .find(|instruction| instruction.keyword == "RUN");
        let unknown = |image: &mut ImageFiles, reason: String, into: Option<String>| {
            image.unknown.push(Unknown {
                span: instruction.span.clone(),
                reason,
                into,
            });
        };
        let Targets {
            sources,
            dest,
            dest_is_dir,
        } = match Targets::of(instruction, scope, workdir) {
            None => return,
            Some(Err(why)) => return unknown(self, why, None),
            Some(Ok(targets)) => targets,
        };
        self.missing_sources
            .extend(from.missing_sources.iter().cloned());
        for source in sources {
            let Ok(source) = expand(source, scope) else {
                unknown(
                    self,
                    format!("the source `{source}` cannot be resolved statically"),
                    Some(dest.clone()),
                );
                continue;
            };
            // A source in another stage is an absolute path of its image.
            let source = join("/", &source);
            if source.contains(['*', '?', '[']) {
                unknown(
                    self,
                    format!("the pattern `{source}` over another stage's files is not followed"),
                    Some(dest.clone()),
                );
                continue;
            }
            let as_dir = format!("{}/", source.trim_end_matches('/'));
            let mut copied: Vec<(String, &String)> = from
                .files
                .iter()
                .filter_map(|file| {
                    if *file == source {
                        let target = if dest_is_dir || self.dirs.contains(&dest) {
                            format!("{dest}/{}", basename(file))
                        } else {
                            dest.clone()
                        };
                        Some((target, file))
                    } else {
                        let rest = file.strip_prefix(&as_dir)?;
                        Some((format!("{}/{rest}", dest.trim_end_matches('/')), file))
                    }
                })
                .collect();
            copied.sort();
            for (target, file) in copied {
                match from.sources.get(file) {
                    Some(copied) => self.copied(target, &copied.source, &copied.by),
                    None => self.add(target),
                }
            }
            // What the stage holds there that it cannot account for: a RUN may write anything
            // (`pip install --target`), and so may what the stage itself cannot follow.
            if let Some(run) = first_run {
                self.unknown.push(Unknown {
                    span: run.span.clone(),
                    reason: "a RUN in the stage it copies from may create files there".into(),
                    into: Some(dest.clone()),
                });
            }
            for what in &from.unknown {
                let overlaps = what.into.as_ref().is_none_or(|into| {
                    into == &source
                        || into.starts_with(&as_dir)
                        || as_dir.starts_with(&format!("{into}/"))
                });
                if overlaps {
                    unknown(
                        self,
                        format!("{} (in the stage it copies from)", what.reason),
                        Some(dest.clone()),
                    );
                }
            }
        }
    }

    /// A file copied from the build context: later copies to the same path replace it.
    fn copied(&mut self, target: String, source: &str, instruction: &Span) {
        self.add(target.clone());
        self.sources.insert(
            target,
            Copied {
                source: source.to_string(),
                by: instruction.clone(),
            },
        );
    }

    /// A file in the image; what it came from is unknown unless [`Self::copied`] says.
    fn add(&mut self, file: String) {
        self.sources.remove(&file);
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

/// A COPY or ADD's sources, and its destination resolved against WORKDIR, with whether it is a
/// directory (a trailing `/`, or several sources).
struct Targets<'a> {
    sources: Vec<&'a str>,
    dest: String,
    dest_is_dir: bool,
}

impl<'a> Targets<'a> {
    /// `None` for an instruction without arguments; why, when the destination cannot be
    /// resolved statically.
    fn of(
        instruction: &'a Instruction,
        scope: &Scope,
        workdir: &str,
    ) -> Option<Result<Self, String>> {
        let mut words: Vec<&str> = match &instruction.args {
            Args::Exec(items) => items.iter().map(|w| w.text.as_str()).collect(),
            Args::Shell(_) => instruction.words.iter().map(|w| w.text.as_str()).collect(),
        };
        let dest_raw = words.pop()?;
        let Ok(dest) = expand(dest_raw, scope) else {
            return Some(Err(format!(
                "the destination `{dest_raw}` cannot be resolved statically"
            )));
        };
        Some(Ok(Targets {
            dest_is_dir: dest.ends_with('/') || words.len() > 1,
            dest: join(workdir, &dest),
            sources: words,
        }))
    }
}

/// Where a module of the handler is in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleFile {
    /// Copied from the build context: the image path and the context file.
    FromContext { image: String, source: String },
    /// In the image, but not from a context file (a heredoc, a member of an archive).
    Generated { image: String },
    /// Not among the files the Dockerfile puts into the image.
    Absent,
}

impl ImageFiles {
    /// The image paths a dotted module may be at under the task root: `a/b.py`, `a/b/__init__.py`.
    pub fn module_candidates(task_root: &str, module: &str) -> [String; 2] {
        let relative = module.replace('.', "/");
        let root = task_root.trim_end_matches('/');
        [
            format!("{root}/{relative}.py"),
            format!("{root}/{relative}/__init__.py"),
        ]
    }

    /// The directories the runtime imports the handler from, first the one it is looked for in:
    /// AWS's Lambda bases import from the task root; the runtime interface client on another
    /// base imports from the working directory it starts in (else the task root, which a
    /// Lambda base it derives from defines).
    pub fn import_roots(&self, task_root: &str) -> Vec<String> {
        let task_root = task_root.trim_end_matches('/').to_string();
        if self.known_base || self.workdir == task_root {
            vec![task_root]
        } else {
            vec![self.workdir.clone(), task_root]
        }
    }

    /// Where the dotted `module` is in the image.
    pub fn module_file(&self, task_root: &str, module: &str) -> ModuleFile {
        for candidate in Self::module_candidates(task_root, module) {
            if self.files.contains(&candidate) {
                return match self.sources.get(&candidate) {
                    Some(copied) => ModuleFile::FromContext {
                        image: candidate,
                        source: copied.source.clone(),
                    },
                    None => ModuleFile::Generated { image: candidate },
                };
            }
        }
        ModuleFile::Absent
    }

    /// Whether the top-level package of `module` (`app` of `app.main`) is a directory the build
    /// context supplies: then the module belongs to the project's own code, and files other
    /// stages copy in (installed dependencies) do not decide whether it exists.
    pub fn package_from_context(&self, task_root: &str, module: &str) -> bool {
        let Some((top, _)) = module.split_once('.') else {
            return false;
        };
        let prefix = format!("{}/{top}/", task_root.trim_end_matches('/'));
        self.sources.keys().any(|image| image.starts_with(&prefix))
    }

    /// The Python files under the task root that came from the build context: (image path,
    /// context file).
    pub fn python_sources<'a>(
        &'a self,
        task_root: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let prefix = format!("{}/", task_root.trim_end_matches('/'));
        self.sources
            .iter()
            .filter(move |(image, _)| image.starts_with(&prefix) && image.ends_with(".py"))
            .map(|(image, copied)| (image.as_str(), copied.source.as_str()))
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
fn archive_members(context: &BuildContext, source: &str) -> Result<Vec<String>, String> {
    let root = context
        .root()
        .ok_or_else(|| "the archive is not on disk".to_string())?;
    let path = root.join(source);
    let file = crate::fsio::open(&path).map_err(|e| format!("cannot read the archive: {e}"))?;
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
    use super::*;

    fn simulate(dockerfile: &str, files: &[&str]) -> ImageFiles {
        let dockerfile = super::super::parser::parse(dockerfile).expect("parses");
        let policy = crate::policy::EffectivePolicy::compile(crate::policy::default_policy())
            .expect("policy compiles");
        let context = BuildContext::from_files(files.iter().map(|f| f.to_string()).collect());
        ImageFiles::simulate(&Build {
            dockerfile: &dockerfile,
            policy: &policy,
            context: &context,
        })
    }

    #[test]
    fn a_directory_copied_from_a_build_stage_brings_the_context_files_it_holds() {
        let image = simulate(
            "ARG FUNCTION_DIR=/function\nFROM python:3.12 AS build\nARG FUNCTION_DIR\nCOPY app/ ${FUNCTION_DIR}\nRUN pip install --target ${FUNCTION_DIR} awslambdaric\nFROM python:3.12-slim\nARG FUNCTION_DIR\nWORKDIR ${FUNCTION_DIR}\nCOPY --from=build ${FUNCTION_DIR} ${FUNCTION_DIR}\n",
            &["app/lambda_function.py", "app/lib/util.py", "README.md"],
        );
        assert_eq!(
            image
                .sources
                .get("/function/lambda_function.py")
                .map(|copied| copied.source.as_str()),
            Some("app/lambda_function.py")
        );
        assert_eq!(
            image
                .sources
                .get("/function/lib/util.py")
                .map(|copied| copied.source.as_str()),
            Some("app/lib/util.py")
        );
        assert!(!image.files.contains("/function/README.md"));
        // The stage's RUN may write there too (`pip install --target`): not ruled out.
        assert!(image
            .unknown
            .iter()
            .any(|u| u.into.as_deref() == Some("/function") && u.reason.contains("RUN")));
    }

    #[test]
    fn a_stage_by_index_a_single_file_and_another_image() {
        let image = simulate(
            "FROM python:3.12 AS build\nCOPY handler.py /src/handler.py\nFROM python:3.12-slim\nCOPY --from=0 /src/handler.py /var/task/\nCOPY --from=ghcr.io/astral-sh/uv:0.5 /uv /bin/uv\n",
            &["handler.py"],
        );
        assert_eq!(
            image
                .sources
                .get("/var/task/handler.py")
                .map(|copied| copied.source.as_str()),
            Some("handler.py")
        );
        // Another image's files are not followed, and `/bin/uv` cannot land on the handler's
        // path: nothing unknown is recorded for it.
        assert!(!image.files.contains("/bin/uv"));
        assert!(
            !image.unknown.iter().any(|u| u.reason.contains("astral-sh")),
            "{:?}",
            image.unknown
        );
    }
}
