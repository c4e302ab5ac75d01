//! Everything in a tree that matters to bytecode caching.

use std::fs::Metadata;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A source file and its `stat()`.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub meta: Metadata,
}

#[derive(Debug, Default)]
pub struct Tree {
    pub sources: Vec<Source>,
    /// `__pycache__` directories.
    pub pycache_dirs: Vec<PathBuf>,
    /// `.pyc`/`.pyo` files inside `__pycache__`.
    pub caches: Vec<PathBuf>,
    /// `.pyc`/`.pyo` files outside `__pycache__`.
    pub legacy: Vec<PathBuf>,
    /// `<cache>.<digits>`: temporary files of interrupted writes.
    pub debris: Vec<PathBuf>,
    /// `*.wsgi` files: entry scripts by convention.
    pub wsgi_files: Vec<PathBuf>,
    /// Executable files with a Python `#!` line.
    pub executables: Vec<PathBuf>,
    /// Symbolic links where the importer reads or writes caches: a
    /// `__pycache__`, or a cache-named file (`.pyc`, `.pyo`, temporary) in
    /// `__pycache__` or beside the sources. The importer follows them, so
    /// they are in no other list, and nothing acts on them.
    pub links: Vec<PathBuf>,
    /// Directories on another file system than their root's (mount points,
    /// bind mounts included), not entered unless asked.
    pub mounts: Vec<PathBuf>,
    /// Directories that could not be listed.
    pub unlisted: Vec<(PathBuf, String)>,
}

/// Whether a link of this name would be used by the importer for caches.
fn cache_like(name: &[u8]) -> bool {
    name == b"__pycache__" || name.ends_with(b".pyc") || name.ends_with(b".pyo") || is_debris(name)
}

pub use pycache_pyc::is_temp_name as is_debris;

fn python_shebang(path: &Path) -> bool {
    let mut head = [0u8; 128];
    let Ok(mut file) = std::fs::File::open(path) else { return false };
    let n = file.read(&mut head).unwrap_or(0);
    let first = head[..n].split(|&b| b == b'\n').next().unwrap_or_default();
    first.starts_with(b"#!") && first.windows(6).any(|w| w == b"python")
}

/// Version-control directories hold no modules.
fn skipped_dir(name: &std::ffi::OsStr) -> bool {
    matches!(name.as_bytes(), b".git" | b".hg" | b".svn")
}

/// How a scan walks.
#[derive(Debug, Clone, Copy, Default)]
pub struct WalkOptions {
    /// Enter directories on other file systems than the root's.
    pub cross_filesystems: bool,
}

/// The mount a path is on: its device, and the mount's id where the
/// kernel gives one (Linux 5.8+). A bind mount of a directory of the same
/// file system keeps the device; only the mount id tells it apart.
pub fn mount_of(path: &Path) -> Option<(u64, Option<u64>)> {
    use rustix::fs::{AtFlags, CWD, StatxFlags};
    match rustix::fs::statx(CWD, path, AtFlags::SYMLINK_NOFOLLOW, StatxFlags::MNT_ID) {
        Ok(stx) => {
            let dev = (u64::from(stx.stx_dev_major) << 32) | u64::from(stx.stx_dev_minor);
            Some((
                dev,
                StatxFlags::from_bits_retain(stx.stx_mask).contains(StatxFlags::MNT_ID).then_some(stx.stx_mnt_id),
            ))
        }
        Err(_) => {
            use std::os::unix::fs::MetadataExt;
            std::fs::symlink_metadata(path).ok().map(|m| (m.dev(), None))
        }
    }
}

/// Whether two [`mount_of`] answers are different mounts.
pub fn other_mount(a: (u64, Option<u64>), b: (u64, Option<u64>)) -> bool {
    a.0 != b.0 || matches!((a.1, b.1), (Some(x), Some(y)) if x != y)
}

/// Walks `roots`. Symbolic links to directories are not entered, so
/// nothing outside the tree is seen; a root that is itself a link is
/// followed, since the user named it. Unless `options` says otherwise, the
/// walk stays on each root's file system, as `find -xdev` does (and bind
/// mounts count as other file systems).
pub fn scan(roots: &[PathBuf], options: WalkOptions) -> Tree {
    let mut tree = Tree::default();
    for root in roots {
        if root.is_file() {
            classify(&mut tree, root, false);
            continue;
        }
        let home = std::fs::canonicalize(root).ok().as_deref().and_then(mount_of);
        let mounts = std::cell::RefCell::new(Vec::new());
        let walk = walkdir::WalkDir::new(root).follow_links(false).sort_by_file_name().into_iter().filter_entry(|e| {
            if e.depth() == 0 || !e.file_type().is_dir() {
                return true;
            }
            if skipped_dir(e.file_name()) {
                return false;
            }
            let elsewhere = !options.cross_filesystems
                && home.is_some_and(|home| mount_of(e.path()).is_some_and(|here| other_mount(home, here)));
            if elsewhere {
                mounts.borrow_mut().push(e.path().to_owned());
            }
            !elsewhere
        });
        for entry in walk {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    let path = err.path().map(Path::to_path_buf).unwrap_or_else(|| root.clone());
                    tree.unlisted.push((path, err.to_string()));
                    continue;
                }
            };
            let kind = entry.file_type();
            if kind.is_symlink() && cache_like(entry.file_name().as_bytes()) {
                tree.links.push(entry.path().to_owned());
                continue;
            }
            if kind.is_dir() {
                if entry.file_name() == "__pycache__" {
                    tree.pycache_dirs.push(entry.path().to_owned());
                }
                continue;
            }
            let in_pycache = entry.path().parent().and_then(Path::file_name).is_some_and(|n| n == "__pycache__");
            classify(&mut tree, entry.path(), in_pycache);
        }
        tree.mounts.extend(mounts.into_inner());
    }
    tree
}

fn classify(tree: &mut Tree, path: &Path, in_pycache: bool) {
    let Some(name) = path.file_name().map(|n| n.as_bytes()) else { return };
    if is_debris(name) {
        tree.debris.push(path.to_owned());
    } else if name.ends_with(b".pyc") || name.ends_with(b".pyo") {
        if in_pycache { tree.caches.push(path.to_owned()) } else { tree.legacy.push(path.to_owned()) }
    } else if in_pycache {
        // Anything else in `__pycache__`, sources included, is not the
        // importer's: kept out of every list so that nothing acts on it.
    } else if name.ends_with(b".py") {
        if let Ok(meta) = std::fs::metadata(path)
            && meta.is_file()
        {
            if meta.permissions().mode() & 0o111 != 0 && python_shebang(path) {
                tree.executables.push(path.to_owned());
            }
            tree.sources.push(Source { path: path.to_owned(), meta });
        }
    } else if name.ends_with(b".wsgi") {
        tree.wsgi_files.push(path.to_owned());
    } else if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        && python_shebang(path)
    {
        tree.executables.push(path.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_a_tree_into_its_parts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, body, mode) in [
            ("app/mod.py", "x = 1\n", 0o644),
            ("app/__pycache__/mod.cpython-312.pyc", "", 0o644),
            ("app/__pycache__/mod.cpython-312.pyc.99", "", 0o644),
            ("app/old.pyc", "", 0o644),
            ("app/app.wsgi", "from app import application\n", 0o644),
            ("bin/tool", "#!/usr/bin/env python3\nprint(1)\n", 0o755),
            ("bin/tool.py", "#!/usr/bin/python3\nprint(1)\n", 0o755),
            ("bin/shell", "#!/bin/sh\n", 0o755),
        ] {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, body).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let tree = scan(&[root.to_path_buf()], WalkOptions::default());
        let rel =
            |v: &[PathBuf]| v.iter().map(|p| p.strip_prefix(root).unwrap().display().to_string()).collect::<Vec<_>>();
        assert_eq!(
            rel(&tree.sources.iter().map(|s| s.path.clone()).collect::<Vec<_>>()),
            ["app/mod.py", "bin/tool.py"]
        );
        assert_eq!(rel(&tree.caches), ["app/__pycache__/mod.cpython-312.pyc"]);
        assert_eq!(rel(&tree.debris), ["app/__pycache__/mod.cpython-312.pyc.99"]);
        assert_eq!(rel(&tree.legacy), ["app/old.pyc"]);
        assert_eq!(rel(&tree.wsgi_files), ["app/app.wsgi"]);
        assert_eq!(rel(&tree.executables), ["bin/tool", "bin/tool.py"]);
        assert_eq!(rel(&tree.pycache_dirs), ["app/__pycache__"]);
    }
}
