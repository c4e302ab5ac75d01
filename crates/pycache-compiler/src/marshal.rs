//! Marshal writing: a [`CodeObject`] value tree to the exact bytes CPython
//! 3.12 writes for it (DOCS TO COME).

mod emit;
mod graph;
mod interned;
mod unmarshal;

use crate::code::CodeObject;

#[doc(hidden)]
pub use unmarshal::{UnmarshalError, code_from_marshal};

/// How the reference caches are made: a fresh `python3.12 -s -P -c` with
/// this program, then `SOURCE CACHE LEVEL` (the source path is also the
/// recorded file name). Tests use it to compare with CPython.
#[doc(hidden)]
pub const REFERENCE_COMPILE: &str = "import sys, py_compile\n\
py_compile.compile(sys.argv[1], sys.argv[2], sys.argv[1], doraise=True, optimize=int(sys.argv[3]), \
invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)";

/// Why a code object cannot be marshalled (CPython would refuse it too).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarshalError {
    #[error("objects nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("more flagged objects than marshal can index")]
    TooManyObjects,
    #[error(transparent)]
    Write(#[from] pycache_marshal::WriteError),
}

/// The marshal stream CPython 3.12 writes for `code` as the module code
/// object of a `.pyc`.
pub fn marshal_code(code: &CodeObject) -> Result<Vec<u8>, MarshalError> {
    let mut out = Vec::new();
    marshal_into(code, &mut out)?;
    Ok(out)
}

/// A whole `.pyc`: the caller's 16-byte 3.12 header, then [`marshal_code`].
pub fn pyc_bytes(header: &[u8; 16], code: &CodeObject) -> Result<Vec<u8>, MarshalError> {
    let mut out = header.to_vec();
    marshal_into(code, &mut out)?;
    Ok(out)
}

fn marshal_into(code: &CodeObject, out: &mut Vec<u8>) -> Result<(), MarshalError> {
    let graph = graph::Graph::build(code);
    let object = emit::Emitter::new(&graph).emit(graph.root, 1)?;
    pycache_marshal::write_into(&object, out)?;
    Ok(())
}
