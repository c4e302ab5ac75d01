//! `clean` and doctor's scan stay on the file system of each root, as
//! `find -xdev` does, bind mounts of the same file system included, unless
//! `--cross-filesystems`.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use pycache_doctor::clean::{CleanOptions, clean};
use pycache_doctor::{Settings, WalkOptions, scan};

/// Runs `body` on a thread with a mount namespace of its own in which
/// `source` is bind-mounted on `target`; prints a SKIP line and returns
/// `None` when the kernel refuses. The machine's mounts are untouched.
fn with_bind_mount<R: Send>(test: &str, source: &Path, target: &Path, body: impl FnOnce() -> R + Send) -> Option<R> {
    use nix::mount::{MsFlags, mount};
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let attempt = || -> nix::Result<()> {
                    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
                    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)?;
                    mount(Some(source), target, None::<&str>, MsFlags::MS_BIND, None::<&str>)
                };
                match attempt() {
                    Ok(()) => Some(body()),
                    Err(err) => {
                        eprintln!("SKIP {test}: cannot bind-mount here ({err})");
                        None
                    }
                }
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// `app/` with a module and its cache, and `outside/` with the same,
/// which the test mounts on `app/mnt`.
fn scene(test: &str) -> Option<(Tree, PathBuf)> {
    if !is_root() {
        eprintln!("SKIP {test}: mounting needs root");
        return None;
    }
    let python = pycache_python::testing::reference(3, 12, test)?;
    let tree = Tree::new(&[("m.py", "M = 1\n"), ("mnt/.keep", "")]);
    let outside = tree.root.parent().unwrap().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("x.py"), "X = 1\n").unwrap();
    tree.compileall(&python, 0, &[]);
    let out = std::process::Command::new(&python.path)
        .args(["-m", "compileall", "-q"])
        .arg(&outside)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .output()
        .unwrap();
    assert!(out.status.success());
    Some((tree, outside))
}

#[test]
fn regression_clean_stays_on_the_file_system_of_its_root() {
    let test = "regression_clean_stays_on_the_file_system_of_its_root";
    let Some((tree, outside)) = scene(test) else { return };
    let mounted_cache = outside.join("__pycache__/x.cpython-312.pyc");
    let options = CleanOptions { paths: vec![tree.root.clone()], all: true, ..CleanOptions::default() };
    let ran = with_bind_mount(test, &outside, &tree.path("mnt"), || {
        let report = clean(&options).unwrap();
        let removed: Vec<String> = report.removed.iter().map(|r| tree.rel(&r.path)).collect();
        assert_eq!(removed, ["__pycache__/m.cpython-312.pyc"]);
        assert!(mounted_cache.is_file(), "the bind mount was not entered");
        let kept = report.kept.iter().find(|k| k.path == tree.path("mnt")).expect("the mount point is listed");
        assert!(kept.why.contains("--cross-filesystems"), "{}", kept.why);
        // Asked to, it crosses.
        let report = clean(&CleanOptions { cross_filesystems: true, ..options.clone() }).unwrap();
        let removed: Vec<String> = report.removed.iter().map(|r| tree.rel(&r.path)).collect();
        assert_eq!(removed, ["mnt/__pycache__/x.cpython-312.pyc"]);
    });
    if ran.is_some() {
        assert!(!mounted_cache.exists());
    }
}

#[test]
fn regression_doctor_stays_on_the_file_system_of_its_root() {
    let test = "regression_doctor_stays_on_the_file_system_of_its_root";
    let Some((tree, outside)) = scene(test) else { return };
    let Some(python) = pycache_python::testing::reference(3, 12, test) else { return };
    with_bind_mount(test, &outside, &tree.path("mnt"), || {
        let sources = |options| -> Vec<String> {
            scan(std::slice::from_ref(&tree.root), options).sources.iter().map(|s| tree.rel(&s.path)).collect()
        };
        assert_eq!(sources(WalkOptions::default()), ["m.py"]);
        assert_eq!(scan(std::slice::from_ref(&tree.root), WalkOptions::default()).mounts, [tree.path("mnt")]);
        assert_eq!(sources(WalkOptions { cross_filesystems: true }), ["m.py", "mnt/x.py"]);
        // The report says what was left out.
        let deployment = resolve(&Settings { ..settings(&tree, &python, None) });
        let diagnosis = run(&deployment);
        assert_eq!(predictions(&tree, &diagnosis), ["m.py hit"]);
        let note = format!("`{}` is another file system", tree.path("mnt").display());
        assert!(diagnosis.report.notes.iter().any(|n| n.starts_with(&note)), "{:?}", diagnosis.report.notes);
    });
}
