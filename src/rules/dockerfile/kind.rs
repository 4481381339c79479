//! What an image is: a Lambda (handler CMD), a Lambda through the Web Adapter (a web server
//! CMD), a variant of a Lambda's image (`Dockerfile.test`), or something else (a CI image, an
//! ECS service, a CDK bundling image). Decided from what the Dockerfile says, once, when
//! discovery hands the unit over; only Lambda images get the Lambda rules.

use super::parser::{Args, Base, Dockerfile};
use crate::policy::EffectivePolicy;

/// What a Dockerfile builds, and why the gate thinks so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageKind {
    /// An image Lambda runs with a handler `CMD ["module.function"]`.
    Lambda(String),
    /// A Lambda that runs a web server behind the Lambda Web Adapter extension: no handler.
    WebAdapter,
    /// A variant of the Lambda's image (`Dockerfile.test`, `Dockerfile.dev`): not what Lambda runs.
    Variant(String),
    /// A Lambda in another language (a Java, Node.js or .NET base or handler): it is not judged
    /// as a Python Lambda.
    NotPython(String),
    /// Not a Lambda image: no Lambda rule applies.
    NotLambda(String),
}

impl ImageKind {
    /// Whether Lambda runs this image (so the Lambda rules apply).
    pub fn is_lambda(&self) -> bool {
        matches!(self, ImageKind::Lambda(_) | ImageKind::WebAdapter)
    }

    /// Whether Lambda runs this image, in any language (so it counts as a Lambda).
    pub fn runs_on_lambda(&self) -> bool {
        self.is_lambda() || matches!(self, ImageKind::NotPython(_))
    }

    /// Whether Lambda's entrypoint hands the CMD to the runtime as a handler.
    pub fn expects_handler(&self) -> bool {
        matches!(self, ImageKind::Lambda(_))
    }
}

/// Names whose suffix or prefix marks a variant of a project's image, not the image Lambda runs.
const VARIANTS: &[&str] = &[
    "test",
    "tests",
    "testing",
    "dev",
    "develop",
    "development",
    "local",
    "ci",
    "debug",
    "devcontainer",
    "build",
    "builder",
];

/// The variant a Dockerfile name declares (`Dockerfile.test`, `dev.Dockerfile`), if any.
pub fn variant_of(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let qualifier = [
        "dockerfile.",
        "dockerfile-",
        "dockerfile_",
        "containerfile.",
        "containerfile-",
        "containerfile_",
    ]
    .iter()
    .find_map(|prefix| lower.strip_prefix(prefix))
    .or_else(|| lower.strip_suffix(".dockerfile"))
    .or_else(|| lower.strip_suffix(".containerfile"))?;
    VARIANTS
        .iter()
        .find(|v| qualifier == **v || qualifier.split(['.', '-', '_']).any(|part| part == **v))
        .copied()
}

/// Repositories that are AWS's own Lambda base images, which Lambda runs.
pub fn is_aws_lambda_runtime(repository: &str) -> bool {
    repository.starts_with("public.ecr.aws/lambda/")
        || repository.starts_with("docker.io/amazon/aws-lambda-")
}

/// Images that build a package rather than run one: AWS SAM's build images (which CDK bundling
/// and Terraform's `build_in_docker` use too) and the older lambci build images.
fn is_build_base(repository: &str, tag: Option<&str>) -> bool {
    repository.starts_with("public.ecr.aws/sam/build-")
        || repository.starts_with("docker.io/amazon/aws-sam-cli-build-image-")
        || (repository == "docker.io/lambci/lambda" && tag.is_some_and(|t| t.starts_with("build")))
}

/// The runtime of an AWS Lambda base that is not Python (`public.ecr.aws/lambda/java`).
fn other_runtime(repository: &str) -> Option<&str> {
    let runtime = repository
        .strip_prefix("public.ecr.aws/lambda/")
        .or_else(|| repository.strip_prefix("docker.io/amazon/aws-lambda-"))?;
    (!runtime.starts_with("python")).then_some(runtime)
}

/// Decides what `dockerfile` builds. `marked` says the policy names it a Lambda image
/// (`dockerfile.lambda-images`); `variant` is the variant its file name declares.
pub fn classify(
    dockerfile: &Dockerfile,
    policy: &EffectivePolicy,
    marked: bool,
    variant: Option<&str>,
) -> ImageKind {
    if let Some(variant) = variant.filter(|_| !marked) {
        return ImageKind::Variant(variant.to_string());
    }
    if web_adapter(dockerfile) {
        return ImageKind::WebAdapter;
    }
    if marked {
        return ImageKind::Lambda("the policy's `dockerfile.lambda-images` names it".into());
    }
    // What the image is for decides first, the same whether or not its base resolves: an
    // image that only produces a package is not what Lambda runs.
    if let Some(why) = builds_a_package(dockerfile) {
        return ImageKind::NotLambda(why);
    }
    if let Ok(handler) = super::handler(dockerfile) {
        if handler.text.contains("::") {
            return ImageKind::NotPython(format!(
                "its handler `{}` is a Java or .NET handler",
                handler.text
            ));
        }
    }
    let chain = super::final_chain(dockerfile);
    if let Some(&root) = chain.last() {
        match &dockerfile.stages[root].base {
            Base::Image(reference) => {
                let repository = reference.repository();
                if is_build_base(&repository, reference.tag.as_deref()) {
                    return ImageKind::NotLambda(format!(
                        "it builds on `{repository}`, an image that builds Lambda packages rather than runs them"
                    ));
                }
                if let Some(runtime) = other_runtime(&repository) {
                    return ImageKind::NotPython(format!(
                        "it builds on AWS's `{runtime}` Lambda base"
                    ));
                }
                if policy.dockerfile.release_bases.is_match(&repository) {
                    return ImageKind::Lambda(format!(
                        "it builds on the team's base `{repository}`"
                    ));
                }
                if is_aws_lambda_runtime(&repository) {
                    return ImageKind::Lambda(format!(
                        "it builds on AWS's Lambda base `{repository}`"
                    ));
                }
            }
            // An unresolved base is judged by DKR003; the rest of the Dockerfile decides.
            Base::Unresolved(_) | Base::Scratch | Base::Stage(_) => {}
        }
    }
    // The runtime interface client or its emulator, anywhere in the stages the image is made of.
    for &index in &chain {
        let stage = &dockerfile.stages[index];
        for instruction in dockerfile.body(stage) {
            let text = match &instruction.args {
                Args::Shell(word) => word.text.as_str(),
                Args::Exec(_) => "",
            };
            let exec: String = match &instruction.args {
                Args::Exec(items) => items
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                Args::Shell(_) => String::new(),
            };
            for haystack in [text, exec.as_str()] {
                if haystack.contains("awslambdaric") {
                    return ImageKind::Lambda(
                        "it runs the Lambda runtime interface client (`awslambdaric`)".into(),
                    );
                }
                if haystack.contains("aws-lambda-rie") {
                    return ImageKind::Lambda(
                        "it runs the Lambda runtime interface emulator".into(),
                    );
                }
            }
        }
    }
    if super::handler(dockerfile).is_ok() {
        return ImageKind::Lambda("its CMD names a handler (`module.function`)".into());
    }
    let base = chain
        .last()
        .map(|&root| {
            let stage = &dockerfile.stages[root];
            stage
                .image_text
                .clone()
                .unwrap_or_else(|| stage.image.text.clone())
        })
        .unwrap_or_default();
    ImageKind::NotLambda(format!(
        "it builds on `{base}`, has no Lambda runtime interface client, no Web Adapter and no handler CMD"
    ))
}

/// Why an image only produces a package (a zip, a CDK asset, a layer) for Lambda, if it does:
/// its final CMD echoes or copies into an output directory, or it writes CDK's `/asset-output`.
fn builds_a_package(dockerfile: &Dockerfile) -> Option<String> {
    if let Some(cmd) = super::final_cmd(dockerfile) {
        let cmd_words: Vec<String> = match &cmd.args {
            Args::Exec(items) => items.iter().map(|w| w.text.clone()).collect(),
            Args::Shell(word) => word.text.split_whitespace().map(str::to_string).collect(),
        };
        let program = cmd_words
            .first()
            .map(|w| w.rsplit('/').next().unwrap_or(w).to_string())
            .unwrap_or_default();
        if matches!(program.as_str(), "echo" | "true" | "zip" | "cp" | "rsync") {
            return Some(format!(
                "its CMD runs `{program}`: it builds a package or asset rather than serving requests"
            ));
        }
    }
    let mentions_output = dockerfile.instructions.iter().any(|instruction| {
        let text = match &instruction.args {
            Args::Shell(word) => word.text.clone(),
            Args::Exec(items) => items
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        };
        text.contains("/asset-output")
            || (matches!(instruction.keyword.as_str(), "WORKDIR" | "VOLUME")
                && text.trim_end_matches('/').ends_with("/asset"))
    });
    mentions_output.then(|| {
        "it writes a CDK bundling output (`/asset-output`, `/asset`): it builds an asset rather than serving requests".to_string()
    })
}

/// Whether any stage copies in the Lambda Web Adapter extension.
fn web_adapter(dockerfile: &Dockerfile) -> bool {
    dockerfile.instructions.iter().any(|instruction| {
        if instruction.keyword != "COPY" && instruction.keyword != "ADD" {
            return false;
        }
        let from_adapter = instruction
            .flag("from")
            .and_then(|f| f.value.as_ref())
            .is_some_and(|v| v.text.contains("aws-lambda-adapter"));
        let words: Vec<&str> = match &instruction.args {
            Args::Exec(items) => items.iter().map(|w| w.text.as_str()).collect(),
            Args::Shell(_) => instruction.words.iter().map(|w| w.text.as_str()).collect(),
        };
        let into_extensions = words.last().is_some_and(|dest| {
            dest.trim_end_matches('/')
                .ends_with("/opt/extensions/lambda-adapter")
        });
        from_adapter || into_extensions
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{default_policy, EffectivePolicy};

    fn kind(text: &str) -> ImageKind {
        let policy = EffectivePolicy::compile(default_policy()).expect("policy");
        let dockerfile = super::super::parser::parse(text).expect("parses");
        classify(&dockerfile, &policy, false, None)
    }

    #[test]
    fn lambda_bases_runtime_clients_and_handlers_make_a_lambda() {
        assert!(matches!(
            kind("FROM public.ecr.aws/lambda/python:3.12\nCOPY app.py ./\n"),
            ImageKind::Lambda(_)
        ));
        assert!(matches!(
            kind("FROM python:3.12-slim\nRUN pip install awslambdaric\nENTRYPOINT [\"python\", \"-m\", \"awslambdaric\"]\nCMD [\"app.handler\"]\n"),
            ImageKind::Lambda(_)
        ));
        assert!(matches!(
            kind("FROM python:3.12-slim\nCMD [\"app.handler\"]\n"),
            ImageKind::Lambda(_)
        ));
    }

    #[test]
    fn images_that_build_packages_and_other_languages_are_not_python_lambdas() {
        for text in [
            "FROM public.ecr.aws/sam/build-python3.12\nRUN pip install -t /out x\n",
            "FROM lambci/lambda:build-python3.8\nRUN zip -r /out/f.zip .\n",
            "ARG IMAGE\nFROM $IMAGE\nCMD [\"echo\", \"ready\"]\n",
            "FROM public.ecr.aws/lambda/python:3.12\nWORKDIR /asset-input\nRUN cp -r . /asset-output\n",
        ] {
            assert!(matches!(kind(text), ImageKind::NotLambda(_)), "{text}");
        }
        assert!(matches!(
            kind("FROM public.ecr.aws/lambda/java:21\nCMD [\"com.example.Handler::handleRequest\"]\n"),
            ImageKind::NotPython(_)
        ));
        assert!(matches!(
            kind("FROM public.ecr.aws/lambda/nodejs:20\nCMD [\"index.handler\"]\n"),
            ImageKind::NotPython(_)
        ));
    }

    #[test]
    fn web_adapter_and_other_images() {
        assert_eq!(
            kind("FROM python:3.12-slim\nCOPY --from=public.ecr.aws/awsguru/aws-lambda-adapter:0.8.4 /lambda-adapter /opt/extensions/lambda-adapter\nCMD [\"uvicorn\", \"app:app\"]\n"),
            ImageKind::WebAdapter
        );
        assert!(matches!(
            kind("FROM python:3.12-slim\nCMD [\"gunicorn\", \"app:app\"]\n"),
            ImageKind::NotLambda(_)
        ));
        assert!(matches!(
            kind("FROM node:20\nRUN npm ci\n"),
            ImageKind::NotLambda(_)
        ));
    }

    #[test]
    fn variant_names() {
        assert_eq!(variant_of("Dockerfile.test"), Some("test"));
        assert_eq!(variant_of("dev.Dockerfile"), Some("dev"));
        assert!(variant_of("Dockerfile.local-dev").is_some());
        assert_eq!(variant_of("Dockerfile.lambda"), None);
        assert_eq!(variant_of("Dockerfile-lambda"), None);
        assert_eq!(variant_of("Dockerfile_test"), Some("test"));
        assert_eq!(variant_of("Dockerfile"), None);
        assert_eq!(variant_of("lambda.Dockerfile"), None);
    }
}
