//! Recording a newly built base's digest in a policy file: what the base-image pipeline does
//! after it promotes a base (`lambda-gate pipeline --record-policy`, `lambda-gate policy
//! record-digest`). The digest a tag was pinned to stays allowed until a grace date
//! (`[dockerfile.previous-digests]`), so DKR005 warns in every repository until then instead of
//! failing them all at once. The file is edited in place, comments and layout kept.

use std::path::Path;

use crate::glob::GlobMatcher;
use anyhow::{bail, Context as _};

use super::path_glob;
use crate::date::Date;
use crate::rules::dockerfile::image::{normalize_repository_pattern, ImageRef};

/// A base the pipeline built: its repository and the digest of its image index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltBase {
    /// `host[:port]/path`.
    pub repository: String,
    pub digest: String,
}

impl BuiltBase {
    /// `host[:port]/path@sha256:...`.
    pub fn parse(reference: &str) -> anyhow::Result<BuiltBase> {
        let image = ImageRef::parse(reference).map_err(|e| anyhow::anyhow!("{e}"))?;
        let Some(digest) = image.digest.clone() else {
            bail!("`{reference}` names no digest: give `REPOSITORY@sha256:...`");
        };
        Ok(BuiltBase {
            repository: image.repository(),
            digest,
        })
    }
}

/// What recording did to one `[dockerfile.digests]` key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordedDigest {
    /// The key: `repository-pattern:tag`.
    pub key: String,
    /// The digest it held before (`None`: the key is new).
    pub previous: Option<String>,
    pub digest: String,
    /// Until when `previous` stays allowed; `None` when nothing changed or the key is new.
    pub previous_allowed_until: Option<Date>,
}

impl RecordedDigest {
    pub fn changed(&self) -> bool {
        self.previous.as_deref() != Some(self.digest.as_str())
    }
}

impl std::fmt::Display for RecordedDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.previous, self.previous_allowed_until) {
            (Some(previous), _) if !self.changed() => {
                write!(f, "{}: unchanged ({previous})", self.key)
            }
            (Some(previous), Some(until)) => write!(
                f,
                "{}: {previous} -> {} ({previous} allowed until {until})",
                self.key, self.digest
            ),
            (Some(previous), None) => write!(f, "{}: {previous} -> {}", self.key, self.digest),
            (None, _) => write!(f, "{}: added, {}", self.key, self.digest),
        }
    }
}

/// Records `bases` in the policy text `text` (a `lambda-gate.toml`, or a `pyproject.toml`
/// when `pyproject`): every `[dockerfile.digests]` key whose repository pattern matches a
/// base's repository takes its new digest, the old one going to
/// `[dockerfile.previous-digests]` allowed until `allowed_until`. A base no key matches gets the
/// key `REPOSITORY:new_key_tag`. A digest that did not change changes nothing; entries whose
/// grace ended before `today` are dropped. Returns the new text and what happened per key.
pub fn record_digests(
    text: &str,
    pyproject: bool,
    bases: &[BuiltBase],
    new_key_tag: Option<&str>,
    allowed_until: Date,
    today: Date,
) -> anyhow::Result<(String, Vec<RecordedDigest>)> {
    let mut document: toml_edit::DocumentMut =
        text.parse().context("the policy file is not valid TOML")?;
    let root = if pyproject {
        table_at(document.as_table_mut(), &["tool", "lambda-gate"])?
    } else {
        document.as_table_mut()
    };
    let dockerfile = table_at(root, &["dockerfile"])?;
    let keys: Vec<String> = match dockerfile.get("digests") {
        Some(item) => item
            .as_table_like()
            .context("`dockerfile.digests` is not a table")?
            .iter()
            .map(|(key, _)| key.to_string())
            .collect(),
        None => Vec::new(),
    };
    let mut recorded = Vec::new();
    for base in bases {
        let mut matching: Vec<String> = Vec::new();
        for key in &keys {
            if key_matcher(key)?.is_some_and(|m| m.is_match(&base.repository)) {
                matching.push(key.clone());
            }
        }
        if matching.is_empty() {
            let Some(tag) = new_key_tag else {
                bail!(
                    "no `[dockerfile.digests]` key names `{}`: add one (`\"{}:TAG\" = \"...\"`) or say which tag to record",
                    base.repository,
                    base.repository
                );
            };
            matching.push(format!("{}:{tag}", base.repository));
        }
        for key in matching {
            recorded.push(record_one(dockerfile, &key, base, allowed_until, today)?);
        }
    }
    Ok((document.to_string(), recorded))
}

/// Reads, records and writes back the policy file at `path` (see [`record_digests`]).
pub fn record_in_file(
    path: &Path,
    bases: &[BuiltBase],
    new_key_tag: Option<&str>,
    grace_days: u32,
) -> anyhow::Result<Vec<RecordedDigest>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the policy `{}`", path.display()))?;
    let pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
    let today = Date::today();
    let (after, recorded) = record_digests(
        &text,
        pyproject,
        bases,
        new_key_tag,
        today.plus_days(i64::from(grace_days)),
        today,
    )
    .with_context(|| format!("cannot record base digests in `{}`", path.display()))?;
    // The result must still be a policy the gate reads.
    super::policy_of_text(path, &after)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("the recorded policy `{}` would not load", path.display()))?;
    if after != text {
        write_replacing(path, &after)
            .with_context(|| format!("cannot write the policy `{}`", path.display()))?;
    }
    Ok(recorded)
}

/// Writes `text` beside `path` and renames it over `path`: a reader sees the old policy or the
/// new one, never half of it.
fn write_replacing(path: &Path, text: &str) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".lambda-gate-{}", std::process::id()));
    let temporary = std::path::PathBuf::from(temporary);
    std::fs::write(&temporary, text)?;
    if let Ok(metadata) = std::fs::metadata(path) {
        std::fs::set_permissions(&temporary, metadata.permissions())?;
    }
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

fn record_one(
    dockerfile: &mut toml_edit::Table,
    key: &str,
    base: &BuiltBase,
    allowed_until: Date,
    today: Date,
) -> anyhow::Result<RecordedDigest> {
    let digests = table_at(dockerfile, &["digests"])?;
    let previous = digests
        .get(key)
        .and_then(|item| item.as_str())
        .map(str::to_string);
    let mut result = RecordedDigest {
        key: key.to_string(),
        previous: previous.clone(),
        digest: base.digest.clone(),
        previous_allowed_until: None,
    };
    if !result.changed() {
        return Ok(result);
    }
    match digests.get_mut(key).and_then(|item| item.as_value_mut()) {
        // The value alone is replaced: the key, and the comments above it, stay as written.
        Some(value) => {
            let decor = value.decor().clone();
            *value = base.digest.as_str().into();
            *value.decor_mut() = decor;
        }
        None => {
            digests.insert(key, toml_edit::value(base.digest.as_str()));
        }
    }
    let grace = table_at(dockerfile, &["previous-digests"])?;
    let mut entries = toml_edit::Array::new();
    if let Some(existing) = grace.get(key) {
        let existing = existing
            .as_array()
            .with_context(|| format!("`dockerfile.previous-digests.\"{key}\"` is not an array"))?;
        for entry in existing.iter() {
            let table = entry.as_inline_table();
            let digest = table.and_then(|t| t.get("digest")).and_then(|d| d.as_str());
            let until = table
                .and_then(|t| t.get("allowed-until"))
                .and_then(|d| d.as_datetime())
                .and_then(|d| d.date)
                .and_then(|d| Date::parse(&d.to_string()));
            // The new digest is current now, and an ended grace allows nothing.
            let keep = digest != Some(base.digest.as_str())
                && digest != previous.as_deref()
                && until.is_none_or(|until| until >= today);
            if keep {
                entries.push_formatted(entry.clone());
            }
        }
    }
    if let Some(previous) = &previous {
        entries.push(grace_entry(previous, allowed_until));
        result.previous_allowed_until = Some(allowed_until);
    }
    if entries.is_empty() {
        grace.remove(key);
    } else {
        for entry in entries.iter_mut() {
            entry.decor_mut().set_prefix("\n  ");
        }
        entries.set_trailing(",\n");
        entries.set_trailing_comma(false);
        grace.insert(key, toml_edit::value(entries));
    }
    if grace.is_empty() {
        dockerfile.remove("previous-digests");
    }
    Ok(result)
}

fn grace_entry(digest: &str, until: Date) -> toml_edit::Value {
    let mut table = toml_edit::InlineTable::new();
    table.insert("digest", digest.into());
    let date = toml_edit::Datetime {
        date: Some(toml_edit::Date {
            year: until.year as u16,
            month: until.month,
            day: until.day,
        }),
        time: None,
        offset: None,
    };
    table.insert("allowed-until", date.into());
    toml_edit::Value::InlineTable(table)
}

/// The table at `path` below `table`, made (as a `[section]`) when absent.
fn table_at<'t>(
    mut table: &'t mut toml_edit::Table,
    path: &[&str],
) -> anyhow::Result<&'t mut toml_edit::Table> {
    for (depth, name) in path.iter().enumerate() {
        if table.get(name).is_some_and(|item| item.is_inline_table()) {
            // `digests = { ... }`: made a section so keys can be added below it, its header
            // written plainly (`[dockerfile.digests]`, not the spacing of `digests = `), and a
            // parent that now holds nothing but sections shows no empty header of its own.
            if let Some(item) = table.get_mut(name) {
                if let Some(inline) = item.as_inline_table_mut() {
                    let section = std::mem::take(inline).into_table();
                    *item = toml_edit::Item::Table(section);
                }
            }
            if let Some(mut key) = table.key_mut(name) {
                key.leaf_decor_mut().clear();
                key.dotted_decor_mut().clear();
            }
            if table.iter().all(|(_, item)| item.is_table()) {
                table.set_implicit(true);
            }
        }
        let item = table.entry(name).or_insert_with(|| {
            let mut new = toml_edit::Table::new();
            new.set_implicit(depth + 1 < path.len());
            toml_edit::Item::Table(new)
        });
        table = item
            .as_table_mut()
            .with_context(|| format!("`{}` is not a table", path[..=depth].join(".")))?;
    }
    Ok(table)
}

/// The matcher of a `[dockerfile.digests]` key's repository pattern (`None`: no tag).
fn key_matcher(key: &str) -> anyhow::Result<Option<GlobMatcher>> {
    let Some((pattern, _tag)) = key
        .rsplit_once(':')
        .filter(|(p, t)| !t.contains('/') && !p.is_empty())
    else {
        return Ok(None);
    };
    let glob = path_glob(&normalize_repository_pattern(pattern))
        .with_context(|| format!("the digest key `{key}`"))?;
    Ok(Some(glob.compile_matcher()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const NEW: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    const OLDER: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    fn day(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    fn base(repository: &str, digest: &str) -> BuiltBase {
        BuiltBase {
            repository: repository.into(),
            digest: digest.into(),
        }
    }

    #[test]
    fn a_new_digest_replaces_the_old_which_stays_allowed_until_the_grace_date() {
        let text = format!(
            "# The team's policy.\n[dockerfile.digests]\n# the release base\n\"*.dkr.ecr.*.amazonaws.com/aws-lambda-python-release-base:3.12\" = \"{OLD}\"\n\n[coverage]\nfail-under = 80\n"
        );
        let (after, recorded) = record_digests(
            &text,
            false,
            &[base(
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-lambda-python-release-base",
                NEW,
            )],
            None,
            day("2026-12-16"),
            day("2026-12-02"),
        )
        .unwrap();
        assert_eq!(
            after,
            format!("# The team's policy.\n[dockerfile.digests]\n# the release base\n\"*.dkr.ecr.*.amazonaws.com/aws-lambda-python-release-base:3.12\" = \"{NEW}\"\n\n[dockerfile.previous-digests]\n\"*.dkr.ecr.*.amazonaws.com/aws-lambda-python-release-base:3.12\" = [\n  {{ digest = \"{OLD}\", allowed-until = 2026-12-16 }},\n]\n\n[coverage]\nfail-under = 80\n")
        );
        assert_eq!(recorded.len(), 1);
        assert_eq!(
            recorded[0].to_string(),
            format!("*.dkr.ecr.*.amazonaws.com/aws-lambda-python-release-base:3.12: {OLD} -> {NEW} ({OLD} allowed until 2026-12-16)")
        );
        // The policy reads back with the grace entry.
        let policy = crate::policy::policy_of_text(Path::new("lambda-gate.toml"), &after).unwrap();
        assert_eq!(policy.dockerfile.previous_digests.len(), 1);
        // The same digest again changes nothing.
        let (again, recorded) = record_digests(
            &after,
            false,
            &[base(
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-lambda-python-release-base",
                NEW,
            )],
            None,
            day("2026-12-20"),
            day("2026-12-06"),
        )
        .unwrap();
        assert_eq!(again, after);
        assert!(!recorded[0].changed());
    }

    #[test]
    fn a_second_roll_keeps_live_grace_entries_and_drops_ended_ones() {
        let text = format!(
            "[dockerfile.digests]\n\"r.example/base:3.12\" = \"{NEW}\"\n\n[dockerfile.previous-digests]\n\"r.example/base:3.12\" = [{{ digest = \"{OLDER}\", allowed-until = 2026-11-01 }}, {{ digest = \"{OLD}\", allowed-until = 2026-12-16 }}]\n"
        );
        let newest = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
        let (after, _) = record_digests(
            &text,
            false,
            &[base("r.example/base", newest)],
            None,
            day("2026-12-24"),
            day("2026-12-10"),
        )
        .unwrap();
        let policy = crate::policy::policy_of_text(Path::new("lambda-gate.toml"), &after).unwrap();
        let grace = &policy.dockerfile.previous_digests["r.example/base:3.12"];
        let digests: Vec<(&str, String)> = grace
            .iter()
            .map(|p| (p.digest.as_str(), p.allowed_until.to_string()))
            .collect();
        assert_eq!(
            digests,
            vec![
                (OLD, "2026-12-16".to_string()),
                (NEW, "2026-12-24".to_string())
            ]
        );
        // Rolling back to a digest still in grace makes it current and drops its grace entry.
        let (back, _) = record_digests(
            &after,
            false,
            &[base("r.example/base", OLD)],
            None,
            day("2026-12-25"),
            day("2026-12-11"),
        )
        .unwrap();
        let policy = crate::policy::policy_of_text(Path::new("lambda-gate.toml"), &back).unwrap();
        let grace = &policy.dockerfile.previous_digests["r.example/base:3.12"];
        assert!(grace.iter().all(|p| p.digest != OLD), "{back}");
        assert_eq!(policy.dockerfile.digests["r.example/base:3.12"], OLD);
    }

    #[test]
    fn an_unnamed_base_is_added_under_the_given_tag_or_refused_without_one() {
        let (after, recorded) = record_digests(
            "[tool.lambda-gate.rules]\nDKR004 = \"warning\"\n",
            true,
            &[base("127.0.0.1:5000/p/aws-lambda-python-dev-base", NEW)],
            Some("3.12"),
            day("2026-12-16"),
            day("2026-12-02"),
        )
        .unwrap();
        assert!(
            after.contains(&format!("[tool.lambda-gate.dockerfile.digests]\n\"127.0.0.1:5000/p/aws-lambda-python-dev-base:3.12\" = \"{NEW}\"\n")),
            "{after}"
        );
        assert_eq!(recorded[0].previous, None);
        let error = record_digests(
            "",
            false,
            &[base("r.example/base", NEW)],
            None,
            day("2026-12-16"),
            day("2026-12-02"),
        )
        .unwrap_err();
        assert!(error
            .to_string()
            .contains("no `[dockerfile.digests]` key names `r.example/base`"));
    }

    #[test]
    fn an_inline_digests_table_becomes_a_section() {
        let text = format!("[dockerfile]\ndigests = {{ \"r.example/base:3.12\" = \"{OLD}\" }}\n");
        let (after, _) = record_digests(
            &text,
            false,
            &[base("r.example/base", NEW)],
            None,
            day("2026-12-16"),
            day("2026-12-02"),
        )
        .unwrap();
        assert_eq!(
            after,
            format!("[dockerfile.digests]\n\"r.example/base:3.12\" = \"{NEW}\"\n\n[dockerfile.previous-digests]\n\"r.example/base:3.12\" = [\n  {{ digest = \"{OLD}\", allowed-until = 2026-12-16 }},\n]\n")
        );
    }

    #[test]
    fn built_bases_need_a_digest() {
        assert_eq!(
            BuiltBase::parse(&format!("127.0.0.1:5000/x/base@{NEW}")).unwrap(),
            base("127.0.0.1:5000/x/base", NEW)
        );
        assert!(BuiltBase::parse("127.0.0.1:5000/x/base:3.12").is_err());
    }
}
