//! Builds through the Engine's BuildKit: a session with the Engine, per-platform solves, and
//! BuildKit's vertex stream turned into one progress line per step.
//!
//! Two routes, because bollard 0.21's plain `/build` session offers only registry logins:
//! without secrets the build goes through `/build` (its progress streams back); with secrets it
//! goes through bollard's gRPC driver for the Engine (`moby`), whose session also serves the
//! secrets, and which reports no progress until the solve ends.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use bollard::auth::DockerCredentials;
use bollard::grpc::build::{ImageBuildFrontendOptions, ImageBuildLoadInput, ImageBuildPlatform};
use bollard::grpc::driver::Build as _;
use bollard::models::BuildInfoAux;
use bollard::query_parameters::{BuildImageOptions, BuilderVersion};
use bollard::Docker;
use futures_util::StreamExt;

use super::engine::{engine_error, BuildSpec};

/// `--secret id=X,src=FILE` or `--secret id=X,env=VAR`: mounted by `RUN --mount=type=secret`,
/// never stored in the image, its history, its labels or any output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSecret {
    pub id: String,
    pub source: SecretSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    File(PathBuf),
    Env(String),
}

impl BuildSecret {
    /// Reads Docker's syntax: `id=X,src=FILE` (`source=`), `id=X,env=VAR`, `type=env,id=X`
    /// (the variable named like the id), `type=file,id=X,src=FILE`.
    pub fn parse(text: &str) -> Result<BuildSecret, String> {
        let mut id = None;
        let mut kind = None;
        let mut src = None;
        let mut env = None;
        for part in text.split(',') {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`--secret {text}`: `{part}` is not KEY=VALUE"))?;
            match key.trim() {
                "id" => id = Some(value.to_string()),
                "type" => kind = Some(value.to_string()),
                "src" | "source" => src = Some(value.to_string()),
                "env" => env = Some(value.to_string()),
                other => {
                    return Err(format!(
                        "`--secret {text}`: unknown key `{other}` (expected id, src, env, type)"
                    ))
                }
            }
        }
        let id = id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| format!("`--secret {text}`: `id=` is required"))?;
        let source = match (kind.as_deref(), src, env) {
            (None | Some("file"), Some(src), None) => SecretSource::File(PathBuf::from(src)),
            (None | Some("env"), None, Some(env)) => SecretSource::Env(env),
            (Some("env"), None, None) => SecretSource::Env(id.clone()),
            (Some(other), _, _) if other != "file" && other != "env" => {
                return Err(format!(
                    "`--secret {text}`: type `{other}` is not `file` or `env`"
                ))
            }
            _ => {
                return Err(format!(
                    "`--secret {text}`: give exactly one of `src=FILE` and `env=VAR`"
                ))
            }
        };
        Ok(BuildSecret { id, source })
    }

    /// Fails, naming the secret (never its value), when its source cannot be read: better
    /// before the build than as BuildKit's "secret not found" halfway through it.
    pub fn check_readable(&self) -> anyhow::Result<()> {
        match &self.source {
            SecretSource::File(path) => {
                std::fs::File::open(path).with_context(|| {
                    format!("secret `{}`: cannot read {}", self.id, path.display())
                })?;
            }
            SecretSource::Env(name) => {
                if std::env::var_os(name).is_none() {
                    bail!(
                        "secret `{}`: the environment variable {name} is not set",
                        self.id
                    );
                }
            }
        }
        Ok(())
    }
}

/// Builds one platform with BuildKit into the Engine's image store under `spec.tag`.
pub async fn build(
    docker: &Docker,
    spec: BuildSpec<'_>,
    credentials: &HashMap<String, DockerCredentials>,
    log: &mut dyn FnMut(&str),
) -> anyhow::Result<()> {
    if spec.secrets.is_empty() {
        build_streamed(docker, &spec, credentials, log).await
    } else {
        log("building through a BuildKit gRPC session (it serves the secrets): steps are not streamed on this route");
        build_with_session(docker, &spec, credentials).await
    }
}

/// Through `/build` with a session: progress streams back as BuildKit status messages.
async fn build_streamed(
    docker: &Docker,
    spec: &BuildSpec<'_>,
    credentials: &HashMap<String, DockerCredentials>,
    log: &mut dyn FnMut(&str),
) -> anyhow::Result<()> {
    let options = BuildImageOptions {
        version: BuilderVersion::BuilderBuildKit,
        session: Some(session_id(spec.tag)),
        ..spec.options()
    };
    let body = bollard::body_full(bytes::Bytes::from(spec.context.clone()));
    let mut stream = docker.build_image(options, Some(credentials.clone()), Some(body));
    let mut progress = Progress::default();
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(error) => bail!(
                "the build for {} failed: {}{}",
                spec.platform,
                engine_error(&error),
                progress.failure_context()
            ),
        };
        if let Some(BuildInfoAux::BuildKit(status)) = &info.aux {
            progress.update(status, log);
        }
    }
    Ok(())
}

/// Through bollard's gRPC driver for the Engine, whose session also serves secrets.
async fn build_with_session(
    docker: &Docker,
    spec: &BuildSpec<'_>,
    credentials: &HashMap<String, DockerCredentials>,
) -> anyhow::Result<()> {
    let mut options = ImageBuildFrontendOptions::builder()
        .dockerfile(std::path::Path::new(spec.dockerfile))
        .platforms(&ImageBuildPlatform {
            architecture: spec.platform.architecture.clone(),
            os: spec.platform.os.clone(),
            variant: None,
        });
    if let Some(target) = spec.target {
        options = options.target(target);
    }
    for (name, value) in spec.build_args {
        options = options.buildarg(name, value);
    }
    for (name, value) in &spec.labels {
        options = options.label(name, value);
    }
    for secret in spec.secrets {
        let source = match &secret.source {
            SecretSource::File(path) => bollard::grpc::build::SecretSource::File(path.clone()),
            SecretSource::Env(name) => bollard::grpc::build::SecretSource::Env(name.clone()),
        };
        options = options.set_secret(&secret.id, &source);
    }
    let logins: HashMap<&str, DockerCredentials> = credentials
        .iter()
        .map(|(host, login)| (host.as_str(), login.clone()))
        .collect();
    let driver = bollard::grpc::driver::moby::Moby::new(docker);
    driver
        .docker_build(
            spec.tag,
            options.build(),
            ImageBuildLoadInput::Upload(bytes::Bytes::from(spec.context.clone())),
            Some(logins),
            None,
        )
        .await
        .map_err(|error| {
            anyhow::anyhow!(
                "the build for {} failed: {}",
                spec.platform,
                grpc_error(&error)
            )
        })
}

/// A session ID the Engine has not seen: unique per build, so parallel builds never share one.
fn session_id(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!("{tag}:{nanos}:{}", std::process::id());
    format!(
        "lambda-gate-{:016x}",
        crate::sweep::repos::fnv1a(seed.as_bytes())
    )
}

fn grpc_error(error: &bollard::grpc::error::GrpcError) -> String {
    match error {
        bollard::grpc::error::GrpcError::TonicStatus { err } => err.message().to_string(),
        bollard::grpc::error::GrpcError::DockerError { err } => engine_error(err),
        other => other.to_string(),
    }
}

/// BuildKit's vertex stream as one line per finished step; each step's output is kept (the
/// last lines) to explain a failure.
#[derive(Default)]
struct Progress {
    printed: std::collections::HashSet<String>,
    names: HashMap<String, String>,
    output: HashMap<String, Vec<String>>,
    failed: Option<String>,
}

impl Progress {
    fn update(
        &mut self,
        status: &bollard::grpc::build::moby::buildkit::v1::StatusResponse,
        log: &mut dyn FnMut(&str),
    ) {
        for entry in &status.logs {
            let lines = self.output.entry(entry.vertex.clone()).or_default();
            let text = String::from_utf8_lossy(&entry.msg);
            lines.extend(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_string),
            );
            let excess = lines.len().saturating_sub(30);
            lines.drain(..excess);
        }
        for vertex in &status.vertexes {
            self.names
                .insert(vertex.digest.clone(), vertex.name.clone());
            if !vertex.error.is_empty() {
                self.failed = Some(vertex.digest.clone());
            }
            let Some(completed) = &vertex.completed else {
                continue;
            };
            if !self.printed.insert(vertex.digest.clone()) {
                continue;
            }
            let name = step_name(&vertex.name);
            let line = if vertex.cached {
                format!("CACHED {name}")
            } else if !vertex.error.is_empty() {
                format!("ERROR  {name}: {}", vertex.error)
            } else {
                let seconds = vertex.started.as_ref().map_or(0.0, |started| {
                    (completed.seconds - started.seconds) as f64
                        + f64::from(completed.nanos - started.nanos) / 1e9
                });
                format!("DONE   {name} ({seconds:.1}s)")
            };
            log(&line);
        }
    }

    /// The failed step's name and last output lines, for the error message.
    fn failure_context(&self) -> String {
        let Some(digest) = &self.failed else {
            return String::new();
        };
        let name = self.names.get(digest).map_or("", String::as_str);
        let output = self
            .output
            .get(digest)
            .map(|lines| lines.join("\n"))
            .unwrap_or_default();
        format!("\n--- {name} ---\n{output}")
    }
}

/// A step's name on one line of reasonable length: continuation whitespace folded, long
/// commands cut.
fn step_name(name: &str) -> String {
    let folded = name.split_whitespace().collect::<Vec<_>>().join(" ");
    match folded.char_indices().nth(100) {
        Some((cut, _)) => format!("{}…", &folded[..cut]),
        None => folded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_names_fit_one_line() {
        assert_eq!(step_name("[2/4] RUN a  \\\n    b"), "[2/4] RUN a \\ b");
        let long = format!("RUN {}", "x".repeat(200));
        assert_eq!(step_name(&long).chars().count(), 101);
    }

    #[test]
    fn secrets_read_dockers_syntax() {
        let parse = |t| BuildSecret::parse(t);
        assert_eq!(
            parse("id=pip,src=/run/pip.conf").unwrap().source,
            SecretSource::File("/run/pip.conf".into())
        );
        assert_eq!(
            parse("id=tok,env=TOKEN").unwrap().source,
            SecretSource::Env("TOKEN".into())
        );
        assert_eq!(
            parse("type=env,id=TOKEN").unwrap().source,
            SecretSource::Env("TOKEN".into())
        );
        assert!(parse("src=/x").unwrap_err().contains("`id=` is required"));
        assert!(parse("id=x,src=/a,env=B")
            .unwrap_err()
            .contains("exactly one"));
        assert!(parse("id=x,type=ssh").unwrap_err().contains("type `ssh`"));
        assert!(parse("id=x,mode=0400").unwrap_err().contains("unknown key"));
    }
}
