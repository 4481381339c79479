//! The in-flight record a deploy writes on the alias's description while it changes things:
//! who, since when, which version; and the description it replaced, to put back. The next
//! deploy refuses while it is there, `--status` shows it, `--abort` clears it. On the alias
//! because that is what every deploy of the function reads anyway, and an update of it is
//! compare-and-set on the alias's revision: writing the record is taking the lock.

use serde::Serialize;

const PREFIX: &str = "lambda-gate: deploy in flight by ";
/// Lambda's limit for an alias description.
const DESCRIPTION_LIMIT: usize = 256;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InFlight {
    /// The deploy's session name (its build).
    pub by: String,
    /// When it started (UTC, RFC 3339).
    pub since: String,
    /// The version it published, once published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The alias's description before, put back when the deploy ends.
    pub was: String,
}

impl InFlight {
    /// The alias description that carries the record (at most Lambda's 256 characters: a long
    /// earlier description is cut, never the record).
    pub fn description(&self) -> String {
        let mut text = format!("{PREFIX}{} since {}", self.by, self.since);
        if let Some(version) = &self.version {
            text.push_str(&format!(", version {version}"));
        }
        text.push_str("; was: ");
        for c in self.was.chars() {
            if text.len() + c.len_utf8() > DESCRIPTION_LIMIT {
                break;
            }
            text.push(c);
        }
        text
    }

    /// The record an alias description carries, if any.
    pub fn parse(description: &str) -> Option<InFlight> {
        let rest = description.strip_prefix(PREFIX)?;
        let (head, was) = rest.split_once("; was: ")?;
        let (by, when) = head.split_once(" since ")?;
        let (since, version) = match when.split_once(", version ") {
            Some((since, version)) => (since, Some(version.to_string())),
            None => (when, None),
        };
        Some(InFlight {
            by: by.to_string(),
            since: since.to_string(),
            version,
            was: was.to_string(),
        })
    }
}

impl std::fmt::Display for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "started by {} at {}", self.by, self.since)?;
        if let Some(version) = &self.version {
            write!(f, ", publishing version {version}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_reads_back_as_written_and_keeps_within_lambdas_limit() {
        let record = InFlight {
            by: "jenkins-team-quote-main-42".into(),
            since: "2026-12-03T02:40:00Z".into(),
            version: Some("7".into()),
            was: "served by the quote team".into(),
        };
        assert_eq!(InFlight::parse(&record.description()), Some(record.clone()));
        let without = InFlight {
            version: None,
            ..record.clone()
        };
        assert_eq!(InFlight::parse(&without.description()), Some(without));
        let long = InFlight {
            was: "é".repeat(300),
            ..record
        };
        let text = long.description();
        assert!(text.len() <= 256, "{}", text.len());
        assert_eq!(
            InFlight::parse(&text).unwrap().version.as_deref(),
            Some("7")
        );
        assert_eq!(InFlight::parse("the team's own words"), None);
        assert_eq!(InFlight::parse(""), None);
    }

    /// An alias description is anyone's text: reading it never panics, and every record written
    /// (whatever the earlier description held) reads back with its who, when and version.
    #[test]
    fn any_description_is_read_without_panicking_and_records_round_trip() {
        let mut rng = fastrand::Rng::with_seed(25);
        let pieces = [
            PREFIX,
            " since ",
            ", version ",
            "; was: ",
            "é",
            ";",
            " ",
            "x",
            "7",
        ];
        for _ in 0..20_000 {
            let text: String = (0..rng.usize(0..12))
                .map(|_| pieces[rng.usize(..pieces.len())])
                .collect();
            let _ = InFlight::parse(&text);
            let record = InFlight {
                by: format!("build-{}", rng.u32(..)),
                since: "2026-12-03T02:40:00Z".into(),
                version: rng.bool().then(|| rng.u32(1..999).to_string()),
                was: text,
            };
            let read = InFlight::parse(&record.description()).expect("a record reads back");
            assert_eq!(
                (read.by, read.since, read.version),
                (record.by, record.since, record.version)
            );
        }
    }
}
