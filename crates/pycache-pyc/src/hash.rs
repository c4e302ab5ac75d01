use std::hash::Hasher;

use siphasher::sip::{SipHasher13, SipHasher24};

use crate::magic::Magic;
use crate::version::PyVersion;

/// The keyed hash behind `_imp.source_hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceHashAlgorithm {
    /// 3.7 to 3.10.
    SipHash24,
    /// 3.11 and later, which switched CPython's keyed hash to SipHash-1-3.
    SipHash13,
}

impl SourceHashAlgorithm {
    pub fn for_version(version: PyVersion) -> Option<Self> {
        if version >= PyVersion::new(3, 11) {
            Some(Self::SipHash13)
        } else if version >= PyVersion::new(3, 7) {
            Some(Self::SipHash24)
        } else {
            None
        }
    }
}

/// The 8 bytes a hash-based cache stores, as `importlib.util.source_hash`
/// computes them in an interpreter whose magic is `magic`: the keyed hash of
/// the raw source bytes, with the magic's four bytes as the first key and 0
/// as the second, in the machine's byte order. `None` for versions without
/// hash-based caches (before 3.7) or an unknown magic.
pub fn source_hash(magic: Magic, source: &[u8]) -> Option<[u8; 8]> {
    let algorithm = SourceHashAlgorithm::for_version(magic.version()?)?;
    let value = match algorithm {
        SourceHashAlgorithm::SipHash24 => {
            let mut hasher = SipHasher24::new_with_keys(magic.hash_key(), 0);
            hasher.write(source);
            hasher.finish()
        }
        SourceHashAlgorithm::SipHash13 => {
            let mut hasher = SipHasher13::new_with_keys(magic.hash_key(), 0);
            hasher.write(source);
            hasher.finish()
        }
    };
    Some(value.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: [u8; 8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Values printed by `importlib.util.source_hash` in each interpreter
    /// (little-endian machine). The integration tests recompute them live.
    #[test]
    fn matches_values_recorded_from_the_interpreters() {
        let cases = [
            (3394, b"hello world\n".as_slice(), "448260221ec9e88d"),
            (3394, b"".as_slice(), "85ee0caabd83b6a7"),
            (3439, b"hello world\n".as_slice(), "f626467cf9563f33"),
            (3495, b"hello world\n".as_slice(), "06a723be9dc1ebb0"),
            (3495, b"".as_slice(), "738d9cd5d5e87f73"),
            (3571, b"hello world\n".as_slice(), "7309c8d3e6f40e26"),
        ];
        for (magic, source, expected) in cases {
            assert_eq!(hex(source_hash(Magic::new(magic), source).unwrap()), expected, "magic {magic}");
        }
    }

    #[test]
    fn versions_without_hash_pycs_have_no_hash() {
        assert_eq!(source_hash(Magic::new(3379), b"x"), None);
        assert_eq!(source_hash(Magic::new(62211), b"x"), None);
        assert_eq!(source_hash(Magic::new(9999), b"x"), None);
    }
}
