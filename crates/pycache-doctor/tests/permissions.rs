//! Doctor's exact findings on trees whose permission bits, ownership and
//! mounts decide what a service user (made here with useradd) can do with
//! the caches, and the probe's agreement with each prediction under the
//! real interpreters.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::*;
use pycache_pyc::Magic;
use pycache_python::Interpreter;

const FILES: &[(&str, &str)] = &[
    ("main.py", "import pkg.mod\nVALUE = pkg.mod.VALUE\n"),
    ("pkg/__init__.py", "NAME = 'pkg'\n"),
    ("pkg/mod.py", "VALUE = 42\n"),
];

fn legacy(python: &Interpreter) -> bool {
    python.version.0 == 2
}

/// Where `python` keeps the level-0 cache of `rel`.
fn cache(tree: &Tree, python: &Interpreter, rel: &str) -> PathBuf {
    let source = tree.path(rel);
    match &python.cache_tag {
        Some(tag) => {
            let stem = source.file_stem().unwrap().to_str().unwrap();
            source.parent().unwrap().join("__pycache__").join(format!("{stem}.{tag}.pyc"))
        }
        None => PathBuf::from(format!("{}c", source.display())),
    }
}

#[test]
fn fresh_caches_owned_by_root_are_hits() {
    let test = "fresh_caches_owned_by_root_are_hits";
    let Some(user) = Account::create(test) else { return };
    exposed(test, |exposed| {
        for python in interpreters(test) {
            let label = python.label();
            let tree = Tree::new(FILES);
            tree.compileall(&python, 0, &[]);
            let deployment = resolve(&settings(&tree, &python, Some(&user.name)));
            let diagnosis = run(&deployment);
            assert_findings(&tree, &diagnosis, &[], &label);
            assert_eq!(predictions(&tree, &diagnosis), ["main.py hit", "pkg/__init__.py hit", "pkg/mod.py hit"]);
            if exposed {
                assert_probe_agrees(&deployment, &diagnosis, &label);
            }
        }
    });
}

#[test]
fn missing_caches_in_a_tree_the_service_user_cannot_write() {
    let test = "missing_caches_in_a_tree_the_service_user_cannot_write";
    let Some(user) = Account::create(test) else { return };
    exposed(test, |exposed| {
        for python in interpreters(test) {
            let label = python.label();
            let tree = Tree::new(FILES);
            let deployment = resolve(&settings(&tree, &python, Some(&user.name)));
            let diagnosis = run(&deployment);
            assert_findings(
                &tree,
                &diagnosis,
                &[
                    "error cache-unwritable main.py",
                    "error cache-unwritable pkg/__init__.py",
                    "error cache-unwritable pkg/mod.py",
                ],
                &label,
            );
            let message = &diagnosis.report.findings[0].message;
            assert!(message.contains(&format!("`{}` cannot write in", user.name)), "{message}");
            assert!(message.contains("owner `root`, mode 755"), "{message}");
            if exposed {
                let probe = assert_probe_agrees(&deployment, &diagnosis, &label);
                assert_eq!(probe.agreed, 3);
            }
        }
    });
}

#[test]
fn missing_caches_in_a_tree_the_service_user_owns_are_written_once() {
    let test = "missing_caches_in_a_tree_the_service_user_owns_are_written_once";
    let Some(user) = Account::create(test) else { return };
    exposed(test, |exposed| {
        for python in interpreters(test) {
            let label = python.label();
            let tree = Tree::new(FILES);
            tree.chown_r(".", user.uid, user.gid);
            let deployment = resolve(&settings(&tree, &python, Some(&user.name)));
            let diagnosis = run(&deployment);
            assert_findings(
                &tree,
                &diagnosis,
                &[
                    "warning cache-missing main.py",
                    "warning cache-missing pkg/__init__.py",
                    "warning cache-missing pkg/mod.py",
                ],
                &label,
            );
            if !exposed {
                continue;
            }
            assert_probe_agrees(&deployment, &diagnosis, &label);
            // The probe's process wrote them: the next one loads them.
            let again = run(&deployment);
            assert_findings(&tree, &again, &[], &label);
            assert_eq!(predictions(&tree, &again), ["main.py hit", "pkg/__init__.py hit", "pkg/mod.py hit"]);
            assert_probe_agrees(&deployment, &again, &label);
        }
    });
}

#[test]
fn caches_the_service_group_can_replace_beside_protected_sources_are_poisonable() {
    let test = "caches_the_service_group_can_replace_beside_protected_sources_are_poisonable";
    let Some(user) = Account::create(test) else { return };
    exposed(test, |exposed| {
        for python in interpreters(test) {
            let label = python.label();
            let tree = Tree::new(FILES);
            tree.compileall(&python, 0, &[]);
            let expected: &[&str] = if legacy(&python) {
                // 2.x caches sit beside the sources: group-writable files in
                // directories the group cannot change.
                for rel in ["main.py", "pkg/mod.py"] {
                    let pyc = cache(&tree, &python, rel);
                    std::os::unix::fs::chown(&pyc, Some(0), Some(user.gid)).unwrap();
                    std::fs::set_permissions(&pyc, std::fs::Permissions::from_mode(0o664)).unwrap();
                }
                &["error cache-poisonable .", "error cache-poisonable pkg"]
            } else {
                tree.chown_r("pkg/__pycache__", 0, user.gid);
                std::fs::set_permissions(tree.path("pkg/__pycache__"), std::fs::Permissions::from_mode(0o775)).unwrap();
                &["error cache-poisonable pkg/__pycache__"]
            };
            let deployment = resolve(&settings(&tree, &python, Some(&user.name)));
            let diagnosis = run(&deployment);
            assert_findings(&tree, &diagnosis, expected, &label);
            let finding = &diagnosis.report.findings[0];
            assert!(finding.fix.starts_with("chown -R root "), "{}", finding.fix);
            if legacy(&python) {
                assert!(finding.message.contains("can overwrite 1 cache file(s)"), "{}", finding.message);
            } else {
                assert!(finding.message.contains("can create and replace files"), "{}", finding.message);
                assert!(finding.message.contains("the 2 source(s)"), "{}", finding.message);
            }
            if exposed {
                assert_probe_agrees(&deployment, &diagnosis, &label);
            }
        }
    });
}

/// Truncates the body of a cache, keeping its (valid) header.
fn damage_body(path: &std::path::Path) {
    let bytes = std::fs::read(path).unwrap();
    let header = Magic::from_bytes(&bytes).unwrap().header_layout().len();
    std::fs::write(path, &bytes[..header + 3]).unwrap();
}

#[test]
fn stale_corrupt_and_bad_header_caches() {
    let test = "stale_corrupt_and_bad_header_caches";
    let Some(user) = Account::create(test) else { return };
    let mut files = FILES.to_vec();
    files.push(("broken.py", "X = 1\n"));
    exposed(test, |exposed| {
        for python in interpreters(test) {
            let label = python.label();
            let tree = Tree::new(&files);
            tree.compileall(&python, 0, &[]);
            tree.chown_r(".", user.uid, user.gid);
            // A changed source: another size and a later mtime.
            let source = tree.path("pkg/mod.py");
            std::fs::write(&source, "VALUE = 4242\n").unwrap();
            let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
            std::fs::File::options().write(true).open(&source).unwrap().set_modified(later).unwrap();
            damage_body(&cache(&tree, &python, "broken.py"));
            let main_cache = cache(&tree, &python, "main.py");
            let mut bytes = std::fs::read(&main_cache).unwrap();
            bytes[..4].copy_from_slice(b"JUNK");
            std::fs::write(&main_cache, bytes).unwrap();

            let deployment = resolve(&settings(&tree, &python, Some(&user.name)));
            let diagnosis = run(&deployment);
            assert_findings(
                &tree,
                &diagnosis,
                &["error cache-corrupt broken.py", "warning cache-corrupt main.py", "warning cache-stale pkg/mod.py"],
                &label,
            );
            let corrupt =
                diagnosis.report.findings.iter().find(|f| f.severity == pycache_doctor::Severity::Error).unwrap();
            assert!(corrupt.message.contains("importing the module fails"), "{}", corrupt.message);
            assert!(corrupt.fix.contains("pycache compile --force"), "{}", corrupt.fix);
            let stale = diagnosis.report.findings.iter().find(|f| f.code == pycache_doctor::Code::CacheStale).unwrap();
            let kind = if legacy(&python) { "the source's mtime changed" } else { "timestamp-based: the source's" };
            assert!(stale.message.contains(kind), "{}", stale.message);
            assert_eq!(
                predictions(&tree, &diagnosis),
                ["broken.py import-fails", "main.py compiled", "pkg/__init__.py hit", "pkg/mod.py compiled"]
            );
            if exposed {
                assert_probe_agrees(&deployment, &diagnosis, &label);
            }
        }
    });
}

#[test]
fn unreadable_caches() {
    let test = "unreadable_caches";
    let Some(user) = Account::create(test) else { return };
    exposed(test, |exposed| {
        for python in interpreters(test) {
            let label = python.label();
            // Root's cache, closed to others, in a directory the user cannot
            // change: compiled in every process.
            let tree = Tree::new(FILES);
            tree.compileall(&python, 0, &[]);
            let pyc = cache(&tree, &python, "pkg/mod.py");
            std::fs::set_permissions(&pyc, std::fs::Permissions::from_mode(0o600)).unwrap();
            let deployment = resolve(&settings(&tree, &python, Some(&user.name)));
            let diagnosis = run(&deployment);
            assert_findings(&tree, &diagnosis, &["error cache-unreadable pkg/mod.py"], &label);
            assert!(predictions(&tree, &diagnosis).contains(&"pkg/mod.py write-failed".to_owned()));
            if exposed {
                assert_probe_agrees(&deployment, &diagnosis, &label);
            }

            // The same cache in a directory the user may change: replaced once.
            let tree = Tree::new(FILES);
            tree.compileall(&python, 0, &[]);
            let pyc = cache(&tree, &python, "pkg/mod.py");
            std::fs::set_permissions(&pyc, std::fs::Permissions::from_mode(0o600)).unwrap();
            let expected: &[&str] = if legacy(&python) {
                std::os::unix::fs::chown(tree.path("pkg"), Some(user.uid), Some(user.gid)).unwrap();
                &["warning cache-unreadable pkg/mod.py"]
            } else {
                std::os::unix::fs::chown(tree.path("pkg/__pycache__"), Some(user.uid), Some(user.gid)).unwrap();
                // ... which also lets the user plant bytecode for root's sources.
                &["warning cache-unreadable pkg/mod.py", "error cache-poisonable pkg/__pycache__"]
            };
            let deployment = resolve(&settings(&tree, &python, Some(&user.name)));
            let diagnosis = run(&deployment);
            assert_findings(&tree, &diagnosis, expected, &label);
            assert!(predictions(&tree, &diagnosis).contains(&"pkg/mod.py compiled".to_owned()));
            if exposed {
                assert_probe_agrees(&deployment, &diagnosis, &label);
            }
        }
    });
}

/// A read-only bind mount of a tree onto itself, undone on drop.
struct ReadOnly(PathBuf);

impl ReadOnly {
    fn mount(path: &std::path::Path, test: &str) -> Option<Self> {
        use nix::mount::{MsFlags, mount};
        if let Err(err) = mount(Some(path), path, None::<&str>, MsFlags::MS_BIND, None::<&str>) {
            eprintln!("SKIP {test}: the kernel refuses a bind mount ({err})");
            return None;
        }
        let guard = Self(path.to_owned());
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        if let Err(err) = mount(None::<&str>, path, None::<&str>, flags, None::<&str>) {
            eprintln!("SKIP {test}: the kernel refuses a read-only remount ({err})");
            return None;
        }
        Some(guard)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

#[test]
fn a_read_only_mount_stops_even_root() {
    let test = "a_read_only_mount_stops_even_root";
    if !is_root() {
        eprintln!("SKIP {test}: mounting needs root");
        return;
    }
    let user = Account::create(test);
    // The mount is made before this thread gets a namespace of its own, so
    // every thread sees it.
    let trees: Vec<(Interpreter, Tree)> = interpreters(test).into_iter().map(|p| (p, Tree::new(FILES))).collect();
    let mounts: Vec<Option<ReadOnly>> = trees.iter().map(|(_, t)| ReadOnly::mount(&t.root, test)).collect();
    if mounts.iter().any(Option::is_none) {
        return;
    }
    exposed(test, |exposed| {
        for (python, tree) in &trees {
            let label = python.label();
            let mut users = vec![None];
            users.extend(user.as_ref().map(|u| Some(u.name.as_str())));
            for user in users {
                let deployment = resolve(&settings(tree, python, user));
                let diagnosis = run(&deployment);
                assert_findings(
                    tree,
                    &diagnosis,
                    &[
                        "error cache-unwritable main.py",
                        "error cache-unwritable pkg/__init__.py",
                        "error cache-unwritable pkg/mod.py",
                    ],
                    &label,
                );
                let finding = &diagnosis.report.findings[0];
                assert!(finding.message.contains("is on a read-only file system"), "{}", finding.message);
                assert!(finding.fix.contains("before it is mounted read-only"), "{}", finding.fix);
                if exposed || user.is_none() {
                    assert_probe_agrees(&deployment, &diagnosis, &label);
                }
            }
        }
    });
    drop(mounts);
}

#[test]
fn an_interpreter_the_service_user_cannot_run_is_noted_and_not_probed() {
    let test = "an_interpreter_the_service_user_cannot_run_is_noted_and_not_probed";
    let Some(user) = Account::create(test) else { return };
    let Some(python) = pycache_python::testing::reference(3, 12, test) else { return };
    // Here, outside the exposing namespace, the interpreter may be closed
    // to the service user (pyenv under root's home).
    let closed = !pycache_doctor::access::AsUser::new(pycache_doctor::ServiceUser::resolve(&user.name, None).unwrap())
        .ask_one(&python.path, pycache_doctor::access::Want::Search)
        .allowed();
    if !closed {
        eprintln!("SKIP {test}: `{}` can run {} here", user.name, python.path.display());
        return;
    }
    let tree = Tree::new(FILES);
    let deployment = resolve(&settings(&tree, &python, Some(&user.name)));
    let diagnosis = run(&deployment);
    let note = format!("`{}` cannot run `{}`", user.name, python.path.display());
    assert!(diagnosis.report.notes.iter().any(|n| n.starts_with(&note)), "{:?}", diagnosis.report.notes);
    let probe = pycache_doctor::probe::probe(&deployment, &diagnosis, Default::default()).unwrap();
    assert!(probe.rows.is_empty());
    assert!(
        probe.notes.iter().any(|n| n.contains("cannot run") && n.contains("Permission denied")),
        "{:?}",
        probe.notes
    );
}
