//! Any text as a Python module (the handler's): every rule's span lies in the text.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let findings = lambda_gate::rules::python::lint(Path::new("handler.py"), text, Some("handler"), &|_| true);
    for (rule, finding) in findings {
        assert!(text.get(finding.span.clone()).is_some(), "{}: {:?}", rule.id, finding.span);
    }
});
