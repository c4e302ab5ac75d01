//! One interpreter process that compiles on request.
//!
//! The process runs `worker3.py` (or `worker2.py` on 2.7). The framing is
//! described at the top of those scripts: a request carries the filename to
//! record, the source bytes and the optimisation levels; the answer carries
//! one marshalled code object per level, or the compile error.

use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use crate::interpreter::Interpreter;

const WORKER3: &str = include_str!("worker3.py");
const WORKER2: &str = include_str!("worker2.py");
const SENTINEL: &[u8] = b"\0pycache-end\n";

/// Marshalled code objects, one per requested level, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileOutput {
    pub bodies: Vec<Vec<u8>>,
    /// What the interpreter printed while compiling (warnings).
    pub stderr: String,
}

/// The interpreter refused the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileFailure {
    /// The exception class name: `SyntaxError`, `ValueError`, ...
    pub exception: String,
    /// The message compileall would print (`py_compile.PyCompileError.msg`).
    pub message: String,
    pub lineno: Option<u32>,
    pub offset: Option<u32>,
    pub stderr: String,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot start `{path}`: {source}")]
    Spawn { path: String, source: std::io::Error },
    #[error("the interpreter worker died while compiling ({status}){stderr}")]
    Died { status: String, stderr: String },
    #[error("compiling took longer than {0:?}, so the worker was killed")]
    TimedOut(Duration),
    #[error("the worker's answer is malformed: {0}")]
    Protocol(String),
    #[error("the worker pool cannot start workers: {0}")]
    Broken(String),
}

pub(crate) struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    stderr: ChildStderr,
    pending_stderr: Vec<u8>,
    pub(crate) served: u64,
}

impl Worker {
    /// Starts a worker. `process_optimize` is the interpreter's own -O level,
    /// which only matters on 2.7, where `compile()` has no level argument.
    pub(crate) fn spawn(
        interpreter: &Interpreter,
        process_optimize: u8,
        placeholder: &Path,
    ) -> Result<Self, WorkerError> {
        let mut command = Command::new(&interpreter.path);
        match process_optimize {
            1 => {
                command.arg("-O");
            }
            2 => {
                command.arg("-OO");
            }
            _ => {}
        }
        let script = if interpreter.version.0 < 3 { WORKER2 } else { WORKER3 };
        command.arg("-c").arg(script).arg(placeholder);
        // Reproducible frozenset order on 3.10 and older, unless the user
        // chose a seed; an -O from the environment would change which cached
        // stdlib modules the worker loads; and the worker must not write
        // caches for the interpreter's own modules.
        if std::env::var_os("PYTHONHASHSEED").is_none() {
            command.env("PYTHONHASHSEED", "0");
        }
        command.env_remove("PYTHONOPTIMIZE").env("PYTHONDONTWRITEBYTECODE", "1");
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|source| WorkerError::Spawn { path: interpreter.path.display().to_string(), source })?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        Ok(Self { child, stdin, stdout, stderr, pending_stderr: Vec::new(), served: 0 })
    }

    /// Waits for the line the worker prints once compileall has handed over.
    pub(crate) fn wait_ready(&mut self) -> Result<(), WorkerError> {
        let text = self.read_stderr()?;
        if !text.trim().is_empty() {
            tracing::debug!("worker startup printed: {}", text.trim());
        }
        Ok(())
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Compiles one source at the given levels. An `Err` means the worker is
    /// unusable and must be dropped.
    pub(crate) fn compile(
        &mut self,
        filename: &Path,
        source: &[u8],
        levels: &[i8],
    ) -> Result<Result<CompileOutput, CompileFailure>, WorkerError> {
        let name = filename.as_os_str().as_bytes();
        let mut frame = Vec::with_capacity(source.len() + name.len() + 16 + levels.len());
        frame.extend_from_slice(&[0; 4]);
        frame.push(u8::try_from(levels.len()).map_err(|_| WorkerError::Protocol("too many levels".into()))?);
        frame.extend(levels.iter().map(|&l| l as u8));
        frame.extend_from_slice(&(name.len() as u32).to_le_bytes());
        frame.extend_from_slice(name);
        frame.extend_from_slice(&u32::try_from(source.len()).map_err(|_| too_big())?.to_le_bytes());
        frame.extend_from_slice(source);
        let size = u32::try_from(frame.len() - 4).map_err(|_| too_big())?;
        frame[..4].copy_from_slice(&size.to_le_bytes());
        if self.stdin.write_all(&frame).and_then(|()| self.stdin.flush()).is_err() {
            return Err(self.died());
        }
        let stderr = self.read_stderr()?;
        let mut size = [0u8; 4];
        if self.stdout.read_exact(&mut size).is_err() {
            return Err(self.died());
        }
        let mut answer = vec![0u8; u32::from_le_bytes(size) as usize];
        if self.stdout.read_exact(&mut answer).is_err() {
            return Err(self.died());
        }
        self.served += 1;
        parse_answer(&answer, levels.len(), stderr)
    }

    /// Reads what the worker printed up to the end-of-request line.
    fn read_stderr(&mut self) -> Result<String, WorkerError> {
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(at) = find(&self.pending_stderr, SENTINEL) {
                let text = String::from_utf8_lossy(&self.pending_stderr[..at]).into_owned();
                self.pending_stderr.drain(..at + SENTINEL.len());
                return Ok(text);
            }
            match self.stderr.read(&mut chunk) {
                Ok(0) | Err(_) => return Err(self.died()),
                Ok(n) => self.pending_stderr.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Collects the remains of a dead worker for the report.
    fn died(&mut self) -> WorkerError {
        let _ = self.stderr.read_to_end(&mut self.pending_stderr);
        let status = match self.child.wait() {
            Ok(status) => status.to_string(),
            Err(err) => err.to_string(),
        };
        let text = String::from_utf8_lossy(&self.pending_stderr).trim().to_owned();
        let stderr = if text.is_empty() { String::new() } else { format!(": {}", tail(&text, 2000)) };
        WorkerError::Died { status, stderr }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn too_big() -> WorkerError {
    WorkerError::Protocol("the source is larger than 4 GiB".into())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

fn parse_answer(
    answer: &[u8],
    levels: usize,
    stderr: String,
) -> Result<Result<CompileOutput, CompileFailure>, WorkerError> {
    let mut reader = Cursor { bytes: answer, at: 0 };
    match reader.take(1)?[0] {
        0 => {
            let bodies = (0..levels).map(|_| reader.sized().map(<[u8]>::to_vec)).collect::<Result<Vec<_>, _>>()?;
            Ok(Ok(CompileOutput { bodies, stderr }))
        }
        1 => {
            let exception = String::from_utf8_lossy(reader.sized()?).into_owned();
            let message = String::from_utf8_lossy(reader.sized()?).into_owned();
            let lineno = i32::from_le_bytes(reader.take(4)?.try_into().expect("four bytes"));
            let offset = i32::from_le_bytes(reader.take(4)?.try_into().expect("four bytes"));
            let positive = |v: i32| u32::try_from(v).ok().filter(|&v| v > 0);
            Ok(Err(CompileFailure { exception, message, lineno: positive(lineno), offset: positive(offset), stderr }))
        }
        other => Err(WorkerError::Protocol(format!("unknown status {other}"))),
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WorkerError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| WorkerError::Protocol(format!("answer truncated at byte {}", self.at)))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn sized(&mut self) -> Result<&'a [u8], WorkerError> {
        let size = u32::from_le_bytes(self.take(4)?.try_into().expect("four bytes")) as usize;
        self.take(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_and_truncation_is_an_error() {
        let mut ok = vec![0u8];
        for body in [&b"abc"[..], b""] {
            ok.extend_from_slice(&(body.len() as u32).to_le_bytes());
            ok.extend_from_slice(body);
        }
        let parsed = parse_answer(&ok, 2, String::new()).unwrap().unwrap();
        assert_eq!(parsed.bodies, vec![b"abc".to_vec(), vec![]]);
        assert!(parse_answer(&ok[..5], 2, String::new()).is_err());

        let mut err = vec![1u8];
        for text in [&b"SyntaxError"[..], b"bad"] {
            err.extend_from_slice(&(text.len() as u32).to_le_bytes());
            err.extend_from_slice(text);
        }
        err.extend_from_slice(&3i32.to_le_bytes());
        err.extend_from_slice(&0i32.to_le_bytes());
        let failure = parse_answer(&err, 1, String::new()).unwrap().unwrap_err();
        assert_eq!((failure.exception.as_str(), failure.lineno, failure.offset), ("SyntaxError", Some(3), None));
        assert!(parse_answer(&[9], 1, String::new()).is_err());
    }

    #[test]
    fn tails_respect_char_boundaries() {
        assert_eq!(tail("héllo", 4), "llo");
        assert_eq!(tail("abc", 10), "abc");
    }
}
