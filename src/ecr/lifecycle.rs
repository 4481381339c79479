//! ECR lifecycle policies as ECR's documentation says they are evaluated, and the history of
//! images the pipeline writes, to try a policy on.
//!
//! The documented rules followed here:
//! - rules are evaluated by `rulePriority`, lowest first; a `tagStatus: any` rule must come last
//!   and only one rule may select untagged images;
//! - `tagStatus: tagged` selects by `tagPatternList` (wildcards over the whole tag, at most four
//!   `*` each) or `tagPrefixList`; with several entries **all** must match (each by some tag of
//!   the image): the entries are AND-ed, not OR-ed;
//! - `imageCountMoreThan` keeps that many of the selected images, youngest by push time first,
//!   and expires the rest; `sinceImagePushed` expires those pushed more than `countNumber` days
//!   ago;
//! - an image that matches the tag selection of a rule is never expired by a rule of lower
//!   priority.
//!
//! One point the documentation leaves open: whether a lower rule's `imageCountMoreThan` counts
//! images a higher rule already matched ("rules can never mark images that are marked by higher
//! priority rules, but can still identify them as if they haven't been expired"). [`Reading`]
//! names both readings; a policy is judged safe only when it is safe under both.

use std::collections::{BTreeMap, BTreeSet};

use super::tags::{child_tag, ARCHITECTURES};
use super::wildcard_matches;

/// Whether a rule's count includes images that a higher-priority rule matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// They are counted (and, being protected, kept): the rule keeps fewer of its own.
    CountsEarlierMatches,
    /// They are left out of the count.
    SkipsEarlierMatches,
}

/// How a rule selects by tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagSelection {
    /// Images with at least one tag, matching every pattern (`tagPatternList`).
    Patterns(Vec<String>),
    /// Images with at least one tag, having every prefix (`tagPrefixList`).
    Prefixes(Vec<String>),
    Untagged,
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Count {
    /// `imageCountMoreThan`: keep this many.
    MoreThan(u64),
    /// `sinceImagePushed` in days.
    PushedDaysAgo(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub priority: u64,
    pub description: String,
    pub selection: TagSelection,
    pub count: Count,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// By priority, lowest first.
    pub rules: Vec<Rule>,
}

/// An image of a repository: its digest, tags and push time (seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub digest: String,
    pub tags: BTreeSet<String>,
    pub pushed_at: u64,
}

impl TagSelection {
    fn selects(&self, image: &Image) -> bool {
        match self {
            TagSelection::Any => true,
            TagSelection::Untagged => image.tags.is_empty(),
            TagSelection::Patterns(patterns) => {
                !image.tags.is_empty()
                    && patterns
                        .iter()
                        .all(|p| image.tags.iter().any(|t| wildcard_matches(p, t)))
            }
            TagSelection::Prefixes(prefixes) => {
                !image.tags.is_empty()
                    && prefixes
                        .iter()
                        .all(|p| image.tags.iter().any(|t| t.starts_with(p.as_str())))
            }
        }
    }

    /// The entries of a several-entry tag selection, which are AND-ed.
    pub fn and_ed(&self) -> Option<&[String]> {
        match self {
            TagSelection::Patterns(list) | TagSelection::Prefixes(list) if list.len() > 1 => {
                Some(list)
            }
            _ => None,
        }
    }
}

impl Policy {
    /// Reads a lifecycle policy document, refusing what ECR refuses, with the reason.
    pub fn parse(document: &serde_json::Value) -> Result<Policy, String> {
        let rules = document
            .get("rules")
            .and_then(|r| r.as_array())
            .ok_or("a lifecycle policy needs a `rules` list")?;
        let mut parsed = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            let at = |what: &str| format!("rule {}: {what}", index + 1);
            let priority = rule
                .get("rulePriority")
                .and_then(|p| p.as_u64())
                .filter(|p| *p >= 1)
                .ok_or_else(|| at("`rulePriority` must be a positive whole number"))?;
            let selection = rule.get("selection").ok_or_else(|| at("no `selection`"))?;
            let text_list = |key: &str| -> Result<Option<Vec<String>>, String> {
                match selection.get(key) {
                    None => Ok(None),
                    Some(list) => list
                        .as_array()
                        .filter(|l| !l.is_empty())
                        .and_then(|l| {
                            l.iter()
                                .map(|v| v.as_str().map(str::to_string))
                                .collect::<Option<Vec<_>>>()
                        })
                        .map(Some)
                        .ok_or_else(|| at(&format!("`{key}` must be a list of strings"))),
                }
            };
            let patterns = text_list("tagPatternList")?;
            let prefixes = text_list("tagPrefixList")?;
            let status = selection.get("tagStatus").and_then(|s| s.as_str());
            let tags = match (status, patterns, prefixes) {
                (Some("tagged"), Some(_), Some(_)) => {
                    return Err(at(
                        "`tagPatternList` and `tagPrefixList` cannot both be set",
                    ))
                }
                (Some("tagged"), Some(patterns), None) => {
                    if let Some(p) = patterns.iter().find(|p| p.matches('*').count() > 4) {
                        return Err(at(&format!(
                            "the pattern `{p}` has more than four `*` (ECR allows four)"
                        )));
                    }
                    TagSelection::Patterns(patterns)
                }
                (Some("tagged"), None, Some(prefixes)) => TagSelection::Prefixes(prefixes),
                (Some("tagged"), None, None) => {
                    return Err(at(
                        "`tagStatus: tagged` needs a `tagPatternList` or `tagPrefixList`",
                    ))
                }
                (Some("untagged" | "any"), Some(_), _) | (Some("untagged" | "any"), _, Some(_)) => {
                    return Err(at("tag lists belong to `tagStatus: tagged` only"))
                }
                (Some("untagged"), None, None) => TagSelection::Untagged,
                (Some("any"), None, None) => TagSelection::Any,
                _ => return Err(at("`tagStatus` must be `tagged`, `untagged` or `any`")),
            };
            let number = selection
                .get("countNumber")
                .and_then(|n| n.as_u64())
                .filter(|n| *n >= 1)
                .ok_or_else(|| at("`countNumber` must be a positive whole number"))?;
            let count = match selection.get("countType").and_then(|c| c.as_str()) {
                Some("imageCountMoreThan") => Count::MoreThan(number),
                Some("sinceImagePushed")
                    if selection.get("countUnit").and_then(|u| u.as_str()) == Some("days") =>
                {
                    Count::PushedDaysAgo(number)
                }
                Some("sinceImagePushed") => {
                    return Err(at("`sinceImagePushed` needs `countUnit: days`"))
                }
                Some(other) => {
                    return Err(at(&format!(
                        "`countType: {other}` is not read here (only `imageCountMoreThan` and `sinceImagePushed`)"
                    )))
                }
                None => return Err(at("no `countType`")),
            };
            match rule.pointer("/action/type").and_then(|t| t.as_str()) {
                Some("expire") => {}
                other => {
                    return Err(at(&format!(
                        "the action `{}` is not read here (only `expire`)",
                        other.unwrap_or("(none)")
                    )))
                }
            }
            parsed.push(Rule {
                priority,
                description: rule
                    .get("description")
                    .and_then(|d| d.as_str())
                    .unwrap_or_default()
                    .to_string(),
                selection: tags,
                count,
            });
        }
        parsed.sort_by_key(|r| r.priority);
        if let Some(pair) = parsed.windows(2).find(|w| w[0].priority == w[1].priority) {
            return Err(format!(
                "two rules have the priority {}: priorities must be unique",
                pair[0].priority
            ));
        }
        if parsed
            .iter()
            .filter(|r| r.selection == TagSelection::Untagged)
            .count()
            > 1
        {
            return Err("only one rule may select untagged images".into());
        }
        if let Some(position) = parsed.iter().position(|r| r.selection == TagSelection::Any) {
            if position + 1 != parsed.len() {
                return Err(format!(
                    "the `tagStatus: any` rule (priority {}) must have the highest priority",
                    parsed[position].priority
                ));
            }
        }
        Ok(Policy { rules: parsed })
    }

    /// The images the policy expires at time `now` (seconds), each with the priority of the rule
    /// that expires it.
    pub fn expired(&self, images: &[Image], now: u64, reading: Reading) -> BTreeMap<String, u64> {
        let mut expired = BTreeMap::new();
        // Images a higher-priority rule matched: no lower rule may expire them.
        let mut matched: BTreeSet<&str> = BTreeSet::new();
        for rule in &self.rules {
            let mut selected: Vec<&Image> = images
                .iter()
                .filter(|i| rule.selection.selects(i))
                .filter(|i| {
                    reading == Reading::CountsEarlierMatches || !matched.contains(i.digest.as_str())
                })
                .collect();
            // Youngest first; the digest breaks ties so that the result does not depend on order.
            selected.sort_by(|a, b| {
                b.pushed_at
                    .cmp(&a.pushed_at)
                    .then_with(|| a.digest.cmp(&b.digest))
            });
            let candidates: Vec<&Image> = match rule.count {
                Count::MoreThan(keep) => selected
                    .iter()
                    .skip(usize::try_from(keep).unwrap_or(usize::MAX))
                    .copied()
                    .collect(),
                Count::PushedDaysAgo(days) => selected
                    .iter()
                    .filter(|i| i.pushed_at.saturating_add(days * 86_400) < now)
                    .copied()
                    .collect(),
            };
            for image in candidates {
                if !matched.contains(image.digest.as_str()) {
                    expired.entry(image.digest.clone()).or_insert(rule.priority);
                }
            }
            matched.extend(selected.iter().map(|i| i.digest.as_str()));
        }
        expired
    }
}

/// A repository's images after a pipeline's history, with what must survive expiry.
#[derive(Debug, Clone)]
pub struct History {
    pub images: Vec<Image>,
    /// When the history ends (seconds).
    pub now: u64,
    /// Digests that must be kept, each with why: an image a moving tag points at, its children,
    /// the image a deployed alias runs.
    pub needed: BTreeMap<String, String>,
    /// Digests of commit images no tag or deployment needs any more: a policy should expire
    /// these (the oldest ones at least).
    pub stale: BTreeSet<String>,
    /// Each index's children.
    pub children: BTreeMap<String, Vec<String>>,
}

/// The history of the pipeline's Jenkins flow: `builds` commits, each pushed as an index and
/// its two children (tagged with the commit, the first moving tag and the arch tags) an hour
/// apart; every 5th promoted through each moving tag in turn; the 3rd-last promotion to the last
/// moving tag rolled back to the one before (a deployed alias then runs that image). The
/// history ends two days after the last push.
pub fn pipeline_history(moving: &[String], builds: usize) -> History {
    let hour = 3_600;
    let mut images: Vec<Image> = Vec::new();
    let mut children: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut pointed: BTreeMap<String, String> = BTreeMap::new();
    let mut promotions_to_last: Vec<String> = Vec::new();
    let move_tag = |images: &mut Vec<Image>,
                    children: &BTreeMap<String, Vec<String>>,
                    tag: &str,
                    index: &str| {
        for image in images.iter_mut() {
            image.tags.remove(tag);
            for arch in ARCHITECTURES {
                image.tags.remove(&child_tag(tag, arch));
            }
        }
        let kids = &children[index];
        for image in images.iter_mut() {
            if image.digest == index {
                image.tags.insert(tag.to_string());
            }
            if let Some(at) = kids.iter().position(|k| *k == image.digest) {
                image.tags.insert(child_tag(tag, ARCHITECTURES[at]));
            }
        }
    };
    for build in 0..builds {
        let pushed_at = 1_000_000 + build as u64 * hour;
        let commit = format!("{:012x}", 0x0a1b_2c3d_0000_u64 + build as u64 * 7919);
        let index = format!("sha256:index{build:04}");
        let kids: Vec<String> = ARCHITECTURES
            .iter()
            .map(|arch| format!("sha256:{arch}{build:04}"))
            .collect();
        for (kid, arch) in kids.iter().zip(ARCHITECTURES) {
            images.push(Image {
                digest: kid.clone(),
                tags: [child_tag(&commit, arch)].into(),
                pushed_at,
            });
        }
        images.push(Image {
            digest: index.clone(),
            tags: [commit].into(),
            pushed_at: pushed_at + 5,
        });
        children.insert(index.clone(), kids);
        if let Some(first) = moving.first() {
            move_tag(&mut images, &children, first, &index);
            pointed.insert(first.clone(), index.clone());
        }
        if build % 5 == 4 {
            for tag in moving.iter().skip(1) {
                move_tag(&mut images, &children, tag, &index);
                pointed.insert(tag.clone(), index.clone());
            }
            promotions_to_last.push(index.clone());
        }
    }
    // A rollback: the last moving tag goes back to the promotion before the latest.
    let mut deployed = None;
    if let (Some(last), [.., previous, _]) = (moving.last(), promotions_to_last.as_slice()) {
        move_tag(&mut images, &children, last, previous);
        pointed.insert(last.clone(), previous.clone());
        deployed = Some(previous.clone());
    }
    let mut needed = BTreeMap::new();
    for (tag, index) in &pointed {
        needed.insert(index.clone(), format!("the image `{tag}` points at"));
        for (kid, arch) in children[index].iter().zip(ARCHITECTURES) {
            needed.insert(
                kid.clone(),
                format!(
                    "`{}`, a child of the image `{tag}` points at",
                    child_tag(tag, arch)
                ),
            );
        }
    }
    if let Some(index) = deployed {
        needed
            .entry(index)
            .or_insert_with(|| "the image a deployed alias runs".into());
    }
    let stale = images
        .iter()
        .map(|i| i.digest.clone())
        .filter(|d| !needed.contains_key(d))
        .collect();
    let now = images.iter().map(|i| i.pushed_at).max().unwrap_or(0) + 48 * hour;
    History {
        images,
        now,
        needed,
        stale,
        children,
    }
}

/// What a policy does wrong on the pipeline's history, under either reading: images it expires
/// that must be kept, and indexes it keeps whose children it expires.
pub fn harms(policy: &Policy, history: &History) -> Vec<String> {
    let mut harms = BTreeSet::new();
    for reading in [Reading::CountsEarlierMatches, Reading::SkipsEarlierMatches] {
        let expired = policy.expired(&history.images, history.now, reading);
        for (digest, why) in &history.needed {
            if let Some(priority) = expired.get(digest) {
                harms.insert(format!("rule {priority} expires {why}"));
            }
        }
        for (index, kids) in &history.children {
            if expired.contains_key(index) {
                continue;
            }
            if let Some(priority) = kids.iter().find_map(|k| expired.get(k)) {
                harms.insert(format!(
                    "rule {priority} expires a platform's image of an index it keeps, which then cannot be pulled"
                ));
            }
        }
    }
    harms.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn moving() -> Vec<String> {
        ["test", "latest", "dev", "staging", "prod"]
            .map(String::from)
            .to_vec()
    }

    fn image(digest: &str, tags: &[&str], pushed_at: u64) -> Image {
        Image {
            digest: digest.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            pushed_at,
        }
    }

    fn rule(priority: u64, selection: serde_json::Value) -> serde_json::Value {
        json!({"rulePriority": priority, "selection": selection, "action": {"type": "expire"}})
    }

    #[test]
    fn several_patterns_are_and_ed() {
        let policy = Policy::parse(&json!({"rules": [rule(1, json!({
            "tagStatus": "tagged", "tagPatternList": ["test*", "prod*"],
            "countType": "imageCountMoreThan", "countNumber": 1}))]}))
        .expect("valid");
        let images = [
            image("a", &["test"], 3),
            image("b", &["prod"], 2),
            image("c", &["test", "prod"], 1),
            image("d", &["test-1", "prod-1"], 0),
        ];
        // Only c and d carry both kinds of tag; d is the older of the two.
        let expired = policy.expired(&images, 10, Reading::CountsEarlierMatches);
        assert_eq!(expired.keys().collect::<Vec<_>>(), ["d"]);
    }

    #[test]
    fn a_higher_rules_match_is_never_expired_by_a_lower_rule() {
        let policy = Policy::parse(&json!({"rules": [
            rule(1, json!({"tagStatus": "tagged", "tagPatternList": ["prod"],
                "countType": "imageCountMoreThan", "countNumber": 9999})),
            rule(2, json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1})),
        ]}))
        .expect("valid");
        let images = [
            image("new", &[], 3),
            image("prod", &["prod"], 1),
            image("old", &["x"], 0),
        ];
        for reading in [Reading::CountsEarlierMatches, Reading::SkipsEarlierMatches] {
            let expired = policy.expired(&images, 10, reading);
            assert!(!expired.contains_key("prod"), "{reading:?}");
            assert!(expired.contains_key("old"), "{reading:?}");
        }
        // The readings differ on whether `prod` takes one of rule 2's places.
        assert!(!policy
            .expired(&images, 10, Reading::SkipsEarlierMatches)
            .contains_key("new"));
    }

    #[test]
    fn age_counts_from_the_push() {
        let policy = Policy::parse(&json!({"rules": [rule(1, json!({
            "tagStatus": "untagged", "countType": "sinceImagePushed",
            "countUnit": "days", "countNumber": 1}))]}))
        .expect("valid");
        let images = [image("old", &[], 0), image("new", &[], 90_000)];
        let expired = policy.expired(&images, 100_000, Reading::CountsEarlierMatches);
        assert_eq!(expired.keys().collect::<Vec<_>>(), ["old"]);
    }

    #[test]
    fn what_ecr_refuses_is_refused() {
        let tagged = |list: serde_json::Value| {
            json!({"rules": [rule(1, json!({"tagStatus": "tagged", "tagPatternList": list,
                "countType": "imageCountMoreThan", "countNumber": 1}))]})
        };
        assert!(Policy::parse(&tagged(json!(["a*b*c*d*e*f"])))
            .unwrap_err()
            .contains("four"));
        assert!(Policy::parse(&tagged(json!(["*"]))).is_ok());
        let any_first = json!({"rules": [
            rule(1, json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1})),
            rule(2, json!({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1})),
        ]});
        assert!(Policy::parse(&any_first)
            .unwrap_err()
            .contains("highest priority"));
        let same = json!({"rules": [
            rule(1, json!({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1})),
            rule(1, json!({"tagStatus": "tagged", "tagPrefixList": ["v"], "countType": "imageCountMoreThan", "countNumber": 1})),
        ]});
        assert!(Policy::parse(&same).unwrap_err().contains("unique"));
    }

    #[test]
    fn the_history_moves_tags_with_their_children() {
        let history = pipeline_history(&moving(), 50);
        assert_eq!(history.images.len(), 150);
        let tagged = |tag: &str| {
            history
                .images
                .iter()
                .filter(|i| i.tags.contains(tag))
                .count()
        };
        for tag in ["test", "test-amd64", "prod", "prod-arm64", "staging-amd64"] {
            assert_eq!(tagged(tag), 1, "{tag}");
        }
        // prod was rolled back: it is not where staging is.
        let at = |tag: &str| {
            history
                .images
                .iter()
                .find(|i| i.tags.contains(tag))
                .map(|i| i.digest.clone())
        };
        assert_ne!(at("prod"), at("staging"));
        assert!(history.stale.len() > 100);
    }

    #[test]
    fn an_or_meant_policy_protects_nothing_and_is_caught() {
        // The shape teams write meaning "any of": AND-ed, it keeps nothing a moving tag needs.
        let policy = Policy::parse(&json!({"rules": [
            rule(1, json!({"tagStatus": "tagged", "tagPatternList": ["test*", "prod*"],
                "countType": "imageCountMoreThan", "countNumber": 9999})),
            rule(2, json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10})),
        ]}))
        .expect("valid");
        let harms = harms(&policy, &pipeline_history(&moving(), 50));
        assert!(
            harms
                .iter()
                .any(|h| h.contains("the image `prod` points at")),
            "{harms:?}"
        );
    }
}
