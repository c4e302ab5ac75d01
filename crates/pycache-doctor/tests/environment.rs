//! How the processes run: optimisation level, pycache prefix, disabled
//! writes, normalised mtimes, -OO and docstrings, hash-based caches, and
//! settings read from server configurations. Exact findings, and the probe
//! agrees with every prediction.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::*;
use pycache_doctor::{Code, Settings, Severity};
use pycache_python::Interpreter;

const FILES: &[(&str, &str)] = &[
    ("main.py", "import pkg.mod\nVALUE = pkg.mod.VALUE\n"),
    ("pkg/__init__.py", "NAME = 'pkg'\n"),
    ("pkg/mod.py", "VALUE = 42\n"),
];

fn has_prefix(python: &Interpreter) -> bool {
    python.py_version().has_pycache_prefix()
}

#[test]
fn caches_built_at_another_level_are_an_optimize_mismatch() {
    let test = "caches_built_at_another_level_are_an_optimize_mismatch";
    let Some(user) = Account::create(test) else { return };
    exposed(test, |exposed| {
        for python in interpreters(test) {
            let label = python.label();
            let tree = Tree::new(FILES);
            tree.compileall(&python, 0, &[]);
            let settings = Settings { optimize: Some(1), ..settings(&tree, &python, Some(&user.name)) };
            let deployment = resolve(&settings);
            let diagnosis = run(&deployment);
            assert_findings(
                &tree,
                &diagnosis,
                &[
                    "warning optimize-mismatch .",
                    "error cache-unwritable main.py",
                    "error cache-unwritable pkg/__init__.py",
                    "error cache-unwritable pkg/mod.py",
                ],
                &label,
            );
            let mismatch = diagnosis.report.findings.iter().find(|f| f.code == Code::OptimizeMismatch).unwrap();
            assert!(
                mismatch.message.starts_with("3 module(s) have caches at level 0 but none at level 1"),
                "{}",
                mismatch.message
            );
            assert!(
                mismatch
                    .fix
                    .starts_with(&format!("pycache compile --python {}.{} -o 1 ", python.version.0, python.version.1)),
                "{}",
                mismatch.fix
            );
            if exposed {
                assert_probe_agrees(&deployment, &diagnosis, &label);
            }
        }
    });
}

#[test]
fn disabled_writes_with_missing_caches() {
    let test = "disabled_writes_with_missing_caches";
    let Some(user) = Account::create(test) else { return };
    exposed(test, |exposed| {
        for python in interpreters(test) {
            let label = python.label();
            let tree = Tree::new(FILES);
            tree.chown_r(".", user.uid, user.gid);
            let settings = Settings { dont_write_bytecode: true, ..settings(&tree, &python, Some(&user.name)) };
            let deployment = resolve(&settings);
            let diagnosis = run(&deployment);
            assert_findings(&tree, &diagnosis, &["error writes-disabled ."], &label);
            let finding = &diagnosis.report.findings[0];
            assert!(finding.message.contains("(--dont-write-bytecode) and 3 of 3 module(s)"), "{}", finding.message);
            assert_eq!(
                predictions(&tree, &diagnosis),
                ["main.py not-written", "pkg/__init__.py not-written", "pkg/mod.py not-written"]
            );
            if exposed {
                assert_probe_agrees(&deployment, &diagnosis, &label);
            }
        }
    });
}

#[test]
fn a_pycache_prefix_ignores_the_caches_in_the_tree() {
    let test = "a_pycache_prefix_ignores_the_caches_in_the_tree";
    let Some(user) = Account::create(test) else { return };
    exposed(test, |exposed| {
        for python in interpreters(test) {
            let label = python.label();
            let tree = Tree::new(FILES);
            tree.compileall(&python, 0, &[]);
            tree.chown_r(".", user.uid, user.gid);
            let prefix_dir = tempfile::tempdir().unwrap();
            std::fs::set_permissions(prefix_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            let prefix = prefix_dir.path().join("pycache");
            std::fs::create_dir(&prefix).unwrap();
            std::os::unix::fs::chown(&prefix, Some(user.uid), Some(user.gid)).unwrap();
            let settings =
                Settings { cache_prefix: Some(prefix.clone()), ..settings(&tree, &python, Some(&user.name)) };
            let deployment = resolve(&settings);
            let diagnosis = run(&deployment);
            if has_prefix(&python) {
                assert_findings(
                    &tree,
                    &diagnosis,
                    &[
                        "warning prefix-mismatch .",
                        "warning cache-missing main.py",
                        "warning cache-missing pkg/__init__.py",
                        "warning cache-missing pkg/mod.py",
                    ],
                    &label,
                );
                let cache = &diagnosis.predictions.iter().find(|p| p.source.ends_with("pkg/mod.py")).unwrap().cache;
                assert!(cache.starts_with(&prefix), "{}", cache.display());
            } else {
                assert_findings(&tree, &diagnosis, &["warning prefix-mismatch ."], &label);
                let finding = &diagnosis.report.findings[0];
                assert!(finding.message.contains("has no pycache prefix (it came in 3.8)"), "{}", finding.message);
            }
            if exposed {
                assert_probe_agrees(&deployment, &diagnosis, &label);
                if has_prefix(&python) {
                    assert!(prefix.join(tree.root.strip_prefix("/").unwrap()).join("pkg").is_dir());
                }
            }
        }
    });
}

#[test]
fn a_prefix_the_service_user_owns_makes_root_sources_poisonable() {
    let test = "a_prefix_the_service_user_owns_makes_root_sources_poisonable";
    let Some(user) = Account::create(test) else { return };
    let Some(python) = pycache_python::testing::reference(3, 12, test) else { return };
    exposed(test, |exposed| {
        let tree = Tree::new(FILES);
        let prefix_dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(prefix_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let prefix = prefix_dir.path().join("pycache");
        std::fs::create_dir(&prefix).unwrap();
        std::os::unix::fs::chown(&prefix, Some(user.uid), Some(user.gid)).unwrap();
        let settings = Settings { cache_prefix: Some(prefix.clone()), ..settings(&tree, &python, Some(&user.name)) };
        let deployment = resolve(&settings);
        let diagnosis = run(&deployment);
        let mirror = prefix.join(tree.root.strip_prefix("/").unwrap());
        let expected = [
            "warning cache-missing main.py".to_owned(),
            "warning cache-missing pkg/__init__.py".to_owned(),
            "warning cache-missing pkg/mod.py".to_owned(),
            format!("error cache-poisonable {}", mirror.display()),
            format!("error cache-poisonable {}", mirror.join("pkg").display()),
        ];
        assert_findings(&tree, &diagnosis, &expected.iter().map(String::as_str).collect::<Vec<_>>(), "3.12");
        let poison = diagnosis.report.findings.iter().find(|f| f.code == Code::CachePoisonable).unwrap();
        assert!(poison.message.contains(&format!("`{}` can create", user.name)), "{}", poison.message);
        if exposed {
            assert_probe_agrees(&deployment, &diagnosis, "3.12");
        }
    });
}

fn set_mtime(path: &std::path::Path, seconds: u64) {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
    std::fs::File::options().write(true).open(path).unwrap().set_modified(time).unwrap();
}

#[test]
fn normalised_mtimes_are_unreliable_for_timestamp_caches() {
    let test = "normalised_mtimes_are_unreliable_for_timestamp_caches";
    exposed(test, |_| {
        for python in interpreters(test) {
            let label = python.label();
            let tree = Tree::new(FILES);
            // Nix sets every mtime to 1.
            for rel in ["main.py", "pkg/__init__.py", "pkg/mod.py"] {
                set_mtime(&tree.path(rel), 1);
            }
            tree.compileall(&python, 0, &[]);
            let deployment = resolve(&settings(&tree, &python, None));
            let diagnosis = run(&deployment);
            assert_findings(&tree, &diagnosis, &["warning mtime-unreliable ."], &label);
            let finding = &diagnosis.report.findings[0];
            assert!(
                finding.message.starts_with("3 source(s) have normalised modification times (3 near 1970-01-01"),
                "{}",
                finding.message
            );
            if python.py_version().has_hash_pycs() {
                assert!(finding.fix.contains("--invalidation-mode checked-hash"), "{}", finding.fix);
            } else {
                assert!(finding.fix.contains("keep the sources' real modification times"), "{}", finding.fix);
            }
            assert_probe_agrees(&deployment, &diagnosis, &label);
        }
    });
    // Hash-based caches do not care.
    let Some(python) = pycache_python::testing::reference(3, 12, test) else { return };
    let tree = Tree::new(FILES);
    for rel in ["main.py", "pkg/__init__.py", "pkg/mod.py"] {
        set_mtime(&tree.path(rel), 1);
    }
    tree.compileall(&python, 0, &["--invalidation-mode", "checked-hash"]);
    let diagnosis = run(&resolve(&settings(&tree, &python, None)));
    assert_findings(&tree, &diagnosis, &[], "3.12 checked-hash");
}

#[test]
fn docstrings_needed_under_level_two() {
    let test = "docstrings_needed_under_level_two";
    let files: &[(&str, &str)] = &[
        (
            "cli.py",
            "\"\"\"Usage: cli.py <name>\"\"\"\nfrom docopt import docopt\n\ndef main():\n    return docopt(__doc__)\n",
        ),
        ("grammar.py", "import ply.yacc as yacc\n\ndef p_expression(p):\n    'expression : NUMBER'\n    p[0] = p[1]\n"),
        ("meta.py", "def f():\n    \"\"\"Doc.\"\"\"\n\nf.__doc__ += ' More.'\n"),
        ("plain.py", "def g():\n    \"\"\"Only documentation.\"\"\"\n    return 1\n"),
    ];
    exposed(test, |_| {
        for python in interpreters(test) {
            let label = python.label();
            let tree = Tree::new(files);
            tree.compileall(&python, 2, &[]);
            let settings = Settings { optimize: Some(2), ..settings(&tree, &python, None) };
            let deployment = resolve(&settings);
            let diagnosis = run(&deployment);
            assert_findings(
                &tree,
                &diagnosis,
                &[
                    "error docstrings-needed cli.py",
                    "error docstrings-needed grammar.py",
                    "warning docstrings-needed meta.py",
                ],
                &label,
            );
            // Nothing at level 1.
            let one = Settings { optimize: Some(1), ..settings.clone() };
            tree.compileall(&python, 1, &[]);
            assert_findings(&tree, &run(&resolve(&one)), &[], &label);
            let report = assert_probe_agrees(&deployment, &diagnosis, &label);
            // `meta.py` itself fails under -OO, after its cache was loaded.
            let meta = report.rows.iter().find(|r| r.module == "meta").unwrap();
            assert!(meta.error.as_deref().unwrap_or("").contains("TypeError"), "{meta:?}");
        }
    });
}

#[test]
fn hash_based_caches_that_no_longer_match() {
    let test = "hash_based_caches_that_no_longer_match";
    let Some(user) = Account::create(test) else { return };
    exposed(test, |exposed| {
        for python in interpreters(test).into_iter().filter(|p| p.py_version().has_hash_pycs()) {
            let label = python.label();
            let tree = Tree::new(&[("checked.py", "A = 1\n"), ("unchecked.py", "B = 1\n")]);
            for (file, mode) in [("checked.py", "checked-hash"), ("unchecked.py", "unchecked-hash")] {
                let out = Command::new(&python.path)
                    .args(["-m", "py_compile"])
                    .arg(tree.path(file))
                    .env("SOURCE_DATE_EPOCH", "1")
                    .env_remove("PYTHONDONTWRITEBYTECODE")
                    .output()
                    .unwrap();
                assert!(out.status.success());
                if mode == "unchecked-hash" {
                    // py_compile has no switch for it: set the flags word.
                    let cache =
                        tree.path(&format!("__pycache__/unchecked.{}.pyc", python.cache_tag.as_deref().unwrap()));
                    let mut bytes = std::fs::read(&cache).unwrap();
                    bytes[4] = 1;
                    std::fs::write(&cache, bytes).unwrap();
                }
            }
            tree.chown_r(".", user.uid, user.gid);
            std::fs::write(tree.path("checked.py"), "A = 2\n").unwrap();
            std::fs::write(tree.path("unchecked.py"), "B = 2\n").unwrap();
            let deployment = resolve(&settings(&tree, &python, Some(&user.name)));
            let diagnosis = run(&deployment);
            assert_findings(
                &tree,
                &diagnosis,
                &["error cache-stale unchecked.py", "warning cache-stale checked.py"],
                &label,
            );
            let checked = diagnosis.report.findings.iter().find(|f| f.severity == Severity::Warning).unwrap();
            assert!(
                checked.message.contains("checked hash-based: the source's contents changed"),
                "{}",
                checked.message
            );
            assert!(checked.fix.contains("--invalidation-mode checked-hash"), "{}", checked.fix);
            let unchecked = diagnosis.report.findings.iter().find(|f| f.severity == Severity::Error).unwrap();
            assert!(unchecked.message.contains("runs the old code"), "{}", unchecked.message);
            assert_eq!(predictions(&tree, &diagnosis), ["checked.py compiled", "unchecked.py stale-code-runs"]);
            if exposed {
                assert_probe_agrees(&deployment, &diagnosis, &label);
            }
        }
    });
}

#[test]
fn settings_come_from_a_uwsgi_configuration() {
    let test = "settings_come_from_a_uwsgi_configuration";
    let Some(user) = Account::create(test) else { return };
    let Some(python) = pycache_python::testing::reference(3, 12, test) else { return };
    exposed(test, |exposed| {
        let tree = Tree::new(FILES);
        tree.compileall(&python, 0, &[]);
        let ini = tree.path("uwsgi.ini");
        std::fs::write(
            &ini,
            format!(
                "[uwsgi]\nuid = {}\nmaster-as-root = true\noptimize = 1\nchdir = {root}\npythonpath = {root}\n\
                 module = main\nenv = PYTHONDONTWRITEBYTECODE=1\n",
                user.name,
                root = tree.root.display()
            ),
        )
        .unwrap();
        let settings = Settings {
            server_config: Some(ini.clone()),
            python: vec![python.path.display().to_string()],
            ..Settings::default()
        };
        let deployment = resolve(&settings);
        assert_eq!(deployment.user.name, user.name);
        assert_eq!(deployment.optimize, 1);
        assert_eq!(deployment.paths, std::slice::from_ref(&tree.root));
        assert!(deployment.dont_write_bytecode());
        let diagnosis = run(&deployment);
        assert_findings(
            &tree,
            &diagnosis,
            &["warning caches-owned-by-root uwsgi.ini", "warning optimize-mismatch .", "error writes-disabled ."],
            "3.12",
        );
        let root_finding = diagnosis.report.findings.iter().find(|f| f.code == Code::CachesOwnedByRoot).unwrap();
        assert!(root_finding.message.contains("master-as-root/drop-after-apps in `"), "{}", root_finding.message);
        let mismatch = diagnosis.report.findings.iter().find(|f| f.code == Code::OptimizeMismatch).unwrap();
        assert!(mismatch.fix.contains("`optimize = 0`"), "{}", mismatch.fix);
        if exposed {
            assert_probe_agrees(&deployment, &diagnosis, "3.12");
        }
    });
}

#[test]
fn clamped_mtimes_are_unreliable_but_a_fresh_copy_is_not() {
    let test = "clamped_mtimes_are_unreliable_but_a_fresh_copy_is_not";
    let Some(python) = pycache_python::testing::reference(3, 12, test) else { return };
    let files: Vec<(String, String)> = (0..12).map(|i| (format!("m{i:02}.py"), format!("X = {i}\n"))).collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    // Written just now: every file shares a second, and it is their ctime.
    let tree = Tree::new(&files);
    tree.compileall(&python, 0, &[]);
    assert_findings(&tree, &run(&resolve(&settings(&tree, &python, None))), &[], "fresh copy");
    // SOURCE_DATE_EPOCH=1700000000 clamps them to one second in the past.
    for (file, _) in &files {
        set_mtime(&tree.path(file), 1_700_000_000);
    }
    tree.compileall(&python, 0, &[]);
    let diagnosis = run(&resolve(&settings(&tree, &python, None)));
    assert_findings(&tree, &diagnosis, &["warning mtime-unreliable ."], "clamped");
    assert!(
        diagnosis.report.findings[0].message.contains("(12 one shared (clamped) second)"),
        "{}",
        diagnosis.report.findings[0].message
    );
}

#[test]
fn settings_come_from_gunicorn_and_uwsgi_yaml() {
    let test = "settings_come_from_gunicorn_and_uwsgi_yaml";
    let Some(user) = Account::create(test) else { return };
    let Some(python) = pycache_python::testing::reference(3, 12, test) else { return };
    let tree = Tree::new(FILES);
    let prefix = tempfile::tempdir().unwrap();
    // Outside the tree: gunicorn's master imports it as root.
    let conf = prefix.path().join("gunicorn.conf.py");
    std::fs::write(
        &conf,
        format!(
            "wsgi_app = 'main:app'\nuser = '{}'\npreload_app = True\nraw_env = ['PYTHONPYCACHEPREFIX={}', 'PYTHONOPTIMIZE=2']\n",
            user.name,
            prefix.path().display()
        ),
    )
    .unwrap();
    let settings = Settings { server_config: Some(conf.clone()), ..settings(&tree, &python, None) };
    let deployment = resolve(&settings);
    assert_eq!(deployment.user.name, user.name);
    assert_eq!(deployment.optimize, 2);
    assert_eq!(deployment.cache_prefix.as_deref(), Some(prefix.path()));
    let diagnosis = run(&deployment);
    assert_findings(
        &tree,
        &diagnosis,
        &[
            &format!("warning caches-owned-by-root {}", conf.display()),
            "error cache-unwritable main.py",
            "error cache-unwritable pkg/__init__.py",
            "error cache-unwritable pkg/mod.py",
        ],
        "gunicorn",
    );
    let root = diagnosis.report.findings.iter().find(|f| f.code == Code::CachesOwnedByRoot).unwrap();
    assert!(root.message.contains("preload_app in `"), "{}", root.message);

    let yaml = tree.path("uwsgi.yaml");
    std::fs::write(
        &yaml,
        format!("uwsgi:\n  uid: {}\n  optimize: 1\n  wsgi-file: {}/main.py\n", user.name, tree.root.display()),
    )
    .unwrap();
    let settings = Settings { server_config: Some(yaml), ..settings.clone() };
    let deployment = resolve(&settings);
    assert_eq!((deployment.optimize, deployment.scripts.clone()), (1, vec![tree.path("main.py")]));
    let diagnosis = run(&deployment);
    // main.py is the wsgi-file now: an entry script, no longer a module.
    assert_eq!(predictions(&tree, &diagnosis), ["pkg/__init__.py write-failed", "pkg/mod.py write-failed"]);
}
