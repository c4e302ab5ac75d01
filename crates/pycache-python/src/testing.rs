//! Finding the reference interpreters from tests.
//!
//! Tests that compare with CPython call [`reference`] or [`references`]. A
//! version that is not installed prints a `SKIP` line on stderr, which
//! nextest shows, so a missing interpreter is visible and never a silent pass.

use std::path::PathBuf;

use crate::discovery::{PythonRequest, find_interpreter};
use crate::interpreter::Interpreter;
use crate::probe::ProbeCache;

/// The versions the project promises to match, oldest first.
pub const VERSIONS: &[(u8, u8)] = &[(2, 7), (3, 6), (3, 7), (3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13)];

fn cache() -> ProbeCache {
    ProbeCache::open(Some(std::env::temp_dir().join("pycache-test-interpreters.json")))
}

/// The interpreter for `major.minor`, or `None` after printing a skip line
/// naming `test`.
pub fn reference(major: u8, minor: u8, test: &str) -> Option<Interpreter> {
    let request = PythonRequest::Version { major, minor: Some(minor), micro: None };
    match find_interpreter(&request, &cache()) {
        Ok(found) => Some(found),
        Err(err) => {
            eprintln!("SKIP {test}: Python {major}.{minor} is not installed ({err})");
            None
        }
    }
}

/// Every installed interpreter among [`VERSIONS`], with a skip line for each
/// missing one.
pub fn references(test: &str) -> Vec<Interpreter> {
    VERSIONS.iter().filter_map(|&(major, minor)| reference(major, minor, test)).collect()
}

/// pyenv's root, where the reference interpreters usually live.
pub fn pyenv_root() -> Option<PathBuf> {
    std::env::var_os("PYENV_ROOT")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")))
        .filter(|p| p.is_dir())
}
