//! TF003 `image-not-by-digest`: a Lambda runs an image by digest, never by a moving tag.

use super::eval::Piece;
use super::{attribute_span, undecided, Context, Located, Value};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "TF003",
    name: "image-not-by-digest",
    family: Family::Terraform,
    summary: "A Lambda's image is referenced by a tag instead of a digest",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("TF003"),
    check: Check::Terraform(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let mut findings = Vec::new();
    let functions = ctx.module.resources("aws_lambda_function");
    for (file, block) in functions.chain(ctx.module.lambda_module_calls().iter().copied()) {
        let Some(attribute) = block.body.get_attribute("image_uri") else {
            continue;
        };
        let span = attribute_span(block, Some(attribute));
        let value = ctx.module.eval(&attribute.value);
        if let Some(finding) = judge(&value, span.clone()) {
            findings.push(Located::new(file, finding));
        }
    }
    findings
}

fn judge(value: &Value, span: std::ops::Range<usize>) -> Option<Finding> {
    let by_tag = |reference: &str| {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        let tag = name
            .split_once(':')
            .map_or("latest (implied)", |(_, tag)| tag);
        Finding::new(span.clone(), format!("the image is referenced by the tag `{tag}`, which can move: Lambda would run whatever it points to when the function is updated"))
            .help("reference the image by digest: `<repository>@sha256:<digest of the single-platform image>` (`lambda-gate build --format json` prints it per architecture)")
    };
    match value {
        Value::String(reference) => match reference.split_once('@') {
            Some((_, digest)) if crate::digest::is_sha256_digest(digest) => None,
            Some((_, digest)) => Some(
                Finding::new(span, format!("`{digest}` is not a sha256 digest"))
                    .help("a digest is `sha256:` and 64 lowercase hex digits"),
            ),
            None => Some(by_tag(reference)),
        },
        Value::Partial(pieces) => {
            let known_at = pieces
                .iter()
                .any(|p| matches!(p, Piece::Text(t) if t.contains('@')));
            if known_at {
                return None;
            }
            // `"${var.repository}:latest"`: the tag is written out even if the repository is not.
            match pieces.last() {
                Some(Piece::Text(tail))
                    if tail.rsplit('/').next().is_some_and(|n| n.contains(':')) =>
                {
                    Some(by_tag(tail))
                }
                _ => Some(undecided(span, "the image reference", value)),
            }
        }
        other => Some(undecided(span, "the image reference", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decided, run};
    use super::*;

    fn function(image: &str) -> String {
        format!("resource \"aws_lambda_function\" \"f\" {{\n  package_type = \"Image\"\n  image_uri = {image}\n}}\n")
    }

    #[test]
    fn digests_pass_tags_fail() {
        let digest = format!("\"r.example/app@sha256:{}\"", "0".repeat(64));
        assert!(run(check, &function(&digest)).is_empty());
        let findings = run(check, &function("\"r.example/app:latest\""));
        assert_eq!(decided(&findings), vec!["the image is referenced by the tag `latest`, which can move: Lambda would run whatever it points to when the function is updated"]);
        assert_eq!(
            decided(&run(check, &function("\"r.example:5000/app\""))).len(),
            1
        );
        assert_eq!(
            decided(&run(check, &function("\"r.example/app@sha256:abc\""))).len(),
            1
        );
    }

    #[test]
    fn values_are_followed_through_variables_and_locals() {
        let text = format!("{}variable \"tag\" {{\n  default = \"v1\"\n}}\nlocals {{\n  image = \"r.example/app:${{var.tag}}\"\n}}\n", function("local.image"));
        assert_eq!(decided(&run(check, &text)).len(), 1);
        let text = format!(
            "{}variable \"digest\" {{\n  type = string\n}}\n",
            function("\"r.example/app@${var.digest}\"")
        );
        assert!(run(check, &text).is_empty());
    }

    #[test]
    fn unknown_values_are_undecided() {
        let findings = run(check, &function("aws_ecr_repository.r.repository_url"));
        assert_eq!(findings.len(), 1);
        assert!(findings[0].undecided);
        assert!(
            findings[0]
                .message
                .contains("could not be evaluated statically"),
            "{}",
            findings[0].message
        );
        let findings = run(
            check,
            &function("\"${aws_ecr_repository.r.repository_url}:latest\""),
        );
        assert_eq!(decided(&findings).len(), 1);
    }
}
