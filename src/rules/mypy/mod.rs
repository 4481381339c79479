//! The mypy family: each Lambda's mypy configuration, read exactly as the pinned mypy reads
//! it ([`config`]), judged against the team's defaults (`[mypy]` in the policy).

pub mod config;
pub mod fix;
pub mod ini;
pub mod options;
pub mod settings;
pub mod toml10;
pub mod unit;

pub mod myp001_config_invalid;
pub mod myp002_config_missing;
pub mod myp003_required_setting;
pub mod myp004_override_weakens;
pub mod myp005_ignore_missing_imports;
pub mod myp006_first_party_excluded;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::diagnostic::Span;
use crate::policy::EffectivePolicy;
use crate::units::Lambda;
use config::{Effective, MypyConfig, Origin};

/// Configuration files read during one check, each parsed once however many Lambdas share it.
#[derive(Default)]
pub struct ConfigCache {
    loaded: std::sync::Mutex<HashMap<PathBuf, Arc<OnceLock<Arc<config::Loaded>>>>>,
    reported: std::sync::Mutex<HashSet<PathBuf>>,
}

impl ConfigCache {
    pub fn load(&self, path: &Path) -> Arc<config::Loaded> {
        let cell = {
            let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
            loaded.entry(path.to_path_buf()).or_default().clone()
        };
        cell.get_or_init(|| Arc::new(config::load(path))).clone()
    }

    /// Forgets the files below `dir` once no other Lambda can read them, so a run over thousands of Lambdas does not
    /// hold every configuration until the end.
    pub fn evict_below(&self, dir: &Path) {
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|path, _| !path.starts_with(dir));
    }

    /// True the first time it is asked about `path`: a broken file is reported once.
    pub fn first_report(&self, path: &Path) -> bool {
        self.reported
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_path_buf())
    }
}

/// A first-party module of a Lambda: a Python file that ships in its image.
#[derive(Debug, Clone)]
pub struct FirstParty {
    /// Dotted module name (`app.handler`; a package's `__init__.py` is the package).
    pub module: String,
    /// The file (absolute): in the Lambda's directory, or in the build context above it.
    pub path: std::path::PathBuf,
}

/// What a mypy rule sees.
pub struct Context<'a> {
    pub lambda: &'a Lambda,
    pub policy: &'a EffectivePolicy,
    pub config: &'a MypyConfig,
    pub first_party: &'a [FirstParty],
    /// The Python the Lambda's image runs: its base's version when the Dockerfile shows it
    /// (`python:3.11-slim`, `public.ecr.aws/lambda/python:3.12`), else the policy's.
    pub python_version: &'a str,
}

impl Context<'_> {
    /// The span a finding about a missing global key points at: the global section's header,
    /// or the start of the file.
    pub fn global_anchor(&self) -> Span {
        self.config
            .global_section
            .as_ref()
            .map_or(0..0, |s| s.header_span.clone())
    }

    /// The options in force for each first-party module, with the module.
    pub fn first_party_options(&self) -> Vec<(&FirstParty, Effective)> {
        self.first_party
            .iter()
            .map(|module| (module, self.config.for_module(&module.module)))
            .collect()
    }
}

/// Whether `origin` is in a per-module section (not the global one).
pub fn is_module_section(origin: &Origin) -> bool {
    origin.section.starts_with("mypy-")
}

/// The Lambda's first-party modules. Where the build could be followed to the end (every file
/// of the task root comes from the build context), exactly the Python files the image holds,
/// named as the runtime imports them; else its Python files outside tests.
pub fn first_party(lambda: &Lambda) -> Vec<FirstParty> {
    let followed = lambda
        .images
        .iter()
        .filter_map(|image| Some((image.code.as_ref()?, lambda.image_files(image)?)))
        .find(|(_, files)| files.unknown.is_empty() && files.known_base);
    if let Some((code, files)) = followed {
        let task_root = lambda
            .config
            .policy_for(&lambda.dir)
            .policy
            .dockerfile
            .task_root
            .trim_end_matches('/')
            .to_string();
        let mut modules: Vec<FirstParty> = files
            .python_sources(&task_root)
            .filter_map(|(image, source)| {
                let stem = image
                    .strip_prefix(&task_root)?
                    .trim_start_matches('/')
                    .strip_suffix(".py")?;
                let module = stem.strip_suffix("/__init__").unwrap_or(stem);
                (!module.is_empty() && module != "__init__" && !module.contains(['-', ' '])).then(
                    || FirstParty {
                        module: module.replace('/', "."),
                        path: code.context.join(source),
                    },
                )
            })
            .collect();
        modules.sort_by(|a, b| a.module.cmp(&b.module));
        return modules;
    }
    let mut modules = Vec::new();
    for file in &lambda.files {
        let Some(stem) = file.relative.strip_suffix(".py") else {
            continue;
        };
        if crate::rules::coverage::is_test_file(&file.relative) || stem.contains(['-', ' ']) {
            continue;
        }
        let stem = stem.strip_prefix("src/").unwrap_or(stem);
        let module = stem.strip_suffix("/__init__").unwrap_or(stem);
        if module == "__init__" || module.is_empty() {
            continue;
        }
        modules.push(FirstParty {
            module: module.replace('/', "."),
            path: file.path.clone(),
        });
    }
    modules
}

/// The value a boolean option must have under `strict`, if `strict` sets it.
pub fn strict_value(name: &str) -> Option<bool> {
    options::STRICT_FLAGS
        .iter()
        .find(|(flag, _)| *flag == name)
        .map(|(_, value)| *value)
}

/// How a boolean option is written when it should take `value`: the inverted spelling flips.
pub fn written(origin: &Origin, value: bool) -> bool {
    value != origin.inverted
}

#[cfg(test)]
pub mod testing {
    use super::*;
    use crate::diagnostic::Finding;

    /// Runs a rule over a Lambda made of `files` (name, text) under the default policy, and
    /// returns its findings with the text of the configuration file they point into.
    pub fn run(
        check: fn(&Context<'_>) -> Vec<Finding>,
        files: &[(&str, &str)],
    ) -> (Vec<Finding>, String) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM a:1\n").unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let loaded = crate::policy::load(&root, None, true).unwrap();
        let mut workspace = crate::units::Workspace::default();
        crate::discover::discover(
            &root,
            Arc::new(loaded),
            crate::discover::WalkOptions::default(),
            &mut workspace,
        );
        let lambda = &workspace.lambdas[0];
        let policy = lambda.config.policy_for(&lambda.dir);
        let search = config::find(&root, &|p: &Path| Arc::new(config::load(p)));
        let used = search.used.expect("a config file");
        let config::Loaded::Used(config) = config::load(&used) else {
            panic!("unusable config");
        };
        let first_party = first_party(lambda);
        let context = Context {
            lambda,
            policy: &policy,
            config: &config,
            first_party: &first_party,
            python_version: &policy.policy.mypy.python_version,
        };
        (check(&context), config.text.to_string())
    }

    /// The configuration text after applying every finding's fix.
    pub fn fixed(findings: &[Finding], text: &str) -> String {
        let edits: Vec<_> = findings
            .iter()
            .filter_map(|f| f.fix.as_ref())
            .flat_map(|fix| fix.edits.iter().cloned())
            .collect();
        crate::fix::apply_edits(text, &edits)
    }
}
