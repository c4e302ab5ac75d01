//! From a `--python` request to an interpreter.
//!
//! Places, in order: the active virtual environment, an active conda
//! environment, `PATH`, pyenv's versions directory, uv's managed
//! interpreters, the releases `corpus/pythons.py` unpacks (`/opt/pycache-pythons`)
//! and the usual system directories. A version request follows a shell's
//! rule first: `--python 3.11` is the first `python3.11` on `PATH`. A pyenv
//! shim is followed to the interpreter pyenv would run (read from its
//! version files, never by running the shim), so the probe cache keeps it.

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

/// What discovery reads from the environment, captured once: the places to
/// look and the settings that choose what a pyenv shim runs. Tests build
/// their own.
#[derive(Debug, Clone, Default)]
pub struct Places {
    /// `$VIRTUAL_ENV`: its `bin` is searched before `PATH`.
    pub virtual_env: Option<PathBuf>,
    /// `$CONDA_PREFIX`: its `bin` is searched before `PATH`.
    pub conda_prefix: Option<PathBuf>,
    /// `$PATH`, in order.
    pub path: Vec<PathBuf>,
    /// `$PYENV_ROOT`, else `~/.pyenv`: its versions are searched after `PATH`.
    pub pyenv_root: Option<PathBuf>,
    /// `$PYENV_VERSION`, which overrides pyenv's version files.
    pub pyenv_version: Option<String>,
    /// Where pyenv starts looking for a `.python-version` file: `$PYENV_DIR`,
    /// else the working directory.
    pub pyenv_dir: Option<PathBuf>,
    /// The working directory, where pyenv looks next.
    pub cwd: Option<PathBuf>,
    /// `$UV_PYTHON_INSTALL_DIR`, else `~/.local/share/uv/python`.
    pub uv_dir: Option<PathBuf>,
    /// Where `corpus/pythons.py` unpacks Debian's builds: `$PYCACHE_PYTHONS`,
    /// else `/opt/pycache-pythons` (one directory per release, with its
    /// interpreter in `usr/bin`).
    pub pythons_root: Option<PathBuf>,
    /// The usual system directories, searched last.
    pub system_dirs: Vec<PathBuf>,
}

/// The default of [`Places::pythons_root`].
pub const PYTHONS_ROOT: &str = "/opt/pycache-pythons";

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from)
}

impl Places {
    /// The places this process's environment names.
    pub fn from_env() -> Self {
        let home = env_path("HOME");
        let cwd = std::env::current_dir().ok();
        Self {
            virtual_env: env_path("VIRTUAL_ENV"),
            conda_prefix: env_path("CONDA_PREFIX"),
            path: std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default(),
            pyenv_root: env_path("PYENV_ROOT").or_else(|| home.as_ref().map(|h| h.join(".pyenv"))),
            pyenv_version: std::env::var("PYENV_VERSION").ok().filter(|v| !v.is_empty()),
            pyenv_dir: env_path("PYENV_DIR").or_else(|| cwd.clone()),
            cwd,
            uv_dir: env_path("UV_PYTHON_INSTALL_DIR")
                .or_else(|| home.as_ref().map(|h| h.join(".local/share/uv/python"))),
            pythons_root: Some(env_path("PYCACHE_PYTHONS").unwrap_or_else(|| PathBuf::from(PYTHONS_ROOT))),
            system_dirs: ["/usr/local/bin", "/usr/bin", "/bin"].into_iter().map(PathBuf::from).collect(),
        }
    }

    /// The directories a shell would search for a command: the active
    /// environments' `bin`, then `PATH`, with whether each holds shims.
    fn path_dirs(&self) -> Vec<(PathBuf, bool)> {
        let mut dirs = Vec::new();
        for root in [&self.virtual_env, &self.conda_prefix].into_iter().flatten() {
            dirs.push((root.join("bin"), false));
        }
        for dir in &self.path {
            let shim = dir.file_name() == Some(OsStr::new("shims"));
            dirs.push((dir.clone(), shim));
        }
        let mut seen = HashSet::new();
        dirs.retain(|(dir, _)| seen.insert(dir.clone()));
        dirs
    }

    /// The directories searched after those on `PATH`: installed versions,
    /// then the system's, leaving out any already on `PATH`.
    fn other_dirs(&self) -> Vec<PathBuf> {
        let mut seen: HashSet<PathBuf> = self.path_dirs().into_iter().map(|(dir, _)| dir).collect();
        let mut dirs = self.version_roots();
        dirs.extend(self.system_dirs.iter().cloned());
        dirs.retain(|dir| seen.insert(dir.clone()));
        dirs
    }

    /// `bin` directories of pyenv, uv and `corpus/pythons.py` installs,
    /// newest version first within each.
    fn version_roots(&self) -> Vec<PathBuf> {
        let mut roots = Vec::new();
        let bases = [
            (self.pyenv_root.as_ref().map(|p| p.join("versions")), "bin"),
            (self.uv_dir.clone(), "bin"),
            (self.pythons_root.clone(), "usr/bin"),
        ];
        for (base, bin) in bases {
            let Some(base) = base else { continue };
            let Ok(entries) = std::fs::read_dir(&base) else { continue };
            let mut found: Vec<(Vec<u32>, PathBuf)> = entries
                .filter_map(Result::ok)
                .filter(|e| !e.file_name().as_encoded_bytes().starts_with(b"."))
                .map(|e| e.path())
                .filter(|p| p.join(bin).is_dir())
                .map(|p| (version_key(p.file_name().unwrap_or_default().to_string_lossy().as_ref()), p.join(bin)))
                .collect();
            found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            roots.extend(found.into_iter().map(|(_, dir)| dir));
        }
        roots
    }

    /// Every interpreter-like executable in the discovery places, in
    /// order. Shims are left out unless `with_shims`.
    pub fn candidates(&self, with_shims: bool) -> Vec<PathBuf> {
        let dirs = self.path_dirs().into_iter().chain(self.other_dirs().into_iter().map(|dir| (dir, false)));
        let mut out = Vec::new();
        for (dir, shim) in dirs {
            if shim && !with_shims {
                continue;
            }
            out.extend(interpreters_in(&dir));
        }
        out
    }

    /// What running `path` runs: the file itself, or for a pyenv shim the
    /// interpreter pyenv would choose (`None` when it would choose none).
    fn resolve(&self, path: &Path) -> Option<PathBuf> {
        if !is_executable(path) {
            return None;
        }
        if !is_pyenv_shim(path) {
            return Some(path.to_owned());
        }
        self.pyenv_which(path)
    }

    /// pyenv's choice for the shim at `shim`, as `pyenv which` makes it:
    /// the versions `$PYENV_VERSION` names, else the first `.python-version`
    /// file from `$PYENV_DIR` (then the working directory) up to `/`, else
    /// the root's `version` file; each version's `bin`, a `system` entry
    /// meaning `PATH` without the shims, and `system` last of all. pyenv's
    /// plugin hooks, which only act when the command is not found, are not
    /// followed: such a shim finds nothing here.
    fn pyenv_which(&self, shim: &Path) -> Option<PathBuf> {
        let shims = shim.parent()?;
        let root = shims.parent()?;
        let program = shim.file_name()?;
        let versions: Vec<String> = match &self.pyenv_version {
            Some(v) => v.split(':').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            None => self.pyenv_version_file(root).map(|file| read_version_file(&file)).unwrap_or_default(),
        };
        let system = || {
            self.path
                .iter()
                .filter(|dir| dir.as_path() != shims)
                .map(|dir| dir.join(program))
                .find(|p| is_executable(p) && !is_pyenv_shim(p))
        };
        for version in &versions {
            let found = if version == "system" {
                system()
            } else {
                pyenv_prefix(root, version).map(|prefix| prefix.join("bin").join(program)).filter(|p| is_executable(p))
            };
            if found.is_some() {
                return found;
            }
        }
        system()
    }

    fn pyenv_version_file(&self, root: &Path) -> Option<PathBuf> {
        let local = |start: &Path| start.ancestors().map(|dir| dir.join(".python-version")).find(|f| f.is_file());
        self.pyenv_dir
            .as_deref()
            .and_then(local)
            .or_else(|| self.cwd.as_deref().filter(|cwd| Some(*cwd) != self.pyenv_dir.as_deref()).and_then(local))
            .or_else(|| Some(root.join("version")))
    }

    /// Resolves a request to a probed interpreter.
    pub fn find(&self, request: &PythonRequest, cache: &ProbeCache) -> Result<Interpreter, DiscoveryError> {
        match request {
            PythonRequest::Path(path) => {
                if !is_executable(path) {
                    return Err(DiscoveryError::NotExecutable(path.clone()));
                }
                Ok(cache.get(path)?)
            }
            PythonRequest::Name(name) => {
                let dirs = self.path_dirs().into_iter().map(|(dir, _)| dir).chain(self.other_dirs());
                for dir in dirs {
                    if let Some(path) = self.resolve(&dir.join(name)) {
                        return Ok(cache.get(&path)?);
                    }
                }
                Err(self.not_found(request, cache))
            }
            PythonRequest::Default => {
                for name in ["python3", "python"] {
                    if let Some(venv) = &self.virtual_env {
                        let path = venv.join("bin").join(name);
                        if is_executable(&path) {
                            return Ok(cache.get(&path)?);
                        }
                    }
                }
                let dirs: Vec<PathBuf> =
                    self.path_dirs().into_iter().map(|(dir, _)| dir).chain(self.other_dirs()).collect();
                for name in ["python3", "python"] {
                    for dir in &dirs {
                        if let Some(found) = self.resolve(&dir.join(name)).and_then(|path| cache.get(&path).ok()) {
                            return Ok(found);
                        }
                    }
                }
                Err(self.not_found(request, cache))
            }
            PythonRequest::Version { major, minor, .. } => {
                // A shell's rule first: the first `python3.11` on PATH (the
                // active environments' first), pyenv shims followed to what
                // they run. Then other names on PATH that may be this
                // version (`python3`), then the installed versions and the
                // system's, names that promise the version first.
                let shell_name = match minor {
                    Some(minor) => format!("python{major}.{minor}"),
                    None => format!("python{major}"),
                };
                let on_path = self.path_dirs();
                let mut order: Vec<PathBuf> = on_path.iter().map(|(dir, _)| dir.join(&shell_name)).collect();
                let others: Vec<PathBuf> = on_path.iter().flat_map(|(dir, _)| interpreters_in(dir)).collect();
                let (specific, generic) = partition_specific(others);
                order.extend(specific);
                order.extend(generic);
                let (specific, generic) = partition_specific(self.other_dirs().iter().flat_map(|d| interpreters_in(d)));
                order.extend(specific);
                order.extend(generic);
                let mut seen = HashSet::new();
                for path in order {
                    let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
                    if name_contradicts(&name, request) {
                        continue;
                    }
                    let Some(path) = self.resolve(&path) else { continue };
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
                Err(self.not_found(request, cache))
            }
        }
    }

    /// Every distinct interpreter discovery can see, probed, oldest first.
    pub fn find_all(&self, cache: &ProbeCache) -> Vec<Interpreter> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for path in self.candidates(false) {
            let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if !seen.insert(key) {
                continue;
            }
            if let Ok(found) = cache.get(&path)
                && !out.iter().any(|o: &Interpreter| o.executable == found.executable && o.prefix == found.prefix)
            {
                out.push(found);
            }
        }
        out.sort_by_key(|p| p.version);
        out
    }

    fn not_found(&self, request: &PythonRequest, cache: &ProbeCache) -> DiscoveryError {
        let found = self.find_all(cache);
        let found = if found.is_empty() {
            "nothing".to_owned()
        } else {
            found.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        };
        DiscoveryError::NotFound { request: request.to_string(), found }
    }
}

/// The interpreter-like executables in `dir`, the most specific names first
/// (`python3.12` before `python3`).
fn interpreters_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_interpreter_name(n))
        .collect();
    names.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| b.cmp(a)));
    names.into_iter().map(|n| dir.join(n)).filter(|p| is_executable(p)).collect()
}

/// Names that promise a minor version (`python3.12`) apart from the rest,
/// each in its order.
fn partition_specific(paths: impl IntoIterator<Item = PathBuf>) -> (Vec<PathBuf>, Vec<PathBuf>) {
    paths.into_iter().partition(|p| {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        name.trim_start_matches(|c: char| c.is_ascii_alphabetic()).contains('.')
    })
}

/// A pyenv shim: a file in a `shims` directory whose parent is a pyenv root.
fn is_pyenv_shim(path: &Path) -> bool {
    let Some(shims) = path.parent() else { return false };
    shims.file_name() == Some(OsStr::new("shims"))
        && shims.parent().is_some_and(|root| root.join("versions").is_dir() || root.join("libexec/pyenv").is_file())
}

/// The versions a pyenv version file names: the first word of each line,
/// blank lines and `#` comments skipped, and names that could leave the
/// versions directory dropped, as pyenv drops them.
fn read_version_file(file: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read(file) else { return Vec::new() };
    let text = String::from_utf8_lossy(&text[..text.len().min(64 * 1024)]).into_owned();
    text.lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|word| !word.starts_with('#') && *word != ".." && !word.contains('/'))
        .map(str::to_owned)
        .collect()
}

/// The directory of an installed pyenv version: the name itself, without a
/// `python-` prefix, or the newest installed release it is a prefix of
/// (`3.12` → `3.12.1`), as `pyenv latest` resolves it.
fn pyenv_prefix(root: &Path, version: &str) -> Option<PathBuf> {
    let versions = root.join("versions");
    let plain = version.strip_prefix("python-").unwrap_or(version);
    for name in [version, plain] {
        let dir = versions.join(name);
        if !name.is_empty() && dir.is_dir() {
            return Some(dir);
        }
    }
    let mut best: Option<(Vec<u32>, PathBuf)> = None;
    for entry in std::fs::read_dir(&versions).ok()?.filter_map(Result::ok) {
        let Ok(name) = entry.file_name().into_string() else { continue };
        let release = name.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        if release && name.strip_prefix(plain).is_some_and(|rest| rest.starts_with('.')) {
            let key = version_key(&name);
            if best.as_ref().is_none_or(|(k, _)| key > *k) {
                best = Some((key, entry.path()));
            }
        }
    }
    best.map(|(_, dir)| dir)
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

/// Every interpreter-like executable in the discovery places of this
/// process's environment, in order. Shims are left out unless `with_shims`.
pub fn candidates(with_shims: bool) -> Vec<PathBuf> {
    Places::from_env().candidates(with_shims)
}

/// Resolves a request to a probed interpreter, in this process's environment.
pub fn find_interpreter(request: &PythonRequest, cache: &ProbeCache) -> Result<Interpreter, DiscoveryError> {
    Places::from_env().find(request, cache)
}

/// Every distinct interpreter discovery can see, probed.
pub fn find_all(cache: &ProbeCache) -> Vec<Interpreter> {
    Places::from_env().find_all(cache)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

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

    /// A fake tree of places: files are made executable, and an interpreter
    /// is a script that runs a real one.
    struct Tree(tempfile::TempDir);

    impl Tree {
        fn new() -> Self {
            Self(tempfile::tempdir().unwrap())
        }
        fn path(&self, rel: &str) -> PathBuf {
            self.0.path().join(rel)
        }
        fn file(&self, rel: &str, text: &str) -> PathBuf {
            let path = self.path(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            path
        }
        fn python(&self, rel: &str, real: &Interpreter) -> PathBuf {
            self.file(rel, &format!("#!/bin/sh\nexec '{}' \"$@\"\n", real.executable.display()))
        }
        /// A pyenv root with a shim for `name` that would fail if run: the
        /// shim must be followed, never run.
        fn pyenv(&self, name: &str) -> PathBuf {
            self.file(&format!("pyenv/shims/{name}"), "#!/bin/sh\nexit 97\n");
            std::fs::create_dir_all(self.path("pyenv/versions")).unwrap();
            self.path("pyenv")
        }
        fn places(&self, path: &[&str]) -> Places {
            Places {
                path: path.iter().map(|p| self.path(p)).collect(),
                pyenv_root: Some(self.path("pyenv")),
                pyenv_dir: Some(self.path("work")),
                cwd: Some(self.path("work")),
                system_dirs: vec![self.path("system")],
                ..Places::default()
            }
        }
    }

    /// Two releases of one minor version that discovery reaches, or a skip.
    fn two_releases(test: &str) -> Option<(Interpreter, Interpreter)> {
        let all = crate::testing::releases();
        for a in &all {
            if let Some(b) =
                all.iter().find(|b| (b.version.0, b.version.1) == (a.version.0, a.version.1) && b.version != a.version)
            {
                return Some((a.clone(), b.clone()));
            }
        }
        eprintln!("SKIP {test}: no two releases of one minor version are installed");
        None
    }

    /// Issue 12: `--python 3.11` took `/usr/bin/python3.11` (3.11.2) when the
    /// `python3.11` on PATH, a pyenv shim, runs 3.11.7: shims were skipped.
    #[test]
    fn regression_python_version_prefers_the_first_on_path_over_usr_bin() {
        let Some((wanted, other)) = two_releases("regression_python_version_prefers_the_first_on_path_over_usr_bin")
        else {
            return;
        };
        let (major, minor, _) = wanted.version;
        let name = format!("python{major}.{minor}");
        let tree = Tree::new();
        tree.pyenv(&name);
        let dir = format!("{}.{}.{}", wanted.version.0, wanted.version.1, wanted.version.2);
        let chosen = tree.python(&format!("pyenv/versions/{dir}/bin/{name}"), &wanted);
        tree.file("pyenv/version", &format!("{dir}\n"));
        tree.python(&format!("usr/bin/{name}"), &other);
        let places = tree.places(&["pyenv/shims", "usr/bin"]);
        let cache = ProbeCache::open(None);
        let request = PythonRequest::Version { major, minor: Some(minor), micro: None };
        let found = places.find(&request, &cache).unwrap();
        assert_eq!(found.version, wanted.version, "{found}");
        assert_eq!(found.path, chosen);
        // The later one on PATH, by its exact release.
        let request = PythonRequest::Version { major, minor: Some(minor), micro: Some(other.version.2) };
        assert_eq!(places.find(&request, &cache).unwrap().version, other.version);
        // A directory that is not on PATH comes after every one that is.
        let places = Places { system_dirs: vec![tree.path("usr/bin")], ..tree.places(&["pyenv/shims"]) };
        let request = PythonRequest::Version { major, minor: Some(minor), micro: None };
        assert_eq!(places.find(&request, &cache).unwrap().version, wanted.version);
    }

    /// A generic `python3` on PATH of the wanted version comes before a
    /// `python3.X` that is not on PATH.
    #[test]
    fn a_generic_name_on_path_comes_before_directories_off_path() {
        let Some((wanted, other)) = two_releases("a_generic_name_on_path_comes_before_directories_off_path") else {
            return;
        };
        let (major, minor, _) = wanted.version;
        let tree = Tree::new();
        tree.python(&format!("bin/python{major}"), &wanted);
        tree.python(&format!("system/python{major}.{minor}"), &other);
        let places = tree.places(&["bin"]);
        let request = PythonRequest::Version { major, minor: Some(minor), micro: None };
        assert_eq!(places.find(&request, &ProbeCache::open(None)).unwrap().version, wanted.version);
    }

    #[test]
    fn pyenv_shims_are_followed_as_pyenv_chooses() {
        let tree = Tree::new();
        let root = tree.pyenv("python3.12");
        let shim = root.join("shims/python3.12");
        let v1 = tree.file("pyenv/versions/3.12.1/bin/python3.12", "");
        let v7 = tree.file("pyenv/versions/3.12.7/bin/python3.12", "");
        tree.file("pyenv/versions/3.11.7/bin/python3.11", "");
        let system = tree.file("usr/bin/python3.12", "");
        let places = tree.places(&["pyenv/shims", "usr/bin"]);
        // No version file at all: the system's.
        assert_eq!(places.pyenv_which(&shim), Some(system.clone()));
        // The global version file, with comments and a version lacking it first.
        tree.file("pyenv/version", "# pinned\n\n3.11.7 trailing words\n3.12.1\n");
        assert_eq!(places.pyenv_which(&shim), Some(v1.clone()));
        // A local file wins over the global one, searched upward.
        tree.file("work/.python-version", "python-3.12.7\n");
        std::fs::create_dir_all(tree.path("work/deep/er")).unwrap();
        let deeper = Places { pyenv_dir: Some(tree.path("work/deep/er")), ..places.clone() };
        assert_eq!(deeper.pyenv_which(&shim), Some(v7.clone()));
        // $PYENV_VERSION wins over files; a prefix means the newest release.
        let env = Places { pyenv_version: Some("3.12".into()), ..places.clone() };
        assert_eq!(env.pyenv_which(&shim), Some(v7));
        let env = Places { pyenv_version: Some("system:3.12.1".into()), ..places.clone() };
        assert_eq!(env.pyenv_which(&shim), Some(system));
        // Nothing anywhere: the shim runs nothing, and names that could
        // leave the versions directory are ignored.
        let bare = Places { path: vec![tree.path("pyenv/shims")], ..places.clone() };
        let env = Places { pyenv_version: Some("3.11.7".into()), ..bare.clone() };
        assert_eq!(env.pyenv_which(&shim), None);
        tree.file("work/.python-version", "../../usr\n");
        assert_eq!(bare.pyenv_which(&shim), None);
        assert_eq!(v1, tree.path("pyenv/versions/3.12.1/bin/python3.12"));
    }

    #[test]
    fn debian_releases_are_found_in_the_pythons_root() {
        let Some(real) = crate::testing::reference(3, 12, "debian_releases_are_found_in_the_pythons_root") else {
            return;
        };
        let tree = Tree::new();
        let path = tree.python("pythons/3.12.99/usr/bin/python3.12", &real);
        tree.file("pythons/.apt/usr/bin/python3.12", "#!/bin/sh\nexit 1\n");
        let places = Places { pythons_root: Some(tree.path("pythons")), ..tree.places(&[]) };
        assert_eq!(places.candidates(false), vec![path.clone()]);
        let request = PythonRequest::Version { major: 3, minor: Some(12), micro: None };
        assert_eq!(places.find(&request, &ProbeCache::open(None)).unwrap().path, path);
    }
}
