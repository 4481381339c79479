//! AWS SAM templates (`template.yaml`): which Dockerfile an image function builds, and from which
//! build context (`Metadata.DockerContext`, `Metadata.Dockerfile`). SAM builds the image from that
//! context, which often lies above the Dockerfile, so COPY sources are relative to it.
//!
//! Read line by line rather than as YAML: templates use CloudFormation's short tags (`!Ref`,
//! `!GetAtt`, `!Sub`) that plain YAML readers refuse, and only two keys under `Metadata` matter.

use std::path::Path;

use super::declared::{normalize, DeclaredBuild, DeclaredHandler, Declarer};

/// Whether a file name is a SAM template.
pub fn is_template(name: &str) -> bool {
    matches!(name, "template.yaml" | "template.yml")
}

/// What one resource of the template says about its image.
#[derive(Default)]
struct Resource {
    dockerfile: Option<String>,
    context: Option<String>,
    command: Option<(String, usize)>,
    /// The line of the resource's `Metadata` key.
    line: usize,
}

/// The image builds a template at `path` declares: each image function's Dockerfile and
/// context, and the handler its `ImageConfig.Command` sets.
pub fn image_builds(path: &Path, text: &str) -> Vec<DeclaredBuild> {
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut builds = Vec::new();
    // The mapping keys above the current line, with their indents.
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut current: Option<Resource> = None;
    let mut finish = |resource: Option<Resource>| {
        if let Some(Resource {
            dockerfile,
            context: Some(context),
            command,
            line,
        }) = resource
        {
            let context = normalize(&dir.join(context));
            let dockerfile =
                normalize(&context.join(dockerfile.unwrap_or_else(|| "Dockerfile".into())));
            builds.push(DeclaredBuild {
                dockerfile,
                context,
                handler: command.map(|(text, line)| DeclaredHandler {
                    text,
                    key: "ImageConfig.Command",
                    file: path.to_path_buf(),
                    line,
                }),
                file: path.to_path_buf(),
                line,
                by: Declarer::SamTemplate,
            });
        }
    };
    for (index, line) in text.lines().enumerate() {
        let content = line.split(" #").next().unwrap_or(line).trim_end();
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = content.len() - trimmed.len();
        let item = trimmed
            .strip_prefix("- ")
            .or_else(|| (trimmed == "-").then_some(""));
        if item.is_none() {
            while stack.last().is_some_and(|(i, _)| *i >= indent) {
                stack.pop();
            }
        }
        let keys: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
        // A list item of `ImageConfig.Command`: its first one is the handler.
        if let Some(item) = item {
            if let (["Resources", _, "Properties", "ImageConfig", "Command"], Some(resource)) =
                (keys.as_slice(), current.as_mut())
            {
                if resource.command.is_none() {
                    resource.command = Some((unquote(item).to_string(), index + 1));
                }
            }
            continue;
        }
        let Some((key, value)) = trimmed.split_once(':') else {
            continue;
        };
        let key = unquote(key.trim()).to_string();
        let value = value.trim();
        if keys.len() == 1 && keys[0] == "Resources" {
            finish(current.take());
            current = Some(Resource::default());
        }
        if keys.is_empty() && key != "Resources" {
            finish(current.take());
        }
        if let Some(resource) = current.as_mut() {
            let scalar = unquote(value).to_string();
            match keys.as_slice() {
                ["Resources", _] if key == "Metadata" => resource.line = index + 1,
                ["Resources", _, "Metadata"] if !scalar.is_empty() => match key.as_str() {
                    "Dockerfile" => resource.dockerfile = Some(scalar),
                    "DockerContext" => resource.context = Some(scalar),
                    _ => {}
                },
                ["Resources", _, "Properties", "ImageConfig"] if key == "Command" => {
                    if let Some(first) = flow_first(value) {
                        resource.command = Some((first.to_string(), index + 1));
                    }
                }
                _ => {}
            }
        }
        if value.is_empty() {
            stack.push((indent, key));
        }
    }
    finish(current);
    builds
}

/// A scalar without its quotes.
fn unquote(text: &str) -> &str {
    let text = text.trim();
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .or_else(|| text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')))
        .unwrap_or(text)
}

/// The first item of a flow sequence (`["app.handler"]`), or a plain scalar.
fn flow_first(value: &str) -> Option<&str> {
    let inner = value.strip_prefix('[')?.strip_suffix(']')?;
    let first = unquote(inner.split(',').next()?);
    (!first.is_empty()).then_some(first)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn contexts_above_and_beside_the_dockerfile() {
        let text = "Transform: AWS::Serverless-2016-10-31\nResources:\n  Quote:\n    Type: AWS::Serverless::Function\n    Properties:\n      PackageType: Image\n      Role: !GetAtt QuoteRole.Arn\n    Metadata:\n      Dockerfile: src/quote/Dockerfile\n      DockerContext: .\n      DockerTag: v1\n  Hello:\n    Type: AWS::Serverless::Function\n    Metadata:\n      DockerContext: ./hello_world  # beside\n";
        let builds = image_builds(Path::new("/repo/template.yaml"), text);
        assert_eq!(
            builds,
            vec![
                DeclaredBuild {
                    dockerfile: "/repo/src/quote/Dockerfile".into(),
                    context: "/repo".into(),
                    handler: None,
                    file: "/repo/template.yaml".into(),
                    line: 8,
                    by: Declarer::SamTemplate,
                },
                DeclaredBuild {
                    dockerfile: "/repo/hello_world/Dockerfile".into(),
                    context: "/repo/hello_world".into(),
                    handler: None,
                    file: "/repo/template.yaml".into(),
                    line: 14,
                    by: Declarer::SamTemplate,
                },
            ]
        );
    }

    #[test]
    fn the_image_config_command_sets_the_handler() {
        let text = "Resources:\n  Api:\n    Type: AWS::Serverless::Function\n    Properties:\n      PackageType: Image\n      ImageConfig:\n        Command: [\"app.main.handler\"]\n    Metadata:\n      DockerContext: ./api\n  Worker:\n    Type: AWS::Serverless::Function\n    Properties:\n      ImageConfig:\n        Command:\n          - 'worker.run'\n          - extra\n    Metadata:\n      DockerContext: worker\n      Dockerfile: Dockerfile.lambda\nOutputs:\n  X:\n    Value: 1\n";
        let builds = image_builds(Path::new("/repo/template.yaml"), text);
        assert_eq!(builds.len(), 2, "{builds:?}");
        let handler = |b: &DeclaredBuild| b.handler.as_ref().map(|h| (h.text.clone(), h.line));
        assert_eq!(handler(&builds[0]), Some(("app.main.handler".into(), 7)));
        assert_eq!(builds[0].context, PathBuf::from("/repo/api"));
        assert_eq!(handler(&builds[1]), Some(("worker.run".into(), 15)));
        assert_eq!(
            builds[1].dockerfile,
            PathBuf::from("/repo/worker/Dockerfile.lambda")
        );
    }

    #[test]
    fn random_inputs_never_panic() {
        let words = [
            "Resources:",
            "Properties:",
            "ImageConfig:",
            "Command:",
            "- ",
            "[",
            "]",
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
