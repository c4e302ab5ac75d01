use pycache_pyc::Header;

use crate::error::PycError;
use crate::format::Format;
use crate::object::Object;
use crate::reader::read_prefix;
use crate::writer::write_into;

/// A whole `.pyc`: header, the marshalled module code object, and whatever
/// follows it (nothing, in a cache CPython wrote; the interpreter ignores
/// it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pyc {
    pub header: Header,
    /// The header as read. [`Header`] does not keep every bit: a flags word
    /// of 2 (check-source without hash-based) is a timestamp cache to the
    /// importer and to [`Header`], which would write flags 0 back.
    pub header_bytes: Vec<u8>,
    /// The marshal format of the header's magic number.
    pub format: Format,
    pub code: Object,
    pub trailing: Vec<u8>,
}

/// Reads a `.pyc` from its bytes: the header (via `pycache-pyc`), then the
/// body in the format of the header's magic number. Error offsets count from
/// the start of the file.
pub fn read_pyc(bytes: &[u8]) -> Result<Pyc, PycError> {
    let header = Header::parse(bytes)?;
    let format = Format::for_magic(header.magic)?;
    let body = bytes.get(header.len()..).unwrap_or_default();
    let (code, used) = read_prefix(body, format).map_err(|err| err.shifted(header.len()))?;
    let trailing = body.get(used..).unwrap_or_default().to_vec();
    let header_bytes = bytes.get(..header.len()).unwrap_or_default().to_vec();
    Ok(Pyc { header, header_bytes, format, code, trailing })
}

impl Pyc {
    /// The file again: for a [`Pyc`] from [`read_pyc`], the bytes it was
    /// read from. The header is written from `header`, unless
    /// `header_bytes` still say the same thing, in which case they are kept.
    pub fn to_bytes(&self) -> Result<Vec<u8>, PycError> {
        let mut out = match Header::parse(&self.header_bytes) {
            Ok(header) if header == self.header && self.header_bytes.len() == header.len() => self.header_bytes.clone(),
            _ => self.header.to_bytes()?,
        };
        write_into(&self.code, &mut out)?;
        out.extend_from_slice(&self.trailing);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use pycache_pyc::{HeaderError, Magic, PyVersion};

    use super::*;
    use crate::error::{FormatError, ReadError};

    fn pyc(magic: u16, body: &[u8]) -> Vec<u8> {
        let mut bytes = Magic::new(magic).to_bytes().to_vec();
        let header_len = Magic::new(magic).header_layout().len();
        bytes.resize(header_len, 0);
        bytes.extend_from_slice(body);
        bytes
    }

    #[test]
    fn header_and_body_round_trip() {
        for (magic, version) in [(62211, (2, 7)), (3379, (3, 6)), (3531, (3, 12))] {
            let bytes = pyc(magic, b"Ntrailing");
            let read = read_pyc(&bytes).unwrap();
            assert_eq!(read.format.version(), PyVersion::new(version.0, version.1));
            assert_eq!(read.code, Object::none());
            assert_eq!(read.trailing, b"trailing");
            assert_eq!(read.to_bytes().unwrap(), bytes);
        }
    }

    #[test]
    fn regression_flags_two_header_keeps_its_bits() {
        // Found by the fuzzer: bit 1 alone reads as a timestamp cache.
        let mut bytes = pyc(3571, b"N");
        bytes[4] = 2;
        let read = read_pyc(&bytes).unwrap();
        assert_eq!(read.header.flags, 2);
        assert_eq!(read.to_bytes().unwrap(), bytes);
        // A changed header is written from `header`.
        let mut changed = read.clone();
        changed.header = Header::timestamp(Magic::new(3571), 9, 9);
        assert_eq!(changed.to_bytes().unwrap()[4..16], [0, 0, 0, 0, 9, 0, 0, 0, 9, 0, 0, 0]);
    }

    #[test]
    fn body_errors_count_from_the_start_of_the_file() {
        let err = read_pyc(&pyc(3531, b")\x02N")).unwrap_err();
        assert_eq!(
            err,
            PycError::Read(ReadError::Truncated { offset: 19, what: "a type code", needed: 1, available: 0 })
        );
        assert!(err.to_string().contains("byte 19"));
    }

    #[test]
    fn headers_and_magics_are_checked_first() {
        assert!(matches!(read_pyc(b"\xcb\x0d\r\n\x00"), Err(PycError::Header(HeaderError::Truncated { .. }))));
        assert!(matches!(read_pyc(&pyc(3460, b"N")), Err(PycError::Format(FormatError::UnsupportedPrerelease { .. }))));
        assert!(matches!(read_pyc(&pyc(20121, b"N")), Err(PycError::Format(FormatError::UnsupportedVersion(_)))));
    }
}
