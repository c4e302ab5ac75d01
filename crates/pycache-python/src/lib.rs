//! The real interpreters: finding them, knowing them, and compiling with them.
//!
//! [`discovery`] turns a `--python` request (a version, a name or a path) into
//! an [`Interpreter`]: a probed description (version, cache tag, magic, flags)
//! cached on disk by path and mtime so that a run that compiles nothing starts
//! no interpreter. [`WorkerPool`] keeps persistent interpreter processes that
//! compile source bytes into marshalled code exactly as `py_compile` does
//! inside `python -m compileall`; callers do the walking, headers and writes.

pub mod discovery;
mod interpreter;
mod pool;
mod probe;
pub mod testing;
mod worker;

pub use discovery::{DiscoveryError, PythonRequest, find_interpreter};
pub use interpreter::Interpreter;
pub use pool::{PoolOptions, WorkerPool};
pub use probe::{Launch, Launcher, ProbeCache, ProbeError, default_cache_dir, probe, write_state_file};
pub use worker::{CompileFailure, CompileOutput, WorkerError};
