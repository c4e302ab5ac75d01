//! `pycache compile` against what a file system can hold: symbolic links
//! on the way to a cache, a permissive umask, hard links between levels,
//! leftovers of killed writes (issue 12, items 2, 8 and 9).

use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::process::{Command, Output};

use pycache_python::testing::reference;

mod run;
use run::{pycache, text};

/// `pycache ARGS` under `umask 000`.
fn pycache_umask_000(args: &[&str], cwd: &Path) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("umask 000 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_pycache"))
        .args(args)
        .current_dir(cwd)
        .env_remove("SOURCE_DATE_EPOCH")
        .env("PYCACHE_CACHE_DIR", cwd.join(".pycache-state"))
        .output()
        .expect("run pycache")
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Every file below `dir` with its bytes, for "nothing changed here".
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            files.extend(snapshot(&path));
        } else {
            files.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    files.sort();
    files
}

/// Issue 12, item 2: with `app/__pycache__` linked to another tree's and
/// `app/mod.py` given the victim's size and mtime, `compile app` (as root)
/// called the victim's cache fresh, so `app.mod` imported the victim's code
/// (and the victim, later, whatever the link let `app` write), and it
/// dropped caches of `app`'s other modules into the victim's directory.
#[test]
fn regression_compile_refuses_a_symlinked_pycache() {
    let Some(_) = reference(3, 12, "regression_compile_refuses_a_symlinked_pycache") else { return };
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    std::fs::create_dir_all(cwd.join("victim")).unwrap();
    std::fs::create_dir_all(cwd.join("app")).unwrap();
    std::fs::write(cwd.join("victim/mod.py"), "print('victim')\n").unwrap();
    let out = pycache(&["compile", "victim", "--python", "3.12"], cwd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let before = snapshot(&cwd.join("victim"));

    symlink(cwd.join("victim/__pycache__"), cwd.join("app/__pycache__")).unwrap();
    std::fs::write(cwd.join("app/mod.py"), "print('app!!!!')\n").unwrap();
    let victim_mtime = std::fs::metadata(cwd.join("victim/mod.py")).unwrap().modified().unwrap();
    std::fs::File::options().write(true).open(cwd.join("app/mod.py")).unwrap().set_modified(victim_mtime).unwrap();
    std::fs::write(cwd.join("app/other.py"), "X = 1\n").unwrap();

    for force in [false, true] {
        let mut args = vec!["compile", "app", "--python", "3.12", "-o", "0", "-o", "1", "--format", "json"];
        if force {
            args.push("--force");
        }
        let out = pycache(&args, cwd);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let files = json["files"].as_array().unwrap();
        assert_eq!(files.len(), 4, "{json}");
        for file in files {
            assert_eq!(file["status"], "failed", "{json}");
            let cache = file["cache"].as_str().unwrap();
            assert_eq!(
                file["error"].as_str().unwrap(),
                format!(
                    "will not write `{cache}`: `app/__pycache__` is a symbolic link to `{}`, and caches are never \
                     written through one",
                    cwd.join("victim/__pycache__").display()
                )
            );
        }
    }
    assert_eq!(snapshot(&cwd.join("victim")), before, "nothing was written through the link");
}

/// Issue 12, item 2: the directories a pycache prefix mirrors are created
/// below the prefix; one of them linked elsewhere took the caches there.
#[test]
fn regression_compile_refuses_a_symlinked_cache_prefix_component() {
    let Some(_) = reference(3, 12, "regression_compile_refuses_a_symlinked_cache_prefix_component") else { return };
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(cwd.join("app/pkg")).unwrap();
    std::fs::write(cwd.join("app/pkg/m.py"), "X = 1\n").unwrap();
    std::fs::create_dir_all(cwd.join("victim")).unwrap();
    let prefix = cwd.join("prefix");
    // The prefix's copy of `…/app` points at the victim.
    let mirror = prefix.join(cwd.strip_prefix("/").unwrap());
    std::fs::create_dir_all(&mirror).unwrap();
    symlink(cwd.join("victim"), mirror.join("app")).unwrap();
    let out = pycache(&["compile", "app", "--python", "3.12", "--cache-prefix", prefix.to_str().unwrap()], &cwd);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "`{}` is a symbolic link to `{}`",
            mirror.join("app").display(),
            cwd.join("victim").display()
        )),
        "{stdout}"
    );
    assert_eq!(std::fs::read_dir(cwd.join("victim")).unwrap().count(), 0, "nothing was written through the link");
    // Without the link, the prefix is used as before.
    std::fs::remove_file(mirror.join("app")).unwrap();
    let out = pycache(&["compile", "app", "--python", "3.12", "--cache-prefix", prefix.to_str().unwrap()], &cwd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(mirror.join("app/pkg/m.cpython-312.pyc").is_file());
}

/// Issue 12, item 2: under `umask 000` a new `__pycache__` was created
/// 0777, so anyone could plant bytecode in it. It gets no write bit for
/// group or others that its parent lacks (and keeps those it has).
#[test]
fn regression_umask_000_does_not_make_a_world_writable_pycache() {
    let Some(_) = reference(3, 12, "regression_umask_000_does_not_make_a_world_writable_pycache") else { return };
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    for (name, parent) in [("private", 0o755), ("shared", 0o775), ("open", 0o777), ("closed", 0o700)] {
        std::fs::create_dir_all(cwd.join(name)).unwrap();
        std::fs::write(cwd.join(name).join("m.py"), "X = 1\n").unwrap();
        std::fs::set_permissions(cwd.join(name), std::fs::Permissions::from_mode(parent)).unwrap();
    }
    std::fs::create_dir_all(cwd.join("prefix")).unwrap();
    std::fs::set_permissions(cwd.join("prefix"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = pycache_umask_000(&["compile", "private", "shared", "open", "closed", "--python", "3.12"], cwd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(mode(&cwd.join("private/__pycache__")), 0o755);
    assert_eq!(mode(&cwd.join("shared/__pycache__")), 0o775);
    assert_eq!(mode(&cwd.join("open/__pycache__")), 0o777);
    assert_eq!(mode(&cwd.join("closed/__pycache__")), 0o755);
    // The directories of a pycache prefix too.
    let out = pycache_umask_000(&["compile", "private", "--python", "3.12", "--cache-prefix", "prefix"], cwd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let mut below = cwd.join("prefix");
    for component in cwd.canonicalize().unwrap().join("private").strip_prefix("/").unwrap().components() {
        below.push(component);
        assert_eq!(mode(&below), 0o755, "{}", below.display());
    }
}

/// Issue 12, item 8: `--hardlink-dupes` linked each level to the path of
/// the level before, so a concurrent writer's file could be linked (the
/// `-O` cache then held level-0 code). The link is to the file this run
/// wrote (checked by inode; `pycache-compile`'s `write` tests replace the
/// file between the write and the link); this checks what it links.
#[test]
fn hardlink_dupes_links_equal_levels() {
    let Some(_) = reference(3, 12, "hardlink_dupes_links_equal_levels") else { return };
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    std::fs::create_dir_all(cwd.join("app")).unwrap();
    std::fs::write(cwd.join("app/plain.py"), "X = 1\n").unwrap();
    std::fs::write(cwd.join("app/doc.py"), "'''Doc.'''\nX = 1\n").unwrap();
    std::fs::write(cwd.join("app/checks.py"), "assert True\n").unwrap();
    let args = ["compile", "app", "--python", "3.12", "-o", "0", "-o", "1", "-o", "2", "--hardlink-dupes"];
    for force in [false, true] {
        let out = pycache(&[&args[..], if force { &["--force"][..] } else { &[][..] }].concat(), cwd);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
        let ino = |name: &str| std::fs::metadata(cwd.join("app/__pycache__").join(name)).unwrap().ino();
        let levels = |module: &str| {
            [
                ino(&format!("{module}.cpython-312.pyc")),
                ino(&format!("{module}.cpython-312.opt-1.pyc")),
                ino(&format!("{module}.cpython-312.opt-2.pyc")),
            ]
        };
        let [a, b, c] = levels("plain");
        assert!(a == b && b == c, "plain: {a} {b} {c}");
        let [a, b, c] = levels("doc");
        assert!(a == b && b != c, "doc: {a} {b} {c}");
        let [a, b, c] = levels("checks");
        assert!(a != b && b == c, "checks: {a} {b} {c}");
        let leftovers: Vec<_> = std::fs::read_dir(cwd.join("app/__pycache__"))
            .unwrap()
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().ends_with(".pyc"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

/// Issue 12, item 9: a write killed with SIGKILL leaves `<cache>.<n>`,
/// which no later compile removed. A later compile that writes into the
/// directory removes such files when they are stale: older than the run
/// and not locked by a writer.
#[test]
fn regression_compile_removes_stale_temporary_files_of_killed_writes() {
    let Some(_) = reference(3, 12, "regression_compile_removes_stale_temporary_files_of_killed_writes") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    std::fs::create_dir_all(cwd.join("app/__pycache__")).unwrap();
    std::fs::write(cwd.join("app/mod.py"), "X = 1\n").unwrap();
    let cache_dir = cwd.join("app/__pycache__");
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let put = |name: &str, modified: std::time::SystemTime| {
        let file = std::fs::File::create(cache_dir.join(name)).unwrap();
        std::io::Write::write_all(&mut &file, b"partial").unwrap();
        file.set_modified(modified).unwrap();
        file
    };
    // Left by a killed pycache run and a killed interpreter.
    put("mod.cpython-312.pyc.123450001", hour_ago);
    put("gone.cpython-312.pyc.140223456789", hour_ago);
    // A writer still at work: it holds the lock.
    let busy = put("mod.cpython-312.opt-1.pyc.999990000", hour_ago);
    rustix::fs::flock(&busy, rustix::fs::FlockOperation::LockExclusive).unwrap();
    // Written after the run started (its clock is ahead of this one).
    let future = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    put("mod.cpython-312.pyc.777770000", future);
    // Not a temporary file of a cache.
    put("notes.txt.123", hour_ago);

    let out = pycache(&["compile", "app", "--python", "3.12", "--format", "json"], cwd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["debris_removed"], 2, "{json}");
    let mut names: Vec<String> = std::fs::read_dir(&cache_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "mod.cpython-312.opt-1.pyc.999990000",
            "mod.cpython-312.pyc",
            "mod.cpython-312.pyc.777770000",
            "notes.txt.123"
        ]
    );
    drop(busy);
}
