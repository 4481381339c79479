//! Any text as an image reference: parsing never panics, and what parses prints back to a
//! reference that parses to the same thing.
#![no_main]

use lambda_gate::runner::reference::Reference;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(reference) = Reference::parse(text) {
        let again = Reference::parse(&reference.to_string()).expect("a printed reference parses");
        assert_eq!(again, reference);
        let _ = reference.backend();
        let _ = reference.is_insecure(&[]);
    }
});
