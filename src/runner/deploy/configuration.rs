//! A function's configuration as a published version freezes it: what `$LATEST` would publish
//! compared with what the alias's version runs, so that a configuration-only change (memory,
//! timeout, environment, role… applied to `$LATEST` by Terraform) reaches the alias through the
//! same publish, smoke and shift as a new image.

use std::collections::BTreeMap;

use aws_sdk_lambda::types::FunctionConfiguration;

/// The settings a version freezes, by Lambda's names. Left out on purpose: the description
/// (each version carries its own), the code (compared by image digest), and what Lambda reports
/// about itself (state, revision, times, sizes).
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Configuration {
    shown: BTreeMap<&'static str, String>,
    opaque: BTreeMap<&'static str, String>,
    /// Environment variables: compared by value, reported by name only (values may be secrets).
    environment: BTreeMap<String, String>,
}

impl Configuration {
    pub fn read(configuration: &FunctionConfiguration) -> Configuration {
        let mut shown = BTreeMap::new();
        let mut opaque = BTreeMap::new();
        let mut show = |name, value: Option<String>| {
            if let Some(value) = value {
                shown.insert(name, value);
            }
        };
        show(
            "MemorySize",
            configuration.memory_size().map(|m| m.to_string()),
        );
        show("Timeout", configuration.timeout().map(|t| t.to_string()));
        show("Role", configuration.role().map(str::to_string));
        show(
            "EphemeralStorage",
            configuration
                .ephemeral_storage()
                .map(|e| e.size().to_string()),
        );
        show(
            "TracingConfig",
            configuration
                .tracing_config()
                .and_then(|t| t.mode())
                .map(|m| m.as_str().to_string()),
        );
        show("KMSKeyArn", configuration.kms_key_arn().map(str::to_string));
        show(
            "DeadLetterConfig",
            configuration
                .dead_letter_config()
                .and_then(|d| d.target_arn())
                .map(str::to_string),
        );
        let layers: Vec<&str> = configuration
            .layers()
            .iter()
            .filter_map(|l| l.arn())
            .collect();
        if !layers.is_empty() {
            shown.insert("Layers", layers.join(", "));
        }
        let mut hide = |name, value: Option<String>| {
            if let Some(value) = value {
                opaque.insert(name, value);
            }
        };
        hide(
            "ImageConfig",
            configuration
                .image_config_response()
                .and_then(|i| i.image_config())
                .map(|c| format!("{c:?}")),
        );
        hide(
            "VpcConfig",
            configuration.vpc_config().map(|v| {
                let mut subnets = v.subnet_ids().to_vec();
                let mut groups = v.security_group_ids().to_vec();
                subnets.sort();
                groups.sort();
                format!("{subnets:?} {groups:?}")
            }),
        );
        hide(
            "LoggingConfig",
            configuration.logging_config().map(|l| format!("{l:?}")),
        );
        let file_systems: Vec<String> = configuration
            .file_system_configs()
            .iter()
            .map(|f| format!("{f:?}"))
            .collect();
        if !file_systems.is_empty() {
            opaque.insert("FileSystemConfigs", file_systems.join(", "));
        }
        let environment = configuration
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Configuration {
            shown,
            opaque,
            environment,
        }
    }

    /// What differs from `before` to `self`, in words; empty when nothing does.
    pub fn changes_since(&self, before: &Configuration) -> Vec<String> {
        let mut changes = Vec::new();
        let none = "(none)".to_string();
        let names: std::collections::BTreeSet<&&str> =
            self.shown.keys().chain(before.shown.keys()).collect();
        for name in names {
            let (was, now) = (before.shown.get(*name), self.shown.get(*name));
            if was != now {
                changes.push(format!(
                    "{name} {} → {}",
                    was.unwrap_or(&none),
                    now.unwrap_or(&none)
                ));
            }
        }
        let names: std::collections::BTreeSet<&&str> =
            self.opaque.keys().chain(before.opaque.keys()).collect();
        for name in names {
            if before.opaque.get(*name) != self.opaque.get(*name) {
                changes.push(format!("{name} changed"));
            }
        }
        let keys: std::collections::BTreeSet<&String> = self
            .environment
            .keys()
            .chain(before.environment.keys())
            .collect();
        let changed: Vec<&str> = keys
            .into_iter()
            .filter(|k| before.environment.get(*k) != self.environment.get(*k))
            .map(String::as_str)
            .collect();
        if !changed.is_empty() {
            changes.push(format!(
                "environment variable{} {} changed",
                if changed.len() == 1 { "" } else { "s" },
                changed.join(", ")
            ));
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_lambda::types::EnvironmentResponse;

    fn configuration(memory: i32, variables: &[(&str, &str)]) -> Configuration {
        let environment = EnvironmentResponse::builder()
            .set_variables(Some(
                variables
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ))
            .build();
        Configuration::read(
            &FunctionConfiguration::builder()
                .memory_size(memory)
                .timeout(30)
                .description("each version has its own")
                .environment(environment)
                .build(),
        )
    }

    #[test]
    fn a_changed_setting_is_named_with_both_values_and_a_variable_by_name_only() {
        let before = configuration(512, &[("TOKEN", "old-secret"), ("LEVEL", "info")]);
        let now = configuration(1024, &[("TOKEN", "new-secret"), ("LEVEL", "info")]);
        let changes = now.changes_since(&before);
        assert_eq!(
            changes,
            vec![
                "MemorySize 512 → 1024".to_string(),
                "environment variable TOKEN changed".to_string()
            ]
        );
        assert!(!changes.join(" ").contains("secret"));
    }

    #[test]
    fn the_same_settings_are_no_change_whatever_the_description() {
        let before = configuration(512, &[("A", "1"), ("B", "2")]);
        assert!(configuration(512, &[("B", "2"), ("A", "1")])
            .changes_since(&before)
            .is_empty());
        assert_eq!(
            configuration(512, &[("A", "1")]).changes_since(&before),
            vec!["environment variable B changed".to_string()]
        );
    }
}
