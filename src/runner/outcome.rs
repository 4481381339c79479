//! How a runner worker ends: done, refused on its own verdict, or failed. Callers decide exit
//! codes from these types (the command layer's `exit_code`), never from error text or chains.

use std::path::PathBuf;

use super::deploy::{DeployRefusal, DeployResult};
use super::promote::{LadderRefusal, NotDeployable};
use super::registry::RegistryError;
use super::Platform;

/// Why a runner command stopped on its own verdict rather than on a failure of the machinery
/// (the registry, the Engine, AWS): the team must change something, a retry will not help.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("the gate failed on {}: nothing was built from it", .0.display())]
    GateFailed(PathBuf),
    #[error("smoke test of {platform} with {event} failed: {outcome}\n{logs}")]
    SmokeFailed {
        platform: Platform,
        event: String,
        outcome: String,
        logs: String,
    },
    #[error("{failed} of {run} smoke invocations failed")]
    SmokeInvocations { failed: usize, run: usize },
    #[error("not deployable: {0}")]
    NotDeployable(#[from] NotDeployable),
    #[error("refused: tag `{tag}` already points at {current} and is immutable (in the registry, or not one of the policy's moving tags): it cannot be moved to {wanted}")]
    ImmutableTag {
        tag: String,
        current: String,
        wanted: String,
    },
    #[error("promotion refused: {0}")]
    Ladder(#[from] LadderRefusal),
    #[error("refused: {0}")]
    Deploy(#[from] DeployRefusal),
    #[error("{}:{} rolled back to {}: {}", .0.function, .0.alias, .0.describe_serving(), .0.failure.as_deref().unwrap_or("a check failed"))]
    RolledBack(Box<DeployResult>),
}

/// A worker's end other than success.
#[derive(Debug)]
pub enum Stop {
    Refused(Refusal),
    Failed(anyhow::Error),
}

/// What a runner worker returns.
pub type Outcome<T> = Result<T, Stop>;

impl Stop {
    /// A failure of the machinery, from any error type (`.map_err(Stop::failed)?`).
    pub fn failed<E: Into<anyhow::Error>>(error: E) -> Stop {
        Stop::Failed(error.into())
    }

    /// Adds context to a failure; a refusal says what it is on its own.
    pub fn context<C>(self, context: C) -> Stop
    where
        C: std::fmt::Display + Send + Sync + 'static,
    {
        match self {
            Stop::Failed(error) => Stop::Failed(error.context(context)),
            refused => refused,
        }
    }

    /// The stop as an error, where a refusal can no longer be acted on as one (the failure of a
    /// rollback, which is reported whatever stopped it).
    pub fn into_error(self) -> anyhow::Error {
        match self {
            Stop::Failed(error) => error,
            Stop::Refused(refusal) => anyhow::Error::new(refusal),
        }
    }

    /// A registry's failure while `wanted` was written: a tag the registry will not move is a
    /// refusal naming that tag and both digests; anything else is a failure.
    pub fn from_registry(error: RegistryError, wanted: &str) -> Stop {
        match error {
            RegistryError::ImmutableTag { tag, digest, .. } => {
                Stop::Refused(Refusal::ImmutableTag {
                    tag,
                    current: digest,
                    wanted: wanted.to_string(),
                })
            }
            other => Stop::Failed(other.into()),
        }
    }
}

impl From<Refusal> for Stop {
    fn from(refusal: Refusal) -> Self {
        Stop::Refused(refusal)
    }
}

impl From<DeployRefusal> for Stop {
    fn from(refusal: DeployRefusal) -> Self {
        Stop::Refused(refusal.into())
    }
}

impl From<LadderRefusal> for Stop {
    fn from(refusal: LadderRefusal) -> Self {
        Stop::Refused(refusal.into())
    }
}

impl From<NotDeployable> for Stop {
    fn from(refusal: NotDeployable) -> Self {
        Stop::Refused(refusal.into())
    }
}

// Failures of the machinery, for `?`. Listed one by one rather than for every error type:
// a refusal type is an error type too, and must never turn into a failure by a `?`.
impl From<anyhow::Error> for Stop {
    fn from(error: anyhow::Error) -> Self {
        Stop::Failed(error)
    }
}

impl From<RegistryError> for Stop {
    fn from(error: RegistryError) -> Self {
        Stop::Failed(error.into())
    }
}

impl From<std::io::Error> for Stop {
    fn from(error: std::io::Error) -> Self {
        Stop::Failed(error.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_its_own_words_and_a_failure_gains_context() {
        let refused = Stop::from(Refusal::GateFailed("fn".into())).context("building fn");
        assert!(
            matches!(&refused, Stop::Refused(Refusal::GateFailed(p)) if p.as_os_str() == "fn"),
            "{refused:?}"
        );
        let failed = Stop::from(anyhow::anyhow!("connection refused")).context("pushing fn");
        match failed {
            Stop::Failed(error) => {
                assert_eq!(format!("{error:#}"), "pushing fn: connection refused")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_immutable_tag_is_a_refusal_naming_both_digests_other_registry_errors_fail() {
        let stop = Stop::from_registry(
            RegistryError::ImmutableTag {
                registry: "r".into(),
                tag: "0a1b2c3d4e5f-amd64".into(),
                digest: "sha256:aa".into(),
            },
            "sha256:bb",
        );
        match stop {
            Stop::Refused(refusal @ Refusal::ImmutableTag { .. }) => {
                let text = refusal.to_string();
                assert!(text.contains("`0a1b2c3d4e5f-amd64`"), "{text}");
                assert!(
                    text.contains("sha256:aa") && text.contains("sha256:bb"),
                    "{text}"
                );
            }
            other => panic!("{other:?}"),
        }
        let stop = Stop::from_registry(
            RegistryError::Status {
                registry: "r".into(),
                what: "PUT manifest".into(),
                status: 500,
                body: String::new(),
            },
            "sha256:bb",
        );
        assert!(matches!(stop, Stop::Failed(_)));
    }
}
