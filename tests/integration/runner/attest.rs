//! Signed attestations, end to end against the local registry (distribution 2.8: no referrers
//! API, so the OCI referrers tag schema is what stores them) and read back by others' tools
//! (`tests/attest/verify.py`: oras, securesystemslib, in-toto-attestation, cyclonedx).

use std::ffi::OsStr;

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

/// Runs `tests/attest/SCRIPT` (Python, no lambda-gate code) with the registry, `repository`,
/// `subject` and `more` as arguments: its standard output, once it has succeeded.
fn attest_script(script: &str, repository: &str, subject: &str, more: &[&OsStr]) -> Vec<u8> {
    let output = Process::new("python3")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/attest")
                .join(script),
        )
        .args([&registry(), repository, subject])
        .args(more)
        .output()
        .expect("python3 (tests/requirements.txt)");
    assert!(output.status.success(), "{script}: {}", text(&output));
    output.stdout
}

fn verify_with_standard_tools(repository: &str, subject: &str, public: &Path) -> Value {
    let stdout = attest_script("verify.py", repository, subject, &[public.as_os_str()]);
    serde_json::from_slice(&stdout).expect("verify.py prints JSON")
}

fn by_type<'a>(referrers: &'a Value, predicate: &str) -> &'a Value {
    referrers["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["predicateType"] == predicate)
        .unwrap_or_else(|| panic!("no {predicate} referrer in {referrers}"))
}

/// A policy whose `prod` takes only images with a verdict signed by `key` (a file relative to
/// the project, or `awskms:KEY`).
fn prod_requires(project: &Path, key: &str) {
    std::fs::write(
        project.join("lambda-gate.toml"),
        format!("[deploy.environments.prod]\nfunction = \"unused\"\nrequire-attestation = true\nattestation-key = \"{key}\"\n"),
    )
    .unwrap();
}

/// The example project with a fresh P-256 key pair: the public half is the project's
/// `release.pub`, by which its policy's `prod` requires verdicts to be signed.
struct ProdProject {
    _keys: tempfile::TempDir,
    _dir: tempfile::TempDir,
    private: PathBuf,
    project: PathBuf,
}

fn prod_project() -> ProdProject {
    let keys = tempfile::tempdir().unwrap();
    let (private, public) = key_pair(keys.path(), "release", "p256");
    let (dir, project) = example_project();
    std::fs::copy(&public, project.join("release.pub")).unwrap();
    prod_requires(&project, "release.pub");
    ProdProject {
        _keys: keys,
        _dir: dir,
        private,
        project,
    }
}

/// `verify-deployable IMAGE --environment prod` (x86_64) under `project`'s policy, as JSON.
fn verify_for_prod(image: &str, project: &Path) -> Output {
    run(gate()
        .args(["verify-deployable", image, "--architecture", "x86_64"])
        .args(["--environment", "prod", "--project"])
        .arg(project)
        .args(["--format", "json"]))
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
    // The coverage total the gate read: coverage.py's own total of the report (statements and
    // branches covered over statements and branches).
    let coverage_py: f64 = tool(
        "python3",
        &[
            "-c",
            "import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); n = lambda k: int(r.get(k)); print(100.0 * (n('lines-covered') + n('branches-covered')) / (n('lines-valid') + n('branches-valid')))",
            project.join("coverage.xml").to_str().unwrap(),
        ],
    )
    .trim()
    .parse()
    .unwrap();
    let attested = &verdict["predicate"]["coverage"];
    let total = attested
        .as_object()
        .and_then(|totals| {
            totals
                .iter()
                .find(|(path, _)| path.ends_with("coverage.xml"))
        })
        .and_then(|(_, total)| total.as_f64())
        .unwrap_or_else(|| panic!("the report's total: {attested}"));
    assert!(
        (total - coverage_py).abs() < 1e-9,
        "{total} vs coverage.py's {coverage_py}"
    );

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
    // Bound whole: its temporary directories live as long as the test.
    let prod = prod_project();
    let (private, project) = (prod.private.clone(), prod.project.clone());
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
    let verified = verify_for_prod(&image, &project);
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

/// `tests/attest/tamper.py`: rewrites `subject`'s referrers in the registry with plain
/// distribution API calls, as someone with push access and no key could.
fn tamper(repository: &str, subject: &str, how: &[&str]) {
    let how: Vec<&OsStr> = how.iter().map(OsStr::new).collect();
    attest_script("tamper.py", repository, subject, &how);
}

/// What is in the registry is what counts: a verdict changed by one byte after signing, and a
/// valid verdict of another image attached to this one, are each refused with their own message.
#[test]
fn verdicts_tampered_with_in_the_registry_are_refused_each_with_its_message() {
    // Bound whole: its temporary directories live as long as the test.
    let prod = prod_project();
    let (private, project) = (prod.private.clone(), prod.project.clone());
    let repository_path = unique("attest/tampered");
    let repository = format!("{}/{repository_path}", registry());
    let digest_of = |report: &Value| {
        report["platforms"][0]["digest"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first = digest_of(&built(&project, &repository, "linux/amd64", Some(&private)));
    let handler = project.join("app/handler.py");
    let source = std::fs::read_to_string(&handler).unwrap();
    std::fs::write(&handler, format!("{source}\n# the second image\n")).unwrap();
    let second = digest_of(&built(&project, &repository, "linux/amd64", Some(&private)));
    assert_ne!(first, second);
    let verify = |digest: &str| verify_for_prod(&format!("{repository}@{digest}"), &project);
    let accepted = verify(&first);
    assert_eq!(accepted.status.code(), Some(0), "{}", text(&accepted));

    tamper(&repository_path, &first, &["flip-byte"]);
    let refused = verify(&first);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let reason = json(&refused)["reason"].as_str().unwrap().to_string();
    assert!(
        reason.contains("signature does not verify: the envelope was changed after signing"),
        "{reason}"
    );

    tamper(&repository_path, &first, &["swap-subject", &second]);
    let refused = verify(&first);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let reason = json(&refused)["reason"].as_str().unwrap().to_string();
    assert!(
        reason.contains(&format!(
            "not {first}: it was attached to an image it does not describe"
        )),
        "{reason}"
    );
    // The second image's own verdict is untouched.
    let second_ok = verify(&second);
    assert_eq!(second_ok.status.code(), Some(0), "{}", text(&second_ok));
}

/// A KMS key signs (`--sign-key awskms:alias/…`, moto as KMS, as strict as KMS on raw message
/// size and digest signing: `tests/standin/moto_strict.py`); the envelopes verify with the public
/// key KMS exports, by others' tools, and an environment naming the KMS key accepts the image.
/// A key KMS holds that cannot sign as attestations need is refused before anything is built.
#[test]
fn a_kms_key_signs_attestations_that_verify_with_its_exported_public_key() {
    let alias = format!("alias/{}", unique("release"));
    let exported = aws(&format!(
        "from cryptography.hazmat.primitives import serialization\n\
         key = kms.create_key(KeySpec='ECC_NIST_P256', KeyUsage='SIGN_VERIFY')['KeyMetadata']['KeyId']\n\
         kms.create_alias(AliasName='{alias}', TargetKeyId=key)\n\
         der = kms.get_public_key(KeyId='{alias}')['PublicKey']\n\
         print(serialization.load_der_public_key(der).public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(), end='')\n\
         rsa = kms.create_key(KeySpec='RSA_2048', KeyUsage='SIGN_VERIFY')['KeyMetadata']['KeyId']\n\
         kms.create_alias(AliasName='{alias}-rsa', TargetKeyId=rsa)"
    ));
    let keys = tempfile::tempdir().unwrap();
    let public = keys.path().join("release.pub");
    std::fs::write(&public, &exported).unwrap();
    let (_dir, project) = example_project();
    let repository_path = unique("attest/kms");
    let repository = format!("{}/{repository_path}", registry());
    let spec = format!("awskms:{alias}");
    let signed_by = |spec: &str| {
        build(
            &project,
            &repository,
            &[
                "--platform",
                "linux/amd64",
                "--no-smoke",
                "--sign-key",
                spec,
            ],
        )
    };
    let output = signed_by(&spec);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let digest = json(&output)["platforms"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let found = verify_with_standard_tools(&repository_path, &digest, &public);
    let referrers = found["referrers"].as_array().unwrap();
    assert_eq!(referrers.len(), 3, "provenance, verdict and SBOM: {found}");
    assert!(referrers
        .iter()
        .all(|r| r["signedBy"].as_array().unwrap().len() == 1));

    prod_requires(&project, &spec);
    let verified = verify_for_prod(&format!("{repository}@{digest}"), &project);
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified));
    assert_eq!(
        json(&verified)["attestation"]["verdict"]["result"],
        "passed"
    );

    let rsa = signed_by(&format!("{spec}-rsa"));
    assert_eq!(rsa.status.code(), Some(2), "{}", text(&rsa));
    assert!(text(&rsa).contains("has spec RSA_2048"), "{}", text(&rsa));
}

/// buildLambda's stages with `signingKey`, end to end against the local registry and moto:
/// build (no push), push signed under the commit and `dev`, promote to staging and prod, deploy
/// to staging and then to prod, which takes only signed images (the ladder's last rung). A
/// hand-pushed image of the same repository reaches staging and is refused by prod before any
/// change. `trace` then shows the chain behind each environment's alias.
#[test]
fn the_jenkins_flow_deploys_to_prod_only_what_it_signed_and_trace_shows_why() {
    let keys = tempfile::tempdir().unwrap();
    let (private, public) = key_pair(keys.path(), "release", "p256");
    let (_dir, project) = example_project();
    std::fs::copy(&public, project.join("release.pub")).unwrap();
    let function_name = unique("signed-flow");
    let staging = format!("{function_name}-staging");
    std::fs::write(
        project.join("lambda-gate.toml"),
        format!("[promotion]\nladders = [[\"staging\", \"prod\"]]\n\n[deploy.environments.staging]\nfunction = \"{staging}\"\n\n[deploy.environments.prod]\nfunction = \"{function_name}\"\nattestation-key = \"release.pub\"\n"),
    )
    .unwrap();
    let project_dir = project.to_str().unwrap().to_string();
    let repository_path = unique("attest/flow");
    let repository = format!("{}/{repository_path}", registry());
    let placeholder = format!("{repository}@sha256:{}", "0".repeat(64));
    function(&function_name, "x86_64", &placeholder);
    function(&staging, "x86_64", &placeholder);

    // Build, then Push with the signing key bound (buildLambda's withCredentials).
    let built = build_unpushed(&project, "linux/amd64");
    let push = |tags: &[&str], key: Option<&Path>| {
        let mut command = gate();
        command.args([
            "push",
            &repository,
            "--format",
            "json",
            "--quiet",
            "--project",
            &project_dir,
        ]);
        for tag in tags {
            command.args(["--tag", tag]);
        }
        command.args([
            "--image",
            &format!(
                "linux/amd64={}",
                built["platforms"][0]["image_id"].as_str().unwrap()
            ),
        ]);
        if let Some(key) = key {
            command.env("LAMBDA_GATE_SIGNING_KEY", key);
        }
        run(&mut command)
    };
    let pushed = push(&["0a1b2c3d", "dev"], Some(&private));
    assert_eq!(pushed.status.code(), Some(0), "{}", text(&pushed));
    // Tags and deploys name the index; the function runs its platform's image.
    let signed_index = json(&pushed)["index_digest"].as_str().unwrap().to_string();
    let signed = json(&pushed)["platforms"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let promote_to = |digest: &str, environment: &str| {
        let promoted = promote(&repository, &["--digest", digest, "--to", environment]);
        assert_eq!(
            promoted.status.code(),
            Some(0),
            "{environment}: {}",
            text(&promoted)
        );
    };
    let deploy_to = |environment: &str, digest: &str| {
        deploy(&[
            "--environment",
            environment,
            "--image",
            &format!("{repository}@{digest}"),
            "--project",
            &project_dir,
        ])
    };
    for environment in ["staging", "prod"] {
        promote_to(&signed_index, environment);
        let deployed = deploy_to(environment, &signed_index);
        assert_eq!(
            deployed.status.code(),
            Some(0),
            "{environment}: {}",
            text(&deployed)
        );
    }
    let prod_version = serving(&function_name)["version"].clone();

    // A hand-pushed image of the same repository: the same project with a change, pushed with
    // no key, moved up the ladder by hand.
    std::fs::write(project.join("app/extra.py"), "VALUE = 4\n").unwrap();
    let by_hand = build_unpushed(&project, "linux/amd64");
    let pushed = push_images(&repository, &["by-hand"], &by_hand);
    assert_eq!(pushed.status.code(), Some(0), "{}", text(&pushed));
    let unsigned_index = json(&pushed)["index_digest"].as_str().unwrap().to_string();
    let unsigned = json(&pushed)["platforms"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    // (promote reads the default ladder, dev -> staging -> prod)
    for environment in ["dev", "staging", "prod"] {
        promote_to(&unsigned_index, environment);
    }
    let to_staging = deploy_to("staging", &unsigned_index);
    assert_eq!(
        to_staging.status.code(),
        Some(0),
        "staging asks for none: {}",
        text(&to_staging)
    );
    let to_prod = deploy_to("prod", &unsigned_index);
    assert_eq!(to_prod.status.code(), Some(1), "{}", text(&to_prod));
    assert!(
        text(&to_prod).contains("carries no signed gate verdict"),
        "{}",
        text(&to_prod)
    );
    assert_eq!(
        serving(&function_name)["version"],
        prod_version,
        "prod unchanged"
    );

    // The chain behind prod: alias -> version -> digest -> verdict -> build -> base.
    let traced = run(gate()
        .args(["trace", "--environment", "prod", "--project", &project_dir])
        .args(["--format", "json"]));
    assert_eq!(traced.status.code(), Some(0), "{}", text(&traced));
    let chain = json(&traced);
    assert_eq!(chain["function"], function_name.as_str());
    assert_eq!(chain["alias"], "live");
    let serving_version = &chain["versions"][0];
    assert_eq!(serving_version["weight"], 100.0);
    assert_eq!(serving_version["digest"], signed.as_str());
    let verdict = &serving_version["verdict"];
    assert_eq!(verdict["status"], "verified", "{chain}");
    assert_eq!(verdict["verdict"]["result"], "passed");
    assert_eq!(
        serving_version["stamped_verdict"], verdict["envelope"],
        "the deploy's stamp names the verdict that verifies"
    );
    let build = &serving_version["provenance"];
    assert_eq!(build["signature_checked"], true);
    assert!(build["commit"].is_string(), "{build}");
    assert!(
        build["bases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["name"] == base().as_str()
                && b["digest"].as_str().unwrap().starts_with("sha256:")),
        "{build}"
    );
    let human = run(gate().args(["trace", "--environment", "prod", "--project", &project_dir]));
    assert_eq!(human.status.code(), Some(0), "{}", text(&human));
    let human = String::from_utf8_lossy(&human.stdout).into_owned();
    assert!(
        human.starts_with(&format!("{function_name}:live\n  version {} (100% of traffic): {repository}@{signed}\n    verdict  verified: passed under policy sha256:", prod_version.as_str().unwrap())),
        "{human}"
    );

    // Staging serves the hand-pushed image: judged by prod's key, nothing it signed.
    let staging_trace = run(gate()
        .args(["trace", &format!("{staging}:live"), "--key"])
        .arg(project.join("release.pub"))
        .args(["--format", "json"]));
    assert_eq!(
        staging_trace.status.code(),
        Some(0),
        "{}",
        text(&staging_trace)
    );
    let staging_chain = json(&staging_trace);
    assert_eq!(staging_chain["versions"][0]["digest"], unsigned.as_str());
    assert_eq!(
        staging_chain["versions"][0]["verdict"]["status"], "missing",
        "{staging_chain}"
    );
    // Judged as prod would judge it: refused, exit 1.
    let as_prod = run(gate()
        .args([
            "trace",
            &staging,
            "--environment",
            "prod",
            "--project",
            &project_dir,
        ])
        .args(["--format", "json"]));
    assert_eq!(as_prod.status.code(), Some(1), "{}", text(&as_prod));
    assert_eq!(
        json(&as_prod)["versions"][0]["verdict"]["status"],
        "refused"
    );

    // The sweep's view of the repository: each environment of the Lambda's policy, and whether
    // every image serving there carries a valid verdict (JSON, text and the HTML report).
    let sweep = |format: &str, html: Option<&Path>| {
        let mut command = gate();
        command
            .args(["sweep", "-q", "--deployed", "--no-cache", "--root"])
            .arg(project.parent().unwrap())
            .args(["--format", format]);
        if let Some(html) = html {
            command.arg("--html").arg(html);
        }
        let swept = run(&mut command);
        assert_eq!(swept.status.code(), Some(0), "{}", text(&swept));
        swept
    };
    let html = keys.path().join("sweep.html");
    let swept = json(&sweep("json", Some(&html)));
    let repository = &swept["repositories"][0];
    assert_eq!(
        repository["lambdas"][0]["path"], "example-project",
        "{swept}"
    );
    let environments = repository["lambdas"][0]["deployed"].as_array().unwrap();
    let by_name = |name: &str| {
        environments
            .iter()
            .find(|e| e["environment"] == name)
            .unwrap_or_else(|| panic!("{name}: {swept}"))
    };
    let prod = by_name("prod");
    assert_eq!(prod["function"], format!("{function_name}:live").as_str());
    assert_eq!(prod["versions"][0]["digest"], signed.as_str());
    assert_eq!(prod["versions"][0]["verdict"], "verified", "{prod}");
    // The base its build labelled, judged as `fleet` judges it: the stand-in the tests build
    // on is no release base of this policy.
    assert_eq!(prod["versions"][0]["base"], "unapproved", "{prod}");
    let staging_record = by_name("staging");
    assert_eq!(staging_record["versions"][0]["digest"], unsigned.as_str());
    // Staging names no key: what it serves is judged by nothing, and nothing is attached.
    assert_eq!(
        staging_record["versions"][0]["verdict"], "missing",
        "{staging_record}"
    );
    let human = String::from_utf8_lossy(&sweep("human", None).stdout).into_owned();
    assert!(
        human.contains("Deployed images: 1 of 2 environments verified")
            && human.contains(&format!(
                "{}/example-project staging {staging}:live: version {} (100%) missing: no gate verdict is attached to this digest",
                repository["name"].as_str().unwrap(),
                staging_record["versions"][0]["version"].as_str().unwrap(),
            )),
        "{human}"
    );
    let dom = String::from_utf8_lossy(&crate::common::chromium(&html, &["--dump-dom"]).stdout)
        .into_owned();
    assert!(dom.contains("1 of 2 verified"), "{dom}");
}
