//! The native backend: pycache's own compiler, for the interpreters whose
//! release it has a verified profile of.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use pycache_compiler::Target;
use pycache_python::Interpreter;

use crate::options::Engine;

/// The native compiler's target for `interpreter`, when `engine` lets it
/// serve that interpreter; `Err` says why `--engine native` cannot.
pub(crate) fn serves(engine: Engine, interpreter: &Interpreter) -> Result<Option<Target>, String> {
    match (engine, target_for(interpreter)) {
        (Engine::Cpython, _) => Ok(None),
        (_, Ok(target)) => Ok(Some(target)),
        (Engine::Native, Err(reason)) => Err(format!("the native compiler cannot serve {interpreter}: {reason}")),
        (Engine::Auto, Err(_)) => Ok(None),
    }
}

/// The profile the native compiler reproduces `interpreter` with: the one
/// verified for its exact release. `Err` says why there is none.
pub fn target_for(interpreter: &Interpreter) -> Result<Target, String> {
    checked_target(interpreter, Target::exact(interpreter.version))
}

/// The interpreter of a release, described rather than found: what
/// `pycache compile --target` compiles for on a machine without it. It is
/// never run, so such a run takes the native engine only, and a file the
/// native compiler declines fails with the reason.
pub fn described_interpreter(target: Target, release: pycache_compiler::Release) -> Interpreter {
    let (major, minor, micro) = (release.major, release.minor, release.micro);
    let magic = pycache_pyc::Magic::new(target.magic()).to_bytes();
    Interpreter {
        path: PathBuf::from(format!("--target {major}.{minor}.{micro}")),
        executable: PathBuf::new(),
        version: (major, minor, micro),
        release: "final".into(),
        implementation: "cpython".into(),
        cache_tag: Some(format!("cpython-{major}{minor}")),
        magic: magic.iter().map(|b| format!("{b:02x}")).collect(),
        optimize: 0,
        dont_write_bytecode: false,
        pycache_prefix: None,
        check_hash_based_pycs: Some("default".into()),
        prefix: PathBuf::new(),
        base_prefix: PathBuf::new(),
        fs_encoding: "utf-8".into(),
        byteorder: "little".into(),
    }
}

/// What `--target SPEC` compiles for: `3.13` (the newest verified release
/// of it) or `3.13.18` (that release, verified), described.
pub fn target_interpreter(spec: &str) -> Result<Interpreter, String> {
    let target = Target::parse(spec)?;
    let release = spec.parse::<pycache_compiler::Release>().unwrap_or_else(|_| target.newest_release());
    Ok(described_interpreter(target, release))
}

/// Like [`target_for`], with the profiles still being built as well
/// (`Target::candidate`): what `pycache verify` checks.
pub fn candidate_for(interpreter: &Interpreter) -> Result<Target, String> {
    checked_target(interpreter, Target::candidate(interpreter.version))
}

fn checked_target(interpreter: &Interpreter, found: Option<Target>) -> Result<Target, String> {
    if !interpreter.is_cpython() {
        return Err(format!("it reproduces CPython only, and this is {}", interpreter.implementation));
    }
    let Some(target) = found else {
        let (a, b, c) = interpreter.version;
        let verified: Vec<String> =
            pycache_compiler::target::VERIFIED.iter().flat_map(|p| p.releases.iter()).map(|r| r.to_string()).collect();
        return Err(format!(
            "it has no verified profile of CPython {a}.{b}.{c} (it reproduces {} byte for byte)",
            verified.join(", ")
        ));
    };
    if interpreter.magic().map(|m| m.number()) != Some(target.magic()) {
        return Err(format!("its magic number is `{}`, not {}", interpreter.magic, target.magic()));
    }
    if !interpreter.fs_encoding.eq_ignore_ascii_case("utf-8") {
        return Err(format!("its file system encoding is {}, not UTF-8", interpreter.fs_encoding));
    }
    Ok(target)
}

/// Why the native compiler does not reproduce `interpreter`, or `None`
/// when it does ([`target_for`]'s error).
pub fn why_not(interpreter: &Interpreter) -> Option<String> {
    target_for(interpreter).err()
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

/// The marshalled module code of `source`, as `target`'s interpreter would
/// write it after the header, with `filename` as `co_filename`.
///
/// The compile gives up once `deadline` has passed (declined, with the
/// reason); the caller goes on with the next file.
pub fn compile_body(
    source: &[u8],
    filename: &Path,
    target: Target,
    level: u8,
    deadline: Option<std::time::Instant>,
) -> Result<NativeOutput, Declined> {
    let compiled =
        pycache_compiler::compile_path_until(source, filename.as_os_str().as_bytes(), target, level, deadline)
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
    let body = compiled.marshal().map_err(|err| match err {
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
