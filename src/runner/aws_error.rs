//! AWS API failures as a person can act on them: one line saying what failed and what to do.
//! The SDK's own account (every credential provider tried, the connector's `Debug` chain) is
//! kept as the error's detail and printed only with `--verbose`.

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_ecr::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::error::Detailed;

/// Explains `error` from the AWS API call `operation` (e.g. `BatchGetImage`).
pub fn explain<E, R>(operation: &str, error: SdkError<E, R>) -> Detailed
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let summary = summary(operation, &error);
    Detailed {
        summary,
        detail: DisplayErrorContext(&error).to_string(),
    }
}

fn summary<E, R>(operation: &str, error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match error {
        SdkError::DispatchFailure(failure) => {
            if let Some(credentials) = credentials_error(error) {
                return credentials;
            }
            if failure.is_timeout() {
                format!("{operation}: the AWS endpoint did not answer in time: check the network, or AWS_ENDPOINT_URL if an emulator is meant")
            } else {
                format!("{operation}: cannot reach the AWS endpoint: check the network and the region, or AWS_ENDPOINT_URL if an emulator is meant")
            }
        }
        SdkError::TimeoutError(_) => {
            format!("{operation}: the AWS call timed out: try again; check the network if it persists")
        }
        SdkError::ServiceError(service) => {
            let error = service.err();
            let code = error.code().unwrap_or("an unnamed error");
            let message = error.message().unwrap_or("no message");
            match code {
                "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "InvalidSignatureException"
                | "SignatureDoesNotMatch" => format!(
                    "{operation}: AWS refused the credentials ({code}): check AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and that the keys are current"
                ),
                "ExpiredTokenException" | "ExpiredToken" | "RequestExpired" => format!(
                    "{operation}: the AWS session has expired ({code}): renew it (`aws sso login`, or a fresh role session) and run again"
                ),
                "AccessDeniedException" | "AccessDenied" => format!(
                    "{operation}: the AWS identity may not do this: {message} (grant the action in its IAM policy, or pass --role-arn where the command takes one)"
                ),
                "RepositoryNotFoundException" => format!(
                    "{operation}: {message}: check the repository name, account and region, or create the repository (terraform/modules)"
                ),
                "ParameterNotFound" => format!(
                    "{operation}: the SSM parameter does not exist in this account and region: {message}"
                ),
                _ => format!("{operation}: {code}: {message}"),
            }
        }
        SdkError::ConstructionFailure(_) => format!(
            "{operation}: the request could not be made (region or endpoint configuration?): set AWS_REGION or the command's region"
        ),
        _ => format!("{operation}: AWS answered in a way the SDK could not read: try again; run with --verbose for the SDK's account"),
    }
}

/// A credential provider's failure anywhere in `error`'s causes, explained.
fn credentials_error(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = error.source();
    while let Some(current) = cause {
        if let Some(credentials) = current.downcast_ref::<CredentialsError>() {
            return Some(match credentials {
                CredentialsError::CredentialsNotLoaded(_) => "no AWS credentials: set AWS_PROFILE (a profile in ~/.aws), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role provides them (an EC2/ECS role, web identity; in Jenkins, withAWS or the agent's role)".to_string(),
                CredentialsError::ProviderTimedOut(_) => "the AWS credential provider timed out (instance metadata or SSO unreachable?): set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or AWS_EC2_METADATA_DISABLED=true off EC2".to_string(),
                CredentialsError::InvalidConfiguration(_) => format!("the AWS credential configuration is invalid: {}: fix the profile in ~/.aws/config or the AWS_* variables", first_line(current)),
                _ => format!("the AWS credentials could not be loaded: {}", first_line(current)),
            });
        }
        cause = current.source();
    }
    None
}

/// An error's own message and its causes, on one line, without `Debug` output.
fn first_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        let next = current.to_string();
        if !text.contains(&next) {
            text = format!("{text}: {next}");
        }
        cause = current.source();
    }
    text.lines().next().unwrap_or_default().to_string()
}
