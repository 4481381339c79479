//! What one check pass has already read, so that it reads it only once: the bytes of a file
//! several families read (`pyproject.toml` is read for mypy, coverage and the policy;
//! `setup.cfg` for mypy and coverage).
//!
//! A memo lives while a [`Pass`] is held. Passes that overlap share one memo (a sweep checks
//! its batches of repositories side by side); it is dropped with the last of them, so the
//! next pass, after a `--fix` has written files, reads again. A file changed while a pass
//! looks at it is seen as it first was, as a run that read it once would see it.
//!
//! Absent files are not memoised: a pass lists no directory to answer probes for them. Tried
//! and measured: listing each Lambda's directory (one `openat`, `fstat`, two `getdents64` and
//! a `close`) cost more than the five failing lookups it saved (BENCHMARKS.md).

use std::collections::HashMap;
use std::io;
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
}
