//! The Terraform family: each directory of `*.tf` files is a Terraform module, parsed once with
//! hcl-rs (its span-keeping `hcl::edit` parser) and checked as a whole, so a rule sees the
//! module's variables, locals and every resource together. Values are evaluated statically
//! ([`eval`]); what cannot be is reported as undecided, never guessed.

pub mod ecr_settings;
pub mod eval;
pub mod functions;
pub mod settings;
pub mod tf001_syntax_error;
pub mod tf002_lambda_module_source;
pub mod tf003_image_not_by_digest;
pub mod tf004_architectures;
pub mod tf005_alarms_disabled;
pub mod tf006_log_retention;
pub mod tf007_tracing_off;
pub mod tf008_ecr_tag_mutability;
pub mod tf009_ecr_scan_on_push;
pub mod tf010_ecr_lifecycle_policy;
pub mod tf011_variable_undocumented;
pub mod tf012_version_unpinned;
pub mod tf013_duplicate_object_key;
pub mod tf014_literal_secret;
pub mod tf015_state_file_committed;
pub mod tf016_ecr_lifecycle_rules;
pub mod unit;

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use hcl::edit::expr::Expression;
use hcl::edit::structure::{Attribute, Block, Body};
use hcl::edit::Span as _;

use crate::diagnostic::Finding;
use crate::policy::EffectivePolicy;
use crate::rules::{registry, Check, Rule};

pub use eval::{eval, Piece, Scope, Value};

/// One parsed Terraform file.
pub struct TfFile {
    pub path: std::path::PathBuf,
    pub body: Body,
    /// A variable definitions file (`*.tfvars`): values, not configuration.
    pub is_vars: bool,
    /// Object keys defined twice in one object (the later definition wins, as in Terraform).
    pub duplicate_keys: Vec<Range<usize>>,
}

/// Whether a file name is one Terraform reads: configuration (`*.tf`) or the variable
/// definitions it loads by itself (`terraform.tfvars`, `*.auto.tfvars`).
pub fn is_terraform_file(name: &str) -> bool {
    name.ends_with(".tf") || name == "terraform.tfvars" || name.ends_with(".auto.tfvars")
}

/// A parse failure, with the byte offset it happened at.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub span: Range<usize>,
    pub message: String,
}

/// Parses one file's text.
pub fn parse(text: &str) -> Result<Body, ParseError> {
    parse_file(text).map(|(body, _)| body)
}

/// Parses one file's text, with the spans of object keys it defines twice.
pub fn parse_file(text: &str) -> Result<(Body, Vec<Range<usize>>), ParseError> {
    // Start from a clean record: a failed parse may have left entries behind.
    hcl::edit::parser::take_duplicate_keys();
    let parsed = hcl::edit::parser::parse_body(text);
    let duplicates = hcl::edit::parser::take_duplicate_keys();
    parsed.map(|body| (body, duplicates)).map_err(|error| {
        let start = crate::diagnostic::floor_char_boundary(text, error.location().offset());
        let end = text[start..]
            .chars()
            .next()
            .map_or(start, |c| start + c.len_utf8());
        let message = error.message().trim().replace('\n', "; ");
        ParseError {
            span: start..end,
            message: if message.is_empty() {
                "invalid HCL".into()
            } else {
                message
            },
        }
    })
}

impl TfFile {
    /// Parses one file of a module; `*.tfvars` files hold values, not configuration.
    pub fn parse(path: std::path::PathBuf, text: &str) -> Result<TfFile, ParseError> {
        let (body, duplicate_keys) = parse_file(text)?;
        let is_vars = path.extension().is_some_and(|e| e == "tfvars");
        Ok(TfFile {
            path,
            body,
            is_vars,
            duplicate_keys,
        })
    }
}

/// A Terraform module: the parsed files of one directory, with its variables and locals indexed.
pub struct Module<'a> {
    pub dir: &'a Path,
    pub files: &'a [TfFile],
    variables: HashMap<&'a str, &'a Block>,
    /// Values from `terraform.tfvars` then `*.auto.tfvars` (later files win), as Terraform loads them.
    assigned: HashMap<&'a str, &'a Expression>,
    locals: HashMap<&'a str, &'a Expression>,
    lambda_calls: std::sync::OnceLock<Vec<(usize, &'a Block)>>,
}

impl<'a> Module<'a> {
    pub fn new(dir: &'a Path, files: &'a [TfFile]) -> Self {
        let mut variables = HashMap::new();
        let mut assigned = HashMap::new();
        let mut locals = HashMap::new();
        let mut vars_files: Vec<&TfFile> = files.iter().filter(|f| f.is_vars).collect();
        // terraform.tfvars first, then *.auto.tfvars in lexical order.
        vars_files.sort_by_key(|f| {
            let name = f.path.file_name().map(|n| n.to_string_lossy().into_owned());
            (name.as_deref() != Some("terraform.tfvars"), name)
        });
        for file in vars_files {
            for attribute in file.body.attributes() {
                assigned.insert(attribute.key.value().as_str(), &attribute.value);
            }
        }
        for file in files.iter().filter(|f| !f.is_vars) {
            for block in file.body.blocks() {
                match block.ident.value().as_str() {
                    "variable" => {
                        if let Some(name) = block.labels.first() {
                            variables.insert(name.as_str(), block);
                        }
                    }
                    "locals" => {
                        for attribute in block.body.attributes() {
                            locals.insert(attribute.key.value().as_str(), &attribute.value);
                        }
                    }
                    _ => {}
                }
            }
        }
        Module {
            dir,
            files,
            variables,
            assigned,
            locals,
            lambda_calls: std::sync::OnceLock::new(),
        }
    }

    /// The expression a variable takes: a tfvars value, else its default.
    pub fn variable_value(&self, name: &str) -> Option<&'a Expression> {
        if let Some(value) = self.assigned.get(name) {
            return Some(value);
        }
        self.variables
            .get(name)?
            .body
            .get_attribute("default")
            .map(|a| &a.value)
    }

    pub fn local(&self, name: &str) -> Option<&'a Expression> {
        self.locals.get(name).copied()
    }

    /// Every top-level block named `ident` in the module's configuration files.
    pub fn blocks(&self, ident: &'a str) -> impl Iterator<Item = (usize, &'a Block)> + 'a {
        self.files
            .iter()
            .enumerate()
            .filter(|(_, f)| !f.is_vars)
            .flat_map(move |(index, file)| {
                file.body
                    .blocks()
                    .filter(move |b| b.ident.value().as_str() == ident)
                    .map(move |b| (index, b))
            })
    }

    /// Every `resource "<kind>" "<name>"` block.
    pub fn resources(&self, kind: &'a str) -> impl Iterator<Item = (usize, &'a Block)> + 'a {
        self.blocks("resource")
            .filter(move |(_, b)| b.labels.first().is_some_and(|l| l.as_str() == kind))
    }

    /// The `module` blocks that deploy a Lambda function ([`is_lambda_module_call`]), found
    /// once per module however many rules ask.
    pub fn lambda_module_calls(&self) -> &[(usize, &'a Block)] {
        self.lambda_calls.get_or_init(|| {
            self.blocks("module")
                .filter(|(_, block)| {
                    let source = block
                        .body
                        .get_attribute("source")
                        .and_then(|a| self.eval(&a.value).as_str().map(|s| s.into_owned()));
                    is_lambda_module_call(block, source.as_deref())
                })
                .collect()
        })
    }

    /// Evaluates an expression in this module.
    pub fn eval(&self, expr: &Expression) -> Value {
        eval(self, expr)
    }

    /// Evaluates an expression with the names an iteration binds.
    pub fn eval_in(&self, expr: &Expression, scope: &Scope) -> Value {
        eval::eval_in(self, expr, scope)
    }

    /// The instances Terraform makes of a resource or module block: one per `for_each`
    /// element (`each` bound) or `count` index (`count` bound), or the block itself. When what
    /// it iterates over is not known, one instance with nothing bound: a rule then finds
    /// `each.*` unknown, with the reason, instead of guessing.
    pub fn instances(&self, block: &Block) -> Vec<Instance> {
        let single = || {
            vec![Instance {
                key: None,
                scope: Scope::new(),
            }]
        };
        if let Some(for_each) = block.body.get_attribute("for_each") {
            let collection = self.eval(&for_each.value);
            // `for_each` takes a set or a map; a set's elements are their own keys.
            let elements = match &collection {
                Value::List(items) => Some(
                    items
                        .iter()
                        .map(|item| (item.clone(), item.clone()))
                        .collect::<Vec<_>>(),
                ),
                other => eval::elements(other),
            };
            return match elements {
                Some(elements) => elements
                    .into_iter()
                    .map(|(key, value)| Instance {
                        key: key.as_str().map(|k| k.into_owned()),
                        scope: vec![(
                            "each".to_string(),
                            Value::Object(vec![("key".into(), key), ("value".into(), value)]),
                        )],
                    })
                    .collect(),
                None => single(),
            };
        }
        if let Some(count) = block.body.get_attribute("count") {
            return match self.eval(&count.value).as_number() {
                // `count = var.create ? 1 : 0`: one instance needs no name in messages.
                Some(1.0) => vec![Instance {
                    key: None,
                    scope: vec![(
                        "count".to_string(),
                        Value::Object(vec![("index".into(), Value::Number(0.0))]),
                    )],
                }],
                Some(n) if n >= 0.0 && n.fract() == 0.0 => (0..n as usize)
                    .map(|i| Instance {
                        key: Some(i.to_string()),
                        scope: vec![(
                            "count".to_string(),
                            Value::Object(vec![("index".into(), Value::Number(i as f64))]),
                        )],
                    })
                    .collect(),
                _ => single(),
            };
        }
        single()
    }

    /// The nested blocks named `ident` in `body`: literal ones, and each instance of a
    /// `dynamic "ident"` block's `content` with its iterator bound. A `dynamic` block whose
    /// `for_each` is not known is [`Nested::Unknown`]: such a block may or may not exist.
    pub fn nested_blocks(&self, body: &'a Body, ident: &str, scope: &Scope) -> Vec<Nested<'a>> {
        let mut found = Vec::new();
        for block in body.blocks() {
            match block.ident.value().as_str() {
                name if name == ident => found.push(Nested::Block {
                    block,
                    scope: scope.clone(),
                }),
                "dynamic" if block.labels.first().is_some_and(|l| l.as_str() == ident) => {
                    let Some(content) = nested(&block.body, "content") else {
                        continue;
                    };
                    let iterator = block
                        .body
                        .get_attribute("iterator")
                        .and_then(|a| match &a.value {
                            Expression::Variable(name) => Some(name.value().to_string()),
                            _ => None,
                        })
                        .unwrap_or_else(|| ident.to_string());
                    let collection = block
                        .body
                        .get_attribute("for_each")
                        .map(|a| self.eval_in(&a.value, scope));
                    match collection.as_ref().and_then(eval::elements) {
                        Some(elements) => {
                            for (key, value) in elements {
                                let mut bound = scope.clone();
                                bound.push((
                                    iterator.clone(),
                                    Value::Object(vec![
                                        ("key".into(), key),
                                        ("value".into(), value),
                                    ]),
                                ));
                                found.push(Nested::Block {
                                    block: content,
                                    scope: bound,
                                });
                            }
                        }
                        None => found.push(Nested::Unknown {
                            block,
                            reason: collection
                                .as_ref()
                                .and_then(Value::unknown_reason)
                                .unwrap_or_else(|| "its `for_each` is not a collection".into()),
                        }),
                    }
                }
                _ => {}
            }
        }
        found
    }
}

/// One instance of a resource or module block.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The `for_each` key or `count` index, when the block iterates.
    pub key: Option<String>,
    pub scope: Scope,
}

impl Instance {
    /// ` (instance `key`)`, for messages about one instance of several.
    pub fn suffix(&self) -> String {
        self.key
            .as_ref()
            .map(|key| format!(" (instance `{key}`)"))
            .unwrap_or_default()
    }
}

/// A nested block as Terraform will have it.
pub enum Nested<'a> {
    /// A literal block, or one instance of a `dynamic` block's `content` (its iterator bound).
    Block { block: &'a Block, scope: Scope },
    /// A `dynamic` block whose `for_each` is not known statically.
    Unknown { block: &'a Block, reason: String },
}

impl Nested<'_> {
    /// The finding for a rule that needs this block but cannot tell whether it exists.
    pub fn undecided(&self, what: &str) -> Option<Finding> {
        match self {
            Nested::Block { .. } => None,
            Nested::Unknown { block, reason } => Some(
                Finding::new(
                    head_span(block),
                    format!("{what} comes from a `dynamic` block whose `for_each` could not be evaluated statically ({reason})"),
                )
                .undecided(),
            ),
        }
    }
}

/// What a Terraform rule sees.
pub struct Context<'a> {
    pub module: &'a Module<'a>,
    pub policy: &'a EffectivePolicy,
    /// Where a relative module source must stay inside when the module is in no repository:
    /// the directory the check runs from, else the configuration root.
    pub outside_repository: &'a Path,
}

impl Context<'_> {
    /// The repository (the nearest directory with `.git`) a relative module source must stay
    /// inside. Looked up only when a rule needs it: most modules have no relative source.
    pub fn repository_root(&self) -> std::path::PathBuf {
        crate::discover::git_root(self.module.dir)
            .unwrap_or_else(|| self.outside_repository.to_path_buf())
    }
}

/// A finding in one of the module's files (an index into [`Module::files`]).
#[derive(Debug, Clone)]
pub struct Located {
    pub file: usize,
    pub finding: Finding,
}

impl Located {
    pub fn new(file: usize, finding: Finding) -> Self {
        Located { file, finding }
    }
}

/// Runs every Terraform rule `enabled` selects on a module.
pub fn lint(
    context: &Context<'_>,
    enabled: &dyn Fn(&Rule) -> bool,
) -> Vec<(&'static Rule, Located)> {
    let mut findings = Vec::new();
    for (rule, check) in registry::checks_of(Check::terraform) {
        if enabled(rule) {
            findings.extend(check(context).into_iter().map(|f| (rule, f)));
        }
    }
    findings
}

/// The span of a block's head: `resource "aws_ecr_repository" "this"`.
pub fn head_span(block: &Block) -> Range<usize> {
    let start = block.ident.span().map_or(0, |s| s.start);
    let end = block
        .labels
        .last()
        .and_then(|l| l.span())
        .or_else(|| block.ident.span())
        .map_or(start, |s| s.end);
    start..end
}

/// The span of an attribute, or of the block head when the attribute is missing.
pub fn attribute_span(block: &Block, attribute: Option<&Attribute>) -> Range<usize> {
    attribute
        .and_then(|a| a.span())
        .unwrap_or_else(|| head_span(block))
}

/// The span of an expression (falls back to `fallback`).
pub fn expr_span(expr: &Expression, fallback: Range<usize>) -> Range<usize> {
    expr.span().unwrap_or(fallback)
}

/// The finding for a value a rule cannot decide: reported at `info`, never failing the gate.
pub fn undecided(span: Range<usize>, what: &str, value: &Value) -> Finding {
    let why = value
        .unknown_reason()
        .unwrap_or_else(|| "a value of an unexpected type".into());
    Finding::new(
        span,
        format!("{what} could not be evaluated statically ({why})"),
    )
    .undecided()
}

/// The first nested block named `ident` in `body`.
pub fn nested<'b>(body: &'b Body, ident: &str) -> Option<&'b Block> {
    body.blocks().find(|b| b.ident.value().as_str() == ident)
}

/// A file path as Terraform resolves it, `${path.module}` (and `${path.root}`, the same
/// directory for a root module) being the module's directory.
pub fn module_path(value: &Value, dir: &Path) -> Option<String> {
    match value {
        Value::String(path) => Some(path.clone()),
        Value::Partial(pieces) => pieces
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => Some(text.clone()),
                Piece::Unknown(why)
                    if why.contains("`path.module`") || why.contains("`path.root`") =>
                {
                    Some(dir.display().to_string())
                }
                Piece::Unknown(_) => None,
            })
            .collect(),
        _ => None,
    }
}

/// Whether a module call deploys a Lambda function: it passes `image_uri`, or its source names
/// a Lambda module.
pub fn is_lambda_module_call(block: &Block, source: Option<&str>) -> bool {
    block.body.get_attribute("image_uri").is_some()
        || source.is_some_and(|s| module_name(s).contains("lambda"))
}

/// The module's own name from its source: the last path segment (before `?`), or the name
/// segment of a registry address (`ns/NAME/provider`).
pub fn module_name(source: &str) -> &str {
    let base = source.split('?').next().unwrap_or(source);
    let base = base.trim_end_matches('/');
    if let Some((_, subdir)) = base
        .rsplit_once("//")
        .filter(|(scheme, _)| !scheme.ends_with(':'))
    {
        return subdir.rsplit('/').next().unwrap_or(subdir);
    }
    let segments: Vec<&str> = base.split('/').collect();
    if is_registry_source(source) && segments.len() >= 3 {
        return segments[segments.len() - 2];
    }
    segments
        .last()
        .map(|s| s.trim_end_matches(".git"))
        .unwrap_or(base)
}

/// A Terraform registry address: `[host/]namespace/name/provider`, no scheme, not a path.
pub fn is_registry_source(source: &str) -> bool {
    if source.contains("::")
        || source.contains("://")
        || source.starts_with('.')
        || source.starts_with('/')
    {
        return false;
    }
    let segments = source.split('/').count();
    let host_like = source.split('/').next().is_some_and(|h| h.contains('.'));
    (segments == 3 && !host_like) || (segments == 4 && host_like)
}

/// What an ECR `repository` argument (a lifecycle or repository policy's) leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum RepositoryTarget {
    /// A repository resource of this module, by its label (any instance of it).
    Resource(String),
    /// A repository name.
    Name(String),
    /// Something that cannot be followed statically, and why.
    Unknown(String),
}

/// Follows a `repository` expression to the repository it names: a resource reference (with
/// any index: `this[0]`, `this[each.key]`, `this["x"]`), through locals, or a name.
pub fn repository_target(
    module: &Module<'_>,
    expr: &Expression,
    scope: &Scope,
    depth: usize,
) -> RepositoryTarget {
    if let Expression::Traversal(traversal) = expr {
        if let Expression::Variable(root) = &traversal.expr {
            let names: Vec<Option<&str>> = traversal
                .operators
                .iter()
                .map(|op| match op.value() {
                    hcl::edit::expr::TraversalOperator::GetAttr(key) => Some(key.value().as_str()),
                    _ => None,
                })
                .collect();
            match (root.value().as_str(), names.first().copied().flatten()) {
                ("aws_ecr_repository", Some(label)) => {
                    return RepositoryTarget::Resource(label.to_string())
                }
                ("local", Some(name)) if depth < 8 => {
                    if let Some(value) = module.local(name) {
                        if traversal.operators.len() == 1 {
                            return repository_target(module, value, &Scope::new(), depth + 1);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let value = module.eval_in(expr, scope);
    match value.as_str() {
        Some(name) => RepositoryTarget::Name(name.into_owned()),
        None => RepositoryTarget::Unknown(
            value
                .unknown_reason()
                .unwrap_or_else(|| "a value that is not a repository name".into()),
        ),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Parses `files` (name, text) as one module and runs `check` under the default policy.
    pub fn run_files(
        check: fn(&Context<'_>) -> Vec<Located>,
        files: &[(&str, &str)],
    ) -> Vec<Finding> {
        let parsed: Vec<TfFile> = files
            .iter()
            .map(|(name, text)| TfFile {
                path: Path::new("/repo/lambda/terraform").join(name),
                body: parse(text).unwrap_or_else(|e| panic!("{name}: {}", e.message)),
                is_vars: name.ends_with(".tfvars"),
                duplicate_keys: Vec::new(),
            })
            .collect();
        let dir = Path::new("/repo/lambda/terraform");
        let module = Module::new(dir, &parsed);
        let policy = crate::policy::EffectivePolicy::compile(crate::policy::default_policy())
            .expect("the default policy compiles");
        let context = Context {
            module: &module,
            policy: &policy,
            outside_repository: Path::new("/repo"),
        };
        check(&context).into_iter().map(|l| l.finding).collect()
    }

    pub fn run(check: fn(&Context<'_>) -> Vec<Located>, text: &str) -> Vec<Finding> {
        run_files(check, &[("main.tf", text)])
    }

    /// Messages of the decided findings only.
    pub fn decided(findings: &[Finding]) -> Vec<&str> {
        findings
            .iter()
            .filter(|f| !f.undecided)
            .map(|f| f.message.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_from_every_source_form() {
        assert_eq!(
            module_name("../../terraform/modules/aws-lambda-container"),
            "aws-lambda-container"
        );
        assert_eq!(
            module_name("git::https://git.example.com/platform/lambda-gate.git//terraform/modules/aws-lambda-container?ref=v1.2.0"),
            "aws-lambda-container"
        );
        assert_eq!(
            module_name("example/lambda-container/aws"),
            "lambda-container"
        );
        assert_eq!(
            module_name("app.terraform.io/example/lambda-container/aws"),
            "lambda-container"
        );
        assert_eq!(
            module_name("git::https://git.example.com/vpc.git?ref=v1"),
            "vpc"
        );
    }

    #[test]
    fn parse_errors_have_positions() {
        let error = parse("resource \"a\" \"b\" {\n  x = \n}\n").expect_err("error");
        assert!(error.span.start > 0, "{error:?}");
        let error = parse("x = <<EOT\nnever closed\n").expect_err("error");
        assert!(!error.message.is_empty());
    }

    #[test]
    fn deep_nesting_is_a_parse_error_not_a_crash() {
        let text = format!("x = {}1{}\n", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&text).is_err());
    }
}
