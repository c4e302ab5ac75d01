use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use pycache_pyc::{CacheLayout, CacheScheme};
use pycache_python::Interpreter;

/// How caches are validated at import (PEP 552).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InvalidationMode {
    Timestamp,
    CheckedHash,
    UncheckedHash,
}

impl FromStr for InvalidationMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "timestamp" => Ok(Self::Timestamp),
            "checked-hash" => Ok(Self::CheckedHash),
            "unchecked-hash" => Ok(Self::UncheckedHash),
            other => Err(format!("`{other}` is not an invalidation mode (timestamp, checked-hash, unchecked-hash)")),
        }
    }
}

impl std::fmt::Display for InvalidationMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Timestamp => "timestamp",
            Self::CheckedHash => "checked-hash",
            Self::UncheckedHash => "unchecked-hash",
        })
    }
}

impl InvalidationMode {
    /// What py_compile picks when no mode is given: checked-hash when
    /// `SOURCE_DATE_EPOCH` is set and not empty (3.7+), else timestamp.
    pub fn py_compile_default(interpreter: &Interpreter) -> Self {
        let epoch = std::env::var_os("SOURCE_DATE_EPOCH").is_some_and(|v| !v.is_empty());
        if epoch && interpreter.py_version().has_hash_pycs() { Self::CheckedHash } else { Self::Timestamp }
    }
}

/// Which compiler writes the caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// The native compiler for the interpreter it reproduces, falling back
    /// to that interpreter for any file it declines; the interpreters for
    /// the rest.
    #[default]
    Auto,
    /// The interpreters themselves, as workers.
    Cpython,
    /// The native compiler only: a file it declines fails, and an
    /// interpreter it does not reproduce is an error.
    Native,
}

/// Where caches go (compileall's `-b`, and the pycache prefix).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Layout {
    #[default]
    Pep3147,
    Legacy,
    Prefix(PathBuf),
}

/// One interpreter to compile for.
#[derive(Debug, Clone)]
pub struct Target {
    pub interpreter: Interpreter,
}

impl Target {
    pub fn scheme(&self, layout: &Layout) -> CacheScheme {
        let layout = match layout {
            Layout::Pep3147 => CacheLayout::Pep3147,
            Layout::Legacy => CacheLayout::Legacy,
            Layout::Prefix(prefix) => CacheLayout::Prefix(prefix.clone()),
        };
        CacheScheme { version: self.interpreter.py_version(), tag: self.interpreter.cache_tag.clone(), layout }
    }
}

/// Parallel jobs per core at most: compiling is CPU work, so more gains
/// nothing, and each job may hold an interpreter process and a source's
/// worth of memory (`-j 100000` started 10,000 threads and never finished).
pub const JOBS_PER_CORE: usize = 4;

/// The most parallel jobs a run starts: [`JOBS_PER_CORE`] per core, and
/// at least 16 on small machines.
pub fn max_jobs() -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    cores.saturating_mul(JOBS_PER_CORE).max(16)
}

/// Everything `pycache compile` can be asked, in compileall's terms.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// Files and directories, in the order given.
    pub paths: Vec<PathBuf>,
    /// How deep to descend into directories (`-l` is 0); `None` is unlimited.
    pub max_depth: Option<usize>,
    pub force: bool,
    /// Skip paths this matches anywhere (`-x`).
    pub exclude: Option<regex::Regex>,
    /// Optimisation levels, in the order given; duplicates are dropped.
    pub levels: Vec<u8>,
    /// `None`: py_compile's default for each interpreter.
    pub invalidation: Option<InvalidationMode>,
    /// `-d`: the directory recorded in tracebacks instead of the real one.
    pub ddir: Option<PathBuf>,
    /// `-s`: a prefix removed from recorded paths.
    pub strip: Option<PathBuf>,
    /// `-p`: a prefix added to recorded paths.
    pub prepend: Option<PathBuf>,
    /// `-e`: skip symlinks that point outside this directory.
    pub limit_symlinks: Option<PathBuf>,
    /// Hard-link caches of different levels whose bytes are equal.
    pub hardlink_dupes: bool,
    pub layout: Layout,
    /// Parallel compiles; also the most workers per interpreter. Runs
    /// start at most [`max_jobs`].
    pub jobs: usize,
    /// Per-file compile timeout.
    pub timeout: Option<Duration>,
    /// Where refusals are remembered between runs (see `FailureMemory`);
    /// `None` remembers nothing.
    pub failure_memory: Option<PathBuf>,
    /// Where the headers of caches are remembered between runs (see
    /// `HeaderMemory`); `None` reads every cache.
    pub header_memory: Option<PathBuf>,
    pub engine: Engine,
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            paths: Vec::new(),
            max_depth: None,
            force: false,
            exclude: None,
            levels: vec![0],
            invalidation: None,
            ddir: None,
            strip: None,
            prepend: None,
            limit_symlinks: None,
            hardlink_dupes: false,
            layout: Layout::Pep3147,
            jobs: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            timeout: Some(Duration::from_secs(120)),
            failure_memory: None,
            header_memory: None,
            engine: Engine::Auto,
        }
    }
}
