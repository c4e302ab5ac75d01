use std::path::PathBuf;

use serde::Serialize;

use crate::options::Engine;

/// What happened to one cache file (or to a path that produced none).
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// The source, spelled as walked.
    #[serde(serialize_with = "pycache_json::path")]
    pub path: PathBuf,
    /// The cache file; `None` when the path never got that far.
    #[serde(serialize_with = "pycache_json::option_path")]
    pub cache: Option<PathBuf>,
    /// The interpreter, as `3.12.1`.
    pub python: Option<String>,
    pub optimize: Option<u8>,
    pub status: Status,
    /// Why it failed, in one message.
    pub error: Option<String>,
    /// The exception class when the interpreter refused the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Which compiler wrote the cache (compiled files only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<Engine>,
    /// Why the native compiler declined, when the interpreter compiled
    /// the file instead (`--engine auto`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub native_declined: Option<String>,
    /// What the interpreter printed while compiling (warnings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Written by this run.
    Compiled,
    /// Already matched its source; left alone.
    Fresh,
    Failed,
}

/// Why a path failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FileError {
    #[error("does not exist")]
    Missing,
    #[error("is not a `.py` file, so compileall would not compile it either")]
    NotPython,
    #[error("cannot list the directory: {0}")]
    List(String),
    #[error("cannot read the source: {0}")]
    Read(String),
    /// The source is not a regular file, too big, or unreadable (the
    /// message names it).
    #[error("{0}")]
    Source(String),
    #[error("{message}")]
    Compile { exception: String, message: String, lineno: Option<u32> },
    #[error("cannot write `{cache}`: {error}{hint}")]
    Write { cache: PathBuf, error: String, hint: String },
    #[error("will not write `{cache}`: {reason}")]
    Refused { cache: PathBuf, reason: String },
    #[error("{0}")]
    Worker(String),
    /// The native compiler declined under `--engine native`.
    #[error("{0}")]
    Native(String),
    #[error("cannot name the cache: {0}")]
    Path(String),
}

impl FileError {
    /// The walk found nothing to do here but the user should hear of it;
    /// these do not fail the run.
    pub fn is_notice(&self) -> bool {
        matches!(self, Self::NotPython)
    }
}

/// Counts for one interpreter and level.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SummaryRow {
    pub python: String,
    pub optimize: u8,
    pub compiled: usize,
    pub fresh: usize,
    pub failed: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub rows: Vec<SummaryRow>,
    pub compiled: usize,
    /// Of those compiled, how many by the native compiler.
    pub compiled_native: usize,
    pub fresh: usize,
    pub failed: usize,
    /// Paths that failed before any interpreter was involved.
    pub path_errors: usize,
    pub notices: usize,
    /// Interpreter processes started to compile (0 when nothing was stale).
    pub workers_started: usize,
    /// Temporary files of cache writes that never finished (a kill, a
    /// full disk), removed from the directories this run wrote into.
    pub debris_removed: usize,
}

/// The outcome of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub files: Vec<FileReport>,
    pub summary: Summary,
}

impl Report {
    pub(crate) fn finish(mut files: Vec<FileReport>, notices: usize) -> Self {
        files.sort_by(|a, b| (&a.path, &a.python, a.optimize).cmp(&(&b.path, &b.python, b.optimize)));
        let mut summary = Summary { notices, ..Summary::default() };
        for file in &files {
            match file.status {
                Status::Compiled => {
                    summary.compiled += 1;
                    if file.engine == Some(Engine::Native) {
                        summary.compiled_native += 1;
                    }
                }
                Status::Fresh => summary.fresh += 1,
                Status::Failed => summary.failed += 1,
            }
            let (Some(python), Some(optimize)) = (&file.python, file.optimize) else {
                if file.status == Status::Failed {
                    summary.path_errors += 1;
                }
                continue;
            };
            let row = match summary.rows.iter_mut().find(|r| r.python == *python && r.optimize == optimize) {
                Some(row) => row,
                None => {
                    summary.rows.push(SummaryRow { python: python.clone(), optimize, ..SummaryRow::default() });
                    summary.rows.last_mut().expect("just pushed")
                }
            };
            match file.status {
                Status::Compiled => row.compiled += 1,
                Status::Fresh => row.fresh += 1,
                Status::Failed => row.failed += 1,
            }
        }
        summary.rows.sort_by(|a, b| (version_key(&a.python), a.optimize).cmp(&(version_key(&b.python), b.optimize)));
        Self { files, summary }
    }

    pub fn failed(&self) -> bool {
        self.summary.failed > 0
    }
}

fn version_key(label: &str) -> Vec<u32> {
    label.split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse().ok()).collect()
}
