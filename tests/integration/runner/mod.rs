//! The runner against real components, started by `tests/services.sh` (the README's test
//! command): the Docker Engine, an OCI registry and the moto server (ECR + SSM) on 127.0.0.1,
//! qemu/binfmt for arm64, and stand-in base images for both architectures. Results are read
//! back with independent clients: skopeo, the docker CLI, boto3.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output};

use crate::common::copy_dir;
use assert_cmd::Command;

use serde_json::Value;

mod attest;
mod build;
mod deploy;
mod deploy_faults;
mod deploy_safety;
mod faults;
mod fleet;
mod promote;

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

thread_local! {
    static REGION: std::cell::Cell<&'static str> = const { std::cell::Cell::new("us-east-1") };
}

/// The AWS region of this test's functions, alarms and deploys.
fn region() -> &'static str {
    REGION.with(|r| r.get())
}

/// Moves this test to a region of its own. moto keeps the invocation results a test queues in
/// one queue per account and region, taken by whichever invocation comes next: a test that
/// queues results must be the only one invoking in its region, or another test's smoke test
/// takes them.
fn own_region(region: &'static str) {
    REGION.with(|r| r.set(region));
}

/// Queues `results` for the next invocations in this test's region (see [`own_region`]).
fn queue_results(results: &[&str]) {
    aws(&format!(
        "moto_api('/moto-api/static/lambda-simple/response', {{'results': {}, 'region': '{}'}})",
        serde_json::to_string(results).unwrap(),
        region()
    ));
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
        ("AWS_REGION", region().into()),
        ("AWS_ENDPOINT_URL_ECR", moto()),
        ("AWS_ENDPOINT_URL_SSM", moto()),
        ("AWS_ENDPOINT_URL_LAMBDA", moto()),
        ("AWS_ENDPOINT_URL_CLOUDWATCH", moto()),
        ("AWS_ENDPOINT_URL_STS", moto()),
        ("AWS_ENDPOINT_URL_KMS", moto()),
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

// Deploy, against moto's Lambda, CloudWatch, STS and SSM APIs. moto accepts image functions but
// cannot run them: its "lambda simple" backend (`/moto-api/config` `use_docker: false`) answers
// an invocation with a result queued through `/moto-api/static/lambda-simple/response`, or else
// echoes the event. So the smoke invocations exercise lambda-gate's call and its reading of the
// answer; the image itself is exercised by `build`'s own smoke test.

/// Runs `script` with boto3 clients `ecr`, `lam`, `cw`, `ssm`, `iam` and `kms` on moto (in this
/// test's region) and `kw`, their connection.
fn aws(script: &str) -> String {
    let output = Process::new("python3")
        .arg("-c")
        .arg(format!(
            "import boto3, json, urllib.request\nkw = dict(endpoint_url='{0}', region_name='{1}', aws_access_key_id='testing', aws_secret_access_key='testing')\necr = boto3.client('ecr', **kw)\nlam = boto3.client('lambda', **kw)\ncw = boto3.client('cloudwatch', **kw)\nssm = boto3.client('ssm', **kw)\niam = boto3.client('iam', **kw)\nkms = boto3.client('kms', **kw)\ndef moto_api(path, body):\n    urllib.request.urlopen(urllib.request.Request('{0}' + path, data=json.dumps(body).encode(), method='POST', headers={{'Content-Type': 'application/json'}}))\nmoto_api('/moto-api/config', {{'lambda': {{'use_docker': False}}}})\n{script}",
            moto(),
            region()
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

/// `lambda-gate pipeline --registry PREFIX --format json EXTRA...`, every base built on the
/// stand-in.
fn pipeline(prefix: &str, extra: &[&str]) -> Output {
    run(gate()
        .args(["pipeline", "--registry", prefix, "--format", "json"])
        .args(["--build-arg", &format!("UPSTREAM_IMAGE={}", base())])
        .args(["--build-arg", &format!("RUST_IMAGE={}", base())])
        .args(extra))
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
