//! Image references as the runner takes them: `host[:port]/path[:tag][@digest]`, always with a
//! registry host, parsed by the rules of the distribution reference grammar, and the backend
//! and transport each host calls for.

use std::fmt;
use std::net::IpAddr;

use thiserror::Error;

use crate::digest::is_sha256_digest;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `host` or `host:port`, as written (lower-cased).
    pub registry: String,
    /// The repository path inside the registry: `team/quote`.
    pub repository: String,
    pub tag: Option<String>,
    /// `algorithm:hex`.
    pub digest: Option<String>,
}

/// Which API a registry is spoken to with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// Amazon ECR, through its own API (aws-sdk-ecr).
    Ecr { account: String, region: String },
    /// Any registry speaking the OCI distribution API v2.
    Oci,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("`{0}` names no registry host: write it in full, e.g. `127.0.0.1:5000/{0}`")]
    NoRegistry(String),
    #[error("invalid registry host `{0}`")]
    InvalidHost(String),
    #[error("invalid repository path `{path}`: {why}")]
    InvalidPath { path: String, why: &'static str },
    #[error("invalid tag `{0}`: up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`")]
    InvalidTag(String),
    #[error("invalid digest `{0}`: expected `sha256:` and 64 lowercase hex digits")]
    InvalidDigest(String),
}

impl Reference {
    /// Parses a full reference. The registry host is required: the runner never guesses one.
    pub fn parse(text: &str) -> Result<Reference, ReferenceError> {
        let text = text.trim();
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                if !is_sha256_digest(digest) {
                    return Err(ReferenceError::InvalidDigest(digest.to_string()));
                }
                (rest, Some(digest.to_string()))
            }
            None => (text, None),
        };
        let (host, path) = match rest.split_once('/') {
            Some((host, path)) if looks_like_host(host) => (host, path),
            _ => return Err(ReferenceError::NoRegistry(text.to_string())),
        };
        // A tag follows the last `:` after the last `/` (a port is in the host part).
        let (path, tag) = match path.rsplit_once(':') {
            Some((path, tag)) if !tag.contains('/') => (path, Some(tag)),
            _ => (path, None),
        };
        validate_host(host)?;
        validate_path(path)?;
        if let Some(tag) = tag {
            if !is_tag(tag) {
                return Err(ReferenceError::InvalidTag(tag.to_string()));
            }
        }
        Ok(Reference {
            registry: host.to_ascii_lowercase(),
            repository: path.to_string(),
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The host without its port.
    pub fn hostname(&self) -> &str {
        host_and_port(&self.registry).0
    }

    /// ECR for `<account>.dkr.ecr.<region>.amazonaws.com` (and `.amazonaws.com.cn`), else OCI.
    pub fn backend(&self) -> Backend {
        let host = self.hostname();
        let labels: Vec<&str> = host.split('.').collect();
        match labels.as_slice() {
            [account, "dkr", "ecr", region, "amazonaws", "com", rest @ ..]
                if account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && matches!(rest, [] | ["cn"]) =>
            {
                Backend::Ecr {
                    account: (*account).to_string(),
                    region: (*region).to_string(),
                }
            }
            _ => Backend::Oci,
        }
    }

    /// Whether to speak plain HTTP, as Docker does: loopback hosts (127.0.0.0/8, `::1`,
    /// `localhost`) and the hosts given with `--insecure-registry` (`host` or `host:port`).
    pub fn is_insecure(&self, insecure_registries: &[String]) -> bool {
        let host = self.hostname();
        let loopback = host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        loopback
            || insecure_registries
                .iter()
                .any(|r| r.eq_ignore_ascii_case(&self.registry) || r.eq_ignore_ascii_case(host))
    }

    /// `host/path`, without tag or digest.
    pub fn without_tag(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The same repository at another tag (and no digest).
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        if !is_tag(tag) {
            return Err(ReferenceError::InvalidTag(tag.to_string()));
        }
        Ok(Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        })
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// The first path component is a host when it has a `.` or a `:`, is `localhost`, or is a
/// bracketed IPv6 address (the distribution grammar's rule).
fn looks_like_host(component: &str) -> bool {
    component.contains(['.', ':']) || component == "localhost" || component.starts_with('[')
}

fn host_and_port(registry: &str) -> (&str, Option<&str>) {
    if let Some(end) = registry.find(']') {
        let (host, rest) = registry.split_at(end + 1);
        return (host, rest.strip_prefix(':'));
    }
    match registry.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (registry, None),
    }
}

fn validate_host(registry: &str) -> Result<(), ReferenceError> {
    let invalid = || ReferenceError::InvalidHost(registry.to_string());
    let (host, port) = host_and_port(registry);
    if let Some(port) = port {
        if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        if port.parse::<u32>().map_or(true, |p| p == 0 || p > 65535) {
            return Err(invalid());
        }
    }
    if let Some(ipv6) = host.strip_prefix('[') {
        let ok = ipv6
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok());
        return if ok { Ok(()) } else { Err(invalid()) };
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if host.is_empty() || host.len() > 253 || !host.split('.').all(label_ok) {
        return Err(invalid());
    }
    Ok(())
}

fn validate_path(path: &str) -> Result<(), ReferenceError> {
    let invalid = |why| ReferenceError::InvalidPath {
        path: path.to_string(),
        why,
    };
    if path.is_empty() {
        return Err(invalid("it is empty"));
    }
    if path.len() > 255 {
        return Err(invalid("it is longer than 255 characters"));
    }
    for component in path.split('/') {
        if component.is_empty() {
            return Err(invalid("it has an empty component"));
        }
        if !component.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        }) {
            return Err(invalid(
                "components are lowercase letters, digits, `.`, `_` and `-`",
            ));
        }
        let bytes = component.as_bytes();
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
            return Err(invalid(
                "a component starts and ends with a letter or digit",
            ));
        }
        // Separators: one `.`, one or two `_`, or any run of `-`.
        let mut run = String::new();
        for &b in bytes {
            if alnum(b) {
                if !matches!(run.as_str(), "" | "." | "_" | "__") && !run.bytes().all(|c| c == b'-')
                {
                    return Err(invalid("separators are `.`, `_`, `__` or dashes"));
                }
                run.clear();
            } else {
                run.push(b as char);
            }
        }
    }
    Ok(())
}

fn is_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0e54c71614c181dba589a9d58c74c6e7ce4fa65b81f620733248b6a4b7b0b555";

    #[test]
    fn full_references_parse_and_print_back() {
        for text in [
            "127.0.0.1:5000/lambda/quote",
            "127.0.0.1:5000/lambda/quote:test",
            &format!("127.0.0.1:5000/lambda/quote@{DIGEST}"),
            &format!("registry.example.com/a/b/c:v1.2.3@{DIGEST}"),
            "localhost/quote:sha-0c1d2e3-arm64",
            "[::1]:5000/quote:latest",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-lambda-python-release-base:3.12",
        ] {
            let reference = Reference::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(reference.to_string(), text);
        }
        let r = Reference::parse("127.0.0.1:5000/lambda/quote:test").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "lambda/quote");
        assert_eq!(r.tag.as_deref(), Some("test"));
        assert_eq!(r.hostname(), "127.0.0.1");
    }

    #[test]
    fn bad_references_say_why() {
        assert!(matches!(
            Reference::parse("quote:latest"),
            Err(ReferenceError::NoRegistry(_))
        ));
        assert!(matches!(
            Reference::parse("library/quote"),
            Err(ReferenceError::NoRegistry(_))
        ));
        assert!(matches!(
            Reference::parse("r.example/Quote"),
            Err(ReferenceError::InvalidPath { .. })
        ));
        assert!(matches!(
            Reference::parse("r.example/a//b"),
            Err(ReferenceError::InvalidPath { .. })
        ));
        assert!(matches!(
            Reference::parse("r.example/a...b"),
            Err(ReferenceError::InvalidPath { .. })
        ));
        assert!(matches!(
            Reference::parse("r.example/a:-x"),
            Err(ReferenceError::InvalidTag(_))
        ));
        assert!(matches!(
            Reference::parse("r.example/a@sha256:abc"),
            Err(ReferenceError::InvalidDigest(_))
        ));
        assert!(matches!(
            Reference::parse("r.example:99999/a"),
            Err(ReferenceError::InvalidHost(_))
        ));
        assert!(matches!(
            Reference::parse("-r.example/a"),
            Err(ReferenceError::InvalidHost(_))
        ));
        assert!(Reference::parse("r.example/a__b-c.d").is_ok());
    }

    #[test]
    fn ecr_hosts_use_the_ecr_backend() {
        let ecr = Reference::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/quote").unwrap();
        assert_eq!(
            ecr.backend(),
            Backend::Ecr {
                account: "123456789012".into(),
                region: "eu-west-1".into()
            }
        );
        let china = Reference::parse("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/q").unwrap();
        assert!(matches!(china.backend(), Backend::Ecr { .. }));
        for other in [
            "127.0.0.1:5000/q",
            "1234.dkr.ecr.eu-west-1.amazonaws.com/q",
            "ecr.example.com/q",
        ] {
            assert_eq!(
                Reference::parse(other).unwrap().backend(),
                Backend::Oci,
                "{other}"
            );
        }
    }

    #[test]
    fn loopback_and_listed_hosts_are_plain_http() {
        let insecure = |text: &str, list: &[&str]| {
            let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
            Reference::parse(text).unwrap().is_insecure(&list)
        };
        assert!(insecure("127.0.0.1:5000/q", &[]));
        assert!(insecure("127.8.9.10:5000/q", &[]));
        assert!(insecure("localhost:5000/q", &[]));
        assert!(insecure("[::1]:5000/q", &[]));
        assert!(!insecure("registry.example.com/q", &[]));
        assert!(insecure(
            "registry.example.com:5000/q",
            &["registry.example.com:5000"]
        ));
        assert!(insecure(
            "registry.example.com:5000/q",
            &["registry.example.com"]
        ));
        assert!(!insecure(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/q",
            &[]
        ));
    }

    #[test]
    fn retagging_drops_the_digest() {
        let r = Reference::parse(&format!("127.0.0.1:5000/q:test@{DIGEST}")).unwrap();
        assert_eq!(
            r.with_tag("latest").unwrap().to_string(),
            "127.0.0.1:5000/q:latest"
        );
        assert!(r.with_tag("bad tag").is_err());
    }
}
