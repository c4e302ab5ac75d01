//! Can the service user read or write a path?
//!
//! The kernel knows best: when pycache runs as the service user, or as root
//! (which can become it), the answer comes from `access(2)` made with the
//! service user's uid and groups, so permission bits, ownership, ACLs and
//! read-only mounts all count. Otherwise the permission bits and the mount
//! flags are evaluated here, which misses ACLs; the report says so.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::errno::Errno;
use nix::libc;

use crate::identity::ServiceUser;

/// What the user wants to do with a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Want {
    Read,
    Write,
    /// Enter a directory.
    Search,
    /// Create, replace or remove entries in a directory.
    Modify,
}

impl Want {
    fn mode(self) -> libc::c_int {
        match self {
            Self::Read => libc::R_OK,
            Self::Write => libc::W_OK,
            Self::Search => libc::X_OK,
            Self::Modify => libc::W_OK | libc::X_OK,
        }
    }

    fn bits(self) -> u32 {
        match self {
            Self::Read => 4,
            Self::Write => 2,
            Self::Search => 1,
            Self::Modify => 3,
        }
    }
}

/// The kernel's answer: 0 when allowed, else the errno (`EACCES`, `EROFS`,
/// `ENOENT`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer(pub i32);

impl Answer {
    pub const ALLOWED: Self = Self(0);

    pub fn allowed(self) -> bool {
        self.0 == 0
    }

    pub fn read_only_fs(self) -> bool {
        self.0 == Errno::EROFS as i32
    }

    pub fn describe(self) -> String {
        if self.0 == 0 { "allowed".into() } else { Errno::from_raw(self.0).desc().to_owned() }
    }
}

/// Answers access questions for one user.
pub trait Oracle: Sync {
    fn ask(&self, queries: &[(PathBuf, Want)]) -> Vec<Answer>;
    /// Whether the answers come from the kernel (else from permission bits).
    fn exact(&self) -> bool;
}

fn kernel_access(path: &Path, want: Want) -> Answer {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else { return Answer(Errno::EINVAL as i32) };
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    if unsafe { libc::access(c.as_ptr(), want.mode()) } == 0 { Answer::ALLOWED } else { Answer(Errno::last_raw()) }
}

/// pycache runs as the service user: ask the kernel directly.
pub struct Direct;

impl Oracle for Direct {
    fn ask(&self, queries: &[(PathBuf, Want)]) -> Vec<Answer> {
        queries.iter().map(|(path, want)| kernel_access(path, *want)).collect()
    }

    fn exact(&self) -> bool {
        true
    }
}

/// pycache runs as root: a forked child takes on the service user's
/// identity and asks the kernel, so no helper program is needed.
pub struct AsUser {
    pub user: ServiceUser,
    /// Set when the child could not be used and the bits were read instead.
    fell_back: std::sync::atomic::AtomicBool,
}

impl AsUser {
    pub fn new(user: ServiceUser) -> Self {
        Self { user, fell_back: std::sync::atomic::AtomicBool::new(false) }
    }

    fn try_ask(&self, queries: &[(PathBuf, Want)]) -> std::io::Result<Vec<Answer>> {
        // Everything the child touches is prepared here: after fork() in a
        // threaded process the child may only make async-signal-safe calls,
        // so it must not allocate.
        let paths: Vec<CString> = queries
            .iter()
            .map(|(p, _)| CString::new(p.as_os_str().as_bytes()).unwrap_or_else(|_| c"/\x01invalid".to_owned()))
            .collect();
        let modes: Vec<libc::c_int> = queries.iter().map(|(_, w)| w.mode()).collect();
        let groups: Vec<libc::gid_t> = self.user.groups.clone();
        let (uid, gid) = (self.user.uid, self.user.gid);
        let mut results: Vec<i32> = vec![0; queries.len()];
        let (reader, writer) = nix::unistd::pipe()?;
        // SAFETY: the child branch below only calls setgroups, setres[ug]id,
        // access, write and _exit, and writes into memory allocated before
        // the fork.
        match unsafe { nix::unistd::fork() }? {
            nix::unistd::ForkResult::Child => unsafe {
                let fd = writer.as_raw_fd();
                if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                    || libc::setresgid(gid, gid, gid) != 0
                    || libc::setresuid(uid, uid, uid) != 0
                {
                    libc::_exit(3);
                }
                for i in 0..paths.len() {
                    results[i] =
                        if libc::access(paths[i].as_ptr(), modes[i]) == 0 { 0 } else { *libc::__errno_location() };
                }
                let bytes = results.as_ptr().cast::<u8>();
                let total = results.len() * 4;
                let mut done = 0;
                while done < total {
                    let n = libc::write(fd, bytes.add(done).cast(), total - done);
                    if n <= 0 {
                        libc::_exit(4);
                    }
                    done += n as usize;
                }
                libc::_exit(0);
            },
            nix::unistd::ForkResult::Parent { child } => {
                drop(writer);
                let mut bytes = Vec::with_capacity(results.len() * 4);
                let read = std::io::Read::read_to_end(&mut std::fs::File::from(reader), &mut bytes);
                let status = nix::sys::wait::waitpid(child, None)?;
                read?;
                if status != nix::sys::wait::WaitStatus::Exited(child, 0) || bytes.len() != results.len() * 4 {
                    return Err(std::io::Error::other(format!("the access child ended with {status:?}")));
                }
                Ok(bytes
                    .chunks_exact(4)
                    .map(|c| Answer(i32::from_ne_bytes(c.try_into().expect("four bytes"))))
                    .collect())
            }
        }
    }
}

impl Oracle for AsUser {
    fn ask(&self, queries: &[(PathBuf, Want)]) -> Vec<Answer> {
        match self.try_ask(queries) {
            Ok(answers) => answers,
            Err(err) => {
                tracing::warn!("cannot ask the kernel as `{}` ({err}); judging from permission bits", self.user.name);
                self.fell_back.store(true, std::sync::atomic::Ordering::Relaxed);
                Emulated { user: self.user.clone() }.ask(queries)
            }
        }
    }

    fn exact(&self) -> bool {
        !self.fell_back.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl AsUser {
    /// One question, for callers outside a diagnosis.
    pub fn ask_one(&self, path: &Path, want: Want) -> Answer {
        self.ask(&[(path.to_owned(), want)]).pop().unwrap_or(Answer(Errno::EIO as i32))
    }
}

/// Makes the child take on `user`'s identity before `exec`.
pub fn become_user(command: &mut Command, user: &ServiceUser) {
    let groups: Vec<libc::gid_t> = user.groups.clone();
    let (uid, gid) = (user.uid, user.gid);
    // SAFETY: the closure only makes set*id system calls, which are
    // async-signal-safe, on memory captured before the fork.
    unsafe {
        command.pre_exec(move || {
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                || libc::setresgid(gid, gid, gid) != 0
                || libc::setresuid(uid, uid, uid) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Neither the service user nor root: evaluate owner, group and other bits
/// along the path, and the mount's read-only flag. ACLs are not seen.
pub struct Emulated {
    pub user: ServiceUser,
}

impl Emulated {
    fn bits(&self, meta: &std::fs::Metadata) -> u32 {
        let mode = meta.mode();
        if self.user.uid == meta.uid() {
            (mode >> 6) & 7
        } else if self.user.groups.contains(&meta.gid()) {
            (mode >> 3) & 7
        } else {
            mode & 7
        }
    }

    pub fn check(&self, path: &Path, want: Want) -> Answer {
        let root = self.user.uid == 0;
        // Every ancestor must be searchable.
        for dir in path.ancestors().skip(1).filter(|p| !p.as_os_str().is_empty()) {
            match std::fs::metadata(dir) {
                Ok(meta) if !root && self.bits(&meta) & 1 == 0 => return Answer(Errno::EACCES as i32),
                Ok(_) => {}
                Err(_) => return Answer(Errno::ENOENT as i32),
            }
        }
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(_) => return Answer(Errno::ENOENT as i32),
        };
        if matches!(want, Want::Write | Want::Modify) {
            let read_only = nix::sys::statvfs::statvfs(path)
                .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY));
            if read_only {
                return Answer(Errno::EROFS as i32);
            }
        }
        if root {
            return Answer::ALLOWED;
        }
        let need = want.bits();
        if self.bits(&meta) & need == need { Answer::ALLOWED } else { Answer(Errno::EACCES as i32) }
    }
}

impl Oracle for Emulated {
    fn ask(&self, queries: &[(PathBuf, Want)]) -> Vec<Answer> {
        queries.iter().map(|(path, want)| self.check(path, *want)).collect()
    }

    fn exact(&self) -> bool {
        false
    }
}

/// The best oracle available for `user`.
pub fn oracle_for(user: &ServiceUser) -> Box<dyn Oracle> {
    if user.is_current() {
        Box::new(Direct)
    } else if nix::unistd::geteuid().is_root() {
        Box::new(AsUser::new(user.clone()))
    } else {
        Box::new(Emulated { user: user.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn perms(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn emulation_follows_owner_group_and_other_bits() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        perms(&file, 0o640);
        perms(dir.path(), 0o755);
        let meta = std::fs::metadata(&file).unwrap();
        let stranger = ServiceUser { name: "s".into(), uid: 54321, gid: 54321, groups: vec![54321] };
        let member = ServiceUser { name: "m".into(), uid: 54322, gid: meta.gid(), groups: vec![meta.gid()] };
        let owner = ServiceUser { name: "o".into(), uid: meta.uid(), gid: 1, groups: vec![1] };
        let ask = |user: &ServiceUser, want| Emulated { user: user.clone() }.check(&file, want).allowed();
        assert!(!ask(&stranger, Want::Read));
        assert!(ask(&member, Want::Read));
        assert!(!ask(&member, Want::Write));
        assert!(ask(&owner, Want::Write));
        // A closed directory hides its contents.
        perms(dir.path(), 0o700);
        if meta.uid() != member.uid {
            assert!(!ask(&member, Want::Read));
        }
        assert_eq!(
            Emulated { user: owner }.check(&dir.path().join("missing"), Want::Read),
            Answer(Errno::ENOENT as i32)
        );
    }

    #[test]
    fn the_forked_child_asks_as_the_user() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIP the_forked_child_asks_as_the_user: needs root to change identity");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        perms(dir.path(), 0o755);
        let open = dir.path().join("open");
        let closed = dir.path().join("closed");
        std::fs::write(&open, b"x").unwrap();
        std::fs::write(&closed, b"x").unwrap();
        perms(&open, 0o644);
        perms(&closed, 0o600);
        let nobody = ServiceUser { name: "ghost".into(), uid: 54329, gid: 54329, groups: vec![54329] };
        let queries = vec![
            (open.clone(), Want::Read),
            (open.clone(), Want::Write),
            (closed.clone(), Want::Read),
            (dir.path().to_owned(), Want::Modify),
            (dir.path().join("missing"), Want::Read),
        ];
        let answers = AsUser::new(nobody.clone()).ask(&queries);
        let eacces = Answer(Errno::EACCES as i32);
        assert_eq!(answers, [Answer::ALLOWED, eacces, eacces, eacces, Answer(Errno::ENOENT as i32)]);
        // The emulation agrees on plain permission bits.
        assert_eq!(Emulated { user: nobody }.ask(&queries), answers);
        // Root itself may write.
        assert!(Direct.ask(&[(closed, Want::Write)])[0].allowed());
    }
}
