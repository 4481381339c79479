//! `terraform console` is the oracle for the static evaluator: every expression below is
//! evaluated by both, and the values must agree. Terraform 1.11 is on this machine kind's PATH
//! (it cannot be installed from the package registries) and evaluates offline.

use std::path::Path;
use std::process::Command;

use lambda_gate::rules::terraform::{parse_file, Module, TfFile, Value};

/// Variables and locals the expressions use; `local.e<N>` is expression N.
const MODULE: &str = r#"
variable "mode" {
  type    = string
  default = null
}

variable "names" {
  type    = list(string)
  default = ["b", "a", "b"]
}

variable "settings" {
  type    = map(number)
  default = { api = 30, worker = 0 }
}

locals {
  defaults = { scan = true, retention = 14 }
}
"#;

/// Expressions as teams write them in the modules the gate reads.
const EXPRESSIONS: &[&str] = &[
    r#"{ "a" = false, "a" = "x" }"#,
    r#"var.mode == null ? [] : [1]"#,
    r#"var.mode != null"#,
    r#"[for k, v in var.settings : "${k}=${v}" if v > 0]"#,
    r#"{ for k, v in var.settings : upper(k) => v * 2 }"#,
    r#"{ for n in ["a", "b", "a"] : n => n... }"#,
    r#"toset(var.names)"#,
    r#"merge(local.defaults, { retention = 30 }, null)"#,
    r#"lookup(var.settings, "api", 1)"#,
    r#"lookup(var.settings, "missing", 7)"#,
    r#"concat(var.names, ["c"])"#,
    r#"length(var.settings)"#,
    r#"coalesce(var.mode, "", "Active")"#,
    r#"keys(var.settings)"#,
    r#"values(var.settings)"#,
    r#"distinct(var.names)"#,
    r#"flatten([[1, 2], [3, [4]]])"#,
    r#"element(var.names, 4)"#,
    r#"contains(var.names, "a")"#,
    r#"compact(["a", "", "b"])"#,
    r#"try(local.defaults.scan, false)"#,
    r#""repo-${var.settings["api"]}-${local.defaults.scan}""#,
    r#"(3 + 4) * 2 % 5"#,
    r#"true && !false || false"#,
    r#"local.defaults["retention"] >= 14"#,
    r#"[for s in toset(["x", "y"]) : s]"#,
];

fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => (*n as i64).into(),
        Value::Number(n) => (*n).into(),
        Value::String(s) => s.clone().into(),
        Value::List(items) => items.iter().map(to_json).collect(),
        Value::Object(entries) => {
            let mut map = serde_json::Map::new();
            for (key, value) in entries {
                map.insert(key.clone(), to_json(value));
            }
            map.into()
        }
        unknown => panic!("not known statically: {unknown:?}"),
    }
}

#[test]
fn the_evaluator_agrees_with_terraform_console() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = MODULE.to_string();
    text.push_str("locals {\n");
    for (i, expression) in EXPRESSIONS.iter().enumerate() {
        text.push_str(&format!("  e{i} = {expression}\n"));
    }
    text.push_str("}\n");
    std::fs::write(dir.path().join("main.tf"), &text).expect("write");

    // Terraform: one console session evaluating every expression as one JSON array (the console
    // prints only its last result when its input is not a terminal).
    let all: Vec<String> = (0..EXPRESSIONS.len())
        .map(|i| format!("local.e{i}"))
        .collect();
    let input = format!("jsonencode([{}])\n", all.join(", "));
    let mut child = Command::new("terraform")
        .arg("console")
        .current_dir(dir.path())
        .env("TF_CLI_CONFIG_FILE", dir.path().join("none.tfrc"))
        .env("TF_IN_AUTOMATION", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("terraform on the PATH (this machine kind ships terraform 1.11)");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write to terraform console");
    let output = child.wait_with_output().expect("terraform console");
    assert!(
        output.status.success(),
        "terraform console: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let encoded: String =
        serde_json::from_str(stdout.trim()).expect("console prints a JSON string");
    let values: Vec<serde_json::Value> = serde_json::from_str(&encoded).expect("jsonencode");
    assert_eq!(values.len(), EXPRESSIONS.len(), "{values:?}");

    // lambda-gate: the same module, parsed and evaluated statically.
    let (body, duplicate_keys) = parse_file(&text).expect("parses");
    let files = [TfFile {
        path: dir.path().join("main.tf"),
        body,
        is_vars: false,
        duplicate_keys,
    }];
    let module = Module::new(Path::new(dir.path()), &files);
    for (i, (expression, terraform)) in EXPRESSIONS.iter().zip(values).enumerate() {
        let ours = module.eval(module.local(&format!("e{i}")).expect("local"));
        assert_eq!(to_json(&ours), terraform, "`{expression}`");
    }
}
