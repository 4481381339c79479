//! Signed attestations, end to end against the local registry (distribution 2.8: no referrers
//! API, so the OCI referrers tag schema is what stores them) and read back by others' tools
//! (`tests/attest/verify.py`: oras, securesystemslib, in-toto-attestation, cyclonedx).

use super::*;

/// A key pair made by openssl, as a team would make it: `(private, public)` PEM paths.
fn key_pair(dir: &Path, name: &str, algorithm: &str) -> (PathBuf, PathBuf) {
    let private = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub"));
    let mut generate = Process::new("openssl");
    generate.arg("genpkey");
    match algorithm {
        "ed25519" => generate.args(["-algorithm", "ed25519"]),
        _ => generate.args(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
    };
    let made = generate
        .arg("-out")
        .arg(&private)
        .output()
        .expect("openssl");
    assert!(made.status.success(), "{}", text(&made));
    let exported = Process::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&private)
        .arg("-out")
        .arg(&public)
        .output()
        .expect("openssl");
    assert!(exported.status.success(), "{}", text(&exported));
    (private, public)
}

/// `build` for `platforms` without smoke tests, signed with `key` when given: its report.
fn built(project: &Path, repository: &str, platforms: &str, key: Option<&Path>) -> Value {
    let mut extra = vec!["--platform", platforms, "--no-smoke"];
    if let Some(key) = key {
        extra.extend(["--sign-key", key.to_str().unwrap()]);
    }
    let output = build(project, repository, &extra);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        !text(&output).contains("PRIVATE KEY"),
        "no key material in any output"
    );
    json(&output)
}

fn verify_with_standard_tools(repository: &str, subject: &str, public: &Path) -> Value {
    let output = Process::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/attest/verify.py"))
        .args([&registry(), repository, subject])
        .arg(public)
        .output()
        .expect("python3 (tests/requirements.txt)");
    assert!(output.status.success(), "verify.py: {}", text(&output));
    serde_json::from_slice(&output.stdout).expect("verify.py prints JSON")
}

fn by_type<'a>(referrers: &'a Value, predicate: &str) -> &'a Value {
    referrers["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["predicateType"] == predicate)
        .unwrap_or_else(|| panic!("no {predicate} referrer in {referrers}"))
}

#[test]
fn a_signed_build_attaches_provenance_verdict_and_sbom_that_standard_tools_verify() {
    let keys = tempfile::tempdir().unwrap();
    let (private, public) = key_pair(keys.path(), "release", "p256");
    let (_dir, project) = example_project();
    // One third-party requirement, installed by (stand-in) pip with its metadata.
    std::fs::write(project.join("requirements.txt"), "requests==2.32.3\n").unwrap();
    let repository_path = unique("attest/app");
    let repository = format!("{}/{repository_path}", registry());
    let report = built(
        &project,
        &repository,
        "linux/amd64,linux/arm64",
        Some(&private),
    );
    let index = report["index_digest"].as_str().unwrap().to_string();
    let attestations = report["attestations"].as_array().unwrap();
    assert_eq!(
        attestations.len(),
        3,
        "the index and both platforms: {report}"
    );

    let amd64 = report["platforms"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let found = verify_with_standard_tools(&repository_path, &amd64, &public);
    assert_eq!(found["referrers"].as_array().unwrap().len(), 3, "{found}");
    for referrer in found["referrers"].as_array().unwrap() {
        assert_eq!(
            referrer["artifactType"],
            "application/vnd.dsse.envelope.v1+json"
        );
        assert_eq!(referrer["subject"], amd64.as_str());
        assert_eq!(
            referrer["annotations"]["in-toto.io/predicate-type"],
            referrer["predicateType"]
        );
        assert_eq!(referrer["signedBy"].as_array().unwrap().len(), 1);
        assert!(referrer["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| format!("sha256:{}", s.as_str().unwrap()) == amd64));
    }

    let provenance = by_type(&found, "https://slsa.dev/provenance/v1");
    assert_eq!(provenance["provenanceValid"], true);
    let definition = &provenance["predicate"]["buildDefinition"];
    assert_eq!(definition["externalParameters"]["dockerfile"], "Dockerfile");
    assert_eq!(
        definition["externalParameters"]["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64"])
    );
    let base_name = base();
    assert!(
        definition["resolvedDependencies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == base_name.as_str() && d["digest"]["sha256"].is_string()),
        "the base, by digest: {definition}"
    );
    assert!(definition["externalParameters"]["source"]["digest"]["gitCommit"].is_string());

    let verdict = by_type(&found, "https://lambda-gate.dev/attestation/verdict/v1");
    assert_eq!(verdict["predicate"]["result"], "passed");
    assert!(verdict["predicate"]["policy"]["digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert!(verdict["predicate"]["rulesEnabled"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == "DKR005"));

    let sbom = by_type(&found, "https://cyclonedx.org/bom");
    assert_eq!(sbom["cyclonedxValid"], true, "{}", sbom["cyclonedxErrors"]);
    let packages: Vec<String> = sbom["predicate"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["purl"].as_str().unwrap().to_string())
        .collect();
    assert!(
        packages.contains(&"pkg:pypi/requests@2.32.3".to_string())
            && packages.contains(&"pkg:pypi/boto3@1.34.145".to_string()),
        "the project's and the base's packages: {packages:?}"
    );

    // The index carries provenance and the verdict too (an SBOM is per platform).
    let on_index = verify_with_standard_tools(&repository_path, &index, &public);
    assert_eq!(
        on_index["referrers"].as_array().unwrap().len(),
        2,
        "{on_index}"
    );
}

/// `verify-deployable --environment` and `deploy --environment` as an environment's gate
/// keepers: the attested image passes (and the published version names its verdict); an unsigned
/// image, one signed by another key, and one judged under another policy are refused before any
/// change, each with its own message; `--emergency` passes and says so.
#[test]
fn deploy_and_verify_deployable_take_only_images_with_a_signed_verdict_of_this_policy() {
    let keys = tempfile::tempdir().unwrap();
    let (private, public) = key_pair(keys.path(), "release", "p256");
    let (other_private, _) = key_pair(keys.path(), "other", "ed25519");
    let (_dir, project) = example_project();
    let function_name = unique("attested");
    let policy_file = project.join("lambda-gate.toml");
    std::fs::copy(&public, project.join("release.pub")).unwrap();
    // prod is the last rung of the ladder: it requires attestation without saying so.
    let environments = format!(
        "[promotion]\nladders = [[\"staging\", \"prod\"]]\n\n[deploy.environments.staging]\nfunction = \"{function_name}-staging\"\n\n[deploy.environments.prod]\nfunction = \"{function_name}\"\nattestation-key = \"release.pub\"\n"
    );
    std::fs::write(&policy_file, &environments).unwrap();
    let repository_path = unique("attest/verify");
    let repository = format!("{}/{repository_path}", registry());
    let digest = built(&project, &repository, "linux/amd64", Some(&private))["platforms"][0]
        ["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let verify = |image: &str| {
        run(gate()
            .args(["verify-deployable", image, "--architecture", "x86_64"])
            .args(["--environment", "prod", "--project"])
            .arg(&project)
            .args(["--format", "json"]))
    };
    let reason = |output: &Output| {
        json(output)["reason"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let good = verify(&format!("{repository}@{digest}"));
    assert_eq!(good.status.code(), Some(0), "{}", text(&good));
    assert_eq!(json(&good)["attestation"]["verdict"]["result"], "passed");

    // A hand-pushed image of the same project: built, but never signed.
    let by_hand = unique("attest/by-hand");
    let unsigned = built(
        &project,
        &format!("{}/{by_hand}", registry()),
        "linux/amd64",
        None,
    );
    let unsigned_image = format!(
        "{}/{by_hand}@{}",
        registry(),
        unsigned["platforms"][0]["digest"].as_str().unwrap()
    );
    let refused = verify(&unsigned_image);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        reason(&refused).contains("carries no signed gate verdict"),
        "{}",
        text(&refused)
    );

    // Signed with a key that is not prod's.
    let foreign = unique("attest/foreign");
    let other = built(
        &project,
        &format!("{}/{foreign}", registry()),
        "linux/amd64",
        Some(&other_private),
    );
    let other_digest = other["platforms"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = verify(&format!("{}/{foreign}@{other_digest}", registry()));
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        reason(&refused).contains("not by prod's key"),
        "{}",
        text(&refused)
    );

    // Deploy: the hand-pushed image reached staging (the rung below, which asks for no
    // attestation); prod refuses it all the same.
    function(
        &function_name,
        "x86_64",
        &format!("{repository}@sha256:{}", "0".repeat(64)),
    );
    function(
        &format!("{function_name}-staging"),
        "x86_64",
        &unsigned_image,
    );
    let project_dir = project.to_str().unwrap();
    let hand_deploy = deploy(&[
        "--environment",
        "prod",
        "--image",
        &unsigned_image,
        "--project",
        project_dir,
    ]);
    assert_eq!(hand_deploy.status.code(), Some(1), "{}", text(&hand_deploy));
    assert!(
        String::from_utf8_lossy(&hand_deploy.stderr).contains("carries no signed gate verdict"),
        "{}",
        text(&hand_deploy)
    );
    assert_eq!(serving(&function_name)["version"], "1", "nothing changed");

    let to_staging = deploy(&[
        "--environment",
        "staging",
        "--image",
        &format!("{repository}@{digest}"),
        "--project",
        project_dir,
    ]);
    assert_eq!(to_staging.status.code(), Some(0), "{}", text(&to_staging));
    assert!(
        json(&to_staging).get("attestation").is_none(),
        "staging asks for none"
    );

    let deployed = deploy(&[
        "--environment",
        "prod",
        "--image",
        &format!("{repository}@{digest}"),
        "--project",
        project_dir,
    ]);
    assert_eq!(deployed.status.code(), Some(0), "{}", text(&deployed));
    let result = json(&deployed);
    assert_eq!(result["attestation"]["status"], "verified");
    let envelope = result["attestation"]["envelope"]
        .as_str()
        .unwrap()
        .to_string();
    let description = aws(&format!(
        "print(lam.get_function(FunctionName='{function_name}', Qualifier='{}')['Configuration']['Description'])",
        result["version"].as_str().unwrap()
    ));
    assert!(
        description.starts_with(&format!("verdict {envelope}; ")),
        "the published version names its verdict: {description}"
    );

    // The policy changed since the build: the verdict was made under another one.
    std::fs::write(
        &policy_file,
        format!("rules = {{ DKR009 = \"off\" }}\n\n{environments}"),
    )
    .unwrap();
    let refused = verify(&format!("{repository}@{digest}"));
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        reason(&refused).contains("was made under policy"),
        "{}",
        text(&refused)
    );
}

/// The Jenkins way: `build` without pushing, the smoke test, then `push --sign-key --project`
/// (what `buildLambda`'s Push stage runs with `signingKey`). The push gates the project again and
/// signs only images built from exactly its sources.
#[test]
fn push_signs_only_images_built_from_the_sources_it_gates() {
    let keys = tempfile::tempdir().unwrap();
    let (private, public) = key_pair(keys.path(), "release", "p256");
    let (_dir, project) = example_project();
    std::fs::copy(&public, project.join("release.pub")).unwrap();
    std::fs::write(
        project.join("lambda-gate.toml"),
        "[deploy.environments.prod]\nfunction = \"app\"\nrequire-attestation = true\nattestation-key = \"release.pub\"\n",
    )
    .unwrap();
    let report = build_unpushed(&project, "linux/amd64");
    let repository = format!("{}/{}", registry(), unique("attest/pushed"));
    let push = |project: &Path| {
        let mut command = gate();
        command
            .args([
                "push",
                &repository,
                "--tag",
                "v1",
                "--format",
                "json",
                "--quiet",
            ])
            .args([
                "--image",
                &format!(
                    "linux/amd64={}",
                    report["platforms"][0]["image_id"].as_str().unwrap()
                ),
            ])
            .arg("--project")
            .arg(project)
            .env("LAMBDA_GATE_SIGNING_KEY", &private);
        run(&mut command)
    };
    let pushed = push(&project);
    assert_eq!(pushed.status.code(), Some(0), "{}", text(&pushed));
    let pushed = json(&pushed);
    assert_eq!(
        pushed["attestations"].as_array().unwrap().len(),
        2,
        "{pushed}"
    );
    let image = pushed["platforms"][0]["image_uri"]
        .as_str()
        .unwrap()
        .to_string();
    let verified = run(gate()
        .args(["verify-deployable", &image, "--architecture", "x86_64"])
        .args(["--environment", "prod", "--project"])
        .arg(&project)
        .args(["--format", "json"]));
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified));
    let verdict = &json(&verified)["attestation"]["verdict"];
    assert_eq!(verdict["result"], "passed");
    assert!(verdict["commit"].is_string(), "{verdict}");

    // A source changed after the build: the gate's verdict would be about other files.
    let handler = project.join("app/handler.py");
    let mut text_now = std::fs::read_to_string(&handler).unwrap();
    text_now.push_str("\n# changed after the build\n");
    std::fs::write(&handler, text_now).unwrap();
    let refused = push(&project);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("built from other sources"),
        "{}",
        text(&refused)
    );
}
