//! A native compiler from Python source to CPython 3.12 bytecode.
//!
//! The stages follow CPython's own, and carry their names so that a reader
//! can cross-reference them: parsing (ruff's parser, lowered to a
//! CPython-shaped AST), future flags, AST constant folding, the symbol table,
//! code generation into pseudo-instructions, control-flow-graph optimisation,
//! assembly, and marshalling. The goal is exactness: the bytes written equal
//! what CPython 3.12's `py_compile` writes for the same file, or the file is
//! refused with a reason so that the caller can fall back to the interpreter.
//!
//! [`code`] holds the code objects the pipeline produces, as values; which of
//! them CPython would share, flag or intern is decided when they are
//! marshalled.

pub mod code;
pub mod marshal;
