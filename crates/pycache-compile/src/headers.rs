//! Remembering the headers of caches already read or written, so that a
//! run with nothing to do stats each cache instead of opening and reading
//! it (one system call instead of three, the largest part of a no-op run).
//!
//! An entry holds the first bytes of a cache (what `plan::is_fresh` judges:
//! the header and one byte of body) together with the file's identity when
//! they were read: device, inode, size, mtime and ctime, and the mount it
//! was reached through. Rewriting a file in
//! place changes its ctime, which no system call can set back; replacing it
//! by a rename, as every writer of caches does, changes the inode. So an
//! unchanged identity means unchanged bytes, with one gap: a change within
//! the same tick of the file system's clock as the change before it leaves
//! ctime as it was. An entry is therefore recorded only when the file's
//! ctime is older, by more than a tick, than the clock before the read
//! (git calls the others "racily clean").
//!
//! None of that holds across file systems: another image mounted at the
//! same path can hold a file with the same device (the same loop device),
//! inode, size and times. So the identity includes the mount, by the
//! kernel's unique mount id (`statx`, Linux 6.8+; older kernels give an id
//! that a later mount may reuse), and the memory is kept for one boot only
//! (`/proc/sys/kernel/random/boot_id`), since ids start again at boot.
//! Any remount, of the same image or another, costs one read per cache.
//!
//! The memory is an index, never an authority: a lookup whose identity
//! does not match falls back to reading the file, and the freshness rules
//! are applied to the remembered bytes exactly as to read ones.

use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use rustc_hash::FxHashMap;
use std::os::unix::fs::OpenOptionsExt;

use rustix::fs::OFlags;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

const FORMAT: u32 = 2;

/// `STATX_MNT_ID_UNIQUE` (Linux 6.8): a mount id never reused while the
/// machine is up.
const STATX_MNT_ID_UNIQUE: u32 = 0x4000;

/// A memory no run has used for this long is deleted: trees come and go
/// (a build directory, a temporary checkout), and one file is kept per
/// set of arguments.
const UNUSED_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// How stale a used memory's mtime may get before a run that only read it
/// renews it, so that it is not taken for unused.
const RENEW_AFTER: Duration = Duration::from_secs(24 * 3600);

/// How many bytes of a cache are judged: the longest header and one byte.
pub(crate) const HEAD: usize = 17;

/// A file's identity: what changes whenever its bytes can have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    /// The mount id, and whether it is the unique kind (0 when the
    /// kernel gives none).
    mount: (u64, bool),
}

impl Identity {
    fn from_statx(stx: &rustix::fs::Statx) -> Option<Self> {
        use rustix::fs::{FileType, StatxFlags};
        if FileType::from_raw_mode(u32::from(stx.stx_mode)) != FileType::RegularFile {
            return None;
        }
        let mask = StatxFlags::from_bits_retain(stx.stx_mask);
        let unique = mask.contains(StatxFlags::from_bits_retain(STATX_MNT_ID_UNIQUE));
        let mount = if unique || mask.contains(StatxFlags::MNT_ID) { stx.stx_mnt_id } else { 0 };
        Some(Self {
            dev: (u64::from(stx.stx_dev_major) << 32) | u64::from(stx.stx_dev_minor),
            ino: stx.stx_ino,
            size: stx.stx_size,
            mtime: (stx.stx_mtime.tv_sec, i64::from(stx.stx_mtime.tv_nsec)),
            ctime: (stx.stx_ctime.tv_sec, i64::from(stx.stx_ctime.tv_nsec)),
            mount: (mount, unique),
        })
    }

    fn mask() -> rustix::fs::StatxFlags {
        use rustix::fs::StatxFlags;
        StatxFlags::BASIC_STATS | StatxFlags::MNT_ID | StatxFlags::from_bits_retain(STATX_MNT_ID_UNIQUE)
    }

    /// The identity of the regular file at `path` (a symbolic link is not
    /// followed: it has none).
    fn at(path: &Path) -> Option<Self> {
        use rustix::fs::{AtFlags, CWD};
        Self::from_statx(&rustix::fs::statx(CWD, path, AtFlags::SYMLINK_NOFOLLOW, Self::mask()).ok()?)
    }

    /// The identity of the regular file open as `file`.
    fn of(file: &std::fs::File) -> Option<Self> {
        use rustix::fs::AtFlags;
        Self::from_statx(&rustix::fs::statx(file, "", AtFlags::EMPTY_PATH, Self::mask()).ok()?)
    }

    /// Whether a change to the file after `before` must give it another
    /// ctime. A file system that keeps whole seconds only (ctime with no
    /// nanoseconds) may stamp a later change with the same second, so it
    /// needs a wider margin than one clock tick.
    fn settled(&self, before: SystemTime) -> bool {
        let margin = if self.ctime.1 == 0 { Duration::from_secs(3) } else { Duration::from_millis(20) };
        let Ok(now) = before.duration_since(UNIX_EPOCH) else { return false };
        let Ok(secs) = u64::try_from(self.ctime.0) else { return false };
        let ctime = Duration::new(secs, self.ctime.1.clamp(0, 999_999_999) as u32);
        ctime + margin < now
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Store {
    format: u32,
    /// The boot the entries belong to.
    boot: Vec<u8>,
    entries: Vec<(Vec<u8>, Identity, Vec<u8>)>,
}

/// This boot's id: mount ids start again at each boot.
fn boot_id() -> Vec<u8> {
    std::fs::read("/proc/sys/kernel/random/boot_id").unwrap_or_default()
}

#[derive(Debug)]
struct Known {
    identity: Identity,
    head: Vec<u8>,
    used: AtomicBool,
}

/// Paths as bytes: hashing a `Path` walks its components, which costs
/// more than the lookup saves.
type Key = Box<[u8]>;

/// The heads of caches known from earlier runs, and those learnt in this one.
#[derive(Debug, Default)]
pub struct HeaderMemory {
    file: Option<PathBuf>,
    known: FxHashMap<Key, Known>,
    learnt: Mutex<Vec<(PathBuf, Identity, Vec<u8>)>>,
}

impl HeaderMemory {
    /// Loads `file` (a missing or unreadable file is an empty memory);
    /// `None` remembers nothing between runs.
    pub fn open(file: Option<PathBuf>) -> Self {
        let store = file
            .as_deref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|bytes| postcard::from_bytes::<Store>(&bytes).ok())
            .filter(|store| store.format == FORMAT && store.boot == boot_id())
            .unwrap_or_default();
        if let Some(file) = &file {
            renew(file);
        }
        let known = store
            .entries
            .into_iter()
            .map(|(path, identity, head)| {
                (path.into_boxed_slice(), Known { identity, head, used: AtomicBool::new(false) })
            })
            .collect();
        Self { file, known, learnt: Mutex::new(Vec::new()) }
    }

    /// The first bytes of `cache` (up to [`HEAD`]), or `None` when it
    /// cannot be opened or read, or is not a regular file (a symbolic
    /// link is not followed, a FIFO not waited for).
    pub fn head(&self, cache: &Path) -> Option<Vec<u8>> {
        if let Some(known) = self.known.get(cache.as_os_str().as_bytes())
            && Identity::at(cache).is_some_and(|identity| identity == known.identity)
        {
            known.used.store(true, Ordering::Relaxed);
            return Some(known.head.clone());
        }
        self.read(cache)
    }

    /// Reads the head of `cache` and remembers it when it is settled.
    fn read(&self, cache: &Path) -> Option<Vec<u8>> {
        let mut file = std::fs::File::options()
            .read(true)
            .custom_flags((OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY).bits() as i32)
            .open(cache)
            .ok()?;
        let identity = Identity::of(&file);
        if identity.is_none() && !file.metadata().ok()?.is_file() {
            return None;
        }
        let before = SystemTime::now();
        let mut buf = [0u8; HEAD];
        let mut filled = 0;
        while filled < buf.len() {
            match file.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        let head = buf[..filled].to_vec();
        if self.file.is_some()
            && let Some(identity) = identity.filter(|id| id.settled(before))
        {
            self.learnt.lock().expect("header memory lock").push((cache.to_owned(), identity, head.clone()));
        }
        Some(head)
    }

    /// Reads and remembers the heads of caches this run wrote, so that the
    /// next run can trust them without reading.
    pub fn learn(&self, cache: &Path) {
        if self.file.is_some() {
            let _ = self.read(cache);
        }
    }

    /// Writes the memory back: the entries used or learnt in this run, and
    /// no others (the caches of files that are gone drop out). Nothing is
    /// written when nothing changed; failing to write only costs reads
    /// next time.
    pub fn save(&mut self) {
        let Some(file) = &self.file else { return };
        let learnt = std::mem::take(self.learnt.get_mut().expect("header memory lock"));
        if learnt.is_empty() && self.known.values().all(|known| known.used.load(Ordering::Relaxed)) {
            return;
        }
        let mut entries: FxHashMap<Key, (Identity, Vec<u8>)> = FxHashMap::default();
        entries.reserve(self.known.len());
        let mut dropped = false;
        for (path, known) in self.known.drain() {
            if known.used.into_inner() {
                entries.insert(path, (known.identity, known.head));
            } else {
                dropped = true;
            }
        }
        let mut changed = dropped;
        for (path, identity, head) in learnt {
            let path: Key = path.into_os_string().into_vec().into_boxed_slice();
            if entries.get(&path).is_none_or(|(id, h)| *id != identity || *h != head) {
                changed = true;
            }
            entries.insert(path, (identity, head));
        }
        if !changed {
            return;
        }
        let store = Store {
            format: FORMAT,
            boot: boot_id(),
            entries: entries.into_iter().map(|(path, (identity, head))| (path.into_vec(), identity, head)).collect(),
        };
        let result = postcard::to_stdvec(&store)
            .map_err(std::io::Error::other)
            .and_then(|bytes| pycache_python::write_state_file(file, &bytes));
        if let Err(err) = result {
            tracing::debug!("cannot save `{}`: {err}", file.display());
        }
        if let Some(dir) = file.parent() {
            forget_unused(dir, SystemTime::now());
        }
    }
}

/// Moves the mtime of a memory in use forward, at most once a day.
fn renew(file: &Path) {
    let now = SystemTime::now();
    let Ok(modified) = std::fs::metadata(file).and_then(|meta| meta.modified()) else { return };
    if now.duration_since(modified).is_ok_and(|age| age > RENEW_AFTER)
        && let Err(err) = std::fs::File::options().append(true).open(file).and_then(|f| f.set_modified(now))
    {
        tracing::debug!("cannot renew `{}`: {err}", file.display());
    }
}

/// Deletes the memories in `dir` that no run has used for [`UNUSED_FOR`].
fn forget_unused(dir: &Path, now: SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "bin") {
            continue;
        }
        let unused = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .is_ok_and(|modified| now.duration_since(modified).is_ok_and(|age| age > UNUSED_FOR));
        if unused {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Where the memory of a run over `paths` lives under the cache directory
/// `dir`: one file per set of arguments, so that trees do not evict each
/// other's entries.
pub fn memory_file(dir: &Path, paths: &[PathBuf]) -> PathBuf {
    use std::hash::Hasher;
    let mut hasher = siphasher::sip::SipHasher13::new_with_keys(0x7079_6361_6368_6568, 0);
    let cwd = std::env::current_dir().unwrap_or_default();
    for path in paths {
        hasher.write(cwd.join(path).as_os_str().as_bytes());
        hasher.write_u8(0);
    }
    dir.join("headers").join(format!("{:016x}.bin", hasher.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settle(path: &Path) {
        // Back-date the file's ctime the only way there is: wait.
        let identity = Identity::at(path).unwrap();
        while !identity.settled(SystemTime::now()) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_settled_head_is_remembered_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("memory.bin");
        let cache = dir.path().join("x.pyc");
        std::fs::write(&cache, b"0123456789abcdefXYZ").unwrap();
        settle(&cache);

        let mut memory = HeaderMemory::open(Some(store.clone()));
        assert_eq!(memory.head(&cache).unwrap(), b"0123456789abcdefX");
        memory.save();

        // Another file with the same name is read, not remembered.
        let mut again = HeaderMemory::open(Some(store.clone()));
        assert!(again.known.contains_key(cache.as_os_str().as_bytes()));
        // Rewritten in place with the same size: the ctime moved on.
        std::fs::write(&cache, b"fedcba9876543210QRS").unwrap();
        assert_eq!(again.head(&cache).unwrap(), b"fedcba9876543210Q");
        again.save();
    }

    #[test]
    fn only_a_ctime_older_than_a_tick_is_settled() {
        let now = SystemTime::now();
        let since = now.duration_since(UNIX_EPOCH).unwrap();
        let at = |ago: Duration, nanos: bool| {
            let t = since - ago;
            let ns = if nanos { i64::from(t.subsec_nanos().max(1)) } else { 0 };
            Identity { dev: 1, ino: 2, size: 3, mtime: (0, 0), ctime: (t.as_secs() as i64, ns), mount: (4, true) }
        };
        assert!(!at(Duration::ZERO, true).settled(now));
        assert!(!at(Duration::from_millis(5), true).settled(now));
        assert!(at(Duration::from_millis(500), true).settled(now));
        // Whole seconds: the file system may stamp a later change alike.
        assert!(!at(Duration::from_secs(2), false).settled(now));
        assert!(at(Duration::from_secs(5), false).settled(now));
    }

    #[test]
    fn a_fresh_file_is_read_but_not_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("memory.bin");
        let cache = dir.path().join("x.pyc");
        std::fs::write(&cache, b"0123456789abcdefX").unwrap();
        let mut memory = HeaderMemory::open(Some(store.clone()));
        assert_eq!(memory.head(&cache).unwrap(), b"0123456789abcdefX");
        // The memory's clock reading came before this one: a file it kept
        // must be settled by now too, which a file written a moment ago is
        // not (unless the machine stalled for longer than a tick).
        let settled_now = Identity::at(&cache).unwrap().settled(SystemTime::now());
        memory.save();
        let kept = HeaderMemory::open(Some(store)).known.contains_key(cache.as_os_str().as_bytes());
        assert!(!kept || settled_now, "an unsettled file was remembered");
    }

    #[test]
    fn unused_entries_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("memory.bin");
        let (a, b) = (dir.path().join("a.pyc"), dir.path().join("b.pyc"));
        std::fs::write(&a, b"aaaaaaaaaaaaaaaaa").unwrap();
        std::fs::write(&b, b"bbbbbbbbbbbbbbbbb").unwrap();
        settle(&a);
        settle(&b);
        let mut memory = HeaderMemory::open(Some(store.clone()));
        memory.learn(&a);
        memory.learn(&b);
        memory.save();
        let mut memory = HeaderMemory::open(Some(store.clone()));
        assert_eq!(memory.known.len(), 2);
        memory.head(&a).unwrap();
        memory.save();
        let memory = HeaderMemory::open(Some(store));
        assert_eq!(memory.known.keys().map(|k| &k[..]).collect::<Vec<_>>(), [a.as_os_str().as_bytes()]);
    }

    #[test]
    fn a_matching_identity_answers_without_reading() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("x.pyc");
        std::fs::write(&cache, b"0123456789abcdefX").unwrap();
        let identity = Identity::at(&cache).unwrap();
        let mut memory = HeaderMemory::default();
        let remembered = Known { identity, head: b"remembered".to_vec(), used: AtomicBool::new(false) };
        memory.known.insert(cache.as_os_str().as_bytes().into(), remembered);
        assert_eq!(memory.head(&cache).unwrap(), b"remembered");
        // Any change to the file, even of its mode, moves ctime on (a change
        // within the same clock tick would not: `settled` keeps those out).
        std::thread::sleep(Duration::from_millis(30));
        std::fs::set_permissions(&cache, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        assert_eq!(memory.head(&cache).unwrap(), b"0123456789abcdefX");
    }

    #[test]
    fn memories_unused_for_a_month_are_deleted_and_used_ones_renewed() {
        let dir = tempfile::tempdir().unwrap();
        let age = |days: u64| SystemTime::now() - Duration::from_secs(days * 24 * 3600);
        let set_age = |path: &Path, days: u64| {
            std::fs::File::options().append(true).open(path).unwrap().set_modified(age(days)).unwrap();
        };
        let (old, recent, other) =
            (dir.path().join("old.bin"), dir.path().join("recent.bin"), dir.path().join("x.txt"));
        for (path, days) in [(&old, 40), (&recent, 10), (&other, 40)] {
            std::fs::write(path, b"").unwrap();
            set_age(path, days);
        }
        // A memory read by a run is renewed, and so survives.
        let used = dir.path().join("used.bin");
        std::fs::write(&used, b"").unwrap();
        set_age(&used, 40);
        let _ = HeaderMemory::open(Some(used.clone()));
        forget_unused(dir.path(), SystemTime::now());
        assert!(!old.exists());
        assert!(recent.exists() && other.exists() && used.exists());
    }

    #[test]
    fn a_store_of_another_boot_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("memory.bin");
        let cache = dir.path().join("x.pyc");
        std::fs::write(&cache, b"0123456789abcdefX").unwrap();
        settle(&cache);
        let mut memory = HeaderMemory::open(Some(store.clone()));
        memory.head(&cache).unwrap();
        memory.save();
        assert_eq!(HeaderMemory::open(Some(store.clone())).known.len(), 1);
        let mut saved: Store = postcard::from_bytes(&std::fs::read(&store).unwrap()).unwrap();
        assert_eq!(saved.boot, boot_id());
        saved.boot = b"another boot".to_vec();
        std::fs::write(&store, postcard::to_stdvec(&saved).unwrap()).unwrap();
        assert!(HeaderMemory::open(Some(store)).known.is_empty());
    }

    #[test]
    fn the_identity_holds_the_mount() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("x.pyc");
        std::fs::write(&cache, b"x").unwrap();
        let identity = Identity::at(&cache).unwrap();
        assert_ne!(identity.mount.0, 0, "the kernel gives no mount id");
        assert_eq!(Identity::of(&std::fs::File::open(&cache).unwrap()), Some(identity));
        // A symbolic link or a directory has no identity: never trusted.
        std::os::unix::fs::symlink(&cache, dir.path().join("link.pyc")).unwrap();
        assert_eq!(Identity::at(&dir.path().join("link.pyc")), None);
        assert_eq!(Identity::at(dir.path()), None);
    }

    #[test]
    fn a_store_of_another_format_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("memory.bin");
        std::fs::write(&store, b"\xff\xff\xff\xff garbage").unwrap();
        assert!(HeaderMemory::open(Some(store)).known.is_empty());
    }
}
