//! Precompiling a tree: the planner and the writer behind `pycache compile`.
//!
//! [`walk`] finds sources the way compileall does. [`plan`] decides, per
//! source, interpreter and optimisation level, whether the cache on disk is
//! fresh: exactly, comparing magic, flags and mtime and size, or the source
//! hash. The stale ones go to a compile backend (the interpreter workers of
//! `pycache-python`, or the native compiler of `pycache-compiler` for the
//! interpreter it reproduces), and [`write`] puts the results in place atomically with
//! the mode the importer would give them. [`run`] ties these together and
//! returns a per-file [`Report`]. Two memories between runs keep a run
//! with nothing to do cheap: the refusals of sources that do not compile
//! ([`FailureMemory`]), and the headers of caches ([`HeaderMemory`]), so
//! that a cache is stat'ed rather than read.

mod dfile;
mod failures;
mod headers;
pub mod native;
mod options;
mod plan;
mod report;
mod run;
pub mod source;
pub mod walk;
pub mod write;

pub use dfile::display_name;
pub use failures::{FailureMemory, Refusal};
pub use headers::{HeaderMemory, memory_file};
pub use options::{CompileOptions, Engine, InvalidationMode, JOBS_PER_CORE, Layout, Target, max_jobs};
pub use report::{FileError, FileReport, Report, Status, Summary, SummaryRow};
pub use run::{RunError, run};
