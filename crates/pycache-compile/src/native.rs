//! The native backend: pycache's own compiler, for the one interpreter
//! whose output it reproduces exactly.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use pycache_python::Interpreter;

use crate::options::Engine;

/// Whether `engine` lets the native compiler serve `interpreter`; `Err`
/// says why `--engine native` cannot.
pub(crate) fn serves(engine: Engine, interpreter: &Interpreter) -> Result<bool, String> {
    match (engine, why_not(interpreter)) {
        (Engine::Cpython, _) => Ok(false),
        (_, None) => Ok(true),
        (Engine::Native, Some(reason)) => Err(format!("the native compiler cannot serve {interpreter}: {reason}")),
        (Engine::Auto, Some(_)) => Ok(false),
    }
}

/// Why the native compiler does not reproduce `interpreter`, or `None`
/// when it does.
pub fn why_not(interpreter: &Interpreter) -> Option<String> {
    let (major, minor, micro) = pycache_compiler::PYTHON_VERSION;
    if !interpreter.is_cpython() {
        return Some(format!("it reproduces CPython only, and this is {}", interpreter.implementation));
    }
    if interpreter.version != pycache_compiler::PYTHON_VERSION {
        let (a, b, c) = interpreter.version;
        return Some(format!("it reproduces CPython {major}.{minor}.{micro} byte for byte, and this is {a}.{b}.{c}"));
    }
    if interpreter.magic().map(|m| m.number()) != Some(pycache_compiler::MAGIC_NUMBER) {
        return Some(format!("its magic number is `{}`, not {}", interpreter.magic, pycache_compiler::MAGIC_NUMBER));
    }
    if !interpreter.fs_encoding.eq_ignore_ascii_case("utf-8") {
        return Some(format!("its file system encoding is {}, not UTF-8", interpreter.fs_encoding));
    }
    None
}

/// Why the native compiler produced no cache for a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declined {
    pub reason: String,
    /// The source is not valid Python as far as the native compiler sees.
    pub syntax: bool,
    /// Set when this is exactly the error the interpreter raises.
    pub cpython: Option<CpythonError>,
    /// The compile gave up at its deadline.
    pub timed_out: bool,
}

/// An error as the interpreter raises it compiling a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpythonError {
    pub exception: String,
    pub message: String,
    pub lineno: Option<u32>,
}

/// A native compile: the marshalled module code and what the interpreter
/// would have warned about.
#[derive(Debug, Clone)]
pub struct NativeOutput {
    pub body: Vec<u8>,
    /// As the warnings module prints them: `file:line: SyntaxWarning:
    /// message`, then the source line indented by two spaces when the file
    /// named `file` can be read (`linecache` reads it again by that name).
    pub warnings: Vec<String>,
}

/// The marshalled module code of `source`, as the interpreter would
/// write it after the header, with `filename` as `co_filename`.
///
/// The compile gives up once `deadline` has passed (declined, with the
/// reason); the caller goes on with the next file.
pub fn compile_body(
    source: &[u8],
    filename: &Path,
    level: u8,
    deadline: Option<std::time::Instant>,
) -> Result<NativeOutput, Declined> {
    let compiled = pycache_compiler::compile_path_until(source, filename.as_os_str().as_bytes(), level, deadline)
        .map_err(|refusal| Declined {
            reason: refusal.to_string(),
            syntax: refusal.kind == pycache_compiler::RefusalKind::Syntax,
            timed_out: refusal.kind == pycache_compiler::RefusalKind::Timeout,
            cpython: refusal.exception.map(|exception| CpythonError {
                exception: exception.to_owned(),
                message: refusal.message.clone(),
                lineno: refusal.line.map(|(line, _)| line),
            }),
        })?;
    let body = pycache_compiler::marshal::marshal_code(&compiled.code).map_err(|err| match err {
        // py_compile compiles, then marshal refuses: the same ValueError.
        pycache_compiler::marshal::MarshalError::TooDeep { .. } => {
            let message = pycache_compiler::limits::message::MARSHAL_DEPTH;
            Declined {
                reason: format!("ValueError: {message}"),
                syntax: true,
                timed_out: false,
                cpython: Some(CpythonError { exception: "ValueError".into(), message: message.into(), lineno: None }),
            }
        }
        err => {
            Declined { reason: format!("native compiler bug: {err}"), syntax: false, cpython: None, timed_out: false }
        }
    })?;
    let name = filename.display();
    let lines = (!compiled.warnings.is_empty())
        .then(|| std::fs::read(filename).ok().and_then(|bytes| pycache_compiler::source_lines(&bytes)))
        .flatten()
        .unwrap_or_default();
    let warnings = compiled
        .warnings
        .iter()
        .map(|w| {
            let head = format!("{name}:{}: {}: {}", w.lineno, w.category.name(), w.message);
            let line = (w.lineno as usize).checked_sub(1).and_then(|i| lines.get(i));
            // Any line that exists is printed, even a blank one.
            match line {
                Some(line) => format!("{head}\n  {line}"),
                None => head,
            }
        })
        .collect();
    Ok(NativeOutput { body, warnings })
}
