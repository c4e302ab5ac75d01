//! `pycache doctor`, `clean` and `stub` as users run them: exit codes,
//! grouped text, JSON, errors.

use std::path::Path;
use std::process::{Command, Output};

use pycache_python::testing::reference;

mod run;
use run::{pycache_writing as pycache, text};

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

/// A system user for the life of the value, or `None` (after a SKIP line)
/// when the tests do not run as root.
struct Account {
    name: String,
    uid: u32,
    gid: u32,
}

impl Account {
    fn create(test: &str) -> Option<Self> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIP {test}: not running as root, so no service user can be created");
            return None;
        }
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("pcc{}x{n}", std::process::id());
        for attempt in 0..50 {
            let status = Command::new("useradd")
                .args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", &name])
                .status()
                .expect("useradd");
            if status.success() {
                let user = nix::unistd::User::from_name(&name).unwrap().expect("the new user exists");
                return Some(Self { name, uid: user.uid.as_raw(), gid: user.gid.as_raw() });
            }
            // 1 and 10: another process holds the password file's lock.
            assert!(matches!(status.code(), Some(1 | 10)), "useradd {name} failed");
            std::thread::sleep(std::time::Duration::from_millis(50 + 20 * attempt));
        }
        panic!("useradd {name}: the password file stayed locked");
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        for attempt in 0..50 {
            let status = Command::new("userdel").arg(&self.name).status().expect("userdel");
            if status.success() || !matches!(status.code(), Some(1 | 10)) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50 + 20 * attempt));
        }
    }
}

#[test]
fn regression_doctor_as_root_never_runs_a_venv_python_the_service_user_owns() {
    // The reproduction: `app/venv/bin/python` belongs to the service
    // user and logs `id` before running the real interpreter.
    let test = "regression_doctor_as_root_never_runs_a_venv_python_the_service_user_owns";
    let Some(user) = Account::create(test) else { return };
    let Some(python) = reference(3, 12, test) else { return };
    let real = std::fs::canonicalize(&python.path).unwrap();
    let dir = tree();
    let log = dir.path().join("id.log");
    std::fs::write(&log, "").unwrap();
    std::fs::set_permissions(&log, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let venv = dir.path().join("app/venv");
    std::fs::create_dir_all(venv.join("bin")).unwrap();
    let script = venv.join("bin/python");
    std::fs::write(&script, format!("#!/bin/sh\nid >> {}\nexec {} \"$@\"\n", log.display(), real.display())).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (a, b, c) = python.version;
    std::fs::write(
        venv.join("pyvenv.cfg"),
        format!(
            "home = {}\ninclude-system-site-packages = false\nversion = {a}.{b}.{c}\n",
            real.parent().unwrap().display()
        ),
    )
    .unwrap();
    for path in [&venv, &venv.join("bin"), &script, &venv.join("pyvenv.cfg")] {
        std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid)).unwrap();
    }
    let out = pycache(&["doctor", "app", "--user", &user.name, "-q"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "", "the service user's script ran");
    // clean, asked to keep its caches, identifies it the same way.
    let venv_python = script.display().to_string();
    let out = pycache(&["clean", "app", "--stale", "--python", &venv_python], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "", "the service user's script ran");
    // Without a service user, as root, it is refused rather than run.
    std::fs::write(venv.join("pyvenv.cfg"), "include-system-site-packages = false\n").unwrap();
    let out = pycache(&["doctor", "app"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("will not run"), "{}", text(&out.stderr));
    let out = pycache(&["clean", "app", "--stale", "--python", &venv_python], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("will not run"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "", "the service user's script ran");
}

/// `pycache ARGS` in `cwd`, as `user`.
fn pycache_as(user: &Account, args: &[&str], cwd: &Path) -> Output {
    use std::os::unix::process::CommandExt;
    Command::new(env!("CARGO_BIN_EXE_pycache"))
        .args(args)
        .current_dir(cwd)
        .uid(user.uid)
        .gid(user.gid)
        .env("PYCACHE_CACHE_DIR", cwd.join(format!(".pycache-state-{}", user.name)))
        .output()
        .expect("run pycache")
}

#[test]
fn regression_stub_run_by_a_non_owner_refuses_instead_of_taking_ownership() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let test = "regression_stub_run_by_a_non_owner_refuses_instead_of_taking_ownership";
    let Some(owner) = Account::create(test) else { return };
    let Some(other) = Account::create(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // A directory everyone may write in: the other user could replace the
    // script, and used to, taking it over.
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o777)).unwrap();
    let script = app.join("app.wsgi");
    std::fs::write(&script, "application = None\n").unwrap();
    std::os::unix::fs::chown(&script, Some(owner.uid), Some(owner.gid)).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let listing = || {
        let mut names: Vec<String> =
            std::fs::read_dir(&app).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    };
    let out = pycache_as(&other, &["stub", "app/app.wsgi"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}{}", text(&out.stdout), text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("belongs to `{}`, and you are `{}`", owner.name, other.name)), "{stderr}");
    assert_eq!(listing(), ["app.wsgi"], "nothing written");
    let meta = std::fs::metadata(&script).unwrap();
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o7777), (owner.uid, owner.gid, 0o644));
    assert_eq!(std::fs::read_to_string(&script).unwrap(), "application = None\n");
    // Its owner may.
    let out = pycache_as(&owner, &["stub", "app/app.wsgi"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let meta = std::fs::metadata(&script).unwrap();
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o7777), (owner.uid, owner.gid, 0o644));
    let body = std::fs::metadata(app.join("app.wsgi-body.py")).unwrap();
    assert_eq!((body.uid(), body.gid(), body.mode() & 0o7777), (owner.uid, owner.gid, 0o644));

    // An attribute only root may give (a `security.` one no security
    // module handles needs CAP_SYS_ADMIN): the owner is refused, and
    // nothing changes.
    let labelled = app.join("index.cgi");
    std::fs::write(&labelled, "print('hi')\n").unwrap();
    std::os::unix::fs::chown(&labelled, Some(owner.uid), Some(owner.gid)).unwrap();
    if let Err(err) = set_xattr(&labelled, "security.pycache-test", b"1") {
        eprintln!("SKIP {test} (root-only attribute part): the kernel refuses `security.pycache-test` ({err})");
        return;
    }
    let before = listing();
    let out = pycache_as(&owner, &["stub", "app/index.cgi"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("extended attribute `security.pycache-test`"), "{stderr}");
    assert!(stderr.contains("the script was left as it is"), "{stderr}");
    assert_eq!(listing(), before, "no body, no temporary file");
    assert_eq!(std::fs::read_to_string(&labelled).unwrap(), "print('hi')\n");
}

/// Sets an extended attribute (what `setfattr` does).
fn set_xattr(path: &Path, name: &str, value: &[u8]) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let name = std::ffi::CString::new(name).unwrap();
    // SAFETY: both strings are NUL-terminated and live across the call.
    let rc = unsafe { nix::libc::lsetxattr(path.as_ptr(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error().to_string()) }
}
