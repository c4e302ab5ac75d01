//! Helpers for scenario tests: service users made with `useradd`, trees on
//! disk, interpreters the service user can run, and doctor runs.
#![allow(dead_code)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use pycache_doctor::probe::{ProbeOptions, ProbeReport};
use pycache_doctor::{Deployment, Diagnosis, Finding, Settings, access, diagnose};
use pycache_progress::NoProgress;
use pycache_python::{Interpreter, ProbeCache};

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The interpreters the probe tests run: 2.7, one of 3.6-3.10, 3.12, 3.13
/// (each prints a SKIP line when missing).
pub fn interpreters(test: &str) -> Vec<Interpreter> {
    [(2, 7), (3, 6), (3, 9), (3, 12), (3, 13)]
        .iter()
        .filter_map(|&(a, b)| pycache_python::testing::reference(a, b, test))
        .collect()
}

/// A system user (and its group) that exists for the life of the value.
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

static ACCOUNTS: AtomicUsize = AtomicUsize::new(0);

/// Runs a user-database tool, retrying while another test holds the lock.
fn userdb(program: &str, args: &[&str]) -> bool {
    for attempt in 0..50 {
        let status = Command::new(program).args(args).status().expect("run the user tool");
        if status.success() {
            return true;
        }
        // 1: cannot update the password file, 10: cannot lock: another
        // test is changing it right now.
        if !matches!(status.code(), Some(1 | 10)) {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50 + 20 * attempt));
    }
    false
}

impl Account {
    /// A new service user with a unique name, or `None` (after a SKIP
    /// line) when the tests do not run as root.
    pub fn create(test: &str) -> Option<Self> {
        if !is_root() {
            eprintln!("SKIP {test}: not running as root, so no service user can be created");
            return None;
        }
        let n = ACCOUNTS.fetch_add(1, Ordering::Relaxed);
        let name = format!("pcd{}x{n}", std::process::id());
        let args = ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", name.as_str()];
        assert!(userdb("useradd", &args), "useradd {name} failed");
        let user = nix::unistd::User::from_name(&name).unwrap().expect("the new user exists");
        Some(Self { name, uid: user.uid.as_raw(), gid: user.gid.as_raw() })
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        userdb("userdel", &[self.name.as_str()]);
    }
}

/// The reference interpreters live under pyenv's root, often inside
/// root's private home, which a service user cannot enter. This makes them
/// reachable for processes started from the calling thread only: that
/// thread gets its own mount namespace, where an open tmpfs covers the
/// closed directory and the interpreters are bound back into it. Nothing
/// changes for the rest of the machine. Returns false (after a SKIP line)
/// when the kernel refuses.
pub fn expose_interpreters(test: &str) -> bool {
    use nix::mount::{MsFlags, mount};
    let Some(pyenv) = pycache_python::testing::pyenv_root() else { return true };
    let pyenv = std::fs::canonicalize(&pyenv).unwrap_or(pyenv);
    let mut ancestors: Vec<&Path> = pyenv.ancestors().collect();
    ancestors.reverse();
    let closed = ancestors
        .iter()
        .find(|dir| std::fs::metadata(dir).is_ok_and(|m| m.mode() & 0o001 == 0))
        .map(|dir| dir.to_path_buf());
    let Some(closed) = closed else { return true };
    let child = pyenv.strip_prefix(&closed).unwrap().components().next().unwrap().as_os_str().to_owned();
    let attempt = || -> nix::Result<()> {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
        mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)?;
        let stash =
            std::env::temp_dir().join(format!("pcd-stash-{}-{:?}", std::process::id(), std::thread::current().id()));
        let _ = std::fs::create_dir(&stash);
        mount(Some(&closed.join(&child)), &stash, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)?;
        mount(Some("tmpfs"), &closed, Some("tmpfs"), MsFlags::empty(), Some("mode=0711"))?;
        std::fs::create_dir(closed.join(&child)).map_err(|_| nix::Error::EIO)?;
        mount(Some(&stash), &closed.join(&child), None::<&str>, MsFlags::MS_MOVE, None::<&str>)?;
        let _ = std::fs::remove_dir(&stash);
        Ok(())
    };
    match attempt() {
        Ok(()) => true,
        Err(err) => {
            eprintln!("SKIP {test}: cannot make the interpreters reachable for a service user ({err})");
            false
        }
    }
}

/// Runs `body` on a thread of its own whose mount namespace makes the
/// interpreters reachable (see [`expose_interpreters`]); `body` learns
/// whether that worked. The calling thread's mounts are untouched, so mounts
/// it makes or removes are the machine's.
pub fn exposed<R: Send>(test: &str, body: impl FnOnce(bool) -> R + Send) -> R {
    std::thread::scope(|scope| {
        scope.spawn(|| body(expose_interpreters(test))).join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// A tree under a fresh temporary directory that anyone may enter.
pub struct Tree {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl Tree {
    pub fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let root = dir.path().join("app");
        std::fs::create_dir(&root).unwrap();
        let tree = Self { _dir: dir, root };
        for (path, text) in files {
            tree.write(path, text);
        }
        tree.chmod_r(0o755, 0o644);
        tree
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Every directory to `dirs`, every file to `files`.
    pub fn chmod_r(&self, dirs: u32, files: u32) {
        for entry in walkdir::WalkDir::new(&self.root) {
            let entry = entry.unwrap();
            let mode = if entry.file_type().is_dir() { dirs } else { files };
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }

    pub fn chown_r(&self, rel: &str, uid: u32, gid: u32) {
        for entry in walkdir::WalkDir::new(self.path(rel)) {
            std::os::unix::fs::chown(entry.unwrap().path(), Some(uid), Some(gid)).unwrap();
        }
    }

    /// Compiles the tree with the interpreter's own compileall, as root,
    /// at `level`.
    pub fn compileall(&self, python: &Interpreter, level: u8, extra: &[&str]) {
        let mut command = Command::new(&python.path);
        match level {
            0 => {}
            1 => {
                command.arg("-O");
            }
            _ => {
                command.arg("-OO");
            }
        }
        let out = command
            .args(["-m", "compileall", "-q"])
            .args(extra)
            .arg(&self.root)
            .env_remove("PYTHONDONTWRITEBYTECODE")
            .env_remove("SOURCE_DATE_EPOCH")
            .output()
            .unwrap();
        assert!(out.status.success(), "compileall: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// `path` relative to the tree, for assertions.
    pub fn rel(&self, path: &Path) -> String {
        match path.strip_prefix(&self.root) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
            Ok(rel) => rel.display().to_string(),
            Err(_) => path.display().to_string(),
        }
    }
}

pub fn probes() -> ProbeCache {
    ProbeCache::open(Some(std::env::temp_dir().join("pycache-test-interpreters.json")))
}

pub fn settings(tree: &Tree, python: &Interpreter, user: Option<&str>) -> Settings {
    Settings {
        paths: vec![tree.root.clone()],
        python: vec![python.path.display().to_string()],
        user: user.map(str::to_owned),
        ..Settings::default()
    }
}

pub fn resolve(settings: &Settings) -> Deployment {
    Deployment::resolve(settings, &probes()).expect("the deployment resolves")
}

pub fn run(deployment: &Deployment) -> Diagnosis {
    let oracle = access::oracle_for(&deployment.user);
    diagnose(deployment, oracle.as_ref(), &NoProgress)
}

/// `severity code path` per finding, sorted, paths relative to the tree.
pub fn findings(tree: &Tree, diagnosis: &Diagnosis) -> Vec<String> {
    let mut out: Vec<String> = diagnosis.report.findings.iter().map(|f| line(tree, f)).collect();
    out.sort();
    out
}

pub fn line(tree: &Tree, finding: &Finding) -> String {
    format!("{} {} {}", finding.severity, finding.code, tree.rel(&finding.path))
}

/// Asserts the findings are exactly `expected` (in any order).
#[track_caller]
pub fn assert_findings(tree: &Tree, diagnosis: &Diagnosis, expected: &[&str], label: &str) {
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    let got = findings(tree, diagnosis);
    assert_eq!(got, expected, "{label}: findings\n{:#?}", diagnosis.report.findings);
}

/// Runs the probe and asserts that every module was seen and that each
/// observation is the prediction.
#[track_caller]
pub fn assert_probe_agrees(deployment: &Deployment, diagnosis: &Diagnosis, label: &str) -> ProbeReport {
    let report = pycache_doctor::probe::probe(deployment, diagnosis, ProbeOptions::default()).expect("the probe runs");
    let bad: Vec<_> = report.rows.iter().filter(|r| !r.agrees).collect();
    assert!(bad.is_empty(), "{label}: the probe disagrees with doctor: {bad:#?}\nnotes: {:?}", report.notes);
    assert_eq!(report.rows.len(), diagnosis.predictions.len(), "{label}: every prediction probed");
    report
}

/// The predictions, by source relative to the tree.
pub fn predictions(tree: &Tree, diagnosis: &Diagnosis) -> Vec<String> {
    let mut out: Vec<String> =
        diagnosis.predictions.iter().map(|p| format!("{} {}", tree.rel(&p.source), p.prediction)).collect();
    out.sort();
    out
}
