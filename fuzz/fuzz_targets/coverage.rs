//! Any bytes as a coverage report in each format: a read either succeeds with consistent
//! counts or fails with a position; nothing panics.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

use lambda_gate::rules::coverage::{cobertura, coverage_json, lcov};

fuzz_target!(|data: &[u8]| {
    let results = [
        cobertura::read(data, Path::new("/nonexistent/coverage.xml"), true),
        coverage_json::read(data, true),
        lcov::read(data, true),
    ];
    for result in results {
        match result {
            Ok(report) => {
                let t = report.totals;
                let percent = t.percent();
                assert!(percent.is_finite());
            }
            Err(error) => assert!(error.line >= 1 && error.column >= 1),
        }
    }
});
