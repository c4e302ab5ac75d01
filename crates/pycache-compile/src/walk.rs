//! Finding sources the way compileall does.
//!
//! Directory entries are visited in sorted order; `__pycache__` is skipped;
//! symlinks to directories are not followed, symlinks to files are; only
//! names ending in `.py` are compiled; `-x` is searched in the whole path as
//! spelled (the argument joined with the names below it, which is also what
//! ends up in `co_filename`).

use std::ffi::OsStr;
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::options::CompileOptions;
use crate::report::FileError;

/// A source to compile.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as compileall spells it: the argument, then the names below.
    pub path: PathBuf,
    /// The directory argument it was found under; `None` when named directly.
    pub root: Option<Arc<Path>>,
    /// `stat()` of the source, following symlinks.
    pub meta: Metadata,
    /// The `__pycache__` beside it is a symbolic link (as its directory
    /// was listed, or by `lstat` for a file named alone).
    pub pycache_link: bool,
}

/// Whether `dir/__pycache__` is a symbolic link.
fn pycache_is_link(dir: &Path) -> bool {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    dir.join("__pycache__").symlink_metadata().is_ok_and(|meta| meta.file_type().is_symlink())
}

/// Something the walk could not do, for the report.
#[derive(Debug)]
pub struct WalkProblem {
    pub path: PathBuf,
    pub error: FileError,
}

/// Every source under `options.paths`, in compileall's order, with the
/// problems met on the way.
pub fn walk(options: &CompileOptions) -> (Vec<SourceFile>, Vec<WalkProblem>) {
    let limit = options.limit_symlinks.as_ref().map(|dir| std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone()));
    let walker = Walker { options, limit };
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for arg in &options.paths {
        match std::fs::metadata(arg) {
            Ok(meta) if meta.is_dir() => {
                let max = options.max_depth.unwrap_or(usize::MAX);
                let root: Arc<Path> = Arc::from(arg.as_path());
                let mut found = Found::default();
                walker.dir(&root, arg, max, &mut found);
                files.reserve(found.files.iter().map(Vec::len).sum());
                for chunk in found.files {
                    files.extend(chunk);
                }
                problems.extend(found.problems);
            }
            Ok(_) => {
                if !arg.as_os_str().as_bytes().ends_with(b".py") {
                    problems.push(WalkProblem { path: arg.clone(), error: FileError::NotPython });
                } else if let Some(file) =
                    walker.file(arg.clone(), None, pycache_is_link(arg.parent().unwrap_or(Path::new(""))))
                {
                    files.push(file);
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && arg.symlink_metadata().is_err() => {
                problems.push(WalkProblem { path: arg.clone(), error: FileError::Missing });
            }
            Err(err) => problems.push(WalkProblem { path: arg.clone(), error: FileError::Read(err.to_string()) }),
        }
    }
    (files, problems)
}

/// What a directory yields: its files in chunks, so that each level of
/// the tree moves its children's lists rather than copying their files.
#[derive(Default)]
struct Found {
    files: Vec<Vec<SourceFile>>,
    problems: Vec<WalkProblem>,
}

struct Walker<'a> {
    options: &'a CompileOptions,
    limit: Option<PathBuf>,
}

impl Walker<'_> {
    /// A candidate file: applies `-x`, `-e` and compileall's `isfile` check.
    fn file(&self, path: PathBuf, root: Option<&Arc<Path>>, pycache_link: bool) -> Option<SourceFile> {
        if let Some(rx) = &self.options.exclude {
            if rx.is_match(&path.to_string_lossy()) {
                return None;
            }
        }
        if let Some(limit) = &self.limit {
            if path.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
                let target = std::fs::canonicalize(&path).ok()?;
                if !(target.starts_with(limit) && target != *limit) {
                    return None;
                }
            }
        }
        let meta = std::fs::metadata(&path).ok().filter(Metadata::is_file)?;
        Some(SourceFile { path, root: root.cloned(), meta, pycache_link })
    }

    /// A regular file found in a directory listing: its metadata comes
    /// from the directory handle (no walk of the whole path again).
    fn listed_file(
        &self,
        entry: &std::fs::DirEntry,
        path: PathBuf,
        root: &Arc<Path>,
        pycache_link: bool,
    ) -> Option<SourceFile> {
        if self.limit.is_some() || self.options.exclude.is_some() {
            return self.file(path, Some(root), pycache_link);
        }
        let meta = entry.metadata().ok().filter(Metadata::is_file)?;
        Some(SourceFile { path, root: Some(Arc::clone(root)), meta, pycache_link })
    }

    fn dir(&self, root: &Arc<Path>, dir: &Path, depth_left: usize, found: &mut Found) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) => {
                found.problems.push(WalkProblem { path: dir.to_owned(), error: FileError::List(err.to_string()) });
                return;
            }
        };
        let mut names: Vec<(std::ffi::OsString, Option<std::fs::FileType>, std::fs::DirEntry)> =
            entries.filter_map(Result::ok).map(|e| (e.file_name(), e.file_type().ok(), e)).collect();
        names.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        enum Item {
            File(PathBuf),
            Listed(PathBuf, std::fs::DirEntry),
            Dir(PathBuf),
        }
        let mut items = Vec::new();
        let mut pycache_link = false;
        for (name, kind, entry) in names {
            if name == OsStr::new("__pycache__") {
                pycache_link = kind.is_some_and(|kind| kind.is_symlink());
                continue;
            }
            let full = dir.join(&name);
            let is_py = name.as_bytes().ends_with(b".py");
            match kind {
                Some(kind) if kind.is_dir() => {
                    if depth_left > 0 {
                        items.push(Item::Dir(full));
                    }
                }
                // A symlink to a directory is neither compiled nor entered.
                Some(kind) if kind.is_symlink() => {
                    if is_py && !std::fs::metadata(&full).is_ok_and(|m| m.is_dir()) {
                        items.push(Item::File(full));
                    }
                }
                Some(kind) if kind.is_file() && is_py => items.push(Item::Listed(full, entry)),
                _ if is_py => items.push(Item::File(full)),
                _ => {}
            }
        }
        let results: Vec<Found> = items
            .into_par_iter()
            .map(|item| {
                let mut found = Found::default();
                match item {
                    Item::File(path) => {
                        found.files.push(self.file(path, Some(root), pycache_link).into_iter().collect())
                    }
                    Item::Listed(path, entry) => {
                        found.files.push(self.listed_file(&entry, path, root, pycache_link).into_iter().collect())
                    }
                    Item::Dir(path) => self.dir(root, &path, depth_left - 1, &mut found),
                }
                found
            })
            .collect();
        // Runs of single files become one chunk; a directory's chunks move.
        let mut run: Vec<SourceFile> = Vec::new();
        for result in results {
            for chunk in result.files {
                if chunk.len() <= 1 {
                    run.extend(chunk);
                } else {
                    if !run.is_empty() {
                        found.files.push(std::mem::take(&mut run));
                    }
                    found.files.push(chunk);
                }
            }
            found.problems.extend(result.problems);
        }
        if !run.is_empty() {
            found.files.push(run);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn names(files: &[SourceFile]) -> Vec<String> {
        files.iter().map(|f| f.path.display().to_string()).collect()
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for p in ["b.py", "a.py", "notes.txt", "pkg/__init__.py", "pkg/deep/x.py", "__pycache__/stale.py", "c.pyw"] {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x = 1\n").unwrap();
        }
        symlink(root.join("pkg"), root.join("linkdir")).unwrap();
        symlink(root.join("a.py"), root.join("linked.py")).unwrap();
        symlink(root.join("gone.py"), root.join("broken.py")).unwrap();
        dir
    }

    #[test]
    fn follows_compileall_rules() {
        let dir = tree();
        let arg = format!("{}/", dir.path().display());
        let options = CompileOptions { paths: vec![arg.clone().into()], ..CompileOptions::default() };
        let (files, problems) = walk(&options);
        let expected: Vec<String> = ["a.py", "b.py", "linked.py", "pkg/__init__.py", "pkg/deep/x.py"]
            .iter()
            .map(|n| format!("{arg}{n}"))
            .collect();
        assert_eq!(names(&files), expected);
        assert!(problems.is_empty());
    }

    #[test]
    fn depth_exclude_and_missing_paths() {
        let dir = tree();
        let root = dir.path().to_path_buf();
        let options = CompileOptions {
            paths: vec![root.clone(), root.join("nothing"), root.join("notes.txt")],
            max_depth: Some(1),
            exclude: Some(regex::Regex::new("b\\.py$").unwrap()),
            ..CompileOptions::default()
        };
        let (files, problems) = walk(&options);
        let rel: Vec<_> = files.iter().map(|f| f.path.strip_prefix(&root).unwrap().display().to_string()).collect();
        assert_eq!(rel, ["a.py", "linked.py", "pkg/__init__.py"]);
        assert!(matches!(problems[0].error, FileError::Missing));
        assert!(matches!(problems[1].error, FileError::NotPython));
    }

    #[test]
    fn limit_symlinks_keeps_links_inside_the_limit() {
        let dir = tree();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("o.py"), "").unwrap();
        symlink(outside.path().join("o.py"), dir.path().join("out.py")).unwrap();
        let options = CompileOptions {
            paths: vec![dir.path().to_path_buf()],
            limit_symlinks: Some(dir.path().to_path_buf()),
            max_depth: Some(0),
            ..CompileOptions::default()
        };
        let (files, _) = walk(&options);
        let rel: Vec<_> = files.iter().map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(rel, ["a.py", "b.py", "linked.py"]);
    }
}
