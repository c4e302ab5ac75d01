//! Caches nobody uses and leftovers: orphans, other versions' caches,
//! temporary files of interrupted writes, `.pyc` files beside sources, and
//! entry scripts that are never cached, from real interpreters' caches.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;
use pycache_doctor::probe::{Observed, ProbeOptions};
use pycache_doctor::{Code, Prediction, Settings};

#[test]
fn orphans_foreign_versions_debris_and_legacy_bytecode() {
    let test = "orphans_foreign_versions_debris_and_legacy_bytecode";
    let (Some(py27), Some(py36), Some(py312)) = (
        pycache_python::testing::reference(2, 7, test),
        pycache_python::testing::reference(3, 6, test),
        pycache_python::testing::reference(3, 12, test),
    ) else {
        return;
    };
    let tree = Tree::new(&[
        ("pkg/__init__.py", ""),
        ("pkg/keep.py", "A = 1\n"),
        ("pkg/gone.py", "B = 1\n"),
        ("old.py", "C = 1\n"),
    ]);
    tree.compileall(&py312, 0, &[]);
    tree.compileall(&py36, 0, &[]);
    tree.compileall(&py27, 0, &[]);
    // gone.py is deleted; its 3.x caches are orphans, and 2.7's pkg/gone.pyc
    // (beside the sources) now is the module.
    std::fs::remove_file(tree.path("pkg/gone.py")).unwrap();
    // old.pyc, compiled by 3.12 with -b: imported in place of old.py if that goes.
    let out = std::process::Command::new(&py312.path)
        .args(["-m", "compileall", "-q", "-b"])
        .arg(tree.path("old.py"))
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::copy(tree.path("__pycache__/old.cpython-312.pyc"), tree.path("legacy_only.pyc")).unwrap();
    std::fs::write(tree.path("pkg/__pycache__/keep.cpython-312.pyc.140212"), b"partial").unwrap();

    let diagnosis = run(&resolve(&settings(&tree, &py312, None)));
    assert_findings(
        &tree,
        &diagnosis,
        &[
            "info foreign-version __pycache__/old.cpython-36.pyc",
            "info foreign-version pkg/__pycache__/__init__.cpython-36.pyc",
            "info foreign-version pkg/__pycache__/keep.cpython-36.pyc",
            "info legacy-pyc old.pyc",
            "info legacy-pyc pkg/__init__.pyc",
            "info legacy-pyc pkg/keep.pyc",
            "info orphan-cache pkg/__pycache__/gone.cpython-312.pyc",
            "info orphan-cache pkg/__pycache__/gone.cpython-36.pyc",
            "info temp-debris pkg/__pycache__/keep.cpython-312.pyc.140212",
            "warning legacy-pyc legacy_only.pyc",
            "warning legacy-pyc pkg/gone.pyc",
        ],
        "3.12",
    );
    let only = diagnosis.report.findings.iter().find(|f| f.path.ends_with("legacy_only.pyc")).unwrap();
    assert!(only.message.contains("Python 3.12 bytecode without"), "{}", only.message);
    assert!(only.message.contains("runs this bytecode"), "{}", only.message);
    let gone = diagnosis.report.findings.iter().find(|f| f.path.ends_with("pkg/gone.pyc")).unwrap();
    assert!(gone.message.contains("fails here (bad magic number)"), "{}", gone.message);
    let foreign = diagnosis.report.findings.iter().find(|f| f.code == Code::ForeignVersion).unwrap();
    assert_eq!(foreign.fix, format!("pycache clean --foreign --python 3.12 {}", tree.root.display()));
    // Nothing here is at warning level for the caches themselves: every
    // module's 3.12 cache is fresh.
    assert!(diagnosis.predictions.iter().all(|p| p.prediction == Prediction::Hit));
    assert_probe_agrees(&resolve(&settings(&tree, &py312, None)), &diagnosis, "3.12");

    // The same tree, run by 2.7 and 3.6: their caches are in use, 3.12's are foreign.
    let both = Settings {
        python: vec![py27.path.display().to_string(), py36.path.display().to_string()],
        ..settings(&tree, &py27, None)
    };
    let deployment = resolve(&both);
    let diagnosis = run(&deployment);
    let foreign: Vec<String> =
        findings(&tree, &diagnosis).into_iter().filter(|f| f.contains("foreign-version")).collect();
    assert_eq!(
        foreign,
        [
            "info foreign-version __pycache__/old.cpython-312.pyc",
            "info foreign-version pkg/__pycache__/__init__.cpython-312.pyc",
            "info foreign-version pkg/__pycache__/keep.cpython-312.pyc",
        ]
    );
    // 2.7 reads old.pyc beside old.py as its own cache, written by 3.12:
    // a cache of another interpreter, rewritten on the first import.
    let old = diagnosis
        .report
        .findings
        .iter()
        .find(|f| f.path.ends_with("old.py") && f.python.as_deref() == Some(&py27.label()))
        .unwrap();
    assert_eq!(old.code, Code::CacheStale);
    assert!(old.message.contains("another interpreter's magic number"), "{}", old.message);
    assert_probe_agrees(&deployment, &diagnosis, "2.7 and 3.6");
}

#[test]
fn entry_scripts_from_apache_cgi_and_executables() {
    let test = "entry_scripts_from_apache_cgi_and_executables";
    let Some(python) = pycache_python::testing::reference(3, 12, test) else { return };
    let body: String = (0..60).map(|i| format!("def handler_{i}(environ):\n    return [b'{i}']\n\n")).collect();
    let tree = Tree::new(&[
        ("app.wsgi", &format!("{body}application = handler_0\n")),
        ("small.wsgi", "from app.routes import application\n"),
        ("cgi-bin/form.py", &format!("#!/usr/bin/python3\n{body}")),
        ("bin/tool", &format!("#!/usr/bin/env python3\n{body}")),
        ("lib/util.py", "X = 1\n"),
    ]);
    std::fs::set_permissions(tree.path("bin/tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(tree.path("cgi-bin/form.py"), std::fs::Permissions::from_mode(0o755)).unwrap();
    tree.compileall(&python, 0, &[]);
    let conf = tree.path("site.conf");
    std::fs::write(
        &conf,
        format!(
            "<VirtualHost *:80>\n    WSGIScriptAlias / {root}/app.wsgi\n    ScriptAlias /cgi-bin/ {root}/cgi-bin/\n</VirtualHost>\nUser root\n",
            root = tree.root.display()
        ),
    )
    .unwrap();
    let settings = Settings { server_config: Some(conf), ..settings(&tree, &python, None) };
    let deployment = resolve(&settings);
    let diagnosis = run(&deployment);
    assert_findings(
        &tree,
        &diagnosis,
        &[
            "info script-not-cached bin/tool",
            "warning script-not-cached app.wsgi",
            "warning script-not-cached cgi-bin/form.py",
        ],
        "3.12",
    );
    for finding in &diagnosis.report.findings {
        assert!(finding.message.contains("ms to compile with Python 3.12"), "{}", finding.message);
        assert!(finding.fix.starts_with("pycache stub "), "{}", finding.fix);
    }
    // The CGI script is never imported: no prediction for it.
    assert_eq!(predictions(&tree, &diagnosis), ["lib/util.py hit"]);
    assert_probe_agrees(&deployment, &diagnosis, "3.12");
}

#[test]
fn a_uwsgi_wsgi_file_can_become_a_module() {
    let test = "a_uwsgi_wsgi_file_can_become_a_module";
    let Some(python) = pycache_python::testing::reference(3, 12, test) else { return };
    let body: String = (0..60).map(|i| format!("def view_{i}():\n    return {i}\n\n")).collect();
    let tree = Tree::new(&[("wsgi.py", &format!("{body}application = None\n"))]);
    let ini = tree.path("app.ini");
    std::fs::write(&ini, format!("[uwsgi]\nwsgi-file = {}/wsgi.py\n", tree.root.display())).unwrap();
    let settings =
        Settings { server_config: Some(ini), paths: vec![tree.root.clone()], ..settings(&tree, &python, None) };
    let diagnosis = run(&resolve(&settings));
    assert_findings(&tree, &diagnosis, &["warning script-not-cached wsgi.py"], "3.12");
    let fix = &diagnosis.report.findings[0].fix;
    assert!(fix.contains("`module = wsgi` instead of `wsgi-file`"), "{fix}");
}

#[test]
fn the_probe_reports_what_was_not_predicted() {
    let test = "the_probe_reports_what_was_not_predicted";
    let Some(python) = pycache_python::testing::reference(3, 12, test) else { return };
    let tree = Tree::new(&[("a.py", "A = 1\n"), ("b.py", "import a\n")]);
    let deployment = resolve(&settings(&tree, &python, None));
    let mut diagnosis = run(&deployment);
    // Doctor says both compile; claim instead that `a` is a hit.
    let row = diagnosis.predictions.iter_mut().find(|p| p.source.ends_with("a.py")).unwrap();
    assert_eq!(row.prediction, Prediction::Compiled);
    row.prediction = Prediction::Hit;
    let report = pycache_doctor::probe::probe(&deployment, &diagnosis, ProbeOptions::default()).unwrap();
    assert_eq!((report.agreed, report.disagreed, report.unobserved), (1, 1, 0));
    let wrong: Vec<_> = report.disagreements().collect();
    assert_eq!(wrong.len(), 1);
    assert_eq!((wrong[0].module.as_str(), wrong[0].observed), ("a", Observed::Compiled));
}

#[test]
fn regression_doctor_reports_a_symlinked_pycache() {
    // The attack of the issue: `app/__pycache__` points into another tree,
    // so that compiling or importing `app` reads and writes the victim's
    // caches; a single cache file can be linked the same way.
    let test = "regression_doctor_reports_a_symlinked_pycache";
    let Some(py312) = pycache_python::testing::reference(3, 12, test) else { return };
    let tree = Tree::new(&[("mod.py", "X = 1\n"), ("pkg/__init__.py", ""), ("pkg/m.py", "Y = 2\n")]);
    let victim = tree.root.parent().unwrap().join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("mod.py"), "X = 1\n").unwrap();
    let out = std::process::Command::new(&py312.path)
        .args(["-m", "compileall", "-q"])
        .arg(&victim)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .output()
        .unwrap();
    assert!(out.status.success());
    std::os::unix::fs::symlink(victim.join("__pycache__"), tree.path("__pycache__")).unwrap();
    std::fs::create_dir(tree.path("pkg/__pycache__")).unwrap();
    std::os::unix::fs::symlink(
        victim.join("__pycache__/mod.cpython-312.pyc"),
        tree.path("pkg/__pycache__/m.cpython-312.pyc"),
    )
    .unwrap();
    // `pkg/m.py` takes the size and mtime of the victim's `mod.py`: the
    // linked cache's header then matches, and its code runs as `pkg.m`.
    let victim_mtime = std::fs::metadata(victim.join("mod.py")).unwrap().modified().unwrap();
    std::fs::File::options().write(true).open(tree.path("pkg/m.py")).unwrap().set_modified(victim_mtime).unwrap();

    let deployment = resolve(&settings(&tree, &py312, None));
    let diagnosis = run(&deployment);
    // The two modules whose caches go through links get no advice to
    // compile through them, only the link's finding.
    assert_findings(
        &tree,
        &diagnosis,
        &[
            "error cache-symlink __pycache__",
            "error cache-symlink pkg/__pycache__/m.cpython-312.pyc",
            "warning cache-missing pkg/__init__.py",
        ],
        "3.12",
    );
    let link = diagnosis.report.findings.iter().find(|f| f.path == tree.path("__pycache__")).unwrap();
    assert!(
        link.message.contains(&format!("symbolic link to `{}`", victim.join("__pycache__").display())),
        "{}",
        link.message
    );
    assert_eq!(link.severity, pycache_doctor::Severity::Error);
    assert!(
        link.fix.starts_with(&format!(
            "rm {} (removes the link, not what it points to), then pycache compile",
            tree.path("__pycache__").display()
        )),
        "{}",
        link.fix
    );
    // The importer does follow the links, as the predictions say.
    assert_eq!(predictions(&tree, &diagnosis), ["mod.py hit", "pkg/__init__.py compiled", "pkg/m.py hit"]);
    assert_eq!(std::fs::read_dir(victim.join("__pycache__")).unwrap().count(), 1, "nothing written through the link");
    assert_probe_agrees(&deployment, &diagnosis, "3.12");
}

#[test]
fn regression_doctor_says_a_module_with_a_syntax_error_cannot_be_imported() {
    // It said `cache-missing` and advised `pycache compile`, which can
    // never succeed. Each interpreter's verdict and message are held
    // against what importing the module prints.
    let test = "regression_doctor_says_a_module_with_a_syntax_error_cannot_be_imported";
    let modules = [
        ("bad", "def f(:\n    pass\n"),
        // Tabs and spaces: TabError on 3.x, fine on 2.7 (a tab is 8 columns).
        ("tab", "if True:\n\tx = 1\n        y = 2\n"),
        // Refused by the compiler, after parsing.
        ("ret", "x = 1\n\nreturn x\n"),
    ];
    for python in interpreters(test) {
        let label = python.label();
        let mut files: Vec<(String, &str)> = modules.iter().map(|(m, text)| (format!("{m}.py"), *text)).collect();
        files.push(("good.py".into(), "X = 1\n"));
        let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), *t)).collect();
        let tree = Tree::new(&files);
        let deployment = resolve(&settings(&tree, &python, None));
        let diagnosis = run(&deployment);
        let mut expected = vec!["warning cache-missing good.py".to_owned()];
        for (module, _) in modules {
            let import = std::process::Command::new(&python.path)
                .args(["-B", "-c", &format!("import {module}")])
                .current_dir(&tree.root)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&import.stderr).into_owned();
            let path = tree.path(&format!("{module}.py"));
            let finding = diagnosis.report.findings.iter().find(|f| f.path == path);
            if import.status.success() {
                expected.push(format!("warning cache-missing {module}.py"));
                continue;
            }
            expected.push(format!("error syntax-error {module}.py"));
            let finding = finding.unwrap_or_else(|| panic!("{label}: no finding for {module}.py"));
            let error = stderr.lines().last().unwrap();
            assert!(finding.message.contains(error), "{label}: `{error}` not in: {}", finding.message);
            let line = stderr
                .lines()
                .find_map(|l| l.split_once(&format!("{module}.py\", line ")).map(|(_, n)| n.trim().to_owned()))
                .unwrap_or_else(|| panic!("{label}: no line in {stderr}"));
            assert!(finding.message.contains(&format!("(line {line}")), "{label}: line {line}: {}", finding.message);
            assert!(finding.message.contains("Importing the module fails"), "{}", finding.message);
            assert!(!finding.fix.contains("pycache compile"), "{label}: {}", finding.fix);
            assert_eq!(finding.python.as_deref(), Some(label.as_str()));
        }
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        assert_findings(&tree, &diagnosis, &expected, &label);
        // Again: the failures are found again (only sources that compiled
        // are remembered), and a remembered source that changes is
        // compiled again.
        assert_findings(&tree, &run(&deployment), &expected, &label);
        let memory = pycache_python::default_cache_dir().unwrap().join("doctor-compiles.json");
        let memory = std::fs::read_to_string(memory).unwrap();
        assert!(memory.contains(&format!("\\u0000{}\"", tree.path("good.py").display())), "{label}: remembered");
        assert!(!memory.contains(&format!("\\u0000{}\"", tree.path("bad.py").display())), "{label}");
        std::fs::write(tree.path("good.py"), "X = (\n").unwrap();
        let again = run(&deployment);
        let good = again.report.findings.iter().find(|f| f.path == tree.path("good.py")).unwrap();
        assert_eq!(good.code, pycache_doctor::Code::SyntaxError, "{label}: {}", good.message);
        std::fs::write(tree.path("good.py"), "X = 1\n").unwrap();
        assert_probe_agrees(&deployment, &run(&deployment), &label);
    }
}
