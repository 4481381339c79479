//! Builds declared outside the Dockerfile: the SAM template, the Terraform module or the build
//! command that names a Dockerfile, the context it is built from and, for the deploying
//! template or module, the handler it sets. Discovery reads them once for a repository and
//! follows each Lambda image's build from what they declare before it tries any context itself.

use std::path::{Path, PathBuf};

/// Who declares a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declarer {
    /// A SAM template's `Metadata.DockerContext` / `Metadata.Dockerfile`.
    SamTemplate,
    /// A Terraform `docker_image` resource or a `docker-build` module call.
    Terraform,
    /// A `docker build` command line in a Makefile, Jenkinsfile, CI workflow or script.
    BuildCommand,
}

/// The handler a deploying template or module sets (it overrides the image's CMD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredHandler {
    pub text: String,
    /// The setting, as a message names it: `ImageConfig.Command`, `image_config.command`,
    /// `image_config_command`.
    pub key: &'static str,
    /// The file that sets it, and the line.
    pub file: PathBuf,
    pub line: usize,
}

/// One Dockerfile's build as a file outside it declares it. Paths are absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredBuild {
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    pub handler: Option<DeclaredHandler>,
    /// The file that declares it, and the line.
    pub file: PathBuf,
    pub line: usize,
    pub by: Declarer,
}

/// A handler a deployment sets for an image function whose image the gate could not tie to a
/// Dockerfile (its `image_uri` comes from a variable, another repository, a data source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntiedHandler {
    pub handler: DeclaredHandler,
    /// Why it could not be tied: the function's image as written.
    pub why: String,
}

/// What a repository's templates, modules and scripts declare.
#[derive(Debug, Default)]
pub struct Declared {
    pub builds: Vec<DeclaredBuild>,
    pub untied: Vec<UntiedHandler>,
}

impl Declared {
    /// In the order of the files and lines that declare them, so that the first of several is
    /// the same in every run.
    pub fn sorted(mut self) -> Self {
        self.builds
            .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        self.untied.sort_by(|a, b| {
            (&a.handler.file, a.handler.line).cmp(&(&b.handler.file, b.handler.line))
        });
        self
    }

    /// The declared builds of `dockerfile`: templates and modules first (they deploy it, so
    /// their context is the one Lambda's image is made from), then build commands.
    pub fn builds_of<'a>(
        &'a self,
        dockerfile: &'a Path,
    ) -> impl Iterator<Item = &'a DeclaredBuild> {
        let deploying = self
            .builds
            .iter()
            .filter(move |b| b.dockerfile == dockerfile && b.by != Declarer::BuildCommand);
        let commands = self
            .builds
            .iter()
            .filter(move |b| b.dockerfile == dockerfile && b.by == Declarer::BuildCommand);
        deploying.chain(commands)
    }

    /// The handler a template or module that deploys `dockerfile` sets.
    pub fn handler_of<'a>(&'a self, dockerfile: &'a Path) -> Option<&'a DeclaredHandler> {
        self.builds_of(dockerfile)
            .find_map(|build| build.handler.as_ref())
    }

    /// Handlers set for images the gate could not tie, in the repository at `boundary`.
    pub fn untied_in<'a>(&'a self, boundary: &'a Path) -> impl Iterator<Item = &'a UntiedHandler> {
        self.untied
            .iter()
            .filter(move |untied| untied.handler.file.starts_with(boundary))
    }
}

/// `a/./b/../c` -> `a/c`, without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
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
