//! What registries, the Engine and a project hand the runner: manifests, `WWW-Authenticate`
//! challenges, Docker `config.json`, `docker save` archives, `.dockerignore` files and `--secret`
//! specifications. None may
//! panic, and a parsed manifest's digest is always the sha256 of the bytes it came from.
#![no_main]

use bytes::Bytes;
use lambda_gate::build_context::DockerIgnore;
use lambda_gate::runner::buildkit::BuildSecret;
use lambda_gate::runner::engine::parse_saved;
use lambda_gate::runner::registry::manifest::Manifest;
use lambda_gate::runner::registry::oci::{docker_config_credentials, parse_challenge};
use lambda_gate::runner::sha256_digest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (selector, body) = data.split_first().unwrap_or((&0, &[]));
    let text = String::from_utf8_lossy(body);
    match selector % 6 {
        0 => {
            for media_type in [None, Some("application/vnd.oci.image.index.v1+json")] {
                if let Ok(manifest) = Manifest::parse(Bytes::copy_from_slice(body), media_type) {
                    assert_eq!(manifest.digest, sha256_digest(body));
                    let _ = manifest.child("arm64");
                    let _ = manifest.config();
                }
            }
            let digest = sha256_digest(body);
            if let Ok(manifest) = Manifest::fetched("r", "GET", &digest, Bytes::copy_from_slice(body), None) {
                assert_eq!(manifest.digest, digest);
            }
            let other = sha256_digest(b"another manifest");
            assert!(Manifest::fetched("r", "GET", &other, Bytes::copy_from_slice(body), None).is_err());
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
        4 => {
            if let Ok(secret) = BuildSecret::parse(&text) {
                assert!(!secret.id.is_empty());
            }
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
