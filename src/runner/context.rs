//! The build context: the project directory as a tar, with `.dockerignore` applied as Docker
//! applies it, symlinks archived as links (never followed, so nothing outside the context gets
//! in), and every header normalised, so the same files always make the same bytes and the same
//! inputs digest.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::build_context::DockerIgnore;

#[derive(Debug, Error)]
pub enum ContextError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Pattern(#[from] crate::build_context::PatternError),
}

/// A context ready to send: the tar bytes and their digest.
#[derive(Debug)]
pub struct Context {
    pub tar: Vec<u8>,
    pub digest: String,
    pub files: usize,
}

/// The files Docker sends even when `.dockerignore` names them (the builder needs them).
const ALWAYS_SENT: [&str; 2] = ["Dockerfile", ".dockerignore"];

/// Archives `root` for a build whose Dockerfile is `dockerfile` (relative to `root`).
pub fn archive(root: &Path, dockerfile: &str) -> Result<Context, ContextError> {
    let ignore_path = root.join(".dockerignore");
    let ignore = match fs::read(&ignore_path) {
        Ok(bytes) => DockerIgnore::parse(&String::from_utf8_lossy(&bytes), &ignore_path)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => DockerIgnore::default(),
        Err(source) => {
            return Err(ContextError::Io {
                path: ignore_path,
                source,
            })
        }
    };
    let mtime = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    let mut files = 0;
    let mut stack = vec![PathBuf::new()];
    while let Some(relative_dir) = stack.pop() {
        let dir = root.join(&relative_dir);
        let mut entries: Vec<_> = fs::read_dir(&dir)
            .map_err(|source| ContextError::Io {
                path: dir.clone(),
                source,
            })?
            .collect::<Result<_, _>>()
            .map_err(|source| ContextError::Io {
                path: dir.clone(),
                source,
            })?;
        entries.sort_by_key(|e| e.file_name());
        let mut subdirectories = Vec::new();
        for entry in entries {
            let relative = relative_dir.join(entry.file_name());
            let name = relative.to_string_lossy().replace('\\', "/");
            let path = entry.path();
            let io_error = |source| ContextError::Io {
                path: path.clone(),
                source,
            };
            let kind = entry.file_type().map_err(io_error)?;
            let forced = ALWAYS_SENT.contains(&name.as_str()) || name == dockerfile;
            let excluded = !forced && ignore.is_excluded(&name);
            if kind.is_dir() {
                if excluded && !ignore.may_include_below(&name) {
                    continue;
                }
                if !excluded {
                    append(
                        &mut builder,
                        &relative,
                        &path,
                        tar::EntryType::Directory,
                        mtime,
                    )?;
                }
                subdirectories.push(relative);
                continue;
            }
            if excluded {
                continue;
            }
            if kind.is_symlink() {
                append(
                    &mut builder,
                    &relative,
                    &path,
                    tar::EntryType::Symlink,
                    mtime,
                )?;
            } else if kind.is_file() {
                append(
                    &mut builder,
                    &relative,
                    &path,
                    tar::EntryType::Regular,
                    mtime,
                )?;
                files += 1;
            }
            // Sockets, FIFOs and devices have no place in a build context.
        }
        // Depth-first in name order: the stack takes the last pushed first.
        stack.extend(subdirectories.into_iter().rev());
    }
    let tar = builder.into_inner().map_err(|source| ContextError::Io {
        path: root.to_path_buf(),
        source,
    })?;
    Ok(Context {
        digest: super::sha256_digest(&tar),
        tar,
        files,
    })
}

fn append(
    builder: &mut tar::Builder<Vec<u8>>,
    relative: &Path,
    path: &Path,
    kind: tar::EntryType,
    mtime: u64,
) -> Result<(), ContextError> {
    let io_error = |source| ContextError::Io {
        path: path.to_path_buf(),
        source,
    };
    let metadata = fs::symlink_metadata(path).map_err(io_error)?;
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    use std::os::unix::fs::PermissionsExt;
    let executable = metadata.permissions().mode() & 0o111 != 0;
    match kind {
        tar::EntryType::Directory => {
            header.set_mode(0o755);
            header.set_size(0);
            builder
                .append_data(&mut header, relative, io::empty())
                .map_err(io_error)
        }
        tar::EntryType::Symlink => {
            let target = fs::read_link(path).map_err(io_error)?;
            header.set_mode(0o777);
            header.set_size(0);
            builder
                .append_link(&mut header, relative, target)
                .map_err(io_error)
        }
        _ => {
            header.set_mode(if executable { 0o755 } else { 0o644 });
            header.set_size(metadata.len());
            let file = fs::File::open(path).map_err(io_error)?;
            builder
                .append_data(&mut header, relative, file)
                .map_err(io_error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_is_deterministic_never_follows_symlinks_and_keeps_the_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("Dockerfile"), "FROM scratch\n").unwrap();
        fs::write(root.join(".dockerignore"), "Dockerfile\nsecret.txt\n").unwrap();
        fs::write(root.join("secret.txt"), "x").unwrap();
        fs::create_dir(root.join("app")).unwrap();
        fs::write(root.join("app/handler.py"), "def handler(e, c): return 1\n").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("app/outside")).unwrap();
        let first = archive(root, "Dockerfile").unwrap();
        let second = archive(root, "Dockerfile").unwrap();
        assert_eq!(first.digest, second.digest);
        let mut names = Vec::new();
        let mut reader = tar::Archive::new(first.tar.as_slice());
        for entry in reader.entries().unwrap() {
            let entry = entry.unwrap();
            if entry.header().entry_type() == tar::EntryType::Symlink {
                assert_eq!(
                    entry.link_name().unwrap().unwrap(),
                    Path::new("/etc/passwd")
                );
                assert_eq!(entry.header().size().unwrap(), 0);
            }
            names.push(entry.path().unwrap().to_string_lossy().to_string());
        }
        assert!(names.contains(&"Dockerfile".to_string()));
        assert!(!names.contains(&"secret.txt".to_string()));
        assert!(names.contains(&"app/outside".to_string()));
        fs::write(root.join("app/handler.py"), "def handler(e, c): return 2\n").unwrap();
        assert_ne!(archive(root, "Dockerfile").unwrap().digest, first.digest);
    }
}
