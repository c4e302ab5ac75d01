//! `pycache verify`: the native compiler checked against the interpreter.
//!
//! Each source is compiled at each level twice: by `pycache-compiler` and
//! marshalled, and by the interpreter it reproduces. The reference is what
//! py_compile writes in a fresh `python -I` process (marshal's reference
//! flags depend on what a process did before, and a fresh process is the
//! stable point), or, on request, what the persistent compileall-like
//! workers of `pycache compile --engine cpython` write. The two bodies are
//! compared byte for byte, then code object by code object with
//! `pycache-dis`'s diff, so every file gets one verdict: identical,
//! code-equal (marshal's sharing aside), different (with the first
//! difference), declined by the native compiler (with its reason), or
//! rejected by both.

mod reference;
mod report;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use pycache_compile::{CompileOptions, native};
use pycache_progress::Progress;
use pycache_python::Interpreter;
use rayon::prelude::*;

pub use reference::Reference;
pub use report::{FileVerdict, LevelSummary, Verdict, VerifyReport};

use reference::{Answer, Referee};

/// A run that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Setup(String),
}

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Files and directories, walked as `pycache compile` walks them.
    pub paths: Vec<PathBuf>,
    pub exclude: Option<regex::Regex>,
    pub max_depth: Option<usize>,
    /// Optimisation levels to check, in order.
    pub levels: Vec<u8>,
    pub reference: Reference,
    pub jobs: usize,
    /// How long the interpreter may take on one file.
    pub timeout: Option<Duration>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            paths: Vec::new(),
            exclude: None,
            max_depth: None,
            levels: vec![0],
            reference: Reference::Fresh,
            jobs: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            timeout: Some(Duration::from_secs(120)),
        }
    }
}

/// Checks every source under `options.paths` at every level.
pub fn verify(
    options: &VerifyOptions,
    interpreter: &Interpreter,
    progress: &dyn Progress,
) -> Result<VerifyReport, VerifyError> {
    let target = native::candidate_for(interpreter).map_err(|reason| {
        VerifyError::Usage(format!("the native compiler cannot be checked against {interpreter}: {reason}"))
    })?;
    if let Some(level) = options.levels.iter().find(|&&l| l > 2) {
        return Err(VerifyError::Usage(format!("optimisation level {level} does not exist (0, 1 or 2)")));
    }
    let mut levels = options.levels.clone();
    let mut seen = std::collections::HashSet::new();
    levels.retain(|l| seen.insert(*l));

    let walk_options = CompileOptions {
        paths: options.paths.clone(),
        exclude: options.exclude.clone(),
        max_depth: options.max_depth,
        ..CompileOptions::default()
    };
    progress.start("scanning", None);
    let (sources, problems) = pycache_compile::walk::walk(&walk_options);
    progress.finish();

    let jobs = options.jobs.clamp(1, pycache_compile::max_jobs());
    let referee = Referee::new(options.reference, interpreter, jobs, options.timeout)
        .map_err(|e| VerifyError::Setup(format!("cannot prepare the reference interpreter: {e}")))?;
    let threads = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("pycache-verify-{i}"))
        .build()
        .map_err(|e| VerifyError::Setup(format!("cannot start threads: {e}")))?;

    let mut files: Vec<FileVerdict> = problems
        .into_iter()
        .filter(|p| !p.error.is_notice())
        .map(|p| FileVerdict {
            path: p.path,
            optimize: None,
            size: None,
            verdict: Verdict::Error { message: p.error.to_string() },
        })
        .collect();
    progress.start("verifying", Some(sources.len() as u64));
    let done = Mutex::new(Vec::new());
    threads.install(|| {
        sources.par_iter().with_max_len(1).for_each(|source| {
            let verdicts = check_file(&source.path, target, &levels, &referee, options.timeout);
            done.lock().expect("results lock").extend(verdicts);
            progress.advance(1);
        })
    });
    progress.finish();
    files.extend(done.into_inner().expect("results lock"));
    Ok(VerifyReport::finish(interpreter.label(), options.reference, files))
}

fn check_file(
    path: &Path,
    target: pycache_compiler::Target,
    levels: &[u8],
    referee: &Referee,
    timeout: Option<Duration>,
) -> Vec<FileVerdict> {
    let verdict = |level: u8, size: Option<u64>, verdict: Verdict| FileVerdict {
        path: path.to_owned(),
        optimize: Some(level),
        size,
        verdict,
    };
    let source = match pycache_compile::source::read(path) {
        Ok((bytes, _)) => bytes,
        Err(err) => {
            let message = err.to_string();
            return levels.iter().map(|&l| verdict(l, None, Verdict::Error { message: message.clone() })).collect();
        }
    };
    let size = Some(source.len() as u64);
    let references = referee.compile(path, &source, levels);
    levels
        .iter()
        .zip(references)
        .map(|(&level, (filename, reference))| {
            let deadline = timeout.map(|t| std::time::Instant::now() + t);
            let native = native::compile_body(&source, &filename, target, level, deadline);
            verdict(level, size, judge(native, reference, referee.magic()))
        })
        .collect()
}

/// One verdict from the native result and the interpreter's.
fn judge(native: Result<native::NativeOutput, native::Declined>, reference: Answer, magic: [u8; 4]) -> Verdict {
    match (native, reference) {
        (_, Answer::Fault(message)) => Verdict::Error { message },
        (Err(declined), Answer::Rejected(interpreter)) => match &declined.cpython {
            // The native compiler named the interpreter's error: it must be
            // the one the interpreter printed.
            Some(e) if !same_error(e, &interpreter) => {
                Verdict::RejectedDifferently { native: declined.reason, interpreter }
            }
            _ => Verdict::RejectedByBoth { native: declined.reason, interpreter },
        },
        (Err(declined), Answer::Body(_)) if declined.cpython.is_some() => {
            Verdict::WronglyRejected { native: declined.reason }
        }
        (Err(declined), _) => Verdict::Declined { reason: declined.reason },
        (Ok(_), Answer::Rejected(interpreter)) => Verdict::InterpreterRejected { interpreter },
        (Ok(native), Answer::Body(reference)) => compare_bodies(&native.body, &reference, magic),
    }
}

/// Whether the interpreter's report of a failure (py_compile's output, or
/// the worker's `exception: message`) is `error`: the same exception and
/// message, and the same line where the traceback gives one.
pub fn same_error(error: &native::CpythonError, interpreter: &str) -> bool {
    let head = format!("{}: {}", error.exception, error.message);
    if !interpreter.contains(&head) {
        return false;
    }
    match (error.lineno, interpreter.find(", line ")) {
        (Some(line), Some(at)) => {
            let digits: String = interpreter[at + 7..].chars().take_while(char::is_ascii_digit).collect();
            digits == line.to_string()
        }
        _ => true,
    }
}

/// Compares two marshalled module bodies under a neutral header:
/// identical, code-equal, or different with the first difference of each
/// code object.
pub fn compare_bodies(native: &[u8], reference: &[u8], magic: [u8; 4]) -> Verdict {
    if native == reference {
        return Verdict::Identical;
    }
    let with_header = |body: &[u8]| {
        let mut file = Vec::with_capacity(16 + body.len());
        file.extend_from_slice(&magic);
        file.extend_from_slice(&[0; 12]);
        file.extend_from_slice(body);
        file
    };
    let (native_file, reference_file) = (with_header(native), with_header(reference));
    let reference_pyc = match pycache_marshal::read_pyc(&reference_file) {
        Ok(pyc) => pyc,
        Err(err) => return Verdict::Error { message: format!("the interpreter's cache does not read back: {err}") },
    };
    let native_pyc = match pycache_marshal::read_pyc(&native_file) {
        Ok(pyc) => pyc,
        Err(err) => {
            return Verdict::Different {
                differences: Vec::new(),
                other: Some(format!("the native cache does not read back: {err}")),
            };
        }
    };
    match pycache_dis::diff::compare_pycs(&native_pyc, &native_file, &reference_pyc, &reference_file) {
        Err(err) => Verdict::Different { differences: Vec::new(), other: Some(format!("cannot compare: {err}")) },
        Ok(report) if report.code.is_empty() && report.other.is_none() => Verdict::CodeEqual {
            detail: if report.flags_only {
                "marshal reference flags or interning marks differ".to_owned()
            } else {
                "the bodies differ, and no code object field does".to_owned()
            },
        },
        Ok(report) => Verdict::Different { differences: report.code, other: report.other },
    }
}
