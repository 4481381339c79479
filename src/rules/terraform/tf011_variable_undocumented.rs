//! TF011 `variable-undocumented`: every input variable has a type and a description.

use super::{head_span, Context, Located};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "TF011",
    name: "variable-undocumented",
    family: Family::Terraform,
    summary: "A Terraform variable has no type or no description",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("TF011"),
    check: Check::Terraform(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let mut findings = Vec::new();
    for (file, block) in ctx.module.blocks("variable") {
        let name = block.labels.first().map(|l| l.as_str()).unwrap_or_default();
        if block.body.get_attribute("type").is_none() {
            findings.push(Located::new(
                file,
                Finding::new(head_span(block), format!("variable `{name}` has no `type`: any value is accepted and converted silently"))
                    .help("add a `type`, e.g. `type = string` or `type = map(string)`"),
            ));
        }
        let described = block.body.get_attribute("description").is_some_and(|a| {
            ctx.module
                .eval(&a.value)
                .as_str()
                .is_some_and(|d| !d.trim().is_empty())
        });
        if !described {
            findings.push(Located::new(
                file,
                Finding::new(
                    head_span(block),
                    format!("variable `{name}` has no `description`"),
                )
                .help("say what the value is for and what it must look like"),
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decided, run};
    use super::*;

    #[test]
    fn typed_and_described_passes() {
        let text = "variable \"a\" {\n  type = string\n  description = \"What a is.\"\n}\n";
        assert!(run(check, text).is_empty());
    }

    #[test]
    fn each_missing_part_is_reported() {
        assert_eq!(decided(&run(check, "variable \"a\" {}\n")).len(), 2);
        assert_eq!(
            decided(&run(
                check,
                "variable \"a\" {\n  type = string\n  description = \"\"\n}\n"
            ))
            .len(),
            1
        );
    }
}
