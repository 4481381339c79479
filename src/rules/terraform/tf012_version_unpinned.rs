//! TF012 `version-unpinned`: Terraform and every provider are pinned: root modules to a bounded
//! range, reusable modules (HashiCorp's guidance) to a minimum version, leaving their callers
//! free to upgrade. `terraform.upper-bounds = "all-modules"` asks for bounds everywhere.

use std::collections::BTreeSet;

use super::settings::UpperBounds;
use super::{attribute_span, head_span, undecided, Context, Located, Value};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "TF012",
    name: "version-unpinned",
    family: Family::Terraform,
    summary: "`required_version` or a provider's version is missing, or lacks the bound its kind of module needs",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("TF012"),
    check: Check::Terraform(check),
};

/// Whether a module is reusable (called through `module` blocks) rather than a root module
/// (where `terraform plan` runs): a root module configures a backend, a provider or variable
/// values; a reusable one leaves all three to its caller.
pub fn is_reusable(module: &super::Module<'_>) -> bool {
    // Under `modules/` (the standard module structure) a module is called by a root, even when
    // it still carries a legacy `provider` block of its own.
    let under_modules = module
        .dir
        .parent()
        .and_then(|parent| parent.file_name())
        .is_some_and(|name| name == "modules");
    if under_modules && !module.files.iter().any(|f| f.is_vars) {
        return true;
    }
    let configures_root = module.blocks("terraform").any(|(_, block)| {
        block.body.blocks().any(|b| {
            let ident = b.ident.value().as_str();
            ident == "backend" || ident == "cloud"
        })
    }) || module.blocks("provider").next().is_some()
        || module.files.iter().any(|f| f.is_vars);
    !configures_root
}

pub fn check(ctx: &Context<'_>) -> Vec<Located> {
    let module = ctx.module;
    let Some(first) = module.files.iter().position(|f| !f.is_vars) else {
        return Vec::new();
    };
    let bounds = match ctx.policy.policy.terraform.upper_bounds {
        UpperBounds::AllModules => Bounds::Upper,
        UpperBounds::RootModules if is_reusable(module) => Bounds::Minimum,
        UpperBounds::RootModules => Bounds::Upper,
    };
    let judge = |file, span, what: &str, value: &Value, findings: &mut Vec<Located>| {
        judge(bounds, file, span, what, value, findings)
    };
    let mut findings = Vec::new();
    let terraform_blocks: Vec<_> = module.blocks("terraform").collect();
    let required_version = terraform_blocks.iter().find_map(|(file, block)| {
        block
            .body
            .get_attribute("required_version")
            .map(|a| (*file, block, a))
    });
    match required_version {
        Some((file, block, attribute)) => {
            judge(
                file,
                attribute_span(block, Some(attribute)),
                "`required_version`",
                &module.eval(&attribute.value),
                &mut findings,
            );
        }
        None => {
            let (file, span) = terraform_blocks
                .first()
                .map_or((first, 0..0), |(f, b)| (*f, head_span(b)));
            findings.push(Located::new(
                file,
                Finding::new(span, "this module does not pin `required_version`: any Terraform release may plan it")
                    .help(match bounds {
                        Bounds::Upper => "add `terraform { required_version = \">= 1.6.0, < 2.0.0\" }`",
                        Bounds::Minimum => "add `terraform { required_version = \">= 1.6.0\" }` (a reusable module states the minimum it needs)",
                    }),
            ));
        }
    }
    // Providers the module declares, and where.
    let mut declared: BTreeSet<String> = BTreeSet::new();
    for (file, block) in &terraform_blocks {
        for providers in block.body.get_blocks("required_providers") {
            for attribute in providers.body.attributes() {
                let name = attribute.key.value().to_string();
                let span = attribute_span(providers, Some(attribute));
                declared.insert(name.clone());
                let value = module.eval(&attribute.value);
                let version = match &value {
                    Value::Object(_) => value.get("version").cloned(),
                    // The pre-0.13 shorthand `aws = "~> 5.0"`.
                    other if other.as_str().is_some() => Some(other.clone()),
                    _ => None,
                };
                match version {
                    Some(version) => judge(*file, span, &format!("the `{name}` provider's version"), &version, &mut findings),
                    None if value.is_known() => findings.push(Located::new(
                        *file,
                        Finding::new(span, format!("the `{name}` provider has no `version`: `terraform init` takes the newest release"))
                            .help("add `version = \">= 5.80.0, < 7.0.0\"` (a range with an upper bound)"),
                    )),
                    None => findings.push(Located::new(*file, undecided(span, &format!("the `{name}` provider requirement"), &value))),
                }
            }
        }
    }
    // Every provider a resource or data source uses must be declared.
    let mut undeclared: Vec<Located> = Vec::new();
    let mut reported: Vec<String> = Vec::new();
    for kind in ["resource", "data"] {
        for (file, block) in module.blocks(kind) {
            let provider = match block
                .body
                .get_attribute("provider")
                .and_then(|a| super::eval::reference(&a.value))
            {
                Some(path) => path.first().map(|p| p.to_string()),
                None => block
                    .labels
                    .first()
                    .and_then(|l| l.as_str().split('_').next())
                    .map(str::to_string),
            };
            let Some(provider) = provider else { continue };
            // `terraform_data` and `terraform_remote_state` are built in.
            if provider == "terraform"
                || declared.contains(&provider)
                || reported.contains(&provider)
            {
                continue;
            }
            reported.push(provider.clone());
            undeclared.push(Located::new(
                file,
                Finding::new(head_span(block), format!("the `{provider}` provider is used but not in `required_providers`, so its version is not pinned"))
                    .help(format!("declare it: `required_providers {{ {provider} = {{ source = \"hashicorp/{provider}\", version = \"...\" }} }}`")),
            ));
        }
    }
    if undeclared.is_empty() {
        return findings;
    }
    // Unless Terragrunt generates the declaration (`generate "provider"` above the module),
    // which cannot be read here: then the run says so once instead of reporting each provider.
    // Looked up only now: most modules declare what they use.
    if let Some(terragrunt) = terragrunt_generates(module.dir, ctx) {
        let (file, span) = terraform_blocks
            .first()
            .map_or((first, 0..0), |(f, b)| (*f, head_span(b)));
        findings.push(Located::new(
            file,
            Finding::new(span, format!("`{}` generates files into this module (`generate` blocks): the providers it uses but does not declare are not checked here", terragrunt.display()))
                .help("pin the generated `required_providers` in the Terragrunt configuration")
                .undecided(),
        ));
        return findings;
    }
    findings.extend(undeclared);
    findings
}

/// The Terragrunt configuration (`terragrunt.hcl`, `root.hcl`) in the module's directory or
/// above it, up to the repository, that generates files (`generate "..." {`), if any.
fn terragrunt_generates(dir: &std::path::Path, ctx: &Context<'_>) -> Option<std::path::PathBuf> {
    let boundary = ctx.repository_root();
    dir.ancestors()
        .take_while(|d| d.starts_with(&boundary))
        .find_map(generating_terragrunt_file)
        .map(|path| std::path::PathBuf::from(crate::rules::dockerfile::code::path_from(dir, &path)))
}

/// The Terragrunt file of one directory that generates files. Sibling modules share their
/// ancestors, so each directory is read once per process.
fn generating_terragrunt_file(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Seen = Mutex<HashMap<std::path::PathBuf, Option<std::path::PathBuf>>>;
    static SEEN: OnceLock<Seen> = OnceLock::new();
    let seen = SEEN.get_or_init(Mutex::default);
    if let Some(known) = seen.lock().unwrap_or_else(|e| e.into_inner()).get(dir) {
        return known.clone();
    }
    let found = ["terragrunt.hcl", "root.hcl"]
        .map(|name| dir.join(name))
        .into_iter()
        .find(|path| {
            crate::fsio::read_to_string(path).is_ok_and(|text| {
                text.lines()
                    .any(|line| line.trim_start().starts_with("generate \""))
            })
        });
    seen.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(dir.to_path_buf(), found.clone());
    found
}

/// What a module's constraints must state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bounds {
    /// A range with an upper bound (root modules).
    Upper,
    /// A minimum version (reusable modules).
    Minimum,
}

fn judge(
    bounds: Bounds,
    file: usize,
    span: std::ops::Range<usize>,
    what: &str,
    value: &Value,
    findings: &mut Vec<Located>,
) {
    match (value.as_str(), bounds) {
        (Some(constraint), Bounds::Upper) if has_upper_bound(&constraint) => {}
        (Some(constraint), Bounds::Minimum) if has_lower_bound(&constraint) => {}
        (Some(constraint), Bounds::Upper) => findings.push(Located::new(
            file,
            Finding::new(span, format!("{what} `{constraint}` has no upper bound: the next major release is accepted unreviewed"))
                .help("bound it, e.g. `>= 5.80.0, < 7.0.0` or `~> 5.80` (this is a root module: it has a backend, a provider configuration or tfvars)"),
        )),
        (Some(constraint), Bounds::Minimum) => findings.push(Located::new(
            file,
            Finding::new(span, format!("{what} `{constraint}` states no minimum version: a release too old for this module is accepted"))
                .help("state the minimum it needs, e.g. `>= 5.80.0` (a reusable module leaves the upper bound to its callers)"),
        )),
        (None, _) => findings.push(Located::new(file, undecided(span, what, value))),
    }
}

/// Whether a version constraint excludes releases below some version: `>`, `>=`, `~>`, or an
/// exact version.
pub fn has_lower_bound(constraint: &str) -> bool {
    constraint.split(',').map(str::trim).any(|part| {
        part.starts_with('>')
            || part.starts_with("~>")
            || (part.starts_with('=') && !part.starts_with("=="))
            || part
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_digit() || b == b'v')
    })
}

/// Whether a version constraint excludes releases above some version: `<`, `<=`, `~>`, or an
/// exact version.
pub fn has_upper_bound(constraint: &str) -> bool {
    constraint.split(',').map(str::trim).any(|part| {
        part.starts_with('<')
            || part.starts_with("~>")
            || part.starts_with('=')
            || part
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_digit() || b == b'v')
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decided, run};
    use super::*;

    const PINNED: &str = "terraform {\n  backend \"s3\" {}\n  required_version = \">= 1.6.0, < 2.0.0\"\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \"~> 5.80\"\n    }\n  }\n}\nresource \"aws_s3_bucket\" \"b\" {}\n";

    #[test]
    fn bounded_versions_pass() {
        assert!(run(check, PINNED).is_empty());
        for constraint in ["< 2.0.0", "~> 1.6", "1.6.3", "= 1.6.3", ">= 1.6, <= 1.9"] {
            assert!(has_upper_bound(constraint), "{constraint}");
        }
        for constraint in [">= 1.6", "> 1.0", "!= 1.2.0", ""] {
            assert!(!has_upper_bound(constraint), "{constraint}");
        }
    }

    #[test]
    fn reusable_modules_state_a_minimum_root_modules_a_range() {
        let open = PINNED
            .replace("  backend \"s3\" {}\n", "")
            .replace(", < 2.0.0", "")
            .replace("~> 5.80", ">= 5.80");
        // No backend, provider block or tfvars: a reusable module.
        assert!(run(check, &open).is_empty());
        let root = format!("{open}provider \"aws\" {{\n  region = \"eu-west-1\"\n}}\n");
        assert_eq!(decided(&run(check, &root)).len(), 2);
        let no_minimum = open.replace(">= 1.6.0", "< 2.0.0");
        assert_eq!(decided(&run(check, &no_minimum)).len(), 1);
        assert!(
            has_lower_bound(">= 1.5.7") && has_lower_bound("~> 5.0") && !has_lower_bound("< 6.0")
        );
    }

    #[test]
    fn missing_or_open_versions_fail() {
        assert_eq!(
            decided(&run(check, &PINNED.replace(", < 2.0.0", ""))).len(),
            1
        );
        assert_eq!(
            decided(&run(
                check,
                &PINNED.replace("      version = \"~> 5.80\"\n", "")
            ))
            .len(),
            1
        );
        assert_eq!(
            decided(&run(check, "resource \"aws_s3_bucket\" \"b\" {}\n")).len(),
            2
        );
        let undeclared = format!(
            "{PINNED}resource \"random_id\" \"x\" {{}}\nresource \"random_pet\" \"y\" {{}}\n"
        );
        assert_eq!(decided(&run(check, &undeclared)).len(), 1);
    }
}
