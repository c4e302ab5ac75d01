use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

use crate::version::PyVersion;

/// Where caches go.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CacheLayout {
    /// `pkg/__pycache__/mod.cpython-312.pyc` (PEP 3147), or beside the source
    /// for versions before 3.2.
    Pep3147,
    /// `pkg/mod.pyc` beside the source: `compileall -b`, and what 2.x always does.
    Legacy,
    /// `sys.pycache_prefix` (3.8+): `<prefix>/<absolute source dir>/mod.cpython-312.pyc`.
    Prefix(PathBuf),
}

/// The naming rules of one interpreter version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheScheme {
    pub version: PyVersion,
    /// `sys.implementation.cache_tag`; `None` means the CPython tag of `version`.
    pub tag: Option<String>,
    pub layout: CacheLayout,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CachePathError {
    #[error("`{0}` has no file name")]
    NoFileName(PathBuf),
    #[error("Python {0} has no pycache prefix (it came in 3.8)")]
    PrefixUnsupported(PyVersion),
    #[error("optimisation level {0} does not exist (0, 1 or 2)")]
    BadLevel(u8),
    #[error("cannot make `{path}` absolute: {message}")]
    NoCurrentDir { path: PathBuf, message: String },
}

/// What a cache path says about its source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheLocation {
    pub source: PathBuf,
    /// The cache tag in the name, such as `cpython-36`; `None` for legacy names.
    pub tag: Option<String>,
    /// The optimisation level the name encodes. `.pyo` files hold level 1 or 2
    /// and say `Some(1)`; see `pyo`.
    pub optimize: u8,
    /// The name ends in `.pyo` (2.x and 3.2 to 3.4 under -O or -OO).
    pub pyo: bool,
    /// The cache sits beside the source rather than in `__pycache__`.
    pub legacy: bool,
}

const PYCACHE: &str = "__pycache__";

impl CacheScheme {
    pub fn new(version: PyVersion, layout: CacheLayout) -> Self {
        Self { version, tag: None, layout }
    }

    fn tag(&self) -> Option<String> {
        self.tag.clone().or_else(|| self.version.cache_tag())
    }

    /// Whether this scheme puts caches beside their sources.
    pub fn is_legacy(&self) -> bool {
        matches!(self.layout, CacheLayout::Legacy) || !self.version.has_pycache_dirs()
    }

    /// The cache file for `source` at `optimize`, named as the interpreter
    /// names it: `importlib.util.cache_from_source` for 3.2+, and `source`
    /// plus `c` or `o` for legacy placement.
    pub fn cache_path(&self, source: &Path, optimize: u8) -> Result<PathBuf, CachePathError> {
        if optimize > 2 {
            return Err(CachePathError::BadLevel(optimize));
        }
        let name = source.file_name().ok_or_else(|| CachePathError::NoFileName(source.to_owned()))?;
        if self.is_legacy() {
            // 3.5+ writes `.pyc` at every level (PEP 488); older versions
            // write `.pyo` for both -O and -OO.
            let letter = if optimize > 0 && !self.version.has_opt_names() { b'o' } else { b'c' };
            let mut bytes = source.as_os_str().as_bytes().to_vec();
            bytes.push(letter);
            return Ok(PathBuf::from(OsString::from_vec(bytes)));
        }
        let file = self.pycache_file_name(name, optimize);
        let head = source.parent().unwrap_or(Path::new(""));
        match &self.layout {
            CacheLayout::Prefix(prefix) => {
                if !self.version.has_pycache_prefix() {
                    return Err(CachePathError::PrefixUnsupported(self.version));
                }
                let head = if head.is_absolute() {
                    head.to_owned()
                } else {
                    let cwd = std::env::current_dir().map_err(|err| CachePathError::NoCurrentDir {
                        path: source.to_owned(),
                        message: err.to_string(),
                    })?;
                    cwd.join(head)
                };
                // The importer joins the prefix with the directory's text
                // minus its leading slashes, without normalising it.
                let bytes = head.as_os_str().as_bytes();
                let stripped = &bytes[bytes.iter().take_while(|&&b| b == b'/').count()..];
                Ok(prefix.join(OsStr::from_bytes(stripped)).join(file))
            }
            _ => Ok(head.join(PYCACHE).join(file)),
        }
    }

    /// `mod.cpython-312.opt-1.pyc` for `mod.py`, following the importer's
    /// quirks: the stem ends at the last dot, and a name without a dot is
    /// glued to the tag.
    fn pycache_file_name(&self, name: &OsStr, optimize: u8) -> OsString {
        let name = name.as_bytes();
        let (base, sep, rest) = match name.iter().rposition(|&b| b == b'.') {
            Some(dot) => (&name[..dot], &b"."[..], &name[dot + 1..]),
            None => (&b""[..], &b""[..], name),
        };
        let mut out = Vec::with_capacity(name.len() + 24);
        out.extend_from_slice(if base.is_empty() { rest } else { base });
        out.extend_from_slice(sep);
        out.extend_from_slice(self.tag().unwrap_or_default().as_bytes());
        if optimize > 0 && self.version.has_opt_names() {
            out.extend_from_slice(format!(".opt-{optimize}").as_bytes());
        }
        out.extend_from_slice(if optimize > 0 && !self.version.has_opt_names() { b".pyo" } else { b".pyc" });
        OsString::from_vec(out)
    }

    /// The source a cache belongs to, for any of this scheme's layouts; `None`
    /// when the path is not a cache name this scheme would write. Unlike the
    /// importer's `source_from_cache`, a stem with dots is accepted.
    pub fn source_path(&self, cache: &Path) -> Option<CacheLocation> {
        let name = cache.file_name()?.as_bytes();
        let parent = cache.parent().unwrap_or(Path::new(""));
        let in_pycache = parent.file_name() == Some(OsStr::new(PYCACHE));
        if let CacheLayout::Prefix(prefix) = &self.layout {
            let rest = cache.strip_prefix(prefix).ok()?;
            let dir = Path::new("/").join(rest.parent()?);
            return parse_tagged_name(name).map(|(stem, tag, optimize, pyo)| CacheLocation {
                source: dir.join(stem_to_source(stem)),
                tag: Some(tag),
                optimize,
                pyo,
                legacy: false,
            });
        }
        if in_pycache && self.version.has_pycache_dirs() {
            let (stem, tag, optimize, pyo) = parse_tagged_name(name)?;
            if self.tag().is_some_and(|t| t != tag) {
                return None;
            }
            let dir = parent.parent().unwrap_or(Path::new(""));
            return Some(CacheLocation {
                source: dir.join(stem_to_source(stem)),
                tag: Some(tag),
                optimize,
                pyo,
                legacy: false,
            });
        }
        legacy_source(cache)
    }
}

fn stem_to_source(stem: &[u8]) -> OsString {
    let mut bytes = stem.to_vec();
    bytes.extend_from_slice(b".py");
    OsString::from_vec(bytes)
}

/// The parts of a `__pycache__` file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheName {
    /// The module's file name without `.py`.
    pub stem: Vec<u8>,
    /// `cpython-312`.
    pub tag: String,
    pub optimize: u8,
    pub pyo: bool,
}

impl CacheName {
    /// Splits `stem.tag[.opt-N].pyc` or `stem.tag.pyo`; `None` for other names.
    pub fn parse(name: &[u8]) -> Option<Self> {
        let (stem, tag, optimize, pyo) = parse_tagged_name(name)?;
        Some(Self { stem: stem.to_vec(), tag, optimize, pyo })
    }

    /// The source file name: `stem.py`.
    pub fn source_name(&self) -> OsString {
        stem_to_source(&self.stem)
    }

    /// The feature version the tag names, for CPython tags (`cpython-312`).
    pub fn version(&self) -> Option<PyVersion> {
        let digits = self.tag.strip_prefix("cpython-")?;
        if digits.len() < 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(PyVersion::new(digits[..1].parse().ok()?, digits[1..].parse().ok()?))
    }
}

/// Splits `stem.tag[.opt-N].pyc` (or `stem.tag.pyo`).
fn parse_tagged_name(name: &[u8]) -> Option<(&[u8], String, u8, bool)> {
    let (rest, pyo) =
        if let Some(rest) = name.strip_suffix(b".pyc") { (rest, false) } else { (name.strip_suffix(b".pyo")?, true) };
    let mut optimize = if pyo { 1 } else { 0 };
    let mut rest = rest;
    if let Some(dot) = rest.iter().rposition(|&b| b == b'.') {
        if let Some(level) = rest[dot + 1..].strip_prefix(b"opt-") {
            if pyo {
                return None;
            }
            optimize = match level {
                b"1" => 1,
                b"2" => 2,
                _ => return None,
            };
            rest = &rest[..dot];
        }
    }
    let dot = rest.iter().rposition(|&b| b == b'.')?;
    let (stem, tag) = (&rest[..dot], &rest[dot + 1..]);
    // Tags look like `cpython-312` or `pypy310`: a name and a version.
    let tag_like = tag.first().is_some_and(u8::is_ascii_alphabetic) && tag.iter().any(u8::is_ascii_digit);
    if stem.is_empty() || !tag_like {
        return None;
    }
    Some((stem, String::from_utf8(tag.to_vec()).ok()?, optimize, pyo))
}

/// `mod.pyc` or `mod.pyo` beside `mod.py`.
fn legacy_source(cache: &Path) -> Option<CacheLocation> {
    let bytes = cache.as_os_str().as_bytes();
    let (stem, pyo) =
        if let Some(stem) = bytes.strip_suffix(b"c") { (stem, false) } else { (bytes.strip_suffix(b"o")?, true) };
    if !stem.ends_with(b".py")
        || matches!(Path::new(OsStr::from_bytes(stem)).components().next_back(), None | Some(Component::ParentDir))
    {
        return None;
    }
    Some(CacheLocation {
        source: PathBuf::from(OsStr::from_bytes(stem)),
        tag: None,
        optimize: u8::from(pyo),
        pyo,
        legacy: true,
    })
}

/// Whether `name` is a cache's temporary file: `<cache>.<digits>`, where the
/// cache ends in `.pyc` or `.pyo`. The importer and pycache both write a
/// cache under such a name and rename it into place, so one that stays is
/// the debris of a write that never finished (or one in progress).
pub fn is_temp_name(name: &[u8]) -> bool {
    let Some(dot) = name.iter().rposition(|&b| b == b'.') else { return false };
    let (stem, digits) = (&name[..dot], &name[dot + 1..]);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) && (stem.ends_with(b".pyc") || stem.ends_with(b".pyo"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn temporary_file_names() {
        assert!(super::is_temp_name(b"m.cpython-312.pyc.140223"));
        assert!(super::is_temp_name(b"m.pyc.1"));
        assert!(super::is_temp_name(b"m.pyo.99"));
        assert!(!super::is_temp_name(b"m.cpython-312.pyc"));
        assert!(!super::is_temp_name(b"m.py.123"));
        assert!(!super::is_temp_name(b"m.pyc."));
        assert!(!super::is_temp_name(b"m.pyc.12a"));
    }

    use super::*;

    fn scheme(major: u8, minor: u8, layout: CacheLayout) -> CacheScheme {
        CacheScheme::new(PyVersion::new(major, minor), layout)
    }

    fn path(scheme: &CacheScheme, source: &str, level: u8) -> String {
        scheme.cache_path(Path::new(source), level).unwrap().display().to_string()
    }

    #[test]
    fn pep_3147_and_488_names() {
        let s = scheme(3, 12, CacheLayout::Pep3147);
        assert_eq!(path(&s, "pkg/mod.py", 0), "pkg/__pycache__/mod.cpython-312.pyc");
        assert_eq!(path(&s, "pkg/mod.py", 1), "pkg/__pycache__/mod.cpython-312.opt-1.pyc");
        assert_eq!(path(&s, "pkg/mod.py", 2), "pkg/__pycache__/mod.cpython-312.opt-2.pyc");
        assert_eq!(path(&s, "mod.py", 0), "__pycache__/mod.cpython-312.pyc");
        assert_eq!(path(&s, "a.b.py", 0), "__pycache__/a.b.cpython-312.pyc");
        assert_eq!(path(&s, "noext", 0), "__pycache__/nocpython-312.pyc".replace("nocpython", "noextcpython"));
    }

    #[test]
    fn pyo_before_pep_488() {
        let s = scheme(3, 4, CacheLayout::Pep3147);
        assert_eq!(path(&s, "m.py", 0), "__pycache__/m.cpython-34.pyc");
        assert_eq!(path(&s, "m.py", 1), "__pycache__/m.cpython-34.pyo");
        assert_eq!(path(&s, "m.py", 2), "__pycache__/m.cpython-34.pyo");
        let legacy = scheme(3, 4, CacheLayout::Legacy);
        assert_eq!(path(&legacy, "m.py", 2), "m.pyo");
    }

    #[test]
    fn legacy_placement() {
        let py27 = scheme(2, 7, CacheLayout::Pep3147);
        assert_eq!(path(&py27, "pkg/m.py", 0), "pkg/m.pyc");
        assert_eq!(path(&py27, "pkg/m.py", 1), "pkg/m.pyo");
        assert_eq!(path(&py27, "pkg/m.py", 2), "pkg/m.pyo");
        let b = scheme(3, 12, CacheLayout::Legacy);
        assert_eq!(path(&b, "pkg/m.py", 0), "pkg/m.pyc");
        assert_eq!(path(&b, "pkg/m.py", 2), "pkg/m.pyc");
    }

    #[test]
    fn prefix_layout_keeps_the_absolute_directory() {
        let s = scheme(3, 12, CacheLayout::Prefix("/var/cache/py".into()));
        assert_eq!(path(&s, "/srv/app/m.py", 1), "/var/cache/py/srv/app/m.cpython-312.opt-1.pyc");
        let cwd = std::env::current_dir().unwrap();
        let expected = Path::new("/var/cache/py").join(cwd.strip_prefix("/").unwrap()).join("rel/m.cpython-312.pyc");
        assert_eq!(path(&s, "rel/m.py", 0), expected.display().to_string());
        let old = scheme(3, 7, CacheLayout::Prefix("/p".into()));
        assert_eq!(old.cache_path(Path::new("/m.py"), 0), Err(CachePathError::PrefixUnsupported(PyVersion::new(3, 7))));
    }

    #[test]
    fn reverse_mapping() {
        let s = scheme(3, 12, CacheLayout::Pep3147);
        let loc = s.source_path(Path::new("pkg/__pycache__/a.b.cpython-312.opt-2.pyc")).unwrap();
        assert_eq!(loc.source, Path::new("pkg/a.b.py"));
        assert_eq!((loc.optimize, loc.pyo, loc.legacy), (2, false, false));
        assert_eq!(loc.tag.as_deref(), Some("cpython-312"));
        // Another version's cache is not this scheme's.
        assert_eq!(s.source_path(Path::new("pkg/__pycache__/a.cpython-36.pyc")), None);
        let any = CacheScheme { tag: Some(String::new()), ..s.clone() };
        let _ = any;
        let legacy = s.source_path(Path::new("pkg/m.pyc")).unwrap();
        assert_eq!((legacy.source.as_path(), legacy.legacy), (Path::new("pkg/m.py"), true));
        assert_eq!(s.source_path(Path::new("pkg/m.txt")), None);
        let p = scheme(3, 12, CacheLayout::Prefix("/c".into()));
        let loc = p.source_path(Path::new("/c/srv/app/m.cpython-312.pyc")).unwrap();
        assert_eq!(loc.source, Path::new("/srv/app/m.py"));
        let old = scheme(3, 4, CacheLayout::Pep3147);
        let loc = old.source_path(Path::new("__pycache__/m.cpython-34.pyo")).unwrap();
        assert_eq!((loc.optimize, loc.pyo), (1, true));
    }

    #[test]
    fn cache_names_parse() {
        let name = CacheName::parse(b"a.b.cpython-36.opt-1.pyc").unwrap();
        assert_eq!((name.stem.as_slice(), name.tag.as_str(), name.optimize), (&b"a.b"[..], "cpython-36", 1));
        assert_eq!(name.version(), Some(PyVersion::new(3, 6)));
        assert_eq!(name.source_name(), "a.b.py");
        assert_eq!(CacheName::parse(b"m.pypy310.pyc").unwrap().version(), None);
        assert_eq!(CacheName::parse(b"m.pyc"), None);
    }

    #[test]
    fn round_trip_over_every_layout_and_level() {
        for (major, minor) in [(2, 7), (3, 4), (3, 6), (3, 12)] {
            for layout in [CacheLayout::Pep3147, CacheLayout::Legacy] {
                let s = scheme(major, minor, layout);
                for level in 0..=2 {
                    let cache = s.cache_path(Path::new("d/x.y.py"), level).unwrap();
                    let loc = s.source_path(&cache).unwrap();
                    assert_eq!(loc.source, Path::new("d/x.y.py"), "{cache:?}");
                }
            }
        }
    }
}
