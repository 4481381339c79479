//! Any text as a Terraform file: parsing never panics, and every rule's span lies in the text.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use lambda_gate::policy::{default_policy, EffectivePolicy};
use lambda_gate::rules::terraform::{lint, parse, Context, Module, TfFile};
use libfuzzer_sys::fuzz_target;

fn policy() -> &'static EffectivePolicy {
    static POLICY: OnceLock<EffectivePolicy> = OnceLock::new();
    POLICY.get_or_init(|| EffectivePolicy::compile(default_policy()).expect("default policy"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let body = match parse(text) {
        Ok(body) => body,
        Err(error) => {
            assert!(text.get(error.span.clone()).is_some(), "parse error span {:?}", error.span);
            return;
        }
    };
    let dir = Path::new("/repo/lambda/terraform");
    let files = [TfFile { path: dir.join("main.tf"), body, is_vars: false, duplicate_keys: Vec::new() }];
    let module = Module::new(dir, &files);
    let context = Context { module: &module, policy: policy(), outside_repository: Path::new("/repo") };
    for (rule, located) in lint(&context, &|_| true) {
        assert_eq!(located.file, 0);
        assert!(text.get(located.finding.span.clone()).is_some(), "{}: {:?}", rule.id, located.finding.span);
    }
});
