//! `clean` removes exactly the caches selected and nothing else: no source
//! (not even sources named like caches or kept in `__pycache__`), no
//! sourceless `.pyc`, no symbolic link, nothing outside the tree.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;
use pycache_doctor::clean::{CleanOptions, CleanReport, Reason, clean};
use pycache_python::Interpreter;

/// Every entry under `dir` (links not followed): its kind and content.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .map(|e| e.unwrap())
        .map(|e| {
            let kind = if e.file_type().is_symlink() {
                format!("link -> {}", std::fs::read_link(e.path()).unwrap().display())
            } else if e.file_type().is_dir() {
                "dir".to_owned()
            } else {
                format!("file {:?}", std::fs::read(e.path()).unwrap())
            };
            (e.path().to_owned(), kind)
        })
        .collect()
}

struct Scene {
    _dir: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
    py312: Interpreter,
    py36: Interpreter,
    py27: Interpreter,
}

/// A tree with every kind of file clean must tell apart, and a directory
/// outside it that links point into.
fn scene(test: &str) -> Option<Scene> {
    let py312 = pycache_python::testing::reference(3, 12, test)?;
    let py36 = pycache_python::testing::reference(3, 6, test)?;
    let py27 = pycache_python::testing::reference(2, 7, test)?;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("app");
    let outside = dir.path().join("outside");
    let write = |path: PathBuf, text: &str| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    for rel in [
        "pkg/__init__.py",
        "pkg/mod.py",
        "pkg/gone.py",
        // Sources whose names look like caches or temporary files.
        "pkg/mod.cpython-312.py",
        "pkg/x.pyc.py",
        "pkg/data.cpython-312.pyc.py",
        "only_legacy.py",
    ] {
        write(root.join(rel), &format!("NAME = {rel:?}\n"));
    }
    write(outside.join("real.py"), "REAL = 1\n");
    write(outside.join("o.py"), "O = 1\n");
    for python in [&py312, &py36, &py27] {
        for target in [&root, &outside] {
            let out = std::process::Command::new(&python.path)
                .args(["-m", "compileall", "-q"])
                .arg(target)
                .env_remove("PYTHONDONTWRITEBYTECODE")
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
    }
    // A source that lives in `__pycache__`, and a note beside the caches.
    write(root.join("pkg/__pycache__/helper.py"), "HELPER = 1\n");
    write(root.join("pkg/__pycache__/notes.txt"), "do not delete\n");
    // gone.py is deleted: orphans in __pycache__, and its 2.7 .pyc is now
    // the only copy of the module.
    std::fs::remove_file(root.join("pkg/gone.py")).unwrap();
    // A sourceless module shipped on purpose.
    std::fs::rename(root.join("only_legacy.pyc"), root.join("sourceless.pyc")).unwrap();
    std::fs::remove_file(root.join("only_legacy.py")).unwrap();
    for cache in std::fs::read_dir(root.join("__pycache__")).unwrap() {
        std::fs::remove_file(cache.unwrap().path()).unwrap();
    }
    std::fs::remove_dir(root.join("__pycache__")).unwrap();
    // Debris of an interrupted write.
    write(root.join("pkg/__pycache__/mod.cpython-312.pyc.4242"), "partial");
    // Links out of the tree: a cache-named file link, a directory link,
    // and a linked source.
    std::os::unix::fs::symlink(
        outside.join("__pycache__/o.cpython-312.pyc"),
        root.join("pkg/__pycache__/link.cpython-312.pyc"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, root.join("linked")).unwrap();
    std::os::unix::fs::symlink(outside.join("real.py"), root.join("pkg/alias.py")).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    Some(Scene { _dir: dir, root, outside, py312, py36, py27 })
}

impl Scene {
    fn options(&self) -> CleanOptions {
        CleanOptions { paths: vec![self.root.clone()], keep: vec![self.py312.clone()], ..CleanOptions::default() }
    }

    fn rel(&self, report: &CleanReport) -> Vec<String> {
        let mut out: Vec<String> = report
            .removed
            .iter()
            .map(|r| format!("{:?} {}", r.reason, r.path.strip_prefix(&self.root).unwrap().display()))
            .collect();
        out.sort();
        out
    }

    /// Runs clean and checks that exactly `expected` went, and every other
    /// entry, inside and outside the tree, is as it was.
    #[track_caller]
    fn check(&self, options: &CleanOptions, expected: &[&str]) -> CleanReport {
        let before_root = snapshot(&self.root);
        let before_outside = snapshot(&self.outside);
        let report = clean(options).unwrap();
        assert_eq!(self.rel(&report), expected);
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        let after_root = snapshot(&self.root);
        let gone: Vec<&PathBuf> = before_root.keys().filter(|p| !after_root.contains_key(*p)).collect();
        let removed: Vec<&PathBuf> = report.removed.iter().map(|r| &r.path).chain(report.dirs.iter()).collect();
        if options.dry_run {
            assert_eq!(after_root, before_root, "a dry run changes nothing");
        } else {
            let mut gone_sorted = gone.clone();
            gone_sorted.sort();
            let mut removed_sorted = removed.clone();
            removed_sorted.sort();
            assert_eq!(gone_sorted, removed_sorted, "only what the report lists is gone");
        }
        for (path, kind) in &after_root {
            assert_eq!(before_root.get(path), Some(kind), "{} changed", path.display());
        }
        assert_eq!(snapshot(&self.outside), before_outside, "nothing outside the tree changes");
        for (path, kind) in &before_root {
            let name = path.file_name().unwrap().to_string_lossy();
            if name.ends_with(".py") || name.ends_with(".txt") || kind.starts_with("link") || name == "sourceless.pyc" {
                assert_eq!(after_root.get(path), Some(kind), "{} must stay", path.display());
            }
        }
        report
    }
}

#[test]
fn all_removes_every_cache_and_nothing_else() {
    let test = "all_removes_every_cache_and_nothing_else";
    let Some(scene) = scene(test) else { return };
    let options = CleanOptions { all: true, ..scene.options() };
    let expected = [
        "Cache pkg/__init__.pyc",
        "Cache pkg/__pycache__/__init__.cpython-312.pyc",
        "Cache pkg/__pycache__/__init__.cpython-36.pyc",
        "Cache pkg/__pycache__/data.cpython-312.pyc.cpython-312.pyc",
        "Cache pkg/__pycache__/data.cpython-312.pyc.cpython-36.pyc",
        "Cache pkg/__pycache__/mod.cpython-312.cpython-312.pyc",
        "Cache pkg/__pycache__/mod.cpython-312.cpython-36.pyc",
        "Cache pkg/__pycache__/mod.cpython-312.pyc",
        "Cache pkg/__pycache__/mod.cpython-36.pyc",
        "Cache pkg/__pycache__/x.pyc.cpython-312.pyc",
        "Cache pkg/__pycache__/x.pyc.cpython-36.pyc",
        "Cache pkg/data.cpython-312.pyc.pyc",
        "Cache pkg/mod.cpython-312.pyc",
        "Cache pkg/mod.pyc",
        "Cache pkg/x.pyc.pyc",
        "Debris pkg/__pycache__/mod.cpython-312.pyc.4242",
        "Orphan pkg/__pycache__/gone.cpython-312.pyc",
        "Orphan pkg/__pycache__/gone.cpython-36.pyc",
    ];
    let dry = scene.check(&CleanOptions { dry_run: true, ..options.clone() }, &expected);
    let report = scene.check(&options, &expected);
    assert_eq!(dry.summary.files, report.summary.files);
    assert_eq!(dry.summary.bytes, report.summary.bytes);
    assert_eq!(report.summary.files, expected.len());
    // pkg/__pycache__ keeps helper.py, notes.txt and the link: not removed.
    assert!(scene.root.join("pkg/__pycache__").is_dir());
    assert!(report.dirs.is_empty());
    let kept: Vec<String> =
        report.kept.iter().map(|k| k.path.strip_prefix(&scene.root).unwrap().display().to_string()).collect();
    assert!(kept.contains(&"sourceless.pyc".to_owned()), "{kept:?}");
    assert!(kept.contains(&"pkg/gone.pyc".to_owned()), "{kept:?}");
    assert!(kept.contains(&"pkg/__pycache__/link.cpython-312.pyc".to_owned()), "{kept:?}");
    // The directory link was never entered.
    assert!(scene.outside.join("__pycache__/o.cpython-312.pyc").is_file());
}

#[test]
fn each_selection_removes_only_its_kind() {
    let test = "each_selection_removes_only_its_kind";
    let Some(scene) = scene(test) else { return };
    scene.check(
        &CleanOptions { orphans: true, ..scene.options() },
        &["Orphan pkg/__pycache__/gone.cpython-312.pyc", "Orphan pkg/__pycache__/gone.cpython-36.pyc"],
    );
    scene
        .check(&CleanOptions { debris: true, ..scene.options() }, &["Debris pkg/__pycache__/mod.cpython-312.pyc.4242"]);
    // Keeping 3.12: 3.6's caches go, and 2.7's beside the sources.
    scene.check(
        &CleanOptions { foreign: true, ..scene.options() },
        &[
            "Foreign pkg/__init__.pyc",
            "Foreign pkg/__pycache__/__init__.cpython-36.pyc",
            "Foreign pkg/__pycache__/data.cpython-312.pyc.cpython-36.pyc",
            "Foreign pkg/__pycache__/mod.cpython-312.cpython-36.pyc",
            "Foreign pkg/__pycache__/mod.cpython-36.pyc",
            "Foreign pkg/__pycache__/x.pyc.cpython-36.pyc",
            "Foreign pkg/data.cpython-312.pyc.pyc",
            "Foreign pkg/mod.cpython-312.pyc",
            "Foreign pkg/mod.pyc",
            "Foreign pkg/x.pyc.pyc",
        ],
    );
    // Stale: a changed source, a damaged body, a bad header.
    let changed = scene.root.join("pkg/mod.py");
    std::fs::write(&changed, "NAME = 'changed, and longer'\n").unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(10);
    std::fs::File::options().write(true).open(&changed).unwrap().set_modified(later).unwrap();
    let damaged = scene.root.join("pkg/__pycache__/x.pyc.cpython-312.pyc");
    let bytes = std::fs::read(&damaged).unwrap();
    std::fs::write(&damaged, &bytes[..20]).unwrap();
    let junk = scene.root.join("pkg/__pycache__/__init__.cpython-312.pyc");
    let mut bytes = std::fs::read(&junk).unwrap();
    bytes[..4].copy_from_slice(b"JUNK");
    std::fs::write(&junk, bytes).unwrap();
    let report = scene.check(
        &CleanOptions { stale: true, ..scene.options() },
        &[
            "Stale pkg/__pycache__/__init__.cpython-312.pyc",
            "Stale pkg/__pycache__/mod.cpython-312.pyc",
            "Stale pkg/__pycache__/x.pyc.cpython-312.pyc",
        ],
    );
    let details: Vec<&str> = report.removed.iter().map(|r| r.detail.as_str()).collect();
    assert!(details.iter().any(|d| d.starts_with("bad header")), "{details:?}");
    assert!(details.iter().any(|d| d.starts_with("damaged body")), "{details:?}");
    assert!(details.iter().any(|d| d.starts_with("timestamp-based: the source's")), "{details:?}");
    assert!(report.removed.iter().all(|r| r.reason == Reason::Stale));
    let _ = (&scene.py36, &scene.py27);
}

#[test]
fn emptied_pycache_directories_go_and_the_prefix_copy_is_cleaned() {
    let test = "emptied_pycache_directories_go_and_the_prefix_copy_is_cleaned";
    let Some(python) = pycache_python::testing::reference(3, 12, test) else { return };
    let tree = Tree::new(&[("a/m.py", "M = 1\n"), ("b/n.py", "N = 1\n")]);
    tree.compileall(&python, 0, &[]);
    std::fs::remove_file(tree.path("a/m.py")).unwrap();
    // The same sources compiled under a pycache prefix.
    let prefix = tempfile::tempdir().unwrap();
    std::fs::write(tree.path("a/m.py"), "M = 1\n").unwrap();
    let out = std::process::Command::new(&python.path)
        .args(["-X", &format!("pycache_prefix={}", prefix.path().display()), "-m", "compileall", "-q"])
        .arg(&tree.root)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::remove_file(tree.path("a/m.py")).unwrap();
    let options = CleanOptions {
        paths: vec![tree.root.clone()],
        orphans: true,
        cache_prefix: Some(prefix.path().to_owned()),
        ..CleanOptions::default()
    };
    let report = clean(&options).unwrap();
    let mirror = prefix.path().join(tree.root.strip_prefix("/").unwrap());
    let removed: Vec<PathBuf> = report.removed.iter().map(|r| r.path.clone()).collect();
    assert_eq!(removed, [tree.path("a/__pycache__/m.cpython-312.pyc"), mirror.join("a/m.cpython-312.pyc")]);
    assert_eq!(report.dirs, [mirror.join("a"), tree.path("a/__pycache__")]);
    assert!(!tree.path("a/__pycache__").exists());
    assert!(tree.path("b/__pycache__/n.cpython-312.pyc").is_file());
    assert!(mirror.join("b/n.cpython-312.pyc").is_file());
    assert!(tree.path("b/n.py").is_file());
}

#[test]
fn nothing_selected_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let options = CleanOptions { paths: vec![dir.path().to_owned()], ..CleanOptions::default() };
    assert!(clean(&options).is_err());
    let foreign = CleanOptions { foreign: true, ..options };
    assert!(clean(&foreign).unwrap_err().to_string().contains("--python"));
}

#[test]
fn clean_never_follows_a_symlinked_pycache() {
    // `app/pkg/__pycache__` points at another tree's caches, whose names
    // match `app/pkg`'s sources: no selection removes them or the link.
    let test = "clean_never_follows_a_symlinked_pycache";
    let Some(python) = pycache_python::testing::reference(3, 12, test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("app");
    let victim = dir.path().join("victim");
    for base in [&root, &victim] {
        std::fs::create_dir_all(base.join("pkg")).unwrap();
        std::fs::write(base.join("pkg/m.py"), "M = 1\n").unwrap();
    }
    let out = std::process::Command::new(&python.path)
        .args(["-m", "compileall", "-q"])
        .arg(&victim)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(victim.join("pkg/__pycache__/gone.cpython-312.pyc"), b"orphan").unwrap();
    std::fs::write(victim.join("pkg/__pycache__/m.cpython-312.pyc.77"), b"debris").unwrap();
    std::os::unix::fs::symlink(victim.join("pkg/__pycache__"), root.join("pkg/__pycache__")).unwrap();
    // And the same under a pycache prefix: the mirror's `pkg` is a link.
    let prefix = dir.path().join("prefix");
    let mirror = prefix.join(root.strip_prefix("/").unwrap());
    std::fs::create_dir_all(&mirror).unwrap();
    std::os::unix::fs::symlink(victim.join("pkg/__pycache__"), mirror.join("pkg")).unwrap();
    let before = snapshot(dir.path());
    for dry_run in [true, false] {
        let options = CleanOptions {
            paths: vec![root.clone()],
            all: true,
            orphans: true,
            stale: true,
            debris: true,
            keep: vec![python.clone()],
            cache_prefix: Some(prefix.clone()),
            dry_run,
            ..CleanOptions::default()
        };
        let report = clean(&options).unwrap();
        assert!(report.removed.is_empty(), "{:?}", report.removed);
        assert!(report.dirs.is_empty(), "{:?}", report.dirs);
        assert!(report.kept.iter().any(|k| k.path == root.join("pkg/__pycache__")), "{:?}", report.kept);
        assert_eq!(snapshot(dir.path()), before, "nothing changed, through the links or of them");
    }
}

/// `clean --debris` removed a temporary cache file whatever its state, so a
/// clean beside a running `compile` could unlink the file a writer was
/// about to rename into place. Now it keeps one that a writer holds locked
/// or that changed after the clean began, as `compile`'s own removal does.
#[test]
fn regression_clean_debris_keeps_a_temporary_file_being_written() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("app");
    std::fs::create_dir_all(root.join("__pycache__")).unwrap();
    std::fs::write(root.join("m.py"), "x = 1\n").unwrap();
    let temp = root.join("__pycache__/m.cpython-312.pyc.4711");
    std::fs::write(&temp, b"half a cache").unwrap();
    let yesterday = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
    std::fs::File::options().write(true).open(&temp).unwrap().set_modified(yesterday).unwrap();
    let options = CleanOptions { paths: vec![root.clone()], debris: true, ..CleanOptions::default() };

    // A writer's lock, as pycache's writers hold it until they rename.
    let writer = std::fs::File::open(&temp).unwrap();
    rustix::fs::flock(&writer, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
    let report = clean(&options).unwrap();
    assert!(temp.exists(), "a locked temporary file was removed");
    assert!(report.removed.is_empty(), "{:?}", report.removed);
    assert!(report.kept.iter().any(|k| k.path == temp && k.why.contains("locked")), "{:?}", report.kept);
    drop(writer);

    // Changed after the clean began: touched to the future, as a write in
    // progress would be from the clean's point of view.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    std::fs::File::options().write(true).open(&temp).unwrap().set_modified(later).unwrap();
    let report = clean(&options).unwrap();
    assert!(temp.exists(), "a temporary file changed during the clean was removed");
    assert!(report.kept.iter().any(|k| k.path == temp && k.why.contains("changed")), "{:?}", report.kept);

    // Old and unlocked: the debris of a killed write goes.
    std::fs::File::options().write(true).open(&temp).unwrap().set_modified(yesterday).unwrap();
    let report = clean(&options).unwrap();
    assert!(!temp.exists());
    assert_eq!(report.removed.len(), 1, "{:?}", report.removed);
}
