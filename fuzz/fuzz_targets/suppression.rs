//! Any text scanned for suppression comments: no panic, spans inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

use lambda_gate::diagnostic::LineIndex;
use lambda_gate::suppression::{parse, CommentStyle};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let index = LineIndex::new(text);
    for style in [CommentStyle::FullLineHash, CommentStyle::Hash] {
        for suppression in parse(text, &index, style) {
            assert!(suppression.span.end <= text.len());
            for (_, span) in &suppression.rules {
                assert!(text.get(span.clone()).is_some());
            }
        }
    }
});
