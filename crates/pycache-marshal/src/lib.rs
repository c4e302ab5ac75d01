//! CPython's marshal format, as `.pyc` files use it, for 2.7 and 3.0 to 3.15.
//!
//! [`read`] turns a stream into an [`Object`] tree that keeps every encoding
//! choice (type codes, FLAG_REF bits, back-references), so that [`write()`]
//! gives back the same bytes. What a version accepts, and its code object
//! layout, come from a [`Format`] (a version or a pyc magic number);
//! [`read_pyc`] does the header too. [`RefTable`] resolves back-references
//! for code that walks the tree, and [`equivalent`] compares two trees while
//! ignoring the reference flags, which depend on refcounts inside the
//! interpreter that wrote them. [`Builder`] makes objects the way a given
//! version would. The reader never panics: depth, sizes and references are
//! checked against the input before anything is allocated.
//!
//! ```
//! use pycache_marshal::{Format, RefTable, read, write};
//! use pycache_pyc::PyVersion;
//!
//! let format = Format::for_version(PyVersion::new(3, 12)).unwrap();
//! // ('x', 'x'): the first item flagged, the second a reference to it.
//! let bytes = b")\x02\xda\x01xr\x00\x00\x00\x00";
//! let tuple = read(bytes, format).unwrap();
//! assert_eq!(write(&tuple).unwrap(), bytes);
//! let table = RefTable::new(&tuple).unwrap();
//! let items = tuple.as_sequence().unwrap();
//! assert_eq!(table.resolve(&items[1]).unwrap(), &items[0]);
//! ```

mod builder;
mod code;
mod compare;
mod error;
mod format;
mod object;
mod pyc;
mod reader;
mod refs;
#[cfg(test)]
mod testdata;
mod writer;

pub use builder::Builder;
pub use code::{Code, Code27, Code30, Code38, Code311, CodeLayout, Field, FieldRef};
pub use compare::{CompareOptions, Difference, difference, equivalent, streams_equivalent};
pub use error::{FormatError, PycError, ReadError, RefError, TypeCode, WriteError};
pub use format::Format;
pub use object::{Dict, FLAG_REF, Long, MAX_DECIMAL_BITS, Object, Str, StrKind, Tuple, Value};
pub use pyc::{Pyc, read_pyc};
pub use reader::{MAX_DEPTH, read, read_prefix};
pub use refs::RefTable;
pub use writer::{write, write_for, write_into};
