//! What the pipeline needs of an ECR repository, in one place: the tags the runner writes
//! ([`tags`]), how ECR matches a wildcard filter against a tag, and how ECR's lifecycle
//! evaluator reads a policy ([`lifecycle`]). The runner writes tags by these shapes, the
//! `aws-lambda-container` module is checked against them (TF008, TF010), and the tests evaluate
//! the module's own policy with the same code, so the three cannot drift apart.

pub mod lifecycle;
pub mod tags;

/// Whether `tag` matches an ECR wildcard `pattern` as ECR matches it: over the whole tag, `*`
/// standing for any run of characters (none included), every other character for itself.
/// Exclusion filters (`dev-*` covers the tags starting with `dev-`; `dev` covers `dev` only) and
/// lifecycle `tagPatternList` entries are both read this way.
pub fn wildcard_matches(pattern: &str, tag: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = tag.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*`: the whole tag must be the pattern.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::wildcard_matches;

    #[test]
    fn a_filter_covers_the_whole_tag() {
        // AWS's own example: `dev-*` for the tags that start with `dev-`.
        assert!(wildcard_matches("dev-*", "dev-1"));
        assert!(!wildcard_matches("dev-*", "dev"));
        // Without a `*` a filter is the tag itself, not a prefix of it.
        assert!(wildcard_matches("dev", "dev"));
        assert!(!wildcard_matches("dev", "dev-amd64"));
        assert!(wildcard_matches("dev*", "dev-amd64"));
        assert!(wildcard_matches("*-amd64", "0a1b2c3d4e5f-amd64"));
        assert!(!wildcard_matches("*-amd64", "0a1b2c3d4e5f-arm64"));
        assert!(wildcard_matches("*", "anything"));
        assert!(wildcard_matches("a*b*c", "abc"));
        assert!(wildcard_matches("a*b*c", "a-b-b-c"));
        assert!(!wildcard_matches("a*b*c", "a-c-b"));
        // The end is matched once, not twice: `ab*ab` needs four characters at least.
        assert!(!wildcard_matches("ab*ab", "ab"));
        assert!(!wildcard_matches("ab*ab", "aba"));
        assert!(wildcard_matches("ab*ab", "abab"));
        // Regex characters are themselves.
        assert!(!wildcard_matches("v1.0", "v1x0"));
    }
}
