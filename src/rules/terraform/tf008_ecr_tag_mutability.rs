//! TF008 `ecr-tag-mutability`: version tags can never be overwritten; only the pipeline's moving
//! tags may move.

use std::ops::Range;

use hcl::edit::structure::Block;

use super::eval::reference;
use super::{attribute_span, nested, undecided, Context, Located, Value};
use crate::diagnostic::{Finding, Severity};
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
        let value = attribute.map(|a| module.eval(&a.value));
        let mode = match &value {
            None => "MUTABLE".to_string(),
            Some(value) => match value.as_str() {
                Some(mode) => mode.into_owned(),
                None => {
                    findings.push(Located::new(
                        file,
                        undecided(span, "`image_tag_mutability`", value),
                    ));
                    continue;
                }
            },
        };
        match mode.as_str() {
            "IMMUTABLE" => {}
            "IMMUTABLE_WITH_EXCLUSION" => {
                for (span, value) in exclusion_filters(ctx, block) {
                    match value.as_str() {
                        Some(pattern) if is_moving(moving, &pattern) => {}
                        Some(pattern) => findings.push(Located::new(
                            file,
                            Finding::new(span, format!("the exclusion filter `{pattern}` lets tags that are not the pipeline's moving tags be overwritten"))
                                .help(format!("exclude only the moving tags: {}", moving.join(", "))),
                        )),
                        None => findings.push(Located::new(file, undecided(span, "the exclusion filter", &value))),
                    }
                }
            }
            other => findings.push(Located::new(
                file,
                Finding::new(
                    span,
                    if attribute.is_none() {
                        "`image_tag_mutability` is not set, so tags are MUTABLE: a version tag can be overwritten with another image".to_string()
                    } else {
                        format!("`{other}` lets a version tag be overwritten with another image")
                    },
                )
                .help(help.clone()),
            )),
        }
    }
    findings
}

/// Every exclusion filter's pattern with its span: the static blocks, and the elements a
/// `dynamic` block iterates over when its `for_each` is known.
fn exclusion_filters(ctx: &Context<'_>, block: &Block) -> Vec<(Range<usize>, Value)> {
    let module = ctx.module;
    let mut filters = Vec::new();
    for filter in block
        .body
        .get_blocks("image_tag_mutability_exclusion_filter")
    {
        if let Some(attribute) = filter.body.get_attribute("filter") {
            filters.push((
                attribute_span(filter, Some(attribute)),
                module.eval(&attribute.value),
            ));
        }
    }
    for dynamic in block.body.get_blocks("dynamic") {
        let Some(label) = dynamic.labels.first().map(|l| l.as_str()) else {
            continue;
        };
        if label != "image_tag_mutability_exclusion_filter" {
            continue;
        }
        let Some(content) = nested(&dynamic.body, "content") else {
            continue;
        };
        let Some(filter) = content.body.get_attribute("filter") else {
            continue;
        };
        let span = attribute_span(content, Some(filter));
        let iterator = dynamic
            .body
            .get_attribute("iterator")
            .and_then(|a| reference(&a.value).and_then(|p| p.first().map(|s| s.to_string())))
            .unwrap_or_else(|| label.to_string());
        let is_element =
            reference(&filter.value).is_some_and(|path| path == [iterator.as_str(), "value"]);
        let for_each = dynamic
            .body
            .get_attribute("for_each")
            .map(|a| module.eval(&a.value));
        match (is_element, for_each) {
            (true, Some(Value::List(items))) => {
                filters.extend(items.into_iter().map(|item| (span.clone(), item)));
            }
            (_, Some(other)) if !other.is_known() => filters.push((span, other)),
            _ => filters.push((
                span,
                Value::Unknown("a filter computed in a `dynamic` block".into()),
            )),
        }
    }
    filters
}

/// Whether an exclusion filter only covers tags the policy lets move.
fn is_moving(moving: &[String], filter: &str) -> bool {
    moving.iter().any(|pattern| {
        pattern == filter
            || (!filter.contains('*')
                && crate::policy::path_glob(pattern)
                    .is_ok_and(|g| g.compile_matcher().is_match(filter)))
    })
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
            filter("test"),
            filter("latest")
        );
        assert!(run(check, &repository(&ok)).is_empty());
        let wide = format!(
            "  image_tag_mutability = \"IMMUTABLE_WITH_EXCLUSION\"\n{}{}",
            filter("test"),
            filter("v*")
        );
        assert_eq!(decided(&run(check, &repository(&wide))).len(), 1);
    }

    #[test]
    fn dynamic_filters_are_expanded() {
        let dynamic = |tags: &str| {
            format!("  image_tag_mutability = \"IMMUTABLE_WITH_EXCLUSION\"\n  dynamic \"image_tag_mutability_exclusion_filter\" {{\n    for_each = {tags}\n    content {{\n      filter = image_tag_mutability_exclusion_filter.value\n      filter_type = \"WILDCARD\"\n    }}\n  }}\n")
        };
        assert!(run(check, &repository(&dynamic("[\"test\", \"prod\"]"))).is_empty());
        assert_eq!(
            decided(&run(check, &repository(&dynamic("[\"test\", \"*\"]")))).len(),
            1
        );
        assert!(run(check, &repository(&dynamic("var.tags")))[0].undecided);
    }
}
