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

/// Where `corpus/pythons.py` unpacks Debian's builds: `$PYCACHE_PYTHONS`,
/// else `/opt/pycache-pythons`.
pub fn debian_root() -> PathBuf {
    std::env::var_os("PYCACHE_PYTHONS")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("/opt/pycache-pythons"), PathBuf::from)
}

/// The Debian build of exactly `major.minor.micro` that `corpus/pythons.py`
/// unpacked (`<debian_root>/<release>/usr/bin/pythonX.Y`), probed; or
/// `None` after printing a skip line naming `test`. For releases that
/// discovery may not reach (3.14 and 3.15 on these machines). One that is
/// there but does not run as that release panics: that is no skip.
pub fn debian_release(release: (u8, u8, u8), test: &str) -> Option<Interpreter> {
    let (major, minor, micro) = release;
    let path = debian_root().join(format!("{major}.{minor}.{micro}/usr/bin/python{major}.{minor}"));
    if !path.is_file() {
        eprintln!("SKIP {test}: Python {major}.{minor}.{micro} is not installed ({} not found)", path.display());
        return None;
    }
    let found = crate::probe(&path).unwrap_or_else(|err| panic!("{} does not run: {err}", path.display()));
    assert_eq!(found.version, release, "{} is another release", path.display());
    Some(found)
}
