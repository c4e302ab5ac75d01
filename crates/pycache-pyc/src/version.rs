use std::fmt;
use std::str::FromStr;

/// A CPython feature version, such as 3.12: what decides the cache format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PyVersion {
    pub major: u8,
    pub minor: u8,
}

impl PyVersion {
    pub const fn new(major: u8, minor: u8) -> Self {
        Self { major, minor }
    }

    /// The tag in cache file names, such as `cpython-312`. Python 2 and 3.0/3.1
    /// have none: their caches sit beside the source.
    pub fn cache_tag(self) -> Option<String> {
        (self >= Self::new(3, 2)).then(|| format!("cpython-{}{}", self.major, self.minor))
    }

    /// Whether the version keeps caches in `__pycache__` directories (PEP 3147).
    pub fn has_pycache_dirs(self) -> bool {
        self >= Self::new(3, 2)
    }

    /// Whether optimised caches get their own `.opt-N.pyc` names (PEP 488),
    /// rather than sharing `.pyo`.
    pub fn has_opt_names(self) -> bool {
        self >= Self::new(3, 5)
    }

    /// Whether hash-based caches exist (PEP 552).
    pub fn has_hash_pycs(self) -> bool {
        self >= Self::new(3, 7)
    }

    /// Whether `sys.pycache_prefix` exists.
    pub fn has_pycache_prefix(self) -> bool {
        self >= Self::new(3, 8)
    }
}

impl fmt::Display for PyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a Python version (expected a form like `3.12`)")]
pub struct VersionParseError(pub String);

impl FromStr for PyVersion {
    type Err = VersionParseError;

    /// Accepts `3.12`, `3.12.1` (the patch is dropped), `312` and `cp312`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || VersionParseError(s.to_owned());
        let t = s.trim();
        let t = t.strip_prefix("cp").unwrap_or(t);
        let mut parts = t.split('.');
        let first = parts.next().ok_or_else(err)?;
        match parts.next() {
            Some(minor) => {
                let major: u8 = first.parse().map_err(|_| err())?;
                let minor: u8 = minor.parse().map_err(|_| err())?;
                if let Some(patch) = parts.next() {
                    patch.parse::<u16>().map_err(|_| err())?;
                }
                if parts.next().is_some() {
                    return Err(err());
                }
                Ok(Self::new(major, minor))
            }
            None if first.len() >= 2 && first.bytes().all(|b| b.is_ascii_digit()) => {
                let major = first[..1].parse().map_err(|_| err())?;
                let minor = first[1..].parse().map_err(|_| err())?;
                Ok(Self::new(major, minor))
            }
            None => Err(err()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_spellings() {
        assert_eq!("3.12".parse::<PyVersion>().unwrap(), PyVersion::new(3, 12));
        assert_eq!("3.12.1".parse::<PyVersion>().unwrap(), PyVersion::new(3, 12));
        assert_eq!("312".parse::<PyVersion>().unwrap(), PyVersion::new(3, 12));
        assert_eq!("cp27".parse::<PyVersion>().unwrap(), PyVersion::new(2, 7));
        assert!("3".parse::<PyVersion>().is_err());
        assert!("python".parse::<PyVersion>().is_err());
        assert!("3.x".parse::<PyVersion>().is_err());
    }

    #[test]
    fn tags_and_features_follow_the_peps() {
        assert_eq!(PyVersion::new(2, 7).cache_tag(), None);
        assert_eq!(PyVersion::new(3, 1).cache_tag(), None);
        assert_eq!(PyVersion::new(3, 2).cache_tag().as_deref(), Some("cpython-32"));
        assert_eq!(PyVersion::new(3, 13).cache_tag().as_deref(), Some("cpython-313"));
        assert!(!PyVersion::new(3, 4).has_opt_names());
        assert!(PyVersion::new(3, 5).has_opt_names());
        assert!(!PyVersion::new(3, 6).has_hash_pycs());
        assert!(PyVersion::new(3, 7).has_hash_pycs());
    }
}
