//! Any alias description (anyone's text) read for a deploy's in-flight record: reading never
//! panics, a record found writes back within Lambda's 256 characters and reads back the same.
#![no_main]

use lambda_gate::runner::deploy::InFlight;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(record) = InFlight::parse(text) {
        let written = record.description();
        assert!(written.len() <= 256 || written.len() <= text.len());
        let again = InFlight::parse(&written).expect("a written record reads back");
        assert_eq!((again.by, again.since, again.version), (record.by, record.since, record.version));
    }
});
