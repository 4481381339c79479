//! Terraform that builds a Lambda image and deploys it in one module: a `docker_image` resource
//! (`build { context, dockerfile }`, `build { path }` before provider 3) or a call of the
//! `docker-build` module (`source_path`, `docker_file_path`) names the Dockerfile and its
//! context; an `aws_lambda_function` (`image_config { command }`) or a Lambda module call
//! (`image_config_command`) whose `image_uri` refers to that build sets the handler.
//!
//! A build is tied to a function only through references Terraform itself follows (directly,
//! through a local, or through one resource such as `docker_registry_image`), and only when the
//! Dockerfile it names exists. A handler set for a function whose image cannot be tied is kept
//! as untied: the gate does not guess which Dockerfile it belongs to, it says so.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use hcl::edit::expr::Expression;
use hcl::edit::structure::{Attribute, Block};
use hcl::edit::Span as _;

use super::declared::{normalize, DeclaredBuild, DeclaredHandler, Declarer, UntiedHandler};
use crate::rules::terraform::eval::references_in;
use crate::rules::terraform::{module_name, module_path, nested, Module, TfFile, Value};

/// Whether a Terraform file's text may declare an image build or an image function's handler:
/// only such modules are parsed during discovery.
pub fn may_declare(text: &str) -> bool {
    text.contains("image_config") || text.contains("docker_image") || text.contains("docker-build")
}

/// The builds and handlers one Terraform module declares. `files` are its configuration files
/// with their text; a file that does not parse is left to TF001.
pub fn declared(
    dir: &Path,
    files: &[(PathBuf, String)],
) -> (Vec<DeclaredBuild>, Vec<UntiedHandler>) {
    let parsed: Vec<(TfFile, &str)> = files
        .iter()
        .filter_map(|(path, text)| Some((TfFile::parse(path.clone(), text).ok()?, text.as_str())))
        .collect();
    let (tf_files, texts): (Vec<TfFile>, Vec<&str>) = parsed.into_iter().unzip();
    let module = Module::new(dir, &tf_files);
    let line_of = |file: usize, offset: usize| {
        texts[file][..offset.min(texts[file].len())]
            .matches('\n')
            .count()
            + 1
    };
    let builds = builds(&module, &line_of);
    let mut declared: Vec<DeclaredBuild> = builds.iter().map(|(_, build)| build.clone()).collect();
    let mut untied = Vec::new();
    for function in functions(&module) {
        let Some((text, attribute)) = function.handler else {
            continue;
        };
        let handler = DeclaredHandler {
            text,
            key: function.key,
            file: tf_files[function.file].path.clone(),
            line: line_of(function.file, attribute.span().map_or(0, |s| s.start)),
        };
        let references = image_references(&module, function.image_uri);
        let tied: Vec<&DeclaredBuild> = builds
            .iter()
            .filter(|(name, _)| references.contains(name))
            .map(|(_, build)| build)
            .collect();
        match tied.as_slice() {
            [build] => declared.push(DeclaredBuild {
                handler: Some(handler),
                ..(*build).clone()
            }),
            _ => untied.push(UntiedHandler {
                handler,
                why: match function.image_uri {
                    Some(expr) if tied.is_empty() => {
                        format!("its `image_uri` is `{}`", expr.to_string().trim())
                    }
                    Some(_) => "its `image_uri` refers to several image builds".into(),
                    None => "it sets no `image_uri`".into(),
                },
            }),
        }
    }
    (declared, untied)
}

/// The image builds of a module, each with the name other blocks refer to it by
/// (`docker_image.app`, `module.image`).
fn builds(
    module: &Module<'_>,
    line_of: &dyn Fn(usize, usize) -> usize,
) -> Vec<(String, DeclaredBuild)> {
    let mut found = Vec::new();
    let mut add = |name: String,
                   file: usize,
                   block: &Block,
                   context: Option<&Expression>,
                   dockerfile: Option<&Expression>| {
        let Some(context) = context.and_then(|expr| path_value(module, expr)) else {
            return;
        };
        let context = normalize(&module.dir.join(context));
        let dockerfile = match dockerfile.map(|expr| path_value(module, expr)) {
            None => "Dockerfile".to_string(),
            Some(Some(path)) => path,
            // A Dockerfile the gate cannot evaluate is not guessed.
            Some(None) => return,
        };
        let dockerfile = normalize(&context.join(dockerfile));
        if !crate::fsio::is_file(&dockerfile) {
            return;
        }
        found.push((
            name,
            DeclaredBuild {
                dockerfile,
                context,
                handler: None,
                file: module.files[file].path.clone(),
                line: line_of(file, block.span().map_or(0, |s| s.start)),
                by: Declarer::Terraform,
            },
        ));
    };
    for (file, block) in module.resources("docker_image") {
        let (Some(name), Some(build)) = (block.labels.get(1), nested(&block.body, "build")) else {
            continue;
        };
        let context = value(build, "context").or_else(|| value(build, "path"));
        add(
            format!("docker_image.{}", name.as_str()),
            file,
            block,
            context,
            value(build, "dockerfile"),
        );
    }
    for (file, block) in module.blocks("module") {
        let source = value(block, "source")
            .and_then(|expr| module.eval(expr).as_str().map(|s| s.into_owned()));
        if source.as_deref().map(module_name) != Some("docker-build") {
            continue;
        }
        let Some(name) = block.labels.first() else {
            continue;
        };
        add(
            format!("module.{}", name.as_str()),
            file,
            block,
            value(block, "source_path"),
            value(block, "docker_file_path"),
        );
    }
    found
}

/// An image function: its handler setting, if any, and its `image_uri`.
struct Function<'a> {
    file: usize,
    key: &'static str,
    handler: Option<(String, &'a Attribute)>,
    image_uri: Option<&'a Expression>,
}

fn functions<'a>(module: &Module<'a>) -> Vec<Function<'a>> {
    let mut functions = Vec::new();
    for (file, block) in module.resources("aws_lambda_function") {
        let command = nested(&block.body, "image_config")
            .and_then(|config| config.body.get_attribute("command"));
        functions.push(Function {
            file,
            key: "image_config.command",
            handler: command.and_then(|attribute| first_string(module, attribute)),
            image_uri: value(block, "image_uri"),
        });
    }
    for (file, block) in module.lambda_module_calls() {
        let command = block.body.get_attribute("image_config_command");
        functions.push(Function {
            file: *file,
            key: "image_config_command",
            handler: command.and_then(|attribute| first_string(module, attribute)),
            image_uri: value(block, "image_uri"),
        });
    }
    functions
}

fn value<'a>(block: &'a Block, key: &str) -> Option<&'a Expression> {
    block
        .body
        .get_attribute(key)
        .map(|attribute| &attribute.value)
}

/// The handler a `command` list sets: its first item, when it is known.
fn first_string<'a>(
    module: &Module<'_>,
    attribute: &'a Attribute,
) -> Option<(String, &'a Attribute)> {
    match module.eval(&attribute.value) {
        Value::List(items) => match items.first() {
            Some(Value::String(first)) => Some((first.clone(), attribute)),
            _ => None,
        },
        _ => None,
    }
}

/// A path argument: a known string, `${path.module}` being the module's directory, through
/// `abspath(...)`.
fn path_value(module: &Module<'_>, expr: &Expression) -> Option<String> {
    if let Expression::FuncCall(call) = expr {
        if call.name.name.as_str() == "abspath" && call.args.len() == 1 {
            return call
                .args
                .iter()
                .next()
                .and_then(|arg| path_value(module, arg));
        }
    }
    module_path(&module.eval(expr), module.dir)
}

/// The blocks an `image_uri` refers to (`docker_image.app`, `module.image`), directly, through
/// locals, or through one resource of the module it refers to (a `docker_registry_image` that
/// pushes the built image).
fn image_references(module: &Module<'_>, image_uri: Option<&Expression>) -> BTreeSet<String> {
    let Some(expr) = image_uri else {
        return BTreeSet::new();
    };
    let mut names = references(module, expr, 0);
    let through: Vec<String> = names
        .iter()
        .filter(|n| !n.starts_with("module."))
        .cloned()
        .collect();
    for name in through {
        let Some((kind, label)) = name.split_once('.') else {
            continue;
        };
        let resource = module.blocks("resource").find(|(_, block)| {
            block.labels.first().is_some_and(|l| l.as_str() == kind)
                && block.labels.get(1).is_some_and(|l| l.as_str() == label)
        });
        if let Some((_, block)) = resource {
            for attribute in block.body.attributes() {
                names.extend(references(module, &attribute.value, 0));
            }
        }
    }
    names
}

/// `kind.name` of each resource and `module.name` of each module an expression refers to,
/// following locals.
fn references(module: &Module<'_>, expr: &Expression, depth: usize) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for path in references_in(expr) {
        let [root, attribute, ..] = path.as_slice() else {
            continue;
        };
        match root.as_str() {
            "local" if depth < 8 => {
                if let Some(local) = module.local(attribute) {
                    names.extend(references(module, local, depth + 1));
                }
            }
            "var" | "local" | "path" | "data" | "each" | "count" | "self" | "terraform" => {}
            _ => {
                names.insert(format!("{root}.{attribute}"));
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declare(
        files: &[(&str, &str)],
        tf: &str,
    ) -> (Vec<DeclaredBuild>, Vec<UntiedHandler>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        let infra = dir.path().join("infra");
        std::fs::create_dir_all(&infra).expect("mkdir");
        let (builds, untied) = declared(&infra, &[(infra.join("main.tf"), tf.to_string())]);
        (builds, untied, dir)
    }

    #[test]
    fn a_docker_image_resource_ties_its_build_to_the_function_that_runs_it() {
        let tf = "locals {\n  src = \"${path.module}/../lambda\"\n}\n\nresource \"docker_image\" \"app\" {\n  name = \"app\"\n  build {\n    context    = local.src\n    dockerfile = \"Dockerfile.lambda\"\n  }\n}\n\nresource \"docker_registry_image\" \"app\" {\n  name = docker_image.app.name\n}\n\nresource \"aws_lambda_function\" \"app\" {\n  function_name = \"app\"\n  package_type  = \"Image\"\n  image_uri     = docker_registry_image.app.name\n  image_config {\n    command = [\"app.main.handler\"]\n  }\n}\n";
        let (builds, untied, dir) = declare(&[("lambda/Dockerfile.lambda", "FROM x\n")], tf);
        assert!(untied.is_empty(), "{untied:?}");
        let with_handler: Vec<_> = builds.iter().filter(|b| b.handler.is_some()).collect();
        assert_eq!(with_handler.len(), 1, "{builds:?}");
        let build = with_handler[0];
        assert_eq!(build.context, dir.path().join("lambda"));
        assert_eq!(
            build.dockerfile,
            dir.path().join("lambda/Dockerfile.lambda")
        );
        let handler = build.handler.as_ref().expect("handler");
        assert_eq!(
            (handler.text.as_str(), handler.key, handler.line),
            ("app.main.handler", "image_config.command", 22)
        );
    }

    #[test]
    fn the_docker_build_module_and_the_lambda_module() {
        let tf = "module \"image\" {\n  source      = \"terraform-aws-modules/lambda/aws//modules/docker-build\"\n  source_path = \"../src\"\n}\n\nmodule \"lambda\" {\n  source               = \"terraform-aws-modules/lambda/aws\"\n  package_type         = \"Image\"\n  image_uri            = module.image.image_uri\n  image_config_command = [\"handler.run\"]\n}\n";
        let (builds, untied, dir) = declare(&[("src/Dockerfile", "FROM x\n")], tf);
        assert!(untied.is_empty(), "{untied:?}");
        let build = builds.iter().find(|b| b.handler.is_some()).expect("tied");
        assert_eq!(build.context, dir.path().join("src"));
        assert_eq!(
            build.handler.as_ref().map(|h| h.key),
            Some("image_config_command")
        );
    }

    #[test]
    fn an_image_from_elsewhere_is_untied_and_a_missing_dockerfile_is_not_guessed() {
        let tf = "variable \"image_uri\" {}\n\nresource \"docker_image\" \"gone\" {\n  name = \"x\"\n  build {\n    context = \"../nowhere\"\n  }\n}\n\nresource \"aws_lambda_function\" \"app\" {\n  image_uri = var.image_uri\n  image_config {\n    command = [\"app.handler\"]\n  }\n}\n";
        let (builds, untied, _dir) = declare(&[], tf);
        assert!(builds.is_empty(), "{builds:?}");
        assert_eq!(untied.len(), 1);
        assert_eq!(untied[0].why, "its `image_uri` is `var.image_uri`");
        assert_eq!(untied[0].handler.text, "app.handler");
    }
}
