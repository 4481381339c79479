//! `docker build` command lines in the files that build a repository's images: Makefiles,
//! Jenkinsfiles and Jenkins libraries, CI workflows (GitHub, GitLab, CodeBuild, Azure,
//! Bitbucket, CircleCI, Cloud Build), shell scripts, `package.json` scripts, Terraform
//! `local-exec`. `-f docker/Dockerfile .` names the Dockerfile and the context Docker builds it
//! from, which the COPY sources are relative to.
//!
//! A command is read only as far as it can be decided: a Dockerfile or context that depends on a
//! variable the file sets at run time is skipped, and so is a command whose working directory
//! is ambiguous (a script that may run from its own directory or from the repository root,
//! where both would name an existing Dockerfile). Paths are resolved against the directory the
//! file's runner starts in: a Makefile's own directory, a CI system's checkout root.

use std::path::{Path, PathBuf};

use super::declared::{normalize, DeclaredBuild, Declarer};

/// Where a file's commands run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runner {
    /// `make`, `just`, `task`, `npm run`, Terraform: in the file's directory.
    FileDirectory,
    /// A CI system or Jenkins: in the checkout's root.
    CheckoutRoot,
    /// A script: wherever it is started from.
    Either,
}

/// How a file's commands run, by its path; `None` for a file that holds no build commands.
fn runner(path: &Path) -> Option<Runner> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    let parent = path
        .parent()
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    let yaml = lower.ends_with(".yml") || lower.ends_with(".yaml");
    if lower.starts_with("jenkinsfile")
        || lower.ends_with(".groovy")
        || lower.ends_with(".jenkinsfile")
        || matches!(
            lower.as_str(),
            ".gitlab-ci.yml"
                | "azure-pipelines.yml"
                | "bitbucket-pipelines.yml"
                | "cloudbuild.yaml"
                | "cloudbuild.yml"
        )
        || (lower.starts_with("buildspec") && yaml)
        || (yaml && (parent.ends_with(".github/workflows") || parent.ends_with(".circleci")))
    {
        return Some(Runner::CheckoutRoot);
    }
    if matches!(
        lower.as_str(),
        "makefile" | "gnumakefile" | "justfile" | "taskfile.yml" | "taskfile.yaml" | "package.json"
    ) || lower.ends_with(".mk")
        || lower.ends_with(".tf")
    {
        return Some(Runner::FileDirectory);
    }
    if lower.ends_with(".sh") || lower.ends_with(".bash") {
        return Some(Runner::Either);
    }
    None
}

/// Whether a file (by its path) may hold build commands.
pub fn is_build_file(path: &Path) -> bool {
    runner(path).is_some()
}

/// The builds the `docker build` commands of the file at `path` declare. `root` finds the
/// checkout's root, looked up only when a command runs from there.
pub fn builds(path: &Path, text: &str, root: &dyn Fn() -> PathBuf) -> Vec<DeclaredBuild> {
    let Some(runner) = runner(path) else {
        return Vec::new();
    };
    if !text.contains("build") {
        return Vec::new();
    }
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut root_dir: Option<PathBuf> = None;
    let mut builds = Vec::new();
    for (line, command) in logical_lines(text) {
        let Some(command) = substitute(&command, runner) else {
            continue;
        };
        let Some((words, cd)) = docker_build_words(&command) else {
            continue;
        };
        let Some(mut named) = named_build(&words) else {
            continue;
        };
        named.cd = cd;
        let root: &Path = match runner {
            Runner::FileDirectory => dir,
            _ => root_dir.get_or_insert_with(root),
        };
        let bases: Vec<&Path> = match runner {
            Runner::FileDirectory => vec![dir],
            Runner::CheckoutRoot => vec![root, dir],
            Runner::Either => vec![dir, root],
        };
        let candidates: Vec<(PathBuf, PathBuf)> = bases
            .iter()
            .map(|base| {
                let base = match &named.cd {
                    Some(cd) => base.join(cd),
                    None => base.to_path_buf(),
                };
                let context = normalize(&base.join(&named.context));
                let dockerfile = match &named.dockerfile {
                    Some(file) => normalize(&base.join(file)),
                    None => context.join("Dockerfile"),
                };
                (dockerfile, context)
            })
            .filter(|(dockerfile, _)| crate::fsio::is_file(dockerfile))
            .collect();
        let chosen = match (runner, candidates.as_slice()) {
            (_, []) => None,
            (_, [only]) => Some(only.clone()),
            (Runner::Either, [first, rest @ ..]) => rest
                .iter()
                .all(|other| other == first)
                .then(|| first.clone()),
            (_, [first, ..]) => Some(first.clone()),
        };
        if let Some((dockerfile, context)) = chosen {
            builds.push(DeclaredBuild {
                dockerfile,
                context,
                handler: None,
                file: path.to_path_buf(),
                line,
                by: Declarer::BuildCommand,
            });
        }
    }
    builds
}

/// The file's lines with `\` continuations joined, each with the line it starts on.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let (start, mut joined) = current.take().unwrap_or((index + 1, String::new()));
        let trimmed = line.trim_end();
        match trimmed.strip_suffix('\\') {
            Some(rest) => {
                joined.push_str(rest);
                joined.push(' ');
                current = Some((start, joined));
            }
            None => {
                joined.push_str(trimmed);
                lines.push((start, joined));
            }
        }
    }
    lines.extend(current);
    lines
}

/// The command with the variables that name its runner's start directory replaced by `.`;
/// `None` when a path may still depend on one the file sets at run time (decided later, per
/// word).
fn substitute(command: &str, runner: Runner) -> Option<String> {
    if !command.contains("docker") && !command.contains("podman") {
        return None;
    }
    let mut command = command.to_string();
    let here: &[&str] = match runner {
        Runner::FileDirectory => &[
            "$(CURDIR)",
            "${CURDIR}",
            "${path.module}",
            "$(pwd)",
            "$PWD",
            "${PWD}",
        ],
        Runner::CheckoutRoot => &[
            "${{ github.workspace }}",
            "${GITHUB_WORKSPACE}",
            "$GITHUB_WORKSPACE",
            "${env.WORKSPACE}",
            "${WORKSPACE}",
            "$WORKSPACE",
            "${CI_PROJECT_DIR}",
            "$CI_PROJECT_DIR",
            "${CODEBUILD_SRC_DIR}",
            "$CODEBUILD_SRC_DIR",
            "$(pwd)",
            "$PWD",
            "${PWD}",
        ],
        Runner::Either => &["$(pwd)", "$PWD", "${PWD}"],
    };
    for variable in here {
        command = command.replace(variable, ".");
    }
    Some(command)
}

/// The words after `docker build` (or `docker buildx build`, `docker image build`, `podman
/// build`) up to the end of the command, unquoted, and the directory a `cd DIR &&` (or `cd
/// DIR;`) before it on the line changes to. The command may sit inside a string (`sh "docker
/// build ..."`, a JSON script): it ends where that string does.
fn docker_build_words(line: &str) -> Option<(Vec<String>, Option<String>)> {
    let mut offset = 0;
    for piece in line.split_inclusive(char::is_whitespace) {
        let rest = &line[offset..];
        offset += piece.len();
        let word = piece.trim();
        let tool = word.rsplit(['"', '\'', '(', '`']).next().unwrap_or(word);
        if !matches!(tool, "docker" | "podman") {
            continue;
        }
        let start = rest.find(tool).map_or(0, |at| at + tool.len());
        let words = shell_words(&rest[start..]);
        let skip = match words.as_slice() {
            [first, ..] if first == "build" => 1,
            [first, second, ..]
                if matches!(first.as_str(), "buildx" | "image") && second == "build" =>
            {
                2
            }
            _ => continue,
        };
        let prefix = &line[..offset - piece.len()];
        return Some((words[skip..].to_vec(), cd_before(prefix)?));
    }
    None
}

/// The directory the last `cd DIR &&` / `cd DIR;` of `prefix` changes to: `Some(None)` when
/// there is none, `None` when it depends on a variable.
fn cd_before(prefix: &str) -> Option<Option<String>> {
    let words: Vec<&str> = prefix.split_whitespace().collect();
    let Some(at) = words
        .iter()
        .rposition(|w| w.trim_start_matches(['"', '\'']) == "cd")
    else {
        return Some(None);
    };
    let dir = words
        .get(at + 1)?
        .trim_end_matches(';')
        .trim_matches(['"', '\'']);
    if dir.contains('$') || dir.is_empty() {
        return None;
    }
    Some(Some(dir.to_string()))
}

/// Shell words up to the first unquoted separator (`;`, `&&`, `|`, `>`, `)`) or an
/// unterminated quote (the end of the string the command is written in).
fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                let rest = chars.as_str();
                let Some(end) = rest.find(c) else {
                    break;
                };
                word.push_str(&rest[..end]);
                chars = rest[end + 1..].chars();
                in_word = true;
            }
            // `$(...)`, `${...}`, `${{ ... }}`: one piece of the word, whatever is inside.
            '$' if matches!(chars.clone().next(), Some('(' | '{')) => {
                let rest = chars.as_str();
                let Some(end) = expansion_end(rest) else {
                    break;
                };
                word.push('$');
                word.push_str(&rest[..end]);
                chars = rest[end..].chars();
                in_word = true;
            }
            // A command substitution in backticks: part of the word.
            '`' => {
                let rest = chars.as_str();
                let Some(end) = rest.find('`') else {
                    break;
                };
                word.push('`');
                word.push_str(&rest[..=end]);
                chars = rest[end + 1..].chars();
                in_word = true;
            }
            ';' | '|' | '&' | '>' | '<' | ')' => break,
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The length of the expansion `text` starts with (`(...)`, `{...}`, `{{ ... }}`), brackets
/// balanced; `None` when it does not end.
fn expansion_end(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (at, c) in text.char_indices() {
        match c {
            '(' | '{' => depth += 1,
            ')' | '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// What one `docker build` names.
#[derive(Debug, PartialEq, Eq)]
struct NamedBuild {
    dockerfile: Option<String>,
    context: String,
    /// A `cd DIR &&` before it on the same line.
    cd: Option<String>,
}

/// Options of `docker build` / `buildx build` that take a value.
const VALUED: &[&str] = &[
    "-t",
    "--tag",
    "--build-arg",
    "--platform",
    "--target",
    "--label",
    "--secret",
    "--ssh",
    "--cache-from",
    "--cache-to",
    "-o",
    "--output",
    "--progress",
    "--network",
    "--iidfile",
    "--builder",
    "--add-host",
    "--build-context",
    "--shm-size",
    "-m",
    "--memory",
    "--memory-swap",
    "--metadata-file",
    "--provenance",
    "--sbom",
    "--attest",
    "--annotation",
    "--ulimit",
    "--cgroup-parent",
    "--isolation",
    "--allow",
    "--call",
    "-c",
    "--cpu-shares",
    "--cpuset-cpus",
    "--cpuset-mems",
    "--cpu-period",
    "--cpu-quota",
    "--security-opt",
    "--label-file",
];

/// The Dockerfile and context of a build's words, when both are decided: exactly one context,
/// neither depending on a variable, neither standard input nor a URL.
fn named_build(words: &[String]) -> Option<NamedBuild> {
    let mut dockerfile = None;
    let mut positional = Vec::new();
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        if let Some(value) = word.strip_prefix("--file=") {
            dockerfile = Some(value.to_string());
        } else if word == "-f" || word == "--file" {
            dockerfile = Some(iter.next()?.clone());
        } else if let Some(value) = word
            .strip_prefix("-f")
            .filter(|v| !v.is_empty() && !word.starts_with("--"))
        {
            dockerfile = Some(value.to_string());
        } else if VALUED.contains(&word.as_str()) {
            iter.next()?;
        } else if word.starts_with('-') && word.len() > 1 {
            // A flag, or `--option=value`.
        } else {
            positional.push(word.clone());
        }
    }
    let [context] = positional.as_slice() else {
        return None;
    };
    let decided = |path: &str| {
        !path.is_empty()
            && path != "-"
            && !path.contains('$')
            && !path.contains('`')
            && !path.contains('%')
            && !path.contains("://")
            && !path.starts_with("git@")
            && !path.ends_with(".git")
    };
    if !decided(context) || !dockerfile.as_deref().is_none_or(decided) {
        return None;
    }
    Some(NamedBuild {
        dockerfile,
        context: context.clone(),
        cd: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Option<NamedBuild> {
        let (words, cd) = docker_build_words(text)?;
        let mut named = named_build(&words)?;
        named.cd = cd;
        Some(named)
    }

    fn named(dockerfile: Option<&str>, context: &str) -> Option<NamedBuild> {
        Some(NamedBuild {
            dockerfile: dockerfile.map(str::to_string),
            context: context.into(),
            cd: None,
        })
    }

    #[test]
    fn the_dockerfile_and_context_of_common_command_lines() {
        assert_eq!(
            words("docker build -f docker/Dockerfile ."),
            named(Some("docker/Dockerfile"), ".")
        );
        assert_eq!(
            words("\tdocker build --platform linux/arm64 -t $(IMAGE):$(TAG) --file=lambda/Dockerfile.prod ./services"),
            named(Some("lambda/Dockerfile.prod"), "./services")
        );
        assert_eq!(
            words("docker buildx build --push --build-arg V=1 -t x -f dockerfiles/a.dockerfile . && echo done"),
            named(Some("dockerfiles/a.dockerfile"), ".")
        );
        assert_eq!(
            words("sh \"docker build -t app -f docker/Dockerfile .\""),
            named(Some("docker/Dockerfile"), ".")
        );
        assert_eq!(
            words("docker image build -t a lambda"),
            named(None, "lambda")
        );
        assert_eq!(
            words("podman build -fContainerfile ."),
            named(Some("Containerfile"), ".")
        );
        assert_eq!(
            words("\"build\": \"docker build -t api -f ../docker/api.Dockerfile ..\","),
            named(Some("../docker/api.Dockerfile"), "..")
        );
        let mut in_dir = named(Some("Dockerfile.lambda"), ".");
        if let Some(named) = in_dir.as_mut() {
            named.cd = Some("services/api".into());
        }
        assert_eq!(
            words("cd services/api && docker build -f Dockerfile.lambda ."),
            in_dir
        );
        assert_eq!(words("cd $SERVICE && docker build ."), None);
        assert_eq!(
            words("docker build -t $(IMAGE):$(shell git rev-parse HEAD) -t a:`git describe` -t a:${{ github.sha }} ./src"),
            named(None, "./src")
        );
    }

    #[test]
    fn what_depends_on_the_run_is_not_guessed() {
        assert_eq!(words("docker build -f $DOCKERFILE ."), None);
        assert_eq!(words("docker build -t a ${CONTEXT}"), None);
        assert_eq!(words("docker build - < Dockerfile"), None);
        assert_eq!(words("docker build https://github.com/a/b.git"), None);
        assert_eq!(words("docker build -t a . extra"), None);
        assert_eq!(words("docker build -t"), None);
        assert_eq!(words("echo docker is used to build"), None);
    }

    #[test]
    fn continuations_are_one_command_and_paths_resolve_from_the_runner() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("docker")).expect("mkdir");
        std::fs::write(root.join("docker/Dockerfile"), "FROM x\n").expect("write");
        std::fs::create_dir_all(root.join("ci")).expect("mkdir");
        let jenkinsfile = root.join("Jenkinsfile");
        let text = "pipeline {\n  stages {\n    stage('b') {\n      steps {\n        sh \"\"\"\n          docker build \\\n            -t app \\\n            -f docker/Dockerfile \\\n            .\n        \"\"\"\n      }\n    }\n  }\n}\n";
        let found = builds(&jenkinsfile, text, &|| root.to_path_buf());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].dockerfile, root.join("docker/Dockerfile"));
        assert_eq!(found[0].context, root.to_path_buf());
        assert_eq!(found[0].line, 6);
        // A workflow runs in the checkout's root, wherever the file is.
        let workflow = root.join(".github/workflows/build.yml");
        let text = "jobs:\n  b:\n    steps:\n      - run: docker build -f docker/Dockerfile -t app ${{ github.workspace }}\n";
        let found = builds(&workflow, text, &|| root.to_path_buf());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].context, root.to_path_buf());
        // A Makefile runs in its own directory.
        let makefile = root.join("ci/Makefile");
        let found = builds(
            &makefile,
            "image:\n\tdocker build -f ../docker/Dockerfile ..\n",
            &|| root.to_path_buf(),
        );
        assert_eq!(found[0].context, root.to_path_buf());
        // A Dockerfile that does not exist where the command runs is not declared.
        assert!(builds(
            &makefile,
            "image:\n\tdocker build -f docker/Dockerfile .\n",
            &|| root.to_path_buf()
        )
        .is_empty());
    }

    #[test]
    fn random_inputs_never_panic() {
        let pieces = [
            "docker", "build", "buildx", "-f", "--file=", " ", "\\\n", "\n", "'", "\"", ".", "..",
            "/", "a", "$", "&&", ";", "-t", "|", "sh \"", "`", "-fX",
        ];
        let mut rng = fastrand::Rng::with_seed(23);
        let root = Path::new("/nonexistent-root");
        for _ in 0..20_000 {
            let text: String = (0..rng.usize(0..24))
                .map(|_| pieces[rng.usize(..pieces.len())])
                .collect();
            for path in ["Makefile", "Jenkinsfile", "build.sh"] {
                let _ = builds(&root.join(path), &text, &|| root.to_path_buf());
            }
        }
    }
}
