//! What one check pass has already read, so that it reads it only once: the bytes of a file
//! several families read (`pyproject.toml` is read for mypy, coverage and the policy;
//! `setup.cfg` for mypy and coverage).
//!
//! A memo lives while a [`Pass`] is held. Passes that overlap share one memo (a sweep checks
//! its batches of repositories side by side); it is dropped with the last of them, so the
//! next pass, after a `--fix` has written files, reads again. A file changed while a pass
//! looks at it is seen as it first was, as a run that read it once would see it.
//!
//! The memo also keeps, for each directory the walk listed, which of the names in
//! [`LOOKED_FOR`] it holds. Every Lambda's directory and those above it are asked for mypy's,
//! coverage.py's and the gate's configuration files and for `.git`, and most hold none of
//! them: a listed directory answers "absent" without a lookup. (Listing a directory only for
//! that costs more than the lookups it saves; the walk lists each one anyway.)

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

static PASSES: Mutex<Passes> = Mutex::new(Passes {
    held: 0,
    memo: None,
});

struct Passes {
    held: usize,
    memo: Option<Memo>,
}

#[derive(Default)]
struct Memo {
    files: HashMap<Box<Path>, Arc<[u8]>>,
    /// For each listed directory (keyed by its path's bytes: far cheaper to hash than a
    /// `Path`), a bit for each name of [`LOOKED_FOR`] it may hold.
    listed: HashMap<Box<[u8]>, Names>,
}

/// The names many directories are asked for and few hold (see the module's comment).
pub const LOOKED_FOR: [&str; 8] = [
    ".git",
    "mypy.ini",
    ".mypy.ini",
    "pyproject.toml",
    "setup.cfg",
    "tox.ini",
    ".coveragerc",
    "lambda-gate.toml",
];

/// A set of [`LOOKED_FOR`]'s names, by index.
type Names = u8;
const _: () = assert!(LOOKED_FOR.len() <= Names::BITS as usize);

/// Which of [`LOOKED_FOR`] a directory holding `names` may hold. A name that matches one but
/// for case counts as that one, and a name beyond ASCII as every one: on a case-insensitive
/// directory (macOS, ext4's casefold) a lookup of `mypy.ini` finds `MYPY.INI`, and Unicode
/// folds a few letters (`ſ`, `K`) to ASCII ones. The lookup then decides.
fn names_in<'a>(names: impl IntoIterator<Item = &'a OsStr>) -> Names {
    let mut held: Names = 0;
    for name in names {
        let name = name.as_bytes();
        if !name.is_ascii() {
            return Names::MAX;
        }
        for (index, looked_for) in LOOKED_FOR.iter().enumerate() {
            if name.eq_ignore_ascii_case(looked_for.as_bytes()) {
                held |= 1 << index;
            }
        }
    }
    held
}

/// While held, shared reads are answered from the memo.
pub struct Pass(());

impl Pass {
    pub fn start() -> Pass {
        let mut passes = lock();
        passes.held += 1;
        if passes.memo.is_none() {
            passes.memo = Some(Memo::default());
        }
        Pass(())
    }
}

impl Pass {
    /// Ends the pass and forgets what it read below `dirs`, while other passes go on: a sweep's
    /// batch is done with its repositories, and holds no memory for them past its end.
    pub fn end_below(self, dirs: &[&Path]) {
        if let Some(memo) = lock().memo.as_mut() {
            memo.files
                .retain(|path, _| !dirs.iter().any(|dir| path.starts_with(dir)));
            let dirs: Vec<&[u8]> = dirs.iter().map(|dir| dir.as_os_str().as_bytes()).collect();
            memo.listed
                .retain(|path, _| !dirs.iter().any(|dir| is_at_or_below(path, dir)));
        }
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut passes = lock();
        passes.held = passes.held.saturating_sub(1);
        if passes.held == 0 {
            passes.memo = None;
        }
    }
}

fn lock() -> MutexGuard<'static, Passes> {
    PASSES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether the path spelled `path` is `dir` or below it, by its bytes (as the walk spells
/// both, from the same root).
fn is_at_or_below(path: &[u8], dir: &[u8]) -> bool {
    let dir = dir.strip_suffix(b"/").unwrap_or(dir);
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/"))
}

/// Keeps which of [`LOOKED_FOR`] the directory `dir` holds, from its whole listing, while a
/// pass is held.
pub fn remember_listing<'a>(dir: &Path, names: impl IntoIterator<Item = &'a OsStr>) {
    let held = names_in(names);
    if let Some(memo) = lock().memo.as_mut() {
        memo.listed.insert(dir.as_os_str().as_bytes().into(), held);
    }
}

/// Whether the pass knows, without a lookup, that nothing is at `path`: its directory was
/// listed, and `path` names one of [`LOOKED_FOR`] the listing did not hold.
pub fn known_absent(path: &Path) -> bool {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return false;
    };
    let Some(index) = LOOKED_FOR
        .iter()
        .position(|n| name.as_bytes() == n.as_bytes())
    else {
        return false;
    };
    let passes = lock();
    let held = passes
        .memo
        .as_ref()
        .and_then(|memo| memo.listed.get(dir.as_os_str().as_bytes()));
    held.is_some_and(|held| held & (1 << index) == 0)
}

/// The bytes of `path`, read once per pass. Outside a pass, a plain read.
pub fn read_shared(path: &Path) -> io::Result<Arc<[u8]>> {
    if let Some(bytes) = lock()
        .memo
        .as_ref()
        .and_then(|memo| memo.files.get(path).cloned())
    {
        return Ok(bytes);
    }
    let bytes: Arc<[u8]> = super::read(path)?.into();
    if let Some(memo) = lock().memo.as_mut() {
        memo.files.insert(path.into(), bytes.clone());
    }
    Ok(bytes)
}

/// [`read_shared`] as UTF-8 text.
pub fn read_shared_string(path: &Path) -> io::Result<String> {
    let bytes = read_shared(path)?;
    std::str::from_utf8(&bytes)
        .map(str::to_owned)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Passes are process-wide: the tests that hold one take turns.
    static TURN: Mutex<()> = Mutex::new(());

    fn turn() -> MutexGuard<'static, ()> {
        TURN.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[test]
    fn a_shared_read_reads_once_per_pass() {
        let _turn = turn();
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pyproject.toml");
        std::fs::write(&file, "one").expect("write");
        let pass = Pass::start();
        assert_eq!(&*read_shared(&file).expect("read"), b"one");
        std::fs::write(&file, "two").expect("write");
        assert_eq!(&*read_shared(&file).expect("read"), b"one", "read once");
        drop(pass);
        assert_eq!(&*read_shared(&file).expect("read"), b"two");
        let _pass = Pass::start();
        assert_eq!(&*read_shared(&file).expect("read"), b"two");
        let other = tempfile::tempdir().expect("tempdir");
        let other_file = other.path().join("setup.cfg");
        std::fs::write(&other_file, "one").expect("write");
        let batch = Pass::start();
        assert_eq!(&*read_shared(&other_file).expect("read"), b"one");
        std::fs::write(&other_file, "two").expect("write");
        std::fs::write(&file, "three").expect("write");
        batch.end_below(&[other.path()]);
        assert_eq!(
            &*read_shared(&other_file).expect("read"),
            b"two",
            "forgotten"
        );
        assert_eq!(
            &*read_shared(&file).expect("read"),
            b"two",
            "kept: a pass holds it"
        );
        let absent_file = dir.path().join("setup.cfg");
        for _ in 0..3 {
            let error = read_shared(&absent_file).expect_err("absent");
            assert_eq!(error.kind(), io::ErrorKind::NotFound);
        }
    }

    /// A temporary directory holding a Lambda's directory `fn` with `files`.
    fn lambda_with(files: &[(&str, &str)]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let lambda = dir.path().join("fn");
        std::fs::create_dir(&lambda).expect("mkdir");
        for (name, text) in files {
            std::fs::write(lambda.join(name), text).expect("write");
        }
        (dir, lambda)
    }

    #[test]
    fn a_listed_directory_answers_for_the_names_it_lacks() {
        let _turn = turn();
        let (dir, lambda) = lambda_with(&[("pyproject.toml", "[tool.mypy]\n"), ("TOX.INI", "")]);
        let listing = |dir: &Path| -> Vec<std::ffi::OsString> {
            (std::fs::read_dir(dir).expect("list").flatten())
                .map(|entry| entry.file_name())
                .collect()
        };
        // Outside a pass nothing is kept.
        remember_listing(&lambda, listing(&lambda).iter().map(|n| n.as_os_str()));
        assert!(!known_absent(&lambda.join("setup.cfg")));

        let pass = Pass::start();
        remember_listing(&lambda, listing(&lambda).iter().map(|n| n.as_os_str()));
        let real_error = std::fs::metadata(lambda.join("setup.cfg")).expect_err("absent");
        // Created after the listing: the pass answers as the listing said, with no lookup.
        std::fs::write(lambda.join("setup.cfg"), "[mypy]\n").expect("write");
        std::fs::write(lambda.join("mypy.ini"), "[mypy]\n").expect("write");
        for absent in ["setup.cfg", "mypy.ini", ".mypy.ini", ".coveragerc", ".git"] {
            assert!(known_absent(&lambda.join(absent)), "{absent}");
        }
        let error = crate::fsio::metadata(&lambda.join("setup.cfg")).expect_err("known absent");
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert_eq!(error.to_string(), real_error.to_string());
        assert!(!crate::fsio::exists(&lambda.join("mypy.ini")));
        assert!(crate::fsio::open(&lambda.join("setup.cfg")).is_err());
        // What the listing holds, in any case, and names it was not asked to keep, are looked up.
        assert!(!known_absent(&lambda.join("pyproject.toml")));
        assert!(!known_absent(&lambda.join("tox.ini")));
        assert!(!known_absent(&lambda.join("requirements.txt")));
        assert!(crate::fsio::exists(&lambda.join("pyproject.toml")));
        // A directory that was not listed is looked up.
        assert!(!known_absent(&dir.path().join("setup.cfg")));
        // A name beyond ASCII may fold to any of them.
        let other = dir.path().join("other");
        std::fs::create_dir(&other).expect("mkdir");
        remember_listing(&other, [std::ffi::OsStr::new("\u{17f}etup.cfg")]);
        assert!(!known_absent(&other.join("setup.cfg")));
        // A batch that ends forgets its directories; another batch of the pass keeps its own.
        let kept = dir.path().join("kept");
        remember_listing(&kept, []);
        let other_batch = Pass::start();
        pass.end_below(&[lambda.as_path()]);
        assert!(
            !known_absent(&lambda.join("setup.cfg")),
            "forgotten with its batch"
        );
        assert!(crate::fsio::exists(&lambda.join("setup.cfg")));
        assert!(
            known_absent(&kept.join("setup.cfg")),
            "kept by the other batch"
        );
        drop(other_batch);
        assert!(!known_absent(&kept.join("setup.cfg")), "gone with the pass");
    }

    #[test]
    fn the_walk_keeps_whole_listings_ignored_names_included() {
        let _turn = turn();
        // mypy and coverage.py read their configuration whatever git ignores.
        let (dir, lambda) = lambda_with(&[
            (".gitignore", "setup.cfg\n"),
            ("setup.cfg", "[mypy]\n"),
            ("handler.py", ""),
        ]);
        let _pass = Pass::start();
        let enter = |_: &crate::walk::Entry| true;
        let keep = |entry: &crate::walk::Entry| Some(entry.path.to_path_buf());
        let walked = crate::walk::walk(dir.path(), Default::default(), &enter, &keep);
        assert!(!walked.found.contains(&lambda.join("setup.cfg")), "ignored");
        assert!(crate::fsio::exists(&lambda.join("setup.cfg")));
        assert!(crate::fsio::read_shared(&lambda.join("setup.cfg")).is_ok());
        assert!(known_absent(&lambda.join("tox.ini")));
        assert!(
            known_absent(&dir.path().join("mypy.ini")),
            "the root is listed too"
        );
    }
}
