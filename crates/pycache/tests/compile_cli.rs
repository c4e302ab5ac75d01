//! `pycache compile` as users run it: exit codes, output, errors.

use std::path::Path;
use std::process::Command;

use pycache_python::testing::reference;

mod run;
use run::{pycache, text};

fn example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/webapp");
    copy(&src, &dir.path().join("webapp"));
    dir
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        if name == "__pycache__" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &to.join(name));
        } else {
            std::fs::copy(entry.path(), to.join(name)).unwrap();
        }
    }
}

#[test]
fn the_example_compiles_then_is_fresh() {
    let Some(_) = reference(3, 12, "the_example_compiles_then_is_fresh") else { return };
    let dir = example();
    let first = pycache(&["compile", "webapp", "--python", "3.12"], dir.path());
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert!(text(&first.stdout).contains("6 compiled, 0 fresh, 0 failed"), "{}", text(&first.stdout));
    assert!(dir.path().join("webapp/app/__pycache__/routes.cpython-312.pyc").is_file());
    let second = pycache(&["compile", "webapp", "--python", "3.12"], dir.path());
    assert!(text(&second.stdout).contains("0 compiled, 6 fresh, 0 failed"), "{}", text(&second.stdout));
}

#[test]
fn json_output_has_the_documented_fields() {
    let Some(_) = reference(3, 12, "json_output_has_the_documented_fields") else { return };
    let dir = example();
    std::fs::write(dir.path().join("webapp/broken.py"), "def f(:\n").unwrap();
    let out = pycache(&["compile", "webapp", "--python", "3.12", "-o", "0", "-o", "2", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = json["files"].as_array().unwrap();
    assert_eq!(files.len(), 14);
    for file in files {
        for key in ["path", "cache", "python", "optimize", "status", "error"] {
            assert!(file.get(key).is_some(), "{key} missing in {file}");
        }
    }
    let broken: Vec<_> = files.iter().filter(|f| f["status"] == "failed").collect();
    assert_eq!(broken.len(), 2);
    assert_eq!(broken[0]["path"], "webapp/broken.py");
    assert_eq!(broken[0]["exception"], "SyntaxError");
    assert_eq!(broken[0]["line"], 1);
    assert_eq!(json["summary"]["failed"], 2);
    assert_eq!(json["summary"]["compiled"], 12);
}

#[test]
fn a_syntax_error_is_reported_with_path_and_line_and_the_run_goes_on() {
    let Some(_) = reference(3, 12, "a_syntax_error_is_reported_with_path_and_line_and_the_run_goes_on") else { return };
    let dir = example();
    std::fs::write(dir.path().join("webapp/bad.py"), "x = 1\nif x\n    pass\n").unwrap();
    let out = pycache(&["compile", "webapp", "--python", "3.12"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("error: `webapp/bad.py` for 3.12"), "{stdout}");
    assert!(stdout.contains("line 2"), "{stdout}");
    assert!(stdout.contains("SyntaxError"), "{stdout}");
    assert!(stdout.contains("6 compiled, 0 fresh, 1 failed"), "{stdout}");
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.txt"), "\n").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["compile", "-i", "empty.txt"], "the list `empty.txt` is empty"),
        (&["compile", ".", "--engine", "native"], "native compiler"),
        (&["compile", ".", "--python", "9.9"], "no Python interpreter matches `9.9`; found:"),
        (&["compile", ".", "-o", "3"], "3"),
        (&["compile", ".", "-x", "("], "-x pattern"),
        (&["compile", ".", "--manifest", "-"], "--manifest needs a file"),
    ];
    for (args, needle) in cases {
        let out = pycache(args, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(needle), "{args:?}: {}", text(&out.stderr));
    }
}

#[test]
fn hash_modes_are_refused_for_versions_without_them() {
    let Some(_) = reference(3, 6, "hash_modes_are_refused_for_versions_without_them") else { return };
    let dir = example();
    let out = pycache(&["compile", "webapp", "--python", "3.6", "--invalidation-mode", "checked-hash"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no hash-based caches"), "{}", text(&out.stderr));
}

#[test]
fn source_date_epoch_selects_checked_hash_like_py_compile() {
    let Some(_) = reference(3, 12, "source_date_epoch_selects_checked_hash_like_py_compile") else { return };
    let dir = example();
    let out = Command::new(env!("CARGO_BIN_EXE_pycache"))
        .args(["compile", "webapp", "--python", "3.12"])
        .current_dir(dir.path())
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let cache = std::fs::read(dir.path().join("webapp/app/__pycache__/routes.cpython-312.pyc")).unwrap();
    assert_eq!(&cache[4..8], &[3, 0, 0, 0], "flags must say checked hash");
    // An explicit mode wins over the environment.
    let out = Command::new(env!("CARGO_BIN_EXE_pycache"))
        .args(["compile", "webapp", "--python", "3.12", "--invalidation-mode", "timestamp"])
        .current_dir(dir.path())
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    assert!(text(&out.stdout).contains("6 compiled"), "{}", text(&out.stdout));
    let cache = std::fs::read(dir.path().join("webapp/app/__pycache__/routes.cpython-312.pyc")).unwrap();
    assert_eq!(&cache[4..8], &[0, 0, 0, 0]);
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    let Some(_) = reference(3, 12, "a_closed_pipe_ends_output_quietly") else { return };
    let dir = example();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{} compile webapp --python 3.12 --format json -v | head -c 10", env!("CARGO_BIN_EXE_pycache")))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "{\n  \"files");
    assert!(!text(&out.stderr).contains("error"), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("panicked"), "{}", text(&out.stderr));
}

#[test]
fn two_interpreters_in_one_run() {
    let (Some(_), Some(_)) =
        (reference(3, 11, "two_interpreters_in_one_run"), reference(3, 13, "two_interpreters_in_one_run"))
    else {
        return;
    };
    let dir = example();
    let out = pycache(&["compile", "webapp", "--python", "3.11", "--python", "3.13", "-o", "0", "-o", "1"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("level 1: 6 compiled"), "{stdout}");
    assert!(stdout.contains("24 compiled"), "{stdout}");
    let pycache_dir = dir.path().join("webapp/app/__pycache__");
    for name in [
        "routes.cpython-311.pyc",
        "routes.cpython-311.opt-1.pyc",
        "routes.cpython-313.pyc",
        "routes.cpython-313.opt-1.pyc",
    ] {
        assert!(pycache_dir.join(name).is_file(), "{name}");
    }
}

#[test]
fn conflicting_legacy_outputs_are_refused() {
    let (Some(_), Some(_)) = (
        reference(3, 11, "conflicting_legacy_outputs_are_refused"),
        reference(3, 12, "conflicting_legacy_outputs_are_refused"),
    ) else {
        return;
    };
    let dir = example();
    let out = pycache(&["compile", "webapp", "-b", "--python", "3.11", "--python", "3.12"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let named = named_cache(&stderr);
    assert!(named.ends_with(".pyc") && !named.contains("__pycache__"), "{stderr}");
    assert!(dir.path().join(named.strip_suffix('c').unwrap()).is_file(), "not the cache of a real source: {stderr}");
}

/// The first path in backticks after "would both write".
fn named_cache(stderr: &str) -> String {
    let rest = stderr.split("would both write").nth(1).unwrap_or_else(|| panic!("no conflict: {stderr}"));
    rest.split('`').nth(1).unwrap().to_owned()
}

/// Issue 12: two interpreters with one cache tag (3.11.2 and 3.11.7) were
/// refused with a message naming `m.cpython-311.pyc`, a file that exists
/// nowhere. It names the cache of a real source now.
#[test]
fn regression_conflict_message_names_a_real_cache() {
    let test = "regression_conflict_message_names_a_real_cache";
    let all = pycache_python::testing::releases();
    let Some((a, b)) = all.iter().find_map(|a| {
        all.iter()
            .find(|b| (b.version.0, b.version.1) == (a.version.0, a.version.1) && b.version != a.version)
            .map(|b| (a, b))
    }) else {
        eprintln!("SKIP {test}: no two releases of one minor version are installed");
        return;
    };
    let dir = example();
    let (pa, pb) = (a.path.to_str().unwrap(), b.path.to_str().unwrap());
    let out = pycache(&["compile", "webapp", "--python", pa, "--python", pb], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("{} at level 0 and {} at level 0", a.label(), b.label())), "{stderr}");
    let named = dir.path().join(named_cache(&stderr));
    let tag = a.cache_tag.clone().unwrap();
    let file = named.file_name().unwrap().to_str().unwrap().to_owned();
    assert_eq!(named.parent().unwrap().file_name().unwrap(), "__pycache__", "{stderr}");
    let stem = file.strip_suffix(&format!(".{tag}.pyc")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(named.parent().unwrap().parent().unwrap().join(format!("{stem}.py")).is_file(), "{stderr}");
    // Nothing was written.
    let status = Command::new("find").arg("webapp").args(["-name", "*.pyc"]).current_dir(dir.path()).output().unwrap();
    assert!(status.stdout.is_empty(), "{}", text(&status.stdout));
}

/// The cache py_compile writes for `source` in a fresh `python -I`
/// process: the reference the native compiler must equal.
fn fresh_py_compile(python: &Path, source: &Path, level: u8, cwd: &Path) -> Vec<u8> {
    let out_dir = tempfile::tempdir().unwrap();
    let cfile = out_dir.path().join("ref.pyc");
    let flags: &[&str] = match level {
        0 => &[],
        1 => &["-O"],
        _ => &["-OO"],
    };
    let status = Command::new(python)
        .arg("-I")
        .args(flags)
        .args(["-c", "import sys, py_compile; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)"])
        .arg(source)
        .arg(&cfile)
        .current_dir(cwd)
        .env_remove("SOURCE_DATE_EPOCH")
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(cfile).unwrap()
}

/// The 3.12 interpreter the native compiler reproduces, or a visible skip.
fn native_target(test: &str) -> Option<pycache_python::Interpreter> {
    let python = reference(3, 12, test)?;
    if python.version != (3, 12, 1) {
        eprintln!("SKIP {test}: the native compiler reproduces 3.12.1, and this is {}", python.label());
        return None;
    }
    Some(python)
}

/// Runs `pycache ARGS --format json` in `cwd`, which must exit 0.
fn json_run(args: &[&str], cwd: &Path) -> serde_json::Value {
    let out = pycache(&[args, &["--format", "json"]].concat(), cwd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The report of `path` in a JSON run.
fn file_report(json: &serde_json::Value, path: &str) -> serde_json::Value {
    json["files"].as_array().unwrap().iter().find(|f| f["path"] == path).cloned().unwrap()
}

#[test]
fn engine_native_writes_what_a_fresh_py_compile_writes() {
    let test = "engine_native_writes_what_a_fresh_py_compile_writes";
    let Some(python) = native_target(test) else { return };
    let dir = example();
    let out = pycache(
        &[
            "compile", "webapp", "--python", "3.12", "--engine", "native", "-o", "0", "-o", "1", "-o", "2", "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["compiled"], 18);
    assert_eq!(json["summary"]["compiled_native"], 18);
    for file in json["files"].as_array().unwrap() {
        assert_eq!(file["engine"], "native", "{file}");
        let source = file["path"].as_str().unwrap();
        let cache = std::fs::read(dir.path().join(file["cache"].as_str().unwrap())).unwrap();
        let level = file["optimize"].as_u64().unwrap() as u8;
        let reference = fresh_py_compile(&python.path, Path::new(source), level, dir.path());
        assert!(cache == reference, "{source} at level {level}: the native cache is not py_compile's");
    }
    assert!(text(&out.stderr).is_empty() || !text(&out.stderr).contains("error"), "{}", text(&out.stderr));
}

#[test]
fn engine_auto_falls_back_to_the_interpreter_for_a_declined_file() {
    let test = "engine_auto_falls_back_to_the_interpreter_for_a_declined_file";
    if native_target(test).is_none() {
        return;
    }
    let dir = example();
    // A multi-byte source encoding other than UTF-8 is something the
    // native compiler declines, for every release (the `%%` folding this
    // test used is reproduced since 3.14's third round).
    std::fs::write(dir.path().join("webapp/declined.py"), "# -*- coding: euc_jp -*-\nx = 1\n").unwrap();
    let json = json_run(&["compile", "webapp", "--python", "3.12"], dir.path());
    let declined = file_report(&json, "webapp/declined.py");
    assert_eq!(declined["status"], "compiled");
    assert_eq!(declined["engine"], "cpython");
    assert!(declined["native_declined"].as_str().unwrap().contains("`euc_jp`"), "{declined}");
    assert_eq!(json["summary"]["compiled_native"], 6);
    assert_eq!(json["files"].as_array().unwrap().iter().filter(|f| f["engine"] == "native").count(), 6);

    // The same file under --engine native fails, with the reason.
    let out = pycache(&["compile", "webapp", "--python", "3.12", "--engine", "native", "-f"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("error: `webapp/declined.py` for 3.12.1: not supported by the native compiler"),
        "{stdout}"
    );
    assert!(stdout.contains("6 compiled, 0 fresh, 1 failed"), "{stdout}");
}

#[test]
fn engine_native_refuses_an_interpreter_it_does_not_reproduce() {
    let Some(_) = reference(3, 11, "engine_native_refuses_an_interpreter_it_does_not_reproduce") else { return };
    let dir = example();
    let out = pycache(&["compile", "webapp", "--python", "3.11", "--engine", "native"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("the native compiler cannot serve") && stderr.contains("3.12.1"), "{stderr}");
    // auto quietly uses the interpreter there.
    let out = pycache(&["compile", "webapp", "--python", "3.11", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["files"].as_array().unwrap().iter().all(|f| f["engine"] == "cpython"));
}

#[test]
fn warnings_come_from_the_interpreter_under_auto_and_from_the_native_compiler_under_native() {
    let test = "warnings_come_from_the_interpreter_under_auto_and_from_the_native_compiler_under_native";
    if native_target(test).is_none() {
        return;
    }
    let dir = example();
    std::fs::write(dir.path().join("webapp/escapes.py"), "import re\npattern = re.compile('\\d+')\n").unwrap();
    let json = json_run(&["compile", "webapp", "--python", "3.12"], dir.path());
    let warned = file_report(&json, "webapp/escapes.py");
    assert_eq!(warned["engine"], "cpython", "{warned}");
    assert!(warned["native_declined"].as_str().unwrap().contains("warnings"), "{warned}");
    let warnings = warned["warnings"].as_str().unwrap();
    assert!(warnings.contains("webapp/escapes.py:2: SyntaxWarning: invalid escape sequence '\\d'"), "{warnings}");

    let out = pycache(&["compile", "webapp", "--python", "3.12", "--engine", "native", "-f"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("webapp/escapes.py:2: SyntaxWarning: invalid escape sequence '\\d'"), "{stderr}");

    // The native compiler's warnings read as the interpreter's do, source
    // line included, whatever the line's indentation and the file's shape.
    let source = "import re\r\nif True:\r\n\t  x = re.compile('\\d+')   \r\ny = 1 is 1\ndef f():\n    return '\\w'";
    std::fs::write(dir.path().join("webapp/escapes.py"), source).unwrap();
    let warnings = |engine: &str| {
        let json = json_run(&["compile", "webapp", "--python", "3.12", "--engine", engine, "-f"], dir.path());
        file_report(&json, "webapp/escapes.py")["warnings"].as_str().unwrap().to_owned()
    };
    let (native, interpreter) = (warnings("native"), warnings("cpython"));
    assert!(native.contains("\n  x = re.compile('\\d+')\n"), "{native}");
    assert_eq!(native, interpreter);
}

#[test]
fn no_paths_with_two_interpreters_asks_for_one() {
    let test = "no_paths_with_two_interpreters_asks_for_one";
    let (Some(_), Some(_)) = (reference(3, 11, test), reference(3, 12, test)) else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = pycache(&["compile", "--python", "3.11", "--python", "3.12"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("give one --python at a time"), "{}", text(&out.stderr));
}

/// Every file below `dir`, relative to it, with its bytes.
fn tree_bytes(dir: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                out.insert(entry.path().strip_prefix(dir).unwrap().to_owned(), std::fs::read(entry.path()).unwrap());
            }
        }
    }
    out
}

/// `pycache compile` with no paths compiles what `python -m compileall`
/// compiles with none: the top level of each directory on that
/// interpreter's sys.path (PYTHONPATH included, a zip or missing entry
/// passed over, subdirectories not entered), and from 3.7 the current
/// directory, which `-m` puts there as a full path. Both write under a
/// pycache prefix, so nothing of the interpreter's own tree is touched,
/// and the two prefixes must hold the same files.
#[test]
fn no_paths_compile_what_compileall_compiles_with_none() {
    for minor in [8, 12] {
        let Some(python) = reference(3, minor, "no_paths_compile_what_compileall_compiles_with_none") else { continue };
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let cwd = root.join("cwd");
        let extra = root.join("extra");
        for (path, source) in [
            (cwd.join("here.py"), "x = 1\n"),
            (cwd.join("sub/below.py"), "y = 2\n"),
            (extra.join("there.py"), "def f():\n    return 3\n"),
            (extra.join("pkg/inner.py"), "z = 4\n"),
        ] {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, source).unwrap();
        }
        let pythonpath = format!("{}:{}", extra.display(), root.join("nothing.zip").display());
        let compileall = Command::new(&python.path)
            .args(["-m", "compileall", "-q"])
            .current_dir(&cwd)
            .env("PYTHONPATH", &pythonpath)
            .env("PYTHONPYCACHEPREFIX", root.join("theirs"))
            .env_remove("SOURCE_DATE_EPOCH")
            .env_remove("PYTHONSAFEPATH")
            .output()
            .unwrap();
        assert_eq!(compileall.status.code(), Some(0), "{}", text(&compileall.stderr));
        let version = format!("3.{minor}");
        let ours = root.join("ours");
        let out = Command::new(env!("CARGO_BIN_EXE_pycache"))
            .args(["compile", "--python", &version, "--cache-prefix"])
            .arg(&ours)
            .current_dir(&cwd)
            .env("PYTHONPATH", &pythonpath)
            .env("PYCACHE_CACHE_DIR", root.join("state"))
            .env_remove("PYTHONPYCACHEPREFIX")
            .env_remove("SOURCE_DATE_EPOCH")
            .env_remove("PYTHONSAFEPATH")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
        assert!(text(&out.stderr).contains("no paths given"), "{}", text(&out.stderr));
        let (theirs, mine) = (tree_bytes(&root.join("theirs")), tree_bytes(&ours));
        let names = |t: &std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>| t.keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(&mine), names(&theirs), "3.{minor}: not the same caches");
        let tag = format!("cpython-3{minor}");
        for (path, bytes) in &theirs {
            let ours = &mine[path];
            // The header always; the body too for the test's own files (an
            // older compileall does not always agree with itself on the
            // stdlib's reference flags, see the README).
            assert_eq!(ours[..16], bytes[..16], "3.{minor}: header of {}", path.display());
            if path.starts_with(root.strip_prefix("/").unwrap()) {
                assert_eq!(ours, bytes, "3.{minor}: {}", path.display());
            }
        }
        let rel = |p: &Path| p.strip_prefix("/").unwrap().to_owned();
        assert!(theirs.contains_key(&rel(&cwd.join(format!("here.{tag}.pyc")))), "3.{minor}: the current directory");
        assert!(theirs.contains_key(&rel(&extra.join(format!("there.{tag}.pyc")))), "3.{minor}: PYTHONPATH");
        assert!(!theirs.keys().any(|p| p.ends_with(format!("sub/below.{tag}.pyc"))), "3.{minor}: a subdirectory");
        assert!(!theirs.keys().any(|p| p.ends_with(format!("pkg/inner.{tag}.pyc"))), "3.{minor}: a subdirectory");
    }
}

/// The probe runs from `/`, so an interpreter named by a relative path
/// must be resolved against the caller's directory first.
#[test]
fn regression_relative_python_path_is_found_from_the_callers_directory() {
    let Some(python) = reference(3, 12, "regression_relative_python_path_is_found_from_the_callers_directory") else {
        return;
    };
    let dir = example();
    std::fs::create_dir(dir.path().join("bin")).unwrap();
    std::os::unix::fs::symlink(&python.path, dir.path().join("bin/py")).unwrap();
    let out = pycache(&["compile", "webapp", "--python", "bin/py"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.path().join("webapp/app/__pycache__/routes.cpython-312.pyc").is_file());
}

/// Issue 12, items 3 and 6: one file must never take the run down, nor
/// hold it past `--timeout`. A file nested past CPython's limits fails
/// alone with the interpreter's error (it aborted the process with a stack
/// overflow), and a file far too big to compile in a second fails with the
/// timeout under the native engine (which ignored `--timeout`), while the
/// small file beside both compiles.
#[test]
fn regression_deep_file_and_timeout_fail_alone_under_the_native_engine() {
    let test = "regression_deep_file_and_timeout_fail_alone_under_the_native_engine";
    let Some(_python) = native_target(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("t");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("deep.py"), format!("x = {}\n", vec!["a"; 5000].join("+"))).unwrap();
    std::fs::write(tree.join("small.py"), "x = 1\n").unwrap();
    // About 10 MB of small functions: the native compiler needs seconds per
    // level, many times the one-second timeout, on any machine.
    let mut big = String::new();
    let mut i = 0;
    while big.len() < 10_000_000 {
        big.push_str(&format!("def f{i}(a, b={i}):\n    return (a, b, 'k{i}', {i}.5)\n\n"));
        i += 1;
    }
    std::fs::write(tree.join("big.py"), big).unwrap();
    let out = pycache(
        &[
            "compile",
            "t",
            "--python",
            "3.12",
            "--engine",
            "native",
            "--timeout",
            "1",
            "-o",
            "0",
            "-o",
            "2",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let status = |name: &str| {
        json["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["path"].as_str().unwrap().ends_with(name))
            .map(|f| (f["status"].as_str().unwrap().to_owned(), f["error"].as_str().unwrap_or("").to_owned()))
            .collect::<Vec<_>>()
    };
    for (s, _) in status("small.py") {
        assert_eq!(s, "compiled");
    }
    for (s, error) in status("deep.py") {
        assert_eq!(s, "failed");
        assert_eq!(error, "RecursionError: maximum recursion depth exceeded during compilation");
    }
    let big = status("big.py");
    assert_eq!(big.len(), 2);
    for (s, error) in big {
        assert_eq!(s, "failed");
        assert!(error.contains("longer than 1s"), "{error}");
    }
}

/// Issue 12, item 7: `-j 100000` started 10,000 threads and never
/// finished. The count is cut to a few jobs per core, with a word on stderr.
#[test]
fn regression_jobs_are_bounded() {
    let Some(_) = reference(3, 12, "regression_jobs_are_bounded") else { return };
    let dir = example();
    for command in ["compile", "verify"] {
        let out = pycache(&[command, "webapp", "--python", "3.12", "-j", "100000"], dir.path());
        assert_eq!(out.status.code(), Some(0), "{command}: {}", text(&out.stderr));
        let limit = pycache_compile::max_jobs();
        assert!(
            text(&out.stderr).contains(&format!("-j 100000 is more than {limit}")),
            "{command}: {}",
            text(&out.stderr)
        );
    }
}

/// Issue 12, item 7: a sparse source of 40 GB was read whole and the OOM
/// killer ended the run. A source over the documented limit fails alone,
/// unread, and the run goes on.
#[test]
fn regression_a_source_over_the_size_limit_fails_alone() {
    let Some(_) = reference(3, 12, "regression_a_source_over_the_size_limit_fails_alone") else { return };
    let dir = example();
    let big = std::fs::File::create(dir.path().join("webapp/big.py")).unwrap();
    big.set_len(pycache_compile::source::MAX_SOURCE_SIZE + 1).unwrap();
    let out = pycache(&["compile", "webapp", "--python", "3.12", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = json["files"].as_array().unwrap();
    let failed: Vec<_> = files.iter().filter(|f| f["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{json}");
    assert!(failed[0]["path"].as_str().unwrap().ends_with("webapp/big.py"));
    let error = failed[0]["error"].as_str().unwrap();
    assert!(error.contains("is 268435457 bytes, over the limit of 256 MiB for a source"), "{error}");
    assert_eq!(json["summary"]["compiled"], 6, "{json}");
}

/// `--target` compiles for a release with no interpreter to be found (an
/// empty PATH, no pyenv), and writes what that release's own compileall
/// writes for the same relative paths, when the release is installed to
/// compare with (a SKIP line when not).
#[test]
fn target_compiles_without_any_interpreter_as_the_release_would() {
    // `--target 3.12` is 3.12.7 (compared when a native 3.12.7 is found;
    // its golden digests check it everywhere), `3.12.1` that release.
    for (spec, release) in [
        ("3.12", (3, 12, 7)),
        ("3.12.1", (3, 12, 1)),
        ("3.13", (3, 13, 18)),
        ("3.14", (3, 14, 10)),
        ("3.14.8", (3, 14, 8)),
        ("3.15", (3, 15, 2)),
        ("3.15.0", (3, 15, 0)),
    ] {
        let ours = example();
        let out = run::command(ours.path())
            .env("PATH", "/nonexistent")
            .env("PYENV_ROOT", "/nonexistent")
            .args(["compile", "--target", spec, "-o", "0", "-o", "2", "--invalidation-mode", "checked-hash", "webapp"])
            .output()
            .unwrap();
        if !out.status.success() && text(&out.stderr).contains("no verified profile") {
            eprintln!("SKIP --target {spec}: {}", text(&out.stderr).trim());
            continue;
        }
        assert!(out.status.success(), "--target {spec}: {}", text(&out.stderr));
        let said = text(&out.stdout) + &text(&out.stderr);
        assert!(said.contains("all by the native compiler"), "{said}");
        let Some(python) = pycache_python::testing::release(release, "target_compiles_without_any_interpreter") else {
            continue;
        };
        let theirs = example();
        // Checked-hash headers: the two copies' modification times differ.
        let status = Command::new(&python.executable)
            .current_dir(theirs.path())
            .env_remove("PYTHONDONTWRITEBYTECODE")
            .args(["-m", "compileall", "-q", "-o", "0", "-o", "2", "--invalidation-mode", "checked-hash", "webapp"])
            .status()
            .unwrap();
        assert!(status.success());
        let mut compared = 0;
        for entry in walk(&theirs.path().join("webapp")) {
            if entry.extension().is_some_and(|e| e == "pyc") {
                let relative = entry.strip_prefix(theirs.path()).unwrap();
                let mine = std::fs::read(ours.path().join(relative)).unwrap_or_default();
                assert!(mine == std::fs::read(&entry).unwrap(), "--target {spec}: {} differs", relative.display());
                compared += 1;
            }
        }
        assert!(compared >= 10, "--target {spec}: only {compared} caches compared");
        eprintln!("--target {spec}: {compared} caches equal to {}'s compileall", python.label());
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.file_type().unwrap().is_dir() {
            out.extend(walk(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out
}
