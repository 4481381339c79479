//! Deploys when things go wrong: a process interrupted mid-shift, the new version's own errors
//! against the old one's, alarms that do not exist or already fire, an emergency, a deploy in
//! flight. Against moto (Lambda, CloudWatch, SSM): moto neither runs the image nor computes
//! Lambda's metrics, so a test puts the datapoints Lambda would publish for an alias's version
//! (`FunctionName`, `Resource` = `function:alias`, `ExecutedVersion`) with PutMetricData, and
//! queues invocation results through moto's API. moto has no `PutCompositeAlarm`: the strict
//! launcher (`tests/standin/moto_strict.py`) adds it.

use super::*;

/// A function with version 1 behind `live`, the example project's index pushed for amd64, and
/// the directory holding its `events/`.
pub(super) fn ready(prefix: &str) -> (tempfile::TempDir, String, String, String) {
    let repository = format!("{}/{}", registry(), unique(&format!("team/{prefix}")));
    let (dir, built) = pushed_index(&repository, "linux/amd64");
    let index = format!("{repository}@{}", built["index_digest"].as_str().unwrap());
    let name = unique(prefix);
    function(
        &name,
        "x86_64",
        &format!("{repository}@sha256:{}", "1".repeat(64)),
    );
    let events = dir.path().join("example-project").display().to_string();
    (dir, name, index, events)
}

/// A 10 % canary of a fresh function for `bake`, started and split.
pub(super) fn canary(
    prefix: &str,
    bake: &str,
) -> (
    tempfile::TempDir,
    String,
    String,
    String,
    std::process::Child,
) {
    let (dir, name, index, events) = ready(prefix);
    let process = start_canary(&name, &index, &events, bake, &[]);
    (dir, name, index, events, process)
}

/// A 10 % canary of `index` into `name` for `bake` (with `extra` arguments), started and split.
pub(super) fn start_canary(
    name: &str,
    index: &str,
    events: &str,
    bake: &str,
    extra: &[&str],
) -> std::process::Child {
    let mut args = vec![
        name,
        "--image",
        index,
        "--project",
        events,
        "--canary",
        "10",
        "--bake",
        bake,
    ];
    args.extend_from_slice(extra);
    let mut process = spawn_deploy(&args);
    wait_for_split(name, &mut process);
    process
}

/// The datapoint Lambda publishes for `version` invoked through `name:live`.
fn metric(name: &str, version: &str, metric: &str, value: f64) {
    aws(&format!(
        "cw.put_metric_data(Namespace='AWS/Lambda', MetricData=[{{'MetricName': '{metric}', 'Value': {value}, 'Unit': 'Count', 'Dimensions': [{{'Name': 'FunctionName', 'Value': '{name}'}}, {{'Name': 'Resource', 'Value': '{name}:live'}}, {{'Name': 'ExecutedVersion', 'Value': '{version}'}}]}}])"
    ));
}

pub(super) fn whole_on(name: &str, version: &str) {
    let now = serving(name);
    assert_eq!(now["version"], version, "{now}");
    assert!(
        now["weights"].as_object().is_none_or(|w| w.is_empty()),
        "traffic still split: {now}"
    );
    assert!(
        !now["description"]
            .as_str()
            .unwrap_or_default()
            .contains("in flight"),
        "the in-flight record stayed: {now}"
    );
}

#[test]
fn sigterm_mid_canary_puts_the_alias_back_whole_before_the_process_exits() {
    let (_dir, name, index, events, process) = canary("sigterm", "5m");
    // While it bakes, the alias carries the in-flight record: `--status` shows it, and a
    // second deploy is refused.
    let status = deploy(&[&name, "--status"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let status = json(&status);
    assert_eq!(status["version"], "1");
    assert_eq!(status["split"][0][0], "2", "{status}");
    assert_eq!(status["split"][0][1], 10.0, "{status}");
    assert!(status["in_flight"]["since"].is_string(), "{status}");
    let second = deploy(&[&name, "--image", &index, "--project", &events]);
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("has a deploy in flight"),
        "{}",
        text(&second)
    );

    let pid = process.id().to_string();
    assert!(Process::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let output = process.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let result = json(&output);
    assert_eq!(result["status"], "rolled-back");
    assert_eq!(result["failure"], "interrupted by SIGTERM");
    whole_on(&name, "1");
    assert_eq!(
        serving(&name)["latest"],
        format!(
            "{}@sha256:{}",
            index.split('@').next().unwrap(),
            "1".repeat(64)
        ),
        "$LATEST runs the old image again"
    );
}

#[test]
fn sigterm_while_the_update_lands_waits_for_it_then_puts_the_old_image_back() {
    // The strict moto keeps an image update in progress for a moment and refuses another
    // meanwhile, as Lambda does: the rollback must wait for its own update before restoring.
    let (_dir, name, index, events) = ready("landing");
    let old = serving(&name)["latest"].clone();
    let mut process = spawn_deploy(&[&name, "--image", &index, "--project", &events]);
    let stderr = process.stderr.take().unwrap();
    let mut progress = BufReader::new(stderr).lines();
    let updating = format!("updating {name} to ");
    loop {
        let line = progress
            .next()
            .expect("the deploy says when it updates the function")
            .unwrap();
        if line.starts_with(&updating) {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(Process::new("kill")
        .args(["-TERM", &process.id().to_string()])
        .status()
        .unwrap()
        .success());
    let output = process.wait_with_output().unwrap();
    let rest: Vec<String> = progress.map_while(Result::ok).collect();
    assert_eq!(output.status.code(), Some(1), "{}", rest.join("\n"));
    let result = json(&output);
    assert_eq!(result["status"], "rolled-back");
    assert_eq!(result["failure"], "interrupted by SIGTERM");
    whole_on(&name, "1");
    assert_eq!(
        serving(&name)["latest"],
        old,
        "$LATEST runs the old image again"
    );
}

#[test]
fn a_killed_deploy_is_finished_by_abort() {
    let (_dir, name, index, events) = ready("killed");
    let mut process = spawn_deploy(&[
        &name,
        "--image",
        &index,
        "--project",
        &events,
        "--steps",
        "20,50",
        "--bake",
        "5m",
    ]);
    wait_for_split(&name, &mut process);
    process.kill().unwrap(); // SIGKILL: nothing can run
    process.wait().unwrap();
    assert!(
        serving(&name)["weights"]
            .as_object()
            .is_some_and(|w| !w.is_empty()),
        "a killed process leaves the split"
    );
    let abort = deploy(&[&name, "--abort"]);
    assert_eq!(abort.status.code(), Some(0), "{}", text(&abort));
    whole_on(&name, "1");
    assert!(json(&abort)["in_flight"].is_null());
    // Once aborted, the next deploy goes ahead. The killed process left $LATEST on the new
    // image, published as version 2: nothing is updated, Lambda publishes nothing new (its
    // code and configuration are version 2's) and version 2 is what the alias takes.
    let again = deploy(&[&name, "--image", &index, "--project", &events]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let again = json(&again);
    assert_eq!(again["version"], "2", "{again}");
    assert!(
        !again["timings"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "UpdateFunctionCode"),
        "{again}"
    );
    whole_on(&name, "2");
}

#[test]
fn the_old_versions_errors_do_not_judge_the_canary_and_the_new_versions_do() {
    // The old version fails while the canary bakes: not the new version's doing.
    let (_dir, name, _, _, process) = canary("oldfails", "6s");
    metric(&name, "1", "Errors", 7.0);
    metric(&name, "1", "Invocations", 90.0);
    metric(&name, "2", "Invocations", 10.0);
    let output = process.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let result = json(&output);
    assert_eq!(result["status"], "deployed");
    assert_eq!(result["shift"]["invocations"], 10.0, "{result}");
    assert_eq!(result["shift"]["errors"], 0.0, "{result}");
    whole_on(&name, "2");

    // The new version fails through the alias: rolled back, naming its errors.
    let (_dir, name, _, _, process) = canary("newfails", "60s");
    metric(&name, "2", "Invocations", 10.0);
    metric(&name, "2", "Errors", 3.0);
    let output = process.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let result = json(&output);
    assert_eq!(result["status"], "rolled-back");
    let failure = result["failure"].as_str().unwrap();
    assert!(
        failure.contains("version 2 had 3 errors in 10 invocations"),
        "{failure}"
    );
    whole_on(&name, "1");
}

#[test]
fn a_shift_without_enough_traffic_is_rolled_back_or_said() {
    let (_dir, name, index, events) = ready("quiet");
    let quiet = deploy(&[
        &name,
        "--image",
        &index,
        "--project",
        &events,
        "--steps",
        "25,50",
        "--bake",
        "2s",
    ]);
    assert_eq!(quiet.status.code(), Some(0), "{}", text(&quiet));
    let result = json(&quiet);
    assert_eq!(result["shift"]["steps"], serde_json::json!([25.0, 50.0]));
    assert!(
        result["shift"]["note"]
            .as_str()
            .unwrap()
            .contains("no traffic reached version 2"),
        "{result}"
    );
    whole_on(&name, "2");

    let (_dir, name, index, events) = ready("minimum");
    let short = deploy(&[
        &name,
        "--image",
        &index,
        "--project",
        &events,
        "--canary",
        "10",
        "--bake",
        "2s",
        "--min-invocations",
        "5",
    ]);
    assert_eq!(short.status.code(), Some(1), "{}", text(&short));
    assert!(json(&short)["failure"]
        .as_str()
        .unwrap()
        .contains("only 0 invocations reached version 2"));
    whole_on(&name, "1");
}

#[test]
fn a_misspelt_alarm_is_refused_before_any_change_and_a_composite_alarm_judges() {
    let (_dir, name, index, events) = ready("alarms");
    let before = serving(&name);
    let refused = deploy(&[
        &name,
        "--image",
        &index,
        "--project",
        &events,
        "--canary",
        "10",
        "--bake",
        "2s",
        "--alarm",
        &format!("{name}-erors"),
    ]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains(&format!("no alarm named {name}-erors exists")),
        "{}",
        text(&refused)
    );
    assert_eq!(serving(&name), before, "nothing changed");

    aws(&format!(
        "cw.put_metric_alarm(AlarmName='{name}-errors', MetricName='Errors', Namespace='AWS/Lambda', Statistic='Sum', Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator='GreaterThanOrEqualToThreshold', Dimensions=[{{'Name': 'FunctionName', 'Value': '{name}'}}])\n\
         cw.put_composite_alarm(AlarmName='{name}-health', AlarmRule='ALARM(\"{name}-errors\")')"
    ));
    let alarm = format!("{name}-health");
    let process = start_canary(&name, &index, &events, "60s", &["--alarm", &alarm]);
    aws(&format!(
        "cw.set_alarm_state(AlarmName='{name}-health', StateValue='ALARM', StateReason='test')"
    ));
    let output = process.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(json(&output)["failure"]
        .as_str()
        .unwrap()
        .contains(&format!("alarm {name}-health went into ALARM")));
    whole_on(&name, "1");
}

#[test]
fn an_emergency_deploys_past_a_firing_alarm_and_is_recorded() {
    let (_dir, name, index, events) = ready("emergency");
    aws(&format!(
        "cw.put_metric_alarm(AlarmName='{name}-errors', MetricName='Errors', Namespace='AWS/Lambda', Statistic='Sum', Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator='GreaterThanOrEqualToThreshold', Dimensions=[{{'Name': 'FunctionName', 'Value': '{name}'}}])\n\
         cw.set_alarm_state(AlarmName='{name}-errors', StateValue='ALARM', StateReason='incident')"
    ));
    let usual = [
        name.as_str(),
        "--image",
        &index,
        "--project",
        &events,
        "--canary",
        "10",
        "--bake",
        "1m",
        "--alarm",
    ];
    let alarm = format!("{name}-errors");
    let refused = deploy(&[&usual[..], &[alarm.as_str()]].concat());
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("already in ALARM"),
        "{}",
        text(&refused)
    );
    whole_on(&name, "1");

    let no_reason = deploy(&[&usual[..], &[alarm.as_str(), "--emergency", " "]].concat());
    assert_eq!(no_reason.status.code(), Some(2), "{}", text(&no_reason));

    let output = run(gate()
        .arg("deploy")
        .args(
            [
                &usual[..],
                &[alarm.as_str(), "--emergency", "INC-42: orders failing"],
            ]
            .concat(),
        )
        .args(["--format", "json"])
        .env("BUILD_USER_ID", "alice")
        .env("BUILD_TAG", "jenkins-quote-main-7"));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let result = json(&output);
    assert_eq!(result["status"], "deployed");
    assert_eq!(result["emergency"]["reason"], "INC-42: orders failing");
    assert_eq!(result["emergency"]["by"], "alice");
    assert!(result["shift"].is_null(), "all at once: {result}");
    whole_on(&name, "2");
    let recorded: Value = serde_json::from_str(&aws(&format!(
        "v = lam.get_function(FunctionName='{name}', Qualifier='2')['Configuration']['Description']\n\
         p = ssm.get_parameter(Name='/lambda/{name}/emergency')['Parameter']['Value']\n\
         print(json.dumps({{'version': v, 'ssm': json.loads(p)}}))"
    )))
    .unwrap();
    assert!(
        recorded["version"]
            .as_str()
            .unwrap()
            .contains("emergency deploy by alice (jenkins-quote-main-7): INC-42"),
        "{recorded}"
    );
    assert_eq!(recorded["ssm"]["reason"], "INC-42: orders failing");
    assert_eq!(recorded["ssm"]["build"], "jenkins-quote-main-7");
}

#[test]
fn the_alias_is_checked_after_the_last_step_and_rolled_back_when_it_fails() {
    own_region("eu-north-1"); // it queues results
    let (_dir, name, index, events) = ready("after");
    // The version's smoke test answers, then the alias's check after the shift does not.
    queue_results(&[
        r#"{"statusCode": 200}"#,
        r#"{"errorType": "KeyError", "errorMessage": "order_id"}"#,
    ]);
    let output = deploy(&[&name, "--image", &index, "--project", &events]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let result = json(&output);
    assert_eq!(result["status"], "rolled-back");
    assert_eq!(result["smoke"][0]["passed"], true, "{result}");
    assert_eq!(result["after_shift"][0]["qualifier"], "live", "{result}");
    assert!(result["failure"]
        .as_str()
        .unwrap()
        .contains(&format!("the check of {name}:live after the shift")));
    whole_on(&name, "1");
}
