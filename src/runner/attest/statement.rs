//! in-toto Statements (v1) and the predicates the runner attests: SLSA provenance v1 (how the
//! image was built), the gate's verdict (that it passed which policy), and the SBOM.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The DSSE payload type of an in-toto Statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// The gate's verdict on the sources an image was built from.
pub const VERDICT_V1: &str = "https://lambda-gate.dev/attestation/verdict/v1";
pub const CYCLONEDX: &str = "https://cyclonedx.org/bom";
/// What [`SLSA_PROVENANCE_V1`]'s `buildType` says: a lambda-gate build through the Engine.
pub const BUILD_TYPE: &str = "https://lambda-gate.dev/build/engine/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub statement_type: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: Value,
}

/// An artifact the statement is about: a name and its digests (`sha256` → hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

impl Subject {
    /// `name` (a repository) at `digest` (`sha256:<hex>`).
    pub fn image(name: &str, digest: &str) -> Subject {
        let (algorithm, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
        Subject {
            name: name.to_string(),
            digest: BTreeMap::from([(algorithm.to_string(), hex.to_string())]),
        }
    }

    /// Whether this subject is `digest` (`sha256:<hex>`).
    pub fn is(&self, digest: &str) -> bool {
        digest.split_once(':').is_some_and(|(algorithm, hex)| {
            self.digest.get(algorithm).map(String::as_str) == Some(hex)
        })
    }
}

impl Statement {
    pub fn new(subject: Vec<Subject>, predicate_type: &str, predicate: Value) -> Statement {
        Statement {
            statement_type: STATEMENT_TYPE.to_string(),
            subject,
            predicate_type: predicate_type.to_string(),
            predicate,
        }
    }

    /// The statement's bytes as they are signed.
    pub fn to_payload(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn parse(payload: &[u8]) -> Result<Statement, String> {
        let statement: Statement = serde_json::from_slice(payload)
            .map_err(|e| format!("the payload is not an in-toto Statement: {e}"))?;
        if statement.statement_type != STATEMENT_TYPE {
            return Err(format!(
                "statement type `{}`, expected `{STATEMENT_TYPE}`",
                statement.statement_type
            ));
        }
        Ok(statement)
    }

    pub fn is_about(&self, digest: &str) -> bool {
        self.subject.iter().any(|s| s.is(digest))
    }
}

/// What a build was, for its provenance. Never holds a secret: BuildKit secrets are named by
/// id only, and build arguments whose names say they hold credentials are left out (see
/// [`BuildFacts::without_secrets`]). A built image carries its platform's facts in a label
/// ([`crate::runner::build::FACTS_LABEL`]), so `push` can attest what `build` did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildFacts {
    /// The git remote (`origin`) the project came from, when it has one.
    pub source_uri: Option<String>,
    pub commit: Option<String>,
    pub dockerfile: String,
    pub platforms: Vec<String>,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub secret_ids: Vec<String>,
    /// Each base as named in the Dockerfile, with the digest it resolved to (per platform).
    pub bases: Vec<(String, Vec<(String, String)>)>,
    /// `classic` or `buildkit`.
    pub builder: String,
    /// The CI run: Jenkins' `BUILD_URL` or `BUILD_TAG` when set.
    pub invocation: Option<String>,
    pub started: String,
    pub finished: String,
    /// `sha256:` of the build context (the files the image was built from).
    #[serde(default)]
    pub context_digest: String,
}

impl BuildFacts {
    /// The same facts with every credential-named build argument dropped.
    pub fn without_secrets(mut self) -> BuildFacts {
        self.build_args.retain(|name, _| !is_secret_name(name));
        self
    }

    /// The facts of several platforms' images of one build, as one: platforms and bases joined.
    pub fn merge(mut self, other: BuildFacts) -> BuildFacts {
        for platform in other.platforms {
            if !self.platforms.contains(&platform) {
                self.platforms.push(platform);
            }
        }
        for (name, digests) in other.bases {
            match self.bases.iter_mut().find(|(n, _)| *n == name) {
                Some((_, known)) => known.extend(digests),
                None => self.bases.push((name, digests)),
            }
        }
        self
    }
}

/// Whether a build argument's name says it carries a credential (its value is never attested).
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "CREDENTIAL",
        "PRIVATE",
        "API_KEY",
        "ACCESS_KEY",
    ]
    .iter()
    .any(|word| upper.contains(word))
}

/// The SLSA provenance v1 predicate of a build.
pub fn provenance(facts: &BuildFacts) -> Value {
    let build_args: BTreeMap<&str, &str> = facts
        .build_args
        .iter()
        .filter(|(name, _)| !is_secret_name(name))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();

    let mut external = json!({
        "dockerfile": facts.dockerfile,
        "platforms": facts.platforms,
        "buildArgs": build_args,
    });
    if let Some(target) = &facts.target {
        external["target"] = json!(target);
    }
    if !facts.secret_ids.is_empty() {
        external["secretIds"] = json!(facts.secret_ids);
    }
    let mut dependencies = Vec::new();
    if !facts.context_digest.is_empty() {
        // The files the image was built from, as sent to the builder (after .dockerignore).
        dependencies.push(json!({
            "uri": "context:.",
            "name": "build context",
            "digest": digest_map(&facts.context_digest),
        }));
    }
    if let Some(commit) = &facts.commit {
        let uri = facts
            .source_uri
            .as_ref()
            .map_or_else(|| "git+unknown".to_string(), |uri| format!("git+{uri}"));
        external["source"] = json!({"uri": uri, "digest": {"gitCommit": commit}});
        dependencies.push(json!({"uri": uri, "digest": {"gitCommit": commit}}));
    }
    for (name, digests) in &facts.bases {
        for (platform, digest) in digests {
            dependencies.push(json!({
                "uri": format!("docker-image://{name}"),
                "name": name,
                "digest": digest_map(digest),
                "annotations": {"platform": platform},
            }));
        }
    }
    let mut metadata = json!({"startedOn": facts.started, "finishedOn": facts.finished});
    if let Some(invocation) = &facts.invocation {
        metadata["invocationId"] = json!(invocation);
    }
    json!({
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": external,
            "internalParameters": {"builder": facts.builder},
            "resolvedDependencies": dependencies,
        },
        "runDetails": {
            "builder": {
                "id": builder_id(facts.invocation.as_deref()),
                "version": {"lambda-gate": env!("CARGO_PKG_VERSION")},
            },
            "metadata": metadata,
        },
    })
}

/// `{"sha256": hex}` of `sha256:hex`.
fn digest_map(digest: &str) -> Value {
    let (algorithm, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
    json!({algorithm: hex})
}

/// The builder's identity: the Jenkins instance when the build runs in one, else lambda-gate on
/// a machine nobody vouches for.
fn builder_id(invocation: Option<&str>) -> String {
    match std::env::var("JENKINS_URL") {
        Ok(url) if !url.is_empty() => url,
        _ if invocation.is_some() => "https://lambda-gate.dev/builder/ci".into(),
        _ => "https://lambda-gate.dev/builder/local".into(),
    }
}

/// The gate's verdict, as attested: what was checked, under which policy, with what result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// `passed` or `failed`.
    pub result: String,
    pub gate: GateIdentity,
    pub policy: PolicyIdentity,
    /// Every rule at a level other than `off`, by id.
    pub rules_enabled: Vec<String>,
    /// The digest of what the gate read (the project's files, as the build context holds them).
    pub inputs_digest: String,
    /// Diagnostics per family and severity: `{"dockerfile": {"warning": 1}}`.
    pub counts: BTreeMap<String, BTreeMap<String, usize>>,
    /// Coverage totals (percent) of each report the gate read, by the report's path.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub coverage: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub time_verified: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateIdentity {
    pub name: String,
    pub version: String,
}

impl GateIdentity {
    pub fn this() -> GateIdentity {
        GateIdentity {
            name: "lambda-gate".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyIdentity {
    /// `sha256:` of the gate's part of the effective policy (rules and family settings).
    pub digest: String,
    /// Where it came from: the policy file, or `embedded`.
    pub source: String,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.result == "passed"
    }

    pub fn predicate(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_round_trip_and_know_their_subjects() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let statement = Statement::new(
            vec![Subject::image("127.0.0.1:5000/app", &digest)],
            SLSA_PROVENANCE_V1,
            provenance(&BuildFacts::default()),
        );
        let parsed = Statement::parse(&statement.to_payload()).unwrap();
        assert_eq!(parsed, statement);
        assert!(parsed.is_about(&digest));
        assert!(!parsed.is_about(&format!("sha256:{}", "cd".repeat(32))));
        assert!(Statement::parse(
            br#"{"_type":"x","subject":[],"predicateType":"p","predicate":{}}"#
        )
        .unwrap_err()
        .contains("statement type"));
    }

    #[test]
    fn credentials_in_build_args_are_never_attested() {
        let facts = BuildFacts {
            build_args: BTreeMap::from([
                ("PIP_INDEX_TOKEN".to_string(), "s3cr3t".to_string()),
                ("BASE_IMAGE".to_string(), "base@sha256:00".to_string()),
            ]),
            secret_ids: vec!["pip".into()],
            ..Default::default()
        };
        let text = provenance(&facts).to_string();
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("BASE_IMAGE"));
        assert!(text.contains(r#""secretIds":["pip"]"#));
    }
}
