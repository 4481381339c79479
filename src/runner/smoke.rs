//! `lambda-gate smoke`: runs an image through the Engine and invokes its handler with sample
//! events — through the Lambda Runtime Interface Emulator when the image has it (AWS bases do),
//! otherwise with the image's own Python. An error result, a crash or a timeout fails; the
//! container is removed whatever happens.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptions, DownloadFromContainerOptions, LogsOptions, RemoveContainerOptions,
    WaitContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;
use serde::Serialize;

use super::engine::engine_error;
use super::Platform;

/// Where AWS base images keep the emulator.
pub const RIE_PATH: &str = "/usr/local/bin/aws-lambda-rie";
const INVOKE_PATH: &str = "/2015-03-31/functions/function/invocations";

/// How long one invocation may take (container start included); arm64 under qemu is slow.
pub fn timeout() -> Duration {
    std::env::var("LAMBDA_GATE_SMOKE_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(Duration::from_secs(120), Duration::from_secs)
}

#[derive(Debug, Clone, Serialize)]
pub struct SmokeResult {
    pub event: String,
    pub platform: String,
    /// `emulator` (the Runtime Interface Emulator) or `python` (the image's own Python).
    pub method: &'static str,
    pub passed: bool,
    /// `ok`, or what went wrong.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<serde_json::Value>,
    pub seconds: f64,
    /// The container's output, for a failure's message.
    #[serde(skip)]
    pub logs: String,
}

/// The events to invoke with: those given, else the project's `events/*.json` in name order.
pub fn events(project: &Path, given: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    if !given.is_empty() {
        return Ok(given.to_vec());
    }
    Ok(events_in(&project.join("events")))
}

/// The `*.json` files of `dir`, sorted (none when it does not exist).
pub fn events_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(_) => Vec::new(),
    };
    found.sort();
    found
}

/// Invokes `image` (built for `platform`) with the event in `event`.
pub async fn run(
    docker: &Docker,
    image: &str,
    platform: &Platform,
    event: &Path,
) -> anyhow::Result<SmokeResult> {
    let text = std::fs::read(event).with_context(|| format!("reading {}", event.display()))?;
    let payload: serde_json::Value = serde_json::from_slice(&text)
        .with_context(|| format!("{}: the event is not valid JSON", event.display()))?;
    let inspect = docker
        .inspect_image(image)
        .await
        .map_err(|e| anyhow::anyhow!(engine_error(&e)))
        .with_context(|| format!("inspecting {image}"))?;
    let config = inspect.config.unwrap_or_default();
    let handler = config
        .cmd
        .as_ref()
        .and_then(|c| c.first().cloned())
        .with_context(|| format!("{image} has no CMD naming its handler (`module.function`)"))?;
    let name = format!("lambda-gate-smoke-{}", fastrand::u64(..));
    let started = Instant::now();
    let outcome = invoke(docker, image, platform, &name, &handler, &payload).await;
    // Always removed, whatever the invocation did.
    let removed = docker
        .remove_container(
            &name,
            Some(RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            }),
        )
        .await;
    let (method, result, logs) = outcome?;
    if let Err(error) = removed {
        if !matches!(
            error,
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                ..
            }
        ) {
            bail!(
                "could not remove smoke container {name}: {}",
                engine_error(&error)
            );
        }
    }
    let (passed, outcome, response) = match result {
        Ok(response) => (true, "ok".to_string(), Some(response)),
        Err(why) => (false, why, None),
    };
    Ok(SmokeResult {
        event: event.display().to_string(),
        platform: platform.to_string(),
        method,
        passed,
        outcome,
        response,
        seconds: started.elapsed().as_secs_f64(),
        logs,
    })
}

type Invocation = (&'static str, Result<serde_json::Value, String>, String);

async fn invoke(
    docker: &Docker,
    image: &str,
    platform: &Platform,
    name: &str,
    handler: &str,
    payload: &serde_json::Value,
) -> anyhow::Result<Invocation> {
    let create = |body: ContainerCreateBody| async move {
        docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(name.to_string()),
                    platform: platform.to_string(),
                }),
                body,
            )
            .await
            .map_err(|e| anyhow::anyhow!(engine_error(&e)))
            .with_context(|| format!("creating a container of {image}"))
    };
    let mut port_bindings = HashMap::new();
    port_bindings.insert(
        "8080/tcp".to_string(),
        Some(vec![PortBinding {
            host_ip: Some("127.0.0.1".into()),
            host_port: Some(String::new()),
        }]),
    );
    create(ContainerCreateBody {
        image: Some(image.to_string()),
        exposed_ports: Some(vec!["8080/tcp".to_string()]),
        host_config: Some(HostConfig {
            port_bindings: Some(port_bindings),
            ..Default::default()
        }),
        ..Default::default()
    })
    .await?;
    let has_emulator = docker
        .download_from_container(
            name,
            Some(DownloadFromContainerOptions {
                path: RIE_PATH.to_string(),
            }),
        )
        .next()
        .await
        .is_some_and(|chunk| chunk.is_ok());
    let deadline = timeout();
    if has_emulator {
        start(docker, name).await?;
        let result = tokio::time::timeout(deadline, invoke_emulator(docker, name, payload)).await;
        let logs = logs(docker, name).await;
        return Ok(match result {
            Ok(Ok(result)) => ("emulator", result, logs),
            Ok(Err(error)) => ("emulator", Err(format!("{error:#}")), logs),
            Err(_) => (
                "emulator",
                Err(format!("timed out after {}s", deadline.as_secs())),
                logs,
            ),
        });
    }
    // No emulator: the image's own Python calls the handler.
    docker
        .remove_container(
            name,
            Some(RemoveContainerOptions {
                force: true,
                ..Default::default()
            }),
        )
        .await
        .map_err(|e| anyhow::anyhow!(engine_error(&e)))?;
    create(ContainerCreateBody {
        image: Some(image.to_string()),
        entrypoint: Some(vec!["python3".into(), "-c".into(), PYTHON_INVOKER.into()]),
        cmd: Some(vec![handler.to_string()]),
        env: Some(vec![format!("LAMBDA_GATE_EVENT={payload}")]),
        network_disabled: Some(true),
        ..Default::default()
    })
    .await?;
    start(docker, name).await?;
    let waited = tokio::time::timeout(deadline, async {
        let mut wait = docker.wait_container(name, None::<WaitContainerOptions>);
        match wait.next().await {
            Some(Ok(response)) => response.status_code,
            // bollard reports a non-zero exit as an error carrying the code.
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
            _ => -1,
        }
    })
    .await;
    let logs = logs(docker, name).await;
    let result = match waited {
        Err(_) => Err(format!("timed out after {}s", deadline.as_secs())),
        Ok(0) => logs
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix(RESULT_MARKER))
            .map(|json| serde_json::from_str(json).unwrap_or(serde_json::Value::Null))
            .ok_or_else(|| "the handler printed no result".to_string()),
        Ok(code) => Err(
            match logs
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix(ERROR_MARKER))
            {
                Some(error) => format!("the handler raised {error}"),
                None => format!("the container exited with status {code}"),
            },
        ),
    };
    Ok(("python", result, logs))
}

async fn start(docker: &Docker, name: &str) -> anyhow::Result<()> {
    docker
        .start_container(
            name,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .map_err(|e| anyhow::anyhow!(engine_error(&e)))
        .context("starting the smoke container")
}

async fn logs(docker: &Docker, name: &str) -> String {
    let mut stream = docker.logs(
        name,
        Some(LogsOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        }),
    );
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&chunk.to_string());
    }
    text
}

/// POSTs the event to the emulator once it listens; an error object or the function-error
/// header fails the invocation.
async fn invoke_emulator(
    docker: &Docker,
    name: &str,
    payload: &serde_json::Value,
) -> anyhow::Result<Result<serde_json::Value, String>> {
    let inspect = docker
        .inspect_container(
            name,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .map_err(|e| anyhow::anyhow!(engine_error(&e)))?;
    let port = inspect
        .network_settings
        .and_then(|n| n.ports)
        .and_then(|p| p.get("8080/tcp").cloned().flatten())
        .and_then(|b| b.first().and_then(|b| b.host_port.clone()))
        .context("the Engine published no port for the emulator")?;
    let url = format!("http://127.0.0.1:{port}{INVOKE_PATH}");
    let client = reqwest::Client::new();
    loop {
        match client.post(&url).json(payload).send().await {
            Ok(response) => {
                let function_error = response.headers().contains_key("x-amz-function-error");
                let status = response.status();
                let body: serde_json::Value =
                    response.json().await.unwrap_or(serde_json::Value::Null);
                if !status.is_success() {
                    return Ok(Err(format!(
                        "the emulator answered HTTP {}: {body}",
                        status.as_u16()
                    )));
                }
                let error_object =
                    body.get("errorType").is_some() || body.get("errorMessage").is_some();
                if function_error || error_object {
                    return Ok(Err(format!("the handler returned an error: {body}")));
                }
                return Ok(Ok(body));
            }
            Err(_) => {
                let state = docker
                    .inspect_container(
                        name,
                        None::<bollard::query_parameters::InspectContainerOptions>,
                    )
                    .await
                    .ok()
                    .and_then(|i| i.state);
                if state.as_ref().and_then(|s| s.running) == Some(false) {
                    let code = state.and_then(|s| s.exit_code).unwrap_or(-1);
                    return Ok(Err(format!(
                        "the container exited with status {code} before answering"
                    )));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

const RESULT_MARKER: &str = "lambda-gate-smoke-result: ";
const ERROR_MARKER: &str = "lambda-gate-smoke-error: ";

/// Calls `module.function(event, None)` as Lambda's Python runtime would, from the task root.
const PYTHON_INVOKER: &str = r#"
import importlib, json, os, sys, traceback
sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", "/var/task"))
module, function = sys.argv[1].rsplit(".", 1)
try:
    result = getattr(importlib.import_module(module), function)(json.loads(os.environ["LAMBDA_GATE_EVENT"]), None)
    print("lambda-gate-smoke-result: " + json.dumps(result, default=str), flush=True)
except Exception as error:
    traceback.print_exc()
    print("lambda-gate-smoke-error: " + type(error).__name__ + ": " + str(error), flush=True)
    sys.exit(1)
"#;
