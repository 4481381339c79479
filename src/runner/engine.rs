//! The Docker Engine, through its API (bollard): connection with version negotiation, the
//! binfmt check for foreign platforms, per-platform builds, and reading a built image back.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context as _};
use bollard::models::ImageInspect;
use bollard::query_parameters::BuildImageOptions;
use bollard::Docker;
use futures_util::StreamExt;

use super::Platform;

/// Connects to the Engine (`DOCKER_HOST` or the local socket) and agrees on an API version,
/// so a 20.10 Engine (API 1.41) and newer ones both work.
pub async fn connect() -> anyhow::Result<Docker> {
    let docker = Docker::connect_with_local_defaults()
        .context("cannot reach the Docker Engine (set DOCKER_HOST or start dockerd)")?;
    let docker = docker
        .negotiate_version()
        .await
        .context("the Docker Engine did not answer (is dockerd running? is DOCKER_HOST right?)")?;
    Ok(docker)
}

/// Checks that a foreign platform's binaries can run here (binfmt_misc with qemu), so a build
/// does not fail halfway with `exec format error`; says how to register it when missing.
pub fn check_binfmt(platform: &Platform) -> anyhow::Result<()> {
    if *platform == Platform::native() {
        return Ok(());
    }
    let (handler, qemu) = match platform.architecture.as_str() {
        "arm64" => ("qemu-aarch64", "aarch64"),
        _ => ("qemu-x86_64", "x86_64"),
    };
    let binfmt = Path::new("/proc/sys/fs/binfmt_misc");
    let entry = binfmt.join(handler);
    match std::fs::read_to_string(&entry) {
        Ok(text) if text.lines().next() == Some("enabled") => Ok(()),
        Ok(_) => bail!(
            "building {platform} needs qemu registered with binfmt_misc, and `{handler}` is \
             disabled: run `update-binfmts --enable {handler}`"
        ),
        Err(_) => bail!(
            "building {platform} needs qemu registered with binfmt_misc for {qemu}, and {} is \
             missing. Register it with: `apt-get install qemu-user-static binfmt-support && \
             update-binfmts --enable {handler}` (or `docker run --privileged --rm \
             tonistiigi/binfmt --install {}`)",
            entry.display(),
            platform.architecture
        ),
    }
}

/// The Engine builder a build uses, once decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Builder {
    Classic,
    #[serde(rename = "buildkit")]
    BuildKit,
}

impl Builder {
    /// Its name in JSON and provenance: `classic`, `buildkit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Builder::Classic => "classic",
            Builder::BuildKit => "buildkit",
        }
    }
}

impl std::fmt::Display for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Builder::Classic => "the classic builder",
            Builder::BuildKit => "BuildKit",
        })
    }
}

/// The first API version whose Engines build with BuildKit (18.09).
const BUILDKIT_API: (u32, u32) = (1, 39);

/// The first API version whose Engine's built-in Dockerfile frontend reads heredocs (23.0,
/// Dockerfile syntax 1.4).
const HEREDOC_API: (u32, u32) = (1, 42);

/// The builder a build uses and what the Engine's Dockerfile frontend accepts.
#[derive(Debug, Clone)]
pub struct EngineBuilder {
    pub builder: Builder,
    /// The Engine's API version, as it reports it.
    pub api: String,
    /// Whether the Engine's built-in Dockerfile frontend reads heredocs (`RUN <<EOF`).
    pub heredocs: bool,
}

/// Decides the builder: what was asked for, or for `auto` BuildKit when the Engine has it.
pub async fn choose_builder(
    docker: &Docker,
    choice: crate::policy::BuilderChoice,
) -> anyhow::Result<EngineBuilder> {
    use crate::policy::BuilderChoice;
    let version = docker
        .version()
        .await
        .map_err(|e| anyhow::anyhow!(engine_error(&e)))
        .context("asking the Docker Engine for its version")?;
    let api = version.api_version.unwrap_or_default();
    let parsed = parse_api(&api);
    let linux = version.os.as_deref().unwrap_or("linux") == "linux";
    let has_buildkit = linux && parsed.is_some_and(|v| v >= BUILDKIT_API);
    let builder = match (choice, has_buildkit) {
        (BuilderChoice::Classic, _) => Builder::Classic,
        (_, true) => Builder::BuildKit,
        (BuilderChoice::BuildKit, false) => bail!(
            "`--builder buildkit`: this Docker Engine (API {api}) cannot build with BuildKit; \
             use an Engine of 18.09 or later on Linux, or `--builder classic`"
        ),
        (BuilderChoice::Auto, false) => Builder::Classic,
    };
    Ok(EngineBuilder {
        builder,
        heredocs: builder == Builder::BuildKit && parsed.is_some_and(|v| v >= HEREDOC_API),
        api,
    })
}

fn parse_api(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// What one platform's build needs.
pub struct BuildSpec<'a> {
    pub context: Vec<u8>,
    pub dockerfile: &'a str,
    pub platform: &'a Platform,
    pub tag: &'a str,
    pub build_args: &'a HashMap<String, String>,
    pub labels: HashMap<String, String>,
    pub target: Option<&'a str>,
    /// Secrets for `RUN --mount=type=secret` (BuildKit only).
    pub secrets: &'a [super::buildkit::BuildSecret],
}

impl BuildSpec<'_> {
    /// The Engine's `/build` options every builder shares: Dockerfile, tag, build args,
    /// labels, platform, target.
    pub fn options(&self) -> BuildImageOptions {
        BuildImageOptions {
            dockerfile: self.dockerfile.to_string(),
            t: Some(self.tag.to_string()),
            rm: true,
            forcerm: true,
            buildargs: Some(self.build_args.clone()),
            labels: Some(self.labels.clone()),
            platform: self.platform.to_string(),
            target: self.target.unwrap_or_default().to_string(),
            ..Default::default()
        }
    }
}

/// Builds one platform with the Engine's classic builder, returning the image ID when the
/// Engine names it. The build's output goes to `log` line by line; on failure the error
/// carries its last lines.
pub async fn build_classic(
    docker: &Docker,
    spec: BuildSpec<'_>,
    log: &mut dyn FnMut(&str),
) -> anyhow::Result<Option<String>> {
    let options = spec.options();
    let body = bollard::body_full(bytes::Bytes::from(spec.context));
    let mut stream = docker.build_image(options, None, Some(body));
    let mut tail: Vec<String> = Vec::new();
    let mut image_id = None;
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(error) => bail!(
                "the build for {} failed: {}\n--- last build output ---\n{}",
                spec.platform,
                engine_error(&error),
                tail.join("\n")
            ),
        };
        if let Some(text) = info.stream.as_deref() {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                log(line);
                tail.push(line.to_string());
                if tail.len() > 30 {
                    tail.remove(0);
                }
            }
        }
        if let Some(bollard::models::BuildInfoAux::Default(aux)) = &info.aux {
            image_id = aux.id.clone().or(image_id);
        }
    }
    Ok(image_id)
}

/// The Engine's error, without bollard's wrapping.
pub fn engine_error(error: &bollard::errors::Error) -> String {
    match error {
        bollard::errors::Error::DockerResponseServerError {
            status_code,
            message,
        } => format!("the Docker Engine answered {status_code}: {message}"),
        // A build's own failure, e.g. a step's exit code: the Engine's words as they are.
        bollard::errors::Error::DockerStreamError { error } => error.clone(),
        other => other.to_string(),
    }
}

/// An image as `docker save` writes it, spooled to disk: the config bytes and each layer
/// gzip-compressed into a file of its own, with the digest computed as it was written. A layer
/// is never held whole in memory: a 500 MB image costs its compressed size in a temporary
/// directory, and a few MiB of buffers.
pub struct SavedImage {
    pub config: bytes::Bytes,
    pub layers: Vec<SpooledLayer>,
    /// Holds the files until the image is pushed.
    _dir: tempfile::TempDir,
}

/// One compressed layer on disk.
#[derive(Debug, Clone)]
pub struct SpooledLayer {
    pub path: std::path::PathBuf,
    /// `sha256:…` of the compressed bytes.
    pub digest: String,
    pub size: u64,
}

/// Reads an image back from the Engine (the `docker save` format), streaming the archive to a
/// temporary file and compressing each layer from there.
pub async fn save(docker: &Docker, image: &str) -> anyhow::Result<SavedImage> {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::Builder::new()
        .prefix("lambda-gate-save-")
        .tempdir()
        .context("creating a directory for the image's layers")?;
    let archive = dir.path().join("image.tar");
    let mut file = tokio::io::BufWriter::new(
        tokio::fs::File::create(&archive)
            .await
            .with_context(|| format!("creating {}", archive.display()))?,
    );
    let mut stream = docker.export_image(image);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| anyhow::anyhow!(engine_error(&e)))
            .with_context(|| format!("exporting {image}"))?;
        file.write_all(&chunk)
            .await
            .with_context(|| format!("writing the export of {image}"))?;
    }
    file.flush().await?;
    drop(file);
    tokio::task::spawn_blocking(move || spool_saved(&archive, dir))
        .await?
        .with_context(|| format!("reading the export of {image}"))
}

/// Reads a `docker save` archive held in memory through the same parser as [`save`] (spooled to
/// a temporary file first): the entry point of the `registry_inputs` fuzz target.
pub fn parse_saved(archive: &[u8]) -> anyhow::Result<SavedImage> {
    let dir = tempfile::Builder::new()
        .prefix("lambda-gate-save-")
        .tempdir()
        .context("creating a directory for the image's layers")?;
    let path = dir.path().join("image.tar");
    std::fs::write(&path, archive).with_context(|| format!("writing {}", path.display()))?;
    spool_saved(&path, dir)
}

/// Splits a `docker save` archive holding one image (Docker's layout, `<id>/layer.tar`, or the
/// OCI layout of newer Engines, `blobs/sha256/<hex>`) into its config and compressed layers.
fn spool_saved(
    archive_path: &std::path::Path,
    dir: tempfile::TempDir,
) -> anyhow::Result<SavedImage> {
    use std::io::{Read, Seek};
    /// Entries larger than this are never read into memory (manifest.json and configs are far
    /// smaller).
    const IN_MEMORY: u64 = 16 << 20;
    let mut entries: HashMap<String, (u64, u64)> = HashMap::new();
    let mut manifest = None;
    {
        let mut reader = tar::Archive::new(std::fs::File::open(archive_path)?);
        for entry in reader.entries_with_seek()? {
            let mut entry = entry?;
            if entry.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let name = entry.path()?.to_string_lossy().into_owned();
            let (offset, size) = (entry.raw_file_position(), entry.size());
            if name == "manifest.json" && size <= IN_MEMORY {
                let mut text = Vec::with_capacity(size as usize);
                entry.read_to_end(&mut text)?;
                manifest = Some(text);
            }
            entries.insert(name, (offset, size));
        }
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Entry {
        config: String,
        layers: Vec<String>,
    }
    let manifest = manifest.context("no manifest.json")?;
    let images: Vec<Entry> = serde_json::from_slice(&manifest).context("invalid manifest.json")?;
    let [image] = images.as_slice() else {
        bail!("expected one image, found {}", images.len());
    };
    let archive = std::fs::File::open(archive_path)?;
    let open = |name: &str| -> anyhow::Result<std::io::Take<&std::fs::File>> {
        let (offset, size) = *entries
            .get(name)
            .with_context(|| format!("`{name}` is missing"))?;
        (&archive).seek(std::io::SeekFrom::Start(offset))?;
        Ok((&archive).take(size))
    };
    let config = {
        let (_, size) = entries.get(&image.config).copied().unwrap_or_default();
        if size > IN_MEMORY {
            bail!("the image config `{}` is {size} bytes", image.config);
        }
        let mut bytes = Vec::with_capacity(size as usize);
        open(&image.config)?.read_to_end(&mut bytes)?;
        bytes::Bytes::from(bytes)
    };
    let mut layers: Vec<SpooledLayer> = Vec::new();
    for (index, name) in image.layers.iter().enumerate() {
        if let Some(done) = image.layers[..index]
            .iter()
            .position(|earlier| earlier == name)
        {
            layers.push(layers[done].clone());
            continue;
        }
        let path = dir.path().join(format!("layer-{index}.tar.gz"));
        let (digest, size) = compress_to(&mut open(name)?, &path)
            .with_context(|| format!("compressing the layer `{name}`"))?;
        layers.push(SpooledLayer { path, digest, size });
    }
    // The uncompressed archive is no longer needed: keep only the compressed layers.
    let _ = std::fs::remove_file(archive_path);
    Ok(SavedImage {
        config,
        layers,
        _dir: dir,
    })
}

/// Gzips `layer` into `path`; the compressed bytes' digest and size. Gzip as registries store
/// layers: fast level, no name or mtime in the header, so the same layer always compresses to
/// the same blob (a replay pushes nothing new).
fn compress_to(
    layer: &mut impl std::io::Read,
    path: &std::path::Path,
) -> anyhow::Result<(String, u64)> {
    use sha2::Digest as _;
    use std::io::Write;
    /// Hashes and counts what passes through to the file.
    struct Hashing<W> {
        inner: W,
        hasher: sha2::Sha256,
        size: u64,
    }
    impl<W: Write> Write for Hashing<W> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let written = self.inner.write(buf)?;
            self.hasher.update(&buf[..written]);
            self.size += written as u64;
            Ok(written)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.inner.flush()
        }
    }
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = flate2::write::GzEncoder::new(
        Hashing {
            inner: file,
            hasher: sha2::Sha256::new(),
            size: 0,
        },
        flate2::Compression::fast(),
    );
    // Fed in whole 1 MiB chunks, however the file's reads come back: the compressor's output
    // depends on how its input is split, and the same layer must give the same blob.
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let mut filled = 0;
        while filled < chunk.len() {
            match layer.read(&mut chunk[filled..])? {
                0 => break,
                read => filled += read,
            }
        }
        if filled == 0 {
            break;
        }
        encoder.write_all(&chunk[..filled])?;
    }
    let mut hashing = encoder.finish()?;
    hashing.flush()?;
    let digest = format!("sha256:{:x}", hashing.hasher.finalize());
    Ok((digest, hashing.size))
}

/// The registry login for pulling `image` (`None` for a name without a registry host, or a
/// registry without credentials): asked once per image, not once per platform.
pub async fn login_for(image: &str) -> Option<bollard::auth::DockerCredentials> {
    let reference = super::reference::Reference::parse(image).ok()?;
    super::registry::login(&reference).await.ok().flatten()
}

/// Makes sure the Engine has `image` for `platform`, pulling it (with `credentials`) when it
/// does not.
pub async fn ensure_image(
    docker: &Docker,
    image: &str,
    platform: &Platform,
    credentials: Option<bollard::auth::DockerCredentials>,
) -> anyhow::Result<()> {
    if let Ok(found) = inspect(docker, image).await {
        if found.architecture.as_deref() == Some(platform.architecture.as_str()) {
            return Ok(());
        }
        // The Engine keeps one image per name: drop the other platform's reference (the image
        // itself stays), or a pull by digest is refused as overwriting it.
        let _ = docker
            .remove_image(
                image,
                Some(bollard::query_parameters::RemoveImageOptions {
                    force: true,
                    noprune: true,
                    ..Default::default()
                }),
                None,
            )
            .await;
    }
    pull(docker, image, platform, credentials).await
}

/// Pulls `image` for `platform`, with registry credentials when given.
pub async fn pull(
    docker: &Docker,
    image: &str,
    platform: &Platform,
    credentials: Option<bollard::auth::DockerCredentials>,
) -> anyhow::Result<()> {
    let mut pull = docker.create_image(
        Some(bollard::query_parameters::CreateImageOptions {
            from_image: Some(image.to_string()),
            platform: platform.to_string(),
            ..Default::default()
        }),
        None,
        credentials,
    );
    while let Some(item) = pull.next().await {
        item.map_err(|e| anyhow::anyhow!(engine_error(&e)))
            .with_context(|| format!("pulling {image} for {platform}"))?;
    }
    Ok(())
}

/// The Engine's record of `image` (a name or an ID): the one place the runner inspects images.
pub async fn inspect(docker: &Docker, image: &str) -> anyhow::Result<ImageInspect> {
    docker
        .inspect_image(image)
        .await
        .map_err(|e| anyhow::anyhow!(engine_error(&e)))
        .with_context(|| format!("inspecting {image} in the Docker Engine"))
}

/// Fails unless the inspected image is built for `platform`.
pub fn require_platform(found: &ImageInspect, platform: &Platform) -> anyhow::Result<()> {
    let architecture = found.architecture.as_deref().unwrap_or_default();
    if architecture != platform.architecture {
        bail!("the build for {platform} produced a linux/{architecture} image (its base is not built for {platform})");
    }
    Ok(())
}

/// Holds, for one platform's build, the Engine's local names of its bases.
///
/// The Engine keeps one image per name, so two builds from the same base for different
/// platforms, in parallel on one Engine, would each repoint the name under the other. The lock
/// (a file lock per base name, across processes) makes "make the base this platform's, build"
/// one step; it is released when dropped.
pub struct BaseLock {
    _files: Vec<std::fs::File>,
}

pub fn lock_bases(bases: &[String]) -> anyhow::Result<BaseLock> {
    let dir = std::env::temp_dir().join("lambda-gate-base-locks");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut names: Vec<&String> = bases.iter().collect();
    names.sort();
    names.dedup();
    let mut files = Vec::new();
    for name in names {
        let path = dir.join(format!(
            "{:016x}.lock",
            crate::sweep::repos::fnv1a(name.as_bytes())
        ));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        file.lock()
            .with_context(|| format!("locking {}", path.display()))?;
        files.push(file);
    }
    Ok(BaseLock { _files: files })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands its bytes back in pieces of varying size, as a pipe or a busy disk
    /// may.
    struct Ragged<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl std::io::Read for Ragged<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.step = self.step * 7 % 4093 + 1;
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_layer_compresses_to_the_same_blob_however_it_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        // 3 MiB that compress, and do not compress to nothing.
        let data: Vec<u8> = (0u32..3 << 20)
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8 % 16 + b'a')
            .collect();
        let whole = compress_to(&mut data.as_slice(), &dir.path().join("a.gz")).expect("gzip");
        let ragged = compress_to(
            &mut Ragged {
                data: &data,
                step: 1,
            },
            &dir.path().join("b.gz"),
        )
        .expect("gzip");
        assert_eq!(whole, ragged);
        let written = std::fs::read(dir.path().join("a.gz")).expect("read");
        assert_eq!(whole.1, written.len() as u64);
        assert_eq!(whole.0, crate::runner::sha256_digest(&written));
        let mut unpacked = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&written[..]),
            &mut unpacked,
        )
        .expect("gunzip");
        assert_eq!(unpacked, data);
    }
}
