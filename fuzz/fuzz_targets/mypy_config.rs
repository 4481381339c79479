//! Any text as a mypy configuration (INI and TOML): it is read or rejected with a problem
//! whose span lies in the text, and resolving options for any module never panics.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use lambda_gate::rules::mypy::config::{from_text, Loaded};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for name in ["mypy.ini", "pyproject.toml", "setup.cfg"] {
        match from_text(Path::new(name), Arc::from(text)) {
            Loaded::Used(config) => {
                for problem in &config.problems {
                    assert!(text.get(problem.span.clone()).is_some(), "{problem:?}");
                }
                let _ = config.global();
                for module in ["app", "app.handler", "x.y.core"] {
                    let _ = config.for_module(module);
                }
            }
            Loaded::Broken { problem, .. } => assert!(text.get(problem.span.clone()).is_some()),
            Loaded::NotMypy => {}
        }
    }
});
