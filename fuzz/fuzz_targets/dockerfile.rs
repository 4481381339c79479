//! Any bytes as a Dockerfile: parse and run every Dockerfile rule; nothing may panic, and every
//! span a rule reports must lie inside the text on character boundaries.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

use lambda_gate::build_context::BuildContext;
use lambda_gate::rules::dockerfile::unit::lint_dockerfile;
use lambda_gate::policy::{default_policy, BuilderChoice, EffectivePolicy};

fuzz_target!(|data: &[u8]| {
    static POLICY: OnceLock<EffectivePolicy> = OnceLock::new();
    // The classic builder, so DKR010 reads every BuildKit-only flag and heredoc too.
    let policy = POLICY.get_or_init(|| {
        let mut policy = default_policy();
        policy.builder = BuilderChoice::Classic;
        EffectivePolicy::compile(policy).expect("default policy")
    });
    let Ok(text) = std::str::from_utf8(data) else { return };
    let context = BuildContext::from_files(vec!["app/handler.py".into(), "app/__init__.py".into()]);
    for (_, finding) in lint_dockerfile(Path::new("Dockerfile"), text, policy, &context) {
        assert!(finding.span.start <= finding.span.end && finding.span.end <= text.len());
        assert!(text.is_char_boundary(finding.span.start) && text.is_char_boundary(finding.span.end));
        if let Some(fix) = finding.fix {
            let fixed = lambda_gate::fix::apply_edits(text, &fix.edits);
            assert!(lambda_gate::rules::dockerfile::parser::parse(&fixed).is_ok());
        }
    }
});
