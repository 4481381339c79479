//! Dockerfile syntax only BuildKit builds: the one list both DKR010 and the runner's
//! "before building" refusal read, so the gate and the build never disagree.

use super::parser::Dockerfile;
use crate::diagnostic::Span;

/// One use of BuildKit-only syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildKitOnly {
    pub span: Span,
    /// What is used, as written in a Dockerfile: `RUN --mount`, `COPY <<EOF`.
    pub feature: String,
}

/// Flags the classic builder rejects ("the --mount option requires BuildKit"), by instruction.
const FLAGS: &[(&str, &[&str])] = &[
    ("RUN", &["mount", "network", "security"]),
    ("COPY", &["chmod", "link", "parents", "exclude"]),
    (
        "ADD",
        &["chmod", "link", "checksum", "keep-git-dir", "exclude"],
    ),
];

/// Every use of BuildKit-only syntax, in file order.
pub fn buildkit_only(dockerfile: &Dockerfile) -> Vec<BuildKitOnly> {
    let mut found = Vec::new();
    for instruction in &dockerfile.instructions {
        let flags = FLAGS
            .iter()
            .find(|(keyword, _)| *keyword == instruction.keyword)
            .map_or(&[][..], |(_, flags)| *flags);
        for flag in &instruction.flags {
            if flags.contains(&flag.name.as_str()) {
                found.push(BuildKitOnly {
                    span: flag.span.clone(),
                    feature: format!("{} --{}", instruction.keyword, flag.name),
                });
            }
        }
        // The classic builder reads `<<EOF` as shell text: the step runs something else.
        if let Some(heredoc) = instruction.heredocs.first() {
            found.push(BuildKitOnly {
                span: instruction.keyword_span.clone(),
                feature: format!("{} <<{}", instruction.keyword, heredoc.delimiter),
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::dockerfile::parser::parse;

    fn features(text: &str) -> Vec<String> {
        buildkit_only(&parse(text).expect("parses"))
            .into_iter()
            .map(|f| f.feature)
            .collect()
    }

    #[test]
    fn finds_mounts_copy_flags_and_heredocs() {
        let text = "FROM a\nRUN --mount=type=cache,target=/root/.cache/pip pip install x\n\
                    COPY --chmod=755 run.sh /\nCOPY --from=build /x /y\nRUN <<EOT\necho hi\nEOT\n\
                    RUN --network=none true\n";
        assert_eq!(
            features(text),
            ["RUN --mount", "COPY --chmod", "RUN <<EOT", "RUN --network"]
        );
    }

    #[test]
    fn classic_syntax_is_not_reported() {
        let text = "FROM --platform=$BUILDPLATFORM a AS b\nCOPY --from=b --chown=1:1 /x /y\n\
                    ADD app.tar.gz /app/\nRUN echo hi > /tmp/x\n";
        assert_eq!(features(text), Vec::<String>::new());
    }
}
