//! Any text as a SAM template: the image builds it declares are read or none are, never a panic,
//! and every path they name lies below the template's directory or is normalised.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lambda_gate::rules::dockerfile::sam::image_builds;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for build in image_builds(Path::new("/repo/template.yaml"), text) {
        assert!(build.dockerfile.is_absolute() && build.context.is_absolute(), "{build:?}");
        assert!(!build.dockerfile.components().any(|c| c.as_os_str() == ".."), "{build:?}");
    }
});
