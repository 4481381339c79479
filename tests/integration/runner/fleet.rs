//! `lambda-gate fleet` against moto (Lambda, STS for a second account) and the local registry:
//! functions in two accounts, aliases serving one version or split between two, images whose
//! labels name a current base, one in its grace window, one past it, an unapproved one and
//! none at all. moto runs no image; the fleet only reads what Lambda records (alias, versions,
//! image URIs, LastModified), which moto keeps as AWS does, and the images themselves from the
//! registry, where they are pushed as real OCI manifests and config blobs.

use super::*;

const RELEASE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-lambda-python-release-base";
const OTHER_ACCOUNT: &str = "210987654321";

fn digest(fill: char) -> String {
    format!("sha256:{}", fill.to_string().repeat(64))
}

/// Pushes a one-layer OCI image whose config carries `labels` to `repository` (under `tag`,
/// if any); returns `repository@digest`.
fn push_image(repository: &str, labels: &[(&str, String)], tag: Option<&str>) -> String {
    push_layered(repository, labels, tag, &["app"])
}

/// Pushes an OCI image of `layers` (each a blob of that name's bytes: the registry stores
/// what it is given) whose config carries `labels`.
fn push_layered(
    repository: &str,
    labels: &[(&str, String)],
    tag: Option<&str>,
    layers: &[&str],
) -> String {
    let labels: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
        .collect();
    let (host, path) = repository.split_once('/').unwrap();
    let script = format!(
        "import hashlib, json, urllib.request\n\
         base = 'http://{host}/v2/{path}'\n\
         def blob(data):\n    d = 'sha256:' + hashlib.sha256(data).hexdigest()\n    loc = urllib.request.urlopen(urllib.request.Request(base + '/blobs/uploads/', method='POST')).headers['Location']\n    sep = '&' if '?' in loc else '?'\n    url = loc if loc.startswith('http') else 'http://{host}' + loc\n    urllib.request.urlopen(urllib.request.Request(url + sep + 'digest=' + d, data=data, method='PUT', headers={{'Content-Type': 'application/octet-stream'}}))\n    return d, len(data)\n\
         layers = [blob(name.encode()) for name in {layers:?}]\n\
         config = json.dumps({{'architecture': 'amd64', 'os': 'linux', 'config': {{'Labels': {labels}}}, 'rootfs': {{'type': 'layers', 'diff_ids': ['sha256:' + hashlib.sha256(b'').hexdigest()]}}}}).encode()\n\
         cd, cs = blob(config)\n\
         manifest = json.dumps({{'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'config': {{'mediaType': 'application/vnd.oci.image.config.v1+json', 'digest': cd, 'size': cs}}, 'layers': [{{'mediaType': 'application/vnd.oci.image.layer.v1.tar+gzip', 'digest': d, 'size': n}} for d, n in layers]}}).encode()\n\
         md = 'sha256:' + hashlib.sha256(manifest).hexdigest()\n\
         for ref in [md] + ([{tag}] if {tag} else []):\n    urllib.request.urlopen(urllib.request.Request(base + '/manifests/' + ref, data=manifest, method='PUT', headers={{'Content-Type': 'application/vnd.oci.image.manifest.v1+json'}}))\n\
         print(md, end='')",
        labels = serde_json::to_string(&labels).unwrap(),
        tag = tag.map_or("None".to_string(), |t| format!("'{t}'")),
    );
    let output = Process::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    format!("{repository}@{}", String::from_utf8_lossy(&output.stdout))
}

fn base_labels(base: &str, digest: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "org.opencontainers.image.base.name",
            format!("{base}@{digest}"),
        ),
        ("org.opencontainers.image.base.digest", digest.to_string()),
    ]
}

#[test]
fn fleet_judges_every_serving_version_by_its_base_across_accounts_and_split_aliases() {
    own_region("ap-southeast-2");
    let repository = format!("{}/{}", registry(), unique("fleet/quote"));
    let (new, grace, past, unlisted) = (digest('a'), digest('b'), digest('c'), digest('d'));
    let release = format!("{RELEASE}:3.12");
    let current = push_image(&repository, &base_labels(&release, &new), Some("prod"));
    let in_grace = push_image(&repository, &base_labels(&release, &grace), Some("staging"));
    let past_grace = push_image(&repository, &base_labels(&release, &past), None);
    let outdated = push_image(&repository, &base_labels(&release, &unlisted), Some("dev"));
    let unapproved = push_image(
        &repository,
        &base_labels("public.ecr.aws/lambda/python:3.12", &digest('e')),
        Some("test"),
    );
    let unlabelled = push_image(&repository, &[], Some("latest"));
    // An approved base the policy names by repository, and an image built on it by other means:
    // no labels, its layers starting with the base's.
    let base_repository = format!("{}/{}", registry(), unique("fleet/base"));
    let layered_base = push_layered(&base_repository, &[], Some("3.12"), &["base-os"]);
    let layered_base_digest = layered_base.rsplit_once('@').unwrap().1.to_string();
    let layered = push_layered(&repository, &[], None, &["base-os", "app"]);

    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("lambda-gate.toml");
    std::fs::write(
        &policy,
        format!(
            "[dockerfile]\nrelease-bases = [\"*.dkr.ecr.*.amazonaws.com/aws-lambda-python-release-base\", \"{base_repository}\"]\n\n[dockerfile.digests]\n\"{release}\" = \"{new}\"\n\"{base_repository}:3.12\" = \"{layered_base_digest}\"\n\n[dockerfile.previous-digests]\n\"{release}\" = [\n  {{ digest = \"{grace}\", allowed-until = 2999-12-31 }},\n  {{ digest = \"{past}\", allowed-until = 2001-01-01 }},\n]\n\n[fleet]\naliases = [\"live\"]\n\n[[fleet.accounts]]\nname = \"main\"\nregions = [\"ap-southeast-2\"]\n\n[[fleet.accounts]]\nname = \"other\"\nregions = [\"ap-southeast-2\"]\nrole-arn = \"arn:aws:iam::{OTHER_ACCOUNT}:role/fleet-reader\"\n"
        ),
    )
    .unwrap();

    let prefix = unique("fleet");
    let name = |n: &str| format!("{prefix}-{n}");
    // The main account: one function per base state, one split alias (90/10), and an alias
    // the policy does not list.
    let create = |client: &str, function: &str, images: &[&str], weights: &str| {
        format!(
            "fn = '{function}'\n\
             {client}.create_function(FunctionName=fn, Role=role, PackageType='Image', Code={{'ImageUri': '{first}'}})\n\
             settle({client}, fn)\n\
             versions = []\n\
             for image in {images:?}:\n    {client}.update_function_code(FunctionName=fn, ImageUri=image)\n    settle({client}, fn)\n    versions.append({client}.publish_version(FunctionName=fn)['Version'])\n\
             {client}.create_alias(FunctionName=fn, Name='live', FunctionVersion=versions[0]{weights})\n\
             {client}.create_alias(FunctionName=fn, Name='dev', FunctionVersion=versions[-1])\n",
            first = images[0],
        )
    };
    let split_weights = ", RoutingConfig={'AdditionalVersionWeights': {versions[1]: 0.1}}";
    // moto, as AWS, refuses a second update while one is in progress: each waits it out.
    let mut script = String::from(
        "import time\ndef settle(client, fn):\n    for _ in range(200):\n        c = client.get_function_configuration(FunctionName=fn)\n        if c.get('LastUpdateStatus', 'Successful') == 'Successful' and c.get('State', 'Active') == 'Active':\n            return\n        time.sleep(0.05)\n    raise RuntimeError(fn + ' did not settle')\ntry:\n    role = iam.create_role(RoleName='fleet-test', AssumeRolePolicyDocument='{}')['Role']['Arn']\nexcept Exception:\n    role = iam.get_role(RoleName='fleet-test')['Role']['Arn']\n",
    );
    script.push_str(&create("lam", &name("current"), &[&current], ""));
    script.push_str(&create("lam", &name("grace"), &[&in_grace], ""));
    script.push_str(&create("lam", &name("past"), &[&past_grace], ""));
    script.push_str(&create(
        "lam",
        &name("split"),
        &[&current, &in_grace],
        split_weights,
    ));
    script.push_str(&create("lam", &name("layered"), &[&layered], ""));
    // The other account, reached through the role.
    script.push_str(&format!(
        "c = boto3.client('sts', **kw).assume_role(RoleArn='arn:aws:iam::{OTHER_ACCOUNT}:role/fleet-reader', RoleSessionName='setup')['Credentials']\n\
         other = dict(kw, aws_access_key_id=c['AccessKeyId'], aws_secret_access_key=c['SecretAccessKey'], aws_session_token=c['SessionToken'])\n\
         lam2 = boto3.client('lambda', **other)\n\
         try:\n    role = boto3.client('iam', **other).create_role(RoleName='fleet-test', AssumeRolePolicyDocument='{{}}')['Role']['Arn']\nexcept Exception:\n    role = boto3.client('iam', **other).get_role(RoleName='fleet-test')['Role']['Arn']\n"
    ));
    script.push_str(&create("lam2", &name("outdated"), &[&outdated], ""));
    script.push_str(&create("lam2", &name("unapproved"), &[&unapproved], ""));
    script.push_str(&create("lam2", &name("unlabelled"), &[&unlabelled], ""));
    aws(&script);

    let html = dir.path().join("fleet.html");
    let output = run(gate()
        .args(["fleet", "--config"])
        .arg(&policy)
        .args(["--format", "json", "--html"])
        .arg(&html));
    // Past grace (and outdated with no grace) runs in the fleet: exit 1.
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let fleet = json(&output);
    let accounts = fleet["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 2, "{accounts:?}");
    assert!(
        accounts.iter().all(|a| a.get("error").is_none()),
        "{accounts:?}"
    );
    let ours = |n: &str| -> Value {
        fleet["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["function"] == name(n).as_str())
            .unwrap_or_else(|| panic!("{} not listed: {fleet}", name(n)))
            .clone()
    };
    let status = |n: &str| -> Vec<String> {
        let function = ours(n);
        let aliases = function["aliases"].as_array().unwrap();
        assert_eq!(aliases.len(), 1, "only `live` is judged: {function}");
        aliases[0]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["base"]["status"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(status("current"), ["current"]);
    assert_eq!(status("grace"), ["in-grace"]);
    assert_eq!(
        ours("grace")["aliases"][0]["versions"][0]["base"]["until"],
        "2999-12-31"
    );
    assert_eq!(status("past"), ["past-grace"]);
    assert_eq!(ours("past")["account"], "main");
    assert_eq!(status("outdated"), ["outdated"]);
    assert_eq!(ours("outdated")["account"], "other");
    assert_eq!(status("unapproved"), ["unapproved"]);
    assert_eq!(status("unlabelled"), ["unknown"]);
    // No labels, but its layers start with an approved base's: that base, current.
    assert_eq!(status("layered"), ["current"]);
    assert_eq!(
        ours("layered")["aliases"][0]["versions"][0]["base"]["name"],
        format!("{base_repository}:3.12@{layered_base_digest}").as_str()
    );
    // The split alias: both versions, 90 and 10 percent, each judged.
    let split = &ours("split")["aliases"][0];
    assert_eq!(split["split"], true);
    assert_eq!(split["versions"][0]["weight"], 90.0);
    assert_eq!(split["versions"][1]["weight"], 10.0);
    assert_eq!(status("split"), ["current", "in-grace"]);
    // Ladder tags: the current image is `prod`; the past-grace one is under no tag.
    let tags = |n: &str| ours(n)["aliases"][0]["versions"][0]["ladder_tags"].clone();
    assert_eq!(tags("current"), serde_json::json!(["prod"]));
    assert_eq!(tags("past"), serde_json::json!([]));
    assert!(ours("current")["aliases"][0]["versions"][0]["since"].is_string());

    // The HTML page, rendered by a real browser: a row per serving version, judged.
    let dom = String::from_utf8_lossy(&crate::common::chromium(&html, &["--dump-dom"]).stdout)
        .into_owned();
    assert!(dom.contains(&format!("{}:live", name("past"))), "{dom}");
    assert!(dom.contains("past grace since 2001-01-01"), "{dom}");
    assert!(
        dom.contains(&format!("{}:live (split)", name("split"))),
        "{dom}"
    );

    // In words: what needs attention, named, and the counts.
    let human = run(gate()
        .args(["fleet", "--config"])
        .arg(&policy)
        .args(["--account", "main"]));
    assert_eq!(human.status.code(), Some(1), "{}", text(&human));
    let shown = text(&human);
    assert!(
        shown.contains(&format!(
            "past grace  main ap-southeast-2 {}:live version 1 (100%)",
            name("past")
        )),
        "{shown}"
    );
    assert!(shown.contains("grace ended 2001-01-01"), "{shown}");
    assert!(
        shown.contains(&format!(
            "split       main ap-southeast-2 {}:live: version 1 90%, version 2 10%",
            name("split")
        )),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "outside     main ap-southeast-2 {}:live",
            name("past")
        )),
        "{shown}"
    );
    assert!(
        !shown.contains(&name("unapproved")),
        "--account main lists only main: {shown}"
    );

    // Only the other account: nothing past grace there except the outdated base.
    let other = run(gate().args(["fleet", "--config"]).arg(&policy).args([
        "--account",
        "other",
        "--format",
        "json",
    ]));
    assert_eq!(other.status.code(), Some(1), "{}", text(&other));
    // An account that cannot be named is a usage error.
    let unknown = run(gate()
        .args(["fleet", "--config"])
        .arg(&policy)
        .args(["--account", "nope"]));
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    assert!(
        text(&unknown).contains("no such account (it has: main, other)"),
        "{}",
        text(&unknown)
    );
}

/// The roll-out of a patched base, end to end, on real parts: the base pipeline records the new
/// digest in the platform's policy (the old one allowed for 14 days); the fleet shows every
/// function in grace; `sweep --fix --push` opens one branch per repository on its git remote;
/// each branch is merged and the repository's normal build and deploy run; the fleet then shows
/// every function on the new base and none left.
#[test]
fn a_patched_base_reaches_every_function_and_the_fleet_shows_none_left() {
    own_region("ap-northeast-1");
    let prefix = format!("{}/{}", registry(), unique("loop"));
    let release_repo = format!("{prefix}/aws-lambda-python-release-base");
    // Today's base: the stand-in, as this prefix's release base.
    tool(
        "skopeo",
        &[
            "copy",
            "--all",
            "--quiet",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            &format!("docker://{}", base()),
            &format!("docker://{release_repo}:3.12"),
        ],
    );
    let old = sha256(skopeo_raw_text(&format!("{release_repo}:3.12")).as_bytes());
    let platform = tempfile::tempdir().unwrap();
    let policy = platform.path().join("lambda-gate.toml");
    std::fs::write(
        &policy,
        format!(
            "# The platform team's policy, for every repository.\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n\n[dockerfile]\nrelease-bases = [\"{}/*/aws-lambda-python-release-base\"]\n\n[dockerfile.digests]\n\"{release_repo}:3.12\" = \"{old}\"\n\n[fleet]\naliases = [\"live\"]\n\n[[fleet.accounts]]\nname = \"main\"\nregions = [\"{}\"]\n",
            registry(),
            region()
        ),
    )
    .unwrap();
    let fleet = || {
        let output = run(gate()
            .args(["fleet", "--config"])
            .arg(&policy)
            .args(["--format", "json"]));
        let code = output.status.code();
        (code, json(&output), text(&output))
    };
    // This test's functions (moto keeps those of earlier runs in the region).
    let names: std::cell::RefCell<Vec<String>> = std::cell::RefCell::new(Vec::new());
    let ours = |fleet: &Value| -> Vec<Value> {
        fleet["functions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| names.borrow().iter().any(|n| f["function"] == n.as_str()))
            .cloned()
            .collect()
    };
    let statuses = |fleet: &Value| -> Vec<String> {
        ours(fleet)
            .iter()
            .flat_map(|f| f["aliases"].as_array().unwrap().clone())
            .flat_map(|a| a["versions"].as_array().unwrap().clone())
            .map(|v| v["base"]["status"].as_str().unwrap().to_string())
            .collect()
    };

    // Each repository's normal build, under the platform's policy: its index, pushed.
    let build_amd64 = |project: &Path, image: &str| -> String {
        let built = run(gate()
            .arg("build")
            .arg(project)
            .arg("--config")
            .arg(&policy)
            .args([
                "--push",
                image,
                "--platform",
                "linux/amd64",
                "--no-smoke",
                "--format",
                "json",
            ]));
        assert_eq!(built.status.code(), Some(0), "{}", text(&built));
        format!("{image}@{}", json(&built)["index_digest"].as_str().unwrap())
    };

    // Three repositories on git remotes, each a Lambda on today's base, built and serving.
    let remotes = tempfile::tempdir().unwrap();
    let mut repositories = Vec::new();
    for name in ["orders", "quotes", "ledger"] {
        let (dir, project) = example_project();
        let dockerfile = project.join("Dockerfile");
        let written = std::fs::read_to_string(&dockerfile).unwrap();
        let pinned = written
            .lines()
            .find(|l| l.starts_with("ARG BASE_IMAGE="))
            .unwrap()
            .to_string();
        std::fs::write(
            &dockerfile,
            written.replace(
                &pinned,
                &format!("ARG BASE_IMAGE={release_repo}:3.12@{old}"),
            ),
        )
        .unwrap();
        // These teams run x86_64, and build only that.
        let terraform = project.join("terraform/main.tf");
        let main_tf = std::fs::read_to_string(&terraform).unwrap();
        std::fs::write(&terraform, main_tf.replace("\"arm64\"", "\"x86_64\"")).unwrap();
        let git = |args: &[&str]| {
            tool(
                "git",
                &[
                    &[
                        "-C",
                        dir.path().to_str().unwrap(),
                        "-c",
                        "user.name=dev",
                        "-c",
                        "user.email=dev@example.com",
                    ][..],
                    args,
                ]
                .concat(),
            )
        };
        git(&["commit", "-qam", "On the platform's release base"]);
        let bare = remotes.path().join(format!("{name}.git"));
        tool(
            "git",
            &[
                "clone",
                "-q",
                "--bare",
                dir.path().to_str().unwrap(),
                bare.to_str().unwrap(),
            ],
        );
        git(&["remote", "add", "origin", bare.to_str().unwrap()]);
        let image = format!("{prefix}/{name}");
        let index = build_amd64(&project, &image);
        let function_name = unique(name);
        function(&function_name, "x86_64", &index);
        names.borrow_mut().push(function_name.clone());
        repositories.push((name, dir, project, bare, image, function_name));
    }
    let (code, before, shown) = fleet();
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(
        statuses(&before),
        ["current", "current", "current"],
        "{before}"
    );

    // 1. A patched base: the pipeline builds it, promotes it and records its digest.
    let built = pipeline(
        &prefix,
        &[
            "--platform",
            "linux/amd64",
            "--record-policy",
            policy.to_str().unwrap(),
        ],
    );
    assert_eq!(built.status.code(), Some(0), "{}", text(&built));
    let new = json(&built)["builds"][0]["index_digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, old);
    let (code, during, shown) = fleet();
    assert_eq!(
        code,
        Some(0),
        "a base in its grace window fails nothing: {shown}"
    );
    assert_eq!(
        statuses(&during),
        ["in-grace", "in-grace", "in-grace"],
        "{during}"
    );

    // 2. One branch per repository, pushed to its remote.
    let list = remotes.path().join("repos.txt");
    let urls: Vec<String> = repositories
        .iter()
        .map(|(_, _, _, bare, _, _)| format!("file://{}", bare.display()))
        .collect();
    std::fs::write(&list, urls.join("\n")).unwrap();
    let sweep = run(gate()
        .args(["sweep", "-q", "--repos"])
        .arg(&list)
        .arg("--cache")
        .arg(remotes.path().join("clones"))
        .arg("--config")
        .arg(&policy)
        .args(["--fix", "--push", "--format", "json"]));
    assert_eq!(sweep.status.code(), Some(0), "{}", text(&sweep));
    let report = json(&sweep);
    let fixes = report["fixes"].as_array().unwrap();
    assert_eq!(fixes.len(), 3, "{report}");
    for fix in fixes {
        assert_eq!(fix["push"]["status"], "created", "{fix}");
        let message = fix["message"].as_str().unwrap();
        assert!(message.contains(&format!("{old} -> {new}")), "{message}");
        // What the two images' configs say: the stand-in names nothing; the new base, built
        // by the pipeline, its creation day.
        assert!(
            message.contains("  aws-lambda-python-release-base:3.12: its config names no Python or OS version -> created 20"),
            "{message}"
        );
    }

    // 3. Each branch merged; each repository's normal build and deploy.
    for (_, dir, project, bare, image, function_name) in &repositories {
        let head = tool(
            "git",
            &["-C", bare.to_str().unwrap(), "symbolic-ref", "HEAD"],
        );
        tool(
            "git",
            &[
                "-C",
                bare.to_str().unwrap(),
                "update-ref",
                head.trim(),
                "refs/heads/lambda-gate/fixes",
            ],
        );
        let branch = head.trim().trim_start_matches("refs/heads/");
        tool(
            "git",
            &[
                "-C",
                dir.path().to_str().unwrap(),
                "pull",
                "-q",
                "--ff-only",
                "origin",
                branch,
            ],
        );
        assert!(std::fs::read_to_string(project.join("Dockerfile"))
            .unwrap()
            .contains(&format!("@{new}")));
        let index = build_amd64(project, image);
        let deployed = deploy(&[
            function_name,
            "--image",
            &index,
            "--project",
            project.to_str().unwrap(),
        ]);
        assert_eq!(deployed.status.code(), Some(0), "{}", text(&deployed));
    }

    // 4. The fleet: every function on the new base, none left.
    let (code, after, shown) = fleet();
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(
        statuses(&after),
        ["current", "current", "current"],
        "{after}"
    );
    for function in ours(&after) {
        let version = &function["aliases"][0]["versions"][0];
        assert_eq!(version["base"]["digest"], new.as_str(), "{function}");
        assert_eq!(
            version["ladder_tags"],
            serde_json::json!(["test"]),
            "{function}"
        );
    }
}
