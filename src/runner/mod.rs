//! The runner: what happens after a clean gate. It builds one image per platform through the
//! Docker Engine API, smoke-tests them, pushes them and an index over them, and promotes images
//! between tags by copying manifests in the registry.

pub mod attest;
pub mod aws_error;
pub mod build;
pub mod buildkit;
pub mod context;
pub mod deploy;
pub mod engine;
pub mod fleet;
pub mod outcome;
pub mod pipeline;
pub mod promote;
pub mod push;
pub mod reference;
pub mod registry;
pub mod smoke;

pub use crate::digest::sha256_of as sha256_digest;

/// A build platform, `linux/amd64` or `linux/arm64`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
}

impl Platform {
    pub fn parse(text: &str) -> Result<Platform, String> {
        let mut parts = text.trim().split('/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("linux"), Some(arch @ ("amd64" | "arm64")), None | Some("v8")) => Ok(Platform {
                os: "linux".into(),
                architecture: arch.into(),
            }),
            _ => Err(format!(
                "unsupported platform `{text}`: Lambda runs `linux/amd64` and `linux/arm64`"
            )),
        }
    }

    /// The platform of the machine the Engine runs on.
    pub fn native() -> Platform {
        Platform {
            os: "linux".into(),
            architecture: match std::env::consts::ARCH {
                "aarch64" => "arm64".into(),
                _ => "amd64".into(),
            },
        }
    }

    /// Lambda's name for it (`x86_64`, `arm64`): what a function's `architectures` says.
    pub fn lambda_architecture(&self) -> &'static str {
        if self.architecture == "arm64" {
            "arm64"
        } else {
            "x86_64"
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)
    }
}

/// Parses a comma-separated platform list, keeping the order given and dropping repeats.
pub fn parse_platforms(texts: &[String]) -> Result<Vec<Platform>, String> {
    let mut platforms = Vec::new();
    for text in texts.iter().flat_map(|t| t.split(',')) {
        let platform = Platform::parse(text)?;
        if !platforms.contains(&platform) {
            platforms.push(platform);
        }
    }
    Ok(platforms)
}

/// One tokio runtime for a runner command: the gate stays synchronous, the runner is async.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_are_lambdas_two() {
        let list =
            parse_platforms(&["linux/amd64,linux/arm64".into(), "linux/amd64".into()]).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].lambda_architecture(), "arm64");
        assert_eq!(list[0].lambda_architecture(), "x86_64");
        assert!(Platform::parse("windows/amd64").is_err());
        assert!(Platform::parse("linux/s390x").is_err());
    }
}
