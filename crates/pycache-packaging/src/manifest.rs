//! A list of paths, one per line, written atomically.
//!
//! Paths are written as their bytes, without any escaping: file lists are
//! read as lines of bytes, and a name that is not UTF-8 must come out as
//! the file system has it. A path with a newline in it cannot be one line,
//! so the list is refused rather than written wrong.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot list `{}` in the manifest: its name has a newline, and the manifest has one path per line", path.display())]
    Newline { path: PathBuf },
    #[error("cannot write the manifest `{}`: {source}", file.display())]
    Write { file: PathBuf, source: std::io::Error },
}

/// Writes `paths` to `file`, one per line, in the order given and each
/// once. A reader sees the old file or the whole new one. The file gets
/// mode 0666 less the umask, as a file made by a shell redirection would.
/// Returns the number of lines.
pub fn write<'a>(file: &Path, paths: impl IntoIterator<Item = &'a Path>) -> Result<usize, ManifestError> {
    let mut seen = std::collections::HashSet::new();
    let mut bytes = Vec::new();
    let mut lines = 0;
    for path in paths {
        let name = path.as_os_str().as_bytes();
        if name.contains(&b'\n') {
            return Err(ManifestError::Newline { path: path.to_owned() });
        }
        if seen.insert(name) {
            bytes.extend_from_slice(name);
            bytes.push(b'\n');
            lines += 1;
        }
    }
    let failed = |source| ManifestError::Write { file: file.to_owned(), source };
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".pycache-manifest.")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(failed)?;
    temp.write_all(&bytes).map_err(failed)?;
    temp.as_file().sync_all().map_err(failed)?;
    temp.persist(file).map_err(|err| failed(err.error))?;
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;

    #[test]
    fn one_path_per_line_as_bytes_each_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("files.txt");
        let odd = PathBuf::from(OsStr::from_bytes(b"pkg/__pycache__/caf\xe9.cpython-312.pyc"));
        let paths =
            [Path::new("a/__pycache__/m.cpython-312.pyc"), odd.as_path(), Path::new("a/__pycache__/m.cpython-312.pyc")];
        assert_eq!(write(&file, paths).unwrap(), 2);
        assert_eq!(
            std::fs::read(&file).unwrap(),
            b"a/__pycache__/m.cpython-312.pyc\npkg/__pycache__/caf\xe9.cpython-312.pyc\n"
        );
        // Nothing else is left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_name_with_a_newline_is_refused_and_the_old_list_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("files.txt");
        std::fs::write(&file, "old\n").unwrap();
        let err = write(&file, [Path::new("a\nb.pyc")]).unwrap_err();
        assert!(matches!(err, ManifestError::Newline { .. }), "{err}");
        assert_eq!(std::fs::read(&file).unwrap(), b"old\n");
    }

    #[test]
    fn an_unwritable_place_is_an_error_naming_the_file() {
        let err = write(Path::new("/nonexistent-dir/files.txt"), [Path::new("x.pyc")]).unwrap_err();
        assert!(err.to_string().contains("`/nonexistent-dir/files.txt`"), "{err}");
    }

    #[test]
    fn the_mode_is_what_a_redirection_would_give() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("files.txt");
        write(&file, [Path::new("x.pyc")]).unwrap();
        let shell = dir.path().join("shell.txt");
        std::fs::write(&shell, "").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), mode(&shell));
    }
}
