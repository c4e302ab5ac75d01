//! Reading a source: only a regular file, only up to a size, never blocking.
//!
//! The walk saw a regular file, but anything can stand at that name by the
//! time it is read. A FIFO would block `open` until a writer came, so the
//! file is opened with `O_NONBLOCK` (and `O_NOCTTY`) and must then be a
//! regular file by its descriptor. A file bigger than [`MAX_SOURCE_SIZE`]
//! is refused before any of it is read (a sparse file of 40 GB took the
//! whole run down through the OOM killer), and the read is bounded too,
//! in case the file grows meanwhile.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

/// The largest source pycache reads: 256 MiB. The largest Python files
/// met in practice (generated tables, resource modules that embed data as
/// bytes literals) are tens of megabytes; compiling a source takes many
/// times its size in memory, per parallel job.
pub const MAX_SOURCE_SIZE: u64 = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("`{0}` is not a regular file (a FIFO, a socket or a device took its place), so it is not read")]
    NotRegular(PathBuf),
    #[error("`{path}` is {size} bytes, over the limit of {} MiB for a source", MAX_SOURCE_SIZE >> 20)]
    TooBig { path: PathBuf, size: u64 },
    #[error("`{0}` kept changing while it was read")]
    Changing(PathBuf),
    #[error("cannot read `{path}`: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SourceError + '_ {
    move |source| SourceError::Io { path: path.to_owned(), source }
}

/// Opens `path` for reading without blocking on a FIFO, and checks that
/// what it opened is a regular file of at most [`MAX_SOURCE_SIZE`] bytes.
pub fn open(path: &Path) -> Result<(std::fs::File, std::fs::Metadata), SourceError> {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = rustix::fs::open(path, flags, Mode::empty()).map_err(|e| io(path)(e.into()))?;
    let file = std::fs::File::from(fd);
    let meta = file.metadata().map_err(io(path))?;
    if !meta.is_file() {
        return Err(SourceError::NotRegular(path.to_owned()));
    }
    if meta.size() > MAX_SOURCE_SIZE {
        return Err(SourceError::TooBig { path: path.to_owned(), size: meta.size() });
    }
    Ok((file, meta))
}

/// Reads a source and the metadata that belongs to exactly those bytes: if
/// the file changes while it is read, it is read again, so a header never
/// pairs a new mtime with old content.
pub fn read(path: &Path) -> Result<(Vec<u8>, std::fs::Metadata), SourceError> {
    for _ in 0..3 {
        let (file, before) = open(path)?;
        let mut bytes = Vec::with_capacity(before.size() as usize);
        (&file).take(MAX_SOURCE_SIZE + 1).read_to_end(&mut bytes).map_err(io(path))?;
        if bytes.len() as u64 > MAX_SOURCE_SIZE {
            return Err(SourceError::TooBig { path: path.to_owned(), size: bytes.len() as u64 });
        }
        let after = file.metadata().map_err(io(path))?;
        if (before.mtime(), before.mtime_nsec(), before.size()) == (after.mtime(), after.mtime_nsec(), after.size())
            && after.size() == bytes.len() as u64
        {
            return Ok((bytes, after));
        }
    }
    Err(SourceError::Changing(path.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `read` on another thread, so that a hang fails the test
    /// instead of stopping the suite.
    fn read_soon(path: &Path) -> Result<(Vec<u8>, std::fs::Metadata), SourceError> {
        let (send, receive) = std::sync::mpsc::channel();
        let path = path.to_owned();
        std::thread::spawn(move || {
            let _ = send.send(read(&path));
        });
        receive.recv_timeout(std::time::Duration::from_secs(60)).expect("reading the source hung")
    }

    #[test]
    fn regression_a_source_replaced_by_a_fifo_does_not_hang() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("m.py");
        rustix::fs::mknodat(rustix::fs::CWD, &fifo, rustix::fs::FileType::Fifo, Mode::from_raw_mode(0o644), 0).unwrap();
        let err = read_soon(&fifo).unwrap_err();
        assert!(matches!(err, SourceError::NotRegular(_)), "{err}");
        assert!(err.to_string().contains("is not a regular file"), "{err}");
    }

    #[test]
    fn regression_a_huge_sparse_source_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.py");
        let file = std::fs::File::create(&path).unwrap();
        // One byte over the limit, and 40 GB: both sparse, neither read.
        for size in [MAX_SOURCE_SIZE + 1, 40 << 30] {
            file.set_len(size).unwrap();
            let err = read_soon(&path).unwrap_err();
            assert!(matches!(err, SourceError::TooBig { size: s, .. } if s == size), "{err}");
            assert!(err.to_string().contains("over the limit of 256 MiB"), "{err}");
        }
        file.set_len(MAX_SOURCE_SIZE).unwrap();
        assert_eq!(open(&path).unwrap().1.size(), MAX_SOURCE_SIZE);
    }

    #[test]
    fn reads_a_regular_file_with_its_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.py");
        std::fs::write(&path, b"x = 1\n").unwrap();
        let (bytes, meta) = read(&path).unwrap();
        assert_eq!(bytes, b"x = 1\n");
        assert_eq!(meta.size(), 6);
        let err = read(&dir.path().join("gone.py")).unwrap_err();
        assert!(err.to_string().starts_with("cannot read `"), "{err}");
    }
}
