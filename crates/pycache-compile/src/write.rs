//! Putting a cache in place so that no reader ever sees a partial file,
//! and never through a symbolic link.
//!
//! The bytes go to a temporary file beside the cache, named like the
//! importer's (`<cache>.<number>`), which is then renamed over the cache. A
//! crash at any point leaves the old cache or the new one, plus at worst a
//! temporary file, which a later run removes ([`CacheDir::remove_debris`]).
//! Like `py_compile`, a symlink or a non-regular file at the cache path is
//! never written through.
//!
//! Every directory on the way is opened relative to its parent's
//! descriptor with `O_NOFOLLOW`, from an anchor the caller trusts as named
//! (the directory argument the source was found under, or the pycache
//! prefix), and the file is created and renamed relative to its
//! directory's descriptor. A symbolic link anywhere below the anchor
//! (`app/__pycache__ -> /srv/victim/__pycache__`) is refused, with its name,
//! however late it is swapped in. A directory this creates gets no write
//! bit for group or others that its parent lacks, so a `umask 000` does
//! not make a world-writable `__pycache__`.

use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("`{0}` is a symlink, and caches are not written through symlinks")]
    Symlink(PathBuf),
    /// A directory on the way to the cache is a symbolic link.
    #[error("`{link}` is a symbolic link{}, and caches are never written through one", target_text(.target))]
    LinkedDirectory { link: PathBuf, target: Option<PathBuf> },
    #[error("`{0}` exists and is not a regular file")]
    NotRegular(PathBuf),
    #[error("cannot create `{path}`: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

fn target_text(target: &Option<PathBuf>) -> String {
    target.as_ref().map(|t| format!(" to `{}`", t.display())).unwrap_or_default()
}

impl WriteError {
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            Self::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// This process's id, asked of the kernel once: `std::process::id` is a
/// system call each time, and pycache never forks without an exec.
fn process_id() -> u32 {
    static ID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *ID.get_or_init(std::process::id)
}

fn temp_name(name: &OsStr) -> OsString {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut temp = name.to_owned();
    temp.push(format!(".{}{n:04}", process_id()));
    temp
}

fn io(path: &Path) -> impl Fn(Errno) -> WriteError + '_ {
    move |errno| WriteError::Io { path: path.to_owned(), source: errno.into() }
}

/// The permission bits the importer gives a cache: the source's mode plus
/// owner-write, limited to read and write bits; the umask then applies.
pub fn cache_mode(source_mode: u32) -> u32 {
    (source_mode | 0o200) & 0o666
}

/// The mode a new directory is created with (the umask then applies): the
/// importer's 0o777, less the write bits for group and others that the
/// parent does not have.
pub fn dir_mode(parent_mode: u32) -> u32 {
    0o777 & !(0o022 & !parent_mode)
}

/// A cache this run wrote, for linking another level to it.
#[derive(Debug, Clone)]
pub struct Written {
    name: OsString,
    dev: u64,
    ino: u64,
}

/// A directory that caches go into, opened from its anchor without
/// following any symbolic link below it.
#[derive(Debug)]
pub struct CacheDir {
    fd: OwnedFd,
    path: PathBuf,
}

/// Splits `path` below `anchor` into its components, refusing any that is
/// not a plain name.
fn below<'p>(anchor: &Path, path: &'p Path) -> Result<Vec<&'p OsStr>, WriteError> {
    let relative = path.strip_prefix(anchor).map_err(|_| WriteError::Io {
        path: path.to_owned(),
        source: std::io::Error::other(format!("not below `{}`", anchor.display())),
    })?;
    relative
        .components()
        .filter(|c| *c != Component::CurDir)
        .map(|c| match c {
            Component::Normal(name) => Ok(name),
            _ => Err(WriteError::Io {
                path: path.to_owned(),
                source: std::io::Error::other("the path leaves its directory"),
            }),
        })
        .collect()
}

fn open_flags() -> OFlags {
    OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC
}

impl CacheDir {
    /// Opens `dir`, creating what is missing of it. `anchor` (an ancestor
    /// of `dir`, or empty for the current directory) is opened as named;
    /// each component below it must be a real directory.
    pub fn open(anchor: &Path, dir: &Path) -> Result<Self, WriteError> {
        let start = if anchor.as_os_str().is_empty() { Path::new(".") } else { anchor };
        let mut fd = match rustix::fs::open(start, open_flags(), Mode::empty()) {
            Err(Errno::NOENT) => {
                // A pycache prefix that does not exist yet: it is named by
                // the user, so it is created as named.
                std::fs::create_dir_all(start).map_err(|source| WriteError::Io { path: start.to_owned(), source })?;
                rustix::fs::open(start, open_flags(), Mode::empty()).map_err(io(start))?
            }
            other => other.map_err(io(start))?,
        };
        let names = below(anchor, dir)?;
        // The common case in one call: every component there, and none a
        // link (`openat2`, Linux 5.6+). Anything else, one at a time.
        if !names.is_empty() {
            let relative: PathBuf = names.iter().collect();
            let resolve = rustix::fs::ResolveFlags::NO_SYMLINKS | rustix::fs::ResolveFlags::BENEATH;
            if let Ok(opened) = rustix::fs::openat2(&fd, &relative, open_flags(), Mode::empty(), resolve) {
                return Ok(Self { fd: opened, path: dir.to_path_buf() });
            }
        }
        let mut path = anchor.to_path_buf();
        for name in names {
            path.push(name);
            fd = open_below(&fd, name, &path)?;
        }
        Ok(Self { fd, path: dir.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuses a symlink or a non-regular file at `name`.
    fn check_target(&self, name: &OsStr) -> Result<(), WriteError> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => match FileType::from_raw_mode(stat.st_mode) {
                FileType::RegularFile => Ok(()),
                FileType::Symlink => Err(WriteError::Symlink(self.path.join(name))),
                _ => Err(WriteError::NotRegular(self.path.join(name))),
            },
            Err(Errno::NOENT) => Ok(()),
            Err(errno) => Err(io(&self.path.join(name))(errno)),
        }
    }

    /// Writes `bytes` as `name` atomically: a temporary file, locked while
    /// it is written (so that no other run takes it for debris), then
    /// renamed into place.
    pub fn write(&self, name: &OsStr, bytes: &[u8], source_mode: u32) -> Result<Written, WriteError> {
        self.check_target(name)?;
        let temp = temp_name(name);
        let temp_path = self.path.join(&temp);
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, &temp, flags, Mode::from_raw_mode(cache_mode(source_mode)))
            .map_err(io(&temp_path))?;
        let result = (|| {
            rustix::fs::flock(&fd, FlockOperation::LockExclusive).map_err(io(&temp_path))?;
            let stat = rustix::fs::fstat(&fd).map_err(io(&temp_path))?;
            let mut file = std::fs::File::from(fd);
            std::io::Write::write_all(&mut file, bytes)
                .map_err(|source| WriteError::Io { path: temp_path.clone(), source })?;
            rustix::fs::renameat(&self.fd, &temp, &self.fd, name).map_err(io(&self.path.join(name)))?;
            Ok(Written { name: name.to_owned(), dev: stat.st_dev, ino: stat.st_ino })
        })();
        if result.is_err() {
            let _ = rustix::fs::unlinkat(&self.fd, &temp, AtFlags::empty());
        }
        result
    }

    /// Makes `name` a hard link to the file `written` put in place, if
    /// `written`'s name still holds that very file (another writer may
    /// have replaced it since): the link is made under a temporary name,
    /// its inode checked, then renamed. `Ok(false)` when the file is no
    /// longer ours; nothing changed then, and the caller writes the bytes.
    pub fn link(&self, written: &Written, name: &OsStr) -> Result<bool, WriteError> {
        self.check_target(name)?;
        let temp = temp_name(name);
        let temp_path = self.path.join(&temp);
        match rustix::fs::linkat(&self.fd, &written.name, &self.fd, &temp, AtFlags::empty()) {
            Ok(()) => {}
            Err(Errno::NOENT) => return Ok(false),
            Err(errno) => return Err(io(&temp_path)(errno)),
        }
        let result = (|| {
            let stat = rustix::fs::statat(&self.fd, &temp, AtFlags::SYMLINK_NOFOLLOW).map_err(io(&temp_path))?;
            if (stat.st_dev, stat.st_ino) != (written.dev, written.ino) {
                return Ok(false);
            }
            rustix::fs::renameat(&self.fd, &temp, &self.fd, name).map_err(io(&self.path.join(name)))?;
            Ok(true)
        })();
        if !matches!(result, Ok(true)) {
            let _ = rustix::fs::unlinkat(&self.fd, &temp, AtFlags::empty());
        }
        result
    }

    /// Removes the temporary files of cache writes that never finished
    /// (`<name>.pyc.<digits>`, as pycache and the importer name them): a
    /// regular file last changed before `started` (this run's start, less
    /// [`DEBRIS_MARGIN`]), on
    /// which no writer holds its lock, checked to be the same file when it
    /// is unlinked. Returns the names removed.
    pub fn remove_debris(&self, started: SystemTime) -> Vec<PathBuf> {
        let Ok(mut listing) = rustix::fs::Dir::read_from(&self.fd) else { return Vec::new() };
        let mut removed = Vec::new();
        while let Some(Ok(entry)) = listing.read() {
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if pycache_pyc::is_temp_name(name.as_bytes()) && self.remove_if_stale(name, started) {
                removed.push(self.path.join(name));
            }
        }
        removed
    }

    fn remove_if_stale(&self, name: &OsStr, started: SystemTime) -> bool {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let Ok(fd) = rustix::fs::openat(&self.fd, name, flags, Mode::empty()) else { return false };
        let Ok(stat) = rustix::fs::fstat(&fd) else { return false };
        let modified = std::time::UNIX_EPOCH
            + std::time::Duration::new(stat.st_mtime.max(0) as u64, stat.st_mtime_nsec.clamp(0, 999_999_999) as u32);
        // The file system stamps with the kernel's coarse clock, which runs
        // up to a tick behind `SystemTime::now()`: a file this run's own
        // writer made just after the run started, not yet locked, can look
        // older than the start. So only what is older by a margin is debris.
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile || modified + DEBRIS_MARGIN >= started {
            return false;
        }
        // A writer of this run or another holds the lock until it renames.
        if rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_err() {
            return false;
        }
        let same = rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|now| (now.st_dev, now.st_ino) == (stat.st_dev, stat.st_ino));
        same && rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()).is_ok()
    }
}

/// How much older than the run a temporary file must be to count as
/// debris: more than the file system's timestamps can lag behind the clock.
pub const DEBRIS_MARGIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens (or creates) the directory `name` below `parent`, refusing a
/// symbolic link. `path` names it for errors.
fn open_below(parent: &OwnedFd, name: &OsStr, path: &Path) -> Result<OwnedFd, WriteError> {
    let flags = open_flags() | OFlags::NOFOLLOW;
    for _ in 0..3 {
        match rustix::fs::openat(parent, name, flags, Mode::empty()) {
            Ok(fd) => return Ok(fd),
            Err(Errno::NOENT) => {
                let parent_mode = rustix::fs::fstat(parent).map_err(io(path))?.st_mode;
                match rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(dir_mode(parent_mode))) {
                    // Created, by this run or another meanwhile: open it.
                    Ok(()) | Err(Errno::EXIST) => continue,
                    Err(errno) => return Err(io(path)(errno)),
                }
            }
            Err(errno @ (Errno::LOOP | Errno::NOTDIR)) => {
                return Err(match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink => {
                        let target = rustix::fs::readlinkat(parent, name, Vec::new())
                            .ok()
                            .map(|t| PathBuf::from(OsStr::from_bytes(t.as_bytes())));
                        WriteError::LinkedDirectory { link: path.to_owned(), target }
                    }
                    _ => io(path)(errno),
                });
            }
            Err(errno) => return Err(io(path)(errno)),
        }
    }
    Err(io(path)(Errno::AGAIN))
}

/// Writes `bytes` to `cache` atomically, creating its directory as needed
/// below `anchor` (see [`CacheDir::open`]).
pub fn write_cache(anchor: &Path, cache: &Path, bytes: &[u8], source_mode: u32) -> Result<Written, WriteError> {
    let (dir, name) = split(cache)?;
    CacheDir::open(anchor, dir)?.write(name, bytes, source_mode)
}

/// A cache path's directory and file name.
pub fn split(cache: &Path) -> Result<(&Path, &OsStr), WriteError> {
    match (cache.parent(), cache.file_name()) {
        (Some(dir), Some(name)) => Ok((dir, name)),
        _ => Err(WriteError::Io { path: cache.to_owned(), source: std::io::Error::other("no file name") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};

    fn umask() -> u32 {
        let umask = rustix::process::umask(Mode::empty());
        rustix::process::umask(umask);
        umask.bits()
    }

    /// The full test suite, under load, once saw a run remove the temporary
    /// file its own writer had just made (stamped by the coarse clock before
    /// the run's start, and not locked yet), so the rename failed with
    /// ENOENT and the file with it.
    #[test]
    fn regression_a_temporary_file_made_just_after_the_run_started_is_not_debris() {
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = CacheDir::open(dir.path(), &dir.path().join("__pycache__")).unwrap();
        let put = |name: &str, modified: SystemTime| {
            let file = std::fs::File::create(dir.path().join("__pycache__").join(name)).unwrap();
            file.set_modified(modified).unwrap();
        };
        let started = SystemTime::now();
        put("fresh.cpython-312.pyc.123450001", started - std::time::Duration::from_millis(5));
        put("stale.cpython-312.pyc.123450002", started - std::time::Duration::from_secs(60));
        let removed = cache_dir.remove_debris(started);
        let names: Vec<_> = removed.iter().map(|p| p.file_name().unwrap().to_owned()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("stale.cpython-312.pyc.123450002")]);
        assert!(dir.path().join("__pycache__/fresh.cpython-312.pyc.123450001").exists());
    }

    #[test]
    fn writes_atomically_with_the_importer_mode_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("__pycache__/m.cpython-312.pyc");
        write_cache(dir.path(), &cache, b"first", 0o100444).unwrap();
        write_cache(dir.path(), &cache, b"second", 0o100444).unwrap();
        assert_eq!(std::fs::read(&cache).unwrap(), b"second");
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644 & !umask());
        let entries: Vec<_> = std::fs::read_dir(cache.parent().unwrap()).unwrap().collect();
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn refuses_symlinks_and_non_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"keep").unwrap();
        let link = dir.path().join("m.pyc");
        symlink(&target, &link).unwrap();
        assert!(matches!(write_cache(dir.path(), &link, b"x", 0o644), Err(WriteError::Symlink(_))));
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        let sub = dir.path().join("d.pyc");
        std::fs::create_dir(&sub).unwrap();
        assert!(matches!(write_cache(dir.path(), &sub, b"x", 0o644), Err(WriteError::NotRegular(_))));
    }

    #[test]
    fn refuses_a_linked_directory_at_any_depth_below_the_anchor() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::create_dir_all(victim.join("__pycache__")).unwrap();
        let app = dir.path().join("app");
        std::fs::create_dir_all(app.join("pkg")).unwrap();
        symlink(victim.join("__pycache__"), app.join("__pycache__")).unwrap();
        let err = write_cache(&app, &app.join("__pycache__/m.cpython-312.pyc"), b"x", 0o644).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, WriteError::LinkedDirectory { .. }), "{message}");
        assert_eq!(
            message,
            format!(
                "`{}` is a symbolic link to `{}`, and caches are never written through one",
                app.join("__pycache__").display(),
                victim.join("__pycache__").display()
            )
        );
        assert_eq!(std::fs::read_dir(victim.join("__pycache__")).unwrap().count(), 0);
        // A pycache prefix's mirror of the source directories, linked halfway.
        let prefix = dir.path().join("prefix");
        std::fs::create_dir_all(prefix.join("srv")).unwrap();
        symlink(&victim, prefix.join("srv/app")).unwrap();
        let cache = prefix.join("srv/app/pkg/m.cpython-312.pyc");
        assert!(matches!(write_cache(&prefix, &cache, b"x", 0o644), Err(WriteError::LinkedDirectory { .. })));
        assert!(!victim.join("pkg").exists());
        // The anchor itself is the caller's to choose, and is followed.
        let cache = dir.path().join("link-to-app/pkg/__pycache__/m.cpython-312.pyc");
        symlink(&app, dir.path().join("link-to-app")).unwrap();
        write_cache(&dir.path().join("link-to-app"), &cache, b"x", 0o644).unwrap();
        assert!(app.join("pkg/__pycache__/m.cpython-312.pyc").is_file());
    }

    #[test]
    fn new_directories_get_no_write_bits_their_parent_lacks() {
        assert_eq!(dir_mode(0o40755), 0o755);
        assert_eq!(dir_mode(0o40775), 0o775);
        assert_eq!(dir_mode(0o41777), 0o777);
        assert_eq!(dir_mode(0o40700), 0o755);
        assert_eq!(dir_mode(0o40757), 0o757);
    }

    #[test]
    /// Issue 12, item 8: levels were linked by path, so a file another
    /// writer renamed over the first level was linked in its place.
    fn regression_hardlink_dupes_link_the_inode_this_run_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = CacheDir::open(dir.path(), dir.path()).unwrap();
        let written = cache_dir.write(OsStr::new("a.pyc"), b"same", 0o644).unwrap();
        cache_dir.write(OsStr::new("b.pyc"), b"old", 0o644).unwrap();
        assert!(cache_dir.link(&written, OsStr::new("b.pyc")).unwrap());
        let (a, b) = (dir.path().join("a.pyc"), dir.path().join("b.pyc"));
        assert_eq!(std::fs::metadata(&a).unwrap().ino(), std::fs::metadata(&b).unwrap().ino());
        // Another writer replaces `a.pyc`: `c.pyc` is not linked to its file.
        std::fs::write(dir.path().join("other"), b"theirs").unwrap();
        std::fs::rename(dir.path().join("other"), &a).unwrap();
        assert!(!cache_dir.link(&written, OsStr::new("c.pyc")).unwrap());
        assert!(!dir.path().join("c.pyc").exists());
        std::fs::remove_file(&a).unwrap();
        assert!(!cache_dir.link(&written, OsStr::new("c.pyc")).unwrap());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left");
    }

    #[test]
    fn mode_adds_owner_write_and_drops_execute() {
        assert_eq!(cache_mode(0o100755), 0o644);
        assert_eq!(cache_mode(0o100400), 0o600);
        assert_eq!(cache_mode(0o100777), 0o666);
    }
}
