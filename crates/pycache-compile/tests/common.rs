//! Shared helpers for the compile tests: building trees and running compileall.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use pycache_python::Interpreter;

/// The pinned third-party corpus (`corpus/fetch.py`), if present.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PYCACHE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.corpus/site-packages"));
    dir.is_dir().then_some(dir)
}

/// The interpreter's own standard library directory.
pub fn stdlib(python: &Interpreter) -> PathBuf {
    let (a, b, _) = python.version;
    python.base_prefix.join(format!("lib/python{a}.{b}"))
}

/// Copies the `.py` files under `from` into `to`, skipping caches and
/// `site-packages`, keeping permissions and modification times.
pub fn copy_sources(from: &Path, to: &Path, skip: &[&str]) -> usize {
    let mut count = 0;
    let Ok(entries) = std::fs::read_dir(from) else { return 0 };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if name_str == "__pycache__" || name_str == "site-packages" || skip.contains(&name_str.as_ref()) {
            continue;
        }
        let Ok(kind) = entry.file_type() else { continue };
        let dest = to.join(&name);
        if kind.is_dir() {
            count += copy_sources(&entry.path(), &dest, skip);
        } else if kind.is_file() && name_str.ends_with(".py") {
            std::fs::create_dir_all(to).unwrap();
            std::fs::copy(entry.path(), &dest).unwrap();
            let meta = entry.metadata().unwrap();
            let file = std::fs::File::options().write(true).open(&dest).unwrap();
            file.set_modified(meta.modified().unwrap()).unwrap();
            count += 1;
        }
    }
    count
}

/// Runs `python -m compileall ARGS` and asserts it ran (failed files are fine).
pub fn compileall(python: &Interpreter, args: &[&str], cwd: &Path) {
    let output = Command::new(&python.path)
        .arg("-m")
        .arg("compileall")
        .args(args)
        .current_dir(cwd)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env("PYTHONHASHSEED", "0")
        .output()
        .unwrap();
    let code = output.status.code();
    assert!(matches!(code, Some(0 | 1)), "compileall failed to run: {}", String::from_utf8_lossy(&output.stderr));
}

/// Every cache file under `root`, by relative path.
pub fn caches(root: &Path) -> BTreeMap<PathBuf, PathBuf> {
    fn visit(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                visit(root, &path, out);
            } else {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".pyc") || name.ends_with(".pyo") {
                    out.insert(path.strip_prefix(root).unwrap().to_path_buf(), path);
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    visit(root, root, &mut out);
    out
}

/// Moves every cache under `root` to the same relative place under `to`.
pub fn move_caches(root: &Path, to: &Path) -> usize {
    let found = caches(root);
    for (rel, path) in &found {
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::rename(path, dest).unwrap();
    }
    found.len()
}

/// How two cache files compare.
#[derive(Debug, PartialEq, Eq)]
pub enum Same {
    Bytes,
    /// Equal headers and equal object trees once marshal's references are
    /// followed: the files differ only in which objects marshal flagged,
    /// shared or marked interned, which CPython decides from the state of the
    /// process (reference counts, what was interned before).
    Equivalent,
    /// Equivalent once sets and frozensets are compared as unordered, and not
    /// before. Before 3.12 `hash(None)` is derived from its address, so a
    /// frozenset constant holding `None` (or a tuple with `None`) is laid out
    /// in an order that changes with every process, compileall's included.
    SetOrder,
    Different(String),
}

/// Compares two caches: bytes first, then headers and the object trees with
/// reference flags ignored and references followed.
pub fn compare(ours: &Path, theirs: &Path) -> Same {
    let a = std::fs::read(ours).unwrap();
    let b = std::fs::read(theirs).unwrap();
    if a == b {
        return Same::Bytes;
    }
    let (left, right) = match (pycache_marshal::read_pyc(&a), pycache_marshal::read_pyc(&b)) {
        (Ok(left), Ok(right)) => (left, right),
        (left, right) => return Same::Different(format!("unreadable: {:?} / {:?}", left.err(), right.err())),
    };
    if left.header_bytes != right.header_bytes {
        return Same::Different("headers differ".into());
    }
    let options = pycache_marshal::CompareOptions { ignore_interning: true, ..Default::default() };
    let diff = match pycache_marshal::difference(&left.code, &right.code, options) {
        Ok(None) => return Same::Equivalent,
        Ok(Some(diff)) => diff,
        Err(err) => return Same::Different(format!("bad references: {err}")),
    };
    let unordered = pycache_marshal::CompareOptions { ignore_set_order: true, ..options };
    match pycache_marshal::difference(&left.code, &right.code, unordered) {
        Ok(None) => Same::SetOrder,
        _ => Same::Different(format!("{}: {} != {}", diff.path, diff.left, diff.right)),
    }
}
