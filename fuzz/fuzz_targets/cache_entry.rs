//! Any bytes read as a results-cache entry (a file anyone with access to the cache directory
//! could have written or damaged): reading never panics, and only a whole entry for the key, as
//! `entry` writes it, gives a value back.
#![no_main]

use lambda_gate::cache::{entry, read_entry, Cache};
use lambda_gate::sweep::report::RepositoryRecord;
use lambda_gate::report::{render, Format, RenderOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let cache = Cache::off();
    let key = cache.key("fuzz").text("a repository").build();
    // As an entry file: a value only if it is this key's entry of a record.
    if let Some(record) = read_entry::<RepositoryRecord>(data, &key) {
        let payload = serde_json::to_vec(&record).expect("a record serialises");
        let again = read_entry::<RepositoryRecord>(&entry(&key, &payload), &key);
        assert_eq!(again.as_ref(), Some(&record));
    }
    // As a payload: what is written reads back as the same JSON value, under this key only.
    let written = entry(&key, data);
    let value = read_entry::<serde_json::Value>(&written, &key);
    assert_eq!(value, serde_json::from_slice::<serde_json::Value>(data).ok());
    let other = cache.key("fuzz").text("another").build();
    assert!(read_entry::<serde_json::Value>(&written, &other).is_none());
    // As a `check` entry's payload: whatever it holds (spans past the end of their source,
    // positions of no line, unknown rules), every report format renders it without a panic.
    if let Some((_, result)) = lambda_gate::cache::check::read_payload(data) {
        for format in [Format::Human, Format::Json, Format::Sarif, Format::Junit, Format::Github] {
            let mut sink = Vec::new();
            let options = RenderOptions {
                color: true,
                deterministic: false,
            };
            let _ = render(format, &result, options, &mut sink);
        }
    }
});
