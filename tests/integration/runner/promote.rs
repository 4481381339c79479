//! Promotion: digest-checked retags up an environment ladder, the ECR backend under the
//! module's own repository settings (immutable tags, SSM records), the Jenkins flow run again
//! and again, and the base-image pipeline.

use super::*;

#[test]
fn promotion_copies_the_manifest_checks_the_digest_and_climbs_the_ladder() {
    let (_dir, project) = example_project();
    let repository = format!("{}/{}", registry(), unique("team/ladder"));
    let built = build(
        &project,
        &repository,
        &["--tag", "dev", "--tag", "c0ffee1", "--no-smoke"],
    );
    assert_eq!(built.status.code(), Some(0), "{}", text(&built));
    let digest = json(&built)["index_digest"].as_str().unwrap().to_string();

    // prod only from staging: refused while staging is empty.
    let refused = promote(&repository, &["--digest", &digest, "--to", "prod"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("`staging`"));

    let promoted = promote(
        &repository,
        &["--from", "dev", "--to", "staging", "--format", "json"],
    );
    assert_eq!(promoted.status.code(), Some(0), "{}", text(&promoted));
    let promoted = json(&promoted);
    assert_eq!(promoted["status"], "promoted");
    assert_eq!(promoted["digest"], digest.as_str());
    let staging = skopeo_raw_text(&format!("{repository}:staging"));
    assert_eq!(
        sha256(staging.as_bytes()),
        digest,
        "the original bytes, unchanged"
    );
    for arch in ["amd64", "arm64"] {
        let child = skopeo_raw(&format!("{repository}:staging-{arch}"));
        assert_eq!(
            child["mediaType"],
            "application/vnd.oci.image.manifest.v1+json"
        );
    }
    let prod = promote(&repository, &["--digest", &digest, "--to", "prod"]);
    assert_eq!(prod.status.code(), Some(0), "{}", text(&prod));
    let again = promote(
        &repository,
        &["--digest", &digest, "--to", "prod", "--format", "json"],
    );
    assert_eq!(json(&again)["status"], "unchanged");

    // A moving tag now elsewhere: a digest that is not staging's is refused for prod.
    std::fs::write(project.join("app/extra.py"), "VALUE = 2\n").unwrap();
    let other = build(
        &project,
        &repository,
        &["--tag", "dev", "--no-smoke", "--platform", "linux/amd64"],
    );
    let other_digest = json(&other)["index_digest"].as_str().unwrap().to_string();
    let refused = promote(&repository, &["--digest", &other_digest, "--to", "prod"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    // A commit tag never moves.
    let refused = promote(&repository, &["--digest", &other_digest, "--to", "c0ffee1"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("immutable"));
    let c0ffee1 = skopeo_raw_text(&format!("{repository}:c0ffee1"));
    assert_eq!(sha256(c0ffee1.as_bytes()), digest, "left where it was");

    // Bad input: a missing source, an invalid digest.
    let missing = promote(&repository, &["--from", "nope", "--to", "staging"]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no image at `nope`"));
    let invalid = promote(&repository, &["--digest", "sha256:xyz", "--to", "staging"]);
    assert_eq!(invalid.status.code(), Some(2), "{}", text(&invalid));
}

#[test]
fn ecr_backend_pushes_promotes_records_ssm_and_respects_immutable_tags() {
    let (_dir, project) = example_project();
    let name = unique("team/ecr");
    aws(&format!(
        "ecr.create_repository(repositoryName='{name}', imageTagMutability='IMMUTABLE')"
    ));
    let repository = format!("{ECR_HOST}/{name}");
    let built = build(&project, &repository, &["--tag", "dev", "--no-smoke"]);
    assert_eq!(built.status.code(), Some(0), "{}", text(&built));
    let built = json(&built);
    let digest = built["index_digest"].as_str().unwrap().to_string();

    // ECR (here: moto) holds the index under `dev` with the original bytes.
    let stored = aws(&format!(
        "r = ecr.batch_get_image(repositoryName='{name}', imageIds=[{{'imageTag': 'dev'}}], acceptedMediaTypes=['application/vnd.oci.image.index.v1+json'])\nprint(r['images'][0]['imageManifest'], end='')"
    ));
    assert_eq!(sha256(stored.as_bytes()), digest);

    let promoted = promote(
        &repository,
        &[
            "--digest",
            &digest,
            "--to",
            "staging",
            "--record-ssm",
            "/lambda/quote/staging",
            "--format",
            "json",
        ],
    );
    assert_eq!(promoted.status.code(), Some(0), "{}", text(&promoted));
    let promoted = json(&promoted);
    assert_eq!(promoted["digest"], digest.as_str());
    let parameters: Value = serde_json::from_str(&aws(
        "print(json.dumps({p['Name']: p['Value'] for p in ssm.get_parameters_by_path(Path='/lambda/quote/staging')['Parameters']}))",
    ))
    .unwrap();
    for platform in built["platforms"].as_array().unwrap() {
        let arch = platform["lambda_architecture"].as_str().unwrap();
        assert_eq!(
            parameters[format!("/lambda/quote/staging/{arch}")],
            platform["image_uri"],
            "{parameters}"
        );
    }
    let verify = run(gate().args([
        "verify-deployable",
        built["platforms"][1]["image_uri"].as_str().unwrap(),
        "--architecture",
        "arm64",
    ]));
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));

    // Under immutable tags, moving `staging` elsewhere is refused by ECR: a clear refusal.
    std::fs::write(project.join("app/extra.py"), "VALUE = 3\n").unwrap();
    let other = build(
        &project,
        &repository,
        &["--tag", "dev2", "--no-smoke", "--platform", "linux/amd64"],
    );
    assert_eq!(other.status.code(), Some(0), "{}", text(&other));
    let other_digest = json(&other)["index_digest"].as_str().unwrap().to_string();
    let refused = promote(&repository, &["--digest", &other_digest, "--to", "dev"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    // ECR refuses the first tag it will not move, the platform image's `dev-amd64`: the
    // refusal names that tag and the image it holds.
    let message = String::from_utf8_lossy(&refused.stderr);
    let amd64 = built["platforms"][0]["image_uri"].as_str().unwrap();
    let amd64 = amd64.rsplit_once('@').unwrap().1;
    assert!(
        message.contains("tag `dev-amd64` already points at") && message.contains(amd64),
        "{message}"
    );
}

/// buildLambda's stages, as its Groovy runs them: build (no push), push the built images under
/// the commit and `dev`, promote to staging and prod, deploy to the function. Returns the
/// pushed index digest.
fn jenkins_flow(project: &Path, repository: &str, commit: &str, function: &str) -> String {
    let built = build_unpushed(project, "linux/amd64,linux/arm64");
    let pushed = push_images(repository, &[commit, "dev"], &built);
    assert_eq!(pushed.status.code(), Some(0), "{}", text(&pushed));
    let digest = json(&pushed)["index_digest"].as_str().unwrap().to_string();
    for environment in ["staging", "prod"] {
        let promoted = promote(repository, &["--digest", &digest, "--to", environment]);
        assert_eq!(
            promoted.status.code(),
            Some(0),
            "{environment}: {}",
            text(&promoted)
        );
    }
    // Deploy (the function's architecture picks the platform image); a replay finds the alias
    // already serving it.
    let deployed = deploy(&[
        function,
        "--image",
        &format!("{repository}@{digest}"),
        "--project",
        project.to_str().unwrap(),
    ]);
    assert_eq!(deployed.status.code(), Some(0), "{}", text(&deployed));
    let status = json(&deployed)["status"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(status == "deployed" || status == "unchanged", "{status}");
    digest
}

/// The ECR here is moto made as strict as ECR (tests/standin/moto_strict.py): an exclusion
/// filter matches the whole tag. With filters naming only the moving tags (`dev`), the second
/// run failed on `dev-amd64` with ImageTagAlreadyExistsException; the module's `dev*` filters
/// let the moving tags move with their platforms' images, and a replay of the same commit
/// (new image IDs, same inputs) reaches the same tags without pushing again.
#[test]
fn the_jenkins_flow_runs_again_and_again_under_the_modules_repository_settings() {
    let (_dir, project) = example_project();
    let name = unique("team/flow");
    module_repository(&name);
    let repository = format!("{ECR_HOST}/{name}");
    let function_name = unique("flow");
    function(
        &function_name,
        "arm64",
        &format!("{repository}@sha256:{}", "0".repeat(64)),
    );
    let first = jenkins_flow(&project, &repository, "0a1b2c3d4e5f", &function_name);
    // Jenkins' Replay of the same commit.
    let replay = jenkins_flow(&project, &repository, "0a1b2c3d4e5f", &function_name);
    assert_eq!(replay, first, "a replay reaches the same image");
    // The next commit.
    std::fs::write(project.join("app/extra.py"), "VALUE = 4\n").unwrap();
    let next = jenkins_flow(&project, &repository, "1b2c3d4e5f60", &function_name);
    assert_ne!(next, first);
    // The function runs the new commit's arm64 image.
    assert!(
        serving(&function_name)["image"]
            .as_str()
            .is_some_and(|image| image.starts_with(&format!("{repository}@sha256:"))
                && !image.ends_with(&"0".repeat(64))),
        "{}",
        serving(&function_name)
    );
    let tagged = |tag: &str| {
        aws(&format!(
            "r = ecr.batch_get_image(repositoryName='{name}', imageIds=[{{'imageTag': '{tag}'}}], acceptedMediaTypes=['application/vnd.oci.image.index.v1+json', 'application/vnd.oci.image.manifest.v1+json'])\nprint(r['images'][0]['imageManifest'], end='')"
        ))
    };
    for tag in ["dev", "staging", "prod", "1b2c3d4e5f60"] {
        assert_eq!(sha256(tagged(tag).as_bytes()), next, "{tag}");
    }
    assert_eq!(sha256(tagged("0a1b2c3d4e5f").as_bytes()), first);
    // The commit tag is immutable: another image under it is refused, naming both digests.
    let other = build_unpushed(&project, "linux/amd64");
    let refused = push_images(&repository, &["0a1b2c3d4e5f"], &other);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let message = text(&refused);
    assert!(
        message.contains("`0a1b2c3d4e5f-amd64` already points at") && message.contains("immutable"),
        "{message}"
    );
}

#[test]
fn pipeline_builds_bases_then_the_example_and_promotes_only_after_all_passed() {
    let prefix = format!("{}/{}", registry(), unique("pipeline"));
    // The team's policy pins the release base (any prefix on this registry) to an older
    // digest and names no dev base yet.
    let old = format!("sha256:{}", "1".repeat(64));
    let policy_dir = tempfile::tempdir().unwrap();
    let policy_file = policy_dir.path().join("lambda-gate.toml");
    let release_key = format!("{}/*/aws-lambda-python-release-base:3.12", registry());
    std::fs::write(
        &policy_file,
        format!(
            "# The platform team's policy.\n[dockerfile.digests]\n\"{release_key}\" = \"{old}\"\n"
        ),
    )
    .unwrap();
    let output = pipeline(
        &prefix,
        &[
            "--record-policy",
            policy_file.to_str().unwrap(),
            "--grace-days",
            "14",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let result = json(&output);
    // The promoted digests are recorded: the release key takes the new digest with the old
    // one allowed for 14 days; the dev base is added under the upstream base's tag.
    let release_digest = result["builds"][0]["index_digest"].as_str().unwrap();
    let dev_digest = result["builds"][1]["index_digest"].as_str().unwrap();
    let recorded = result["recorded"].as_array().unwrap();
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert_eq!(recorded[0]["key"], release_key.as_str());
    assert_eq!(recorded[0]["previous"], old.as_str());
    assert_eq!(recorded[0]["digest"], release_digest);
    assert_eq!(
        recorded[1]["key"],
        format!("{prefix}/aws-lambda-python-dev-base:3.12").as_str()
    );
    assert_eq!(recorded[1]["digest"], dev_digest);
    let policy: toml::Value =
        toml::from_str(&std::fs::read_to_string(&policy_file).unwrap()).unwrap();
    let grace = &policy["dockerfile"]["previous-digests"][&release_key][0];
    assert_eq!(grace["digest"].as_str(), Some(old.as_str()));
    let until = grace["allowed-until"].as_datetime().unwrap().to_string();
    let expected = lambda_gate::date::Date::today().plus_days(14).to_string();
    assert_eq!(until, expected);
    assert_eq!(
        policy["dockerfile"]["digests"][&release_key].as_str(),
        Some(release_digest)
    );
    // Recording the same digests again changes nothing.
    let before = std::fs::read_to_string(&policy_file).unwrap();
    let again = run(gate().args([
        "policy",
        "record-digest",
        policy_file.to_str().unwrap(),
        "--image",
        &format!("{prefix}/aws-lambda-python-release-base@{release_digest}"),
        "--image",
        &format!("{prefix}/aws-lambda-python-dev-base@{dev_digest}"),
    ]));
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(text(&again).contains("unchanged"), "{}", text(&again));
    assert_eq!(std::fs::read_to_string(&policy_file).unwrap(), before);
    let builds = result["builds"].as_array().unwrap();
    assert_eq!(builds.len(), 3);
    assert!(builds[2]["platforms"][0]["smoke"][0]["passed"]
        .as_bool()
        .unwrap());
    for (name, build) in [
        ("aws-lambda-python-release-base", &builds[0]),
        ("aws-lambda-python-dev-base", &builds[1]),
    ] {
        let latest = skopeo_raw_text(&format!("{prefix}/{name}:latest"));
        assert_eq!(
            sha256(latest.as_bytes()),
            build["index_digest"].as_str().unwrap(),
            "{name}: latest = what was built as test"
        );
        assert_eq!(
            skopeo_raw(&format!("{prefix}/{name}:test"))["manifests"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
    // The example was built on the `test` release base: its first layers are the base's.
    let base_layers = skopeo_raw(&format!(
        "{prefix}/aws-lambda-python-release-base:test-amd64"
    ))["layers"]
        .clone();
    let example_layers =
        skopeo_raw(&format!("{prefix}/example-project:test-amd64"))["layers"].clone();
    let base_layers = base_layers.as_array().unwrap();
    assert_eq!(
        &example_layers.as_array().unwrap()[..base_layers.len()],
        base_layers.as_slice()
    );
}
