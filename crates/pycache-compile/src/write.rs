//! Putting a cache in place so that no reader ever sees a partial file.
//!
//! The bytes go to a temporary file beside the cache, named like the
//! importer's (`<cache>.<number>`), which is then renamed over the cache. A
//! crash at any point leaves the old cache or the new one, plus at worst a
//! temporary file (which `pycache doctor` reports as debris). Like
//! `py_compile`, a symlink or a non-regular file at the cache path is never
//! written through.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("`{0}` is a symlink, and caches are not written through symlinks")]
    Symlink(PathBuf),
    #[error("`{0}` exists and is not a regular file")]
    NotRegular(PathBuf),
    #[error("cannot create `{path}`: {source}")]
    Io { path: PathBuf, source: std::io::Error },
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

fn temp_name(cache: &Path) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = cache.as_os_str().to_owned();
    name.push(format!(".{}{n:04}", std::process::id()));
    PathBuf::from(name)
}

fn check_target(cache: &Path) -> Result<(), WriteError> {
    match cache.symlink_metadata() {
        Ok(meta) if meta.file_type().is_symlink() => Err(WriteError::Symlink(cache.to_owned())),
        Ok(meta) if !meta.is_file() => Err(WriteError::NotRegular(cache.to_owned())),
        _ => Ok(()),
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io { path: path.to_owned(), source }
}

/// The permission bits the importer gives a cache: the source's mode plus
/// owner-write, limited to read and write bits; the umask then applies.
pub fn cache_mode(source_mode: u32) -> u32 {
    (source_mode | 0o200) & 0o666
}

/// Writes `bytes` to `cache` atomically, creating its directory as needed.
pub fn write_cache(cache: &Path, bytes: &[u8], source_mode: u32) -> Result<(), WriteError> {
    check_target(cache)?;
    if let Some(dir) = cache.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let temp = temp_name(cache);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(cache_mode(source_mode))
            .open(&temp)
            .map_err(io(&temp))?;
        file.write_all(bytes).map_err(io(&temp))?;
        drop(file);
        std::fs::rename(&temp, cache).map_err(io(cache))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Makes `cache` a hard link to `existing` (an identical cache of another
/// level), atomically.
pub fn link_cache(existing: &Path, cache: &Path) -> Result<(), WriteError> {
    check_target(cache)?;
    let temp = temp_name(cache);
    std::fs::hard_link(existing, &temp).map_err(io(&temp))?;
    std::fs::rename(&temp, cache).map_err(io(cache)).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// Whether two paths are already the same file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    #[test]
    fn writes_atomically_with_the_importer_mode_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("__pycache__/m.cpython-312.pyc");
        write_cache(&cache, b"first", 0o100444).unwrap();
        write_cache(&cache, b"second", 0o100444).unwrap();
        assert_eq!(std::fs::read(&cache).unwrap(), b"second");
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        let umask = rustix::process::umask(rustix::fs::Mode::empty());
        rustix::process::umask(umask);
        assert_eq!(mode, 0o644 & !umask.bits());
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
        assert!(matches!(write_cache(&link, b"x", 0o644), Err(WriteError::Symlink(_))));
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        let sub = dir.path().join("d.pyc");
        std::fs::create_dir(&sub).unwrap();
        assert!(matches!(write_cache(&sub, b"x", 0o644), Err(WriteError::NotRegular(_))));
    }

    #[test]
    fn links_identical_levels() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.pyc");
        let b = dir.path().join("b.pyc");
        write_cache(&a, b"same", 0o644).unwrap();
        write_cache(&b, b"old", 0o644).unwrap();
        link_cache(&a, &b).unwrap();
        assert!(same_file(&a, &b));
        assert_eq!(std::fs::read(&b).unwrap(), b"same");
    }

    #[test]
    fn mode_adds_owner_write_and_drops_execute() {
        assert_eq!(cache_mode(0o100755), 0o644);
        assert_eq!(cache_mode(0o100400), 0o600);
        assert_eq!(cache_mode(0o100777), 0o666);
    }
}
