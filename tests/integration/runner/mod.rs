//! The runner against real components, started by `tests/services.sh` (the README's test
//! command): the Docker Engine, an OCI registry and the moto server (ECR + SSM) on 127.0.0.1,
//! qemu/binfmt for arm64, and stand-in base images for both architectures. Results are read
//! back with independent clients: skopeo, the docker CLI, boto3.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::common::copy_dir;
use assert_cmd::Command;

use serde_json::Value;

mod deploy_faults;
mod deploy_safety;

const ECR_HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

fn registry() -> String {
    std::env::var("LAMBDA_GATE_TEST_REGISTRY")
        .expect("LAMBDA_GATE_TEST_REGISTRY: run tests/run.sh, or source tests/services.sh first")
}

fn moto() -> String {
    std::env::var("LAMBDA_GATE_TEST_MOTO").expect("LAMBDA_GATE_TEST_MOTO: source tests/services.sh")
}

fn base() -> String {
    std::env::var("LAMBDA_GATE_TEST_BASE").expect("LAMBDA_GATE_TEST_BASE: source tests/services.sh")
}

/// A repository path no other test uses.
fn unique(prefix: &str) -> String {
    format!("{prefix}-{:08x}", fastrand::u32(..))
}

fn gate() -> Command {
    let mut cmd = Command::cargo_bin("lambda-gate").expect("binary");
    for (name, value) in aws_env() {
        cmd.env(name, value);
    }
    cmd.env_remove("LAMBDA_GATE_REGISTRY_USERNAME")
        .env_remove("LAMBDA_GATE_REGISTRY_PASSWORD")
        .env("DOCKER_CONFIG", "/nonexistent");
    cmd
}

fn aws_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ENDPOINT_URL_ECR", moto()),
        ("AWS_ENDPOINT_URL_SSM", moto()),
        ("AWS_ENDPOINT_URL_LAMBDA", moto()),
        ("AWS_ENDPOINT_URL_CLOUDWATCH", moto()),
        ("AWS_ENDPOINT_URL_STS", moto()),
        (
            "LAMBDA_GATE_ECR_REGISTRY_URL",
            format!("http://{}", registry()),
        ),
    ]
}

fn promote(repository: &str, args: &[&str]) -> Output {
    run(gate().arg("promote").arg(repository).args(args))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("lambda-gate runs")
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(output)))
}

fn tool(program: &str, args: &[&str]) -> String {
    let output = Process::new(program).args(args).output().expect(program);
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        text(&output)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A manifest as the registry stores it, read by skopeo.
fn skopeo_raw_text(reference: &str) -> String {
    tool(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{reference}"),
        ],
    )
}

fn skopeo_raw(reference: &str) -> Value {
    let raw = skopeo_raw_text(reference);
    serde_json::from_str(&raw).expect("skopeo prints JSON")
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

/// A copy of example-project (and the Terraform module it uses) in its own git repository
/// (for the revision label).
fn example_project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("example-project");
    copy_dir(Path::new("example-project"), &project);
    copy_dir(Path::new("terraform"), &dir.path().join("terraform"));
    // Its coverage report, as its own tests write it (the gate reads it).
    let tests = Process::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .current_dir(&project)
        .output()
        .expect("python3 -m pytest (tests/requirements.txt)");
    assert!(
        tests.status.success(),
        "example-project tests: {}",
        text(&tests)
    );
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qm",
            "example",
        ],
    ] {
        let status = Process::new("git")
            .args(args)
            .current_dir(dir.path())
            .status()
            .expect("git");
        assert!(status.success());
    }
    (dir, project)
}

fn build(project: &Path, push: &str, extra: &[&str]) -> Output {
    run(gate()
        .arg("build")
        .arg(project)
        .args(["--build-arg", &format!("BASE_IMAGE={}", base())])
        .args(["--push", push, "--format", "json"])
        .args(extra))
}

#[test]
fn build_with_buildkit_pushes_single_platform_images_and_an_index_that_independent_clients_read() {
    builds_pushes_and_skips_unchanged("buildkit");
}

#[test]
fn build_with_the_classic_builder_pushes_single_platform_images_and_an_index_that_independent_clients_read(
) {
    builds_pushes_and_skips_unchanged("classic");
}

fn builds_pushes_and_skips_unchanged(builder: &str) {
    let (_dir, project) = example_project();
    let repository = format!("{}/{}", registry(), unique("team/quote"));
    let build = |project: &Path, repository: &str, extra: &[&str]| {
        build(
            project,
            repository,
            &[extra, &["--builder", builder]].concat(),
        )
    };
    let output = build(&project, &repository, &["--tag", "v1", "--tag", "test"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let result = json(&output);
    assert_eq!(result["status"], "built");
    assert_eq!(result["builder"], builder);
    let platforms = result["platforms"].as_array().unwrap();
    assert_eq!(platforms.len(), 2, "the policy's two platforms by default");

    // skopeo reads the index: exactly the two single-platform manifests, no attestations.
    let index = skopeo_raw(&format!("{repository}:v1"));
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let children = index["manifests"].as_array().unwrap();
    assert_eq!(children.len(), 2);
    for (child, platform) in children.iter().zip(platforms) {
        assert_eq!(child["digest"], platform["digest"]);
        assert_eq!(child["platform"]["os"], "linux");
        let arch = child["platform"]["architecture"].as_str().unwrap();
        assert_eq!(
            format!("linux/{arch}"),
            platform["platform"].as_str().unwrap()
        );
        // `<tag>-<arch>` names the same single-platform manifest.
        let raw = skopeo_raw_text(&format!("{repository}:v1-{arch}"));
        assert_eq!(sha256(raw.as_bytes()), platform["digest"].as_str().unwrap());
        assert!(
            platform["smoke"][0]["passed"].as_bool().unwrap(),
            "{platform}"
        );
        assert_eq!(platform["smoke"][0]["method"], "emulator");
    }
    let test_index = skopeo_raw_text(&format!("{repository}:test"));
    assert_eq!(
        sha256(test_index.as_bytes()),
        result["index_digest"].as_str().unwrap()
    );

    // The OCI labels, read from the registry by skopeo.
    let config: Value = serde_json::from_str(&tool(
        "skopeo",
        &[
            "inspect",
            "--config",
            "--tls-verify=false",
            &format!("docker://{repository}:v1-arm64"),
        ],
    ))
    .unwrap();
    let labels = &config["config"]["Labels"];
    let head = tool(
        "git",
        &["-C", project.to_str().unwrap(), "rev-parse", "HEAD"],
    );
    assert_eq!(labels["org.opencontainers.image.revision"], head.trim());
    assert_eq!(
        labels["org.opencontainers.image.source"],
        repository.as_str()
    );
    assert!(labels["org.opencontainers.image.created"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert_eq!(config["architecture"], "arm64");

    // A pull of the arm64 platform runs as aarch64 (through qemu).
    let image = format!("{repository}:v1");
    tool(
        "docker",
        &["pull", "-q", "--platform", "linux/arm64", &image],
    );
    let machine = tool(
        "docker",
        &[
            "run",
            "--rm",
            "--platform",
            "linux/arm64",
            "--entrypoint",
            "uname",
            &image,
            "-m",
        ],
    );
    assert_eq!(machine.trim(), "aarch64");

    // Lambda takes a single-platform manifest, not the index.
    let verify = run(gate().args(["verify-deployable", &image, "--architecture", "arm64"]));
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify));
    let message = String::from_utf8_lossy(&verify.stderr);
    assert!(message.contains("image index"), "{message}");
    assert!(
        message.contains(platforms[1]["digest"].as_str().unwrap()),
        "names the arm64 child: {message}"
    );
    let arm64 = platforms[1]["image_uri"].as_str().unwrap();
    let verify = run(gate().args([
        "verify-deployable",
        arm64,
        "--architecture",
        "arm64",
        "--format",
        "json",
    ]));
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
    assert_eq!(json(&verify)["digest"], platforms[1]["digest"]);
    let amd64 = platforms[0]["image_uri"].as_str().unwrap();
    let verify = run(gate().args(["verify-deployable", amd64, "--architecture", "arm64"]));
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify));
    assert!(String::from_utf8_lossy(&verify.stderr).contains("exec format error"));

    // Unchanged inputs: no build, only tags; the same index.
    let again = build(&project, &repository, &["--tag", "v2", "--tag", "test"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let again = json(&again);
    assert_eq!(again["status"], "skipped");
    assert_eq!(again["index_digest"], result["index_digest"]);
    let v2 = skopeo_raw_text(&format!("{repository}:v2"));
    assert_eq!(
        sha256(v2.as_bytes()),
        result["index_digest"].as_str().unwrap()
    );

    // A changed source is a new build.
    // (A value no earlier run wrote: the Engine's build cache outlives test runs.)
    std::fs::write(
        project.join("app/extra.py"),
        format!("VALUE = {:?}\n", unique("v")),
    )
    .unwrap();
    let changed = build(
        &project,
        &repository,
        &["--tag", "v3", "--no-smoke", "--platform", "linux/amd64"],
    );
    assert_eq!(changed.status.code(), Some(0), "{}", text(&changed));
    assert_eq!(json(&changed)["status"], "built");
    // BuildKit reports one line per step, the unchanged ones marked as cached.
    if builder == "buildkit" {
        // (BuildKit names a step `[stage-0 3/4]` or `[3/4]`, depending on the stage count.)
        let progress = String::from_utf8_lossy(&changed.stderr);
        let line = |start: &str, step: &str| {
            progress
                .lines()
                .any(|l| l.trim_start().starts_with(start) && l.contains(step))
        };
        assert!(line("CACHED [", "3/4] RUN pip install"), "{progress}");
        assert!(
            line("DONE   [", "4/4] COPY app/ /var/task/app/"),
            "{progress}"
        );
    }
}

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

/// The repository the aws-lambda-container module makes, as the gate's Terraform evaluator
/// renders it from the module's own files, created in the (strict) ECR.
fn module_repository(name: &str) {
    let module =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("terraform/modules/aws-lambda-container");
    let settings = lambda_gate::rules::terraform::ecr_settings::repositories(&module)
        .expect("the module's repository settings are static");
    let filters: Vec<String> = settings[0]
        .exclusion_filters
        .iter()
        .map(|f| format!("{{'filter': '{f}', 'filterType': 'WILDCARD'}}"))
        .collect();
    aws(&format!(
        "ecr.create_repository(repositoryName='{name}', imageTagMutability='{}', imageTagMutabilityExclusionFilters=[{}])",
        settings[0].mutability,
        filters.join(", ")
    ));
}

/// `build` without pushing (the Jenkins Build stage): the report, whose `platforms` hold each
/// platform's image ID.
fn build_unpushed(project: &Path, platforms: &str) -> serde_json::Value {
    let built = run(gate()
        .arg("build")
        .arg(project)
        .args(["--build-arg", &format!("BASE_IMAGE={}", base())])
        .args([
            "--platform",
            platforms,
            "--no-smoke",
            "--format",
            "json",
            "--quiet",
        ]));
    assert_eq!(built.status.code(), Some(0), "{}", text(&built));
    json(&built)
}

/// `push` of the images a [`build_unpushed`] report names, under `tags` (the Push stage).
fn push_images(repository: &str, tags: &[&str], built: &serde_json::Value) -> Output {
    let mut push = gate();
    push.args(["push", repository, "--format", "json", "--quiet"]);
    for tag in tags {
        push.args(["--tag", tag]);
    }
    for platform in built["platforms"].as_array().unwrap() {
        push.args([
            "--image",
            &format!(
                "{}={}",
                platform["platform"].as_str().unwrap(),
                platform["image_id"].as_str().unwrap()
            ),
        ]);
    }
    run(&mut push)
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
fn smoke_uses_the_images_python_without_the_emulator_and_fails_on_errors() {
    let dir = tempfile::tempdir().unwrap();
    let tag = unique("lambda-gate-test/smoke");
    // The amd64 image's own name: other tests repoint the index's name between platforms.
    let amd64_base = format!("{}-amd64", base());
    // An image without the emulator, whose handler fails for one event.
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM {}\nRUN rm /usr/local/bin/aws-lambda-rie\nCOPY handler.py /var/task/\nCMD [\"handler.handler\"]\n",
            amd64_base
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("handler.py"),
        "import os\n\ndef handler(event, context):\n    if event.get('crash'):\n        os._exit(3)\n    if event.get('fail'):\n        raise ValueError('bad order')\n    return {'ok': event['n'] * 2}\n",
    )
    .unwrap();
    tool(
        "docker",
        &["pull", "-q", "--platform", "linux/amd64", &amd64_base],
    );
    tool(
        "docker",
        &[
            "build",
            "-q",
            "--platform",
            "linux/amd64",
            "-t",
            &tag,
            dir.path().to_str().unwrap(),
        ],
    );
    let good = dir.path().join("good.json");
    let bad = dir.path().join("bad.json");
    std::fs::write(&good, r#"{"n": 21}"#).unwrap();
    std::fs::write(&bad, r#"{"fail": true}"#).unwrap();

    let output = run(gate()
        .args(["smoke", &tag, "--format", "json", "--event"])
        .arg(&good));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let results = json(&output);
    assert_eq!(results[0]["method"], "python");
    assert_eq!(results[0]["response"]["ok"], 42);

    let output = run(gate()
        .args(["smoke", &tag, "--event"])
        .arg(&good)
        .arg("--event")
        .arg(&bad));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let all = text(&output);
    assert!(all.contains("ValueError: bad order"), "{all}");

    // A crash (the interpreter killed) and bad input.
    let crash = dir.path().join("crash.json");
    std::fs::write(&crash, r#"{"crash": true}"#).unwrap();
    let output = run(gate().args(["smoke", &tag, "--event"]).arg(&crash));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("exited with status 3"),
        "{}",
        text(&output)
    );
    let invalid = dir.path().join("invalid.json");
    std::fs::write(&invalid, "{not json").unwrap();
    let output = run(gate().args(["smoke", &tag, "--event"]).arg(&invalid));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid.json"));

    let left = tool(
        "docker",
        &["ps", "-aq", "--filter", &format!("ancestor={tag}")],
    );
    assert_eq!(left, "", "every smoke container removed");
    tool("docker", &["rmi", "-f", &tag]);
}

#[test]
fn a_failing_gate_builds_nothing() {
    let (_dir, project) = example_project();
    std::fs::write(
        project.join("Dockerfile"),
        "FROM python:3.12\nCMD [\"app.handler.handler\"]\n",
    )
    .unwrap();
    let repository = format!("{}/{}", registry(), unique("team/gated"));
    let output = build(&project, &repository, &["--tag", "v1"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("DKR"),
        "{}",
        text(&output)
    );
    let probe = Process::new("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{repository}:v1"),
        ])
        .output()
        .unwrap();
    assert!(!probe.status.success(), "nothing pushed");
}

/// A proxy in front of the registry that injects faults: `decide(n, request line)` says what
/// to do with the n-th request (0-based).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    Pass,
    /// Answer 503 (or 429) without forwarding.
    Busy(u16),
    /// Close the connection without answering.
    Drop,
    /// Answer 401 demanding basic auth unless the request has credentials, then 500 with the
    /// request's Authorization header echoed in the body (a registry that leaks).
    EchoAuth,
}

struct Proxy {
    address: String,
    requests: Arc<AtomicUsize>,
    faults: Arc<AtomicUsize>,
}

fn proxy(decide: impl Fn(usize, &str) -> Fault + Send + Sync + 'static) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let requests = Arc::new(AtomicUsize::new(0));
    let faults = Arc::new(AtomicUsize::new(0));
    let decide = Arc::new(decide);
    let (counter, fault_counter) = (requests.clone(), faults.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (decide, counter, fault_counter) =
                (decide.clone(), counter.clone(), fault_counter.clone());
            std::thread::spawn(move || {
                let _ = serve(stream, &*decide, &counter, &fault_counter);
            });
        }
    });
    Proxy {
        address,
        requests,
        faults,
    }
}

fn serve(
    mut client: TcpStream,
    decide: &(dyn Fn(usize, &str) -> Fault + Send + Sync),
    counter: &AtomicUsize,
    faults: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = String::new();
    let mut content_length = 0usize;
    let mut authorization = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("authorization:") {
            authorization = Some(line["authorization:".len()..].trim().to_string());
        }
        if lower.starts_with("connection:") {
            continue;
        }
        if line == "\r\n" {
            head.push_str("Connection: close\r\n\r\n");
            break;
        }
        head.push_str(&line);
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    let n = counter.fetch_add(1, Ordering::SeqCst);
    let request_line = head.lines().next().unwrap_or_default().to_string();
    match decide(n, &request_line) {
        Fault::Pass => {}
        Fault::Busy(status) => {
            faults.fetch_add(1, Ordering::SeqCst);
            let reason = if status == 429 {
                "Too Many Requests"
            } else {
                "Service Unavailable"
            };
            return client.write_all(
                format!(
                    "HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            );
        }
        Fault::Drop => {
            faults.fetch_add(1, Ordering::SeqCst);
            return client.shutdown(std::net::Shutdown::Both);
        }
        Fault::EchoAuth => {
            faults.fetch_add(1, Ordering::SeqCst);
            let answer = match authorization {
                None => "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
                Some(value) => {
                    let body = format!("{{\"errors\":[{{\"message\":\"rejected {value}\"}}]}}");
                    format!("HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
                }
            };
            return client.write_all(answer.as_bytes());
        }
    }
    let mut upstream = TcpStream::connect(registry())?;
    upstream.write_all(head.as_bytes())?;
    upstream.write_all(&body)?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    client.write_all(&response)
}

/// Every tag in `repository` names a complete image: its manifests and blobs all exist.
fn assert_tags_complete(repository: &str) {
    let list = Process::new("curl")
        .args([
            "-fsS",
            &format!("http://{}/v2/{repository}/tags/list", registry()),
        ])
        .output()
        .unwrap();
    if !list.status.success() {
        return; // no tag at all: nothing half-made
    }
    let tags: Value = serde_json::from_slice(&list.stdout).unwrap();
    for tag in tags["tags"].as_array().into_iter().flatten() {
        let reference = format!("{}/{repository}:{}", registry(), tag.as_str().unwrap());
        // skopeo copy reads every manifest and blob the tag reaches, or fails.
        let out = tempfile::tempdir().unwrap();
        tool(
            "skopeo",
            &[
                "copy",
                "-q",
                "--all",
                "--src-tls-verify=false",
                &format!("docker://{reference}"),
                &format!("dir:{}", out.path().display()),
            ],
        );
    }
}

#[test]
fn transient_registry_faults_are_retried_and_interrupted_pushes_leave_no_partial_tag() {
    let (_dir, project) = example_project();
    // Every third request answered 503/429 or dropped: the push still completes.
    let flaky = proxy(|n, _| match n % 6 {
        1 => Fault::Busy(503),
        3 => Fault::Drop,
        5 => Fault::Busy(429),
        _ => Fault::Pass,
    });
    let name = unique("team/flaky");
    let output = build(
        &project,
        &format!("{}/{name}", flaky.address),
        &["--tag", "v1", "--no-smoke"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        flaky.faults.load(Ordering::SeqCst) >= 3,
        "faults were injected"
    );
    let digest = json(&output)["index_digest"].as_str().unwrap().to_string();
    let stored = tool(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{}/{name}:v1", registry()),
        ],
    );
    assert_eq!(sha256(stored.as_bytes()), digest);
    assert_tags_complete(&name);

    // The registry goes away for good after k requests: the push fails (exit 2), and whatever
    // tags exist name complete images.
    for cut in [3, 7, 12, 16, 20] {
        let name = unique("team/cut");
        let broken = proxy(move |n, _| if n >= cut { Fault::Drop } else { Fault::Pass });
        let output = run(gate()
            .env("LAMBDA_GATE_REGISTRY_ATTEMPTS", "2")
            .arg("build")
            .arg(&project)
            .args(["--build-arg", &format!("BASE_IMAGE={}", base())])
            .args([
                "--push",
                &format!("{}/{name}", broken.address),
                "--tag",
                "v1",
                "--no-smoke",
            ]));
        let requests = broken.requests.load(Ordering::SeqCst);
        if output.status.code() == Some(0) {
            assert!(
                requests <= cut,
                "succeeded only if it needed no more than {cut} requests"
            );
        } else {
            assert_eq!(output.status.code(), Some(2), "{}", text(&output));
        }
        assert_tags_complete(&name);
    }
}

#[test]
fn registry_and_ecr_credentials_never_appear_in_output() {
    let (_dir, project) = example_project();
    let leaky = proxy(|_, _| Fault::EchoAuth);
    let secret = format!("pw-{:016x}", fastrand::u64(..));
    let output = run(gate()
        .env("LAMBDA_GATE_REGISTRY_USERNAME", "ci-user")
        .env("LAMBDA_GATE_REGISTRY_PASSWORD", &secret)
        .env("LAMBDA_GATE_REGISTRY_ATTEMPTS", "1")
        .arg("build")
        .arg(&project)
        .args(["--build-arg", &format!("BASE_IMAGE={}", base())])
        .args([
            "--push",
            &format!("{}/team/leak", leaky.address),
            "--tag",
            "v1",
            "--no-smoke",
        ]));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let all = text(&output);
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("ci-user:{secret}"));
    assert!(
        all.contains("HTTP 500"),
        "the registry's answer is reported: {all}"
    );
    assert!(
        !all.contains(&secret) && !all.contains(&basic),
        "credentials leaked: {all}"
    );

    // ECR: the authorization token GetAuthorizationToken hands out never shows.
    let token = aws("print(ecr.get_authorization_token()['authorizationData'][0]['authorizationToken'], end='')");
    let name = unique("team/ecrleak");
    aws(&format!("ecr.create_repository(repositoryName='{name}')"));
    let output = run(gate()
        .env(
            "LAMBDA_GATE_ECR_REGISTRY_URL",
            format!("http://{}", leaky.address),
        )
        .env("LAMBDA_GATE_REGISTRY_ATTEMPTS", "1")
        .arg("build")
        .arg(&project)
        .args(["--build-arg", &format!("BASE_IMAGE={}", base())])
        .args([
            "--push",
            &format!("{ECR_HOST}/{name}"),
            "--tag",
            "v1",
            "--no-smoke",
        ]));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let all = text(&output);
    let decoded = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(&token)
            .unwrap(),
    )
    .unwrap();
    let password = decoded.split_once(':').unwrap().1;
    assert!(
        !all.contains(&token) && !all.contains(password),
        "ECR token leaked: {all}"
    );
}

#[test]
fn pipeline_builds_bases_then_the_example_and_promotes_only_after_all_passed() {
    let prefix = format!("{}/{}", registry(), unique("pipeline"));
    let output = run(gate().args([
        "pipeline",
        "--registry",
        &prefix,
        "--build-arg",
        &format!("UPSTREAM_IMAGE={}", base()),
        "--build-arg",
        &format!("RUST_IMAGE={}", base()),
        "--format",
        "json",
    ]));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let result = json(&output);
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

#[test]
fn push_sends_exactly_the_built_images_and_dev_image_pull_fetches_a_platform() {
    let (_dir, project) = example_project();
    let built = build_unpushed(&project, "linux/amd64,linux/arm64");
    let repository = format!("{}/{}", registry(), unique("team/pushed"));
    let pushed = push_images(&repository, &["rc1"], &built);
    assert_eq!(pushed.status.code(), Some(0), "{}", text(&pushed));
    let pushed = json(&pushed);
    for (platform, built) in pushed["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .zip(built["platforms"].as_array().unwrap())
    {
        assert_eq!(
            platform["image_id"], built["image_id"],
            "the very image that was built"
        );
        assert_eq!(platform["inputs"], built["inputs"]);
    }
    let index = skopeo_raw_text(&format!("{repository}:rc1"));
    assert_eq!(
        sha256(index.as_bytes()),
        pushed["index_digest"].as_str().unwrap()
    );
    // An image pushed as the wrong platform is refused.
    let amd64_id = built["platforms"][0]["image_id"].as_str().unwrap();
    let wrong = run(gate().args([
        "push",
        &repository,
        "--tag",
        "rc2",
        "--image",
        &format!("linux/arm64={amd64_id}"),
    ]));
    assert_eq!(wrong.status.code(), Some(2), "{}", text(&wrong));

    // dev-image pull: the arm64 image through the Engine, or the commands it stands for.
    let dev = format!("{}:3.12-arm64", base().rsplit_once(':').unwrap().0);
    let pulled = run(gate().args([
        "dev-image",
        "pull",
        "--image",
        &dev,
        "--platform",
        "linux/arm64",
    ]));
    assert_eq!(pulled.status.code(), Some(0), "{}", text(&pulled));
    let arch = tool(
        "docker",
        &["image", "inspect", "--format", "{{.Architecture}}", &dev],
    );
    assert_eq!(arch.trim(), "arm64");
    let printed = run(gate().args([
        "dev-image",
        "pull",
        "--print",
        "--platform",
        "linux/amd64",
        "--image",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-lambda-python-dev-base:latest",
    ]));
    assert_eq!(printed.status.code(), Some(0), "{}", text(&printed));
    assert_eq!(
        String::from_utf8_lossy(&printed.stdout),
        "aws ecr get-login-password --region eu-west-1 | docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com\n\
         docker pull --platform linux/amd64 123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-lambda-python-dev-base:latest\n"
    );
}

/// The example project's dependency step rewritten the way teams write it for BuildKit: a pip
/// cache mount (its own id, so no other build shares it) and a secret mount (a private index
/// token). The step records what it saw in the image: whether the cache was warm, and the
/// secret's size, never its value.
fn mount_project(cache_id: &str) -> (tempfile::TempDir, PathBuf) {
    let (dir, project) = example_project();
    let dockerfile = std::fs::read_to_string(project.join("Dockerfile")).unwrap();
    let pip = "RUN pip install --no-cache-dir --requirement ${LAMBDA_TASK_ROOT}/requirements.txt --target ${LAMBDA_TASK_ROOT}";
    assert!(dockerfile.contains(pip));
    let mounted = format!(
        "RUN --mount=type=cache,id={cache_id},target=/root/.cache/pip \\\n    \
         --mount=type=secret,id=index_token \\\n    \
         --mount=type=bind,source=requirements.txt,target=/tmp/requirements.txt \\\n    \
         if [ -f /root/.cache/pip/wheels ]; then echo reused; else echo cold; fi > ${{LAMBDA_TASK_ROOT}}/cache-state \\\n    \
         && touch /root/.cache/pip/wheels \\\n    \
         && wc -c < /run/secrets/index_token > ${{LAMBDA_TASK_ROOT}}/secret-size \\\n    \
         && cp /tmp/requirements.txt ${{LAMBDA_TASK_ROOT}}/requirements.bound"
    );
    std::fs::write(
        project.join("Dockerfile"),
        dockerfile.replace(pip, &mounted),
    )
    .unwrap();
    (dir, project)
}

fn image_file(image: &str, platform: &str, path: &str) -> String {
    tool(
        "docker",
        &[
            "run",
            "--rm",
            "--platform",
            platform,
            "--entrypoint",
            "cat",
            image,
            path,
        ],
    )
}

#[test]
fn buildkit_cache_secret_and_bind_mounts_build_both_platforms_and_the_secret_is_found_nowhere() {
    let (dir, project) = mount_project(&unique("pip-cache"));
    let secret = format!("index-token-{:016x}", fastrand::u64(..));
    let secret_file = dir.path().join("index-token");
    std::fs::write(&secret_file, &secret).unwrap();
    let repository = format!("{}/{}", registry(), unique("team/mounts"));
    let secret_arg = format!("id=index_token,src={}", secret_file.display());
    let output = build(&project, &repository, &["--secret", &secret_arg]);
    let printed = text(&output);
    assert_eq!(output.status.code(), Some(0), "{printed}");
    assert!(
        !printed.contains(&secret),
        "the secret in lambda-gate's output"
    );
    let result = json(&output);
    assert_eq!(result["builder"], "buildkit");
    let platforms = result["platforms"].as_array().unwrap();
    assert_eq!(platforms.len(), 2);

    for platform in platforms {
        let name = platform["platform"].as_str().unwrap();
        assert!(
            platform["smoke"][0]["passed"].as_bool().unwrap(),
            "{platform}"
        );
        let image = platform["image_id"].as_str().unwrap();
        // The secret was mounted for the step (its size is in the image)...
        assert_eq!(
            image_file(image, name, "/var/task/secret-size").trim(),
            secret.len().to_string()
        );
        // ...the bind mount read the build context...
        assert_eq!(
            image_file(image, name, "/var/task/requirements.bound"),
            std::fs::read_to_string(project.join("requirements.txt")).unwrap()
        );
        // ...and its value is in no layer, no history entry, no config.
        let history = tool("docker", &["history", "--no-trunc", image]);
        assert!(!history.contains(&secret), "{history}");
        let saved = Process::new("docker")
            .args(["save", image])
            .output()
            .expect("docker save");
        assert!(saved.status.success());
        assert!(
            !saved
                .stdout
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "the secret in `docker save` of {name}"
        );
        let arch = name.trim_start_matches("linux/");
        let config = tool(
            "skopeo",
            &[
                "inspect",
                "--config",
                "--tls-verify=false",
                &format!("docker://{repository}:test-{arch}"),
            ],
        );
        assert!(!config.contains(&secret), "{config}");
        assert_eq!(
            serde_json::from_str::<Value>(&config).unwrap()["architecture"],
            arch
        );
    }
    // The cache mount starts cold for this cache id.
    let amd64 = platforms[0]["image_id"].as_str().unwrap();
    assert_eq!(
        image_file(amd64, "linux/amd64", "/var/task/cache-state").trim(),
        "cold"
    );

    // A changed dependency list re-runs the step: the cache mount kept its contents.
    let requirements = project.join("requirements.txt");
    let mut listed = std::fs::read_to_string(&requirements).unwrap();
    listed.push_str("# pinned by the platform team\n");
    std::fs::write(&requirements, listed).unwrap();
    let again = build(
        &project,
        &repository,
        &[
            "--secret",
            &secret_arg,
            "--platform",
            "linux/amd64",
            "--tag",
            "v2",
        ],
    );
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let again = json(&again);
    assert_eq!(again["status"], "built");
    let image = again["platforms"][0]["image_id"].as_str().unwrap();
    assert_eq!(
        image_file(image, "linux/amd64", "/var/task/cache-state").trim(),
        "reused"
    );
}

#[test]
fn syntax_the_chosen_builder_cannot_build_is_refused_before_building_with_its_line() {
    let (_dir, project) = mount_project(&unique("pip-cache"));
    let repository = format!("{}/{}", registry(), unique("team/refused"));
    let classic = build(
        &project,
        &repository,
        &["--builder", "classic", "--no-smoke"],
    );
    assert_eq!(classic.status.code(), Some(2), "{}", text(&classic));
    let message = String::from_utf8_lossy(&classic.stderr);
    assert!(
        message.contains(
            "Dockerfile:11: `RUN --mount` needs BuildKit, and this build uses the classic builder"
        ),
        "{message}"
    );
    assert!(
        !message.contains("building linux/"),
        "built something: {message}"
    );

    let secret = build(
        &project,
        &repository,
        &["--builder", "classic", "--secret", "id=x,env=HOME"],
    );
    assert_eq!(secret.status.code(), Some(2), "{}", text(&secret));
    assert!(String::from_utf8_lossy(&secret.stderr).contains("`--secret id=x` needs BuildKit"));

    let missing = build(
        &project,
        &repository,
        &["--secret", "id=index_token,env=LAMBDA_GATE_UNSET_VARIABLE"],
    );
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(String::from_utf8_lossy(&missing.stderr).contains(
        "secret `index_token`: the environment variable LAMBDA_GATE_UNSET_VARIABLE is not set"
    ));

    // Heredocs need the Dockerfile frontend of Engine 23.0 (API 1.42) or later.
    let dockerfile = project.join("Dockerfile");
    let mut text_ = std::fs::read_to_string(&dockerfile).unwrap();
    text_.push_str("RUN <<EOT\necho written by a heredoc > /var/task/heredoc\nEOT\n");
    std::fs::write(&dockerfile, &text_).unwrap();
    let line = text_
        .lines()
        .position(|l| l.starts_with("RUN <<EOT"))
        .unwrap()
        + 1;
    let api = tool("docker", &["version", "--format", "{{.Server.APIVersion}}"]);
    let (major, minor) = api.trim().split_once('.').unwrap();
    let heredoc = build(
        &project,
        &repository,
        &["--secret", "id=index_token,env=HOME", "--no-smoke"],
    );
    if (major.parse::<u32>().unwrap(), minor.parse::<u32>().unwrap()) < (1, 42) {
        assert_eq!(heredoc.status.code(), Some(2), "{}", text(&heredoc));
        let message = String::from_utf8_lossy(&heredoc.stderr);
        assert!(
            message.contains(&format!(
                "Dockerfile:{line}: `RUN <<EOT` (a heredoc) needs Dockerfile syntax 1.4"
            )),
            "{message}"
        );
    } else {
        assert_eq!(heredoc.status.code(), Some(0), "{}", text(&heredoc));
    }
}

// Deploy, against moto's Lambda, CloudWatch, STS and SSM APIs. moto accepts image functions but
// cannot run them: its "lambda simple" backend (`/moto-api/config` `use_docker: false`) answers
// an invocation with a result queued through `/moto-api/static/lambda-simple/response`, or else
// echoes the event. So the smoke invocations exercise lambda-gate's call and its reading of the
// answer; the image itself is exercised by `build`'s own smoke test.

/// Runs `script` with boto3 clients `ecr`, `lam`, `cw`, `ssm` and `iam` on moto (us-east-1).
fn aws(script: &str) -> String {
    let output = Process::new("python3")
        .arg("-c")
        .arg(format!(
            "import boto3, json, urllib.request\nkw = dict(endpoint_url='{0}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\necr = boto3.client('ecr', **kw)\nlam = boto3.client('lambda', **kw)\ncw = boto3.client('cloudwatch', **kw)\nssm = boto3.client('ssm', **kw)\niam = boto3.client('iam', **kw)\ndef moto_api(path, body):\n    urllib.request.urlopen(urllib.request.Request('{0}' + path, data=json.dumps(body).encode(), method='POST', headers={{'Content-Type': 'application/json'}}))\nmoto_api('/moto-api/config', {{'lambda': {{'use_docker': False}}}})\n{script}",
            moto()
        ))
        .output()
        .expect("python3 with boto3 (moto[server] brings it)");
    assert!(output.status.success(), "boto3: {}", text(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A function of `architecture` running `image`, with version 1 behind alias `live`.
fn function(name: &str, architecture: &str, image: &str) {
    aws(&format!(
        "try:\n    role = iam.create_role(RoleName='deploy-test', AssumeRolePolicyDocument='{{}}')['Role']['Arn']\nexcept Exception:\n    role = iam.get_role(RoleName='deploy-test')['Role']['Arn']\n\
         lam.create_function(FunctionName='{name}', Role=role, PackageType='Image', Code={{'ImageUri': '{image}'}}, Architectures=['{architecture}'])\n\
         v = lam.publish_version(FunctionName='{name}')['Version']\n\
         lam.create_alias(FunctionName='{name}', Name='live', FunctionVersion=v)"
    ));
}

/// What the function's alias serves: its version, routing weights and that version's image.
fn serving(name: &str) -> Value {
    serde_json::from_str(&aws(&format!(
        "a = lam.get_alias(FunctionName='{name}', Name='live')\n\
         f = lam.get_function(FunctionName='{name}', Qualifier=a['FunctionVersion'])\n\
         latest = lam.get_function(FunctionName='{name}')\n\
         print(json.dumps({{'version': a['FunctionVersion'], 'weights': a.get('RoutingConfig', {{}}).get('AdditionalVersionWeights', {{}}), 'description': a.get('Description', ''), 'image': f['Code']['ImageUri'], 'latest': latest['Code']['ImageUri']}}))"
    )))
    .unwrap()
}

fn deploy(args: &[&str]) -> Output {
    run(gate()
        .arg("deploy")
        .args(args)
        .args(["--format", "json"])
        .env("AWS_SECRET_ACCESS_KEY", "deploy-secret-never-printed"))
}

/// `lambda-gate deploy ARGS --format json` as a child process, to be watched or signalled.
fn spawn_deploy(args: &[&str]) -> std::process::Child {
    Process::new(assert_cmd::cargo::cargo_bin("lambda-gate"))
        .envs(aws_env())
        .env("DOCKER_CONFIG", "/nonexistent")
        .arg("deploy")
        .args(args)
        .args(["--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("lambda-gate")
}

/// Waits until `name`'s alias splits its traffic: the shift has begun.
fn wait_for_split(name: &str, process: &mut std::process::Child) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if serving(name)["weights"]
            .as_object()
            .is_some_and(|w| !w.is_empty())
        {
            return;
        }
        if process.try_wait().unwrap().is_some() || std::time::Instant::now() > deadline {
            let _ = process.kill();
            let mut stderr = String::new();
            if let Some(mut err) = process.stderr.take() {
                let _ = err.read_to_string(&mut stderr);
            }
            panic!("the shift never started: {stderr}");
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// An index pushed for `platforms` (the example project built once per call).
fn pushed_index(repository: &str, platforms: &str) -> (tempfile::TempDir, Value) {
    let (dir, project) = example_project();
    let output = build(
        &project,
        repository,
        &["--platform", platforms, "--no-smoke"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    (dir, json(&output))
}

#[test]
fn deploy_updates_by_child_digest_smoke_tests_the_version_then_shifts_and_is_idempotent() {
    let repository = format!("{}/{}", registry(), unique("team/deploy"));
    let (dir, built) = pushed_index(&repository, "linux/amd64,linux/arm64");
    let index = format!("{repository}@{}", built["index_digest"].as_str().unwrap());
    let arm64 = built["platforms"][1]["digest"].as_str().unwrap();
    let amd64_uri = built["platforms"][0]["image_uri"].as_str().unwrap();
    let name = unique("quote");
    function(
        &name,
        "arm64",
        &format!("{repository}@sha256:{}", "0".repeat(64)),
    );
    let events = dir.path().join("example-project");
    let events = events.to_str().unwrap();

    let first = deploy(&[
        &name,
        "--image",
        &index,
        "--project",
        events,
        "--record-ssm",
        &format!("/lambda/{name}"),
    ]);
    let printed = text(&first);
    assert_eq!(first.status.code(), Some(0), "{printed}");
    assert!(
        !printed.contains("deploy-secret-never-printed"),
        "{printed}"
    );
    let result = json(&first);
    assert_eq!(result["status"], "deployed");
    assert_eq!(result["architecture"], "arm64");
    assert_eq!(result["digest"], arm64, "the arm64 child, not the index");
    assert_eq!(result["smoke"][0]["passed"], true);
    let now = serving(&name);
    assert_eq!(now["version"], result["version"]);
    assert_eq!(now["image"], format!("{repository}@{arm64}"));
    assert!(
        now["weights"].as_object().is_none_or(|w| w.is_empty()),
        "{now}"
    );
    let recorded = aws(&format!(
        "print(ssm.get_parameter(Name='/lambda/{name}/arm64')['Parameter']['Value'])"
    ));
    assert_eq!(recorded.trim(), format!("{repository}@{arm64}"));

    // The digest the alias already serves: nothing happens.
    let again = deploy(&[&name, "--image", &index, "--project", events]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(json(&again)["status"], "unchanged");
    assert_eq!(serving(&name)["version"], result["version"]);

    // A single-platform image of the other architecture is refused before any change.
    let wrong = deploy(&[&name, "--image", amd64_uri, "--project", events]);
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("exec format error"));
    assert_eq!(serving(&name)["version"], result["version"]);
}

#[test]
fn a_failing_smoke_test_or_a_firing_alarm_rolls_back_and_an_index_without_the_architecture_is_refused(
) {
    let repository = format!("{}/{}", registry(), unique("team/rollback"));
    let (dir, built) = pushed_index(&repository, "linux/amd64");
    let index = format!("{repository}@{}", built["index_digest"].as_str().unwrap());
    let old = format!("{repository}@sha256:{}", "1".repeat(64));
    let events = dir.path().join("example-project");
    let events = events.to_str().unwrap();

    // No arm64 child: refused, nothing changed, both named.
    let arm = unique("arm");
    function(&arm, "arm64", &old);
    let refused = deploy(&[&arm, "--image", &index, "--project", events]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("has no image for")
            && message.contains("arm64")
            && message.contains("linux/amd64"),
        "{message}"
    );
    assert_eq!(serving(&arm)["latest"], old.as_str());

    // The smoke test of the published version fails: the alias stays, $LATEST is restored.
    let smoke = unique("smoke");
    function(&smoke, "x86_64", &old);
    aws("moto_api('/moto-api/static/lambda-simple/response', {'results': ['{\"errorType\": \"KeyError\", \"errorMessage\": \"order_id\"}'], 'region': 'us-east-1'})");
    let failed = deploy(&[&smoke, "--image", &index, "--project", events]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    let result = json(&failed);
    assert_eq!(result["status"], "rolled-back");
    assert!(
        result["failure"].as_str().unwrap().contains("KeyError"),
        "{result}"
    );
    let now = serving(&smoke);
    assert_eq!(now["version"], "1");
    assert_eq!(now["latest"], old.as_str());
    assert_eq!(
        result["version"], "2",
        "the failed version is left for inspection"
    );

    // A canary whose alarm fires during the bake is rolled back.
    let canary = unique("canary");
    function(&canary, "x86_64", &old);
    aws(&format!(
        "cw.put_metric_alarm(AlarmName='{canary}-errors', MetricName='Errors', Namespace='AWS/Lambda', Statistic='Sum', Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator='GreaterThanOrEqualToThreshold', Dimensions=[{{'Name': 'FunctionName', 'Value': '{canary}'}}])"
    ));
    let mut process = spawn_deploy(&[
        &canary,
        "--image",
        &index,
        "--project",
        events,
        "--canary",
        "10",
        "--bake",
        "30s",
        "--alarm",
        &format!("{canary}-errors"),
    ]);
    wait_for_split(&canary, &mut process);
    assert_eq!(
        serving(&canary)["version"],
        "1",
        "the canary leaves the alias on the old version"
    );
    aws(&format!(
        "cw.set_alarm_state(AlarmName='{canary}-errors', StateValue='ALARM', StateReason='test')"
    ));
    let output = process.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let result = json(&output);
    assert_eq!(result["status"], "rolled-back");
    assert!(
        result["failure"]
            .as_str()
            .unwrap()
            .contains(&format!("{canary}-errors")),
        "{result}"
    );
    let now = serving(&canary);
    assert_eq!(now["version"], "1");
    assert!(
        now["weights"].as_object().is_none_or(|w| w.is_empty()),
        "{now}"
    );
}

#[test]
fn a_concurrent_change_stops_the_deploy_and_staging_takes_only_what_dev_serves() {
    let repository_path = unique("team/ladder-deploy");
    let (dir, built) = pushed_index(&format!("{}/{repository_path}", registry()), "linux/amd64");
    let digest = built["index_digest"].as_str().unwrap().to_string();
    let events = dir.path().join("example-project");
    let events_dir = events.to_str().unwrap().to_string();
    let old = format!("{}/{repository_path}@sha256:{}", registry(), "2".repeat(64));

    // Someone updates the function while lambda-gate reads the registry (between its read of
    // the function and its update): the proxy makes that change on the first registry request.
    let raced = unique("raced");
    function(&raced, "x86_64", &old);
    let other = format!("{}/{repository_path}@sha256:{}", registry(), "3".repeat(64));
    let (name, image) = (raced.clone(), other.clone());
    let proxy = proxy(move |n, _| {
        if n == 0 {
            aws(&format!(
                "lam.update_function_code(FunctionName='{name}', ImageUri='{image}')"
            ));
        }
        Fault::Pass
    });
    let through_proxy = format!("{}/{repository_path}@{digest}", proxy.address);
    let stopped = deploy(&[&raced, "--image", &through_proxy, "--project", &events_dir]);
    assert_eq!(stopped.status.code(), Some(1), "{}", text(&stopped));
    let message = String::from_utf8_lossy(&stopped.stderr);
    assert!(
        message.contains("changed while this deploy ran") && message.contains(&other),
        "{message}"
    );
    assert_eq!(
        serving(&raced)["latest"],
        other.as_str(),
        "their change stands"
    );

    // The ladder: staging takes only what dev's alias serves now.
    let (dev, staging) = (unique("dev"), unique("staging"));
    function(&dev, "x86_64", &old);
    function(&staging, "x86_64", &old);
    std::fs::write(
        events.join("lambda-gate.toml"),
        format!("[promotion]\nladders = [[\"dev\", \"staging\"]]\n\n[deploy.environments.dev]\nfunction = \"{dev}\"\n\n[deploy.environments.staging]\nfunction = \"{staging}\"\nregion = \"us-east-1\"\n"),
    )
    .unwrap();
    let image = format!("{}/{repository_path}@{digest}", registry());
    let early = deploy(&[
        "--environment",
        "staging",
        "--image",
        &image,
        "--project",
        &events_dir,
    ]);
    assert_eq!(early.status.code(), Some(1), "{}", text(&early));
    assert!(String::from_utf8_lossy(&early.stderr).contains(&format!(
        "staging only takes what dev runs: dev's {dev}:live serves"
    )));
    assert_eq!(serving(&staging)["version"], "1");
    let to_dev = deploy(&[
        "--environment",
        "dev",
        "--image",
        &image,
        "--project",
        &events_dir,
    ]);
    assert_eq!(to_dev.status.code(), Some(0), "{}", text(&to_dev));
    let to_staging = deploy(&[
        "--environment",
        "staging",
        "--image",
        &image,
        "--project",
        &events_dir,
    ]);
    assert_eq!(to_staging.status.code(), Some(0), "{}", text(&to_staging));
    assert_eq!(json(&to_staging)["status"], "deployed");
    assert_eq!(serving(&staging)["version"], "2");
}
