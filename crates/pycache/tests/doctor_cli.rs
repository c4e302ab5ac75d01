//! `pycache doctor`, `clean` and `stub` as users run them: exit codes,
//! grouped text, JSON, errors.

use std::path::Path;
use std::process::{Command, Output};

use pycache_python::testing::reference;

fn pycache(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pycache"))
        .args(args)
        .current_dir(cwd)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env("PYCACHE_CACHE_DIR", cwd.join(".pycache-state"))
        .output()
        .expect("run pycache")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `app/` with two modules and the orphan cache of a third.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir_all(app.join("__pycache__")).unwrap();
    std::fs::write(app.join("a.py"), "A = 1\n").unwrap();
    std::fs::write(app.join("b.py"), "import a\n").unwrap();
    std::fs::write(app.join("__pycache__/gone.cpython-312.pyc"), b"\xcb\x0d\r\n").unwrap();
    dir
}

#[test]
fn doctor_groups_findings_most_severe_first_and_exits_1() {
    let Some(_) = reference(3, 12, "doctor_groups_findings_most_severe_first_and_exits_1") else { return };
    let dir = tree();
    let out = pycache(&["doctor", "app", "--python", "3.12"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let warning = stdout.find("warning: cache-missing (2): ").expect(&stdout);
    let info = stdout.find("info: orphan-cache (1): ").expect(&stdout);
    assert!(warning < info, "{stdout}");
    assert!(stdout.contains("  fix: pycache compile --python 3.12 "), "{stdout}");
    assert!(stdout.ends_with("0 errors, 2 warnings, 1 info\n"), "{stdout}");

    // Once compiled, only the orphan (info) is left: exit 0.
    let compile = pycache(&["compile", "app", "--python", "3.12"], dir.path());
    assert_eq!(compile.status.code(), Some(0), "{}", text(&compile.stderr));
    let out = pycache(&["doctor", "app", "--python", "3.12"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).ends_with("0 errors, 0 warnings, 1 info\n"), "{}", text(&out.stdout));
    // -q leaves info out.
    let quiet = pycache(&["doctor", "app", "--python", "3.12", "-q"], dir.path());
    assert!(!text(&quiet.stdout).contains("orphan-cache"), "{}", text(&quiet.stdout));
}

#[test]
fn doctor_json_has_the_documented_fields() {
    let Some(_) = reference(3, 12, "doctor_json_has_the_documented_fields") else { return };
    let dir = tree();
    let out = pycache(&["doctor", "app", "--python", "3.12", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3);
    for finding in findings {
        for key in ["code", "severity", "path", "message", "fix"] {
            assert!(finding[key].is_string(), "{key} in {finding}");
        }
    }
    assert_eq!(findings[0]["severity"], "warning");
    assert_eq!(findings[2]["code"], "orphan-cache");
    let summary = &json["summary"];
    assert_eq!(
        (summary["errors"].as_u64(), summary["warnings"].as_u64(), summary["infos"].as_u64()),
        (Some(0), Some(2), Some(1))
    );
    assert_eq!(summary["by_code"]["cache-missing"], 2);
    assert_eq!(summary["sources"], 2);
    assert_eq!(json["predictions"].as_array().unwrap().len(), 2);
}

#[test]
fn doctor_probe_runs_the_interpreter() {
    let Some(_) = reference(3, 12, "doctor_probe_runs_the_interpreter") else { return };
    let dir = tree();
    let out = pycache(&["doctor", "app", "--python", "3.12", "--probe"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("probe (imports as `"), "{stdout}");
    assert!(stdout.contains("2 agree with the prediction, 0 disagree, 0 not imported"), "{stdout}");
    assert!(stdout.contains("Python 3.12.1: 2 compiled") || stdout.contains(": 2 compiled"), "{stdout}");
    // The probe's imports wrote the caches.
    assert!(dir.path().join("app/__pycache__/a.cpython-312.pyc").is_file());
    let json = pycache(&["doctor", "app", "--python", "3.12", "--probe", "--format", "json"], dir.path());
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let rows = json["probe"]["rows"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["observed"] == "hit" && r["agrees"] == true), "{rows:?}");
}

#[test]
fn doctor_usage_errors_exit_2() {
    let dir = tree();
    let conf = dir.path().join("strange.txt");
    std::fs::write(&conf, "nothing here\n").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["doctor"], "no paths to examine"),
        (&["doctor", "missing-dir"], "does not exist"),
        (&["doctor", "app", "--user", "no-such-user-pycache"], "no user `no-such-user-pycache`"),
        (&["doctor", "app", "--python", "9.9"], "no Python interpreter matches `9.9`"),
        (&["doctor", "app", "--server-config", "strange.txt"], "not a configuration pycache recognises"),
        (&["doctor", "app", "-o", "3"], "3"),
        (&["clean", "app"], "nothing selected"),
        (&["stub", "app/none.py"], "cannot read"),
    ];
    for (args, needle) in cases {
        let out = pycache(args, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(needle), "{args:?}: {}", text(&out.stderr));
    }
}

#[test]
fn clean_lists_then_removes_and_reports_json() {
    let dir = tree();
    std::fs::write(dir.path().join("app/__pycache__/a.cpython-312.pyc.77"), b"partial").unwrap();
    let dry = pycache(&["clean", "app", "--orphans", "--debris", "--dry-run"], dir.path());
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    let stdout = text(&dry.stdout);
    assert!(stdout.contains("would remove "), "{stdout}");
    assert!(stdout.contains("gone.cpython-312.pyc (orphan: "), "{stdout}");
    assert!(stdout.contains("would remove 2 files, 11 bytes freed, 1 empty __pycache__ directory"), "{stdout}");
    assert!(dir.path().join("app/__pycache__/gone.cpython-312.pyc").exists());
    let out = pycache(&["clean", "app", "--orphans", "--debris", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["files"], 2);
    assert_eq!(json["summary"]["bytes"], 11);
    assert_eq!(json["summary"]["dirs"], 1);
    assert_eq!(json["removed"][0]["reason"], "orphan");
    assert!(!dir.path().join("app/__pycache__").exists());
    assert!(dir.path().join("app/a.py").exists() && dir.path().join("app/b.py").exists());
}

#[test]
fn stub_dry_run_prints_the_change() {
    let dir = tree();
    let script = dir.path().join("app/app.wsgi");
    std::fs::write(&script, "application = None\n").unwrap();
    let out = pycache(&["stub", "app/app.wsgi", "--dry-run"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("would move the body of `app/app.wsgi` (19 bytes) to `app/app.wsgi-body.py`\n"),
        "{stdout}"
    );
    assert!(stdout.contains("    exec(_pycache_stub_code('app.wsgi-body.py'))"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&script).unwrap(), "application = None\n");
    let out = pycache(&["stub", "app/app.wsgi"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("is now a stub"), "{}", text(&out.stdout));
    let again = pycache(&["stub", "app/app.wsgi"], dir.path());
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("already a pycache stub"), "{}", text(&again.stderr));
}

#[test]
fn doctor_into_a_closed_pipe_ends_quietly() {
    let Some(_) = reference(3, 12, "doctor_into_a_closed_pipe_ends_quietly") else { return };
    let dir = tree();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{} doctor app --python 3.12 --format json | head -c 5", env!("CARGO_BIN_EXE_pycache")))
        .current_dir(dir.path())
        .env("PYCACHE_CACHE_DIR", dir.path().join(".pycache-state"))
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "{\n  \"");
    assert!(!text(&out.stderr).contains("error"), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("panicked"), "{}", text(&out.stderr));
}
