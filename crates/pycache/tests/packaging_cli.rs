//! `pycache compile --manifest` and `--record`, as packagers use them: the
//! file lists RPM, Debian and container builds take, and a real `pip
//! uninstall` after `--record`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pycache_python::testing::reference;

mod run;
use run::{pycache, text};

fn args<'a>(items: &'a [&'a str]) -> Vec<&'a OsStr> {
    items.iter().map(OsStr::new).collect()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Every file below `dir`, as paths relative to it.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else { continue };
        for entry in entries.flatten() {
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path().strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_manifest_lists_every_cache_written_or_fresh_as_given() {
    let Some(_) = reference(3, 12, "the_manifest_lists_every_cache_written_or_fresh_as_given") else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("tree/pkg/__init__.py"), "");
    write(&root.join("tree/pkg/mod.py"), "x = 1\n");
    write(&root.join("tree/broken.py"), "def f(:\n");
    // A name that is not UTF-8 goes into the list as the file system has it.
    let odd = root.join(OsStr::from_bytes(b"tree/caf\xe9.py"));
    std::fs::write(&odd, "y = 2\n").unwrap();
    let run = |manifest: &str| {
        pycache(&args(&["compile", "tree", "--python", "3.12", "-o", "0", "-o", "1", "--manifest", manifest]), root)
    };
    let first = run("files.txt");
    assert_eq!(first.status.code(), Some(1), "the broken file fails the run: {}", text(&first.stderr));
    assert!(text(&first.stdout).contains("manifest: 6 caches listed in `files.txt`"), "{}", text(&first.stdout));
    let listed = std::fs::read(root.join("files.txt")).unwrap();
    let mut expected: Vec<&[u8]> = vec![
        b"tree/__pycache__/caf\xe9.cpython-312.opt-1.pyc",
        b"tree/__pycache__/caf\xe9.cpython-312.pyc",
        b"tree/pkg/__pycache__/__init__.cpython-312.opt-1.pyc",
        b"tree/pkg/__pycache__/__init__.cpython-312.pyc",
        b"tree/pkg/__pycache__/mod.cpython-312.opt-1.pyc",
        b"tree/pkg/__pycache__/mod.cpython-312.pyc",
    ];
    let mut lines: Vec<&[u8]> = listed.strip_suffix(b"\n").unwrap().split(|b| *b == b'\n').collect();
    lines.sort();
    expected.sort();
    assert_eq!(lines, expected, "{}", text(&listed));
    for line in &lines {
        assert!(root.join(OsStr::from_bytes(line)).is_file(), "{}", text(line));
    }
    // A run that finds everything fresh lists the same caches.
    let second = run("again.txt");
    assert!(text(&second.stdout).contains("0 compiled, 6 fresh, 2 failed"), "{}", text(&second.stdout));
    assert_eq!(std::fs::read(root.join("again.txt")).unwrap(), listed);
    // Absolute arguments give absolute paths; the JSON report counts them.
    let tree = root.join("tree/pkg");
    let json = pycache(
        &[
            OsStr::new("compile"),
            tree.as_os_str(),
            OsStr::new("--python"),
            OsStr::new("3.12"),
            OsStr::new("--manifest"),
            OsStr::new("abs.txt"),
            OsStr::new("--format"),
            OsStr::new("json"),
        ],
        root,
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON on stdout");
    assert_eq!(value["manifest"]["caches"], 2, "{value}");
    let absolute = std::fs::read(root.join("abs.txt")).unwrap();
    assert!(
        absolute.split(|b| *b == b'\n').filter(|l| !l.is_empty()).all(|l| l.starts_with(tree.as_os_str().as_bytes()))
    );
}

#[test]
fn a_manifest_that_cannot_be_written_is_an_error_and_the_caches_stay() {
    let Some(_) = reference(3, 12, "a_manifest_that_cannot_be_written_is_an_error_and_the_caches_stay") else { return };
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("tree/mod.py"), "x = 1\n");
    let out =
        pycache(&args(&["compile", "tree", "--python", "3.12", "--manifest", "missing-dir/files.txt"]), dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("`missing-dir/files.txt`"), "{}", text(&out.stderr));
    assert!(dir.path().join("tree/__pycache__/mod.cpython-312.pyc").is_file());
}

/// A wheel of a distribution `demo` 1.0 with a package and a subpackage,
/// made as any build backend makes one: files, then a RECORD of their
/// hashes and sizes.
const MAKE_WHEEL: &str = r#"
import base64, hashlib, sys, zipfile
files = {
    "demo/__init__.py": b"from demo.sub import mod\n",
    "demo/sub/__init__.py": b"",
    "demo/sub/mod.py": b"def f():\n    '''Documented.'''\n    assert f\n    return 1\n",
    "demo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    "demo-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: pycache-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
rows = []
for name, data in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    rows.append("%s,sha256=%s,%d" % (name, digest, len(data)))
rows.append("demo-1.0.dist-info/RECORD,,")
files["demo-1.0.dist-info/RECORD"] = ("\n".join(rows) + "\n").encode()
with zipfile.ZipFile(sys.argv[1], "w") as wheel:
    for name, data in files.items():
        wheel.writestr(name, data)
"#;

fn run(program: &Path, args: &[&str], cwd: &Path) -> Output {
    let out = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INDEX", "1")
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    assert!(out.status.success(), "{} {args:?}: {}{}", program.display(), text(&out.stdout), text(&out.stderr));
    out
}

#[test]
fn record_lets_pip_uninstall_remove_every_cache() {
    let Some(python) = reference(3, 12, "record_lets_pip_uninstall_remove_every_cache") else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    run(&python.path, &["-c", MAKE_WHEEL, "demo-1.0-py3-none-any.whl"], root);
    run(&python.path, &["-m", "venv", "venv"], root);
    let venv_python = root.join("venv/bin/python");
    let site = root.join("venv/lib/python3.12/site-packages");
    let package = site.join("demo");
    let install = || {
        run(&venv_python, &["-m", "pip", "install", "--quiet", "demo-1.0-py3-none-any.whl"], root);
        // pip compiled the level-0 caches itself and listed them.
        assert!(package.join("sub/__pycache__/mod.cpython-312.pyc").is_file());
    };
    let compile = |extra: &[&str]| {
        let mut all = vec!["compile", "--python", "venv/bin/python", "-o", "0", "-o", "1", "-o", "2"];
        all.extend_from_slice(extra);
        all.push("venv/lib/python3.12/site-packages/demo");
        let out = pycache(&args(&all), root);
        assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
        text(&out.stdout)
    };
    let uninstall = || run(&venv_python, &["-m", "pip", "uninstall", "--yes", "--quiet", "demo"], root);

    // Without --record, pip leaves the caches it cannot name behind.
    install();
    compile(&[]);
    uninstall();
    let left = files_below(&package);
    assert!(!left.is_empty(), "pip removed the -O caches on its own: the test proves nothing");
    assert!(left.iter().all(|p| p.to_string_lossy().contains(".opt-")), "{left:?}");
    std::fs::remove_dir_all(&package).unwrap();

    // With --record they are listed as pip lists its own, and all go.
    install();
    let stdout = compile(&["--record"]);
    assert!(stdout.contains("RECORD: added 6 caches to 1 distribution; 3 already listed"), "{stdout}");
    let record = std::fs::read_to_string(site.join("demo-1.0.dist-info/RECORD")).unwrap();
    assert!(record.contains("demo/sub/__pycache__/mod.cpython-312.opt-2.pyc,,\r\n"), "{record}");
    // A second run adds nothing.
    let again = compile(&["--record"]);
    assert!(again.contains("RECORD: added 0 caches to 0 distributions; 9 already listed"), "{again}");
    assert_eq!(std::fs::read_to_string(site.join("demo-1.0.dist-info/RECORD")).unwrap(), record);
    uninstall();
    assert!(!package.exists(), "left behind: {:?}", files_below(&package));
    assert!(!site.join("demo-1.0.dist-info").exists());
}
