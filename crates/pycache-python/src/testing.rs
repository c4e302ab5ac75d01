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

/// The CPython releases Pyodide carries, by the npm package (aliased in
/// `corpus/pyodide/package.json`) that carries each.
pub const PYODIDE_RELEASES: &[((u8, u8, u8), &str)] = &[((3, 12, 7), "pyodide-0.27.7"), ((3, 12, 1), "pyodide-0.26.4")];

/// A CPython release built for WebAssembly, run by Node.js through
/// `corpus/pyodide/compile.mjs`: a reference for releases no Debian suite
/// or pyenv build here carries (3.12.7). It is no [`Interpreter`]: it
/// compiles batches of files, as `py_compile.compile` does, in one process.
#[derive(Debug, Clone)]
pub struct Pyodide {
    pub release: (u8, u8, u8),
    pub package: &'static str,
    runner: PathBuf,
}

/// One file at one level, compiled by [`Pyodide::compile`]: the whole
/// cache (checked-hash header), or the name of the exception py_compile
/// raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyodideCompile {
    pub file: PathBuf,
    pub level: u8,
    pub result: Result<Vec<u8>, String>,
}

/// The Pyodide that carries `release`, or `None` after printing a skip line
/// naming `test` (no such package, `npm ci` not run in `corpus/pyodide`, or
/// no `node`).
pub fn pyodide(release: (u8, u8, u8), test: &str) -> Option<Pyodide> {
    let (a, b, c) = release;
    let Some(&(_, package)) = PYODIDE_RELEASES.iter().find(|(r, _)| *r == release) else {
        eprintln!("SKIP {test}: no Pyodide carries CPython {a}.{b}.{c}");
        return None;
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus/pyodide");
    if !dir.join("node_modules").join(package).join("pyodide.mjs").is_file() {
        eprintln!("SKIP {test}: {package} is not installed (npm ci in {})", dir.display());
        return None;
    }
    if std::process::Command::new("node").arg("--version").output().map(|o| !o.status.success()).unwrap_or(true) {
        eprintln!("SKIP {test}: no Node.js to run {package}");
        return None;
    }
    Some(Pyodide { release, package, runner: dir.join("compile.mjs") })
}

impl Pyodide {
    /// Compiles `files` (paths relative to `root`, recorded as given) at
    /// each of `levels`, in one interpreter.
    pub fn compile(
        &self,
        root: &std::path::Path,
        files: &[PathBuf],
        levels: &[u8],
    ) -> std::io::Result<Vec<PyodideCompile>> {
        let scratch = tempfile::tempdir()?;
        let out = scratch.path().join("out");
        let names: Vec<&str> = files
            .iter()
            .map(|f| f.to_str().ok_or_else(|| std::io::Error::other(format!("`{}` is not UTF-8", f.display()))))
            .collect::<Result<_, _>>()?;
        let jobs = serde_json::json!({ "root": root, "out": out, "files": names, "levels": levels });
        let jobs_path = scratch.path().join("jobs.json");
        fs_err::write(&jobs_path, jobs.to_string())?;
        let status = std::process::Command::new("node")
            .arg(&self.runner)
            .args(["--package", self.package])
            .arg(&jobs_path)
            .stdin(std::process::Stdio::null())
            .status()?;
        if !status.success() {
            return Err(std::io::Error::other(format!("{} failed: {status}", self.runner.display())));
        }
        let answer: serde_json::Value = serde_json::from_slice(&fs_err::read(out.join("results.json"))?)?;
        let (a, b, c) = self.release;
        if answer["version"] != format!("{a}.{b}.{c}") {
            return Err(std::io::Error::other(format!(
                "{} carries {}, not {a}.{b}.{c}",
                self.package, answer["version"]
            )));
        }
        let mut compiled = Vec::new();
        for item in answer["results"].as_array().into_iter().flatten() {
            let file = PathBuf::from(item["file"].as_str().unwrap_or_default());
            let level = item["level"].as_u64().unwrap_or_default() as u8;
            let result = match item["error"].as_str() {
                Some(exception) => Err(exception.to_owned()),
                None => Ok(fs_err::read(item["cache"].as_str().unwrap_or_default())?),
            };
            compiled.push(PyodideCompile { file, level, result });
        }
        Ok(compiled)
    }
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
