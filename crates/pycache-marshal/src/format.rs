use pycache_pyc::{Magic, PyVersion};

use crate::code::CodeLayout;
use crate::error::FormatError;

/// What one interpreter's marshal reader accepts: its type codes, whether
/// references exist, and the field layout of its code objects.
///
/// Built from a feature version ([`Format::for_version`]) or, more precisely,
/// from a pyc magic number ([`Format::for_magic`]), because a few alphas
/// changed the code object layout in the middle of a version's development.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Format {
    version: PyVersion,
    layout: CodeLayout,
}

impl Format {
    /// The format of a version's releases: 2.7, or 3.0 to 3.15.
    pub fn for_version(version: PyVersion) -> Result<Self, FormatError> {
        let layout = match (version.major, version.minor) {
            (2, 7) => CodeLayout::Py27,
            (3, 0..=7) => CodeLayout::Py30,
            (3, 8..=10) => CodeLayout::Py38,
            (3, 11..=15) => CodeLayout::Py311,
            _ => return Err(FormatError::UnsupportedVersion(version)),
        };
        Ok(Self { version, layout })
    }

    /// The format an interpreter using this magic number reads. Pre-release
    /// numbers map to their version, except where an alpha wrote a code
    /// object layout of its own: 3.8's before positional-only parameters
    /// (3400 to 3409) had the 3.7 layout, and 3.11's before 3494 (and 3.0's
    /// "Python 3000" numbers before 3030) used intermediate layouts this crate
    /// does not model.
    pub fn for_magic(magic: Magic) -> Result<Self, FormatError> {
        let version = magic.version().ok_or(FormatError::UnknownMagic(magic))?;
        let mut format = Self::for_version(version)?;
        match magic.number() {
            3000..3030 => {
                return Err(FormatError::UnsupportedPrerelease {
                    magic,
                    reason: "code objects before keyword-only arguments (3030)",
                });
            }
            3400..3410 => format.layout = CodeLayout::Py30,
            3450..3494 => {
                return Err(FormatError::UnsupportedPrerelease {
                    magic,
                    reason: "3.11 alphas changed the code object fields several times before 3494",
                });
            }
            _ => {}
        }
        Ok(format)
    }

    pub fn version(&self) -> PyVersion {
        self.version
    }

    pub fn code_layout(&self) -> CodeLayout {
        self.layout
    }

    /// Marshal version 3 (Python 3.4): FLAG_REF and `r` back-references.
    pub fn has_refs(&self) -> bool {
        self.version >= PyVersion::new(3, 4)
    }

    /// Python 2's string table: `t` interned byte strings and `R` references
    /// to them.
    pub fn has_string_refs(&self) -> bool {
        self.version.major == 2
    }

    /// Whether this version's reader knows the type code (FLAG_REF removed).
    pub fn accepts(&self, code: u8) -> bool {
        let v = self.version;
        match code {
            b'0' | b'N' | b'F' | b'T' | b'S' | b'.' | b'i' | b'I' | b'f' | b'g' | b'x' | b'y' | b'l' | b's' | b'u'
            | b'(' | b'[' | b'{' | b'<' | b'>' | b'c' => true,
            // Python 2 interns byte strings; 3.0 to 3.3 read no `t` at all, and
            // 3.4 brought it back for interned str.
            b't' => v.major == 2 || v >= PyVersion::new(3, 4),
            b'R' => v.major == 2,
            // Marshal version 4 (3.4): compact ASCII strings and small tuples.
            b'r' | b'a' | b'A' | b'z' | b'Z' | b')' => v >= PyVersion::new(3, 4),
            // Marshal version 5 (3.14): slices.
            b':' => v >= PyVersion::new(3, 14),
            // Marshal version 6 (3.15): frozendict.
            b'}' => v >= PyVersion::new(3, 15),
            _ => false,
        }
    }
}

impl TryFrom<PyVersion> for Format {
    type Error = FormatError;

    fn try_from(version: PyVersion) -> Result<Self, FormatError> {
        Self::for_version(version)
    }
}

impl TryFrom<Magic> for Format {
    type Error = FormatError;

    fn try_from(magic: Magic) -> Result<Self, FormatError> {
        Self::for_magic(magic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: u8, minor: u8) -> Format {
        Format::for_version(PyVersion::new(major, minor)).unwrap()
    }

    #[test]
    fn layouts_follow_the_versions() {
        assert_eq!(v(2, 7).code_layout(), CodeLayout::Py27);
        assert_eq!(v(3, 0).code_layout(), CodeLayout::Py30);
        assert_eq!(v(3, 7).code_layout(), CodeLayout::Py30);
        assert_eq!(v(3, 8).code_layout(), CodeLayout::Py38);
        assert_eq!(v(3, 10).code_layout(), CodeLayout::Py38);
        assert_eq!(v(3, 11).code_layout(), CodeLayout::Py311);
        assert_eq!(v(3, 15).code_layout(), CodeLayout::Py311);
        assert!(Format::for_version(PyVersion::new(2, 6)).is_err());
        assert!(Format::for_version(PyVersion::new(3, 16)).is_err());
    }

    #[test]
    fn type_codes_follow_the_marshal_versions() {
        assert!(v(2, 7).accepts(b'R') && v(2, 7).accepts(b't') && !v(2, 7).accepts(b'z'));
        assert!(!v(3, 3).accepts(b't') && !v(3, 3).accepts(b'r') && !v(3, 3).has_refs());
        assert!(v(3, 4).accepts(b'z') && v(3, 4).has_refs() && !v(3, 4).accepts(b'R'));
        assert!(!v(3, 13).accepts(b':') && v(3, 14).accepts(b':'));
        assert!(!v(3, 14).accepts(b'}') && v(3, 15).accepts(b'}'));
        assert!(!v(3, 13).accepts(b'?'));
    }

    #[test]
    fn magic_numbers_pick_the_alpha_layouts() {
        assert_eq!(Format::for_magic(Magic::new(3413)).unwrap().code_layout(), CodeLayout::Py38);
        assert_eq!(Format::for_magic(Magic::new(3401)).unwrap().code_layout(), CodeLayout::Py30);
        assert_eq!(Format::for_magic(Magic::new(3495)).unwrap().code_layout(), CodeLayout::Py311);
        assert!(matches!(Format::for_magic(Magic::new(3460)), Err(FormatError::UnsupportedPrerelease { .. })));
        assert!(matches!(Format::for_magic(Magic::new(62061)), Err(FormatError::UnsupportedVersion(_))));
        assert!(matches!(Format::for_magic(Magic::new(12345)), Err(FormatError::UnknownMagic(_))));
        assert_eq!(Format::for_magic(Magic::new(62211)).unwrap().version(), PyVersion::new(2, 7));
    }
}
