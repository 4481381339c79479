//! Every AWS operation the runner calls is allowed by the policies the repository's own Terraform
//! modules grant: the publisher role (`terraform/modules/lambda-publisher-role`, push, promote,
//! record, deploy) and, for another account's functions, the repository policy of
//! `aws-lambda-container`. The operations are read from the runner's source (each SDK call, and
//! the registry API's blob calls, which ECR authorises as its layer actions), the permissions
//! from the modules' `aws_iam_policy_document`s as the gate's evaluator renders them: a new call
//! cannot ship without its permission, and a permission nothing calls is refused. The check is
//! static: moto enforces neither IAM nor repository policies, so no runtime test can show a
//! denial here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use lambda_gate::rules::terraform::{Module, TfFile, Value};

fn module_files(dir: &Path) -> Vec<TfFile> {
    let mut files: Vec<TfFile> = std::fs::read_dir(dir)
        .expect("module directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "tf"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read");
            TfFile::parse(path.clone(), &text)
                .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.message))
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn strings(value: Value) -> Vec<String> {
    match value {
        Value::List(items) => items
            .into_iter()
            .map(|item| item.as_str().expect("a known string").into_owned())
            .collect(),
        other => panic!("not a list: {other:?}"),
    }
}

/// Each statement of each `aws_iam_policy_document` of a module: (document, sid, actions,
/// principal identifiers).
fn statements(dir: &Path) -> Vec<(String, String, Vec<String>, Vec<String>)> {
    let files = module_files(dir);
    let module = Module::new(dir, &files);
    let mut found = Vec::new();
    for (_, data) in module.blocks("data") {
        if data.labels.first().map(|l| l.as_str()) != Some("aws_iam_policy_document") {
            continue;
        }
        let document = data
            .labels
            .get(1)
            .map(|l| l.as_str().to_string())
            .unwrap_or_default();
        for statement in data
            .body
            .blocks()
            .filter(|b| b.ident.as_str() == "statement")
        {
            let get = |name: &str| {
                statement
                    .body
                    .get_attribute(name)
                    .map(|a| module.eval(&a.value))
            };
            let sid = get("sid")
                .and_then(|v| v.as_str().map(|s| s.into_owned()))
                .unwrap_or_default();
            let actions = get("actions").map(strings).unwrap_or_default();
            let principals = statement
                .body
                .blocks()
                .filter(|b| b.ident.as_str() == "principals")
                .filter_map(|p| p.body.get_attribute("identifiers"))
                .map(|a| module.eval(&a.value))
                .filter_map(|v| match v {
                    Value::List(items) => Some(
                        items
                            .into_iter()
                            .map(|i| {
                                i.as_str()
                                    .map(|s| s.into_owned())
                                    .unwrap_or_else(|| "<unknown>".into())
                            })
                            .collect::<Vec<_>>(),
                    ),
                    _ => None,
                })
                .flatten()
                .collect();
            found.push((document.clone(), sid, actions, principals));
        }
    }
    found
}

/// `batch_get_image` → `BatchGetImage`.
fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The IAM actions the runner's source calls: `client.<op>()` in the ECR and SSM code, and
/// `lambda.` / `cloudwatch.` / `ssm.` calls in the deploy code.
fn called_actions() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/runner");
    let call =
        regex::Regex::new(r"\b(client|lambda|cloudwatch|ssm)\s*\.\s*([a-z_]+)\(\)").expect("regex");
    let mut actions = BTreeSet::new();
    let mut stack: Vec<PathBuf> = vec![root];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(
                std::fs::read_dir(&path)
                    .expect("dir")
                    .map(|e| e.expect("entry").path()),
            );
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        for found in call.captures_iter(&text) {
            let service = match (&found[1], file) {
                ("client", "ecr.rs") => "ecr",
                ("client", "kms.rs") => "kms",
                ("client", "promote.rs") | ("ssm", _) => "ssm",
                ("lambda", _) => "lambda",
                ("cloudwatch", _) => "cloudwatch",
                (receiver, file) => panic!(
                    "`{receiver}.{}()` in {file}: which AWS service is it? teach this test",
                    &found[2]
                ),
            };
            let operation = match (service, &found[2]) {
                // Lambda's Invoke API is authorised as InvokeFunction.
                ("lambda", "invoke") => "InvokeFunction".to_string(),
                (_, op) => pascal(op),
            };
            actions.insert(format!("{service}:{operation}"));
        }
    }
    // The registry API's blob calls (oci.rs), which ECR authorises as its layer actions.
    let oci = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/runner/registry/oci.rs"),
    )
    .expect("oci.rs");
    for (code, ecr_actions) in [
        ("Method::HEAD", &["ecr:BatchCheckLayerAvailability"][..]),
        (
            "/blobs/uploads/",
            &[
                "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload",
            ][..],
        ),
        (
            "self.url(repository, \"blobs\", digest)",
            &["ecr:GetDownloadUrlForLayer"][..],
        ),
    ] {
        assert!(
            oci.contains(code),
            "oci.rs no longer has `{code}`: update this table"
        );
        actions.extend(ecr_actions.iter().map(|a| a.to_string()));
    }
    actions
}

#[test]
fn every_aws_call_of_the_runner_is_allowed_by_the_publisher_roles_policies() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("terraform/modules/lambda-publisher-role");
    let granted: BTreeSet<String> = statements(&dir)
        .into_iter()
        .flat_map(|(_, _, actions, _)| actions)
        .collect();
    let called = called_actions();
    // The test reads what it should: the calls the runner is known to make.
    for known in [
        "ecr:BatchGetImage",
        "ecr:PutImage",
        "ecr:GetAuthorizationToken",
        "lambda:UpdateFunctionCode",
        "lambda:InvokeFunction",
        "ssm:PutParameter",
        "cloudwatch:DescribeAlarms",
    ] {
        assert!(
            called.contains(known),
            "{known} not found among the calls: {called:?}"
        );
    }
    let missing: Vec<&String> = called.difference(&granted).collect();
    assert!(missing.is_empty(), "the runner calls {missing:?}, which the publisher role does not grant (granted: {granted:?})");
    // Least privilege: nothing granted that no command calls, but reading back the parameters
    // the role writes (each environment's Terraform reads the deployed digest through it).
    let read_back = ["ssm:GetParameter", "ssm:GetParameters"];
    let unused: Vec<&String> = granted
        .difference(&called)
        .filter(|action| !read_back.contains(&action.as_str()))
        .collect();
    assert!(
        unused.is_empty(),
        "the publisher role grants {unused:?}, which no command calls"
    );
}

#[test]
fn another_accounts_functions_can_pull_and_the_ssm_paths_agree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The repository policy for consumer accounts: the accounts, and Lambda for their
    // functions, may pull (what UpdateFunctionCode needs of an image in another account).
    let consumers: Vec<_> = statements(&root.join("terraform/modules/aws-lambda-container"))
        .into_iter()
        .filter(|(document, ..)| document == "consumers")
        .collect();
    let lambda = consumers
        .iter()
        .find(|(_, _, _, principals)| principals.iter().any(|p| p == "lambda.amazonaws.com"))
        .expect("a statement for Lambda's service principal");
    for action in ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"] {
        assert!(lambda.2.iter().any(|a| a == action), "{action}: {lambda:?}");
        assert!(
            consumers.iter().all(|s| s.2.iter().any(|a| a == action)),
            "{action}: {consumers:?}"
        );
    }
    let text = std::fs::read_to_string(root.join("terraform/modules/aws-lambda-container/main.tf"))
        .expect("main.tf");
    assert!(
        text.contains("aws:sourceArn"),
        "Lambda's pull is limited to the consumer accounts' functions"
    );
    // One SSM path: the role may write under its default path, where the Jenkins guide and
    // buildLambda record deployments.
    let role_dir = root.join("terraform/modules/lambda-publisher-role");
    let files = module_files(&role_dir);
    let module = Module::new(&role_dir, &files);
    let default_path = module
        .variable_value("ssm_parameter_path")
        .map(|expr| module.eval(expr))
        .and_then(|v| v.as_str().map(|s| s.into_owned()))
        .expect("a default path");
    for (file, example) in [
        ("vars/buildLambda.groovy", "ssmPrefix: '/lambda/quote'"),
        ("docs/jenkins.md", "ssmPrefix: '/lambda/quote'"),
    ] {
        let text = std::fs::read_to_string(root.join(file)).expect(file);
        assert!(text.contains(example), "{file} no longer shows `{example}`");
        assert!(
            "/lambda/quote".starts_with(&format!("{default_path}/")),
            "{file}: `/lambda/quote` is not under the role's `{default_path}`"
        );
    }
}
