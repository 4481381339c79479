//! The units the gate judges, as discovery decides them and the families read them: a
//! workspace of image projects ([`Lambda`]: a directory with its Dockerfiles and the files
//! below it) and Terraform modules (the `.tf` and tfvars files of one directory). Below both
//! discovery, which builds them once, and the rules, which only read them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::build_context::BuildContext;
use crate::glob::{Glob, GlobSet, GlobSetBuilder, Options};
use crate::policy::Config;
use crate::rules::dockerfile::code::LambdaCode;
use crate::rules::dockerfile::image_files::{Build, ImageFiles};
use crate::rules::dockerfile::kind::ImageKind;
use crate::rules::dockerfile::parser::{self, Dockerfile, ParseError};

/// The kinds of file the gate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    Dockerfile,
    /// A Python module (`*.py`): read in the Lambda pass, where the handler is known.
    Python,
    /// Terraform configuration (`*.tf`) or the variable files Terraform loads itself: read
    /// per directory, as one Terraform module.
    Terraform,
    /// Anything else in the Lambda: part of its build context.
    Other,
}

impl FileKind {
    /// The kind of a file by its name, with the policy's Dockerfile names.
    pub fn with_names(name: &str, dockerfiles: &DockerfileNames) -> FileKind {
        let lower = name.to_ascii_lowercase();
        if dockerfiles.is_match(&lower) {
            FileKind::Dockerfile
        } else if lower.ends_with(".py") {
            FileKind::Python
        } else if crate::rules::terraform::is_terraform_file(&lower) {
            FileKind::Terraform
        } else {
            FileKind::Other
        }
    }
}

/// The file names (case-insensitive globs) that are Dockerfiles: the policy's
/// `dockerfile.names`, where a pattern starting with `!` excludes (so `Dockerfile.*` finds
/// `Dockerfile.lambda` but not a source file named `dockerfile.rs`). Each set is shared, so
/// every walker thread holds them for the price of two pointers.
#[derive(Debug, Clone)]
pub struct DockerfileNames {
    include: GlobSet,
    exclude: GlobSet,
}

impl DockerfileNames {
    pub fn new(patterns: &[String]) -> Result<DockerfileNames, globset::Error> {
        let mut include = GlobSetBuilder::new();
        let mut exclude = GlobSetBuilder::new();
        for pattern in patterns {
            let (set, pattern) = match pattern.strip_prefix('!') {
                Some(excluded) => (&mut exclude, excluded),
                None => (&mut include, pattern.as_str()),
            };
            set.add(Glob::new(
                pattern,
                Options {
                    case_insensitive: true,
                    literal_separator: true,
                },
            )?);
        }
        Ok(DockerfileNames {
            include: include.build()?,
            exclude: exclude.build()?,
        })
    }

    pub fn is_match(&self, name: &str) -> bool {
        self.include.is_match(name) && !self.exclude.is_match(name)
    }
}

#[derive(Debug, Clone)]
pub struct LambdaFile {
    /// Absolute path.
    pub path: PathBuf,
    /// `/`-separated path relative to the Lambda directory.
    pub relative: String,
    pub kind: FileKind,
}

/// One Dockerfile of a project, read once.
#[derive(Debug)]
pub struct Image {
    /// Index into the project's [`Lambda::files`].
    pub file: usize,
    /// The text, or why the file could not be read.
    pub text: Result<Arc<str>, crate::engine::Unreadable>,
    /// The parse: made by discovery to classify the project and locate its code, dropped when
    /// discovery is done with the project, made again when a family asks (see [`Image::parse`]).
    pub(crate) parsed: OnceLock<Result<Dockerfile, ParseError>>,
    /// The files the image holds as its build shows them, made when a rule asks
    /// ([`Lambda::image_files`]).
    files: OnceLock<ImageFiles>,
    /// The Python version its final base names (`python:3.12-slim`), when it names one.
    pub base_python: Option<String>,
    pub kind: ImageKind,
    /// The build context when it is not the project's directory (a SAM template's
    /// `DockerContext`, or a directory above that makes every COPY source exist).
    pub context: Option<BuildContext>,
    /// What Lambda runs of it: handler, module file, how much could be located. Lambda images
    /// only.
    pub code: Option<LambdaCode>,
}

impl Image {
    /// An image of a project's file `file` (an index into [`Lambda::files`]), with its text and,
    /// when it was parsed, the parse.
    pub(crate) fn new(
        file: usize,
        text: Result<Arc<str>, crate::engine::Unreadable>,
        parsed: Option<Result<Dockerfile, ParseError>>,
        kind: ImageKind,
        base_python: Option<String>,
    ) -> Image {
        Image {
            file,
            text,
            parsed: parsed.map(OnceLock::from).unwrap_or_default(),
            files: OnceLock::new(),
            base_python,
            kind,
            context: None,
            code: None,
        }
    }

    /// The parse of its text, `None` when it could not be read. Made once per unit: kept while
    /// the unit is checked and freed with it, not held for every Dockerfile of a large run (a
    /// parse takes about eight times its text's memory; parsing again costs about 8 µs).
    pub fn parse(&self) -> Option<&Result<Dockerfile, ParseError>> {
        let text = self.text.as_ref().ok()?;
        Some(self.parsed.get_or_init(|| parser::parse(text)))
    }

    /// Discovery located its code in `files`, built from `context` (`None`: the project's
    /// directory).
    pub(crate) fn located(
        &mut self,
        code: LambdaCode,
        files: ImageFiles,
        context: Option<BuildContext>,
    ) {
        self.code = Some(code);
        self.files = OnceLock::from(files);
        self.context = context;
    }

    /// Drops the parse, which can be made again from the text. The simulated files stay:
    /// simulating again costs more than they take.
    fn release(&mut self) {
        self.parsed = OnceLock::new();
    }
}

/// An image project: a directory with one or more Dockerfiles, and the files below it.
#[derive(Debug)]
pub struct Lambda {
    /// Absolute directory.
    pub dir: PathBuf,
    pub config: Arc<Config>,
    /// Sorted by path.
    pub files: Vec<LambdaFile>,
    pub(crate) build_context: OnceLock<BuildContext>,
    /// Its Dockerfiles, the image Lambda runs first.
    pub images: Vec<Image>,
    /// Whether another project lies below this one.
    pub has_nested: bool,
}

impl Lambda {
    /// Whether Lambda runs one of this project's images (so the Lambda rules apply).
    pub fn is_lambda(&self) -> bool {
        self.images.iter().any(|image| image.kind.is_lambda())
    }

    /// The images Lambda runs, in any language: each is one Lambda.
    pub fn lambda_images(&self) -> impl Iterator<Item = &Image> {
        self.images
            .iter()
            .filter(|image| image.kind.runs_on_lambda())
    }

    /// The build context of `image`: its own when it has one, else the project's directory.
    pub fn context_of<'a>(&'a self, image: &'a Image) -> &'a BuildContext {
        image
            .context
            .as_ref()
            .unwrap_or_else(|| self.build_context())
    }

    /// The Dockerfile of the image Lambda runs (else the project's first Dockerfile).
    pub fn main_dockerfile(&self) -> Option<&LambdaFile> {
        self.images.first().map(|image| &self.files[image.file])
    }

    /// The project directory's build context, computed once (reads `.dockerignore`).
    pub fn build_context(&self) -> &BuildContext {
        project_context(&self.build_context, &self.dir, &self.files)
    }

    /// The files `image` holds as its build shows them (COPY and ADD from its context, other
    /// stages, a known base), simulated once per unit; `None` when its Dockerfile does not parse.
    /// Simulated with the policy discovery used, so rules see what discovery located code in.
    pub fn image_files<'a>(&'a self, image: &'a Image) -> Option<&'a ImageFiles> {
        let Ok(dockerfile) = image.parse()? else {
            return None;
        };
        Some(image.files.get_or_init(|| {
            let policy = self.config.policy_for(&self.files[image.file].path);
            ImageFiles::simulate(&Build {
                dockerfile,
                policy: &policy,
                context: self.context_of(image),
            })
        }))
    }

    /// Discovery is done with the project: what can be made again cheaply (parses, the
    /// project's build context) is dropped, so a large run does not hold it for every unit until
    /// the unit is checked.
    pub(crate) fn release(&mut self) {
        self.images.iter_mut().for_each(Image::release);
        self.build_context = OnceLock::new();
    }
}

/// A project directory's build context, made once in `cell`: a free function so that discovery
/// can borrow it beside the project's images.
pub(crate) fn project_context<'a>(
    cell: &'a OnceLock<BuildContext>,
    dir: &Path,
    files: &[LambdaFile],
) -> &'a BuildContext {
    cell.get_or_init(|| BuildContext::for_dir(dir, files.iter().map(|f| f.relative.as_str())))
}

/// Something the walk could not do, for the engine to report.
#[derive(Debug, Clone)]
pub struct WalkProblem {
    pub path: PathBuf,
    pub message: String,
    /// For a loop: the directory the link leads back to.
    pub loop_target: Option<PathBuf>,
    /// The configuration in force where it happened.
    pub config: Arc<Config>,
}

/// A Terraform module: exactly the `.tf` and tfvars files of one directory.
#[derive(Debug)]
pub struct TerraformModule {
    /// Absolute directory.
    pub dir: PathBuf,
    pub config: Arc<Config>,
    /// Sorted by path; `relative` is the file name.
    pub files: Vec<LambdaFile>,
    /// Terraform state files in the directory that git does not ignore (`terraform.tfstate`,
    /// `*.tfstate.backup`): never read, only reported.
    pub state_files: Vec<PathBuf>,
    /// Beside each of `files`: its bytes, when discovery read it for the builds it declares
    /// (the family checks them as it checks a file it reads, and does not read it again).
    pub bytes: Vec<Option<Vec<u8>>>,
}

#[derive(Debug, Default)]
pub struct Workspace {
    /// Image projects (Lambdas and the other images beside them), sorted by directory.
    pub lambdas: Vec<Lambda>,
    /// Sorted by directory, each directory once.
    pub terraform_modules: Vec<TerraformModule>,
    pub problems: Vec<WalkProblem>,
    /// Paths named on the command line that hold nothing to check, with their configuration.
    pub empty_paths: Vec<(PathBuf, Arc<Config>)>,
    /// The directories walked so far.
    pub walk_roots: Vec<PathBuf>,
}

impl Workspace {
    /// Sorts the units and drops those found twice (overlapping paths: `check . app`).
    pub fn settle(&mut self) {
        self.lambdas.sort_by(|a, b| a.dir.cmp(&b.dir));
        self.lambdas.dedup_by(|a, b| a.dir == b.dir);
        self.terraform_modules.sort_by(|a, b| a.dir.cmp(&b.dir));
        self.terraform_modules.dedup_by(|a, b| a.dir == b.dir);
        let nested: Vec<bool> = (0..self.lambdas.len())
            .map(|i| {
                self.lambdas
                    .get(i + 1)
                    .is_some_and(|next| next.dir.starts_with(&self.lambdas[i].dir))
            })
            .collect();
        for (lambda, nested) in self.lambdas.iter_mut().zip(nested) {
            lambda.has_nested = nested;
        }
    }

    /// How many projects are Lambdas.
    pub fn lambda_count(&self) -> usize {
        self.lambdas.iter().filter(|l| l.is_lambda()).count()
    }
}
