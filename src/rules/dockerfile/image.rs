//! Image references: `[registry[:port]/]path[:tag][@digest]`, normalised as Docker does.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `docker.io` when the reference names none.
    pub registry: String,
    /// Repository path; `library/` is prepended for official Docker Hub images.
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRefError(pub String);

impl fmt::Display for ImageRefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl ImageRef {
    pub fn parse(text: &str) -> Result<ImageRef, ImageRefError> {
        let invalid = |why: &str| ImageRefError(format!("invalid image reference `{text}`: {why}"));
        if text.is_empty() {
            return Err(invalid("it is empty"));
        }
        let (name_tag, digest) = match text.split_once('@') {
            Some((name, digest)) => {
                if !crate::digest::is_sha256_digest(digest) {
                    return Err(invalid(
                        "the digest must be `sha256:` and 64 lower-case hex digits",
                    ));
                }
                (name, Some(digest.to_string()))
            }
            None => (text, None),
        };
        // A tag is after the last `:` that follows the last `/` (a registry port is not a tag).
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => (
                &name_tag[..last_slash + i],
                Some(name_tag[last_slash + i + 1..].to_string()),
            ),
            None => (name_tag, None),
        };
        if let Some(tag) = &tag {
            let valid = !tag.is_empty()
                && tag.len() <= 128
                && tag.bytes().enumerate().all(|(i, b)| {
                    b.is_ascii_alphanumeric() || b == b'_' || (i > 0 && (b == b'.' || b == b'-'))
                });
            if !valid {
                return Err(invalid(
                    "the tag must be 1-128 of [A-Za-z0-9_.-], not starting with . or -",
                ));
            }
        }
        let (registry, path) = split_registry(name);
        if path.is_empty()
            || path.split('/').any(|component| {
                component.is_empty()
                    || !component.bytes().all(|b| {
                        b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || matches!(b, b'.' | b'_' | b'-')
                    })
            })
        {
            return Err(invalid(
                "repository names are lower-case letters, digits and . _ - separated by /",
            ));
        }
        Ok(ImageRef {
            registry,
            path,
            tag,
            digest,
        })
    }

    /// `registry/path`, the name policy patterns match against.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.registry, self.path)
    }

    /// `registry/path:tag`, the key of the policy's digest table.
    pub fn tagged(&self) -> Option<String> {
        self.tag
            .as_ref()
            .map(|tag| format!("{}:{tag}", self.repository()))
    }
}

/// Splits off the registry the way Docker does: the first component is a registry when it
/// has a `.` or a `:`, or is `localhost`.
pub fn split_registry(name: &str) -> (String, String) {
    match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (first.to_string(), rest.to_string())
        }
        _ if !name.contains('/') => ("docker.io".into(), format!("library/{name}")),
        _ => ("docker.io".into(), name.to_string()),
    }
}

/// Normalises a policy pattern like a reference name, so `python` means `docker.io/library/python`.
pub fn normalize_repository_pattern(pattern: &str) -> String {
    let (registry, path) = split_registry(pattern);
    format!("{registry}/{path}")
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repository())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_docker_hub_names() {
        let r = ImageRef::parse("python:3.12").unwrap();
        assert_eq!(r.repository(), "docker.io/library/python");
        assert_eq!(r.tag.as_deref(), Some("3.12"));
    }

    #[test]
    fn registry_port_is_not_a_tag() {
        let r = ImageRef::parse("127.0.0.1:5000/team/base").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.path, "team/base");
        assert_eq!(r.tag, None);
    }

    #[test]
    fn digest_and_tag_together() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse(&format!("public.ecr.aws/lambda/python:3.12@{digest}")).unwrap();
        assert_eq!(r.digest.as_deref(), Some(digest.as_str()));
        assert_eq!(r.tagged().unwrap(), "public.ecr.aws/lambda/python:3.12");
    }

    #[test]
    fn rejects_malformed_references() {
        for bad in ["", "UPPER/case", "a:", "a@sha256:xyz", "a//b", "a:-x"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
    }
}
