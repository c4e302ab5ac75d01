//! The interpreter's side of a check: the marshalled body it writes for a
//! source at a level.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use pycache_python::{Interpreter, PoolOptions, WorkerPool};
use wait_timeout::ChildExt;

/// Which of the interpreter's caches the native compiler must equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reference {
    /// `python -I [-O|-OO] -m py_compile FILE`, one fresh process per file
    /// and level, on a copy of the file in a private directory (so the
    /// recorded file name is the copy's).
    Fresh,
    /// The persistent compileall-like workers of `pycache compile
    /// --engine cpython`: many files per process, as compileall runs.
    Compileall,
}

/// The interpreter's answer for one level.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The module's marshalled code (the cache without its header).
    Body(Vec<u8>),
    /// The interpreter refused the source: its message.
    Rejected(String),
    /// Something went wrong around the interpreter (a crash, a timeout,
    /// no cache where one was expected).
    Fault(String),
}

pub(crate) struct Referee {
    kind: Kind,
    magic: [u8; 4],
}

enum Kind {
    Fresh { python: PathBuf, scratch: tempfile::TempDir, timeout: Option<Duration> },
    Compileall { pool: Box<WorkerPool> },
}

impl Referee {
    pub fn new(
        reference: Reference,
        interpreter: &Interpreter,
        jobs: usize,
        timeout: Option<Duration>,
    ) -> std::io::Result<Self> {
        let magic = interpreter
            .magic()
            .map(|m| m.to_bytes())
            .ok_or_else(|| std::io::Error::other(format!("`{}` is not a magic number", interpreter.magic)))?;
        let kind = match reference {
            Reference::Fresh => Kind::Fresh {
                python: interpreter.path.clone(),
                scratch: tempfile::Builder::new().prefix("pycache-verify").tempdir()?,
                timeout,
            },
            Reference::Compileall => Kind::Compileall {
                pool: Box::new(WorkerPool::new(interpreter.clone(), 0, PoolOptions { jobs: jobs.max(1), timeout })?),
            },
        };
        Ok(Self { kind, magic })
    }

    /// The magic number, for a header around bodies to be read back.
    pub fn magic(&self) -> [u8; 4] {
        self.magic
    }

    /// One answer per level, in order, each with the file name the
    /// interpreter compiled under (what the native side must use too).
    pub fn compile(&self, path: &Path, source: &[u8], levels: &[u8]) -> Vec<(PathBuf, Answer)> {
        match &self.kind {
            Kind::Fresh { python, scratch, timeout } => levels
                .iter()
                .map(|&level| {
                    let fresh = fresh(python, scratch.path(), *timeout, path, source, level);
                    (fresh.filename.unwrap_or_else(|| path.to_owned()), fresh.answer)
                })
                .collect(),
            Kind::Compileall { pool } => {
                let wanted: Vec<i8> = levels.iter().map(|&l| l as i8).collect();
                let answers: Vec<Answer> = match pool.compile(path, source, &wanted) {
                    Ok(Ok(output)) => output.bodies.into_iter().map(Answer::Body).collect(),
                    Ok(Err(failure)) => {
                        let message = format!("{}: {}", failure.exception, failure.message.trim_end());
                        levels.iter().map(|_| Answer::Rejected(message.clone())).collect()
                    }
                    Err(err) => levels.iter().map(|_| Answer::Fault(err.to_string())).collect(),
                };
                answers.into_iter().map(|answer| (path.to_owned(), answer)).collect()
            }
        }
    }
}

/// Runs `python -I -m py_compile` in a fresh process on a copy of the
/// source in a private directory, and reads back the cache it wrote
/// beside the copy. Compiling the file where it is would write into the
/// tree, and a pycache prefix would make the process compile its own
/// startup modules from source, which changes the state marshal sees.
fn fresh(python: &Path, scratch: &Path, timeout: Option<Duration>, path: &Path, source: &[u8], level: u8) -> Fresh {
    let dir = match tempfile::Builder::new().prefix("ref").tempdir_in(scratch) {
        Ok(dir) => dir,
        Err(err) => return Fresh::fault(format!("cannot make a scratch directory: {err}")),
    };
    let copy = dir.path().join(path.file_name().unwrap_or_else(|| "module.py".as_ref()));
    if let Err(err) = fs_err::write(&copy, source) {
        return Fresh::fault(err.to_string());
    }
    let answer = run_py_compile(python, dir.path(), timeout, &copy, level);
    Fresh { filename: Some(copy), answer }
}

pub(crate) struct Fresh {
    /// The name the interpreter compiled the copy under.
    pub filename: Option<PathBuf>,
    pub answer: Answer,
}

impl Fresh {
    fn fault(message: String) -> Self {
        Self { filename: None, answer: Answer::Fault(message) }
    }
}

fn run_py_compile(python: &Path, dir: &Path, timeout: Option<Duration>, copy: &Path, level: u8) -> Answer {
    let mut command = Command::new(python);
    command.arg("-I");
    match level {
        0 => {}
        1 => {
            command.arg("-O");
        }
        _ => {
            command.arg("-OO");
        }
    }
    // A file, not a pipe: a source with many warnings cannot fill a pipe
    // nobody reads while the timeout is waited for.
    let log_path = dir.join("stderr.txt");
    let log = match std::fs::File::create(&log_path) {
        Ok(file) => file,
        Err(err) => return Answer::Fault(format!("cannot make `{}`: {err}", log_path.display())),
    };
    command
        .args(["-m", "py_compile"])
        .arg(copy)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => return Answer::Fault(format!("cannot run `{}`: {err}", python.display())),
    };
    let status = match timeout {
        Some(limit) => match child.wait_timeout(limit) {
            Ok(Some(status)) => status,
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Answer::Fault(format!("py_compile took longer than {}s", limit.as_secs()));
            }
            Err(err) => return Answer::Fault(format!("cannot wait for py_compile: {err}")),
        },
        None => match child.wait() {
            Ok(status) => status,
            Err(err) => return Answer::Fault(format!("cannot wait for py_compile: {err}")),
        },
    };
    let stderr = String::from_utf8_lossy(&std::fs::read(&log_path).unwrap_or_default()).into_owned();
    if !status.success() {
        return if status.code() == Some(1) && !stderr.is_empty() {
            Answer::Rejected(stderr.trim_end().to_owned())
        } else {
            Answer::Fault(format!("py_compile failed ({status}): {}", stderr.trim_end()))
        };
    }
    let caches: Vec<PathBuf> = fs_err::read_dir(dir.join("__pycache__"))
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    match caches.as_slice() {
        [cache] => match fs_err::read(cache) {
            Ok(bytes) if bytes.len() >= 16 => Answer::Body(bytes[16..].to_vec()),
            Ok(_) => Answer::Fault(format!("py_compile wrote a truncated cache `{}`", cache.display())),
            Err(err) => Answer::Fault(err.to_string()),
        },
        [] => Answer::Fault("py_compile wrote no cache".to_owned()),
        _ => Answer::Fault(format!("py_compile wrote {} files, not one cache", caches.len())),
    }
}
