//! File names that are not UTF-8, through every command (issue 12, item 9).
//!
//! JSON output spells them as Python's `os.fsdecode` does (`\udcXX` for
//! each byte that is not UTF-8), so the interpreter's own `json.loads` and
//! `os.fsencode` give back the bytes on disk; the tests check exactly that.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::Command;

use pycache_python::Interpreter;
use pycache_python::testing::reference;

mod run;
use run::{pycache, text};

fn os(bytes: &[u8]) -> &OsStr {
    OsStr::from_bytes(bytes)
}

/// Every string of a JSON document, read by the interpreter's `json` and
/// turned back into bytes with `os.fsencode`, with the key it sits under.
/// Panics when the interpreter cannot parse the document.
fn strings(python: &Interpreter, json: &[u8]) -> Vec<(String, Vec<u8>)> {
    let script = r#"
import json, os, sys
def walk(value, key):
    if isinstance(value, dict):
        for k, v in value.items():
            walk(v, k)
    elif isinstance(value, list):
        for v in value:
            walk(v, key)
    elif isinstance(value, str):
        print(key, os.fsencode(value).hex())
walk(json.load(sys.stdin.buffer), "")
"#;
    let mut child = Command::new(&python.path)
        .args(["-I", "-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), json).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the interpreter cannot read the JSON: {}\n{}", text(&out.stderr), text(json));
    text(&out.stdout)
        .lines()
        .map(|line| {
            let (key, hex) = line.split_once(' ').unwrap_or((line, ""));
            let bytes = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
            (key.to_owned(), bytes)
        })
        .collect()
}

fn has(strings: &[(String, Vec<u8>)], key: &str, value: &[u8]) -> bool {
    strings.iter().any(|(k, v)| k == key && v == value)
}

/// `app/caf\xe9.py` and `app/d\xff/m.py`, plus a plain module.
fn tree() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir_all(app.join(os(b"d\xff"))).unwrap();
    std::fs::write(app.join("ok.py"), "X = 1\n").unwrap();
    std::fs::write(app.join(os(b"caf\xe9.py")), "Y = 2\n").unwrap();
    std::fs::write(app.join(os(b"d\xff/m.py")), "Z = 3\n").unwrap();
    (dir, app)
}

/// Issue 12, item 9: `--format json` of compile, doctor, verify and clean
/// printed truncated JSON and exited 2 on such a tree (clean after it had
/// deleted the caches), and show and dis panicked on its caches.
#[test]
fn regression_non_utf8_file_names_give_valid_json_in_every_command() {
    let test = "regression_non_utf8_file_names_give_valid_json_in_every_command";
    let Some(python) = reference(3, 12, test) else { return };
    let (dir, _) = tree();
    let cwd = dir.path();
    let json = os(b"--format");
    let format = [json, os(b"json")];
    let source = b"app/caf\xe9.py".to_vec();
    let cache = b"app/__pycache__/caf\xe9.cpython-312.pyc".to_vec();
    let deep_cache = b"app/d\xff/__pycache__/m.cpython-312.pyc".to_vec();
    let absolute = |rel: &[u8]| {
        let mut bytes = cwd.canonicalize().unwrap().as_os_str().as_bytes().to_vec();
        bytes.push(b'/');
        bytes.extend_from_slice(rel);
        bytes
    };

    // compile, with a manifest.
    let args =
        [&[os(b"compile"), os(b"app"), os(b"--python"), os(b"3.12"), os(b"--manifest"), os(b"m.txt")][..], &format];
    let out = pycache(&args.concat(), cwd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let found = strings(&python, &out.stdout);
    assert!(has(&found, "path", &source), "{found:?}");
    assert!(has(&found, "cache", &cache), "{found:?}");
    assert!(has(&found, "cache", &deep_cache), "{found:?}");
    assert!(cwd.join(os(&cache)).is_file() && cwd.join(os(&deep_cache)).is_file());
    // The same run again: fresh, still valid JSON.
    let out = pycache(&args.concat(), cwd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(has(&strings(&python, &out.stdout), "path", &source));

    // doctor: findings or not, never exit 2.
    let out = pycache(&[&[os(b"doctor"), os(b"app"), os(b"--python"), os(b"3.12")][..], &format].concat(), cwd);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out.stderr));
    let found = strings(&python, &out.stdout);
    assert!(has(&found, "source", &absolute(&source)), "{found:?}");
    assert!(has(&found, "cache", &absolute(&deep_cache)), "{found:?}");

    // verify.
    let out = pycache(&[&[os(b"verify"), os(b"app"), os(b"--python"), os(b"3.12")][..], &format].concat(), cwd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let found = strings(&python, &out.stdout);
    assert!(has(&found, "path", &source) && has(&found, "path", b"app/d\xff/m.py"), "{found:?}");

    // show and dis of the cache, and diff of it against itself.
    for command in [&b"show"[..], b"dis"] {
        let out = pycache(&[&[os(command), os(&cache)][..], &format].concat(), cwd);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let found = strings(&python, &out.stdout);
        assert!(has(&found, "file", &cache), "{found:?}");
        if command == b"show" {
            assert!(has(&found, "source", &source), "{found:?}");
        }
        // Text output too.
        let out = pycache(&[os(command), os(&cache)], cwd);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let out = pycache(&[&[os(b"diff"), os(&cache), os(&cache)][..], &format].concat(), cwd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    strings(&python, &out.stdout);

    // stub, planned only.
    std::fs::write(cwd.join(os(b"app/s\xe9.wsgi")), "application = None\n").unwrap();
    let out = pycache(&[&[os(b"stub"), os(b"--dry-run"), os(b"app/s\xe9.wsgi")][..], &format].concat(), cwd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let found = strings(&python, &out.stdout);
    assert!(found.iter().any(|(k, v)| k == "script" && v.ends_with(b"app/s\xe9.wsgi")), "{found:?}");

    // clean --all: it removes, then reports every removal in JSON.
    let out = pycache(&[&[os(b"clean"), os(b"app"), os(b"--all")][..], &format].concat(), cwd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let found = strings(&python, &out.stdout);
    assert!(has(&found, "path", &absolute(&cache)), "{found:?}");
    assert!(has(&found, "dirs", &absolute(b"app/d\xff/__pycache__")), "{found:?}");
    assert!(!cwd.join(os(&cache)).exists());
}

/// A refusal of a source with such a name kept the whole memory of
/// refusals from being saved (its JSON could not be written), so every
/// run started the interpreter again for every file that does not compile.
#[test]
fn regression_refusals_are_remembered_for_non_utf8_file_names() {
    let test = "regression_refusals_are_remembered_for_non_utf8_file_names";
    let Some(_python) = reference(3, 12, test) else { return };
    let (dir, app) = tree();
    std::fs::write(app.join(os(b"bad\xe9.py")), "def f(:\n").unwrap();
    let args = [os(b"compile"), os(b"app"), os(b"--python"), os(b"3.12"), os(b"--engine"), os(b"cpython")];
    let run = || {
        let out = pycache(&[&args[..], &[os(b"--format"), os(b"json")]].concat(), dir.path());
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let marker = b"\"workers_started\": ";
        let at = out.stdout.windows(marker.len()).position(|w| w == marker).expect("workers_started") + marker.len();
        text(&out.stdout[at..]).chars().take_while(char::is_ascii_digit).collect::<String>()
    };
    assert_ne!(run(), "0", "the first run compiles");
    // Nothing is stale now but the file that does not compile, whose
    // refusal is remembered: no interpreter starts.
    assert_eq!(run(), "0");
}
