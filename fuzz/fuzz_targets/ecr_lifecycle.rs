//! Any bytes as an ECR lifecycle policy document (what TF016 reads from `jsonencode(...)`, a
//! string or a file): reading either refuses it with a reason or gives rules that evaluate on
//! the pipeline's history without panicking; an image is expired by at most one rule, one of
//! the policy's. Also any pattern and tag for ECR's wildcard matching.
#![no_main]

use std::sync::OnceLock;

use lambda_gate::ecr::lifecycle::{harms, pipeline_history, History, Policy, Reading};
use lambda_gate::ecr::wildcard_matches;
use libfuzzer_sys::fuzz_target;

fn history() -> &'static History {
    static HISTORY: OnceLock<History> = OnceLock::new();
    HISTORY.get_or_init(|| {
        let moving = ["test", "dev", "prod"].map(String::from);
        pipeline_history(&moving, 12)
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some((pattern, tag)) = text.split_once('\n') {
            let _ = wildcard_matches(pattern, tag);
            assert!(wildcard_matches(&regex_free(tag), &regex_free(tag)));
        }
    }
    let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(policy) = Policy::parse(&document) else {
        return;
    };
    let history = history();
    for reading in [Reading::CountsEarlierMatches, Reading::SkipsEarlierMatches] {
        let expired = policy.expired(&history.images, history.now, reading);
        for priority in expired.values() {
            assert!(policy.rules.iter().any(|r| r.priority == *priority));
        }
    }
    let _ = harms(&policy, history);
});

/// A tag without `*`, which as a pattern matches exactly itself.
fn regex_free(tag: &str) -> String {
    tag.replace('*', "")
}
