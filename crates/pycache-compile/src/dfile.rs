//! The file name recorded in `co_filename` (compileall's `-d`, `-s`, `-p`).
//!
//! Tracebacks show this name, so it must be what compileall of the same
//! version would record. Before 3.9, `-d` joins the destination with the
//! path below the directory argument, except in 3.5 and 3.6, whose directory
//! walk drops the subdirectories and records the destination plus the base
//! name for every file (checked against 3.6; 3.5 shares that code). From 3.9, `-d` on a directory becomes
//! "strip the argument, prepend the destination", and stripping removes, for
//! each leading component equal to the strip prefix's, the first component
//! with that value, a quirk kept here because it decides the recorded name.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use pycache_pyc::PyVersion;

/// `os.path.join(a, b)` on POSIX, on bytes.
fn py_join(a: &[u8], b: &[u8]) -> Vec<u8> {
    if b.starts_with(b"/") || a.is_empty() {
        return b.to_vec();
    }
    let mut out = a.to_vec();
    if !out.ends_with(b"/") {
        out.push(b'/');
    }
    out.extend_from_slice(b);
    out
}

/// compileall's `stripdir` step, quirk included.
fn strip(fullname: &[u8], stripdir: &[u8]) -> Vec<u8> {
    let full: Vec<&[u8]> = fullname.split(|&b| b == b'/').collect();
    let strip: Vec<&[u8]> = stripdir.split(|&b| b == b'/').collect();
    let mut kept = full.clone();
    for (s, f) in strip.iter().zip(&full) {
        if s == f {
            if let Some(at) = kept.iter().position(|k| k == s) {
                kept.remove(at);
            }
        }
    }
    kept.join(&b'/')
}

fn to_path(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(&bytes))
}

/// The name to record for `path`, found under the directory argument `root`
/// (or named directly when `root` is `None`), or `None` to record `path`
/// itself. `ddir` excludes `strip` and `prepend`; the caller checks that.
pub fn display_name(
    version: PyVersion,
    path: &Path,
    root: Option<&Path>,
    ddir: Option<&Path>,
    stripdir: Option<&Path>,
    prependdir: Option<&Path>,
) -> Option<PathBuf> {
    let full = path.as_os_str().as_bytes();
    if let Some(ddir) = ddir {
        let ddir = ddir.as_os_str().as_bytes();
        let Some(root) = root else {
            // A file argument: the destination plus its base name.
            let name = path.file_name().map(OsStr::as_bytes).unwrap_or(full);
            return Some(to_path(py_join(ddir, name)));
        };
        if version >= PyVersion::new(3, 9) {
            return Some(to_path(py_join(ddir, &strip(full, root.as_os_str().as_bytes()))));
        }
        if version == PyVersion::new(3, 5) || version == PyVersion::new(3, 6) {
            let name = path.file_name().map(OsStr::as_bytes).unwrap_or(full);
            return Some(to_path(py_join(ddir, name)));
        }
        let below = path.strip_prefix(root).unwrap_or(path);
        let joined = below.components().fold(ddir.to_vec(), |acc, part| py_join(&acc, part.as_os_str().as_bytes()));
        return Some(to_path(joined));
    }
    let mut dfile = stripdir.map(|s| strip(full, s.as_os_str().as_bytes()));
    if let Some(prepend) = prependdir {
        let base = dfile.take().unwrap_or_else(|| full.to_vec());
        dfile = Some(py_join(prepend.as_os_str().as_bytes(), &base));
    }
    dfile.map(to_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V36: PyVersion = PyVersion::new(3, 6);
    const V38: PyVersion = PyVersion::new(3, 8);
    const V312: PyVersion = PyVersion::new(3, 12);

    fn name(v: PyVersion, path: &str, root: Option<&str>, d: Option<&str>, s: Option<&str>, p: Option<&str>) -> String {
        display_name(v, Path::new(path), root.map(Path::new), d.map(Path::new), s.map(Path::new), p.map(Path::new))
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }

    #[test]
    fn ddir_on_a_directory() {
        assert_eq!(name(V312, "lib/a/b.py", Some("lib"), Some("/srv"), None, None), "/srv/a/b.py");
        assert_eq!(name(V38, "lib/a/b.py", Some("lib"), Some("/srv"), None, None), "/srv/a/b.py");
        assert_eq!(name(V312, "lib/a/b.py", Some("lib/"), Some("dst"), None, None), "dst/a/b.py");
    }

    #[test]
    fn ddir_in_3_6_drops_subdirectories_like_its_compileall() {
        assert_eq!(name(V36, "lib/a/b.py", Some("lib"), Some("/srv"), None, None), "/srv/b.py");
    }

    #[test]
    fn ddir_on_a_file_keeps_only_the_base_name() {
        assert_eq!(name(V312, "lib/a/b.py", None, Some("/srv"), None, None), "/srv/b.py");
    }

    #[test]
    fn strip_removes_first_equal_components_quirk_included() {
        assert_eq!(name(V312, "/a/b/c.py", None, None, Some("/a"), None), "b/c.py");
        // The second "x" of the strip prefix removes the first remaining "x".
        assert_eq!(name(V312, "x/y/x/z.py", None, None, Some("x/x"), None), "y/x/z.py");
        assert_eq!(name(V312, "x/x/q.py", None, None, Some("x/x"), None), "q.py");
    }

    #[test]
    fn prepend_alone_and_after_strip() {
        assert_eq!(name(V312, "a/b.py", None, None, None, Some("/opt")), "/opt/a/b.py");
        assert_eq!(name(V312, "/build/a/b.py", None, None, Some("/build"), Some("/opt")), "/opt/a/b.py");
        assert_eq!(name(V312, "a/b.py", None, None, None, None), "");
    }
}
