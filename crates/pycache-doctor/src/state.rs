//! What the importer will make of one cache, by its own rules.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use pycache_pyc::{Header, Magic, Validation, pyc_mtime, pyc_size, source_hash};

/// The importer's verdict on a cache for a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheState {
    Missing,
    /// Used as is.
    Fresh,
    /// Valid, but not for this source: compiled again (and rewritten).
    Stale(StaleKind),
    /// Another interpreter's cache at this path (a magic of another
    /// version): compiled again.
    WrongMagic(Magic),
    /// A header the importer rejects: compiled again, silently.
    BadHeader(String),
    /// A valid header over a damaged body: the import fails.
    Corrupt(String),
    /// An unchecked hash cache that no longer matches its source: the
    /// importer never looks, and runs the old code.
    UncheckedMismatch,
    /// pycache could not read it.
    Unreadable(String),
}

/// What gave a stale cache away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleKind {
    /// A timestamp cache whose recorded mtime differs.
    Mtime,
    /// A timestamp cache whose recorded size differs.
    Size,
    /// A checked hash cache whose hash differs.
    Hash,
}

impl std::fmt::Display for StaleKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Mtime => "timestamp-based: the source's mtime changed",
            Self::Size => "timestamp-based: the source's size changed",
            Self::Hash => "checked hash-based: the source's contents changed",
        })
    }
}

/// How the deployment's interpreter treats hash-based caches
/// (`--check-hash-based-pycs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashCheck {
    Default,
    Always,
    Never,
}

impl HashCheck {
    pub fn from_probe(value: Option<&str>) -> Self {
        match value {
            Some("always") => Self::Always,
            Some("never") => Self::Never,
            _ => Self::Default,
        }
    }
}

pub fn classify(cache: &Path, source: &Path, meta: &std::fs::Metadata, magic: Magic, check: HashCheck) -> CacheState {
    classify_with(cache, source, meta, magic, check, true)
}

/// [`classify`] by the header alone: a damaged body goes unseen. For the
/// thousands of caches of an interpreter's own library, which only its
/// installer writes.
pub fn classify_header(
    cache: &Path,
    source: &Path,
    meta: &std::fs::Metadata,
    magic: Magic,
    check: HashCheck,
) -> CacheState {
    classify_with(cache, source, meta, magic, check, false)
}

fn classify_with(
    cache: &Path,
    source: &Path,
    meta: &std::fs::Metadata,
    magic: Magic,
    check: HashCheck,
    body: bool,
) -> CacheState {
    let bytes = if body {
        std::fs::read(cache)
    } else {
        // The longest header is 16 bytes.
        std::fs::File::open(cache).and_then(|file| {
            let mut head = Vec::with_capacity(16);
            std::io::Read::read_to_end(&mut std::io::Read::take(file, 16), &mut head)?;
            Ok(head)
        })
    };
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return CacheState::Missing,
        Err(err) => return CacheState::Unreadable(err.to_string()),
    };
    let header = match Header::parse(&bytes) {
        Ok(header) => header,
        Err(err) => return CacheState::BadHeader(err.to_string()),
    };
    if header.magic != magic {
        return CacheState::WrongMagic(header.magic);
    }
    let verdict = match header.validation {
        Validation::Timestamp { mtime, source_size } => {
            if mtime != pyc_mtime(meta.mtime(), meta.mtime_nsec()) {
                CacheState::Stale(StaleKind::Mtime)
            } else if source_size.is_some_and(|s| s != pyc_size(meta.size())) {
                CacheState::Stale(StaleKind::Size)
            } else {
                CacheState::Fresh
            }
        }
        Validation::Hash { check_source, hash } => {
            let checked = check != HashCheck::Never && (check_source || check == HashCheck::Always);
            let current = std::fs::read(source).ok().and_then(|s| source_hash(magic, &s));
            match (checked, current == Some(hash)) {
                (_, true) => CacheState::Fresh,
                (true, false) => CacheState::Stale(StaleKind::Hash),
                (false, false) => CacheState::UncheckedMismatch,
            }
        }
    };
    // The body is only read when the header passes; a damaged body then
    // fails the import.
    if body && matches!(verdict, CacheState::Fresh | CacheState::UncheckedMismatch) {
        match pycache_marshal::read_pyc(&bytes) {
            Ok(pyc) if matches!(pyc.code.value, pycache_marshal::Value::Code(_)) => {}
            Ok(_) => return CacheState::Corrupt("the body is not a code object".into()),
            Err(err) => return CacheState::Corrupt(err.to_string()),
        }
    }
    verdict
}
