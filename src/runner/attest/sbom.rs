//! The Python packages a built image holds, read from its layers' `*.dist-info/METADATA` (what
//! pip installed, in the base or by the project), as a CycloneDX 1.5 JSON bill of materials.
//!
//! Layers are applied in order with their whiteouts, so a package a later layer removed or
//! upgraded is not listed under its old version.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use serde_json::{json, Value};

/// One installed distribution.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// The `.dist-info` directory, inside the image.
    pub location: String,
}

/// The packages of an image whose layers (gzip-compressed tars, base first) are `layers`.
pub fn packages(layers: &[&Path]) -> Result<Vec<Package>, String> {
    // dist-info directory → package, as of the layers read so far.
    let mut found: BTreeMap<String, Package> = BTreeMap::new();
    for layer in layers {
        let file = std::fs::File::open(layer)
            .map_err(|e| format!("reading layer {}: {e}", layer.display()))?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let mut added = Vec::new();
        let mut removed = Vec::new();
        let entries = archive
            .entries()
            .map_err(|e| format!("layer {}: {e}", layer.display()))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| format!("layer {}: {e}", layer.display()))?;
            let path = entry
                .path()
                .map_err(|e| format!("layer {}: {e}", layer.display()))?
                .to_string_lossy()
                .trim_start_matches("./")
                .trim_start_matches('/')
                .to_string();
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
            if name == ".wh..wh..opq" {
                removed.push(format!("{dir}/"));
                continue;
            }
            if let Some(gone) = name.strip_prefix(".wh.") {
                removed.push(if dir.is_empty() {
                    gone.to_string()
                } else {
                    format!("{dir}/{gone}")
                });
                continue;
            }
            if name != "METADATA" || !is_site_dist_info(dir) {
                continue;
            }
            let mut text = String::new();
            if entry.read_to_string(&mut text).is_err() {
                continue;
            }
            if let Some((name, version)) = name_and_version(&text) {
                added.push(Package {
                    name,
                    version,
                    location: format!("/{dir}"),
                });
            }
        }
        // A layer's whiteouts remove what the layers below it had, not what it adds itself.
        found.retain(|dir, _| {
            !removed.iter().any(|gone| {
                dir == gone || dir.starts_with(&format!("{}/", gone.trim_end_matches('/')))
            })
        });
        for package in added {
            found.insert(
                package.location.trim_start_matches('/').to_string(),
                package,
            );
        }
    }
    let mut packages: Vec<Package> = found.into_values().collect();
    packages.sort();
    Ok(packages)
}

/// A `<name>.dist-info` directory where Python finds it in a Lambda image: a `site-packages`
/// (or Debian's `dist-packages`), the task root pip installs into with `--target`
/// (`/var/task`), the runtime's own (`/var/runtime`, where the base's boto3 is) or a layer's
/// (`/opt/python`).
fn is_site_dist_info(dir: &str) -> bool {
    let Some((parent, leaf)) = dir.rsplit_once('/') else {
        return false;
    };
    leaf.ends_with(".dist-info")
        && (parent.ends_with("site-packages")
            || parent.ends_with("dist-packages")
            || matches!(parent, "var/task" | "var/runtime" | "opt/python"))
}

/// The `Name` and `Version` headers of a core metadata file (RFC 822 style; the headers end
/// at the first blank line).
fn name_and_version(text: &str) -> Option<(String, String)> {
    let mut name = None;
    let mut version = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Name:") {
            name.get_or_insert_with(|| value.trim().to_string());
        } else if let Some(value) = line.strip_prefix("Version:") {
            version.get_or_insert_with(|| value.trim().to_string());
        }
    }
    Some((name?, version?)).filter(|(n, v)| !n.is_empty() && !v.is_empty())
}

/// The package URL of a PyPI distribution (names normalised as PEP 503 says).
pub fn purl(package: &Package) -> String {
    let mut normalised = String::new();
    for c in package.name.to_ascii_lowercase().chars() {
        let c = if matches!(c, '_' | '.') { '-' } else { c };
        if !(c == '-' && normalised.ends_with('-')) {
            normalised.push(c);
        }
    }
    format!("pkg:pypi/{normalised}@{}", package.version)
}

/// A CycloneDX 1.5 document for the image `name@digest` holding `packages`.
pub fn cyclonedx(name: &str, digest: &str, packages: &[Package], timestamp: &str) -> Value {
    let components: Vec<Value> = packages
        .iter()
        .map(|package| {
            let purl = purl(package);
            json!({
                "type": "library",
                "bom-ref": format!("{purl}#{}", package.location),
                "name": package.name,
                "version": package.version,
                "purl": purl,
                "properties": [{"name": "lambda-gate:location", "value": package.location}],
            })
        })
        .collect();
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": serial_number(digest),
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {"components": [{
                "type": "application",
                "name": "lambda-gate",
                "version": env!("CARGO_PKG_VERSION"),
            }]},
            "component": {
                "type": "container",
                "bom-ref": format!("{name}@{digest}"),
                "name": name,
                "version": digest,
            },
        },
        "components": components,
    })
}

/// A UUID-shaped serial number derived from the image digest: the same image, the same BOM.
fn serial_number(digest: &str) -> String {
    let hex = format!(
        "{:x}",
        <sha2::Sha256 as sha2::Digest>::digest(digest.as_bytes())
    );
    format!(
        "urn:uuid:{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(dir: &Path, name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
        let path = dir.join(name);
        let file = std::fs::File::create(&path).unwrap();
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::fast(),
        ));
        for (name, text) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, name, text.as_bytes())
                .unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
        path
    }

    const SITE: &str = "var/lang/lib/python3.12/site-packages";

    #[test]
    fn later_layers_upgrade_and_remove_packages() {
        let dir = tempfile::tempdir().unwrap();
        let base = layer(
            dir.path(),
            "base.tgz",
            &[
                (
                    &format!("{SITE}/boto3-1.34.0.dist-info/METADATA"),
                    "Metadata-Version: 2.1\nName: boto3\nVersion: 1.34.0\n\nName: not-this\n",
                ),
                (
                    &format!("{SITE}/six-1.16.0.dist-info/METADATA"),
                    "Name: six\nVersion: 1.16.0\n",
                ),
                (
                    &format!("{SITE}/Typing_Extensions-4.0.dist-info/METADATA"),
                    "Name: Typing_Extensions\nVersion: 4.0\n",
                ),
                (
                    "var/task/requests-2.32.3.dist-info/METADATA",
                    "Name: requests\nVersion: 2.32.3\n",
                ),
                (
                    "var/task/app/x.dist-info/METADATA",
                    "Name: nested\nVersion: 1\n",
                ),
                (
                    "usr/share/doc/METADATA",
                    "Name: not-a-package\nVersion: 1\n",
                ),
            ],
        );
        let upgrade = layer(
            dir.path(),
            "upgrade.tgz",
            &[
                (&format!("{SITE}/.wh.boto3-1.34.0.dist-info"), ""),
                (
                    &format!("{SITE}/boto3-1.35.2.dist-info/METADATA"),
                    "Name: boto3\nVersion: 1.35.2\n",
                ),
                (&format!("{SITE}/.wh.six-1.16.0.dist-info"), ""),
            ],
        );
        let packages = packages(&[&base, &upgrade]).unwrap();
        let listed: Vec<(&str, &str)> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            listed,
            [
                ("Typing_Extensions", "4.0"),
                ("boto3", "1.35.2"),
                ("requests", "2.32.3")
            ]
        );
        assert_eq!(purl(&packages[0]), "pkg:pypi/typing-extensions@4.0");
    }

    #[test]
    fn an_opaque_directory_hides_everything_below_it() {
        let dir = tempfile::tempdir().unwrap();
        let base = layer(
            dir.path(),
            "base.tgz",
            &[(
                &format!("{SITE}/six-1.16.0.dist-info/METADATA"),
                "Name: six\nVersion: 1.16.0\n",
            )],
        );
        let opaque = layer(
            dir.path(),
            "opaque.tgz",
            &[(&format!("{SITE}/.wh..wh..opq"), "")],
        );
        assert!(packages(&[&base, &opaque]).unwrap().is_empty());
        assert!(packages(&[&dir.path().join("missing.tgz")]).is_err());
    }
}
