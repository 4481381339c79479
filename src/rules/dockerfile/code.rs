//! What Lambda runs of an image: the handler (from the deploying template, else the CMD), the
//! build context the image is built from, and the file the handler's module is in. Decided once
//! per Lambda image by discovery; the Dockerfile family reports what could not be located, the
//! Python family reads the module found, and the summary counts how much of each Lambda was read.

use std::path::{Path, PathBuf};

use super::declared::UntiedHandler;
use super::image_files::{Build, ImageFiles, ModuleFile};
use super::is_dotted_name;
use super::kind::ImageKind;
use super::parser::{Args, Dockerfile};
use crate::build_context::BuildContext;
use crate::policy::EffectivePolicy;

/// Where the handler comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlerOrigin {
    /// The image's `CMD`.
    Cmd,
    /// The template or module that deploys the image (`ImageConfig.Command`,
    /// `image_config { command }`), which overrides the CMD: the setting, the file (shown
    /// relative to the Dockerfile's directory) and the line.
    Deployment {
        key: &'static str,
        file: PathBuf,
        line: usize,
    },
}

/// The handler Lambda calls: `module.function`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handler {
    pub text: String,
    pub origin: HandlerOrigin,
}

impl Handler {
    /// `module` and `function` of `module.function`.
    pub fn parts(&self) -> Option<(&str, &str)> {
        self.text.rsplit_once('.')
    }

    /// Where it is set, for messages: `the CMD` or `` `ImageConfig.Command` in
    /// ../template.yaml:14 `` (relative to the Dockerfile's directory, so a message reads the
    /// same in every checkout).
    pub fn origin_text(&self, dockerfile_dir: &Path) -> String {
        match &self.origin {
            HandlerOrigin::Cmd => "the CMD".into(),
            HandlerOrigin::Deployment { key, file, line } => {
                let shown = path_from(dockerfile_dir, file);
                format!("`{key}` in {shown}:{line}")
            }
        }
    }
}

/// How much of a Lambda's code the gate reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeStatus {
    /// The module Lambda runs was located in the build context: it is read.
    Located,
    /// Part of the code could not be located: why.
    Partly(String),
    /// None of the Lambda's code could be located: why. `said_by` names the rule that already
    /// reports the cause at error (DKR006, DKR007), so it is not said twice.
    Unlocated {
        why: String,
        said_by: Option<&'static str>,
    },
}

/// A Lambda image's code, as the build and the deployment show it.
#[derive(Debug)]
pub struct LambdaCode {
    pub handler: Option<Handler>,
    /// The build context's directory.
    pub context: PathBuf,
    /// The module file Lambda runs (absolute), with the function the handler names (none for a
    /// Web Adapter's web server module).
    pub module: Option<(PathBuf, Option<String>)>,
    pub status: CodeStatus,
    /// The Dockerfile text the status is about (a COPY, a stage), when there is one.
    pub span: Option<crate::diagnostic::Span>,
    /// When the image sets no handler: one a deployment in the repository sets for an image
    /// function the gate could not tie to a Dockerfile, which may be this one's.
    pub untied: Option<UntiedHandler>,
}

/// The web server module a Web Adapter image's CMD runs: `uvicorn app.main:app`,
/// `gunicorn -b :8080 app.main:app`, `python -m app.server`, `python app/server.py`.
pub fn web_server_module(dockerfile: &Dockerfile) -> Option<String> {
    let cmd = super::final_cmd(dockerfile)?;
    let words: Vec<String> = match &cmd.args {
        Args::Exec(items) => items.iter().map(|w| w.text.clone()).collect(),
        Args::Shell(word) => word.text.split_whitespace().map(str::to_string).collect(),
    };
    let mut iter = words.iter().peekable();
    while let Some(word) = iter.next() {
        if word == "-m" {
            return iter.next().filter(|m| is_dotted_name(m)).cloned();
        }
        if let Some(path) = word.strip_suffix(".py") {
            let path = path.trim_start_matches("./");
            return is_dotted_name(&path.replace('/', ".")).then(|| path.replace('/', "."));
        }
        if let Some((module, attribute)) = word.split_once(':') {
            if is_dotted_name(module) && is_dotted_name(attribute.trim_end_matches("()")) {
                return Some(module.to_string());
            }
        }
    }
    None
}

/// `to` as a relative path from directory `from` (`../template.yaml`), `/`-separated.
pub fn path_from(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to_parts: Vec<_> = to.components().collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 {
        return to.to_string_lossy().replace('\\', "/");
    }
    let ups = std::iter::repeat_n("..".to_string(), from.len() - common);
    let downs = to_parts[common..]
        .iter()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    ups.chain(downs).collect::<Vec<_>>().join("/")
}

impl LambdaCode {
    /// Follows the build of `dockerfile` from `context` and locates the module `handler` (or the
    /// Web Adapter's web server) runs. `tried` says, for a message, which contexts were tried.
    /// With the code: the image's files as the build shows them.
    pub fn resolve(
        dockerfile: &Dockerfile,
        kind: &ImageKind,
        policy: &EffectivePolicy,
        build_context: &BuildContext,
        handler: Option<Handler>,
        tried: &str,
    ) -> (LambdaCode, ImageFiles) {
        let image = ImageFiles::simulate(&Build {
            dockerfile,
            policy,
            context: build_context,
        });
        let mut code = LambdaCode {
            handler,
            context: build_context
                .root()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            module: None,
            status: CodeStatus::Located,
            span: None,
            untied: None,
        };
        code.locate(
            &image,
            dockerfile,
            kind,
            policy.policy.dockerfile.task_root.trim_end_matches('/'),
            tried,
        );
        (code, image)
    }

    /// Locates in `image` the module the handler (or the Web Adapter's web server) runs.
    fn locate(
        &mut self,
        image: &ImageFiles,
        dockerfile: &Dockerfile,
        kind: &ImageKind,
        task_root: &str,
        tried: &str,
    ) {
        let roots = image.import_roots(task_root);
        let (module, function) = match (kind, &self.handler) {
            (ImageKind::WebAdapter, _) => match web_server_module(dockerfile) {
                Some(module) => (module, None),
                None => {
                    self.status = CodeStatus::Partly(
                        "its web server command names no Python module to follow".into(),
                    );
                    return;
                }
            },
            (_, handler) => match handler.as_ref().and_then(Handler::parts) {
                Some((module, function)) => (module.to_string(), Some(function.to_string())),
                None => {
                    self.status = unlocated("it sets no usable handler", Some("DKR006"));
                    return;
                }
            },
        };
        if let Some((span, source)) = image.missing_sources.first() {
            self.span = Some(span.clone());
            self.status = unlocated(
                &format!("the COPY source `{source}` is in no build context tried ({tried}), so the image is built from a context the gate cannot see"),
                None,
            );
            return;
        }
        let found = roots
            .iter()
            .map(|root| image.module_file(root, &module))
            .find(|found| *found != ModuleFile::Absent)
            .unwrap_or(ModuleFile::Absent);
        let task_root = roots[0].as_str();
        match found {
            ModuleFile::FromContext { source, .. } => {
                self.module = Some((self.context.join(source), function));
            }
            ModuleFile::Generated { image } => {
                self.status = unlocated(
                    &format!("its module `{image}` is written by the Dockerfile itself (a heredoc or an archive's member), not read from the build context"),
                    None,
                );
            }
            ModuleFile::Absent => {
                let unknown = image
                    .unknown
                    .iter()
                    .find(|u| !image.package_from_context(task_root, &module) || u.into.is_none());
                self.status = match unknown {
                    Some(unknown) => {
                        self.span = Some(unknown.span.clone());
                        unlocated(
                        &format!("its module `{module}` may come from where the gate cannot follow: {}", unknown.reason),
                        None,
                    )
                    }
                    None => unlocated(
                        &format!("its module `{module}` is not copied into the image"),
                        Some("DKR007"),
                    ),
                };
            }
        }
    }
}

fn unlocated(why: &str, said_by: Option<&'static str>) -> CodeStatus {
    CodeStatus::Unlocated {
        why: why.to_string(),
        said_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_web_server_module_a_web_adapter_image_runs() {
        let module = |cmd: &str| {
            let text = format!("FROM python:3.12-slim\nCMD {cmd}\n");
            web_server_module(&super::super::parser::parse(&text).expect("parses"))
        };
        assert_eq!(
            module("[\"uvicorn\", \"app.main:app\", \"--port\", \"8080\"]").as_deref(),
            Some("app.main")
        );
        assert_eq!(
            module("gunicorn -b :8080 api.wsgi:create_app()").as_deref(),
            Some("api.wsgi")
        );
        assert_eq!(
            module("[\"python\", \"-m\", \"app.server\"]").as_deref(),
            Some("app.server")
        );
        assert_eq!(
            module("[\"python\", \"./app/server.py\"]").as_deref(),
            Some("app.server")
        );
        assert_eq!(module("[\"./bootstrap\"]"), None);
    }

    #[test]
    fn paths_from_a_directory() {
        let from = |a: &str, b: &str| path_from(Path::new(a), Path::new(b));
        assert_eq!(from("/repo/api", "/repo/template.yaml"), "../template.yaml");
        assert_eq!(from("/repo", "/repo/src/app.py"), "src/app.py");
        assert_eq!(from("/repo/a/b", "/repo/c/d.hcl"), "../../c/d.hcl");
    }
}
