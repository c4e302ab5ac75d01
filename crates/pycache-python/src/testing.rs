//! Finding the reference interpreters from tests.
//!
//! Tests that compare with CPython call [`reference`] or [`references`] (one
//! interpreter per minor version), or [`release`], [`releases_of`] and
//! [`releases`] (every patch release discovery reaches: pyenv's, uv's, the
//! system's and Debian's builds that `corpus/pythons.py` unpacks). A version
//! that is not installed prints a `SKIP` line on stderr, which nextest
//! shows, so a missing interpreter is visible and never a silent pass.

use std::path::PathBuf;

use crate::discovery::{Places, PythonRequest, find_interpreter};
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

/// The interpreter of exactly `major.minor.micro`, or `None` after printing
/// a skip line naming `test`.
pub fn release(version: (u8, u8, u8), test: &str) -> Option<Interpreter> {
    let (major, minor, micro) = version;
    let request = PythonRequest::Version { major, minor: Some(minor), micro: Some(micro) };
    match find_interpreter(&request, &cache()) {
        Ok(found) => Some(found),
        Err(_) => {
            eprintln!("SKIP {test}: Python {major}.{minor}.{micro} is not installed");
            None
        }
    }
}

/// Every CPython release discovery reaches, one interpreter per release
/// (the first found, virtual environments left out), oldest first.
pub fn releases() -> Vec<Interpreter> {
    let mut out: Vec<Interpreter> = Vec::new();
    for found in Places::from_env().find_all(&cache()) {
        if found.is_cpython() && !found.in_virtualenv() && !out.iter().any(|o| o.version == found.version) {
            out.push(found);
        }
    }
    out
}

/// Every release of `major.minor` discovery reaches, oldest first, with a
/// skip line naming `test` when there is none.
pub fn releases_of(major: u8, minor: u8, test: &str) -> Vec<Interpreter> {
    let out: Vec<Interpreter> =
        releases().into_iter().filter(|p| (p.version.0, p.version.1) == (major, minor)).collect();
    if out.is_empty() {
        eprintln!("SKIP {test}: no Python {major}.{minor} release is installed");
    }
    out
}

/// pyenv's root, where the reference interpreters usually live.
pub fn pyenv_root() -> Option<PathBuf> {
    std::env::var_os("PYENV_ROOT")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")))
        .filter(|p| p.is_dir())
}
