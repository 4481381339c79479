//! AWS SAM templates (`template.yaml`): which Dockerfile an image function builds, and from which
//! build context (`Metadata.DockerContext`, `Metadata.Dockerfile`). SAM builds the image from that
//! context, which often lies above the Dockerfile, so COPY sources are relative to it.
//!
//! Read line by line rather than as YAML: templates use CloudFormation's short tags (`!Ref`,
//! `!GetAtt`, `!Sub`) that plain YAML readers refuse, and only two keys under `Metadata` matter.

use std::path::{Path, PathBuf};

/// One image function's build: its Dockerfile and its context directory, both absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageBuild {
    pub dockerfile: PathBuf,
    pub context: PathBuf,
}

/// Whether a file name is a SAM template.
pub fn is_template(name: &str) -> bool {
    matches!(name, "template.yaml" | "template.yml")
}

/// The image builds a template at `path` declares.
pub fn image_builds(path: &Path, text: &str) -> Vec<ImageBuild> {
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut builds = Vec::new();
    // (indent of `Metadata:`, Dockerfile, DockerContext) of the mapping being read.
    let mut current: Option<(usize, Option<String>, Option<String>)> = None;
    let mut finish = |entry: Option<(usize, Option<String>, Option<String>)>| {
        if let Some((_, dockerfile, Some(context))) = entry {
            let context = normalize(&dir.join(context));
            let dockerfile =
                normalize(&context.join(dockerfile.unwrap_or_else(|| "Dockerfile".into())));
            builds.push(ImageBuild {
                dockerfile,
                context,
            });
        }
    };
    for line in text.lines() {
        let content = line.split(" #").next().unwrap_or(line).trim_end();
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = content.len() - trimmed.len();
        if let Some((metadata_indent, _, _)) = &current {
            if indent <= *metadata_indent {
                finish(current.take());
            }
        }
        if trimmed == "Metadata:" {
            current = Some((indent, None, None));
            continue;
        }
        if let Some((_, dockerfile, context)) = &mut current {
            if let Some((key, value)) = trimmed.split_once(':') {
                let value = value.trim().trim_matches(['"', '\'']).to_string();
                match key.trim() {
                    "Dockerfile" if !value.is_empty() => *dockerfile = Some(value),
                    "DockerContext" if !value.is_empty() => *context = Some(value),
                    _ => {}
                }
            }
        }
    }
    finish(current);
    builds
}

/// `a/./b/../c` -> `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_above_and_beside_the_dockerfile() {
        let text = "Transform: AWS::Serverless-2016-10-31\nResources:\n  Quote:\n    Type: AWS::Serverless::Function\n    Properties:\n      PackageType: Image\n      Role: !GetAtt QuoteRole.Arn\n    Metadata:\n      Dockerfile: src/quote/Dockerfile\n      DockerContext: .\n      DockerTag: v1\n  Hello:\n    Type: AWS::Serverless::Function\n    Metadata:\n      DockerContext: ./hello_world  # beside\n";
        let builds = image_builds(Path::new("/repo/template.yaml"), text);
        assert_eq!(
            builds,
            vec![
                ImageBuild {
                    dockerfile: "/repo/src/quote/Dockerfile".into(),
                    context: "/repo".into()
                },
                ImageBuild {
                    dockerfile: "/repo/hello_world/Dockerfile".into(),
                    context: "/repo/hello_world".into()
                },
            ]
        );
    }

    #[test]
    fn random_inputs_never_panic() {
        let words = [
            "Metadata:",
            "Dockerfile:",
            "DockerContext:",
            " ",
            "  ",
            "\n",
            "..",
            "/",
            "x",
            "'",
            "\"",
            "#",
            " #",
            ":",
        ];
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..20_000 {
            let text: String = (0..rng.usize(0..30))
                .map(|_| words[rng.usize(..words.len())])
                .collect();
            for build in image_builds(Path::new("/repo/template.yaml"), &text) {
                assert!(build.dockerfile.is_absolute(), "{text:?} {build:?}");
            }
        }
    }
}
