//! TF004 `architectures`: a Lambda names its instruction set, and it is one the runner builds.

use super::{attribute_span, undecided, Context, Located, Value};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "TF004",
    name: "architectures",
    family: Family::Terraform,
    summary: "A Lambda's architecture is not set, or is not one the runner builds",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("TF004"),
    check: Check::Terraform(check),
};

/// Lambda's name for each platform the runner builds.
fn lambda_architecture(platform: &str) -> Option<&'static str> {
    match platform {
        "linux/amd64" => Some("x86_64"),
        "linux/arm64" | "linux/arm64/v8" => Some("arm64"),
        _ => None,
    }
}

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let built: Vec<&str> = ctx
        .policy
        .policy
        .platforms
        .iter()
        .filter_map(|p| lambda_architecture(p))
        .collect();
    let module = ctx.module;
    let mut findings = Vec::new();
    let arm64_help = format!(
        "set `architectures = [\"{}\"]` to the architecture of the image's digest",
        built.first().copied().unwrap_or("arm64")
    );
    for (file, block) in module.resources("aws_lambda_function") {
        // A .zip function runs whatever its package was built for: no image to match.
        if !is_image_function(ctx, block) {
            continue;
        }
        let unset = Unset {
            what: "`architectures` is not set",
            why: "Lambda runs x86_64, whatever the image was built for",
            help: &arm64_help,
        };
        let attribute = block.body.get_attribute("architectures");
        judge_instances(ctx, &built, (file, block), attribute, &unset, &mut findings);
    }
    for &(file, block) in module.lambda_module_calls() {
        let attribute = block
            .body
            .get_attribute("architecture")
            .or_else(|| block.body.get_attribute("architectures"));
        // A local wrapper that takes no architecture pins it inside, where its own resource is
        // judged: the call has nothing to pass.
        if attribute.is_none() && !takes_architecture(ctx, block) {
            continue;
        }
        let unset = Unset {
            what: "the Lambda module is called without `architecture`",
            why: "the module's default decides, not the image",
            help: "pass `architecture` explicitly, matching the image digest you deploy",
        };
        judge_instances(ctx, &built, (file, block), attribute, &unset, &mut findings);
    }
    findings
}

/// What an unset (or null) architecture is reported as.
struct Unset<'a> {
    what: &'a str,
    why: &'a str,
    help: &'a str,
}

/// Judges the architecture `attribute` of each instance Terraform makes of `block`.
fn judge_instances(
    ctx: &Context<'_>,
    built: &[&str],
    (file, block): (usize, &hcl::edit::structure::Block),
    attribute: Option<&hcl::edit::structure::Attribute>,
    unset: &Unset<'_>,
    findings: &mut Vec<Located>,
) {
    let module = ctx.module;
    let span = attribute_span(block, attribute);
    for instance in module.instances(block) {
        let suffix = instance.suffix();
        let value = attribute.map(|a| module.eval_in(&a.value, &instance.scope));
        match value.filter(|v| !v.is_null()) {
            Some(value) => judge(built, file, span.clone(), &value, &suffix, findings),
            None => findings.push(Located::new(
                file,
                Finding::new(
                    span.clone(),
                    format!("{}{suffix}: {}", unset.what, unset.why),
                )
                .help(unset.help),
            )),
        }
    }
}

/// Whether a function deploys an image: `package_type = "Image"` or an `image_uri`; one with a
/// `filename`, an S3 package or a `runtime` is a .zip function (Terraform's default type).
fn is_image_function(ctx: &Context<'_>, block: &hcl::edit::structure::Block) -> bool {
    let body = &block.body;
    if body.get_attribute("image_uri").is_some() {
        return true;
    }
    match body.get_attribute("package_type") {
        Some(attribute) => {
            let value = ctx.module.eval(&attribute.value);
            // Unknown: judge it, the finding then says what could not be evaluated.
            value.as_str().is_none_or(|kind| kind == "Image")
        }
        None => false,
    }
}

/// Whether a called module declares an architecture input. Only a local module (`./`, `../`)
/// can be read; a registry or git module is assumed to take one, as the team's module does.
fn takes_architecture(ctx: &Context<'_>, block: &hcl::edit::structure::Block) -> bool {
    let Some(source) = block
        .body
        .get_attribute("source")
        .and_then(|a| ctx.module.eval(&a.value).as_str().map(|s| s.into_owned()))
    else {
        return true;
    };
    if !(source.starts_with("./") || source.starts_with("../")) {
        return true;
    }
    let Ok(entries) = crate::fsio::read_dir(&ctx.module.dir.join(&source)) else {
        return true;
    };
    entries.flatten().any(|entry| {
        entry.path().extension().is_some_and(|e| e == "tf")
            && crate::fsio::read_to_string(&entry.path()).is_ok_and(|text| {
                text.contains("variable \"architecture\"")
                    || text.contains("variable \"architectures\"")
            })
    })
}

fn judge(
    built: &[&str],
    file: usize,
    span: std::ops::Range<usize>,
    value: &Value,
    suffix: &str,
    findings: &mut Vec<Located>,
) {
    match value {
        Value::List(items) => {
            for item in items {
                judge_one(built, file, span.clone(), item, suffix, findings);
            }
        }
        other => judge_one(built, file, span, other, suffix, findings),
    }
}

fn judge_one(
    built: &[&str],
    file: usize,
    span: std::ops::Range<usize>,
    value: &Value,
    suffix: &str,
    findings: &mut Vec<Located>,
) {
    match value.as_str() {
        Some(architecture) if built.contains(&architecture.as_ref()) => {}
        Some(architecture) => findings.push(Located::new(
            file,
            Finding::new(span, format!("architecture `{architecture}`{suffix} is not one the runner builds ({})", built.join(", ")))
                .help("deploy an architecture listed in the policy's `platforms`; Lambda names them x86_64 and arm64"),
        )),
        None => findings.push(Located::new(file, undecided(span, "the architecture", value))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decided, run};
    use super::*;

    #[test]
    fn built_architectures_pass() {
        let text = "resource \"aws_lambda_function\" \"f\" {\n  package_type = \"Image\"\n  architectures = [\"arm64\"]\n}\n";
        assert!(run(check, text).is_empty());
        let text = "variable \"arch\" {\n  default = \"x86_64\"\n}\nmodule \"f\" {\n  source = \"../m/aws-lambda-container\"\n  architecture = var.arch\n}\n";
        assert!(run(check, text).is_empty());
    }

    #[test]
    fn missing_and_foreign_architectures_fail() {
        assert_eq!(
            decided(&run(
                check,
                "resource \"aws_lambda_function\" \"f\" {\n  image_uri = \"x\"\n}\n"
            ))
            .len(),
            1
        );
        let findings = run(
            check,
            "resource \"aws_lambda_function\" \"f\" {\n  package_type = \"Image\"\n  architectures = [\"ppc64le\"]\n}\n",
        );
        assert_eq!(decided(&findings).len(), 1);
        assert_eq!(
            decided(&run(
                check,
                "module \"f\" {\n  source = \"../m/aws-lambda-container\"\n}\n"
            ))
            .len(),
            1
        );
    }

    #[test]
    fn zip_functions_null_and_functions_not_made_are_not_judged_as_images() {
        let zip = "resource \"aws_lambda_function\" \"f\" {\n  filename = \"f.zip\"\n  runtime = \"python3.12\"\n}\n";
        assert!(run(check, zip).is_empty());
        let none = "resource \"aws_lambda_function\" \"f\" {\n  count = 0\n  package_type = \"Image\"\n}\n";
        assert!(run(check, none).is_empty());
        let null = "resource \"aws_lambda_function\" \"f\" {\n  package_type = \"Image\"\n  architectures = null\n}\n";
        let findings = run(check, null);
        assert!(
            decided(&findings).len() == 1 && findings[0].message.contains("is not set"),
            "{findings:?}"
        );
    }

    #[test]
    fn unknown_is_undecided() {
        let findings = run(
            check,
            "resource \"aws_lambda_function\" \"f\" {\n  package_type = \"Image\"\n  architectures = [var.a]\n}\n",
        );
        assert_eq!(findings.len(), 1);
        assert!(findings[0].undecided);
    }
}
