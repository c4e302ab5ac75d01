//! Remembering sources the interpreter refused, so that a run with nothing
//! to do starts no interpreter even when a tree holds files that do not
//! compile (test data with deliberate syntax errors, Python 2 files).
//!
//! An entry is keyed by interpreter, level, recorded file name and source
//! path, and is valid while the source keeps its inode, size, mtime and
//! content hash. Only refusals by the compiler are remembered; a crash, a
//! timeout or an I/O error is retried every time.

use std::collections::HashMap;
use std::hash::Hasher;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Key {
    #[serde(with = "pycache_json::state")]
    interpreter: PathBuf,
    magic: String,
    level: u8,
    #[serde(with = "pycache_json::state")]
    filename: PathBuf,
    #[serde(with = "pycache_json::state")]
    source: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    ino: u64,
    size: u64,
    mtime_ns: i128,
    hash: u64,
}

/// What the interpreter said when it refused a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub exception: String,
    pub message: String,
    pub lineno: Option<u32>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Store {
    format: u32,
    entries: Vec<(Key, Stamp, Refusal)>,
}

/// The refusals known from earlier runs.
#[derive(Debug, Default)]
pub struct FailureMemory {
    file: Option<PathBuf>,
    entries: Mutex<(HashMap<Key, (Stamp, Refusal)>, bool)>,
}

fn content_hash(bytes: &[u8]) -> u64 {
    let mut hasher = siphasher::sip::SipHasher13::new_with_keys(0x7079_6361_6368_6531, 0);
    hasher.write(bytes);
    hasher.finish()
}

fn stamp(meta: &std::fs::Metadata, bytes: &[u8]) -> Stamp {
    Stamp {
        ino: meta.ino(),
        size: meta.size(),
        mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        hash: content_hash(bytes),
    }
}

/// Identifies one source for one interpreter and level.
pub struct Subject<'a> {
    pub interpreter: &'a Path,
    pub magic: &'a str,
    pub level: u8,
    pub filename: &'a Path,
    pub source: &'a Path,
}

impl Subject<'_> {
    fn key(&self) -> Key {
        Key {
            interpreter: self.interpreter.to_owned(),
            magic: self.magic.to_owned(),
            level: self.level,
            filename: self.filename.to_owned(),
            source: std::path::absolute(self.source).unwrap_or_else(|_| self.source.to_owned()),
        }
    }
}

impl FailureMemory {
    /// Loads `file` (a missing or unreadable file is an empty memory);
    /// `None` keeps nothing between runs.
    pub fn open(file: Option<PathBuf>) -> Self {
        let store = file
            .as_deref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|bytes| serde_json::from_slice::<Store>(&bytes).ok())
            .filter(|store| store.format == FORMAT)
            .unwrap_or_default();
        let entries = store.entries.into_iter().map(|(k, s, r)| (k, (s, r))).collect();
        Self { file, entries: Mutex::new((entries, false)) }
    }

    /// The remembered refusal of this source, if it is unchanged. `bytes`
    /// reads the source; it is called only when there is an entry.
    pub fn lookup(
        &self,
        subject: &Subject,
        meta: &std::fs::Metadata,
        bytes: &mut dyn FnMut() -> Option<std::sync::Arc<Vec<u8>>>,
    ) -> Option<Refusal> {
        let guard = self.entries.lock().expect("failure memory lock");
        // Most memories are empty: a key costs allocations and the working
        // directory (a system call) for every file looked up.
        if guard.0.is_empty() {
            return None;
        }
        let (seen, refusal) = guard.0.get(&subject.key()).cloned()?;
        drop(guard);
        let now = stamp(meta, &bytes()?);
        (now == seen).then_some(refusal)
    }

    pub fn record(&self, subject: &Subject, meta: &std::fs::Metadata, bytes: &[u8], refusal: Refusal) {
        let mut guard = self.entries.lock().expect("failure memory lock");
        guard.0.insert(subject.key(), (stamp(meta, bytes), refusal));
        guard.1 = true;
    }

    pub fn forget(&self, subject: &Subject) {
        let mut guard = self.entries.lock().expect("failure memory lock");
        if !guard.0.is_empty() && guard.0.remove(&subject.key()).is_some() {
            guard.1 = true;
        }
    }

    /// Writes the memory back if it changed. Failure to write only costs a
    /// compile next time.
    pub fn save(&self) {
        let Some(file) = &self.file else { return };
        let mut guard = self.entries.lock().expect("failure memory lock");
        if !guard.1 {
            return;
        }
        // Entries of sources that are gone are dropped.
        guard.0.retain(|key, _| key.source.exists());
        let store = Store {
            format: FORMAT,
            entries: guard.0.iter().map(|(k, (s, r))| (k.clone(), s.clone(), r.clone())).collect(),
        };
        let result = serde_json::to_vec(&store)
            .map_err(std::io::Error::other)
            .and_then(|bytes| pycache_python::write_state_file(file, &bytes));
        match result {
            Ok(()) => guard.1 = false,
            Err(err) => tracing::debug!("cannot save `{}`: {err}", file.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_refusal_is_remembered_until_the_source_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("failures.json");
        let source = dir.path().join("bad.py");
        std::fs::write(&source, b"def f(:\n").unwrap();
        let meta = std::fs::metadata(&source).unwrap();
        let subject = Subject {
            interpreter: Path::new("/usr/bin/python3"),
            magic: "cb0d0d0a",
            level: 0,
            filename: &source,
            source: &source,
        };
        let refusal = Refusal { exception: "SyntaxError".into(), message: "bad".into(), lineno: Some(1) };
        let memory = FailureMemory::open(Some(store.clone()));
        memory.record(&subject, &meta, b"def f(:\n", refusal.clone());
        memory.save();

        let again = FailureMemory::open(Some(store.clone()));
        let bytes = Arc::new(std::fs::read(&source).unwrap());
        assert_eq!(again.lookup(&subject, &meta, &mut || Some(Arc::clone(&bytes))), Some(refusal));
        let other_level = Subject { level: 1, ..subject };
        assert_eq!(again.lookup(&other_level, &meta, &mut || Some(Arc::clone(&bytes))), None);

        // Same size and mtime but other bytes: not the same source.
        let changed = Arc::new(b"def g(:\n".to_vec());
        let subject = Subject { level: 0, ..other_level };
        assert_eq!(again.lookup(&subject, &meta, &mut || Some(Arc::clone(&changed))), None);
        again.forget(&subject);
        again.save();
        assert_eq!(FailureMemory::open(Some(store)).lookup(&subject, &meta, &mut || Some(Arc::clone(&bytes))), None);
    }
}
