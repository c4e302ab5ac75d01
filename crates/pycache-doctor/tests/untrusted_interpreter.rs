//! The deployment's own interpreter, when another user can change it, never
//! runs with pycache's privileges: doctor identifies it from its files, or
//! runs it as the service user, or refuses.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::*;
use pycache_doctor::launch::Launch;
use pycache_doctor::{Deployment, DeploymentError, Settings};
use pycache_python::{Interpreter, ProbeCache};

/// `app/venv/bin/python`: a shell script that appends the uid it runs as to
/// `log`, then runs the real interpreter, as the reproduction.
struct Venv {
    tree: Tree,
    log: PathBuf,
}

impl Venv {
    fn new(real: &Interpreter, user: &Account, config: &str) -> Self {
        let tree = Tree::new(&[
            ("mod.py", "X = 1\n"),
            ("app.wsgi", &format!("import mod\n{}application = None\n", "# padding\n".repeat(150))),
        ]);
        let log = tree.root.parent().unwrap().join("uids.log");
        std::fs::write(&log, "").unwrap();
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666)).unwrap();
        let real_path = std::fs::canonicalize(&real.path).unwrap();
        tree.write(
            "venv/bin/python",
            &format!("#!/bin/sh\nid -u >> {}\nexec {} \"$@\"\n", log.display(), real_path.display()),
        );
        std::fs::set_permissions(tree.path("venv/bin/python"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let (a, b, c) = real.version;
        let config = config
            .replace("HOME", &real_path.parent().unwrap().display().to_string())
            .replace("VERSION", &format!("{a}.{b}.{c}"));
        tree.write("venv/pyvenv.cfg", &config);
        tree.chown_r("venv", user.uid, user.gid);
        Self { tree, log }
    }

    /// The uids the script ran as.
    fn uids(&self) -> Vec<u32> {
        std::fs::read_to_string(&self.log).unwrap().lines().map(|l| l.trim().parse().unwrap()).collect()
    }

    fn settings(&self, user: Option<&str>) -> Settings {
        Settings { paths: vec![self.tree.root.clone()], user: user.map(str::to_owned), ..Settings::default() }
    }
}

/// A probe cache with nothing in it, so that every interpreter is asked.
fn fresh() -> ProbeCache {
    ProbeCache::open(None)
}

fn python(venv: &Venv) -> PathBuf {
    venv.tree.path("venv/bin/python")
}

#[test]
fn regression_doctor_as_root_never_runs_the_service_users_interpreter() {
    let test = "regression_doctor_as_root_never_runs_the_service_users_interpreter";
    let Some(user) = Account::create(test) else { return };
    let Some(real) = pycache_python::testing::reference(3, 12, test) else { return };
    let venv = Venv::new(&real, &user, "home = HOME\ninclude-system-site-packages = false\nversion = VERSION\n");
    let deployment = Deployment::resolve(&venv.settings(Some(&user.name)), &fresh()).expect("resolves");
    let diagnosis = run(&deployment);
    assert_eq!(venv.uids(), Vec::<u32>::new(), "the script never ran: it was identified from its files");
    assert_eq!(deployment.targets.len(), 1);
    let target = &deployment.targets[0];
    assert_eq!((target.path.as_path(), target.version), (python(&venv).as_path(), real.version));
    assert!(target.in_virtualenv(), "{target:?}");
    assert!(
        matches!(&deployment.launches[0], Launch::Base { base, .. } if *base == std::fs::canonicalize(&real.path).unwrap()),
        "{:?}",
        deployment.launches
    );
    let note = deployment.notes.iter().find(|n| n.contains("without running it")).expect("a note says so");
    assert!(note.contains(&format!("belongs to `{}`", user.name)), "{note}");
    // The entry script's compile was timed by the base interpreter, and the
    // advice names that one, not the file the service user controls.
    let script = diagnosis.report.findings.iter().find(|f| f.path.ends_with("app.wsgi")).expect("script-not-cached");
    assert!(script.message.contains("ms to compile with Python 3.12"), "{}", script.message);
    let missing = diagnosis.report.findings.iter().find(|f| f.path.ends_with("mod.py")).expect("cache-missing");
    let base = std::fs::canonicalize(&real.path).unwrap();
    assert!(missing.fix.contains(&format!("--python {}", base.display())), "{}", missing.fix);
}

#[test]
fn regression_doctor_asks_an_unidentifiable_interpreter_as_the_service_user() {
    let test = "regression_doctor_asks_an_unidentifiable_interpreter_as_the_service_user";
    let Some(user) = Account::create(test) else { return };
    let Some(real) = pycache_python::testing::reference(3, 12, test) else { return };
    // The configuration names no home: nothing identifies the script
    // without running it.
    let venv = Venv::new(&real, &user, "include-system-site-packages = false\n");
    exposed(test, |exposed| {
        if !exposed {
            return;
        }
        let deployment = Deployment::resolve(&venv.settings(Some(&user.name)), &fresh()).expect("resolves");
        assert!(matches!(deployment.launches[0], Launch::AsServiceUser { .. }), "{:?}", deployment.launches);
        assert_eq!(deployment.targets[0].version, real.version);
        let diagnosis = run(&deployment);
        let uids = venv.uids();
        assert!(!uids.is_empty(), "the script was asked");
        assert!(uids.iter().all(|&uid| uid == user.uid), "only ever as the service user: {uids:?}");
        assert!(
            deployment.notes.iter().any(|n| n.contains(&format!("was run as `{}`", user.name))),
            "{:?}",
            deployment.notes
        );
        assert!(diagnosis.report.findings.iter().any(|f| f.path.ends_with("app.wsgi")));
        // --probe imports as the service user too.
        let report = pycache_doctor::probe::probe(&deployment, &diagnosis, Default::default()).unwrap();
        assert_eq!(report.user, user.name);
        assert!(venv.uids().iter().all(|&uid| uid == user.uid), "{:?}", venv.uids());
    });
}

#[test]
fn regression_doctor_refuses_to_run_an_interpreter_another_user_controls_as_root() {
    let test = "regression_doctor_refuses_to_run_an_interpreter_another_user_controls_as_root";
    let Some(user) = Account::create(test) else { return };
    let Some(real) = pycache_python::testing::reference(3, 12, test) else { return };
    let venv = Venv::new(&real, &user, "include-system-site-packages = false\n");
    // No service user: doctor judges as root, and cannot run the script as
    // anyone else.
    let err = Deployment::resolve(&venv.settings(None), &fresh()).unwrap_err();
    assert!(matches!(err, DeploymentError::Untrusted { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(&format!("`{}` belongs to `{}`", python(&venv).display(), user.name)), "{text}");
    assert!(text.contains("--user"), "{text}");
    // Named with --python, the same.
    let settings = Settings { python: vec![python(&venv).display().to_string()], ..venv.settings(None) };
    assert!(matches!(Deployment::resolve(&settings, &fresh()), Err(DeploymentError::Untrusted { .. })));
    assert_eq!(venv.uids(), Vec::<u32>::new(), "never run");
}

#[test]
fn an_interpreter_only_root_can_change_runs_as_it_is() {
    let test = "an_interpreter_only_root_can_change_runs_as_it_is";
    let Some(user) = Account::create(test) else { return };
    let Some(real) = pycache_python::testing::reference(3, 12, test) else { return };
    let venv = Venv::new(&real, &user, "home = HOME\nversion = VERSION\n");
    venv.tree.chown_r("venv", 0, 0);
    let deployment = Deployment::resolve(&venv.settings(Some(&user.name)), &fresh()).expect("resolves");
    assert_eq!(deployment.launches, [Launch::Direct]);
    assert_eq!(venv.uids(), [0], "probed once, as root");
    // A group or everyone with write access, or the directory above, is
    // another user again.
    for (path, mode) in [("venv/bin/python", 0o775), ("venv/bin", 0o777), ("venv", 0o1777), ("venv/pyvenv.cfg", 0o666)]
    {
        let path = venv.tree.path(path);
        let old = std::fs::metadata(&path).unwrap().permissions();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        if mode & 0o020 != 0 {
            std::os::unix::fs::chown(&path, None, Some(user.gid)).unwrap();
        }
        let deployment = Deployment::resolve(&venv.settings(Some(&user.name)), &fresh()).expect("resolves");
        assert!(matches!(deployment.launches[0], Launch::Base { .. }), "{}: {:?}", path.display(), deployment.launches);
        std::fs::set_permissions(&path, old).unwrap();
        std::os::unix::fs::chown(&path, None, Some(0)).unwrap();
    }
    assert_eq!(venv.uids(), [0], "and never again");
}
