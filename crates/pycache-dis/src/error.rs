use pycache_marshal::{PycError, RefError};
use pycache_pyc::PyVersion;

use crate::exceptions::ExceptionTableError;
use crate::lines::LineTableError;

/// Why a cache or code object could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisError {
    #[error(transparent)]
    Pyc(#[from] PycError),
    #[error(transparent)]
    Ref(#[from] RefError),
    #[error("no opcode table for Python {0}")]
    NoTable(PyVersion),
    #[error("the module is not a code object but {0}")]
    NotCode(String),
    #[error("{field} is {found}, not the expected type")]
    FieldType { field: &'static str, found: String },
    #[error("code object `{qualname}`: {source}")]
    LineTable { qualname: String, source: LineTableError },
    #[error("code object `{qualname}`: {source}")]
    ExceptionTable { qualname: String, source: ExceptionTableError },
}
