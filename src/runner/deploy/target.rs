//! Where a function lives and how lambda-gate reaches it: resolved once from the command line's
//! choices and the policy's environment, then connected (with the role assumed when asked).

use crate::policy::EnvironmentPolicy;

/// Where a function lives and how lambda-gate reaches it.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// A name or an ARN.
    pub function: String,
    pub alias: String,
    /// Default: the AWS configuration's region.
    pub region: Option<String>,
    /// Assumed (STS) for an environment in another account.
    pub role_arn: Option<String>,
    /// The external ID the role's trust policy asks for (`sts:ExternalId`).
    pub external_id: Option<String>,
    /// The assumed role's session name: CloudTrail records it with every call, so it names the
    /// build ([`session_name`]).
    pub session_name: String,
}

/// What the command line says of a target; each unset field falls back to the environment's.
#[derive(Debug, Clone, Default)]
pub struct TargetChoice {
    pub function: Option<String>,
    pub alias: Option<String>,
    pub region: Option<String>,
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    pub session_name: String,
}

impl Target {
    /// The command line's choice over the environment's settings; the alias defaults to `live`.
    pub fn resolve(
        choice: &TargetChoice,
        environment: Option<&EnvironmentPolicy>,
    ) -> Result<Target, String> {
        let function = choice
            .function
            .clone()
            .or_else(|| environment.map(|e| e.function.clone()))
            .ok_or("name the FUNCTION, or an --environment whose policy names it")?;
        Ok(Target::of(function, choice, environment))
    }

    fn of(
        function: String,
        choice: &TargetChoice,
        environment: Option<&EnvironmentPolicy>,
    ) -> Target {
        Target {
            function,
            alias: choice
                .alias
                .clone()
                .or_else(|| environment.map(|e| e.alias.clone()))
                .unwrap_or_else(|| "live".into()),
            region: choice
                .region
                .clone()
                .or_else(|| environment.and_then(|e| e.region.clone())),
            role_arn: choice
                .role_arn
                .clone()
                .or_else(|| environment.and_then(|e| e.role_arn.clone())),
            external_id: choice.external_id.clone(),
            session_name: choice.session_name.clone(),
        }
    }

    /// Another environment's target reached with the same credentials choices (the rung below on
    /// a ladder): only its own settings, none of the command line's function, alias, region or
    /// role.
    pub fn of_environment(environment: &EnvironmentPolicy, choice: &TargetChoice) -> Target {
        let credentials_only = TargetChoice {
            external_id: choice.external_id.clone(),
            session_name: choice.session_name.clone(),
            ..TargetChoice::default()
        };
        Target::of(
            environment.function.clone(),
            &credentials_only,
            Some(environment),
        )
    }

    /// The function's name, also when it is given as an ARN
    /// (`arn:aws:lambda:region:account:function:NAME[:qualifier]`): what metric dimensions say.
    pub fn function_name(&self) -> &str {
        match self.function.strip_prefix("arn:") {
            Some(_) => self.function.split(':').nth(6).unwrap_or(&self.function),
            None => &self.function,
        }
    }
}

/// The session name for an assumed role: the one given, else Jenkins' `BUILD_TAG`
/// (`jenkins-team-quote-42`), else `lambda-gate-deploy`; made what STS accepts (2 to 64 of
/// letters, digits and `+=,.@-`; anything else becomes `-`).
pub fn session_name(given: Option<&str>, build_tag: Option<&str>) -> String {
    let raw = given
        .or(build_tag)
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .unwrap_or("lambda-gate-deploy");
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    // Keep the end: a build number is what tells two runs of a job apart.
    if name.len() > 64 {
        name = name[name.len() - 64..].to_string();
    }
    if name.len() < 2 {
        name = format!("lambda-gate-{name}");
    }
    name
}

/// The AWS clients of one target, with the role assumed when asked.
pub(crate) struct Clients {
    pub lambda: aws_sdk_lambda::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub ssm: aws_sdk_ssm::Client,
}

impl Clients {
    pub async fn connect(target: &Target) -> anyhow::Result<Clients> {
        let mut loader = aws_config::from_env();
        let region = target
            .region
            .clone()
            .or_else(|| region_of_arn(&target.function));
        if let Some(region) = region {
            loader = loader.region(aws_config::Region::new(region));
        }
        let mut config = loader.load().await;
        if let Some(role) = &target.role_arn {
            let mut provider = aws_config::sts::AssumeRoleProvider::builder(role)
                .session_name(&target.session_name)
                .configure(&config);
            if let Some(external_id) = &target.external_id {
                provider = provider.external_id(external_id);
            }
            let provider = provider.build().await;
            config = config
                .into_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build();
        }
        Ok(Clients {
            lambda: aws_sdk_lambda::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
        })
    }
}

/// `arn:aws:lambda:<region>:<account>:function:<name>` names its region.
fn region_of_arn(function: &str) -> Option<String> {
    let parts: Vec<&str> = function.split(':').collect();
    (parts.len() >= 7 && parts[0] == "arn" && parts[2] == "lambda").then(|| parts[3].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_name_names_the_build_as_sts_accepts_it() {
        assert_eq!(
            session_name(None, Some("jenkins-team/quote-main-42")),
            "jenkins-team-quote-main-42"
        );
        assert_eq!(session_name(Some("release 7"), Some("x")), "release-7");
        assert_eq!(session_name(None, None), "lambda-gate-deploy");
        assert_eq!(session_name(None, Some("  ")), "lambda-gate-deploy");
        let long = format!("jenkins-{}-1234", "a".repeat(80));
        let name = session_name(None, Some(&long));
        assert_eq!(name.len(), 64);
        assert!(name.ends_with("-1234"), "{name}");
        assert_eq!(session_name(Some("x"), None), "lambda-gate-x");
    }

    #[test]
    fn the_command_line_wins_over_the_environment_and_arns_name_region_and_function() {
        let environment: EnvironmentPolicy = toml::from_str(
            "function = \"arn:aws:lambda:eu-west-1:123456789012:function:quote\"\nalias = \"prod\"\nregion = \"eu-west-1\"\n",
        )
        .unwrap();
        let choice = TargetChoice {
            alias: Some("blue".into()),
            session_name: "build-7".into(),
            ..TargetChoice::default()
        };
        let target = Target::resolve(&choice, Some(&environment)).unwrap();
        assert_eq!(target.alias, "blue");
        assert_eq!(target.region.as_deref(), Some("eu-west-1"));
        assert_eq!(target.function_name(), "quote");
        assert_eq!(target.session_name, "build-7");
        // The rung below is reached as its own environment says, with the same credentials.
        let below = Target::of_environment(&environment, &choice);
        assert_eq!(below.alias, "prod");
        assert_eq!(below.session_name, "build-7");
        assert!(Target::resolve(&TargetChoice::default(), None).is_err());
        assert_eq!(
            Target::resolve(
                &TargetChoice {
                    function: Some("f".into()),
                    ..TargetChoice::default()
                },
                None
            )
            .unwrap()
            .alias,
            "live"
        );
        assert_eq!(
            region_of_arn("arn:aws:lambda:eu-west-1:123456789012:function:quote"),
            Some("eu-west-1".into())
        );
        assert_eq!(region_of_arn("quote"), None);
    }
}
