//! The CPython bytecode cache format, without the bytecode.
//!
//! This crate knows everything about a `.pyc` file that does not need the
//! marshal format: which interpreter version a magic number belongs to, the
//! three header layouts (8, 12 and 16 bytes) and the PEP 552 flags, the source
//! hash that hash-based caches store, and where each version puts its caches
//! (PEP 3147 `__pycache__`, PEP 488 `.opt-N` names, legacy placement, `.pyo`,
//! and the `pycache_prefix` tree), both ways.

mod hash;
mod header;
mod magic;
mod path;
mod version;

pub use hash::{SourceHashAlgorithm, source_hash};
pub use header::{Header, HeaderError, HeaderLayout, Validation, pyc_mtime, pyc_size};
pub use magic::{Magic, MagicError};
pub use path::{CacheLayout, CacheLocation, CacheName, CachePathError, CacheScheme, is_temp_name};
pub use version::{PyVersion, VersionParseError};
