//! TF013 `duplicate-object-key`: an object literal defines the same key twice.

use super::{Context, Located};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "TF013",
    name: "duplicate-object-key",
    family: Family::Terraform,
    summary: "An object literal defines the same key twice; only the last definition counts",
    default_severity: Severity::Warning,
    fixable: false,
    doc: crate::rule_doc!("TF013"),
    check: Check::Terraform(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let mut findings = Vec::new();
    for (index, file) in ctx.module.files.iter().enumerate() {
        for span in &file.duplicate_keys {
            findings.push(Located::new(
                index,
                Finding::new(
                    span.clone(),
                    "this key is already defined in the same object: Terraform keeps only this later definition",
                )
                .help("remove the earlier definition, so the object says what Terraform will use"),
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::super::{parse_file, Module, TfFile};
    use std::path::Path;

    #[test]
    fn a_redefined_key_parses_and_the_last_definition_wins() {
        let text = "locals {\n  tags = { \"a\" = false, \"a\" = \"x\" }\n}\n";
        let (body, duplicates) = parse_file(text).expect("Terraform accepts it");
        assert_eq!(duplicates.len(), 1);
        assert_eq!(&text[duplicates[0].clone()], "\"a\"");
        let files = [TfFile {
            path: Path::new("/m/main.tf").into(),
            body,
            is_vars: false,
            duplicate_keys: duplicates,
        }];
        let module = Module::new(Path::new("/m"), &files);
        let tags = module.eval(module.local("tags").expect("local"));
        assert_eq!(
            tags.get("a"),
            Some(&super::super::Value::String("x".into()))
        );
    }
}
