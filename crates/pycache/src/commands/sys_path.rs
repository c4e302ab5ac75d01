//! What `python -m compileall` compiles when it is given no paths.
//!
//! compileall then walks `sys.path` as `python -m compileall` sees it: it
//! skips an entry that is empty or `.` (the current directory, as `-m`
//! spelled it before 3.7), and compiles the files at the top level of every
//! other entry (`maxlevels=0`), quietly passing over entries it cannot list
//! (zip files, directories that do not exist). Since 3.7, `-m` puts the
//! current directory on `sys.path` as a full path, which that rule does not
//! catch, so the current directory is compiled too.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use pycache_python::Interpreter;

/// Prints `sys.path` as `python -m` would have it, each entry as the bytes
/// of its file name and a NUL. `-c` puts `''` first where `-m` puts the
/// current directory (3.7+); under `-P`/PYTHONSAFEPATH neither adds one.
const SCRIPT: &str = r#"
import os, sys
entries = list(sys.path)
if entries and not getattr(sys.flags, "safe_path", False) and sys.version_info >= (3, 7):
    entries[0] = os.getcwd()
out = getattr(sys.stdout, "buffer", sys.stdout)
encode = getattr(os, "fsencode", lambda p: p)
for entry in entries:
    out.write(encode(entry) + b"\0")
out.flush()
"#;

/// `sys.path` of `interpreter` run as `python -m compileall` would run, in
/// this process's environment and directory.
pub fn entries(interpreter: &Interpreter) -> anyhow::Result<Vec<PathBuf>> {
    let output = Command::new(&interpreter.path)
        .args(["-c", SCRIPT])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {interpreter} to read its sys.path"))?;
    if !output.status.success() {
        bail!(
            "{interpreter} failed to print its sys.path ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(parse(&output.stdout))
}

fn parse(bytes: &[u8]) -> Vec<PathBuf> {
    bytes.split(|b| *b == 0).filter(|e| !e.is_empty()).map(|e| PathBuf::from(OsStr::from_bytes(e))).collect()
}

/// The directories compileall compiles with no paths, in `sys.path` order,
/// each once.
pub fn directories(interpreter: &Interpreter) -> anyhow::Result<Vec<PathBuf>> {
    Ok(select(entries(interpreter)?))
}

fn select(entries: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = std::collections::HashSet::new();
    entries
        .into_iter()
        .filter(|entry| !entry.as_os_str().is_empty() && entry.as_os_str() != ".")
        .filter(|entry| entry.is_dir())
        .filter(|entry| seen.insert(entry.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_nul_separated_bytes() {
        let entries = parse(b"/a\0\0/b c\0/\xff\0");
        assert_eq!(entries, [PathBuf::from("/a"), PathBuf::from("/b c"), PathBuf::from(OsStr::from_bytes(b"/\xff"))]);
    }

    #[test]
    fn the_current_directory_spelled_empty_or_dot_and_what_cannot_be_listed_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::write(dir.path().join("lib.zip"), b"").unwrap();
        let entries = vec![
            PathBuf::from(""),
            PathBuf::from("."),
            real.clone(),
            dir.path().join("lib.zip"),
            dir.path().join("missing"),
            real.clone(),
        ];
        assert_eq!(select(entries), [real]);
    }

    /// Before 3.7, `-m` leaves the current directory as `''`, which
    /// compileall skips; from 3.7 it is a full path and compiled.
    #[test]
    fn the_current_directory_is_compiled_from_3_7_only() {
        let cwd = std::env::current_dir().unwrap();
        for (minor, compiled) in [(6, false), (12, true)] {
            let Some(python) =
                pycache_python::testing::reference(3, minor, "the_current_directory_is_compiled_from_3_7_only")
            else {
                continue;
            };
            let entries = entries(&python).unwrap();
            assert_eq!(entries.first() == Some(&cwd), compiled, "3.{minor}: {entries:?}");
            assert_eq!(select(entries).contains(&cwd), compiled, "3.{minor}");
        }
    }
}
