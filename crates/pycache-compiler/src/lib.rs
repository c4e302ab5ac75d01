//! A native compiler from Python source to CPython bytecode, for the
//! releases listed in [`target::VERIFIED`] (CPython 3.12.1 today).
//!
//! The stages follow CPython's own, and carry their names so that a reader
//! can cross-reference them: parsing (ruff's parser, lowered to a
//! CPython-shaped AST in `lower`), future flags (`future`), AST constant
//! folding (`fold`), the symbol table (`symtable`), code generation into
//! pseudo-instructions (`codegen`), control-flow-graph optimisation
//! (`flowgraph`), assembly (`assemble`), and marshalling (`marshal`). One
//! driver (`driver.rs`) runs them in that order; the types they hand each
//! other live in modules of their own (`ast`, `ir`, `instr`, `code`), so
//! each stage depends only on those beneath it. Every stage reads what
//! differs between versions from the [`Target`] it is given.
//!
//! The goal is exactness: the bytes written equal what the target release's
//! `py_compile` writes for the same file, or the file is refused with a
//! reason ([`Refusal`]) so that the caller can fall back to the
//! interpreter.
//!
//! [`code`] holds the code objects the pipeline produces, as values; which of
//! them CPython would share, flag or intern is decided when they are
//! marshalled.

mod assemble;
pub mod ast;
pub mod code;
mod codegen;
mod driver;
mod error;
mod flowgraph;
mod fold;
mod future;
mod generated;
pub mod instr;
mod ir;
pub mod limits;
mod lower;
pub mod marshal;
mod nesting;
pub mod ops;
mod source;
#[doc(hidden)]
pub mod stages;
pub mod symtable;
pub mod target;
mod unparse;
mod warning;

pub use driver::WORKER_STACK;
pub use error::{Refusal, RefusalKind};
pub use target::{Feature, Profile, Release, Target};
pub use warning::{Category, Warning};

/// Maps keyed by names and small values: a fast hash, with no need to
/// resist collisions chosen by an attacker (a source is compiled once).
pub(crate) type FxIndexMap<K, V> = indexmap::IndexMap<K, V, rustc_hash::FxBuildHasher>;
pub(crate) type FxIndexSet<K> = indexmap::IndexSet<K, rustc_hash::FxBuildHasher>;

use code::{CodeObject, PyStr};

/// Compiles the bytes of a source file for `target`, as `compile(source,
/// filename, 'exec', optimize=optimize)` does in that release.
pub fn compile(source: &[u8], filename: &str, target: Target, optimize: u8) -> Result<CodeObject, Refusal> {
    driver::compile(source, PyStr::new(filename), target, optimize).map(|out| out.code)
}

/// Like [`compile`], for a file name given as the bytes of a path: the
/// name recorded is what a UTF-8 file system encoding with
/// `surrogateescape` makes of them, as in CPython on Linux.
pub fn compile_path(source: &[u8], filename: &[u8], target: Target, optimize: u8) -> Result<CodeObject, Refusal> {
    compile_path_warned(source, filename, target, optimize).map(|out| out.code)
}

/// A compiled module, the warnings CPython would print compiling it, and
/// the target it was compiled for.
#[derive(Debug)]
pub struct Compiled {
    pub code: CodeObject,
    pub warnings: Vec<Warning>,
    pub target: Target,
}

impl Compiled {
    /// The last stage: the marshal stream the target writes after a cache's
    /// header.
    pub fn marshal(&self) -> Result<Vec<u8>, marshal::MarshalError> {
        marshal::marshal_code(&self.code, self.target)
    }
}

/// [`compile_path`], with the warnings.
pub fn compile_path_warned(source: &[u8], filename: &[u8], target: Target, optimize: u8) -> Result<Compiled, Refusal> {
    driver::compile(source, fs_decode(filename), target, optimize)
}

/// [`compile_path_warned`], given up at `deadline` with a
/// [`RefusalKind::Timeout`] refusal: the stages check it as they go.
pub fn compile_path_until(
    source: &[u8],
    filename: &[u8],
    target: Target,
    optimize: u8,
    deadline: Option<std::time::Instant>,
) -> Result<Compiled, Refusal> {
    DEADLINE.with(|d| d.set(deadline));
    let out = driver::compile(source, fs_decode(filename), target, optimize);
    DEADLINE.with(|d| d.set(None));
    out
}

/// The module's code-generation output for `target`, before the flow
/// graph, as text (see `driver::codegen_listing`): for the differential
/// test against the interpreter's `_testinternalcapi.compiler_codegen`.
#[doc(hidden)]
pub fn codegen_listing(source: &[u8], filename: &str, target: Target, optimize: u8) -> Result<String, Refusal> {
    driver::codegen_listing(source, PyStr::new(filename), target, optimize)
}

thread_local! {
    /// When the compile running on this thread must give up.
    pub(crate) static DEADLINE: std::cell::Cell<Option<std::time::Instant>> = const { std::cell::Cell::new(None) };
}

/// A refusal once the deadline of the compile on this thread has passed:
/// called between stages and inside the loops over statements and code
/// units, so a huge file stops within a few milliseconds of it.
pub(crate) fn check_deadline() -> Result<(), Refusal> {
    match DEADLINE.with(|d| d.get()) {
        Some(deadline) if std::time::Instant::now() >= deadline => Err(Refusal {
            kind: RefusalKind::Timeout,
            ..Refusal::unsupported("the compile took longer than its timeout")
        }),
        _ => Ok(()),
    }
}

/// The lines of a source file as Python's `linecache` gives them to the
/// warnings module, each stripped as `str.strip()` strips: decoded with the
/// file's encoding, split at universal newlines. `None` where `linecache`
/// would have no lines (undecodable text).
pub fn source_lines(bytes: &[u8]) -> Option<Vec<String>> {
    let source = source::Source::decode(bytes).ok()?;
    // str.isspace also holds for the information separators U+001C..U+001F.
    let strip =
        |line: &str| line.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)).to_owned();
    Some(source.text.split_inclusive('\n').map(strip).collect())
}

fn fs_decode(bytes: &[u8]) -> PyStr {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return PyStr::new(text);
    }
    let mut points = Vec::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        points.extend(chunk.valid().chars().map(|c| c as u32));
        points.extend(chunk.invalid().iter().map(|&b| 0xDC00 + b as u32));
    }
    PyStr::from_code_points(points)
}

#[cfg(test)]
mod tests {
    use super::source_lines;

    /// Line `lineno`, 1-based, as the warnings module would print it.
    fn source_line(bytes: &[u8], lineno: u32) -> Option<String> {
        source_lines(bytes)?.get(usize::try_from(lineno).ok()?.checked_sub(1)?).cloned()
    }

    #[test]
    fn source_lines_are_found_as_linecache_finds_them() {
        let source = b"\xef\xbb\xbfa = 1\r\n\t b = '\\d'\x1f \rc = 3\n\n  last";
        assert_eq!(source_line(source, 1).as_deref(), Some("a = 1"));
        assert_eq!(source_line(source, 2).as_deref(), Some("b = '\\d'"));
        assert_eq!(source_line(source, 3).as_deref(), Some("c = 3"));
        assert_eq!(source_line(source, 4).as_deref(), Some(""));
        assert_eq!(source_line(source, 5).as_deref(), Some("last"));
        assert_eq!(source_line(source, 6), None);
        assert_eq!(source_line(source, 0), None);
        assert_eq!(source_line(b"# coding: latin-1\nx = '\xe9'\n", 2).as_deref(), Some("x = '\u{e9}'"));
        assert_eq!(source_line(b"x = '\xe9'\n", 1), None);
    }
}
