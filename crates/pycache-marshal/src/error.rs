use std::fmt;

use pycache_pyc::{HeaderError, Magic, PyVersion};

/// A type byte as found in the stream, for messages: the printable code in
/// backticks, and whether FLAG_REF was set on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypeCode(pub u8);

impl fmt::Display for TypeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.0 & 0x7f;
        if code.is_ascii_graphic() {
            write!(f, "`{}`", code as char)?;
        } else {
            write!(f, "{code:#04x}")?;
        }
        if self.0 & 0x80 != 0 {
            write!(f, " (with FLAG_REF)")?;
        }
        Ok(())
    }
}

/// Why a marshal stream was rejected. Every variant carries the byte offset
/// (from the start of the data given to the reader, or of the file for
/// [`crate::read_pyc`]) of the object or field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("marshal data too short at byte {offset}: {what} needs {needed} bytes, {available} left")]
    Truncated { offset: usize, what: &'static str, needed: usize, available: usize },

    #[error("unknown type code {code} at byte {offset} for Python {version}")]
    UnknownType { offset: usize, code: TypeCode, version: PyVersion },

    #[error("objects nested deeper than {limit} levels at byte {offset}")]
    TooDeep { offset: usize, limit: usize },

    #[error("negative size {size} for type {code} at byte {offset}")]
    NegativeSize { offset: usize, code: TypeCode, size: i32 },

    #[error("type {code} at byte {offset} claims {size} items, but only {available} bytes remain")]
    SizeTooLarge { offset: usize, code: TypeCode, size: usize, available: usize },

    #[error("NULL object (`0`) at byte {offset} where {context} was expected")]
    Null { offset: usize, context: &'static str },

    #[error("reference at byte {offset} to object {index}, but only {table_len} objects are flagged so far")]
    InvalidRef { offset: usize, index: i64, table_len: usize },

    #[error("reference at byte {offset} to object {index}, which is still being read")]
    RefToIncomplete { offset: usize, index: usize },

    #[error("string reference at byte {offset} to interned string {index}, but only {table_len} were read")]
    InvalidStringRef { offset: usize, index: i64, table_len: usize },

    #[error("too many flagged objects at byte {offset} (the index list is limited to 2**31 - 2)")]
    TooManyRefs { offset: usize },

    #[error("int size {size} out of range at byte {offset}")]
    LongSize { offset: usize, size: i32 },

    #[error("int digit {digit:#06x} out of range (15 bits) at byte {offset}")]
    LongDigit { offset: usize, digit: u16 },

    #[error("int with a zero top digit (not normalized) at byte {offset}")]
    LongNotNormalized { offset: usize },

    #[error("invalid float text {text:?} for type {code} at byte {offset}")]
    InvalidFloat { offset: usize, code: TypeCode, text: String },

    #[error("invalid UTF-8 in string of type {code} at byte {offset}")]
    InvalidUtf8 { offset: usize, code: TypeCode },
}

impl ReadError {
    /// The byte offset the error refers to.
    pub fn offset(&self) -> usize {
        match *self {
            Self::Truncated { offset, .. }
            | Self::UnknownType { offset, .. }
            | Self::TooDeep { offset, .. }
            | Self::NegativeSize { offset, .. }
            | Self::SizeTooLarge { offset, .. }
            | Self::Null { offset, .. }
            | Self::InvalidRef { offset, .. }
            | Self::RefToIncomplete { offset, .. }
            | Self::InvalidStringRef { offset, .. }
            | Self::TooManyRefs { offset }
            | Self::LongSize { offset, .. }
            | Self::LongDigit { offset, .. }
            | Self::LongNotNormalized { offset }
            | Self::InvalidFloat { offset, .. }
            | Self::InvalidUtf8 { offset, .. } => offset,
        }
    }

    /// The same error with its offset moved by `base`: used when the stream
    /// sits after a header, so that offsets count from the start of the file.
    pub fn shifted(mut self, base: usize) -> Self {
        match &mut self {
            Self::Truncated { offset, .. }
            | Self::UnknownType { offset, .. }
            | Self::TooDeep { offset, .. }
            | Self::NegativeSize { offset, .. }
            | Self::SizeTooLarge { offset, .. }
            | Self::Null { offset, .. }
            | Self::InvalidRef { offset, .. }
            | Self::RefToIncomplete { offset, .. }
            | Self::InvalidStringRef { offset, .. }
            | Self::TooManyRefs { offset }
            | Self::LongSize { offset, .. }
            | Self::LongDigit { offset, .. }
            | Self::LongNotNormalized { offset }
            | Self::InvalidFloat { offset, .. }
            | Self::InvalidUtf8 { offset, .. } => *offset = offset.saturating_add(base),
        }
        self
    }
}

/// Why an object tree cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("{what} has {len} elements, more than the format's limit of {max}")]
    TooLong { what: &'static str, len: usize, max: usize },

    #[error("objects nested deeper than {limit} levels")]
    TooDeep { limit: usize },

    #[error("invalid int: {0}")]
    InvalidLong(&'static str),

    #[error("the written stream would not be accepted by Python {version}: {source}")]
    NotReadable {
        version: PyVersion,
        #[source]
        source: ReadError,
    },

    #[error("the written stream reads back as a different object tree")]
    NotRoundTrip,
}

/// A reference in an object tree that does not point at a flagged object
/// before it (trees built by hand can have these; the reader rejects them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error("reference to object {index}, but the tree flags only {table_len} objects before it")]
    InvalidRef { index: u32, table_len: usize },

    #[error("reference to object {index}, which contains the reference")]
    RefToIncomplete { index: u32 },

    #[error("string reference to interned string {index}, but only {table_len} come before it")]
    InvalidStringRef { index: u32, table_len: usize },
}

/// A version or magic number this crate has no marshal format for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("no marshal format for Python {0} (supported: 2.7 and 3.0 to 3.15)")]
    UnsupportedVersion(PyVersion),

    #[error("magic number {0} belongs to no known Python version")]
    UnknownMagic(Magic),

    #[error("magic number {magic} is a pre-release whose code object layout is not supported: {reason}")]
    UnsupportedPrerelease { magic: Magic, reason: &'static str },
}

/// Why a whole `.pyc` could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PycError {
    #[error("bad pyc header: {0}")]
    Header(#[from] HeaderError),

    #[error(transparent)]
    Format(#[from] FormatError),

    #[error("bad pyc body: {0}")]
    Read(#[from] ReadError),

    #[error("cannot write pyc body: {0}")]
    Write(#[from] WriteError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_codes_print_readably() {
        assert_eq!(TypeCode(b'z').to_string(), "`z`");
        assert_eq!(TypeCode(b'z' | 0x80).to_string(), "`z` (with FLAG_REF)");
        assert_eq!(TypeCode(0x01).to_string(), "0x01");
        assert_eq!(TypeCode(0xff).to_string(), "0x7f (with FLAG_REF)");
    }

    #[test]
    fn shifting_moves_the_offset_only() {
        let err = ReadError::Null { offset: 3, context: "a tuple item" };
        assert_eq!(err.clone().shifted(16).offset(), 19);
        assert_eq!(err.shifted(16).to_string(), "NULL object (`0`) at byte 19 where a tuple item was expected");
    }
}
