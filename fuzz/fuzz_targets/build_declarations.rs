//! Any text as a file that declares image builds: a Makefile, Jenkinsfile, CI workflow or
//! script (`docker build -f … CONTEXT` command lines), and a Terraform module (`docker_image`,
//! the `docker-build` module, `image_config { command }`). Each declares builds or none, never
//! a panic, and every path it names is absolute and normalised.
#![no_main]

use std::path::{Path, PathBuf};

use lambda_gate::rules::dockerfile::{build_commands, terraform_image};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let root = Path::new("/repo");
    for name in ["Makefile", "Jenkinsfile", ".github/workflows/b.yml", "scripts/build.sh", "infra/x.tf"] {
        for build in build_commands::builds(&root.join(name), text, &|| root.to_path_buf()) {
            check(&build.dockerfile, &build.context);
        }
    }
    let dir = Path::new("/repo/infra");
    let (builds, untied) = terraform_image::declared(dir, &[(dir.join("main.tf"), text.to_string())]);
    for build in builds {
        check(&build.dockerfile, &build.context);
    }
    for untied in untied {
        assert!(!untied.why.is_empty());
    }
});

fn check(dockerfile: &PathBuf, context: &PathBuf) {
    for path in [dockerfile, context] {
        assert!(path.is_absolute(), "{path:?}");
        assert!(!path.components().any(|c| c.as_os_str() == ".."), "{path:?}");
    }
}
