use std::path::PathBuf;

use pycache_pyc::{Magic, PyVersion};
use serde::{Deserialize, Serialize};

/// What a probe learned about one interpreter executable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interpreter {
    /// The path pycache runs, as discovered (a symlink is kept: a virtual
    /// environment's `python` must be run through its own path).
    pub path: PathBuf,
    /// `sys.executable` as the interpreter reports it.
    pub executable: PathBuf,
    /// Major, minor, micro.
    pub version: (u8, u8, u8),
    /// `alpha`, `beta`, `candidate` or `final`.
    pub release: String,
    /// `sys.implementation.name`: `cpython`, `pypy`, ...
    pub implementation: String,
    /// `sys.implementation.cache_tag`, such as `cpython-312`; none on 2.x.
    pub cache_tag: Option<String>,
    /// `importlib.util.MAGIC_NUMBER` (or `imp.get_magic()`), as hex.
    pub magic: String,
    /// `sys.flags.optimize` without any flags or environment.
    pub optimize: u8,
    pub dont_write_bytecode: bool,
    pub pycache_prefix: Option<PathBuf>,
    pub check_hash_based_pycs: Option<String>,
    pub prefix: PathBuf,
    pub base_prefix: PathBuf,
    pub fs_encoding: String,
    pub byteorder: String,
}

impl Interpreter {
    pub fn py_version(&self) -> PyVersion {
        PyVersion::new(self.version.0, self.version.1)
    }

    /// The magic number this interpreter writes. A probe always yields a
    /// valid one; a damaged probe cache could not, so this is checked again.
    pub fn magic(&self) -> Option<Magic> {
        let bytes: Vec<u8> = (0..self.magic.len())
            .step_by(2)
            .filter_map(|i| self.magic.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
            .collect();
        Magic::from_bytes(&bytes).ok()
    }

    pub fn is_cpython(&self) -> bool {
        self.implementation == "cpython"
    }

    /// Whether this is a virtual environment's interpreter.
    pub fn in_virtualenv(&self) -> bool {
        self.prefix != self.base_prefix
    }

    /// A short label for reports: `3.12.1`, or `pypy 3.10.14`.
    pub fn label(&self) -> String {
        let (a, b, c) = self.version;
        if self.is_cpython() { format!("{a}.{b}.{c}") } else { format!("{} {a}.{b}.{c}", self.implementation) }
    }
}

impl std::fmt::Display for Interpreter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (`{}`)", self.label(), self.path.display())
    }
}
