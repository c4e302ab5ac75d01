//! Reads every stdlib cache of each installed CPython, writes it back, and
//! expects the same bytes; then asks the interpreter itself what a sample of
//! those caches contain and compares with what the reader found.
//!
//! Interpreters are found under `$(pyenv root)/versions/` (PYENV_ROOT wins);
//! a missing one prints a `SKIP` line. Run with `-- --nocapture` to see the
//! counts.

use std::collections::BTreeMap;

use std::path::{Path, PathBuf};
use std::process::Command;

use pycache_marshal::read_pyc;

/// The versions these machines are expected to have.
const EXPECTED: &[(u8, u8)] = &[(2, 7), (3, 6), (3, 7), (3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13)];

/// How many caches per version the interpreter is asked about.
#[allow(dead_code)]
const CROSS_CHECK_SAMPLE: usize = 40;

struct Interpreter {
    version: (u8, u8),
    prefix: PathBuf,
}

impl Interpreter {
    fn python(&self) -> PathBuf {
        self.prefix.join("bin").join(format!("python{}.{}", self.version.0, self.version.1))
    }

    fn stdlib(&self) -> PathBuf {
        self.prefix.join("lib").join(format!("python{}.{}", self.version.0, self.version.1))
    }
}

fn pyenv_root() -> Option<PathBuf> {
    if let Some(root) = std::env::var_os("PYENV_ROOT").filter(|r| !r.is_empty()) {
        return Some(PathBuf::from(root));
    }
    let output = Command::new("pyenv").arg("root").output().ok()?;
    let root = String::from_utf8(output.stdout).ok()?;
    let root = root.trim();
    (output.status.success() && !root.is_empty()).then(|| PathBuf::from(root))
}

/// `versions/3.12.1` and the like, one per feature version (the newest
/// patch release wins).
fn discover() -> (Option<PathBuf>, BTreeMap<(u8, u8), Interpreter>) {
    let mut found = BTreeMap::new();
    let Some(root) = pyenv_root() else { return (None, found) };
    let Ok(entries) = std::fs::read_dir(root.join("versions")) else { return (Some(root), found) };
    let mut dirs: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            let parts: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
            parts.filter(|p| p.len() == 3).map(|p| (p, entry.path()))
        })
        .collect();
    dirs.sort();
    for (parts, prefix) in dirs {
        let version = (parts[0] as u8, parts[1] as u8);
        let interpreter = Interpreter { version, prefix };
        if interpreter.python().exists() {
            found.insert(version, interpreter);
        }
    }
    (Some(root), found)
}

/// The interpreters to test, with a SKIP line for each expected one that is
/// missing.
fn interpreters() -> Vec<Interpreter> {
    let (root, mut found) = discover();
    for &(major, minor) in EXPECTED {
        if !found.contains_key(&(major, minor)) {
            match &root {
                Some(root) => eprintln!("SKIP: python {major}.{minor} not found under {}", root.join("versions").display()),
                None => eprintln!("SKIP: python {major}.{minor} not found (no pyenv root)"),
            }
        }
    }
    let supported = |v: &(u8, u8)| *v == (2, 7) || (v.0 == 3 && v.1 <= 15);
    found.retain(|v, _| supported(v));
    found.into_values().collect()
}

/// Caches of the stdlib: `__pycache__/*.pyc` for Python 3, `*.pyc` and
/// `*.pyo` beside the sources for Python 2. Sorted, so samples are stable.
fn stdlib_caches(interpreter: &Interpreter) -> Vec<PathBuf> {
    let python2 = interpreter.version.0 == 2;
    let mut caches = Vec::new();
    let mut dirs = vec![interpreter.stdlib()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            let path = entry.path();
            if kind.is_dir() {
                dirs.push(path);
            } else if kind.is_file() {
                let ext = path.extension().and_then(|e| e.to_str());
                let in_pycache = dir.file_name().is_some_and(|n| n == "__pycache__");
                let wanted = if python2 { matches!(ext, Some("pyc" | "pyo")) } else { ext == Some("pyc") && in_pycache };
                if wanted {
                    caches.push(path);
                }
            }
        }
    }
    caches.sort();
    caches
}

#[test]
fn every_stdlib_cache_round_trips() {
    let interpreters = interpreters();
    let results: Vec<((u8, u8), usize, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = interpreters
            .iter()
            .map(|interpreter| {
                scope.spawn(move || {
                    let caches = stdlib_caches(interpreter);
                    let mut failures = Vec::new();
                    for path in &caches {
                        if let Err(problem) = round_trip(path) {
                            failures.push(format!("{}: {problem}", path.display()));
                        }
                    }
                    (interpreter.version, caches.len(), failures)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("round-trip thread")).collect()
    });
    let mut all_failures = Vec::new();
    for ((major, minor), count, failures) in results {
        eprintln!("python {major}.{minor}: {count} stdlib caches read and written back, {} failed", failures.len());
        all_failures.extend(failures);
    }
    assert!(all_failures.is_empty(), "{} caches failed:\n{}", all_failures.len(), all_failures.join("\n"));
}

fn round_trip(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let pyc = read_pyc(&bytes).map_err(|e| e.to_string())?;
    let written = pyc.to_bytes().map_err(|e| e.to_string())?;
    if written != bytes {
        let at = written.iter().zip(&bytes).position(|(a, b)| a != b).unwrap_or(written.len().min(bytes.len()));
        return Err(format!("written bytes differ from byte {at} ({} written, {} read)", written.len(), bytes.len()));
    }
    if !pyc.trailing.is_empty() {
        return Err(format!("{} trailing bytes after the code object", pyc.trailing.len()));
    }
    Ok(())
}
