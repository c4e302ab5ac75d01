//! `pycache stub`: turn an entry script that is compiled on every load into
//! a small script that runs a cached body.
//!
//! The body moves, byte for byte, to `<script>-body.py` beside the script,
//! so its shebang, encoding line, `from __future__` imports and line numbers
//! stay as they were. That name is not a valid module name: no `import`
//! can ever find it or be shadowed by it, so it cannot clash with a module.
//! The stub loads the body's code object through the importer's own cache
//! logic (`SourceFileLoader.get_code` on 3.x; the `.pyc` beside it on 2.x)
//! and executes it in the script's own namespace: `__name__` (so
//! `if __name__ == "__main__"` still works), `__file__` (so paths computed
//! from it still point beside the script), `sys.argv` and the globals a
//! server looks up (mod_wsgi's `application`) are the script's own.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::checks::scripts::STUB_MARKER;

#[derive(Debug, thiserror::Error)]
pub enum StubError {
    #[error("cannot read `{path}`: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write `{path}`: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("`{0}` is already a pycache stub")]
    AlreadyStub(PathBuf),
    #[error(
        "`{0}` already exists and is not what an interrupted pycache stub left (a copy of the script with its owner \
         and mode); choose another name with --body"
    )]
    BodyExists(PathBuf),
    #[error(
        "`{0}` is not a usable body file name (a plain file name ending in `.py`, ASCII letters, digits, `.`, `_`, `-`)"
    )]
    BadBodyName(String),
    #[error("`{0}` is not a regular file")]
    NotAFile(PathBuf),
    #[error("`{0}` is a symbolic link: stub the file it points to, so that the body lands beside it")]
    Link(PathBuf),
    #[error(
        "`{path}` belongs to `{owner}`, and you are `{user}`: the stub would not keep its owner. Run pycache stub as \
         `{owner}` or as root"
    )]
    NotOwner { path: PathBuf, owner: String, user: String },
    #[error(
        "`{path}` belongs to the group `{group}`, which you are not in: the stub would not keep its group. Run \
         pycache stub as root"
    )]
    GroupNotKept { path: PathBuf, group: String },
    #[error(
        "`{path}` has {links} hard links: replacing it would leave the other names with the old script. Stub it \
         once the other links are gone"
    )]
    HardLinks { path: PathBuf, links: u64 },
    #[error("another `pycache stub` is working on `{0}`")]
    Busy(PathBuf),
    #[error("`{0}` changed while it was being stubbed; it was left as it is: run pycache stub again")]
    Changed(PathBuf),
    #[error("cannot give `{path}` the script's extended attribute `{name}`: {source}; the script was left as it is")]
    Attribute { path: PathBuf, name: String, source: std::io::Error },
}

/// What `stub` will do.
#[derive(Debug, Clone, Serialize)]
pub struct StubPlan {
    #[serde(serialize_with = "pycache_json::path")]
    pub script: PathBuf,
    #[serde(serialize_with = "pycache_json::path")]
    pub body: PathBuf,
    /// Size of the moved body.
    pub body_bytes: u64,
    /// The new content of the script.
    pub stub: String,
    /// What an interrupted earlier run left, which this one finishes.
    pub resume: Resume,
}

fn body_name_ok(name: &str) -> bool {
    name.ends_with(".py")
        && name.len() > 3
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// `app.wsgi` → `app.wsgi-body.py`, `manage.py` → `manage-body.py`.
pub fn default_body_name(script: &Path) -> String {
    let name = script.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".py").unwrap_or(&name);
    let clean: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    let clean = clean.trim_start_matches('.');
    format!("{}-body.py", if clean.is_empty() { "script" } else { clean })
}

/// The stub's text: the script's `#!` line, then code that loads and runs
/// the body. Pure ASCII, so it needs no encoding line, on 2.x either.
pub fn stub_text(shebang: Option<&str>, body_name: &str) -> String {
    let mut out = String::new();
    if let Some(line) = shebang {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&format!(
        r#"{STUB_MARKER} the body of this script is in {body_name} beside it, so that
# it is compiled once and cached instead of at every load. It runs here, in
# this script's own namespace: __name__, __file__, sys.argv and the globals
# are the script's. To undo, move {body_name} back over this file.
def _pycache_stub_code(name):
    import os
    import sys
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    del globals()['_pycache_stub_code']
    if sys.version_info[0] >= 3:
        from importlib.machinery import SourceFileLoader
        return SourceFileLoader(name, path).get_code(name)
    import imp
    import marshal
    import py_compile
    import struct
    cache = path + ('c' if __debug__ else 'o')

    def cached():
        try:
            with open(cache, 'rb') as f:
                data = f.read()
            mtime = int(os.stat(path).st_mtime) & 0xFFFFFFFF
            if data[:4] == imp.get_magic() and struct.unpack('<I', data[4:8])[0] == mtime:
                return marshal.loads(data[8:])
        except (IOError, OSError, EOFError, ValueError, TypeError, struct.error):
            pass
        return None

    code = cached()
    if code is None and not sys.dont_write_bytecode:
        try:
            py_compile.compile(path, cache, doraise=True)
        except Exception:
            pass
        code = cached()
    if code is None:
        with open(path, 'rU') as f:
            code = compile(f.read(), path, 'exec', 0, True)
    return code


exec(_pycache_stub_code('{body_name}'))
"#
    ));
    out
}

/// What the interrupted steps of an earlier run left, which this run
/// finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resume {
    /// Nothing: a fresh start.
    Fresh,
    /// The body is in place (a copy of the script with the body's
    /// metadata); only the stub is left to write.
    BodyInPlace,
}

/// The steps of [`apply`], in order. After each, the files on disk are a
/// state that a new run finishes: a temporary file is removed and written
/// again, a body in place is recognised and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// The body's temporary file is written, with all its metadata.
    BodyWritten,
    /// The body is renamed into place.
    BodyInPlace,
    /// The stub's temporary file is written, with all its metadata.
    StubWritten,
    /// The stub replaced the script: done.
    Done,
}

/// The script's ownership and mode, and which of them the body gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Owner {
    uid: u32,
    gid: u32,
    /// The script's mode, special bits included.
    mode: u32,
}

impl Owner {
    /// The body is read, never run: no execute bits, no set-id or sticky
    /// bits (a set-group-id bit without group execute asks for mandatory
    /// locking).
    fn body_mode(self) -> u32 {
        self.mode & 0o666
    }
}

/// Who may stub `script`: root, or its owner when it can keep the group.
fn check_owner(script: &Path, meta: &std::fs::Metadata) -> Result<(), StubError> {
    let euid = rustix::process::geteuid().as_raw();
    if euid == 0 {
        return Ok(());
    }
    if meta.uid() != euid {
        return Err(StubError::NotOwner {
            path: script.to_owned(),
            owner: crate::doctor::user_name(meta.uid()),
            user: crate::doctor::user_name(euid),
        });
    }
    let in_group = rustix::process::getegid().as_raw() == meta.gid()
        || nix::unistd::getgroups().is_ok_and(|groups| groups.iter().any(|g| g.as_raw() == meta.gid()));
    if !in_group {
        let group = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(meta.gid()))
            .ok()
            .flatten()
            .map_or_else(|| meta.gid().to_string(), |g| g.name);
        return Err(StubError::GroupNotKept { path: script.to_owned(), group });
    }
    Ok(())
}

/// The temporary file a step writes before renaming it over `name`.
fn temp_name(name: &OsStr) -> OsString {
    let mut temp = OsString::from(".");
    temp.push(name);
    temp.push(".pycache-stub");
    temp
}

/// Whether `body` is what an interrupted run put in place for `bytes`: a
/// regular file holding the script's bytes, with the body's owner and mode.
fn body_in_place(body: &Path, bytes: &[u8], owner: Owner) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(body) else { return false };
    meta.is_file()
        && (meta.uid(), meta.gid(), meta.mode() & 0o7777) == (owner.uid, owner.gid, owner.body_mode())
        && meta.len() == bytes.len() as u64
        && std::fs::read(body).is_ok_and(|b| b == bytes)
}

/// Plans the stub of `script`; `body` overrides the body's file name.
pub fn plan(script: &Path, body: Option<&str>) -> Result<StubPlan, StubError> {
    let meta =
        std::fs::symlink_metadata(script).map_err(|source| StubError::Read { path: script.to_owned(), source })?;
    if meta.file_type().is_symlink() {
        return Err(StubError::Link(script.to_owned()));
    }
    if !meta.is_file() {
        return Err(StubError::NotAFile(script.to_owned()));
    }
    if meta.nlink() > 1 {
        return Err(StubError::HardLinks { path: script.to_owned(), links: meta.nlink() });
    }
    check_owner(script, &meta)?;
    let bytes = std::fs::read(script).map_err(|source| StubError::Read { path: script.to_owned(), source })?;
    if bytes.windows(STUB_MARKER.len()).any(|w| w == STUB_MARKER.as_bytes()) {
        return Err(StubError::AlreadyStub(script.to_owned()));
    }
    let name = body.map(str::to_owned).unwrap_or_else(|| default_body_name(script));
    if !body_name_ok(&name) {
        return Err(StubError::BadBodyName(name));
    }
    let body_path = script.parent().unwrap_or(Path::new(".")).join(&name);
    if body_path == script {
        return Err(StubError::BodyExists(body_path));
    }
    let owner = Owner { uid: meta.uid(), gid: meta.gid(), mode: meta.mode() & 0o7777 };
    let resume = if body_path.symlink_metadata().is_err() {
        Resume::Fresh
    } else if body_in_place(&body_path, &bytes, owner) {
        Resume::BodyInPlace
    } else {
        return Err(StubError::BodyExists(body_path));
    };
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let shebang = first.starts_with(b"#!").then(|| String::from_utf8_lossy(first).trim_end_matches('\r').to_owned());
    Ok(StubPlan {
        script: script.to_owned(),
        body: body_path,
        body_bytes: meta.len(),
        stub: stub_text(shebang.as_deref(), &name),
        resume,
    })
}

/// The extended attributes of `fd` (ACLs and the SELinux label are ones),
/// by name.
fn xattrs(fd: BorrowedFd, path: &Path) -> Result<Vec<(CString, Vec<u8>)>, StubError> {
    let read = |source: rustix::io::Errno| StubError::Read { path: path.to_owned(), source: source.into() };
    let mut names = vec![0u8; 1024];
    let listed = loop {
        match rustix::fs::flistxattr(fd, &mut names[..]) {
            Ok(n) => break n,
            Err(rustix::io::Errno::RANGE) => names.resize(rustix::fs::flistxattr_query(fd).map_err(read)? + 1024, 0),
            Err(rustix::io::Errno::NOTSUP) => return Ok(Vec::new()),
            Err(err) => return Err(read(err)),
        }
    };
    let mut out = Vec::new();
    for name in names[..listed].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = CString::new(name).expect("no NUL inside a listed name");
        let mut value = vec![0u8; 256];
        let got = loop {
            match rustix::fs::fgetxattr(fd, name.as_c_str(), &mut value[..]) {
                Ok(n) => break Some(n),
                Err(rustix::io::Errno::RANGE) => {
                    value.resize(rustix::fs::fgetxattr_query(fd, name.as_c_str()).map_err(read)? + 256, 0)
                }
                // Removed since it was listed.
                Err(rustix::io::Errno::NODATA) => break None,
                Err(err) => return Err(read(err)),
            }
        };
        if let Some(n) = got {
            value.truncate(n);
            out.push((name, value));
        }
    }
    Ok(out)
}

const ACL_ACCESS: &CStr = c"system.posix_acl_access";

/// An access ACL without execute permission in any entry (the mask
/// included), for the body.
fn acl_without_execute(value: &[u8]) -> Vec<u8> {
    let mut out = value.to_vec();
    for entry in out.get_mut(4..).unwrap_or_default().chunks_exact_mut(8) {
        entry[2] &= !1;
    }
    out
}

/// Gives the new file `fd` the script's owner, mode and extended
/// attributes (`attrs`), removing any it inherited that the script lacks.
/// For the body, execute permissions and file capabilities are left out.
fn copy_metadata(
    fd: BorrowedFd,
    path: &Path,
    owner: Owner,
    attrs: &[(CString, Vec<u8>)],
    body: bool,
) -> Result<(), StubError> {
    let write = |source: rustix::io::Errno| StubError::Write { path: path.to_owned(), source: source.into() };
    rustix::fs::fchown(fd, Some(rustix::fs::Uid::from_raw(owner.uid)), Some(rustix::fs::Gid::from_raw(owner.gid)))
        .map_err(write)?;
    let wanted: Vec<(&CStr, Vec<u8>)> = attrs
        .iter()
        .filter(|(name, _)| !(body && name.as_c_str() == c"security.capability"))
        .map(|(name, value)| {
            let value = if body && name.as_c_str() == ACL_ACCESS { acl_without_execute(value) } else { value.clone() };
            (name.as_c_str(), value)
        })
        .collect();
    for (name, value) in &wanted {
        let mut current = vec![0u8; value.len() + 1];
        let same = rustix::fs::fgetxattr(fd, *name, &mut current[..]).is_ok_and(|n| current[..n] == value[..]);
        if same {
            continue;
        }
        rustix::fs::fsetxattr(fd, *name, value, rustix::fs::XattrFlags::empty()).map_err(|source| {
            StubError::Attribute {
                path: path.to_owned(),
                name: name.to_string_lossy().into_owned(),
                source: source.into(),
            }
        })?;
    }
    // What the new file got from its directory (a default ACL) and the
    // script does not have. The SELinux label is the system's to give.
    for (name, _) in xattrs(fd, path)? {
        let keep = wanted.iter().any(|(w, _)| *w == name.as_c_str()) || name.as_bytes().starts_with(b"security.");
        if !keep {
            rustix::fs::fremovexattr(fd, name.as_c_str()).map_err(|source| StubError::Attribute {
                path: path.to_owned(),
                name: name.to_string_lossy().into_owned(),
                source: source.into(),
            })?;
        }
    }
    // Last, since changing the owner or the ACL can clear set-id bits.
    let mode = if body { owner.body_mode() } else { owner.mode };
    rustix::fs::fchmod(fd, rustix::fs::Mode::from_raw_mode(mode)).map_err(write)?;
    Ok(())
}

/// Writes `bytes` to a new temporary file `temp` in `dir`, with the
/// metadata, and syncs it.
fn write_temp(
    dir: BorrowedFd,
    temp: &OsStr,
    shown: &Path,
    bytes: &[u8],
    owner: Owner,
    attrs: &[(CString, Vec<u8>)],
    body: bool,
) -> Result<(), StubError> {
    use rustix::fs::{Mode, OFlags};
    let write = |source: std::io::Error| StubError::Write { path: shown.to_owned(), source };
    let fd = rustix::fs::openat(
        dir,
        temp,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .map_err(|e| write(e.into()))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes).map_err(write)?;
    copy_metadata(file.as_fd(), shown, owner, attrs, body)?;
    file.sync_all().map_err(write)?;
    Ok(())
}

/// Writes the body beside the script (the script's owner, group, ACLs,
/// extended attributes and SELinux label; its mode without execute and
/// special bits), then replaces the script by the stub with everything the
/// script had, set-id bits included. Each file is written under a
/// temporary name with all its metadata, synced, and renamed into place,
/// so that a kill at any point leaves a state a new run finishes
/// ([`Resume`]). Refuses (with nothing changed) when the metadata cannot
/// be kept.
pub fn apply(plan: &StubPlan) -> Result<(), StubError> {
    apply_until(plan, Step::Done)
}

/// [`apply`], stopped after `last` as a kill would stop it: for tests of
/// what a new run makes of each state.
#[doc(hidden)]
pub fn apply_until(plan: &StubPlan, last: Step) -> Result<(), StubError> {
    use rustix::fs::{AtFlags, FlockOperation, Mode, OFlags, RenameFlags};
    let script = &plan.script;
    let read = |source: std::io::Error| StubError::Read { path: script.clone(), source };
    let dir_path = script.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let script_name = script.file_name().ok_or_else(|| StubError::NotAFile(script.clone()))?;
    let body_name = plan.body.file_name().ok_or_else(|| StubError::BadBodyName(plan.body.display().to_string()))?;
    let dir = rustix::fs::open(dir_path, OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| read(e.into()))?;
    let file =
        rustix::fs::openat(&dir, script_name, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| read(e.into()))?;
    // One run at a time on a script; the lock goes with this process.
    match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(rustix::io::Errno::WOULDBLOCK) => return Err(StubError::Busy(script.clone())),
        Err(err) => return Err(read(err.into())),
    }
    let stat = rustix::fs::fstat(&file).map_err(|e| read(e.into()))?;
    let meta = std::fs::symlink_metadata(script).map_err(read)?;
    if (meta.dev(), meta.ino()) != (stat.st_dev as u64, stat.st_ino as u64) || !meta.is_file() {
        return Err(StubError::Changed(script.clone()));
    }
    if meta.nlink() > 1 {
        return Err(StubError::HardLinks { path: script.clone(), links: meta.nlink() });
    }
    check_owner(script, &meta)?;
    let mut bytes = Vec::new();
    std::fs::File::from(file.try_clone().map_err(read)?).read_to_end(&mut bytes).map_err(read)?;
    if bytes.windows(STUB_MARKER.len()).any(|w| w == STUB_MARKER.as_bytes()) {
        return Err(StubError::AlreadyStub(script.clone()));
    }
    let owner = Owner { uid: meta.uid(), gid: meta.gid(), mode: meta.mode() & 0o7777 };
    let attrs = xattrs(file.as_fd(), script)?;

    // Temporary files of an interrupted run: under the lock, nobody else's.
    let body_temp = temp_name(body_name);
    let stub_temp = temp_name(script_name);
    for temp in [&body_temp, &stub_temp] {
        match rustix::fs::unlinkat(&dir, temp.as_os_str(), AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => {}
            Err(err) => return Err(StubError::Write { path: dir_path.join(temp), source: err.into() }),
        }
    }
    let undo = |temp: &OsStr| {
        let _ = rustix::fs::unlinkat(&dir, temp, AtFlags::empty());
    };

    let body_ready = match std::fs::symlink_metadata(&plan.body) {
        Err(_) => false,
        Ok(_) if body_in_place(&plan.body, &bytes, owner) => true,
        Ok(_) => return Err(StubError::BodyExists(plan.body.clone())),
    };
    if !body_ready {
        if let Err(err) = write_temp(dir.as_fd(), &body_temp, &plan.body, &bytes, owner, &attrs, true) {
            undo(&body_temp);
            return Err(err);
        }
        if last == Step::BodyWritten {
            return Ok(());
        }
        // Never over a file that appeared meanwhile.
        if let Err(err) = rustix::fs::renameat_with(&dir, &body_temp, &dir, body_name, RenameFlags::NOREPLACE) {
            undo(&body_temp);
            return Err(match err {
                rustix::io::Errno::EXIST => StubError::BodyExists(plan.body.clone()),
                err => StubError::Write { path: plan.body.clone(), source: err.into() },
            });
        }
        rustix::fs::fsync(&dir).map_err(|e| StubError::Write { path: dir_path.to_owned(), source: e.into() })?;
    }
    if last == Step::BodyInPlace {
        return Ok(());
    }
    if let Err(err) = write_temp(dir.as_fd(), &stub_temp, script, plan.stub.as_bytes(), owner, &attrs, false) {
        undo(&stub_temp);
        return Err(err);
    }
    if last == Step::StubWritten {
        return Ok(());
    }
    // The script must still be the file read and locked above.
    let now = rustix::fs::statat(&dir, script_name, AtFlags::SYMLINK_NOFOLLOW).map_err(|e| read(e.into()))?;
    if (now.st_dev, now.st_ino) != (stat.st_dev, stat.st_ino) {
        undo(&stub_temp);
        return Err(StubError::Changed(script.clone()));
    }
    if let Err(err) = rustix::fs::renameat(&dir, &stub_temp, &dir, script_name) {
        undo(&stub_temp);
        return Err(StubError::Write { path: script.clone(), source: err.into() });
    }
    rustix::fs::fsync(&dir).map_err(|e| StubError::Write { path: dir_path.to_owned(), source: e.into() })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_names() {
        assert_eq!(default_body_name(Path::new("/srv/app.wsgi")), "app.wsgi-body.py");
        assert_eq!(default_body_name(Path::new("manage.py")), "manage-body.py");
        assert_eq!(default_body_name(Path::new("index cgi")), "index_cgi-body.py");
        assert!(body_name_ok("x-body.py"));
        assert!(!body_name_ok("../x.py"));
        assert!(!body_name_ok("x.txt"));
    }

    #[test]
    fn the_stub_keeps_the_shebang_and_is_ascii() {
        let text = stub_text(Some("#!/usr/bin/env python3"), "tool-body.py");
        assert!(text.starts_with("#!/usr/bin/env python3\n# pycache stub:"));
        assert!(text.is_ascii());
        assert!(text.ends_with("exec(_pycache_stub_code('tool-body.py'))\n"));
    }

    #[test]
    fn planning_refuses_stubs_and_existing_bodies() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("app.wsgi");
        std::fs::write(&script, "application = None\n").unwrap();
        let plan = plan(&script, None).unwrap();
        assert_eq!(plan.body, dir.path().join("app.wsgi-body.py"));
        apply(&plan).unwrap();
        assert_eq!(std::fs::read_to_string(&plan.body).unwrap(), "application = None\n");
        assert!(matches!(super::plan(&script, None), Err(StubError::AlreadyStub(_))));
        let other = dir.path().join("other.py");
        std::fs::write(&other, "x = 1\n").unwrap();
        std::fs::write(dir.path().join("other-body.py"), "").unwrap();
        assert!(matches!(super::plan(&other, None), Err(StubError::BodyExists(_))));
    }
}
