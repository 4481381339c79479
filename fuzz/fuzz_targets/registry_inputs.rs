//! What registries, the Engine and a project hand the runner: manifests, `WWW-Authenticate`
//! challenges, Docker `config.json`, `docker save` archives and `.dockerignore` files. None may
//! panic, and a parsed manifest's digest is always the sha256 of the bytes it came from.
#![no_main]

use bytes::Bytes;
use lambda_gate::build_context::DockerIgnore;
use lambda_gate::runner::engine::parse_saved;
use lambda_gate::runner::registry::manifest::Manifest;
use lambda_gate::runner::registry::oci::{docker_config_credentials, parse_challenge};
use lambda_gate::runner::sha256_digest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (selector, body) = data.split_first().unwrap_or((&0, &[]));
    let text = String::from_utf8_lossy(body);
    match selector % 5 {
        0 => {
            for media_type in [None, Some("application/vnd.oci.image.index.v1+json")] {
                if let Ok(manifest) = Manifest::parse(Bytes::copy_from_slice(body), media_type) {
                    assert_eq!(manifest.digest, sha256_digest(body));
                    let _ = manifest.child("arm64");
                    let _ = manifest.config();
                }
            }
        }
        1 => {
            let _ = parse_challenge(&text);
        }
        2 => {
            let _ = docker_config_credentials(body, "registry.example.com");
        }
        3 => {
            let _ = parse_saved(body);
        }
        _ => {
            if let Ok(ignore) = DockerIgnore::parse(&text, std::path::Path::new(".dockerignore")) {
                for path in ["a", "a/b.py", "target/x", ".git/HEAD", "src/main.rs"] {
                    let _ = ignore.is_excluded(path);
                    let _ = ignore.may_include_below(path);
                }
            }
        }
    }
});
