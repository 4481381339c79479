//! TF016 `ecr-lifecycle-rules`: an ECR lifecycle policy selects what its rules seem to say, and
//! keeps what the pipeline's moving tags point at.

use std::path::Path;

use hcl::edit::expr::Expression;

use super::{attribute_span, Context, Located, Module, Scope, Value};
use crate::diagnostic::{Finding, Severity};
use crate::ecr::lifecycle::{harms, pipeline_history, Policy};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "TF016",
    name: "ecr-lifecycle-rules",
    family: Family::Terraform,
    summary: "An ECR lifecycle policy selects other images than it seems to, or expires what a moving tag points at",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("TF016"),
    check: Check::Terraform(check),
};

/// How many builds of the pipeline's history a policy is tried on.
const BUILDS: usize = 50;

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let module = ctx.module;
    let moving = &ctx.policy.policy.terraform.moving_tags;
    // The same history serves every policy instance of the module.
    let history = std::cell::OnceCell::new();
    let mut findings = Vec::new();
    for (file, block) in module.resources("aws_ecr_lifecycle_policy") {
        let Some(attribute) = block.body.get_attribute("policy") else {
            continue;
        };
        let span = attribute_span(block, Some(attribute));
        for instance in module.instances(block) {
            let suffix = instance.suffix();
            let document = match document(module, &attribute.value, &instance.scope) {
                Ok(document) => document,
                Err(why) => {
                    findings.push(Located::new(
                        file,
                        Finding::new(
                            span.clone(),
                            format!("the lifecycle policy could not be read, so its rules were not checked: {why}{suffix}"),
                        )
                        .undecided(),
                    ));
                    continue;
                }
            };
            let policy = match Policy::parse(&document) {
                Ok(policy) => policy,
                Err(why) => {
                    findings.push(Located::new(
                        file,
                        Finding::new(
                            span.clone(),
                            format!("ECR refuses this lifecycle policy: {why}{suffix}"),
                        )
                        .help("see \"Lifecycle policy properties\" in the ECR user guide"),
                    ));
                    continue;
                }
            };
            for rule in &policy.rules {
                if let Some(entries) = rule.selection.and_ed() {
                    let list = entries
                        .iter()
                        .map(|e| format!("`{e}`"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    findings.push(Located::new(
                        file,
                        Finding::new(
                            span.clone(),
                            format!("rule {} selects only images that carry a tag for each of {list}: ECR AND-s the entries of one tag list{suffix}", rule.priority),
                        )
                        .help("to select images with any of them, write one rule per pattern"),
                    ));
                }
            }
            if moving.is_empty() {
                continue;
            }
            let history = history.get_or_init(|| pipeline_history(moving, BUILDS));
            for harm in harms(&policy, history) {
                findings.push(Located::new(
                    file,
                    Finding::new(
                        span.clone(),
                        format!("on the pipeline's tags ({BUILDS} builds, promotions, a rollback), {harm}{suffix}"),
                    )
                    .help(format!(
                        "keep each moving tag with a rule of its own before any count or age rule: `tagPatternList = [\"<tag>*\"]` with `imageCountMoreThan = 9999` for each of {}",
                        moving.join(", ")
                    )),
                ));
            }
        }
    }
    findings
}

/// The policy document: `jsonencode(...)` of a known value, or JSON text (a string, a heredoc,
/// `file("${path.module}/policy.json")`).
pub(crate) fn document(
    module: &Module<'_>,
    expr: &Expression,
    scope: &Scope,
) -> Result<serde_json::Value, String> {
    if let Expression::FuncCall(call) = expr {
        let name = call.name.name.as_str();
        let args: Vec<&Expression> = call.args.iter().collect();
        match (name, args.as_slice()) {
            ("jsonencode", [value]) => {
                let value = module.eval_in(value, scope);
                return json_of(&value).ok_or_else(|| unknown(&value));
            }
            ("file", [path]) => {
                let path = module.eval_in(path, scope);
                let path = super::module_path(&path, module.dir).ok_or_else(|| unknown(&path))?;
                return read_json(&module.dir.join(path));
            }
            _ => {}
        }
    }
    let value = module.eval_in(expr, scope);
    let text = value.as_str().ok_or_else(|| unknown(&value))?;
    if text.trim().is_empty() {
        return Err("it is empty here (a module's caller sets it)".into());
    }
    serde_json::from_str(&text).map_err(|e| format!("it is not JSON ({e})"))
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = crate::fsio::read_to_string(path)
        .map_err(|e| format!("`{}` could not be read ({e})", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("`{}` is not JSON ({e})", path.display()))
}

fn unknown(value: &Value) -> String {
    value
        .unknown_reason()
        .unwrap_or_else(|| "it is not a JSON document".into())
}

/// A fully known Terraform value as JSON (`jsonencode`'s reading: whole numbers stay whole).
fn json_of(value: &Value) -> Option<serde_json::Value> {
    Some(match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
            serde_json::Value::from(*n as i64)
        }
        Value::Number(n) => serde_json::Value::from(*n),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::List(items) => {
            serde_json::Value::Array(items.iter().map(json_of).collect::<Option<_>>()?)
        }
        Value::Object(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|(k, v)| Some((k.clone(), json_of(v)?)))
                .collect::<Option<_>>()?,
        ),
        Value::Partial(_) | Value::Unknown(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decided, run};
    use super::*;

    fn policy(rules: &str) -> String {
        format!("resource \"aws_ecr_lifecycle_policy\" \"p\" {{\n  repository = \"app\"\n  policy = jsonencode({{\n    rules = [{rules}]\n  }})\n}}\n")
    }

    fn rule(priority: u32, patterns: &str, count: u32) -> String {
        format!("{{\n rulePriority = {priority}\n selection = {{\n tagStatus = \"tagged\"\n tagPatternList = {patterns}\n countType = \"imageCountMoreThan\"\n countNumber = {count}\n }}\n action = {{ type = \"expire\" }}\n }}")
    }

    #[test]
    fn one_rule_per_moving_tag_passes() {
        let moving = ["test", "latest", "dev", "staging", "prod"];
        let mut rules: Vec<String> = moving
            .iter()
            .enumerate()
            .map(|(i, tag)| rule(i as u32 + 1, &format!("[\"{tag}*\"]"), 9999))
            .collect();
        rules.push(rule(6, "[\"*-amd64\"]", 30));
        rules.push(rule(7, "[\"*-arm64\"]", 30));
        rules.push(rule(8, "[\"*\"]", 30));
        let findings = run(check, &policy(&rules.join(", ")));
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn or_meant_patterns_are_reported_with_what_they_expire() {
        let rules = [
            rule(
                1,
                "[\"test*\", \"latest*\", \"dev*\", \"staging*\", \"prod*\"]",
                9999,
            ),
            rule(2, "[\"v*\", \"sha-*\"]", 30),
        ]
        .join(", ");
        let findings = run(check, &policy(&rules));
        let messages = decided(&findings);
        assert!(
            messages
                .iter()
                .any(|m| m
                    .contains("rule 1 selects only images that carry a tag for each of `test*`")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("rule 2 selects only")),
            "{messages:?}"
        );
        // AND-ed, rule 1 protects nothing, but nothing selects the commit images either: no
        // image is expired, so no harm is claimed.
        assert!(
            !messages.iter().any(|m| m.contains("expires")),
            "{messages:?}"
        );
    }

    #[test]
    fn a_count_that_reaches_a_moving_tag_is_reported() {
        let rules = [rule(1, "[\"*\"]", 10)].join(", ");
        let messages: Vec<String> = run(check, &policy(&rules))
            .into_iter()
            .map(|f| f.message)
            .collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("rule 1 expires the image `prod` points at")),
            "{messages:?}"
        );
    }

    #[test]
    fn a_policy_ecr_refuses_or_cannot_be_read() {
        let refused = policy(&rule(1, "[\"a*b*c*d*e*f\"]", 1));
        assert!(decided(&run(check, &refused))[0].contains("ECR refuses"));
        let unread = "resource \"aws_ecr_lifecycle_policy\" \"p\" {\n  repository = \"app\"\n  policy = data.aws_ecr_lifecycle_policy_document.p.json\n}\n";
        let findings = run(check, unread);
        assert!(findings.len() == 1 && findings[0].undecided, "{findings:?}");
    }
}
