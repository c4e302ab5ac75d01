//! What the command-line tests share: the built binary, run in a test's
//! own directory with its state (probe cache, header memory) kept there,
//! so that no test sees another's.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

/// `pycache` in `cwd`, with no `SOURCE_DATE_EPOCH` from the caller (it
/// changes the default invalidation mode).
pub fn command(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pycache"));
    command.current_dir(cwd).env_remove("SOURCE_DATE_EPOCH").env("PYCACHE_CACHE_DIR", cwd.join(".pycache-state"));
    command
}

/// `pycache ARGS` in `cwd`, run to the end.
pub fn pycache<S: AsRef<OsStr>>(args: &[S], cwd: &Path) -> Output {
    command(cwd).args(args).output().expect("run pycache")
}

/// `pycache ARGS` for tests of import behaviour: the machines export
/// `PYTHONDONTWRITEBYTECODE=1`, which the interpreters pycache runs would
/// inherit.
pub fn pycache_writing<S: AsRef<OsStr>>(args: &[S], cwd: &Path) -> Output {
    command(cwd).env_remove("PYTHONDONTWRITEBYTECODE").args(args).output().expect("run pycache")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
