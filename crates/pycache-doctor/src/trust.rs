//! Whether anyone but root (and pycache's own user) could change what an
//! interpreter does when pycache starts it.
//!
//! Running a program hands it the runner's privileges. A deployment's
//! `venv/bin/python` usually belongs to whoever deploys the application;
//! if pycache, run as root, started it, that user would get root. So before
//! an interpreter runs with pycache's identity, everything that decides what
//! it does is checked: the executable and every link on the way to it, the
//! directories holding them (which could swap them), the `pyvenv.cfg` it
//! reads beside itself or one level up and the `home` that file names, and
//! the standard library it imports from (under `-E -S`, `site` and
//! `sitecustomize` never run, and the working directory is `/`). Owners,
//! group and other write bits and POSIX ACLs count; a world-writable
//! directory with the sticky bit (`/tmp`) is safe to pass through, since
//! nobody can replace what they do not own there, but not as a place where
//! a new name (`pyvenv.cfg`, `json.py`) would be picked up.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// How many entries of a standard library are checked before giving up.
const STDLIB_LIMIT: usize = 200_000;

/// `system.posix_acl_access`: the access ACL, as the kernel stores it.
const ACL_XATTR: &str = "system.posix_acl_access";
const ACL_USER: u16 = 0x02;
const ACL_GROUP: u16 = 0x08;
const ACL_WRITE: u16 = 0x02;

/// What a path is to the interpreter being vetted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A directory passed through on the way to something.
    Passage,
    /// A directory where the interpreter looks names up: a new file there
    /// changes what it does.
    Lookup,
    /// A file it runs or reads.
    File,
    /// A symbolic link on the way: only its owner matters (in a sticky
    /// directory the owner may replace it).
    Link,
}

/// Whether `uid` is root or the user pycache runs as.
fn trusted_uid(uid: u32) -> bool {
    uid == 0 || uid == nix::unistd::geteuid().as_raw()
}

fn user_name(uid: u32) -> String {
    crate::doctor::user_name(uid)
}

fn group_name(gid: u32) -> String {
    nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid))
        .ok()
        .flatten()
        .map(|g| g.name)
        .unwrap_or_else(|| gid.to_string())
}

/// Named users and groups a POSIX access ACL lets write, as text.
fn acl_writers(path: &Path) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    let n = rustix::fs::lgetxattr(path, ACL_XATTR, &mut buf[..]).ok()?;
    let acl = buf.get(4..n)?;
    for entry in acl.chunks_exact(8) {
        let tag = u16::from_le_bytes([entry[0], entry[1]]);
        let perm = u16::from_le_bytes([entry[2], entry[3]]);
        let id = u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]]);
        if perm & ACL_WRITE == 0 {
            continue;
        }
        if tag == ACL_USER && !trusted_uid(id) {
            return Some(format!("user `{}` (ACL)", user_name(id)));
        }
        if tag == ACL_GROUP && id != 0 {
            return Some(format!("group `{}` (ACL)", group_name(id)));
        }
    }
    None
}

/// Who besides root and pycache's user can change `path` in its role.
fn foreign_writer_of(path: &Path, role: Role) -> Option<String> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        // Nothing there: only a directory someone can write could make it
        // appear, and that directory is checked as a lookup place.
        return None;
    };
    let shown = path.display();
    if !trusted_uid(meta.uid()) {
        return Some(format!("`{shown}` belongs to `{}`", user_name(meta.uid())));
    }
    if meta.file_type().is_symlink() || role == Role::Link {
        return None;
    }
    let mode = meta.mode();
    if mode & 0o020 != 0 && meta.gid() != 0 {
        return Some(format!("`{shown}` is writable by group `{}`", group_name(meta.gid())));
    }
    let sticky_passage = meta.is_dir() && mode & 0o1000 != 0 && role == Role::Passage;
    if mode & 0o002 != 0 && !sticky_passage {
        return Some(format!("`{shown}` is writable by everyone"));
    }
    acl_writers(path).map(|who| format!("`{shown}` is writable by {who}"))
}

/// The places whose writers decide what running `python` does.
#[derive(Default)]
struct Places {
    list: Vec<(PathBuf, Role)>,
}

impl Places {
    fn add(&mut self, path: &Path, role: Role) {
        match self.list.iter_mut().find(|(p, _)| p == path) {
            // A lookup place is the stricter role of a directory.
            Some((_, old)) if role == Role::Lookup => *old = Role::Lookup,
            Some(_) => {}
            None => self.list.push((path.to_owned(), role)),
        }
    }

    fn ancestors(&mut self, path: &Path) {
        for dir in path.ancestors().skip(1).filter(|d| !d.as_os_str().is_empty()) {
            self.add(dir, Role::Passage);
            if let Ok(real) = std::fs::canonicalize(dir) {
                for real_dir in real.ancestors() {
                    self.add(real_dir, Role::Passage);
                }
            }
        }
    }

    /// `path`, every link on the way to the file it names, and the
    /// directories holding each.
    fn chain(&mut self, path: &Path) {
        let mut current = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        // The file comes before the directories holding it, so that the
        // reason given is about the file when the file is the problem.
        for _ in 0..40 {
            match std::fs::symlink_metadata(&current) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    self.add(&current, Role::Link);
                    self.ancestors(&current);
                    let Ok(target) = std::fs::read_link(&current) else { return };
                    current = current.parent().unwrap_or(Path::new("/")).join(target);
                }
                Ok(_) => {
                    self.add(&current, Role::File);
                    self.ancestors(&current);
                    return;
                }
                Err(_) => {
                    self.ancestors(&current);
                    return;
                }
            }
        }
    }

    /// A prefix's standard library: `lib`, its files, and every
    /// `lib/python*` directory but the site packages `-S` leaves out.
    fn stdlib(&mut self, prefix: &Path) -> Result<(), String> {
        self.add(prefix, Role::Lookup);
        for lib in ["lib", "lib64"] {
            let lib = prefix.join(lib);
            let Ok(entries) = std::fs::read_dir(&lib) else { continue };
            self.add(&lib, Role::Lookup);
            for entry in entries.filter_map(Result::ok) {
                let path = entry.path();
                let is_python_dir = entry.file_type().is_ok_and(|t| t.is_dir())
                    && entry.file_name().to_string_lossy().starts_with("python");
                if !is_python_dir {
                    self.add(&path, Role::File);
                    continue;
                }
                let walk = walkdir::WalkDir::new(&path).follow_links(false).into_iter().filter_entry(|e| {
                    !(e.file_type().is_dir()
                        && matches!(e.file_name().to_str(), Some("site-packages" | "dist-packages")))
                });
                for entry in walk.filter_map(Result::ok) {
                    if self.list.len() > STDLIB_LIMIT {
                        return Err(format!("`{}` holds too many files to check", lib.display()));
                    }
                    let role = if entry.file_type().is_dir() { Role::Lookup } else { Role::File };
                    // Entries are unique here: no need for `add`'s search.
                    self.list.push((entry.path().to_owned(), role));
                }
            }
        }
        Ok(())
    }
}

/// A `pyvenv.cfg`: where the interpreter finds its base, and what the
/// environment says it was made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VenvConfig {
    pub file: PathBuf,
    pub home: Option<PathBuf>,
    /// `version` (venv) or `version_info` (virtualenv, uv): major, minor
    /// and micro when given.
    pub version: Option<(u8, u8, Option<u8>)>,
    /// `implementation` (virtualenv, uv), lower case.
    pub implementation: Option<String>,
}

fn parse_version(text: &str) -> Option<(u8, u8, Option<u8>)> {
    let mut parts = text.trim().split('.');
    let major = parts.next()?.trim().parse().ok()?;
    let minor = parts.next()?.trim().parse().ok()?;
    let micro = parts.next().and_then(|p| p.trim().parse().ok());
    Some((major, minor, micro))
}

/// The `pyvenv.cfg` the interpreter at `python` reads: beside it, else in
/// the directory above, as the interpreter looks (keys are matched without
/// case, as it does).
pub(crate) fn venv_config(python: &Path) -> Option<VenvConfig> {
    let bin = python.parent()?;
    let file = [bin.join("pyvenv.cfg"), bin.parent()?.join("pyvenv.cfg")].into_iter().find(|f| f.is_file())?;
    let text = std::fs::read(&file).ok()?;
    let text = String::from_utf8_lossy(&text);
    let mut config = VenvConfig { file: file.clone(), home: None, version: None, implementation: None };
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "home" if !value.is_empty() => config.home = Some(PathBuf::from(value)),
            "version" | "version_info" => config.version = config.version.or_else(|| parse_version(value)),
            "implementation" => config.implementation = Some(value.to_ascii_lowercase()),
            _ => {}
        }
    }
    Some(config)
}

/// The first reason another user could change what running `python` (as
/// pycache's user, with `-E -S`, from `/`) does, or `None` when only root
/// and pycache's user can.
pub(crate) fn foreign_writer(python: &Path) -> Option<String> {
    let python = std::path::absolute(python).unwrap_or_else(|_| python.to_owned());
    let mut places = Places::default();
    places.chain(&python);
    // `-c` puts the working directory, `/`, first on `sys.path`.
    places.add(Path::new("/"), Role::Lookup);
    let real = std::fs::canonicalize(&python).ok();
    let mut prefixes: Vec<PathBuf> = Vec::new();
    // Where the interpreter looks for `pyvenv.cfg`, through the path it
    // was started by and through the file it really is.
    for exe in std::iter::once(&python).chain(real.as_ref()) {
        let Some(bin) = exe.parent() else { continue };
        places.add(bin, Role::Lookup);
        places.add(&bin.join("pyvenv.cfg"), Role::File);
        if let Some(up) = bin.parent() {
            places.add(up, Role::Lookup);
            places.add(&up.join("pyvenv.cfg"), Role::File);
            prefixes.push(up.to_owned());
        }
    }
    if let Some(home) = venv_config(&python).and_then(|c| c.home) {
        places.chain(&home);
        places.add(&home, Role::Lookup);
        if let Some(prefix) = std::fs::canonicalize(&home).ok().as_deref().and_then(Path::parent) {
            places.ancestors(&prefix.join("lib"));
            prefixes.push(prefix.to_owned());
        }
    }
    prefixes.sort();
    prefixes.dedup();
    for prefix in &prefixes {
        if let Err(why) = places.stdlib(prefix) {
            return Some(why);
        }
    }
    places.list.iter().find_map(|(path, role)| foreign_writer_of(path, *role))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn versions_of_venv_and_virtualenv() {
        assert_eq!(parse_version("3.12.1"), Some((3, 12, Some(1))));
        assert_eq!(parse_version("3.12.1.final.0"), Some((3, 12, Some(1))));
        assert_eq!(parse_version(" 3.9"), Some((3, 9, None)));
        assert_eq!(parse_version("three"), None);
    }

    #[test]
    fn the_config_is_read_beside_the_interpreter_or_one_level_up() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("venv/bin");
        std::fs::create_dir_all(&bin).unwrap();
        assert_eq!(venv_config(&bin.join("python")), None);
        std::fs::write(
            dir.path().join("venv/pyvenv.cfg"),
            "Home = /opt/py/bin\nimplementation = CPython\nversion_info = 3.11.7.final.0\nprompt = x = y\n",
        )
        .unwrap();
        let config = venv_config(&bin.join("python")).unwrap();
        assert_eq!(config.home.as_deref(), Some(Path::new("/opt/py/bin")));
        assert_eq!(config.version, Some((3, 11, Some(7))));
        assert_eq!(config.implementation.as_deref(), Some("cpython"));
    }

    #[test]
    fn an_acl_entry_that_lets_another_user_write_counts() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!(
                "SKIP an_acl_entry_that_lets_another_user_write_counts: needs root to give the file root's group"
            );
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("python");
        std::fs::write(&file, b"x").unwrap();
        chmod(&file, 0o644);
        std::os::unix::fs::chown(&file, None, Some(0)).unwrap();
        // user::rw- user:54321:rw- group::r-- mask::rw- other::r--
        let mut acl = 2u32.to_le_bytes().to_vec();
        for (tag, perm, id) in
            [(1u16, 6u16, u32::MAX), (2, 6, 54321), (4, 4, u32::MAX), (0x10, 6, u32::MAX), (0x20, 4, u32::MAX)]
        {
            acl.extend(tag.to_le_bytes());
            acl.extend(perm.to_le_bytes());
            acl.extend(id.to_le_bytes());
        }
        if let Err(err) = rustix::fs::lsetxattr(&file, ACL_XATTR, &acl, rustix::fs::XattrFlags::empty()) {
            eprintln!("SKIP an_acl_entry_that_lets_another_user_write_counts: no POSIX ACLs here ({err})");
            return;
        }
        let why = foreign_writer_of(&file, Role::File).unwrap();
        assert!(why.ends_with("is writable by user `54321` (ACL)"), "{why}");
    }

    #[test]
    fn write_bits_and_sticky_directories() {
        let dir = tempfile::tempdir().unwrap();
        chmod(dir.path(), 0o755);
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        chmod(&file, 0o644);
        if std::fs::metadata(&file).unwrap().gid() != 0 {
            // The test needs the file's group to be root's.
            std::os::unix::fs::chown(&file, None, Some(0)).ok();
        }
        assert_eq!(foreign_writer_of(&file, Role::File), None);
        chmod(&file, 0o646);
        assert!(foreign_writer_of(&file, Role::File).unwrap().ends_with("is writable by everyone"));
        chmod(&file, 0o644);
        chmod(dir.path(), 0o1777);
        assert_eq!(foreign_writer_of(dir.path(), Role::Passage), None);
        assert!(foreign_writer_of(dir.path(), Role::Lookup).is_some());
        chmod(dir.path(), 0o755);
    }
}
