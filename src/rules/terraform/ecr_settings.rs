//! The ECR repositories a Terraform module makes, as the gate's evaluator reads them: tag
//! mutability, exclusion filters and lifecycle policy. The runner's tests create their
//! repositories from the `aws-lambda-container` module's own settings through this, so module
//! and tests cannot drift apart.

use std::path::Path;

use anyhow::{bail, Context as _};

use super::{repository_target, Module, RepositoryTarget, TfFile};

/// One `aws_ecr_repository` instance's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RepositorySettings {
    /// `image_tag_mutability` (unset: `MUTABLE`, the provider's default).
    pub mutability: String,
    pub exclusion_filters: Vec<String>,
    /// The document of the `aws_ecr_lifecycle_policy` that names this repository's resource.
    pub lifecycle_policy: Option<serde_json::Value>,
}

/// The settings of every ECR repository the module in `dir` makes; an error names any setting
/// that cannot be decided statically.
pub fn repositories(dir: &Path) -> anyhow::Result<Vec<RepositorySettings>> {
    let mut files = Vec::new();
    for entry in crate::fsio::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "tf") {
            let text = crate::fsio::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let file = TfFile::parse(path.clone(), &text)
                .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message))?;
            files.push(file);
        }
    }
    let module = Module::new(dir, &files);
    let mut settings = Vec::new();
    for (_, block) in module.resources("aws_ecr_repository") {
        let label = block.labels.get(1).map(|l| l.as_str()).unwrap_or_default();
        for instance in module.instances(block) {
            let mutability = match block.body.get_attribute("image_tag_mutability") {
                None => "MUTABLE".to_string(),
                Some(a) => match module.eval_in(&a.value, &instance.scope).as_str() {
                    Some(mode) => mode.into_owned(),
                    None => bail!("`aws_ecr_repository.{label}`: `image_tag_mutability` is not known statically"),
                },
            };
            let mut exclusion_filters = Vec::new();
            for (_, value) in
                super::tf008_ecr_tag_mutability::exclusion_filters(&module, block, &instance.scope)
            {
                match value.as_str() {
                    Some(filter) => exclusion_filters.push(filter.into_owned()),
                    None => bail!(
                        "`aws_ecr_repository.{label}`: an exclusion filter is not known statically"
                    ),
                }
            }
            let name = block.body.get_attribute("name").and_then(|a| {
                module
                    .eval_in(&a.value, &instance.scope)
                    .as_str()
                    .map(|n| n.into_owned())
            });
            let mut lifecycle_policy = None;
            for (_, policy) in module.resources("aws_ecr_lifecycle_policy") {
                let (Some(repository), Some(document)) = (
                    policy.body.get_attribute("repository"),
                    policy.body.get_attribute("policy"),
                ) else {
                    continue;
                };
                let names_this =
                    module
                        .instances(policy)
                        .iter()
                        .any(|policy_instance| {
                            match repository_target(
                                &module,
                                &repository.value,
                                &policy_instance.scope,
                                0,
                            ) {
                                RepositoryTarget::Resource(resource) => resource == label,
                                RepositoryTarget::Name(named) => Some(named) == name,
                                RepositoryTarget::Unknown(_) => false,
                            }
                        });
                if names_this {
                    lifecycle_policy = Some(
                        super::tf016_ecr_lifecycle_rules::document(
                            &module,
                            &document.value,
                            &super::Scope::new(),
                        )
                        .map_err(|why| {
                            anyhow::anyhow!(
                                "the lifecycle policy of `aws_ecr_repository.{label}`: {why}"
                            )
                        })?,
                    );
                }
            }
            settings.push(RepositorySettings {
                mutability,
                exclusion_filters,
                lifecycle_policy,
            });
        }
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecr::lifecycle::{harms, pipeline_history, Policy, Reading};
    use crate::ecr::tags;

    fn module() -> RepositorySettings {
        let dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("terraform/modules/aws-lambda-container");
        let mut all = repositories(&dir).expect("the module's settings are static");
        assert_eq!(all.len(), 1);
        all.remove(0)
    }

    fn moving() -> Vec<String> {
        crate::policy::default_policy().terraform.moving_tags
    }

    #[test]
    fn the_modules_filters_are_the_moving_tags_shapes() {
        let settings = module();
        assert_eq!(settings.mutability, "IMMUTABLE_WITH_EXCLUSION");
        assert_eq!(
            settings.exclusion_filters,
            tags::exclusion_filters(&moving())
        );
        assert!(settings.exclusion_filters.len() <= tags::MAX_EXCLUSION_FILTERS);
    }

    /// 50 builds, promotions to each environment and a rollback, with the runner's real tags:
    /// nothing a moving tag, an index or a deployed alias needs is expired, under either
    /// reading of ECR's counting; the old commit images are.
    #[test]
    fn the_modules_lifecycle_policy_keeps_what_is_needed_and_expires_old_builds() {
        let document = module()
            .lifecycle_policy
            .expect("the module has a lifecycle policy");
        let policy = Policy::parse(&document).expect("ECR accepts the module's policy");
        // The module's default count is 50 builds: try 120, so that old ones must go.
        let history = pipeline_history(&moving(), 120);
        assert_eq!(harms(&policy, &history), Vec::<String>::new());
        for reading in [Reading::CountsEarlierMatches, Reading::SkipsEarlierMatches] {
            let expired = policy.expired(&history.images, history.now, reading);
            let oldest = ["sha256:index0000", "sha256:amd640000", "sha256:arm640000"];
            for digest in oldest {
                assert!(expired.contains_key(digest), "{reading:?}: {digest}");
            }
            assert!(
                expired.keys().all(|d| history.stale.contains(d)),
                "{reading:?}"
            );
            // The last 50 builds stay whole (the platform images of 50 builds per platform).
            for build in 70..120 {
                for arch in tags::ARCHITECTURES {
                    let child = format!("sha256:{arch}{build:04}");
                    assert!(!expired.contains_key(&child), "{reading:?}: {child}");
                }
            }
        }
    }
}
