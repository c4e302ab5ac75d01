use std::fmt;

use crate::header::HeaderLayout;
use crate::version::PyVersion;

/// The number at the start of every cache file: a little-endian `u16`
/// followed by `\r\n`. Alphas and betas use the numbers between releases, so
/// a magic maps to a version by range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Magic(u16);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MagicError {
    #[error("the file is too short for a magic number ({0} bytes)")]
    Truncated(usize),
    #[error("bytes {0:02x?} are not a magic number (no `\\r\\n` after the number)")]
    NoCrLf([u8; 4]),
}

/// One row per feature version: the numbers its development used (a
/// half-open range), and the value of its final release (the highest, where a
/// bug-fix release changed it). Facts from CPython's `pycore_magic_number.h`
/// and, for 2.x, `Python/import.c`. Unused numbers between two versions belong
/// to the later one's alphas.
const TABLE: &[(u16, u16, PyVersion, Option<u16>)] = &[
    (20121, 20122, PyVersion::new(1, 5), Some(20121)),
    (50428, 50429, PyVersion::new(1, 6), Some(50428)),
    (50823, 50824, PyVersion::new(2, 0), Some(50823)),
    (60202, 60203, PyVersion::new(2, 1), Some(60202)),
    (60717, 60718, PyVersion::new(2, 2), Some(60717)),
    (62011, 62041, PyVersion::new(2, 3), Some(62021)),
    (62041, 62071, PyVersion::new(2, 4), Some(62061)),
    (62071, 62151, PyVersion::new(2, 5), Some(62131)),
    (62151, 62171, PyVersion::new(2, 6), Some(62161)),
    // 62212 is 2.7 run with -U, which adds one to the magic.
    (62171, 62213, PyVersion::new(2, 7), Some(62211)),
    (3000, 3141, PyVersion::new(3, 0), Some(3131)),
    (3141, 3160, PyVersion::new(3, 1), Some(3151)),
    (3160, 3190, PyVersion::new(3, 2), Some(3180)),
    (3190, 3250, PyVersion::new(3, 3), Some(3230)),
    (3250, 3320, PyVersion::new(3, 4), Some(3310)),
    (3320, 3360, PyVersion::new(3, 5), Some(3351)),
    (3360, 3390, PyVersion::new(3, 6), Some(3379)),
    (3390, 3400, PyVersion::new(3, 7), Some(3394)),
    (3400, 3420, PyVersion::new(3, 8), Some(3413)),
    (3420, 3430, PyVersion::new(3, 9), Some(3425)),
    (3430, 3450, PyVersion::new(3, 10), Some(3439)),
    // From 3.11 on, 3.n starts at 2900 + 50n.
    (3450, 3500, PyVersion::new(3, 11), Some(3495)),
    (3500, 3550, PyVersion::new(3, 12), Some(3531)),
    (3550, 3600, PyVersion::new(3, 13), Some(3571)),
    (3600, 3650, PyVersion::new(3, 14), Some(3627)),
    // 3.15's release value is what 3.15.0 and 3.15.2 write (their
    // `importlib.util.MAGIC_NUMBER`).
    (3650, 3700, PyVersion::new(3, 15), Some(3666)),
];

impl Magic {
    pub const fn new(number: u16) -> Self {
        Self(number)
    }

    pub fn number(self) -> u16 {
        self.0
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MagicError> {
        let Some(head) = bytes.get(..4) else {
            return Err(MagicError::Truncated(bytes.len()));
        };
        let head: [u8; 4] = head.try_into().expect("four bytes");
        if head[2..] != *b"\r\n" {
            return Err(MagicError::NoCrLf(head));
        }
        Ok(Self(u16::from_le_bytes([head[0], head[1]])))
    }

    pub fn to_bytes(self) -> [u8; 4] {
        let [lo, hi] = self.0.to_le_bytes();
        [lo, hi, b'\r', b'\n']
    }

    /// The magic as `importlib.util.source_hash` keys it: the four bytes read
    /// as a little-endian integer.
    pub fn hash_key(self) -> u64 {
        u64::from(u32::from_le_bytes(self.to_bytes()))
    }

    fn row(self) -> Option<&'static (u16, u16, PyVersion, Option<u16>)> {
        TABLE.iter().find(|row| (row.0..row.1).contains(&self.0))
    }

    /// The feature version whose development used this number.
    pub fn version(self) -> Option<PyVersion> {
        self.row().map(|row| row.2)
    }

    /// The magic of a version's final release.
    pub fn for_version(version: PyVersion) -> Option<Self> {
        TABLE.iter().find(|row| row.2 == version).and_then(|row| row.3).map(Self)
    }

    /// False for numbers that only alphas and betas wrote, true for a release
    /// value (3.5 has two) or when the release value is not known.
    pub fn is_release(self) -> bool {
        match self.row() {
            Some((_, _, PyVersion { major: 3, minor: 5 }, _)) => self.0 >= 3350,
            Some((_, _, _, Some(release))) => self.0 >= *release,
            Some((_, _, _, None)) => true,
            None => false,
        }
    }

    /// The header layout that interpreters using this magic read and write.
    /// Decided by the number, not the version, because 3.3 and 3.7 changed it
    /// during their alphas (3210 added the source size, 3392 the flags).
    pub fn header_layout(self) -> HeaderLayout {
        match self.0 {
            3000..3210 => HeaderLayout::Legacy8,
            3210..3392 => HeaderLayout::Sized12,
            3392..20000 => HeaderLayout::Flags16,
            _ => HeaderLayout::Legacy8,
        }
    }
}

impl fmt::Display for Magic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version() {
            Some(version) if self.is_release() => write!(f, "{} (Python {version})", self.0),
            Some(version) => write!(f, "{} (Python {version} pre-release)", self.0),
            None => write!(f, "{} (unknown)", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_values_map_to_their_versions() {
        let releases = [
            (62211, (2, 7)),
            (3131, (3, 0)),
            (3151, (3, 1)),
            (3180, (3, 2)),
            (3230, (3, 3)),
            (3310, (3, 4)),
            (3350, (3, 5)),
            (3351, (3, 5)),
            (3379, (3, 6)),
            (3394, (3, 7)),
            (3413, (3, 8)),
            (3425, (3, 9)),
            (3439, (3, 10)),
            (3495, (3, 11)),
            (3531, (3, 12)),
            (3571, (3, 13)),
            (3627, (3, 14)),
            (3666, (3, 15)),
        ];
        for (number, (major, minor)) in releases {
            let magic = Magic::new(number);
            assert_eq!(magic.version(), Some(PyVersion::new(major, minor)), "{number}");
            assert!(magic.is_release(), "{number}");
        }
    }

    #[test]
    fn prerelease_values_map_by_range() {
        assert_eq!(Magic::new(3500).version(), Some(PyVersion::new(3, 12)));
        assert!(!Magic::new(3500).is_release());
        assert_eq!(Magic::new(3549).version(), Some(PyVersion::new(3, 12)));
        assert_eq!(Magic::new(62171).version(), Some(PyVersion::new(2, 7)));
        assert_eq!(Magic::new(62212).version(), Some(PyVersion::new(2, 7)));
        assert_eq!(Magic::new(3656).version(), Some(PyVersion::new(3, 15)));
        assert!(!Magic::new(3656).is_release());
        assert_eq!(Magic::for_version(PyVersion::new(3, 15)), Some(Magic::new(3666)));
        assert_eq!(Magic::new(3700).version(), None);
        assert_eq!(Magic::new(2999).version(), None);
        assert_eq!(Magic::new(12345).version(), None);
    }

    #[test]
    fn bytes_round_trip_and_need_crlf() {
        let magic = Magic::from_bytes(b"\xcb\x0d\x0d\x0a").unwrap();
        assert_eq!(magic.number(), 3531);
        assert_eq!(magic.to_bytes(), *b"\xcb\x0d\x0d\x0a");
        assert_eq!(magic.hash_key(), 0x0a0d0dcb);
        assert!(matches!(Magic::from_bytes(b"\xcb\x0d\x00\x00"), Err(MagicError::NoCrLf(_))));
        assert!(matches!(Magic::from_bytes(b"\xcb"), Err(MagicError::Truncated(1))));
    }

    #[test]
    fn header_layout_follows_the_alphas_that_changed_it() {
        assert_eq!(Magic::new(62211).header_layout(), HeaderLayout::Legacy8);
        assert_eq!(Magic::new(3180).header_layout(), HeaderLayout::Legacy8);
        assert_eq!(Magic::new(3200).header_layout(), HeaderLayout::Legacy8);
        assert_eq!(Magic::new(3210).header_layout(), HeaderLayout::Sized12);
        assert_eq!(Magic::new(3379).header_layout(), HeaderLayout::Sized12);
        assert_eq!(Magic::new(3391).header_layout(), HeaderLayout::Sized12);
        assert_eq!(Magic::new(3392).header_layout(), HeaderLayout::Flags16);
        assert_eq!(Magic::new(3627).header_layout(), HeaderLayout::Flags16);
    }
}
