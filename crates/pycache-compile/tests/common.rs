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
    /// Equal headers and equal code objects as the interpreter compares them;
    /// the bytes differ only where marshal's reference flags differ.
    RefFlagsOnly,
    Different(String),
}

/// Compares two caches of `python`: bytes first, then (for 3.10 and older,
/// where compileall's own reference flags vary with process history) the
/// unmarshalled code objects in the interpreter itself.
pub fn compare(python: &Interpreter, ours: &Path, theirs: &Path) -> Same {
    let a = std::fs::read(ours).unwrap();
    let b = std::fs::read(theirs).unwrap();
    if a == b {
        return Same::Bytes;
    }
    let header = match python.version {
        (2, ..) => 8,
        (3, minor, _) if minor < 7 => 12,
        _ => 16,
    };
    if a[..header.min(a.len())] != b[..header.min(b.len())] {
        return Same::Different("headers differ".into());
    }
    if a.len() != b.len() {
        return Same::Different(format!("sizes differ: {} and {}", a.len(), b.len()));
    }
    let script = format!(
        "import marshal, sys\n\
         a = marshal.loads(open(sys.argv[1], 'rb').read()[{header}:])\n\
         b = marshal.loads(open(sys.argv[2], 'rb').read()[{header}:])\n\
         def walk(x, y, at):\n\
         \x20   if type(x) != type(y): return at + ': types differ'\n\
         \x20   if hasattr(x, 'co_code'):\n\
         \x20       fields = [f for f in dir(x) if f.startswith('co_') and f != 'co_lnotab' and not callable(getattr(x, f))]\n\
         \x20       for f in fields:\n\
         \x20           d = walk(getattr(x, f), getattr(y, f), at + '/' + x.co_name + '.' + f)\n\
         \x20           if d: return d\n\
         \x20       return None\n\
         \x20   if isinstance(x, (tuple, list)):\n\
         \x20       if len(x) != len(y): return at + ': lengths differ'\n\
         \x20       for i, (p, q) in enumerate(zip(x, y)):\n\
         \x20           d = walk(p, q, at + '[%d]' % i)\n\
         \x20           if d: return d\n\
         \x20       return None\n\
         \x20   if isinstance(x, frozenset): return None if x == y else at + ': sets differ'\n\
         \x20   return None if repr(x) == repr(y) else at + ': ' + repr(x)[:80] + ' != ' + repr(y)[:80]\n\
         d = walk(a, b, '')\n\
         sys.stdout.write(d or '')\n\
         sys.exit(3 if d else 0)\n"
    );
    let output = Command::new(&python.path).arg("-c").arg(script).arg(ours).arg(theirs).output().unwrap();
    if output.status.success() {
        Same::RefFlagsOnly
    } else {
        Same::Different(format!("code objects differ at {}", String::from_utf8_lossy(&output.stdout)))
    }
}
