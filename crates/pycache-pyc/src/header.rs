use std::fmt;

use crate::magic::{Magic, MagicError};

/// The three header layouts CPython has used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderLayout {
    /// Magic and source mtime: 2.x and 3.0 to 3.2.
    Legacy8,
    /// Magic, mtime and source size: 3.3 to 3.6.
    Sized12,
    /// Magic, PEP 552 flags, then mtime and size or an 8-byte source hash: 3.7+.
    Flags16,
}

impl HeaderLayout {
    pub fn len(self) -> usize {
        match self {
            Self::Legacy8 => 8,
            Self::Sized12 => 12,
            Self::Flags16 => 16,
        }
    }
}

/// How the interpreter decides that a cache still matches its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validation {
    /// The source's mtime (seconds, truncated to 32 bits) and, from 3.3, its
    /// size (also truncated to 32 bits).
    Timestamp { mtime: u32, source_size: Option<u32> },
    /// PEP 552: a SipHash of the source bytes; checked at import only when
    /// `check_source` is set (or `--check-hash-based-pycs always`).
    Hash { check_source: bool, hash: [u8; 8] },
}

/// A parsed cache header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    pub magic: Magic,
    /// The PEP 552 flags word as stored (0 for layouts without one). Kept
    /// raw because bit 1 alone is legal and means a timestamp cache.
    pub flags: u32,
    pub validation: Validation,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error(transparent)]
    Magic(#[from] MagicError),
    #[error("the header is truncated: {layout_len} bytes needed for magic {magic}, {got} present")]
    Truncated { magic: Magic, layout_len: usize, got: usize },
    #[error("invalid flags {flags:#x} (only bits 0 and 1 are defined)")]
    InvalidFlags { flags: u32 },
    #[error("a hash-based header for magic {magic}, whose version has no hash-based caches")]
    LayoutMismatch { magic: Magic },
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

impl Header {
    pub fn timestamp(magic: Magic, mtime: u32, source_size: u32) -> Self {
        let source_size = (magic.header_layout() != HeaderLayout::Legacy8).then_some(source_size);
        Self { magic, flags: 0, validation: Validation::Timestamp { mtime, source_size } }
    }

    pub fn hash(magic: Magic, hash: [u8; 8], check_source: bool) -> Self {
        let flags = 0b01 | (u32::from(check_source) << 1);
        Self { magic, flags, validation: Validation::Hash { check_source, hash } }
    }

    pub fn layout(&self) -> HeaderLayout {
        self.magic.header_layout()
    }

    /// The size of this header in bytes; the marshalled code follows it.
    pub fn len(&self) -> usize {
        self.layout().len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Reads a header as the importer does (`_classify_pyc`): the layout comes
    /// from the magic; a flags word with unknown bits is invalid; bit 1
    /// without bit 0 means a timestamp cache.
    pub fn parse(bytes: &[u8]) -> Result<Self, HeaderError> {
        let magic = Magic::from_bytes(bytes)?;
        let layout = magic.header_layout();
        if bytes.len() < layout.len() {
            return Err(HeaderError::Truncated { magic, layout_len: layout.len(), got: bytes.len() });
        }
        let mut flags = 0;
        let validation = match layout {
            HeaderLayout::Legacy8 => Validation::Timestamp { mtime: u32_at(bytes, 4), source_size: None },
            HeaderLayout::Sized12 => {
                Validation::Timestamp { mtime: u32_at(bytes, 4), source_size: Some(u32_at(bytes, 8)) }
            }
            HeaderLayout::Flags16 => {
                flags = u32_at(bytes, 4);
                if flags & !0b11 != 0 {
                    return Err(HeaderError::InvalidFlags { flags });
                }
                if flags & 0b01 != 0 {
                    Validation::Hash {
                        check_source: flags & 0b10 != 0,
                        hash: bytes[8..16].try_into().expect("eight bytes"),
                    }
                } else {
                    Validation::Timestamp { mtime: u32_at(bytes, 8), source_size: Some(u32_at(bytes, 12)) }
                }
            }
        };
        Ok(Self { magic, flags, validation })
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, HeaderError> {
        let mut out = Vec::with_capacity(16);
        out.extend_from_slice(&self.magic.to_bytes());
        match (self.layout(), self.validation) {
            (HeaderLayout::Legacy8, Validation::Timestamp { mtime, .. }) => {
                out.extend_from_slice(&mtime.to_le_bytes());
            }
            (HeaderLayout::Sized12, Validation::Timestamp { mtime, source_size }) => {
                out.extend_from_slice(&mtime.to_le_bytes());
                out.extend_from_slice(&source_size.unwrap_or(0).to_le_bytes());
            }
            (HeaderLayout::Flags16, Validation::Timestamp { mtime, source_size }) => {
                out.extend_from_slice(&self.flags.to_le_bytes());
                out.extend_from_slice(&mtime.to_le_bytes());
                out.extend_from_slice(&source_size.unwrap_or(0).to_le_bytes());
            }
            (HeaderLayout::Flags16, Validation::Hash { hash, .. }) => {
                out.extend_from_slice(&self.flags.to_le_bytes());
                out.extend_from_slice(&hash);
            }
            (_, Validation::Hash { .. }) => return Err(HeaderError::LayoutMismatch { magic: self.magic }),
        }
        Ok(out)
    }
}

/// The mtime a header stores for a source file, computed as CPython does:
/// `int(st_mtime) & 0xFFFFFFFF`, where `st_mtime` is the double
/// `seconds + nanoseconds * 1e-9`. The double matters: close to a second's
/// end it rounds up, and `int()` truncates toward zero for times before 1970.
pub fn pyc_mtime(seconds: i64, nanoseconds: i64) -> u32 {
    let float = seconds as f64 + nanoseconds as f64 * 1e-9;
    (float.trunc() as i64) as u32
}

/// The source size a header stores: `st_size & 0xFFFFFFFF`.
pub fn pyc_size(size: u64) -> u32 {
    size as u32
}

impl fmt::Display for Validation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timestamp { mtime, source_size: Some(size) } => write!(f, "timestamp {mtime}, size {size}"),
            Self::Timestamp { mtime, source_size: None } => write!(f, "timestamp {mtime}"),
            Self::Hash { check_source, hash } => write!(
                f,
                "{} hash {}",
                if *check_source { "checked" } else { "unchecked" },
                hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_layout_round_trips() {
        let cases: [(&[u8], Header); 4] = [
            (b"\x03\xf3\r\n\x10\x00\x00\x00", Header::timestamp(Magic::new(62211), 16, 99)),
            (b"\x33\x0d\r\n\x10\x00\x00\x00\x05\x00\x00\x00", Header::timestamp(Magic::new(3379), 16, 5)),
            (
                b"\xcb\x0d\r\n\x00\x00\x00\x00\x10\x00\x00\x00\x05\x00\x00\x00",
                Header::timestamp(Magic::new(3531), 16, 5),
            ),
            (b"\xcb\x0d\r\n\x03\x00\x00\x001234abcd", Header::hash(Magic::new(3531), *b"1234abcd", true)),
        ];
        for (bytes, header) in cases {
            let parsed = Header::parse(bytes).unwrap();
            assert_eq!(parsed.len(), bytes.len());
            assert_eq!(parsed.to_bytes().unwrap(), bytes);
            assert_eq!(header.to_bytes().unwrap(), bytes);
        }
    }

    #[test]
    fn unknown_flags_are_a_bad_header_but_bit_one_alone_is_timestamp() {
        let bad = b"\xcb\x0d\r\n\x04\x00\x00\x00\x10\x00\x00\x00\x05\x00\x00\x00";
        assert_eq!(Header::parse(bad), Err(HeaderError::InvalidFlags { flags: 4 }));
        let two = b"\xcb\x0d\r\n\x02\x00\x00\x00\x10\x00\x00\x00\x05\x00\x00\x00";
        assert_eq!(Header::parse(two).unwrap().validation, Validation::Timestamp { mtime: 16, source_size: Some(5) });
    }

    #[test]
    fn truncated_headers_say_how_much_is_missing() {
        let err = Header::parse(b"\xcb\x0d\r\n\x00\x00").unwrap_err();
        assert!(matches!(err, HeaderError::Truncated { layout_len: 16, got: 6, .. }));
    }

    #[test]
    fn a_hash_header_needs_the_flags_layout() {
        let header = Header::hash(Magic::new(3379), [0; 8], false);
        assert!(header.to_bytes().is_err());
    }

    #[test]
    fn mtime_follows_python_float_truncation() {
        // The double rounds up to the next second, as in the interpreter.
        assert_eq!(pyc_mtime(1_700_000_000, 999_999_999), 1_700_000_001);
        assert_eq!(pyc_mtime(1_700_000_000, 999_999_000), 1_700_000_000);
        assert_eq!(pyc_mtime(0, 0), 0);
        // -1.5 seconds: int() truncates toward zero.
        assert_eq!(pyc_mtime(-2, 500_000_000), u32::MAX);
        assert_eq!(pyc_mtime(-1, 0), u32::MAX);
        // Past 2106 the value wraps.
        assert_eq!(pyc_mtime(1 << 32, 0), 0);
        assert_eq!(pyc_size((1 << 32) + 7), 7);
    }
}
