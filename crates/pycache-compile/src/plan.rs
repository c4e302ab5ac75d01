//! Deciding whether a cache on disk already matches its source.
//!
//! Stricter than compileall, which compares only magic, flags and mtime:
//! here a timestamp cache must also match the source size, a hash cache must
//! carry the hash of the current source, a cache in another invalidation
//! mode than the one asked for is stale, and a file that holds only a header
//! is stale.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use pycache_pyc::{Header, Magic, Validation, pyc_mtime, pyc_size, source_hash};

use crate::headers::HeaderMemory;
use crate::options::InvalidationMode;

/// What a fresh cache must look like, for one interpreter and mode.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expectation {
    pub magic: Magic,
    pub mode: InvalidationMode,
}

impl Expectation {
    /// The header to write for a source with this metadata and content.
    pub fn header(&self, meta: &std::fs::Metadata, source: &[u8]) -> Option<Header> {
        Some(match self.mode {
            InvalidationMode::Timestamp => {
                Header::timestamp(self.magic, pyc_mtime(meta.mtime(), meta.mtime_nsec()), pyc_size(meta.size()))
            }
            mode => Header::hash(self.magic, source_hash(self.magic, source)?, mode == InvalidationMode::CheckedHash),
        })
    }
}

/// Whether `cache` is fresh for a source with metadata `meta`. `source`
/// yields the source bytes, only called for hash caches whose header
/// otherwise matches.
pub(crate) fn is_fresh(
    cache: &Path,
    expect: &Expectation,
    meta: &std::fs::Metadata,
    source: &mut dyn FnMut() -> Option<std::sync::Arc<Vec<u8>>>,
    memory: &HeaderMemory,
) -> bool {
    let Some(head) = memory.head(cache) else { return false };
    let Ok(header) = Header::parse(&head) else { return false };
    if header.magic != expect.magic || head.len() <= header.len() {
        return false;
    }
    match (expect.mode, header.validation) {
        (InvalidationMode::Timestamp, Validation::Timestamp { mtime, source_size }) => {
            mtime == pyc_mtime(meta.mtime(), meta.mtime_nsec())
                && source_size.is_none_or(|size| size == pyc_size(meta.size()))
        }
        (InvalidationMode::CheckedHash, Validation::Hash { check_source: true, hash })
        | (InvalidationMode::UncheckedHash, Validation::Hash { check_source: false, hash }) => {
            source().and_then(|bytes| source_hash(expect.magic, &bytes)) == Some(hash)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn setup(header: &Header, body: &[u8]) -> (tempfile::TempDir, std::path::PathBuf, std::fs::Metadata) {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("m.py");
        std::fs::write(&source, b"x = 1\n").unwrap();
        let cache = dir.path().join("m.pyc");
        let mut bytes = header.to_bytes().unwrap();
        bytes.extend_from_slice(body);
        std::fs::write(&cache, bytes).unwrap();
        let meta = std::fs::metadata(&source).unwrap();
        (dir, cache, meta)
    }

    fn no_source() -> Option<Arc<Vec<u8>>> {
        None
    }

    #[test]
    fn timestamp_needs_mtime_and_size() {
        let magic = Magic::new(3531);
        let expect = Expectation { magic, mode: InvalidationMode::Timestamp };
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("m.py");
        std::fs::write(&source, b"x = 1\n").unwrap();
        let meta = std::fs::metadata(&source).unwrap();
        let good = expect.header(&meta, b"").unwrap();
        let (_d, cache, _) = setup(&good, b"c");
        assert!(is_fresh(&cache, &expect, &meta, &mut no_source, &HeaderMemory::default()));
        // Same second, different size: stale (compileall would keep it).
        let Validation::Timestamp { mtime, .. } = good.validation else { panic!() };
        let (_d, cache, _) = setup(&Header::timestamp(magic, mtime, 99), b"c");
        assert!(!is_fresh(&cache, &expect, &meta, &mut no_source, &HeaderMemory::default()));
        // A header and no body: stale.
        let (_d, cache, _) = setup(&good, b"");
        assert!(!is_fresh(&cache, &expect, &meta, &mut no_source, &HeaderMemory::default()));
        // Another interpreter's magic: stale.
        let other = Expectation { magic: Magic::new(3495), ..expect };
        let (_d, cache, _) = setup(&good, b"c");
        assert!(!is_fresh(&cache, &other, &meta, &mut no_source, &HeaderMemory::default()));
    }

    #[test]
    fn hash_caches_need_the_mode_and_the_current_hash() {
        let magic = Magic::new(3531);
        let source = Arc::new(b"x = 1\n".to_vec());
        let hash = source_hash(magic, &source).unwrap();
        let checked = Expectation { magic, mode: InvalidationMode::CheckedHash };
        let unchecked = Expectation { magic, mode: InvalidationMode::UncheckedHash };
        let timestamp = Expectation { magic, mode: InvalidationMode::Timestamp };
        let (_d, cache, meta) = setup(&Header::hash(magic, hash, true), b"c");
        let mut give = || Some(Arc::clone(&source));
        assert!(is_fresh(&cache, &checked, &meta, &mut give, &HeaderMemory::default()));
        assert!(!is_fresh(&cache, &unchecked, &meta, &mut give, &HeaderMemory::default()));
        assert!(!is_fresh(&cache, &timestamp, &meta, &mut give, &HeaderMemory::default()));
        let (_d, cache, meta) = setup(&Header::hash(magic, [0; 8], true), b"c");
        assert!(!is_fresh(&cache, &checked, &meta, &mut give, &HeaderMemory::default()));
    }
}
