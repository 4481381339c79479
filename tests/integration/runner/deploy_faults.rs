//! Deploys where AWS itself says no or takes its time: an image update that ends `Failed`, a
//! rollback whose own update is refused, an alias changed by someone else mid-shift (the
//! revision compare-and-set), provisioned concurrency that follows the alias or cannot be
//! allocated, a configuration-only change, and a role assumed through STS.
//!
//! moto 5.2 checks no RevisionId, has no provisioned concurrency and never fails an update; the
//! strict launcher (`tests/standin/moto_strict.py`) gives functions and aliases revisions that
//! move and are checked (PreconditionFailedException) as Lambda's are, adds the provisioned
//! concurrency API with Lambda's documented states and refusals, and takes faults a test asks
//! for through a tag on the function (`standin-fault`: `update-fails`, `refuse-update-after-1`,
//! `provisioned-fails`, `provisioned-slow`), each once.

use super::deploy_safety::{canary, ready, start_canary, whole_on};
use super::*;

/// Asks the stand-in for one fault on `name`.
fn fault(name: &str, fault: &str) {
    aws(&format!(
        "arn = lam.get_function(FunctionName='{name}')['Configuration']['FunctionArn']\n\
         lam.tag_resource(Resource=arn, Tags={{'standin-fault': '{fault}'}})"
    ));
}

/// Provisioned concurrency of `count` on `name:live`, waited for until READY.
fn provision(name: &str, count: u32) {
    aws(&format!(
        "import time\n\
         lam.put_provisioned_concurrency_config(FunctionName='{name}', Qualifier='live', ProvisionedConcurrentExecutions={count})\n\
         while lam.get_provisioned_concurrency_config(FunctionName='{name}', Qualifier='live')['Status'] != 'READY':\n    time.sleep(0.2)"
    ));
}

fn provisioned_status(name: &str) -> String {
    aws(&format!(
        "print(lam.get_provisioned_concurrency_config(FunctionName='{name}', Qualifier='live')['Status'])"
    ))
    .trim()
    .to_string()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A 10 % canary baked for a second, to its end.
fn canary_of(name: &str, index: &str, events: &str) -> Output {
    deploy(&[
        name,
        "--image",
        index,
        "--project",
        events,
        "--canary",
        "10",
        "--bake",
        "1s",
    ])
}

fn waited_for(result: &Value, wait: &str) -> bool {
    result["timings"]["steps"]
        .as_array()
        .is_some_and(|steps| steps.iter().any(|s| s["name"] == wait))
}

#[test]
fn an_update_that_ends_failed_is_rolled_back_and_lambdas_reason_said() {
    let (_dir, name, index, events) = ready("updfail");
    let before = serving(&name)["latest"].clone();
    fault(&name, "update-fails");
    let output = deploy(&[&name, "--image", &index, "--project", &events]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let said = stderr(&output);
    assert!(
        said.contains("the update failed: The image manifest or layer media type is not supported. (InvalidImage)"),
        "{said}"
    );
    assert!(
        said.contains(&format!("{name}:live serves version 1 again")),
        "{said}"
    );
    whole_on(&name, "1");
    assert_eq!(serving(&name)["latest"], before, "$LATEST keeps its image");
}

#[test]
fn a_rollback_whose_restore_of_latest_is_refused_says_traffic_is_back() {
    let (_dir, name, index, events) = ready("restore");
    // The deploy's own update goes through; the rollback's update of $LATEST is refused.
    fault(&name, "refuse-update-after-1");
    let process = start_canary(&name, &index, &events, "5m", &[]);
    assert!(Process::new("kill")
        .args(["-TERM", &process.id().to_string()])
        .status()
        .unwrap()
        .success());
    let output = process.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let said = stderr(&output);
    assert!(
        said.contains(&format!(
            "interrupted by SIGTERM; traffic is back: {name}:live serves version 1; restoring $LATEST's previous image"
        )) && said.contains("not authorized to perform: lambda:UpdateFunctionCode"),
        "{said}"
    );
    assert!(!said.contains("--abort"), "nothing is split: {said}");
    whole_on(&name, "1");
}

#[test]
fn an_alias_changed_by_someone_else_mid_shift_stops_the_deploy_and_theirs_stands() {
    // The bake must outlast the hotfix's own client (a Python process): on a loaded 2-core
    // machine that took over 4 s, and the deploy finished first.
    let (_dir, name, _, _, process) = canary("theirs", "15s");
    // A hand-made hotfix during the bake: the alias back on version 1, described by its author.
    aws(&format!(
        "lam.update_alias(FunctionName='{name}', Name='live', FunctionVersion='1', RoutingConfig={{'AdditionalVersionWeights': {{}}}}, Description='hotfix by hand')"
    ));
    let output = process.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let said = stderr(&output);
    assert!(
        said.contains("alias live was changed by someone else")
            && said.contains("nothing was overwritten"),
        "{said}"
    );
    let now = serving(&name);
    assert_eq!(now["version"], "1", "{now}");
    assert_eq!(now["description"], "hotfix by hand", "{now}");
}

#[test]
fn provisioned_concurrency_follows_each_move_and_a_failed_allocation_rolls_back() {
    // Allocated again after each move of the alias, and waited for before the version is judged.
    let (_dir, name, index, events) = ready("warm");
    provision(&name, 3);
    let output = canary_of(&name, &index, &events);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let result = json(&output);
    assert_eq!(result["status"], "deployed", "{result}");
    assert_eq!(result["provisioned_concurrency"], 3, "{result}");
    assert!(
        waited_for(&result, "provisioned concurrency allocating"),
        "{result}"
    );
    whole_on(&name, "2");
    assert_eq!(provisioned_status(&name), "READY");
    // A deploy of what the alias already serves is a no-op, whatever the allocation is doing.
    fault(&name, "provisioned-slow");
    aws(&format!(
        "lam.put_provisioned_concurrency_config(FunctionName='{name}', Qualifier='live', ProvisionedConcurrentExecutions=3)"
    ));
    let again = deploy(&[&name, "--image", &index, "--project", &events]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(json(&again)["status"], "unchanged");

    // The new version cannot be allocated (its initialisation fails): rolled back.
    let (_dir, name, index, events) = ready("coldfail");
    provision(&name, 2);
    fault(&name, "provisioned-fails");
    let output = canary_of(&name, &index, &events);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let result = json(&output);
    assert_eq!(result["status"], "rolled-back", "{result}");
    let failure = result["failure"].as_str().unwrap();
    assert!(
        failure.contains(&format!(
            "provisioned concurrency (2) on {name}:live could not be allocated with version 2: FAILED (FUNCTION_ERROR_INIT_FAILURE"
        )),
        "{failure}"
    );
    whole_on(&name, "1");

    // An allocation still in progress when the deploy starts: refused before any change.
    let (_dir, name, index, events) = ready("coldstart");
    fault(&name, "provisioned-slow");
    aws(&format!(
        "lam.put_provisioned_concurrency_config(FunctionName='{name}', Qualifier='live', ProvisionedConcurrentExecutions=4)"
    ));
    let output = deploy(&[&name, "--image", &index, "--project", &events]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let said = stderr(&output);
    assert!(
        said.contains(&format!(
            "{name}:live's provisioned concurrency (4) is IN_PROGRESS"
        )) && said.contains("Deploy once it is READY"),
        "{said}"
    );
    let now = serving(&name);
    assert_eq!(now["version"], "1");
    assert_eq!(now["latest"], now["image"], "nothing changed: {now}");
    // Break-glass goes ahead, and waits for the allocation after the move like any deploy.
    let output = deploy(&[
        &name,
        "--image",
        &index,
        "--project",
        &events,
        "--emergency",
        "INC-7: hotfix for the cold starts",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        stderr(&output).contains("emergency: going ahead although"),
        "{}",
        text(&output)
    );
    let result = json(&output);
    assert_eq!(result["status"], "deployed", "{result}");
    assert!(
        waited_for(&result, "provisioned concurrency allocating"),
        "{result}"
    );
    whole_on(&name, "2");
}

#[test]
fn a_configuration_only_change_is_published_smoked_and_shifted() {
    let (_dir, name, index, events) = ready("config");
    let first = deploy(&[&name, "--image", &index, "--project", &events]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    whole_on(&name, "2");
    // Terraform changes $LATEST's memory and a variable; the image stays.
    aws(&format!(
        "import time\n\
         lam.update_function_configuration(FunctionName='{name}', MemorySize=1024, Environment={{'Variables': {{'API_TOKEN': 'new-secret'}}}})"
    ));
    let output = deploy(&[&name, "--image", &index, "--project", &events]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let result = json(&output);
    assert_eq!(result["status"], "deployed", "{result}");
    assert_eq!(result["version"], "3", "{result}");
    assert_eq!(
        result["configuration"],
        serde_json::json!([
            "MemorySize 128 → 1024",
            "environment variable API_TOKEN changed"
        ]),
        "{result}"
    );
    assert!(!text(&output).contains("new-secret"), "a value was printed");
    assert!(
        !waited_for(&result, "update in progress"),
        "the image was not updated: {result}"
    );
    assert_eq!(result["smoke"][0]["qualifier"], "3", "{result}");
    whole_on(&name, "3");
    let memory = aws(&format!(
        "print(lam.get_function(FunctionName='{name}', Qualifier='live')['Configuration']['MemorySize'])"
    ));
    assert_eq!(memory.trim(), "1024");
    // Nothing changed since: nothing to do.
    let again = deploy(&[&name, "--image", &index, "--project", &events]);
    assert_eq!(json(&again)["status"], "unchanged", "{}", text(&again));
}

#[test]
fn a_role_arn_is_assumed_through_sts_and_its_account_is_deployed() {
    // The function lives in another account, reached only through the role assumed there.
    let (_dir, _, index, events) = ready("assume");
    let name = unique("assumed");
    let account = "210987654321";
    let role = format!("arn:aws:iam::{account}:role/lambda-publisher");
    aws(&format!(
        "sts = boto3.client('sts', **kw)\n\
         c = sts.assume_role(RoleArn='{role}', RoleSessionName='setup')['Credentials']\n\
         other = dict(kw, aws_access_key_id=c['AccessKeyId'], aws_secret_access_key=c['SecretAccessKey'], aws_session_token=c['SessionToken'])\n\
         lam2 = boto3.client('lambda', **other)\n\
         role_arn = boto3.client('iam', **other).create_role(RoleName='{name}', AssumeRolePolicyDocument='{{}}')['Role']['Arn']\n\
         lam2.create_function(FunctionName='{name}', Role=role_arn, PackageType='Image', Code={{'ImageUri': '{}@sha256:{}'}})\n\
         v = lam2.publish_version(FunctionName='{name}')['Version']\n\
         lam2.create_alias(FunctionName='{name}', Name='live', FunctionVersion=v)",
        index.split('@').next().unwrap(),
        "1".repeat(64)
    ));
    // Without the role, this account has no such function.
    let without = deploy(&[&name, "--image", &index, "--project", &events]);
    assert_eq!(without.status.code(), Some(2), "{}", text(&without));
    assert!(
        stderr(&without).contains("ResourceNotFoundException"),
        "{}",
        text(&without)
    );
    let output = deploy(&[
        &name,
        "--image",
        &index,
        "--project",
        &events,
        "--role-arn",
        &role,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let result = json(&output);
    assert_eq!(result["status"], "deployed", "{result}");
    assert_eq!(result["version"], "2", "{result}");
}
