//! From a `--python` request to an interpreter.
//!
//! Places, in order: the active virtual environment, an active conda
//! environment, `PATH`, pyenv's versions directory, uv's managed interpreters
//! and the usual system directories. pyenv's shims are used only to honour a
//! plain `python3` request, since they hide which version they will run.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::interpreter::Interpreter;
use crate::probe::{ProbeCache, ProbeError};

/// What the user asked for with `--python`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PythonRequest {
    /// The active virtual environment's interpreter, else `python3` on PATH.
    Default,
    /// `3`, `3.12` or `3.12.1`.
    Version { major: u8, minor: Option<u8>, micro: Option<u8> },
    /// An executable name such as `python3.12` or `pypy3`, looked up in the
    /// discovery places.
    Name(String),
    /// A path to an executable.
    Path(PathBuf),
}

impl FromStr for PythonRequest {
    type Err = DiscoveryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(DiscoveryError::BadRequest(s.to_owned()));
        }
        if s.contains('/') {
            return Ok(Self::Path(PathBuf::from(s)));
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            let mut parts = s.split('.').map(|p| p.parse::<u8>());
            let bad = || DiscoveryError::BadRequest(s.to_owned());
            let major = parts.next().ok_or_else(bad)?.map_err(|_| bad())?;
            let minor = parts.next().transpose().map_err(|_| bad())?;
            let micro = parts.next().transpose().map_err(|_| bad())?;
            if parts.next().is_some() {
                return Err(bad());
            }
            return Ok(Self::Version { major, minor, micro });
        }
        Ok(Self::Name(s.to_owned()))
    }
}

impl std::fmt::Display for PythonRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Default => write!(f, "the default interpreter"),
            Self::Version { major, minor, micro } => {
                write!(f, "{major}")?;
                if let Some(minor) = minor {
                    write!(f, ".{minor}")?;
                }
                if let Some(micro) = micro {
                    write!(f, ".{micro}")?;
                }
                Ok(())
            }
            Self::Name(name) => write!(f, "{name}"),
            Self::Path(path) => write!(f, "{}", path.display()),
        }
    }
}

impl PythonRequest {
    fn matches(&self, interpreter: &Interpreter) -> bool {
        match self {
            Self::Version { major, minor, micro } => {
                let (a, b, c) = interpreter.version;
                a == *major && minor.is_none_or(|m| m == b) && micro.is_none_or(|m| m == c)
            }
            _ => true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error(
        "`{0}` is not an interpreter request (use a version such as `3.12`, a name such as `python3.12`, or a path)"
    )]
    BadRequest(String),
    #[error("no Python interpreter matches `{request}`; found: {found}")]
    NotFound { request: String, found: String },
    #[error("`{0}` does not exist or is not executable")]
    NotExecutable(PathBuf),
    #[error(transparent)]
    Probe(#[from] ProbeError),
}

/// The directories searched, in order, with whether a hit there may be a shim.
fn search_dirs() -> Vec<(PathBuf, bool)> {
    let mut dirs = Vec::new();
    for var in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
        if let Some(root) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            dirs.push((PathBuf::from(root).join("bin"), false));
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let shim = dir.file_name() == Some(OsStr::new("shims"));
            dirs.push((dir, shim));
        }
    }
    for root in version_roots() {
        dirs.push((root, false));
    }
    for dir in ["/usr/local/bin", "/usr/bin", "/bin"] {
        dirs.push((PathBuf::from(dir), false));
    }
    let mut seen = HashSet::new();
    dirs.retain(|(dir, _)| seen.insert(dir.clone()));
    dirs
}

/// `bin` directories of pyenv and uv installs, newest version first.
fn version_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let pyenv = std::env::var_os("PYENV_ROOT")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".pyenv")));
    let uv = std::env::var_os("UV_PYTHON_INSTALL_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".local/share/uv/python")));
    for base in [pyenv.map(|p| p.join("versions")), uv].into_iter().flatten() {
        let Ok(entries) = std::fs::read_dir(&base) else { continue };
        let mut found: Vec<(Vec<u32>, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join("bin").is_dir())
            .map(|p| (version_key(p.file_name().unwrap_or_default().to_string_lossy().as_ref()), p.join("bin")))
            .collect();
        found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        roots.extend(found.into_iter().map(|(_, dir)| dir));
    }
    roots
}

/// Numbers in a directory name such as `3.12.1` or `cpython-3.12.1-linux`.
fn version_key(name: &str) -> Vec<u32> {
    name.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).filter_map(|p| p.parse().ok()).collect()
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether a file name looks like an interpreter: `python`, `python3`,
/// `python3.12`, `pypy3.10`, but not `python3-config`.
fn is_interpreter_name(name: &str) -> bool {
    let rest = name.strip_prefix("python").or_else(|| name.strip_prefix("pypy"));
    rest.is_some_and(|r| r.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

/// Whether a name rules out a version without running it.
fn name_contradicts(name: &str, request: &PythonRequest) -> bool {
    let PythonRequest::Version { major, minor, .. } = request else { return false };
    let digits = name.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    if digits.is_empty() {
        return false;
    }
    let mut parts = digits.split('.').map(|p| p.parse::<u8>().ok());
    let name_major = parts.next().flatten();
    let name_minor = parts.next().flatten();
    name_major.is_some_and(|m| m != *major) || matches!((name_minor, minor), (Some(a), Some(b)) if a != *b)
}

/// Every interpreter-like executable in the discovery places, in order.
/// Shims are left out unless `with_shims`.
pub fn candidates(with_shims: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for (dir, shim) in search_dirs() {
        if shim && !with_shims {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| is_interpreter_name(n))
            .collect();
        // The most specific names first: `python3.12` before `python3`.
        names.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| b.cmp(a)));
        out.extend(names.into_iter().map(|n| dir.join(n)).filter(|p| is_executable(p)));
    }
    out
}

/// Resolves a request to a probed interpreter.
pub fn find_interpreter(request: &PythonRequest, cache: &ProbeCache) -> Result<Interpreter, DiscoveryError> {
    match request {
        PythonRequest::Path(path) => {
            if !is_executable(path) {
                return Err(DiscoveryError::NotExecutable(path.clone()));
            }
            Ok(cache.get(path)?)
        }
        PythonRequest::Name(name) => {
            for (dir, _) in search_dirs() {
                let path = dir.join(name);
                if is_executable(&path) {
                    return Ok(cache.get(&path)?);
                }
            }
            Err(not_found(request, cache))
        }
        PythonRequest::Default => {
            for name in ["python3", "python"] {
                if let Some(venv) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
                    let path = PathBuf::from(venv).join("bin").join(name);
                    if is_executable(&path) {
                        return Ok(cache.get(&path)?);
                    }
                }
            }
            for name in ["python3", "python"] {
                for (dir, _) in search_dirs() {
                    let path = dir.join(name);
                    if is_executable(&path) {
                        if let Ok(found) = cache.get(&path) {
                            return Ok(found);
                        }
                    }
                }
            }
            Err(not_found(request, cache))
        }
        PythonRequest::Version { .. } => {
            let mut seen = HashSet::new();
            let all = candidates(false);
            // Names that promise the version first, then generic names.
            let (specific, generic): (Vec<_>, Vec<_>) = all.into_iter().partition(|p| {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                name.trim_start_matches(|c: char| c.is_ascii_alphabetic()).contains('.')
            });
            for path in specific.into_iter().chain(generic) {
                let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
                if name_contradicts(&name, request) {
                    continue;
                }
                let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
                if !seen.insert(key) {
                    continue;
                }
                match cache.get(&path) {
                    Ok(found) if request.matches(&found) => return Ok(found),
                    Ok(_) => {}
                    Err(err) => tracing::debug!("skipping `{}`: {err}", path.display()),
                }
            }
            Err(not_found(request, cache))
        }
    }
}

/// Every distinct interpreter discovery can see, probed.
pub fn find_all(cache: &ProbeCache) -> Vec<Interpreter> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for path in candidates(false) {
        let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if !seen.insert(key) {
            continue;
        }
        if let Ok(found) = cache.get(&path) {
            if !out.iter().any(|o: &Interpreter| o.executable == found.executable && o.prefix == found.prefix) {
                out.push(found);
            }
        }
    }
    out.sort_by(|a, b| a.version.cmp(&b.version));
    out
}

fn not_found(request: &PythonRequest, cache: &ProbeCache) -> DiscoveryError {
    let found = find_all(cache);
    let found = if found.is_empty() {
        "nothing".to_owned()
    } else {
        found.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    };
    DiscoveryError::NotFound { request: request.to_string(), found }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_by_shape() {
        assert_eq!(
            "3.12".parse::<PythonRequest>().unwrap(),
            PythonRequest::Version { major: 3, minor: Some(12), micro: None }
        );
        assert_eq!(
            "3".parse::<PythonRequest>().unwrap(),
            PythonRequest::Version { major: 3, minor: None, micro: None }
        );
        assert_eq!("python3.12".parse::<PythonRequest>().unwrap(), PythonRequest::Name("python3.12".into()));
        assert_eq!(
            "./venv/bin/python".parse::<PythonRequest>().unwrap(),
            PythonRequest::Path("./venv/bin/python".into())
        );
        assert!("3.1.2.3".parse::<PythonRequest>().is_err());
        assert!("".parse::<PythonRequest>().is_err());
    }

    #[test]
    fn interpreter_names() {
        for ok in ["python", "python3", "python3.12", "pypy3", "pypy3.10", "python2.7"] {
            assert!(is_interpreter_name(ok), "{ok}");
        }
        for no in ["python3-config", "python3.12-gdb.py", "pythonw", "ipython"] {
            assert!(!is_interpreter_name(no), "{no}");
        }
    }

    #[test]
    fn names_rule_out_versions() {
        let req: PythonRequest = "3.12".parse().unwrap();
        assert!(name_contradicts("python2.7", &req));
        assert!(name_contradicts("python3.11", &req));
        assert!(name_contradicts("python2", &req));
        assert!(!name_contradicts("python3", &req));
        assert!(!name_contradicts("python", &req));
        assert!(!name_contradicts("python3.12", &req));
    }

    #[test]
    fn version_directories_sort_numerically() {
        assert!(version_key("3.10.13") > version_key("3.9.18"));
        assert_eq!(version_key("cpython-3.12.1-linux-x86_64"), vec![3, 12, 1, 86, 64]);
    }
}
