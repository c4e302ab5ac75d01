use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};

use crate::interpreter::Interpreter;

const PROBE_SCRIPT: &str = include_str!("probe.py");
/// Bump when the probe learns something new, so old entries are re-probed.
const CACHE_FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot run `{path}`: {source}")]
    Spawn { path: PathBuf, source: std::io::Error },
    #[error("`{path}` failed to report itself (exit status {status}): {stderr}")]
    Failed { path: PathBuf, status: String, stderr: String },
    #[error("`{path}` answered the probe with something unexpected: {message}")]
    BadAnswer { path: PathBuf, message: String },
    #[error("will not run `{path}`: {reason}")]
    Refused { path: PathBuf, reason: String },
}

/// What a [`Launcher`] did to the probe's command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// Runs as pycache's own user: the answer is kept in the cache.
    AsIs,
    /// Changed (run as another user): the answer is used once and not
    /// kept, since it came from a process pycache does not vouch for.
    Altered,
}

/// Decides how, and whether, a probe starts the interpreter at a path: it
/// may change the command (run it as another user) or refuse with a
/// reason. The caller's policy, such as "never run as root a file another
/// user can change".
pub type Launcher = dyn Fn(&Path, &mut Command) -> Result<Launch, String> + Send + Sync;

/// Runs `path` once to learn what it is.
pub fn probe(path: &Path) -> Result<Interpreter, ProbeError> {
    probe_with(path, None).map(|(interpreter, _)| interpreter)
}

/// [`probe`], started as `launcher` decides.
fn probe_with(path: &Path, launcher: Option<&Launcher>) -> Result<(Interpreter, Launch), ProbeError> {
    // The probe runs from `/` (below), where a relative path such as
    // `venv/bin/python` would name another file or none.
    let program = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut command = Command::new(&program);
    // `-c` puts the working directory first on `sys.path`: from `/` no
    // other user's `json.py` can stand in for the standard library's.
    command.args(["-E", "-S", "-c", PROBE_SCRIPT]).stdin(Stdio::null()).current_dir("/");
    let launch = match launcher {
        Some(launcher) => {
            launcher(path, &mut command).map_err(|reason| ProbeError::Refused { path: path.to_owned(), reason })?
        }
        None => Launch::AsIs,
    };
    let output = command.output().map_err(|source| ProbeError::Spawn { path: path.to_owned(), source })?;
    if !output.status.success() {
        return Err(ProbeError::Failed {
            path: path.to_owned(),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    #[derive(Deserialize)]
    struct Answer {
        executable: PathBuf,
        version: (u8, u8, u8),
        release: String,
        implementation: String,
        cache_tag: Option<String>,
        magic: String,
        optimize: u8,
        dont_write_bytecode: bool,
        pycache_prefix: Option<PathBuf>,
        check_hash_based_pycs: Option<String>,
        prefix: PathBuf,
        base_prefix: PathBuf,
        fs_encoding: String,
        byteorder: String,
    }
    let answer: Answer = serde_json::from_slice(&output.stdout)
        .map_err(|err| ProbeError::BadAnswer { path: path.to_owned(), message: err.to_string() })?;
    let interpreter = Interpreter {
        path: path.to_owned(),
        executable: answer.executable,
        version: answer.version,
        release: answer.release,
        implementation: answer.implementation,
        cache_tag: answer.cache_tag,
        magic: answer.magic,
        optimize: answer.optimize,
        dont_write_bytecode: answer.dont_write_bytecode,
        pycache_prefix: answer.pycache_prefix,
        check_hash_based_pycs: answer.check_hash_based_pycs,
        prefix: answer.prefix,
        base_prefix: answer.base_prefix,
        fs_encoding: answer.fs_encoding,
        byteorder: answer.byteorder,
    };
    if interpreter.magic().is_none() {
        return Err(ProbeError::BadAnswer {
            path: path.to_owned(),
            message: format!("magic `{}` is not a magic number", interpreter.magic),
        });
    }
    Ok((interpreter, launch))
}

/// Identifies the file behind an interpreter path, so a cached probe is
/// dropped when the executable is replaced or a symlink is re-pointed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Fingerprint {
    target: PathBuf,
    mtime_ns: i128,
    size: u64,
    ino: u64,
}

impl Fingerprint {
    fn of(path: &Path) -> Option<Self> {
        let target = std::fs::canonicalize(path).ok()?;
        let meta = std::fs::metadata(&target).ok()?;
        Some(Self {
            target,
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            size: meta.size(),
            ino: meta.ino(),
        })
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    format: u32,
    entries: BTreeMap<PathBuf, (Fingerprint, Interpreter)>,
}

/// Probe results kept on disk between runs, keyed by path and fingerprint.
pub struct ProbeCache {
    file: Option<PathBuf>,
    state: Mutex<(CacheFile, bool)>,
    launcher: RwLock<Option<Arc<Launcher>>>,
}

impl std::fmt::Debug for ProbeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbeCache").field("file", &self.file).finish_non_exhaustive()
    }
}

impl ProbeCache {
    /// The cache in `$PYCACHE_CACHE_DIR`, else `$XDG_CACHE_HOME/pycache`, else
    /// `~/.cache/pycache`.
    pub fn open_default() -> Self {
        Self::open(default_cache_dir().map(|dir| dir.join("interpreters.json")))
    }

    /// A cache backed by `file`, or an in-memory one.
    pub fn open(file: Option<PathBuf>) -> Self {
        let loaded = file
            .as_deref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|cache| cache.format == CACHE_FORMAT)
            .unwrap_or(CacheFile { format: CACHE_FORMAT, entries: BTreeMap::new() });
        Self { file, state: Mutex::new((loaded, false)), launcher: RwLock::new(None) }
    }

    /// Every probe that must run an interpreter from now on asks
    /// `launcher` first; `None` runs them as they are. Answers already in
    /// the cache are given without asking.
    pub fn set_launcher(&self, launcher: Option<Arc<Launcher>>) {
        *self.launcher.write().expect("launcher lock") = launcher;
    }

    /// The probe of `path`, from the cache when the executable is unchanged.
    pub fn get(&self, path: &Path) -> Result<Interpreter, ProbeError> {
        let fingerprint = Fingerprint::of(path);
        // A pyenv shim is a script whose target changes with `pyenv global`
        // while the script stays the same, so its answer is never kept.
        let cacheable = fingerprint.is_some() && !is_shim(path);
        if cacheable {
            let state = self.state.lock().expect("probe cache lock");
            if let Some((seen, interpreter)) = state.0.entries.get(path) {
                if Some(seen) == fingerprint.as_ref() {
                    return Ok(interpreter.clone());
                }
            }
        }
        let launcher = self.launcher.read().expect("launcher lock").clone();
        let (interpreter, launch) = probe_with(path, launcher.as_deref())?;
        if let (true, Launch::AsIs, Some(fingerprint)) = (cacheable, launch, fingerprint) {
            let mut state = self.state.lock().expect("probe cache lock");
            state.0.entries.insert(path.to_owned(), (fingerprint, interpreter.clone()));
            state.1 = true;
        }
        Ok(interpreter)
    }

    /// Writes new entries back. Failure only costs a probe next time.
    pub fn save(&self) {
        let Some(file) = &self.file else { return };
        let mut state = self.state.lock().expect("probe cache lock");
        if !state.1 {
            return;
        }
        // Drop entries whose executables are gone.
        state.0.entries.retain(|path, _| path.exists());
        if let Err(err) = write_state_file(file, &serde_json::to_vec_pretty(&state.0).unwrap_or_default()) {
            tracing::debug!("cannot save the interpreter cache `{}`: {err}", file.display());
        } else {
            state.1 = false;
        }
    }
}

impl Drop for ProbeCache {
    fn drop(&mut self) {
        self.save();
    }
}

fn is_shim(path: &Path) -> bool {
    path.parent().and_then(Path::file_name).is_some_and(|name| name == "shims")
}

/// Where pycache keeps what it learns between runs (interpreter probes,
/// remembered compile failures): `$PYCACHE_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/pycache`, else `~/.cache/pycache`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PYCACHE_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("pycache"));
    }
    std::env::var_os("HOME").filter(|d| !d.is_empty()).map(|home| PathBuf::from(home).join(".cache/pycache"))
}

/// Replaces a file of pycache's own state (under [`default_cache_dir`])
/// atomically, creating its directory: a reader sees the old file or the
/// new one, never a part.
pub fn write_state_file(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(bytes)?;
    temp.persist(file).map_err(|err| err.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shims_are_recognised() {
        assert!(is_shim(Path::new("/root/.pyenv/shims/python3")));
        assert!(!is_shim(Path::new("/usr/bin/python3")));
    }

    #[test]
    fn a_missing_executable_is_a_spawn_error_naming_it() {
        let err = probe(Path::new("/nonexistent/python9")).unwrap_err();
        assert!(err.to_string().contains("`/nonexistent/python9`"), "{err}");
    }

    #[test]
    fn a_launcher_decides_and_an_altered_answer_is_not_kept() {
        let cache = ProbeCache::open(None);
        cache.set_launcher(Some(Arc::new(|_: &Path, _: &mut Command| Err("not this one".to_owned()))));
        let err = cache.get(Path::new("/bin/false")).unwrap_err();
        assert_eq!(err.to_string(), "will not run `/bin/false`: not this one");
        let Some(python) = crate::testing::reference(3, 12, "a_launcher_decides_and_an_altered_answer_is_not_kept")
        else {
            return;
        };
        let entries = |cache: &ProbeCache| cache.state.lock().unwrap().0.entries.len();
        cache.set_launcher(Some(Arc::new(|_: &Path, _: &mut Command| Ok(Launch::Altered))));
        assert_eq!(cache.get(&python.path).unwrap().version, python.version);
        assert_eq!(entries(&cache), 0, "an answer from a changed command is used once");
        cache.set_launcher(None);
        assert_eq!(cache.get(&python.path).unwrap().version, python.version);
        assert_eq!(entries(&cache), 1);
    }

    #[test]
    fn a_program_that_is_not_python_fails_the_probe() {
        let err = probe(Path::new("/bin/false")).unwrap_err();
        assert!(matches!(err, ProbeError::Failed { .. }), "{err}");
    }
}
