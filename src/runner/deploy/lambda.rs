//! Lambda's API as a deploy uses it: one session carrying the clients, the clock, the target
//! and the progress log, with one method per call, each compare-and-set where Lambda allows.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use aws_sdk_lambda::error::ProvideErrorMetadata as _;
use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::types::{AliasRoutingConfiguration, LastUpdateStatus};

use super::target::{Clients, Target};
use super::{DeployRefusal, Invocation, Log, Step, Timings};
use crate::runner::outcome::Outcome;

/// Records how long each call and wait took.
#[derive(Default)]
pub(super) struct Clock {
    pub timings: Timings,
}

impl Clock {
    pub async fn api<T, F: std::future::Future<Output = T>>(&mut self, name: &str, call: F) -> T {
        let started = Instant::now();
        let result = call.await;
        let seconds = started.elapsed().as_secs_f64();
        self.timings.api_seconds += seconds;
        self.timings.steps.push(Step {
            name: name.to_string(),
            kind: "api",
            seconds,
        });
        result
    }

    pub async fn wait(&mut self, name: &str, duration: Duration) {
        tokio::time::sleep(duration).await;
        let seconds = duration.as_secs_f64();
        self.timings.wait_seconds += seconds;
        match self.timings.steps.last_mut() {
            Some(step) if step.name == name && step.kind == "wait" => step.seconds += seconds,
            _ => self.timings.steps.push(Step {
                name: name.to_string(),
                kind: "wait",
                seconds,
            }),
        }
    }
}

/// What a function runs: its image, code hash and revision.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Code {
    pub image_uri: Option<String>,
    pub code_sha256: Option<String>,
    pub revision_id: Option<String>,
}

impl Code {
    /// What a `GetFunction` answer says the function runs.
    pub fn read(answer: &GetFunctionOutput) -> Code {
        let configuration = answer.configuration();
        Code {
            image_uri: answer
                .code()
                .and_then(|c| c.image_uri())
                .map(str::to_string),
            code_sha256: configuration
                .and_then(|c| c.code_sha256())
                .map(str::to_string),
            revision_id: configuration
                .and_then(|c| c.revision_id())
                .map(str::to_string),
        }
    }

    /// The same image and code hash: what a deploy compares between its reads (a revision also
    /// moves with configuration changes, which the version then publishes, as intended).
    pub fn same_code(&self, other: &Code) -> bool {
        self.image_uri == other.image_uri && self.code_sha256 == other.code_sha256
    }

    /// The digest it runs (`host/path@sha256:…`).
    pub fn digest(&self) -> Option<&str> {
        self.image_uri.as_deref().and_then(digest_of)
    }

    /// What changed between two reads, in words.
    pub fn describe_change(&self, now: &Code) -> String {
        let mut changed = Vec::new();
        if self.image_uri != now.image_uri {
            changed.push(format!(
                "its image moved from {} to {}",
                self.image_uri.as_deref().unwrap_or("none"),
                now.image_uri.as_deref().unwrap_or("none")
            ));
        }
        if self.code_sha256 != now.code_sha256 {
            changed.push("its CodeSha256 changed".to_string());
        }
        if self.revision_id != now.revision_id {
            changed.push("its RevisionId changed".to_string());
        }
        changed.join(", ")
    }
}

/// The digest of `host/path@sha256:…`.
pub(super) fn digest_of(image_uri: &str) -> Option<&str> {
    image_uri.rsplit_once('@').map(|(_, digest)| digest)
}

/// An alias as read: the version it serves, the versions it splits traffic to, its revision
/// and description.
#[derive(Debug, Clone, Default)]
pub(super) struct AliasState {
    pub version: String,
    pub weights: Vec<(String, f64)>,
    pub revision: Option<String>,
    pub description: String,
}

impl AliasState {
    pub fn is_split(&self) -> bool {
        self.weights.iter().any(|(_, weight)| *weight > 0.0)
    }
}

/// Provisioned concurrency on the alias, as Lambda reports it.
#[derive(Debug, Clone)]
pub(super) struct Provisioned {
    pub requested: i32,
    /// `IN_PROGRESS`, `READY` or `FAILED`.
    pub status: String,
    pub reason: Option<String>,
}

/// How the alias routes traffic: all to its version, or a share to another.
pub(super) enum Routing<'v> {
    All,
    Share { version: &'v str, percent: f64 },
}

/// An AWS call's failure as a person can act on it, naming the function it was about (the
/// Lambda calls and the CloudWatch calls that judge it share one `SdkError` type).
pub(super) fn explain<E, R>(
    operation: &str,
    function: &str,
    error: aws_sdk_lambda::error::SdkError<E, R>,
) -> anyhow::Error
where
    E: aws_sdk_lambda::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    anyhow::Error::new(crate::runner::aws_error::explain(operation, error))
        .context(function.to_string())
}

/// One deploy's access to AWS.
pub(super) struct Session<'a> {
    pub clients: Clients,
    pub clock: Clock,
    pub target: &'a Target,
    pub log: Log<'a>,
}

impl<'a> Session<'a> {
    pub async fn connect(target: &'a Target, log: Log<'a>) -> anyhow::Result<Session<'a>> {
        Ok(Session {
            clients: Clients::connect(target).await?,
            clock: Clock::default(),
            target,
            log,
        })
    }

    pub fn function(&self) -> &'a str {
        &self.target.function
    }

    pub fn say(&mut self, line: &str) {
        (self.log)(line)
    }

    /// `GetFunction` of `$LATEST` or a version; `step` names it in the timings.
    pub async fn get_function(
        &mut self,
        qualifier: Option<&str>,
        step: &str,
    ) -> anyhow::Result<GetFunctionOutput> {
        let function = self.function();
        let call = self
            .clients
            .lambda
            .get_function()
            .function_name(function)
            .set_qualifier(qualifier.map(str::to_string))
            .send();
        self.clock
            .api(step, call)
            .await
            .map_err(|e| explain("GetFunction", function, e))
    }

    /// The target's alias, or `None` when it does not exist yet.
    pub async fn alias(&mut self, step: &str) -> anyhow::Result<Option<AliasState>> {
        let function = self.function();
        let call = self
            .clients
            .lambda
            .get_alias()
            .function_name(function)
            .name(&self.target.alias)
            .send();
        match self.clock.api(step, call).await {
            Ok(alias) => Ok(Some(AliasState {
                version: alias.function_version().unwrap_or_default().to_string(),
                weights: alias
                    .routing_config()
                    .and_then(|r| r.additional_version_weights())
                    .map(|w| w.iter().map(|(v, weight)| (v.clone(), *weight)).collect())
                    .unwrap_or_default(),
                revision: alias.revision_id().map(str::to_string),
                description: alias.description().unwrap_or_default().to_string(),
            })),
            Err(error) if error.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(error) => Err(explain("GetAlias", function, error)),
        }
    }

    /// Points `$LATEST` at `image_uri`, compare-and-set on `revision` when given.
    pub async fn update_code(&mut self, image_uri: &str, revision: Option<&str>) -> Outcome<()> {
        let function = self.function();
        let call = self
            .clients
            .lambda
            .update_function_code()
            .function_name(function)
            .image_uri(image_uri)
            .set_revision_id(revision.map(str::to_string))
            .send();
        match self.clock.api("UpdateFunctionCode", call).await {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some("PreconditionFailedException") => {
                Err(DeployRefusal::ConcurrentChange {
                    function: function.to_string(),
                    what: "its revision moved between the read and the update".into(),
                }
                .into())
            }
            Err(error) => Err(explain("UpdateFunctionCode", function, error).into()),
        }
    }

    /// Waits until the update has landed (`LastUpdateStatus: Successful`), or reports Lambda's
    /// reason.
    pub async fn wait_for_update(&mut self) -> anyhow::Result<Code> {
        let function = self.function();
        let read = self.settle().await?;
        let configuration = read
            .configuration()
            .context("GetFunction returned no configuration")?;
        if configuration.last_update_status() == Some(&LastUpdateStatus::Failed) {
            anyhow::bail!(
                "{function}: the update failed: {} ({})",
                configuration
                    .last_update_status_reason()
                    .unwrap_or("no reason given"),
                configuration
                    .last_update_status_reason_code()
                    .map_or("no code", |c| c.as_str())
            );
        }
        Ok(Code::read(&read))
    }

    /// Waits while an update of `$LATEST` is in progress (Lambda refuses another update then,
    /// with `ResourceConflictException`), whatever it ends in; at most 10 minutes.
    pub async fn settle(&mut self) -> anyhow::Result<GetFunctionOutput> {
        let function = self.function();
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let read = self
                .get_function(None, "GetFunction (update status)")
                .await?;
            let in_progress = read.configuration().and_then(|c| c.last_update_status())
                == Some(&LastUpdateStatus::InProgress);
            if !in_progress {
                return Ok(read);
            }
            if Instant::now() >= deadline {
                anyhow::bail!("{function}: the update is still in progress after 10 minutes");
            }
            self.clock
                .wait("update in progress", Duration::from_secs(1))
                .await;
        }
    }

    /// Publishes what `$LATEST` runs (`code`, compare-and-set on its hash and revision).
    pub async fn publish(&mut self, code: &Code, description: &str) -> Outcome<String> {
        let function = self.function();
        let call = self
            .clients
            .lambda
            .publish_version()
            .function_name(function)
            .description(description)
            .set_code_sha256(code.code_sha256.clone())
            .set_revision_id(code.revision_id.clone())
            .send();
        let published = match self.clock.api("PublishVersion", call).await {
            Ok(published) => published,
            Err(error) if error.code() == Some("PreconditionFailedException") => {
                return Err(DeployRefusal::ConcurrentChange {
                    function: function.to_string(),
                    what: "$LATEST changed between the read and the publish".into(),
                }
                .into())
            }
            Err(error) => return Err(explain("PublishVersion", function, error).into()),
        };
        Ok(published
            .version()
            .context("PublishVersion returned no version")?
            .to_string())
    }

    /// The provisioned concurrency configured on `qualifier` (the alias), if any.
    pub async fn provisioned(
        &mut self,
        qualifier: &str,
        step: &str,
    ) -> anyhow::Result<Option<Provisioned>> {
        let function = self.function();
        let call = self
            .clients
            .lambda
            .get_provisioned_concurrency_config()
            .function_name(function)
            .qualifier(qualifier)
            .send();
        match self.clock.api(step, call).await {
            Ok(config) => Ok(Some(Provisioned {
                requested: config
                    .requested_provisioned_concurrent_executions()
                    .unwrap_or_default(),
                status: config
                    .status()
                    .map_or("UNKNOWN", |s| s.as_str())
                    .to_string(),
                reason: config.status_reason().map(str::to_string),
            })),
            Err(error) if error.code() == Some("ProvisionedConcurrencyConfigNotFoundException") => {
                Ok(None)
            }
            Err(error) => Err(explain("GetProvisionedConcurrencyConfig", function, error)),
        }
    }

    /// Waits until the alias's provisioned concurrency is allocated again after the alias
    /// moved (Lambda moves it with the alias, `IN_PROGRESS` meanwhile); at most 15 minutes.
    /// Returns the allocation's state when it is not `READY`: `FAILED` and Lambda's reason.
    pub async fn wait_provisioned(&mut self) -> anyhow::Result<Option<Provisioned>> {
        let function = self.function();
        let alias = self.target.alias.clone();
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            let Some(now) = self
                .provisioned(&alias, "GetProvisionedConcurrencyConfig (allocation)")
                .await?
            else {
                // Removed meanwhile (by Terraform, by hand): nothing left to wait for.
                return Ok(None);
            };
            match now.status.as_str() {
                "READY" => return Ok(None),
                "IN_PROGRESS" if Instant::now() < deadline => {}
                "IN_PROGRESS" => anyhow::bail!(
                    "{function}:{alias}: provisioned concurrency ({}) still IN_PROGRESS after 15 minutes",
                    now.requested
                ),
                _ => return Ok(Some(now)),
            }
            self.clock
                .wait("provisioned concurrency allocating", Duration::from_secs(1))
                .await;
        }
    }

    /// Points the alias at `version` with `routing`, compare-and-set on the alias's revision;
    /// returns its new revision.
    pub async fn set_alias(
        &mut self,
        version: &str,
        routing: Routing<'_>,
        description: &str,
        revision: Option<&str>,
    ) -> Outcome<Option<String>> {
        let function = self.function();
        let mut weights = std::collections::HashMap::new();
        if let Routing::Share { version, percent } = routing {
            weights.insert(version.to_string(), percent / 100.0);
        }
        let call = self
            .clients
            .lambda
            .update_alias()
            .function_name(function)
            .name(&self.target.alias)
            .function_version(version)
            .description(description)
            .routing_config(
                AliasRoutingConfiguration::builder()
                    .set_additional_version_weights(Some(weights))
                    .build(),
            )
            .set_revision_id(revision.map(str::to_string))
            .send();
        match self.clock.api("UpdateAlias", call).await {
            Ok(answer) => Ok(answer.revision_id().map(str::to_string)),
            Err(error) if error.code() == Some("PreconditionFailedException") => {
                Err(DeployRefusal::ConcurrentChange {
                    function: function.to_string(),
                    what: format!("alias {} was changed by someone else", self.target.alias),
                }
                .into())
            }
            Err(error) => Err(explain("UpdateAlias", function, error).into()),
        }
    }

    pub async fn create_alias(&mut self, version: &str) -> anyhow::Result<()> {
        let function = self.function();
        let call = self
            .clients
            .lambda
            .create_alias()
            .function_name(function)
            .name(&self.target.alias)
            .function_version(version)
            .send();
        self.clock
            .api("CreateAlias", call)
            .await
            .map_err(|e| explain("CreateAlias", function, e))?;
        Ok(())
    }

    /// Invokes `qualifier` (a version or the alias) with one event; a function error, an
    /// `errorType` payload or a timeout fails it.
    pub async fn invoke(
        &mut self,
        qualifier: &str,
        path: &Path,
        payload: &[u8],
    ) -> anyhow::Result<Invocation> {
        let function = self.function();
        let timeout = crate::runner::smoke::timeout();
        let started = Instant::now();
        let call = self
            .clients
            .lambda
            .invoke()
            .function_name(function)
            .qualifier(qualifier)
            .payload(aws_sdk_lambda::primitives::Blob::new(payload.to_vec()))
            .send();
        let answer = self
            .clock
            .api("Invoke", tokio::time::timeout(timeout, call))
            .await;
        let seconds = started.elapsed().as_secs_f64();
        let event = path.display().to_string();
        let outcome = match answer {
            Err(_) => format!("no answer within {}s", timeout.as_secs()),
            Ok(Err(error)) => return Err(explain("Invoke", function, error)),
            Ok(Ok(answer)) => {
                let body: Option<serde_json::Value> = answer
                    .payload()
                    .and_then(|p| serde_json::from_slice(p.as_ref()).ok());
                let error_type = body
                    .as_ref()
                    .and_then(|b| b.get("errorType"))
                    .and_then(|t| t.as_str());
                match (answer.function_error(), error_type) {
                    (Some(kind), _) => format!(
                        "FunctionError: {kind}{}",
                        error_type.map(|t| format!(" ({t})")).unwrap_or_default()
                    ),
                    (None, Some(kind)) => format!(
                        "errorType: {kind}: {}",
                        body.as_ref()
                            .and_then(|b| b.get("errorMessage"))
                            .and_then(|m| m.as_str())
                            .unwrap_or("")
                    ),
                    (None, None) => "ok".to_string(),
                }
            }
        };
        Ok(Invocation {
            event,
            qualifier: qualifier.to_string(),
            passed: outcome == "ok",
            outcome,
            seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_changes_are_read_from_the_code() {
        assert_eq!(digest_of("h/p@sha256:ab"), Some("sha256:ab"));
        let before = Code {
            image_uri: Some("h/p@sha256:aa".into()),
            code_sha256: Some("x".into()),
            revision_id: Some("1".into()),
        };
        let now = Code {
            image_uri: Some("h/p@sha256:bb".into()),
            revision_id: Some("2".into()),
            ..before.clone()
        };
        assert_eq!(before.digest(), Some("sha256:aa"));
        assert_eq!(
            before.describe_change(&now),
            "its image moved from h/p@sha256:aa to h/p@sha256:bb, its RevisionId changed"
        );
    }
}
