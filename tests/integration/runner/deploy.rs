//! Deploy on the paths that go right: by the child digest for the function's architecture,
//! smoke-tested where it runs, shifted and idempotent; a failing smoke test or alarm rolling
//! back; a concurrent change and the environment ladder. The paths that go wrong are in
//! `deploy_safety` (interruptions, alarms, emergencies) and `deploy_faults` (AWS refusing).

use super::faults::{proxy, Fault};
use super::*;

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
    own_region("eu-west-3"); // it queues a failing result
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
    queue_results(&[r#"{"errorType": "KeyError", "errorMessage": "order_id"}"#]);
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
    // `trace` mid-canary: both versions, with their shares, the old one first.
    let traced = run(gate().args(["trace", &canary, "--format", "json"]));
    assert_eq!(traced.status.code(), Some(0), "{}", text(&traced));
    let versions = json(&traced)["versions"].clone();
    let shares: Vec<(String, f64)> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap().to_string(),
                v["weight"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(shares, [("1".to_string(), 90.0), ("2".to_string(), 10.0)]);
    assert_eq!(versions[0]["image_uri"], old.as_str());
    assert_eq!(
        versions[0]["verdict"]["status"], "untraceable",
        "the old image's registry has no such digest: {versions}"
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

    // The ladder: staging takes only what dev's alias serves now. (Staging is the ladder's last
    // rung, which requires attestation by default; attestation is `attest.rs`'s.)
    let (dev, staging) = (unique("dev"), unique("staging"));
    function(&dev, "x86_64", &old);
    function(&staging, "x86_64", &old);
    std::fs::write(
        events.join("lambda-gate.toml"),
        format!("[promotion]\nladders = [[\"dev\", \"staging\"]]\n\n[deploy.environments.dev]\nfunction = \"{dev}\"\n\n[deploy.environments.staging]\nfunction = \"{staging}\"\nregion = \"us-east-1\"\nrequire-attestation = false\n"),
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
