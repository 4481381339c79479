//! TF008 `ecr-tag-mutability`: version tags can never be overwritten; only the pipeline's moving
//! tags may move.

use std::ops::Range;

use hcl::edit::structure::Block;

use super::{attribute_span, undecided, Context, Located, Module, Nested, Scope, Value};
use crate::diagnostic::{Finding, Severity};
use crate::ecr::tags;
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "TF008",
    name: "ecr-tag-mutability",
    family: Family::Terraform,
    summary: "An ECR repository lets tags other than the policy's moving tags be overwritten",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("TF008"),
    check: Check::Terraform(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let module = ctx.module;
    let moving = &ctx.policy.policy.terraform.moving_tags;
    let help = format!(
        "set `image_tag_mutability = \"IMMUTABLE_WITH_EXCLUSION\"` with an `image_tag_mutability_exclusion_filter` (WILDCARD) for each moving tag ({}), or `\"IMMUTABLE\"`",
        moving.join(", ")
    );
    let mut findings = Vec::new();
    for (file, block) in module.resources("aws_ecr_repository") {
        let attribute = block.body.get_attribute("image_tag_mutability");
        let span = attribute_span(block, attribute);
        for instance in module.instances(block) {
            let suffix = instance.suffix();
            let value = attribute.map(|a| module.eval_in(&a.value, &instance.scope));
            // Not set, or set to null: the provider's default, MUTABLE.
            let set = value.as_ref().filter(|v| !v.is_null());
            let mode = match set {
                None => "MUTABLE".to_string(),
                Some(value) => match value.as_str() {
                    Some(mode) => mode.into_owned(),
                    None => {
                        findings.push(Located::new(
                            file,
                            undecided(span.clone(), "`image_tag_mutability`", value),
                        ));
                        continue;
                    }
                },
            };
            match mode.as_str() {
                "IMMUTABLE" => {}
                "IMMUTABLE_WITH_EXCLUSION" => {
                    let filters = exclusion_filters(module, block, &instance.scope);
                    let mut known = Vec::new();
                    for (span, value) in &filters {
                        match value.as_str() {
                            Some(pattern) if tags::is_moving_filter(moving, &pattern) => {
                                known.push(pattern.into_owned());
                            }
                            Some(pattern) => findings.push(Located::new(
                                file,
                                Finding::new(span.clone(), format!("the exclusion filter `{pattern}` lets tags that are not the pipeline's moving tags be overwritten{suffix}"))
                                    .help(format!("exclude only the moving tags and their platforms' images: {}", tags::exclusion_filters(moving).join(", "))),
                            )),
                            None => findings.push(Located::new(file, undecided(span.clone(), "the exclusion filter", value))),
                        }
                    }
                    if filters.len() > tags::MAX_EXCLUSION_FILTERS {
                        findings.push(Located::new(
                            file,
                            Finding::new(span.clone(), format!("ECR accepts at most {} exclusion filters; this repository has {}{suffix}", tags::MAX_EXCLUSION_FILTERS, filters.len()))
                                .help("one filter per moving tag, `<tag>*`, covers the tag and its platforms' images"),
                        ));
                    }
                    // Only when every filter is known: an unknown one may cover what is missing.
                    if known.len() == filters.len() {
                        let missing = tags::missing_children(moving, &known);
                        if let Some(first) = missing.first() {
                            let list = missing.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ");
                            findings.push(Located::new(
                                file,
                                Finding::new(span.clone(), format!("the moving tags' platform images ({list}) stay immutable: ECR matches a filter against the whole tag, so the second move of a moving tag fails with ImageTagAlreadyExistsException on `{first}`{suffix}"))
                                    .help(format!("one filter per moving tag covering its platforms' images: {}", tags::exclusion_filters(moving).join(", "))),
                            ));
                        }
                    }
                }
                other => findings.push(Located::new(
                    file,
                    Finding::new(
                        span.clone(),
                        match (attribute.is_some(), set.is_some()) {
                            (false, _) => format!("`image_tag_mutability` is not set, so tags are MUTABLE: a version tag can be overwritten with another image{suffix}"),
                            (true, false) => format!("`image_tag_mutability` is null, so the default applies and tags are MUTABLE: a version tag can be overwritten with another image{suffix}"),
                            (true, true) => format!("`{other}` lets a version tag be overwritten with another image{suffix}"),
                        },
                    )
                    .help(help.clone()),
                )),
            }
        }
    }
    findings
}

/// Every exclusion filter's pattern with its span: the static blocks, and each instance of a
/// `dynamic` block whose `for_each` is known.
pub(crate) fn exclusion_filters<'a>(
    module: &Module<'a>,
    block: &'a Block,
    scope: &Scope,
) -> Vec<(Range<usize>, Value)> {
    let mut filters = Vec::new();
    for nested in module.nested_blocks(&block.body, "image_tag_mutability_exclusion_filter", scope)
    {
        match nested {
            Nested::Block {
                block: filter,
                scope,
            } => {
                if let Some(attribute) = filter.body.get_attribute("filter") {
                    filters.push((
                        attribute_span(filter, Some(attribute)),
                        module.eval_in(&attribute.value, &scope),
                    ));
                }
            }
            Nested::Unknown { block, reason } => {
                filters.push((super::head_span(block), Value::Unknown(reason)));
            }
        }
    }
    filters
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decided, run};
    use super::*;

    fn repository(body: &str) -> String {
        format!("resource \"aws_ecr_repository\" \"r\" {{\n  name = \"r\"\n{body}}}\n")
    }

    fn filter(tag: &str) -> String {
        format!("  image_tag_mutability_exclusion_filter {{\n    filter = \"{tag}\"\n    filter_type = \"WILDCARD\"\n  }}\n")
    }

    #[test]
    fn immutable_passes_mutable_or_missing_fails() {
        assert!(run(
            check,
            &repository("  image_tag_mutability = \"IMMUTABLE\"\n")
        )
        .is_empty());
        assert_eq!(decided(&run(check, &repository(""))).len(), 1);
        assert_eq!(
            decided(&run(
                check,
                &repository("  image_tag_mutability = \"MUTABLE\"\n")
            ))
            .len(),
            1
        );
        assert_eq!(
            decided(&run(
                check,
                &repository("  image_tag_mutability = \"MUTABLE_WITH_EXCLUSION\"\n")
            ))
            .len(),
            1
        );
    }

    #[test]
    fn exclusions_may_cover_only_moving_tags() {
        let ok = format!(
            "  image_tag_mutability = \"IMMUTABLE_WITH_EXCLUSION\"\n{}{}",
            filter("test*"),
            filter("latest*")
        );
        assert!(run(check, &repository(&ok)).is_empty());
        // `test` alone leaves `test-amd64` immutable: the second move of `test` fails.
        let exact = format!(
            "  image_tag_mutability = \"IMMUTABLE_WITH_EXCLUSION\"\n{}",
            filter("test")
        );
        let findings = run(check, &repository(&exact));
        assert_eq!(decided(&findings).len(), 1, "{findings:?}");
        assert!(
            findings[0].message.contains("`test-amd64`, `test-arm64`"),
            "{findings:?}"
        );
        let wide = format!(
            "  image_tag_mutability = \"IMMUTABLE_WITH_EXCLUSION\"\n{}{}",
            filter("test*"),
            filter("v*")
        );
        assert_eq!(decided(&run(check, &repository(&wide))).len(), 1);
    }

    #[test]
    fn dynamic_filters_are_expanded() {
        let dynamic = |tags: &str| {
            format!("  image_tag_mutability = \"IMMUTABLE_WITH_EXCLUSION\"\n  dynamic \"image_tag_mutability_exclusion_filter\" {{\n    for_each = {tags}\n    content {{\n      filter = image_tag_mutability_exclusion_filter.value\n      filter_type = \"WILDCARD\"\n    }}\n  }}\n")
        };
        assert!(run(check, &repository(&dynamic("[\"test*\", \"prod*\"]"))).is_empty());
        assert_eq!(
            decided(&run(check, &repository(&dynamic("[\"test*\", \"*\"]")))).len(),
            1
        );
        assert!(run(check, &repository(&dynamic("var.tags")))[0].undecided);
    }

    #[test]
    fn null_and_variables_decide_as_terraform_does() {
        let text = |default: &str| {
            format!("variable \"mut\" {{\n  default = {default}\n}}\nresource \"aws_ecr_repository\" \"r\" {{\n  image_tag_mutability = var.mut\n}}\n")
        };
        assert_eq!(decided(&run(check, &text("\"MUTABLE\""))).len(), 1);
        assert_eq!(decided(&run(check, &text("null"))).len(), 1);
        assert!(run(check, &text("\"IMMUTABLE\"")).is_empty());
        let direct = repository("  image_tag_mutability = null\n");
        assert!(run(check, &direct)[0].message.contains("null"));
    }
}
