//! The recipes of `docs/recipes.md`, one test each: the layout is built as
//! the recipe says, with this build's `pycache`, then `python -v` (with
//! PYTHONDONTWRITEBYTECODE unset) run as the server would run it, as a
//! service user made for the test, must load every module of the
//! application from its cache. No server is started: each test runs the
//! interpreter with the flags and environment its server gives it, and
//! says which.

#[path = "../../pycache-doctor/tests/common/mod.rs"]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Account, exposed};
use pycache_doctor::ServiceUser;
use pycache_doctor::probe::{Observed, loads};
use pycache_python::Interpreter;
use pycache_python::testing::reference;

/// A small application: a package with a WSGI module, a helper and a
/// module imported lazily, at request time.
const APP: &[(&str, &str)] = &[
    ("app/__init__.py", "\"\"\"The application.\"\"\"\n"),
    ("app/helpers.py", "def greet(name):\n    \"\"\"Greets.\"\"\"\n    return 'Hello, %s' % name\n"),
    ("app/lazy.py", "VALUE = 42\n"),
    (
        "app/wsgi.py",
        "from app.helpers import greet\n\n\ndef application(environ, start_response):\n    import app.lazy\n    \
         start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
         return [(greet('world') + ' %d' % app.lazy.VALUE).encode()]\n",
    ),
];

/// A scratch directory everyone may enter, owned by root (as a deployment
/// built by root is), with the application in `srv/`.
struct Layout {
    dir: tempfile::TempDir,
}

impl Layout {
    fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let layout = Self { dir };
        for (path, text) in files {
            layout.write(path, text);
        }
        layout
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join("srv").join(rel)
    }

    fn srv(&self) -> PathBuf {
        self.dir.path().join("srv")
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        let mut dir = path.parent().unwrap().to_path_buf();
        while dir.starts_with(self.dir.path()) {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            dir.pop();
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }

    /// `pycache ARGS` as root (the image's or the package's builder), in
    /// `srv/`.
    fn pycache(&self, args: &[&str]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_pycache"))
            .args(args)
            .current_dir(self.srv())
            .env_remove("SOURCE_DATE_EPOCH")
            .env_remove("PYTHONDONTWRITEBYTECODE")
            .env("PYCACHE_CACHE_DIR", self.dir.path().join(".pycache-state"))
            .output()
            .expect("run pycache");
        assert!(out.status.success(), "pycache {args:?}: {}{}", text(&out.stdout), text(&out.stderr));
        out
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `python -v ARGS` in `cwd` as `user` (root when `None`), with
/// `env`, as a server would start it; returns its `-v` lines.
fn verbose(
    python: &Interpreter,
    user: Option<&Account>,
    args: &[&str],
    env: &[(&str, &str)],
    cwd: &Path,
) -> Vec<String> {
    let mut command = Command::new(&python.path);
    command
        .arg("-v")
        .args(args)
        .current_dir(cwd)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .env_remove("PYTHONPYCACHEPREFIX")
        .env_remove("PYTHONOPTIMIZE");
    for (key, value) in env {
        command.env(key, value);
    }
    if let Some(user) = user {
        let user = ServiceUser::resolve(&user.name, None).unwrap();
        pycache_doctor::access::become_user(&mut command, &user);
    }
    let out = command.output().unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "python -v {args:?}: {}{stderr}", text(&out.stdout));
    stderr.lines().map(str::to_owned).collect()
}

/// Every one of `sources` was loaded from its cache; nothing of the
/// application was compiled and no cache write was tried.
#[track_caller]
fn assert_hits(lines: &[String], sources: &[PathBuf]) {
    let seen = loads(lines);
    for source in sources {
        let load = seen.iter().find(|l| l.source == *source);
        assert_eq!(
            load.map(|l| l.observed),
            Some(Observed::Hit),
            "{}: {load:?}\n{}",
            source.display(),
            relevant(lines, source.parent().unwrap())
        );
    }
    let tried: Vec<&String> =
        lines.iter().filter(|l| l.starts_with("# created ") || l.starts_with("# could not create ")).collect();
    assert!(tried.is_empty(), "writes tried: {tried:#?}");
}

/// The `-v` lines that mention `dir`, for failure messages.
fn relevant(lines: &[String], dir: &Path) -> String {
    let dir = dir.to_string_lossy();
    lines.iter().filter(|l| l.contains(dir.as_ref())).cloned().collect::<Vec<_>>().join("\n")
}

/// The application's modules, as loaded by the tests.
fn app_sources(layout: &Layout) -> Vec<PathBuf> {
    ["app/__init__.py", "app/helpers.py", "app/lazy.py", "app/wsgi.py"].iter().map(|p| layout.path(p)).collect()
}

/// Loads the WSGI application and calls it once, as a worker does.
const SERVE: &str = "import app.wsgi\n\
out = []\n\
body = app.wsgi.application({}, lambda status, headers: out.append(status))\n\
assert out == ['200 OK'] and body == [b'Hello, world 42'], (out, body)\n";

/// Each recipe's test: the service user, the interpreter, the thread that
/// can reach it.
fn recipe(test: &str, body: impl FnOnce(&Interpreter, &Account) + Send) {
    let Some(user) = Account::create(test) else { return };
    let Some(python) = reference(3, 12, test) else { return };
    exposed(test, |reachable| {
        if reachable {
            body(&python, &user);
        }
    });
}

#[test]
fn recipe_docker_checked_hash_caches_built_by_root_read_only_to_the_app_user() {
    recipe("recipe_docker_checked_hash_caches_built_by_root_read_only_to_the_app_user", |python, user| {
        let layout = Layout::new(APP);
        // RUN pycache compile --invalidation-mode checked-hash /srv
        layout.pycache(&["compile", "--python", "3.12", "--invalidation-mode", "checked-hash", "."]);
        // A later layer, a COPY or a rebuild changes every mtime: checked
        // hashes do not care.
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
        for source in app_sources(&layout) {
            std::fs::File::options().write(true).open(&source).unwrap().set_modified(later).unwrap();
        }
        // USER app; CMD python -c ...
        let lines = verbose(python, Some(user), &["-c", SERVE], &[], &layout.srv());
        assert_hits(&lines, &app_sources(&layout));
    });
}

#[test]
fn recipe_uwsgi_optimize_2_with_module() {
    recipe("recipe_uwsgi_optimize_2_with_module", |python, user| {
        let layout = Layout::new(APP);
        layout.write(
            "uwsgi.ini",
            "[uwsgi]\nchdir = /srv\nmodule = app.wsgi:application\noptimize = 2\nuid = app\ngid = app\n",
        );
        layout.pycache(&["compile", "--python", "3.12", "-o", "2", "app"]);
        // uWSGI's `optimize = 2` is the interpreter's -OO.
        let lines = verbose(python, Some(user), &["-OO", "-c", SERVE], &[], &layout.srv());
        assert_hits(&lines, &app_sources(&layout));
        assert!(layout.path("app/__pycache__/wsgi.cpython-312.opt-2.pyc").is_file());
    });
}

/// What mod_wsgi does with the `WSGIScriptAlias` file in each process:
/// reads it, compiles it (no cache) and runs it as a module of its own
/// name, then calls `application`.
const MOD_WSGI: &str = "import sys, types\n\
path = sys.argv[1]\n\
module = types.ModuleType('_mod_wsgi_8d3f')\n\
module.__file__ = path\n\
sys.modules[module.__name__] = module\n\
exec(compile(open(path, 'rb').read(), path, 'exec'), module.__dict__)\n\
out = []\n\
body = module.application({}, lambda status, headers: out.append(status))\n\
assert out == ['200 OK'] and body == [b'Hello, world 42'], (out, body)\n";

#[test]
fn recipe_mod_wsgi_python_optimize_and_a_stub_for_the_script_alias() {
    recipe("recipe_mod_wsgi_python_optimize_and_a_stub_for_the_script_alias", |python, user| {
        let mut files = APP.to_vec();
        let wsgi = "import sys\nsys.path.insert(0, '/srv')\nfrom app.wsgi import application\n";
        files.push(("site.wsgi", wsgi));
        let layout = Layout::new(&files);
        let script = layout.path("site.wsgi");
        let wsgi = wsgi.replace("/srv", layout.srv().to_str().unwrap());
        layout.write("site.wsgi", &wsgi);
        layout.pycache(&["stub", "site.wsgi"]);
        layout.pycache(&["compile", "--python", "3.12", "-o", "2", "."]);
        // WSGIPythonOptimize 2 is the interpreter's -OO.
        let script_arg = script.display().to_string();
        let lines = verbose(python, Some(user), &["-OO", "-c", MOD_WSGI, &script_arg], &[], Path::new("/"));
        let mut sources = app_sources(&layout);
        sources.push(layout.path("site.wsgi-body.py"));
        assert_hits(&lines, &sources);
    });
}

#[test]
fn recipe_gunicorn_preload_as_root_then_workers_as_the_app_user() {
    recipe("recipe_gunicorn_preload_as_root_then_workers_as_the_app_user", |python, user| {
        let layout = Layout::new(APP);
        layout.pycache(&["compile", "--python", "3.12", "app"]);
        // --preload: the master, root, imports the application, then forks
        // workers that drop to the app user and serve (importing lazily).
        let master = format!(
            "import os\nimport app.wsgi\npid = os.fork()\nif pid == 0:\n    os.setgroups([])\n    os.setgid({gid})\n    \
             os.setuid({uid})\n    try:\n        exec({SERVE:?})\n    finally:\n        os._exit(0)\n\
             assert os.waitpid(pid, 0)[1] == 0\n",
            gid = user.gid,
            uid = user.uid,
        );
        let lines = verbose(python, None, &["-c", &master], &[], &layout.srv());
        assert_hits(&lines, &app_sources(&layout));
        // Nothing was written as root.
        let owners: Vec<u32> = std::fs::read_dir(layout.path("app/__pycache__"))
            .unwrap()
            .map(|e| std::os::unix::fs::MetadataExt::uid(&e.unwrap().metadata().unwrap()))
            .collect();
        assert_eq!(owners.len(), 4, "one cache per module, no more");
    });
}

#[test]
fn recipe_cgi_script_behind_a_stub() {
    recipe("recipe_cgi_script_behind_a_stub", |python, user| {
        let mut files = APP.to_vec();
        let report = "#!/usr/bin/env python3\nimport os\nimport sys\nsys.path.insert(0, os.path.dirname(os.path.dirname(\
                      os.path.abspath(__file__))))\nfrom app.helpers import greet\n\
                      print('Content-Type: text/plain')\nprint()\nprint(greet(os.environ.get('QUERY_STRING', '')))\n";
        files.push(("cgi-bin/report.py", report));
        let layout = Layout::new(&files);
        let script = layout.path("cgi-bin/report.py");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        layout.pycache(&["stub", "cgi-bin/report.py"]);
        layout.pycache(&["compile", "--python", "3.12", "."]);
        // A CGI request: the server runs the script as __main__, with the
        // request in the environment.
        let script_arg = script.display().to_string();
        let env = [("GATEWAY_INTERFACE", "CGI/1.1"), ("REQUEST_METHOD", "GET"), ("QUERY_STRING", "cgi")];
        let lines = verbose(python, Some(user), &[&script_arg], &env, Path::new("/"));
        let sources =
            [layout.path("app/__init__.py"), layout.path("app/helpers.py"), layout.path("cgi-bin/report-body.py")];
        assert_hits(&lines, &sources);
    });
}

/// Zips `app/` from the build directory and extracts it into `task/`, as a
/// Lambda-style runtime does (every file dated at extraction, read-only);
/// returns the extracted sources.
fn zip_and_extract(python: &Interpreter, layout: &Layout) -> (PathBuf, Vec<PathBuf>) {
    let build = layout.srv();
    let zip = layout.dir.path().join("function.zip");
    let task = layout.dir.path().join("task");
    let _ = std::fs::remove_file(&zip);
    if task.exists() {
        for entry in walkdir::WalkDir::new(&task) {
            let entry = entry.unwrap();
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::remove_dir_all(&task).unwrap();
    }
    let run = |args: &[&str], cwd: &Path| {
        let out = Command::new(&python.path).args(args).current_dir(cwd).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    };
    run(&["-m", "zipfile", "-c", zip.to_str().unwrap(), "app"], &build);
    // Extraction dates every file now, not when it was built.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    run(&["-m", "zipfile", "-e", zip.to_str().unwrap(), task.to_str().unwrap()], layout.dir.path());
    for entry in walkdir::WalkDir::new(&task).contents_first(true) {
        let entry = entry.unwrap();
        let mode = if entry.file_type().is_dir() { 0o555 } else { 0o444 };
        std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let sources = app_sources(layout).iter().map(|s| task.join(s.strip_prefix(&build).unwrap())).collect();
    (task, sources)
}

#[test]
fn recipe_lambda_zip_whose_mtimes_are_reset_on_extraction() {
    recipe("recipe_lambda_zip_whose_mtimes_are_reset_on_extraction", |python, user| {
        let layout = Layout::new(APP);
        // Timestamp caches, the default, are stale once extracted: every
        // cold start compiles (and cannot write).
        layout.pycache(&["compile", "--python", "3.12", "app"]);
        let (task, sources) = zip_and_extract(python, &layout);
        let lines = verbose(python, Some(user), &["-c", SERVE], &[], &task);
        let seen = loads(&lines);
        for source in &sources {
            let load = seen.iter().find(|l| l.source == *source).map(|l| l.observed);
            assert_eq!(load, Some(Observed::WriteFailed), "{}", source.display());
        }
        // The recipe: checked-hash caches survive any mtime.
        layout.pycache(&["compile", "--python", "3.12", "--invalidation-mode", "checked-hash", "app"]);
        let (task, sources) = zip_and_extract(python, &layout);
        let lines = verbose(python, Some(user), &["-c", SERVE], &[], &task);
        assert_hits(&lines, &sources);
    });
}

#[test]
fn recipe_read_only_root_file_system_with_a_pycache_prefix() {
    use nix::mount::{MsFlags, mount};
    let test = "recipe_read_only_root_file_system_with_a_pycache_prefix";
    recipe(test, |python, user| {
        let layout = Layout::new(APP);
        let srv = layout.srv();
        // The image's build step writes the caches under the prefix the
        // containers will use: its path is part of the image.
        let prefix = layout.dir.path().join("pycache");
        let prefix_arg = prefix.display().to_string();
        layout.pycache(&["compile", "--python", "3.12", "--cache-prefix", &prefix_arg, "app"]);
        // With a prefix the interpreter looks for its own modules' caches
        // there too: doctor names the directories the application loads.
        let out = Command::new(env!("CARGO_BIN_EXE_pycache"))
            .args(["doctor", ".", "--python", "3.12", "--cache-prefix", &prefix_arg, "--user", &user.name])
            .args(["--probe", "--format", "json"])
            .current_dir(&srv)
            .env_remove("PYTHONDONTWRITEBYTECODE")
            .env("PYCACHE_CACHE_DIR", layout.dir.path().join(".pycache-state"))
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let fixes: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "library-not-cached")
            .map(|f| f["fix"].as_str().unwrap())
            .collect();
        assert!(!fixes.is_empty(), "{report:#}");
        for fix in fixes {
            assert!(fix.contains(&format!("--cache-prefix {prefix_arg} ")), "{fix}");
            let words: Vec<&str> = fix.split(' ').collect();
            assert_eq!(words[0], "pycache", "{fix}");
            layout.pycache(&words[1..]);
        }
        // Then the container runs with the image read-only (this thread has
        // a mount namespace of its own: the machine's mounts stay as they
        // are).
        for dir in [&srv, &prefix] {
            let done = mount(Some(dir.as_path()), dir.as_path(), None::<&str>, MsFlags::MS_BIND, None::<&str>)
                .and_then(|()| {
                    let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
                    mount(None::<&str>, dir.as_path(), None::<&str>, flags, None::<&str>)
                });
            if let Err(err) = done {
                eprintln!("SKIP {test}: cannot mount `{}` read-only ({err})", dir.display());
                return;
            }
        }
        assert!(std::fs::write(srv.join("probe"), "").is_err(), "the tree is read-only");
        let env = [("PYTHONPYCACHEPREFIX", prefix_arg.as_str())];
        let lines = verbose(python, Some(user), &["-c", SERVE], &env, &srv);
        assert_hits(&lines, &app_sources(&layout));
        assert!(!srv.join("app/__pycache__").exists(), "nothing in the tree");

        // Without a build step, a writable prefix (a tmpfs) is the fallback:
        // the first process of each container compiles and writes there, the
        // next ones load.
        let scratch = layout.dir.path().join("tmp");
        std::fs::create_dir(&scratch).unwrap();
        std::os::unix::fs::chown(&scratch, Some(user.uid), Some(user.gid)).unwrap();
        let scratch_arg = scratch.join("pycache").display().to_string();
        let env = [("PYTHONPYCACHEPREFIX", scratch_arg.as_str())];
        let first = loads(&verbose(python, Some(user), &["-c", SERVE], &env, &srv));
        for source in app_sources(&layout) {
            let load = first.iter().find(|l| l.source == source).map(|l| l.observed);
            assert_eq!(load, Some(Observed::Compiled), "{}", source.display());
        }
        let lines = verbose(python, Some(user), &["-c", SERVE], &env, &srv);
        assert_hits(&lines, &app_sources(&layout));
    });
}
