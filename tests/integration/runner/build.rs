//! `build`, `push` and `dev-image pull` against the Docker Engine and the registry: both
//! builders, both platforms, the image's own smoke test, BuildKit mounts and secrets, and a
//! failing gate that builds nothing. Results are read back with skopeo and the docker CLI.

use super::*;

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
