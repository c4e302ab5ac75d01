//! `doctor` on the interpreter's own library: a planted interpreter whose
//! standard library (a copy, owned by root, with no caches) a service user
//! imports at level 2. doctor must report the standard modules the
//! application loads as compiled in every process, with the fix, and the
//! fix it prints must turn them into hits under `--probe`.

#[path = "../../pycache-doctor/tests/common/mod.rs"]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Account, exposed};
use pycache_python::Interpreter;
use pycache_python::testing::reference;

mod run;
use run::{pycache_writing as pycache, text};

/// Directories of the standard library the application never needs: left
/// out of the copy to keep it small.
const SKIPPED: &[&str] =
    &["test", "idlelib", "tkinter", "lib2to3", "turtledemo", "ensurepip", "site-packages", "__pycache__", "pydoc_data"];

/// An interpreter of its own under `root`: a copy of `python`'s binary and
/// of its standard library's sources (no caches), the extension modules
/// linked in. Returns the binary, or `None` when the copy does not take
/// its standard library from the copy (another layout than CPython's own).
fn plant(python: &Interpreter, root: &Path) -> Option<PathBuf> {
    let (a, b, _) = python.version;
    let lib = format!("lib/python{a}.{b}");
    let real = std::fs::canonicalize(&python.executable).unwrap();
    let base = python.base_prefix.join(&lib);
    let bin = root.join("bin").join(format!("python{a}.{b}"));
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(&real, &bin).unwrap();
    let stdlib = root.join(&lib);
    let walk = walkdir::WalkDir::new(&base).into_iter().filter_entry(|e| {
        e.depth() == 0 || !e.file_type().is_dir() || !SKIPPED.contains(&e.file_name().to_str().unwrap_or(""))
    });
    for entry in walk {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(&base).unwrap();
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "py") {
            let to = stdlib.join(rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
    std::os::unix::fs::symlink(base.join("lib-dynload"), stdlib.join("lib-dynload")).unwrap();
    for entry in walkdir::WalkDir::new(root) {
        let entry = entry.unwrap();
        if !entry.path_is_symlink() {
            let mode = if entry.file_type().is_dir() || entry.path() == bin { 0o755 } else { 0o644 };
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
    let out = Command::new(&bin).args(["-E", "-s", "-c", "import sys; print(sys.prefix)"]).output().unwrap();
    (String::from_utf8_lossy(&out.stdout).trim() == root.to_str().unwrap()).then_some(bin)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)))
}

/// Runs a fix doctor printed, as a shell command, with this build's pycache
/// first on PATH.
fn run_fix(fix: &str, cwd: &Path) {
    let bin = Path::new(env!("CARGO_BIN_EXE_pycache")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("sh")
        .args(["-c", fix])
        .current_dir(cwd)
        .env("PATH", path)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env("PYCACHE_CACHE_DIR", cwd.join(".pycache-state"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{fix}: {}{}", text(&out.stdout), text(&out.stderr));
}

const APP: &str = "\
import argparse
import email.message
import http.client
import json
import cli_tool


def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'application/json')])
    return [json.dumps({'ok': True}).encode()]
";

/// A site-packages module that needs its docstring (under -OO, `main`
/// fails).
const CLI_TOOL: &str = "\
\"\"\"Usage: cli_tool [--verbose]\"\"\"


def docopt(doc):
    return doc.split()


def main():
    return docopt(__doc__)
";

#[test]
fn doctor_reports_the_standard_library_compiled_in_every_process_and_its_fix_makes_it_hits() {
    let test = "doctor_reports_the_standard_library_compiled_in_every_process_and_its_fix_makes_it_hits";
    let Some(user) = Account::create(test) else { return };
    let Some(python) = reference(3, 12, test) else { return };
    exposed(test, |reachable| {
        if !reachable {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let prefix = dir.path().join("python");
        let Some(bin) = plant(&python, &prefix) else {
            eprintln!("SKIP {test}: a copy of {python} does not take its standard library from beside it");
            return;
        };
        let stdlib = prefix.join("lib/python3.12");
        let site = stdlib.join("site-packages");
        std::fs::create_dir_all(&site).unwrap();
        std::fs::write(site.join("cli_tool.py"), CLI_TOOL).unwrap();
        let app = dir.path().join("app");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(app.join("app.py"), APP).unwrap();
        for path in [&site, &site.join("cli_tool.py"), &app, &app.join("app.py")] {
            let mode = if path.is_dir() { 0o755 } else { 0o644 };
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let bin_arg = bin.display().to_string();
        // The application's own module is compiled, so that what is left is
        // the interpreter's.
        let out = pycache(&["compile", "-q", "--python", &bin_arg, "-o", "2", "app"], dir.path());
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let doctor = |probe: bool| {
            let mut args =
                vec!["doctor", "app", "--python", &bin_arg, "-o", "2", "--user", &user.name, "--format", "json"];
            if probe {
                args.push("--probe");
            }
            pycache(&args, dir.path())
        };
        let library_findings = |report: &serde_json::Value| -> Vec<serde_json::Value> {
            let findings = report["findings"].as_array().unwrap();
            findings.iter().filter(|f| f["code"] == "library-not-cached").cloned().collect()
        };

        // Without --probe: every module on sys.path.
        let out = doctor(false);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let report = json(&out);
        let findings = library_findings(&report);
        assert_eq!(findings.len(), 2, "{findings:#?}");
        let stdlib_finding = findings.iter().find(|f| f["path"] == stdlib.to_str().unwrap()).expect("the stdlib");
        let message = stdlib_finding["message"].as_str().unwrap();
        assert!(message.contains("standard library module(s) under"), "{message}");
        assert!(message.contains("have no cache at level 2"), "{message}");
        assert!(message.contains(&format!("`{}` cannot write one", user.name)), "{message}");
        assert!(message.contains("every process compiles each of them that it imports"), "{message}");
        assert_eq!(stdlib_finding["severity"], "error");
        assert_eq!(
            stdlib_finding["fix"].as_str().unwrap(),
            format!("pycache compile --python 3.12 -o 2 {}", stdlib.display())
        );

        // With --probe: the modules the application loaded.
        let out = doctor(true);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let report = json(&out);
        let probe = &report["probe"];
        let library = probe["library"].as_array().unwrap();
        let module = |name: &str| library.iter().find(|r| r["module"] == name).unwrap_or_else(|| panic!("{name}"));
        for name in ["argparse", "email.message", "http.client", "json", "json.decoder", "cli_tool"] {
            assert_eq!(module(name)["observed"], "write-failed", "{name}");
            assert_eq!(module(name)["agrees"], true, "{name}");
        }
        assert_eq!(probe["library_disagreed"], 0, "{library:#?}");
        // Frozen modules never use a cache.
        assert!(library.iter().all(|r| r["module"] != "os"), "{library:#?}");
        let findings = library_findings(&report);
        assert_eq!(findings.len(), 2, "{findings:#?}");
        let stdlib_finding = findings.iter().find(|f| f["path"] == stdlib.to_str().unwrap()).unwrap();
        let loaded = library.iter().filter(|r| r["source"].as_str().unwrap().starts_with(stdlib.to_str().unwrap()));
        let loaded = loaded.filter(|r| !r["source"].as_str().unwrap().starts_with(site.to_str().unwrap())).count();
        let message = stdlib_finding["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!(
                "{loaded} of the {loaded} standard library module(s) the application loaded from `{}`",
                stdlib.display()
            )),
            "{message}"
        );
        let fix = stdlib_finding["fix"].as_str().unwrap();
        assert!(fix.starts_with("pycache compile -l --python 3.12 -o 2 "), "{fix}");
        let words: Vec<&str> = fix.split(' ').collect();
        for dir in ["", "/email", "/http", "/json"] {
            assert!(words.contains(&format!("{}{dir}", stdlib.display()).as_str()), "{dir}: {fix}");
        }
        assert!(!fix.contains("/xml"), "only the directories of loaded modules: {fix}");
        // The -OO hazard in site-packages.
        let hazards: Vec<_> =
            report["findings"].as_array().unwrap().iter().filter(|f| f["code"] == "docstrings-needed").collect();
        assert_eq!(hazards.len(), 1, "{hazards:#?}");
        assert_eq!(hazards[0]["path"], site.join("cli_tool.py").to_str().unwrap());
        // The cost: every one of them, in every process, and none after the fix.
        let cost = &probe["cost"][0];
        let items = cost["items"].as_array().unwrap();
        assert_eq!(items.len(), library.len(), "{items:#?}");
        assert!(items.iter().all(|i| i["when"] == "every-process" && i["after_fix_ms"] == 0.0), "{items:#?}");
        assert!(cost["per_process_ms"].as_f64().unwrap() > 0.0, "{cost}");
        assert_eq!(cost["after_fixes_ms"], 0.0);

        // The printed fixes make them hits.
        for finding in &findings {
            run_fix(finding["fix"].as_str().unwrap(), dir.path());
        }
        let out = doctor(true);
        let report = json(&out);
        assert!(library_findings(&report).is_empty(), "{:#?}", report["findings"]);
        let library = report["probe"]["library"].as_array().unwrap();
        assert!(library.len() >= 20, "{library:#?}");
        assert!(library.iter().all(|r| r["observed"] == "hit" && r["agrees"] == true), "{library:#?}");
        assert_eq!(report["probe"]["cost"][0]["per_process_ms"], 0.0);
        // Text: the library's line in the probe's summary.
        let out =
            pycache(&["doctor", "app", "--python", &bin_arg, "-o", "2", "--user", &user.name, "--probe"], dir.path());
        let stdout = text(&out.stdout);
        assert!(stdout.contains(&format!("Python 3.12.1: {} hit", library.len())), "{stdout}");
        assert!(stdout.contains("compile cost per process start, Python 3.12.1 at level 2: 0.0 ms"), "{stdout}");
    });
}
