//! The results cache: what a check found, kept under the user's cache directory and used again
//! only when everything it depended on is the same. Never trusted blindly:
//!
//! - a key is a SHA-256 over the binary's identity (its version, and its executable's size and
//!   modification time, so a rebuilt development binary never reads an older build's entries)
//!   and every input the caller names; entries live under a directory per binary version, so a
//!   cache written by another version is never read;
//! - an entry carries its key and a checksum of its payload: a truncated, corrupt or foreign
//!   file is ignored (and rewritten by the next run), never an error and never a result;
//! - an entry is written to a temporary file and renamed into place, so two runs writing the
//!   same entry at once leave one whole entry, never a mix.
//!
//! A cache that cannot be written (a read-only home, a full disk) is no cache: the run goes on.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

/// The format of an entry; a change of it is a change of every key.
const FORMAT: &str = "lambda-gate-cache 1";

pub mod check;

/// Where cached results live, or nothing when the cache is off (the default).
#[derive(Debug, Clone, Default)]
pub struct Cache {
    dir: Option<PathBuf>,
}

impl Cache {
    /// The cache in `dir`.
    pub fn at(dir: PathBuf) -> Cache {
        Cache { dir: Some(dir) }
    }

    /// No cache (`--no-cache`): nothing read, nothing written.
    pub fn off() -> Cache {
        Cache { dir: None }
    }

    /// The user's cache: `LAMBDA_GATE_CACHE_DIR`, else `$XDG_CACHE_HOME/lambda-gate/results`,
    /// else `~/.cache/lambda-gate/results`; off when none of them is set.
    pub fn user(disabled: bool) -> Cache {
        match (disabled, default_dir()) {
            (false, Some(dir)) => Cache::at(dir),
            _ => Cache::off(),
        }
    }

    pub fn is_on(&self) -> bool {
        self.dir.is_some()
    }

    /// A key for `kind` entries; the caller adds every input the cached result depends on.
    pub fn key(&self, kind: &'static str) -> KeyBuilder {
        let mut hash = Sha256::new();
        for part in [FORMAT, kind, binary_identity()] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part.as_bytes());
        }
        KeyBuilder { kind, hash }
    }

    /// The value stored under `key`, when there is a whole, uncorrupted entry for it.
    pub fn get<T: DeserializeOwned>(&self, key: &Key) -> Option<T> {
        read_entry(&std::fs::read(self.path(key)?).ok()?, key)
    }

    /// Stores `value` under `key`; a failure to write is not an error (the cache is optional).
    pub fn put<T: Serialize>(&self, key: &Key, value: &T) {
        let Some(path) = self.path(key) else { return };
        let _ = write_entry(&path, key, |out| {
            serde_json::to_writer(out, value).map_err(std::io::Error::other)
        });
    }

    fn path(&self, key: &Key) -> Option<PathBuf> {
        let hex = key.hex();
        Some(
            self.dir
                .as_ref()?
                .join(env!("CARGO_PKG_VERSION"))
                .join(key.kind)
                .join(&hex[..2])
                .join(hex),
        )
    }
}

/// The directory the user's cache lives in, when the environment names one.
pub fn default_dir() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("LAMBDA_GATE_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("lambda-gate/results"));
    }
    var("HOME").map(|home| PathBuf::from(home).join(".cache/lambda-gate/results"))
}

/// Removes the cache directory and everything in it; returns the bytes freed.
pub fn clean(dir: &Path) -> std::io::Result<u64> {
    if !dir.exists() {
        return Ok(0);
    }
    let freed = size_of(dir);
    std::fs::remove_dir_all(dir)?;
    Ok(freed)
}

fn size_of(dir: &Path) -> u64 {
    ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .build()
        .flatten()
        .filter_map(|entry| entry.metadata().ok())
        .filter(|meta| meta.is_file())
        .map(|meta| meta.len())
        .sum()
}

/// What a key is made of, added part by part (each part length-prefixed, so that `ab`+`c` and
/// `a`+`bc` differ).
pub struct KeyBuilder {
    kind: &'static str,
    hash: Sha256,
}

impl KeyBuilder {
    pub fn text(mut self, part: &str) -> KeyBuilder {
        self.hash.update((part.len() as u64).to_le_bytes());
        self.hash.update(part.as_bytes());
        self
    }

    pub fn path(self, path: &Path) -> KeyBuilder {
        self.text(&path.to_string_lossy())
    }

    /// A file's contents (not its name); a file that cannot be read makes no key, since the
    /// result could not be tied to what it read.
    pub fn file_contents(mut self, path: &Path) -> Option<KeyBuilder> {
        let bytes = std::fs::read(path).ok()?;
        self.hash.update((bytes.len() as u64).to_le_bytes());
        self.hash.update(&bytes);
        Some(self)
    }

    pub fn build(self) -> Key {
        Key {
            kind: self.kind,
            hash: self.hash.finalize().into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    kind: &'static str,
    hash: [u8; 32],
}

impl Key {
    pub fn hex(&self) -> String {
        self.hash.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The binary's version and its executable's size and modification time: a rebuilt binary is
/// another binary, whatever its version says.
fn binary_identity() -> &'static str {
    static IDENTITY: OnceLock<String> = OnceLock::new();
    IDENTITY.get_or_init(|| {
        let exe = std::env::current_exe()
            .ok()
            .and_then(|path| std::fs::metadata(path).ok())
            .map(|meta| {
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                format!("{} {modified}", meta.len())
            })
            // An executable that cannot be read is not told apart from another build: no key
            // could be trusted, so every key is unique to this process.
            .unwrap_or_else(|| format!("unknown {}", fastrand::u64(..)));
        format!("{} {exe}", env!("CARGO_PKG_VERSION"))
    })
}

/// An entry: a header line `FORMAT`, the key, the payload's SHA-256, then the payload.
pub fn entry(key: &Key, payload: &[u8]) -> Vec<u8> {
    let mut bytes = header(key, &Sha256::digest(payload).into()).into_bytes();
    bytes.extend_from_slice(payload);
    bytes
}

/// An entry's header; its length does not depend on the checksum.
fn header(key: &Key, sum: &[u8; 32]) -> String {
    format!("{FORMAT}\n{}\n{}\n", key.hex(), hex(sum))
}

/// A writer that hashes what goes through it.
struct Hashing<W> {
    inner: W,
    sha: Sha256,
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.sha.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The value an entry's bytes hold for `key`, when its header, key and checksum are all right
/// and its payload reads as a `T`; anything else is no value.
pub fn read_entry<T: DeserializeOwned>(bytes: &[u8], key: &Key) -> Option<T> {
    serde_json::from_slice(verified_payload(bytes, key)?).ok()
}

/// Writes an entry to a temporary file beside `path` and renames it into place. The payload
/// streams through a hash into the file behind a header whose checksum is filled in once it is
/// written, so a large result (tens of MB for 10,000 Lambdas) is never held as bytes too.
fn write_entry(
    path: &Path,
    key: &Key,
    payload: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::Seek as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = dir.join(format!(
        ".{name}.{}.{:x}.tmp",
        std::process::id(),
        fastrand::u64(..)
    ));
    let written = (|| {
        // No fsync: an entry cut short by a crash fails its checksum and is rewritten, so
        // durability is not worth the milliseconds a pre-commit run would wait for it.
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(header(key, &[0; 32]).as_bytes())?;
        let mut out = Hashing {
            inner: std::io::BufWriter::with_capacity(1 << 16, &file),
            sha: Sha256::new(),
        };
        payload(&mut out)?;
        out.flush()?;
        let sum: [u8; 32] = out.sha.finalize().into();
        (&file).rewind()?;
        (&file).write_all(header(key, &sum).as_bytes())
    })();
    match written {
        Ok(()) => std::fs::rename(&temporary, path),
        Err(error) => {
            let _ = std::fs::remove_file(&temporary);
            Err(error)
        }
    }
}

/// The payload of an entry whose header, key and checksum are all right.
fn verified_payload<'b>(bytes: &'b [u8], key: &Key) -> Option<&'b [u8]> {
    let mut rest = bytes;
    let mut line = || {
        let end = memchr::memchr(b'\n', rest)?;
        let (head, tail) = rest.split_at(end);
        rest = &tail[1..];
        std::str::from_utf8(head).ok()
    };
    if line()? != FORMAT || line()? != key.hex() {
        return None;
    }
    let sum = line()?.to_string();
    let payload = rest;
    let actual: [u8; 32] = Sha256::digest(payload).into();
    (hex(&actual) == sum).then_some(payload)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> (tempfile::TempDir, Cache) {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().to_path_buf());
        (dir, cache)
    }

    #[test]
    fn a_value_comes_back_under_its_key_only() {
        let (_dir, cache) = cache();
        let key = cache.key("test").text("a").build();
        cache.put(&key, &vec![1, 2, 3]);
        assert_eq!(cache.get::<Vec<u32>>(&key), Some(vec![1, 2, 3]));
        let other = cache.key("test").text("b").build();
        assert_eq!(cache.get::<Vec<u32>>(&other), None);
        // Parts are length-prefixed: "ab" + "c" is not "a" + "bc".
        let one = cache.key("test").text("ab").text("c").build();
        let two = cache.key("test").text("a").text("bc").build();
        assert_ne!(one, two);
        assert_eq!(Cache::off().get::<Vec<u32>>(&key), None);
    }

    #[test]
    fn a_truncated_corrupt_or_misplaced_entry_is_ignored_and_rewritten() {
        let (_dir, cache) = cache();
        let key = cache.key("test").text("x").build();
        cache.put(&key, &"a result".to_string());
        let path = cache.path(&key).unwrap();
        let whole = std::fs::read(&path).unwrap();
        // Every truncation, and every single-byte change, is refused.
        for end in 0..whole.len() {
            std::fs::write(&path, &whole[..end]).unwrap();
            assert_eq!(cache.get::<String>(&key), None, "truncated at {end}");
        }
        for at in 0..whole.len() {
            let mut bytes = whole.clone();
            bytes[at] ^= 0x20;
            std::fs::write(&path, &bytes).unwrap();
            assert_eq!(cache.get::<String>(&key), None, "byte {at} changed");
        }
        // Another key's entry copied into this key's place is not this key's.
        let other = cache.key("test").text("y").build();
        cache.put(&other, &"another".to_string());
        std::fs::copy(cache.path(&other).unwrap(), &path).unwrap();
        assert_eq!(cache.get::<String>(&key), None);
        cache.put(&key, &"a result".to_string());
        assert_eq!(cache.get::<String>(&key).as_deref(), Some("a result"));
    }

    #[test]
    fn concurrent_writers_leave_one_whole_entry() {
        let (_dir, cache) = cache();
        let key = cache.key("test").text("race").build();
        std::thread::scope(|scope| {
            for writer in 0..8 {
                let cache = &cache;
                let key = &key;
                scope.spawn(move || {
                    for _ in 0..50 {
                        cache.put(key, &vec![writer; 1000]);
                        if let Some(read) = cache.get::<Vec<u32>>(key) {
                            assert!(read.len() == 1000 && read.iter().all(|v| *v == read[0]));
                        }
                    }
                });
            }
        });
        let last = cache.get::<Vec<u32>>(&key).unwrap();
        assert!(last.iter().all(|v| *v == last[0]));
        let leftovers = std::fs::read_dir(cache.path(&key).unwrap().parent().unwrap())
            .unwrap()
            .count();
        assert_eq!(leftovers, 1, "temporary files left behind");
    }

    #[test]
    fn a_cache_that_cannot_be_written_is_no_cache() {
        let file = tempfile::NamedTempFile::new().unwrap();
        // A directory path below a regular file cannot be created.
        let cache = Cache::at(file.path().join("below-a-file"));
        let key = cache.key("test").build();
        cache.put(&key, &1);
        assert_eq!(cache.get::<i32>(&key), None);
    }
}
