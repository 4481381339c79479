//! The tags the runner writes, and what an ECR repository must allow for them.
//!
//! The design, under `IMMUTABLE_WITH_EXCLUSION` (ECR allows at most five exclusion filters):
//! - an image index is tagged with what was asked: a commit (`0a1b2c3d4e5f`), a version
//!   (`v1.4.0`), a moving tag (`test`, `dev`, `staging`, `prod`, `latest`);
//! - each platform's image is tagged `<tag>-<arch>` beside it, so that tag-based lifecycle rules
//!   see it and a child an index still references is never untagged;
//! - a moving tag and its children move together, so each moving tag needs one exclusion filter
//!   that covers both, `<tag>*` (`dev` alone covers `dev` only: ECR matches a filter over the
//!   whole tag); every other tag, commit and version tags and their children, stays immutable
//!   (so a version must not start with a moving tag's name: `dev-hotfix` would move under `dev*`).

use super::wildcard_matches;

/// The most exclusion filters ECR accepts on a repository.
pub const MAX_EXCLUSION_FILTERS: usize = 5;

/// The architectures the runner builds, as they appear in child tags.
pub const ARCHITECTURES: [&str; 2] = ["amd64", "arm64"];

/// The tag of one platform's image beside the index tagged `tag`.
pub fn child_tag(tag: &str, architecture: &str) -> String {
    format!("{tag}-{architecture}")
}

/// The exclusion filter a moving tag needs: it covers the tag and its children.
pub fn exclusion_filter(moving: &str) -> String {
    format!("{moving}*")
}

/// The exclusion filters for the moving tags, in their order.
pub fn exclusion_filters(moving: &[String]) -> Vec<String> {
    moving.iter().map(|tag| exclusion_filter(tag)).collect()
}

/// The filter among `filters` that lets `tag` move, if any.
pub fn excluded_by<'a>(filters: &'a [String], tag: &str) -> Option<&'a str> {
    filters
        .iter()
        .find(|filter| wildcard_matches(filter, tag))
        .map(String::as_str)
}

/// Whether a filter is one the pipeline needs for `moving`: a moving tag's own filter, or the
/// moving tag itself (which covers the index but not its children; see [`missing_children`]).
pub fn is_moving_filter(moving: &[String], filter: &str) -> bool {
    moving
        .iter()
        .any(|tag| filter == exclusion_filter(tag) || filter == tag)
}

/// The children of the moving tags `filters` let move that they leave immutable (`dev-amd64`
/// under the filter `dev`): the second move of that tag fails with
/// `ImageTagAlreadyExistsException`. A moving tag no filter covers is immutable as a whole (a
/// repository need not take every moving tag).
pub fn missing_children(moving: &[String], filters: &[String]) -> Vec<String> {
    moving
        .iter()
        .filter(|tag| excluded_by(filters, tag).is_some())
        .flat_map(|tag| ARCHITECTURES.iter().map(move |arch| child_tag(tag, arch)))
        .filter(|child| excluded_by(filters, child).is_none())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moving() -> Vec<String> {
        ["test", "latest", "dev", "staging", "prod"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn moving_filters_cover_the_tag_and_its_children_only() {
        let filters = exclusion_filters(&moving());
        assert!(filters.len() <= MAX_EXCLUSION_FILTERS);
        for tag in ["dev", "dev-amd64", "prod-arm64", "latest"] {
            assert!(excluded_by(&filters, tag).is_some(), "{tag}");
        }
        for tag in ["0a1b2c3d4e5f", "0a1b2c3d4e5f-amd64", "v1.2.0-arm64"] {
            assert_eq!(excluded_by(&filters, tag), None, "{tag}");
        }
        assert!(missing_children(&moving(), &filters).is_empty());
    }

    #[test]
    fn exact_filters_leave_the_children_immutable() {
        let exact = moving();
        assert_eq!(
            missing_children(&moving(), &exact)[..2],
            ["test-amd64".to_string(), "test-arm64".to_string()]
        );
    }
}
