//! What a sweep reads from files it is given: repository lists, baselines and earlier reports
//! (`--compare`, `sweep merge`). Nothing panics; a report that parses renders in every format.
#![no_main]

use lambda_gate::sweep::baseline::{Baseline, Trend};
use lambda_gate::sweep::report::SweepReport;
use lambda_gate::sweep::repos::{cache_key, parse_list, short_name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for url in parse_list(text) {
        let _ = short_name(url);
        let key = cache_key(url);
        assert!(!key.contains('/') && key != "." && key != "..", "{key}");
    }
    if let Ok(baseline) = Baseline::parse(text) {
        let _ = baseline.len();
    }
    if let Ok(mut report) = SweepReport::parse(text) {
        let mut out = Vec::new();
        let _ = lambda_gate::report::sweep_text::render_human(&report, &mut out);
        let _ = lambda_gate::report::sweep_text::render_markdown(&report, &mut out);
        let _ = lambda_gate::report::html::render(&report, &mut out);
        let trend = Trend::between(&report, &report);
        assert_eq!((trend.introduced, trend.fixed), (0, 0));
        Baseline::of(&report).apply(&mut report);
        let _ = SweepReport::merge(vec![report]);
    }
});
