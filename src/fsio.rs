//! Every file-system access the gate makes goes through here, so that a run can list exactly
//! what it looked at: each file read, each file stat'd or probed (and found absent), each
//! directory walked. The results cache ([`crate::cache::check`]) stores that list with the
//! results and trusts them again only while every entry in it is unchanged.
//!
//! A recording is process-wide (rayon's threads and the walker's threads all report into it),
//! and only one runs at a time: a second [`Recording::start`] gets nothing, and its run is
//! simply not cached. Accesses made while a recording runs by some other work in the process
//! only add inputs, which can make the cache miss, never make it wrong.

use std::fs::Metadata;
use std::io::{self, Read as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

mod pass;
pub use pass::{read_shared, read_shared_string, remember_listing, Pass};

static RECORDING: AtomicBool = AtomicBool::new(false);
static SEEN: Mutex<Option<Notes>> = Mutex::new(None);

/// What a recording has seen so far: each path once (a run looks at most paths several
/// times, and a large run at a few hundred thousand), with the order it was first seen.
#[derive(Default)]
struct Notes {
    seen: std::collections::HashMap<Box<Path>, (u32, Seen)>,
    /// A path was seen in two states: it changed while the run looked at it.
    changed: bool,
}

impl Notes {
    fn note(&mut self, path: &Path, seen: Seen) {
        match self.seen.get_mut(path) {
            Some((_, known)) => match known.merge(seen) {
                Some(merged) => *known = merged,
                None => self.changed = true,
            },
            None => {
                let order = self.seen.len() as u32;
                self.seen.insert(path.into(), (order, seen));
            }
        }
    }
}

/// A path the run looked at, and what it found there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    #[serde(rename = "p")]
    pub path: PathBuf,
    #[serde(rename = "s")]
    pub seen: Seen,
}

/// What a path was when the run looked at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Seen {
    /// Nothing there, or it could not be looked at (the error's kind): it must stay so.
    #[serde(rename = "m")]
    Missing(#[serde(with = "error_kind")] io::ErrorKind),
    /// A file or directory (links followed), identified by its stamp.
    #[serde(rename = "f")]
    Present(Stamp),
    /// There, as a directory or not: all a probe such as "is there a `.git` here" depends on.
    /// A repository's `.git` changes with every `git status`; its being there does not.
    #[serde(rename = "e")]
    Exists { dir: bool },
}

/// What identifies one version of a file or directory: any write to a file changes its size
/// or times, adding, removing or renaming an entry changes its directory's, and the change
/// time cannot be set back by anyone (`touch -d`, `cp -p` and checkouts that keep modification
/// times still move it); a replaced file has another inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "StampFields", from = "StampFields")]
pub struct Stamp {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub size: u64,
    /// Nanoseconds since the epoch (an `i64` spans the years 1678 to 2262).
    pub mtime_ns: i64,
    pub ctime_ns: i64,
}

/// A stamp as stored: an array, since a large run records a few hundred thousand of them.
type StampFields = (u64, u64, u32, u64, i64, i64);

impl From<Stamp> for StampFields {
    fn from(s: Stamp) -> StampFields {
        (s.dev, s.ino, s.mode, s.size, s.mtime_ns, s.ctime_ns)
    }
}

impl From<StampFields> for Stamp {
    fn from((dev, ino, mode, size, mtime_ns, ctime_ns): StampFields) -> Stamp {
        Stamp {
            dev,
            ino,
            mode,
            size,
            mtime_ns,
            ctime_ns,
        }
    }
}

impl Stamp {
    fn is_dir(&self) -> bool {
        self.mode & libc_mode::S_IFMT == libc_mode::S_IFDIR
    }

    pub fn of(metadata: &Metadata) -> Stamp {
        let ns = |secs: i64, nanos: i64| secs.saturating_mul(1_000_000_000).saturating_add(nanos);
        Stamp {
            dev: metadata.dev(),
            ino: metadata.ino(),
            mode: metadata.mode(),
            size: metadata.size(),
            mtime_ns: ns(metadata.mtime(), metadata.mtime_nsec()),
            ctime_ns: ns(metadata.ctime(), metadata.ctime_nsec()),
        }
    }

    /// Whether the stamp is too recent to tell a later change from it: a file changed again
    /// within the file system's timestamp granularity (one clock tick; a second or two on some
    /// file systems) of when it was stamped can keep its times and size. Git calls these
    /// entries "racily clean" and re-reads them; the cache simply does not keep a run that
    /// saw one (the next run, a moment later, is kept).
    fn is_racy(&self, since_ns: i64) -> bool {
        self.mtime_ns >= since_ns || self.ctime_ns >= since_ns
    }
}

impl Seen {
    /// What `path` is now.
    pub fn now(path: &Path) -> Seen {
        Seen::from(std::fs::metadata(path))
    }

    /// Whether `path` is still what this says it was.
    pub fn holds(&self, path: &Path) -> bool {
        match (self, Seen::now(path)) {
            (Seen::Exists { dir }, Seen::Present(stamp)) => stamp.is_dir() == *dir,
            (seen, now) => *seen == now,
        }
    }

    /// What two looks at one path within a run say together, or `None` when they disagree
    /// (the path changed while the run looked at it).
    fn merge(self, other: Seen) -> Option<Seen> {
        match (self, other) {
            (Seen::Exists { dir }, Seen::Present(stamp))
            | (Seen::Present(stamp), Seen::Exists { dir }) => {
                (stamp.is_dir() == dir).then_some(Seen::Present(stamp))
            }
            (a, b) => (a == b).then_some(a),
        }
    }

    fn of_kind(metadata: &io::Result<Metadata>) -> Seen {
        match metadata {
            Ok(metadata) => Seen::Exists {
                dir: metadata.is_dir(),
            },
            Err(error) => Seen::Missing(error.kind()),
        }
    }
}

impl From<io::Result<Metadata>> for Seen {
    fn from(metadata: io::Result<Metadata>) -> Seen {
        match metadata {
            Ok(metadata) => Seen::Present(Stamp::of(&metadata)),
            Err(error) => Seen::Missing(error.kind()),
        }
    }
}

/// How long before a recording's start a change still counts as racy (see
/// [`Stamp::is_racy`]): the coarsest timestamp granularity of the file systems the gate runs
/// on (FAT's two seconds), so it holds without knowing which one a file is on.
pub const RACY_WINDOW: Duration = Duration::from_secs(2);

/// A recording of every path the process looks at until [`Recording::finish`].
pub struct Recording {
    started: SystemTime,
}

/// What a finished recording saw.
pub struct Recorded {
    /// Each path once, in the order first seen; `None` when a path was seen in two states
    /// (it changed while the run read it), so nothing of the run can be kept.
    pub inputs: Option<Vec<Input>>,
    /// The first input whose stamp is too recent to be trusted later, if any.
    pub racy: Option<PathBuf>,
}

impl Recording {
    /// Starts recording, unless another recording runs.
    pub fn start() -> Option<Recording> {
        RECORDING
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()?;
        *lock() = Some(Notes::default());
        Some(Recording {
            started: SystemTime::now(),
        })
    }

    pub fn finish(self) -> Recorded {
        let notes = lock().take().unwrap_or_default();
        RECORDING.store(false, Ordering::Release);
        let since = self
            .started
            .checked_sub(RACY_WINDOW)
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i64);
        let changed = notes.changed;
        let mut ordered: Vec<(u32, Input)> = (notes.seen.into_iter())
            .map(|(path, (order, seen))| {
                let path = path.into_path_buf();
                (order, Input { path, seen })
            })
            .collect();
        ordered.sort_unstable_by_key(|(order, _)| *order);
        let mut inputs: Vec<Input> = ordered.into_iter().map(|(_, input)| input).collect();
        // A path found absent in a directory whose own stamp is kept needs no entry of its
        // own: it can only appear by adding an entry there, which changes the directory's
        // stamp. (A run probes many such paths: `mypy.ini`, `setup.cfg`, `.gitignore` in
        // every Lambda.)
        let dirs: std::collections::HashSet<&Path> = inputs
            .iter()
            .filter(|input| matches!(input.seen, Seen::Present(stamp) if stamp.is_dir()))
            .map(|input| input.path.as_path())
            .collect();
        let covered: Vec<bool> = inputs
            .iter()
            .map(|input| {
                input.seen == Seen::Missing(io::ErrorKind::NotFound)
                    && input.path.parent().is_some_and(|dir| dirs.contains(dir))
            })
            .collect();
        drop(dirs);
        let mut covered = covered.into_iter();
        inputs.retain(|_| !covered.next().unwrap_or(false));
        let racy = inputs
            .iter()
            .find(|input| matches!(input.seen, Seen::Present(stamp) if stamp.is_racy(since)))
            .map(|input| input.path.clone());
        Recorded {
            inputs: (!changed).then_some(inputs),
            racy,
        }
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        // A recording dropped without `finish` (an early error) must not leave the next one
        // locked out; `finish` has stored false already otherwise.
        RECORDING.store(false, Ordering::Release);
    }
}

fn lock() -> std::sync::MutexGuard<'static, Option<Notes>> {
    SEEN.lock().unwrap_or_else(|e| e.into_inner())
}

fn recording() -> bool {
    RECORDING.load(Ordering::Relaxed)
}

fn note(path: &Path, seen: Seen) {
    if let Some(notes) = lock().as_mut() {
        notes.note(path, seen);
    }
}

/// Records what `path` is now, for an access made by code that does not come through here (the
/// walker's own reads of `.gitignore` files, a directory it lists).
pub fn record(path: &Path) {
    if recording() {
        note(path, Seen::now(path));
    }
}

/// `look(path)`, or the error it would give when the pass in progress knows nothing is at
/// `path` ([`pass::known_absent`]).
fn unless_known_absent<'p, T>(
    path: &'p Path,
    look: impl FnOnce(&'p Path) -> io::Result<T>,
) -> io::Result<T> {
    if pass::known_absent(path) {
        // ENOENT (2 on Linux and macOS), so a message naming the error reads as the
        // lookup's would.
        return Err(io::Error::from_raw_os_error(2));
    }
    look(path)
}

/// `std::fs::metadata`, recorded.
pub fn metadata(path: &Path) -> io::Result<Metadata> {
    let metadata = unless_known_absent(path, std::fs::metadata);
    if recording() {
        let seen = match &metadata {
            Ok(metadata) => Seen::Present(Stamp::of(metadata)),
            Err(error) => Seen::Missing(error.kind()),
        };
        note(path, seen);
    }
    metadata
}

/// The kind of what `path` names (links followed), recorded as a kind only: whether it is a
/// file, a directory or nothing is all these probes tell.
fn probe(path: &Path) -> io::Result<Metadata> {
    let metadata = unless_known_absent(path, std::fs::metadata);
    if recording() {
        note(path, Seen::of_kind(&metadata));
    }
    metadata
}

pub fn is_file(path: &Path) -> bool {
    probe(path).is_ok_and(|m| m.is_file())
}

pub fn is_dir(path: &Path) -> bool {
    probe(path).is_ok_and(|m| m.is_dir())
}

pub fn exists(path: &Path) -> bool {
    probe(path).is_ok()
}

/// Opens a file for reading, recording the stamp of what was opened (not of whatever the path
/// names a moment later).
pub fn open(path: &Path) -> io::Result<std::fs::File> {
    let file = unless_known_absent(path, std::fs::File::open);
    if recording() {
        let seen = match &file {
            Ok(file) => Seen::from(file.metadata()),
            Err(error) => Seen::Missing(error.kind()),
        };
        note(path, seen);
    }
    file
}

/// [`open`] with the open file's metadata: one `openat` and one `fstat`, where a `stat` of
/// the path first would take a second lookup of it.
pub fn open_stamped(path: &Path) -> io::Result<(std::fs::File, Metadata)> {
    let file = unless_known_absent(path, std::fs::File::open);
    let opened = file.and_then(|file| Ok((file.metadata()?, file)));
    if recording() {
        let seen = match &opened {
            Ok((metadata, _)) => Seen::Present(Stamp::of(metadata)),
            Err(error) => Seen::Missing(error.kind()),
        };
        note(path, seen);
    }
    opened.map(|(metadata, file)| (file, metadata))
}

/// `std::fs::read`, recorded: one open, one `fstat` (the stamp, and the size to read in one
/// call), one read.
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    read_within(path, u64::MAX)?.map_err(|_| io::Error::from(io::ErrorKind::FileTooLarge))
}

/// [`read`] of a file at most `limit` bytes long; a longer one is not read: `Ok(Err(size))`.
/// The size comes from the open file's stamp, so a walk need not `stat` each file first.
pub fn read_within(path: &Path, limit: u64) -> io::Result<Result<Vec<u8>, u64>> {
    let (mut file, metadata) = open_stamped(path)?;
    let size = metadata.len();
    if size > limit {
        return Ok(Err(size));
    }
    let size = usize::try_from(size).map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
    read_stamped(&mut file, size).map(Ok)
}

/// Reads the `size` bytes the open file's stamp says it holds: no second `fstat`, `lseek`
/// and end-of-file read, which `read_to_end` makes (three of the seven calls a small file
/// cost). A file that grew after its stamp was taken is read as the stamp describes it, and
/// the recorded stamp no longer matches it, so a cached run is not trusted next time. A size
/// of 0 (an empty file, or one that does not know its size) is read to its end.
fn read_stamped(file: &mut std::fs::File, size: usize) -> io::Result<Vec<u8>> {
    if size == 0 {
        // Not `File::read_to_end`: it asks for the position (`lseek`) to size its buffer, a
        // call for every empty `__init__.py`.
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match file.read(&mut chunk) {
                Ok(0) => return Ok(bytes),
                Ok(n) => bytes.extend_from_slice(&chunk[..n]),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }
    let mut bytes = vec![0; size];
    let mut filled = 0;
    while filled < size {
        match file.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}

/// `std::fs::read_to_string`, recorded.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    String::from_utf8(read(path)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// `std::fs::read_dir`, recorded: the directory's stamp changes when an entry is added,
/// removed or renamed.
pub fn read_dir(path: &Path) -> io::Result<std::fs::ReadDir> {
    record(path);
    std::fs::read_dir(path)
}

/// Records a directory the walk ([`crate::walk`]) enters, with the `.gitignore` it reads there
/// (even one that ignores itself, as `.pytest_cache/.gitignore` does).
pub fn record_walked_dir(dir: &Path) {
    if recording() {
        note(dir, Seen::now(dir));
        let gitignore = dir.join(".gitignore");
        note(&gitignore, Seen::now(&gitignore));
    }
}

/// Records a `.git` a walker passes (and skips), with its exclude file: the walker reads
/// `.git/info/exclude` of each repository it enters. A `.git` file (a worktree's, a
/// submodule's) names where its repository lies, so its contents are an input; a `.git`
/// directory's own stamp is not (every `git status` moves it).
pub fn record_git_dir(git: &Path) {
    if recording() {
        let seen = Seen::now(git);
        let seen = match seen {
            Seen::Present(stamp) if stamp.is_dir() => Seen::Exists { dir: true },
            seen => seen,
        };
        note(git, seen);
        let exclude = git.join("info/exclude");
        note(&exclude, Seen::now(&exclude));
    }
}

/// Records the root a walk starts from, and the ignore files the walk reads above it (their
/// absence too). Not the directories above: they
/// change with everything else kept in them (`/tmp`, a home directory), and the walk reads
/// nothing of them but these files.
pub fn record_walk_root(root: &Path) {
    if recording() {
        note(root, Seen::now(root));
        for dir in root.ancestors() {
            record_ignore_files(dir);
        }
    }
}

fn record_ignore_files(dir: &Path) {
    let gitignore = dir.join(".gitignore");
    note(&gitignore, Seen::now(&gitignore));
    let exclude = dir.join(".git/info/exclude");
    note(&exclude, Seen::now(&exclude));
}

/// Whether `inputs` are all as they were: the first one that changed, if any.
pub fn first_changed(inputs: &[Input]) -> Option<&Input> {
    // One `statx` each: only many are worth the workers.
    crate::parallel::find_first(inputs, 64, |input| !input.seen.holds(&input.path))
}

mod libc_mode {
    //! The file-type bits of `st_mode` (POSIX).
    pub const S_IFMT: u32 = 0o170000;
    pub const S_IFDIR: u32 = 0o040000;
}

mod error_kind {
    //! An `io::ErrorKind` as the few kinds that matter here; the rest compare as "other".
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::io::ErrorKind;

    pub fn serialize<S: Serializer>(kind: &ErrorKind, s: S) -> Result<S::Ok, S::Error> {
        let name = match kind {
            ErrorKind::NotFound => "not-found",
            ErrorKind::PermissionDenied => "permission-denied",
            ErrorKind::NotADirectory => "not-a-directory",
            _ => "other",
        };
        name.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ErrorKind, D::Error> {
        Ok(match String::deserialize(d)?.as_str() {
            "not-found" => ErrorKind::NotFound,
            "permission-denied" => ErrorKind::PermissionDenied,
            "not-a-directory" => ErrorKind::NotADirectory,
            _ => ErrorKind::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recordings are process-wide: the tests that make one take turns.
    static TURN: Mutex<()> = Mutex::new(());

    #[test]
    fn a_recording_lists_reads_probes_and_absences_once_each() {
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a.txt");
        std::fs::write(&file, "x").expect("write");
        let recording = Recording::start().expect("no other recording");
        assert!(Recording::start().is_none(), "one recording at a time");
        assert_eq!(read(&file).expect("read"), b"x");
        assert!(is_file(&file));
        assert!(!exists(&dir.path().join("absent")));
        let recorded = recording.finish();
        let inputs = recorded.inputs.expect("nothing changed while recording");
        assert_eq!(inputs.len(), 2, "{inputs:?}");
        assert!(matches!(inputs[0].seen, Seen::Present(_)));
        assert_eq!(inputs[1].seen, Seen::Missing(io::ErrorKind::NotFound));
        assert_eq!(
            recorded.racy.as_deref(),
            Some(file.as_path()),
            "a file written a moment ago is racy"
        );
        assert!(first_changed(&inputs).is_none());
        std::fs::write(dir.path().join("absent"), "").expect("write");
        assert_eq!(
            first_changed(&inputs).map(|i| i.path.clone()),
            Some(dir.path().join("absent"))
        );
    }

    #[test]
    fn a_path_seen_in_two_states_spoils_the_recording() {
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a.txt");
        let recording = Recording::start().expect("no other recording");
        assert!(!exists(&file));
        std::fs::write(&file, "x").expect("write");
        assert!(exists(&file));
        assert!(recording.finish().inputs.is_none());
        assert!(Recording::start().is_some(), "finish ends the recording");
    }

    #[test]
    fn an_absence_in_a_recorded_directory_is_kept_by_the_directory() {
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().expect("tempdir");
        let recording = Recording::start().expect("no other recording");
        record(dir.path());
        assert!(!exists(&dir.path().join("mypy.ini")));
        let inputs = recording.finish().inputs.expect("unchanged");
        assert_eq!(inputs.len(), 1, "{inputs:?}");
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(dir.path().join("mypy.ini"), "").expect("write");
        assert_eq!(
            first_changed(&inputs).map(|i| i.path.clone()),
            Some(dir.path().to_path_buf()),
            "the new file shows in its directory's stamp"
        );
    }

    #[test]
    fn a_probe_depends_on_the_kind_only_and_agrees_with_a_read() {
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().expect("tempdir");
        let git = dir.path().join(".git");
        std::fs::create_dir(&git).expect("mkdir");
        let file = dir.path().join("mypy.ini");
        std::fs::write(&file, "[mypy]\n").expect("write");
        let recording = Recording::start().expect("no other recording");
        assert!(exists(&git));
        assert!(is_file(&file));
        assert_eq!(read(&file).expect("read"), b"[mypy]\n");
        let inputs = recording.finish().inputs.expect("a probe and a read agree");
        assert_eq!(inputs.len(), 2, "{inputs:?}");
        assert_eq!(inputs[0].seen, Seen::Exists { dir: true });
        assert!(
            matches!(inputs[1].seen, Seen::Present(_)),
            "the read's stamp is kept"
        );
        // What git does inside `.git` changes nothing the probe depends on.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(git.join("index"), "x").expect("write");
        assert!(first_changed(&inputs).is_none());
        std::fs::remove_dir_all(&git).expect("rm");
        std::fs::write(&git, "gitdir: elsewhere\n").expect("write");
        assert_eq!(first_changed(&inputs).map(|i| i.path.clone()), Some(git));
    }

    #[test]
    fn a_read_returns_the_whole_file_whatever_its_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        for size in [0, 1, 4095, 4096, 65_537, 3 << 20] {
            let path = dir.path().join(format!("f{size}"));
            let contents: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            std::fs::write(&path, &contents).expect("write");
            assert_eq!(read(&path).expect("read"), contents, "{size} bytes");
        }
        // A file that does not know its size (procfs says 0) is read to its end.
        let status = read(Path::new("/proc/self/status")).expect("read");
        assert!(
            status.starts_with(b"Name:"),
            "{}",
            String::from_utf8_lossy(&status)
        );
        // One longer than a read's chunk.
        let maps = read(Path::new("/proc/self/smaps")).expect("read");
        assert!(
            maps.len() > 4096 && maps.ends_with(b"\n"),
            "{} bytes",
            maps.len()
        );
    }

    #[test]
    fn nothing_is_recorded_without_a_recording() {
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(!exists(&dir.path().join("absent")));
        let recording = Recording::start().expect("no other recording");
        let recorded = recording.finish();
        assert_eq!(recorded.inputs.map(|i| i.len()), Some(0));
    }

    #[test]
    fn a_change_of_contents_times_or_identity_changes_the_stamp() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a.txt");
        std::fs::write(&file, "one").expect("write");
        let before = Seen::now(&file);
        // Same size, and the modification time put back: the change time still moves.
        let mtime = std::fs::metadata(&file)
            .and_then(|m| m.modified())
            .expect("mtime");
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&file, "two").expect("write");
        std::fs::File::options()
            .write(true)
            .open(&file)
            .and_then(|f| f.set_modified(mtime))
            .expect("set mtime");
        assert_ne!(Seen::now(&file), before);
        // Replaced by a rename: another inode.
        let replaced = Seen::now(&file);
        std::fs::write(dir.path().join("b.txt"), "two").expect("write");
        std::fs::rename(dir.path().join("b.txt"), &file).expect("rename");
        assert_ne!(Seen::now(&file), replaced);
        // A directory gaining an entry.
        let listing = Seen::now(dir.path());
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(dir.path().join("c.txt"), "").expect("write");
        assert_ne!(Seen::now(dir.path()), listing);
    }
}
