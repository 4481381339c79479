//! A pattern, options and a text: the gate's glob matches exactly as `globset`'s does, and
//! accepts and refuses the same patterns.
#![no_main]

use lambda_gate::glob::{Glob, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First byte: the options; then the pattern, a NUL, the text.
    let Some((&flags, rest)) = data.split_first() else { return };
    let Ok(rest) = std::str::from_utf8(rest) else { return };
    let Some((pattern, text)) = rest.split_once('\0') else { return };
    let options = Options {
        case_insensitive: flags & 1 != 0,
        literal_separator: flags & 2 != 0,
    };
    let theirs = globset::GlobBuilder::new(pattern)
        .case_insensitive(options.case_insensitive)
        .literal_separator(options.literal_separator)
        .backslash_escape(true)
        .build();
    match (Glob::new(pattern, options), theirs) {
        (Ok(ours), Ok(theirs)) => {
            let expected = theirs.compile_matcher().is_match(text);
            assert_eq!(ours.compile_matcher().is_match(text), expected, "{pattern:?} {text:?}");
        }
        (Err(_), Err(_)) => {}
        (ours, theirs) => panic!("{pattern:?}: ours {:?}, globset's {:?}", ours.is_ok(), theirs.is_ok()),
    }
});
