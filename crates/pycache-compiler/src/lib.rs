//! A native compiler from Python source to CPython 3.12 bytecode.
//!
//! The stages follow CPython's own, and carry their names so that a reader
//! can cross-reference them: parsing (ruff's parser, lowered to a
//! CPython-shaped AST in `lower`), future flags (`future`), AST constant
//! folding (`fold`), the symbol table (`symtable`), code generation into
//! pseudo-instructions (`codegen`), control-flow-graph optimisation
//! (`flowgraph`), assembly (`assemble`), and marshalling (`marshal`). The
//! goal is exactness: the bytes written equal what CPython 3.12's
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
mod error;
mod flowgraph;
mod fold;
mod future;
mod generated;
pub mod instr;
mod lower;
pub mod marshal;
mod source;
pub mod symtable;
mod unparse;

pub use error::{Refusal, RefusalKind};

use code::{CodeObject, PyStr};

/// Compiles the bytes of a source file, as `compile(source, filename,
/// 'exec', optimize=optimize)` does in CPython 3.12.
pub fn compile(source: &[u8], filename: &str, optimize: u8) -> Result<CodeObject, Refusal> {
    let source = source::Source::decode(source)?;
    let mut module = lower::parse(&source)?;
    let flags = future::features(&module)?;
    fold::Folder { optimize, future_annotations: flags.annotations }.module(&mut module)?;
    let mut st = symtable::build(&module, flags.annotations)?;
    let mut compiler = codegen::Compiler::new(&mut st, PyStr::new(filename), optimize, flags);
    compiler.module(&module)
}
