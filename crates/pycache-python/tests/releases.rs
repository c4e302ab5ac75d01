//! Every release the tests can compare with is reachable by discovery: the
//! pyenv versions and the Debian builds `corpus/pythons.py` unpacks.

use std::path::PathBuf;
use std::process::Command;

use pycache_python::discovery::{PYTHONS_ROOT, Places};
use pycache_python::testing::{release, releases, releases_of};

fn label(version: (u8, u8, u8)) -> String {
    format!("{}.{}.{}", version.0, version.1, version.2)
}

/// Each release is listed once, oldest first, and is what it says it is.
#[test]
fn every_reachable_release_is_listed_once_and_runs() {
    let all = releases();
    eprintln!("releases: {}", all.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", "));
    assert!(all.windows(2).all(|w| w[0].version < w[1].version), "oldest first, one per release");
    for python in &all {
        let out = Command::new(&python.path)
            .args(["-E", "-S", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), label(python.version), "{python}");
        assert_eq!(
            release(python.version, "every_reachable_release_is_listed_once_and_runs").unwrap().version,
            python.version
        );
    }
}

/// What `corpus/pythons.py` installed (its manifest), discovery finds by
/// version, and a request for the minor version finds one of its releases.
#[test]
fn the_debian_builds_are_discovered() {
    let test = "the_debian_builds_are_discovered";
    let root = std::env::var_os("PYCACHE_PYTHONS").map_or_else(|| PathBuf::from(PYTHONS_ROOT), PathBuf::from);
    let Ok(text) = std::fs::read(root.join("manifest.json")) else {
        eprintln!("SKIP {test}: no {} (run corpus/pythons.py)", root.join("manifest.json").display());
        return;
    };
    let manifest: serde_json::Value = serde_json::from_slice(&text).unwrap();
    let listed = manifest["releases"].as_object().unwrap();
    assert!(!listed.is_empty());
    let all = releases();
    for (name, entry) in listed {
        let parts: Vec<u8> = name.split('.').map(|p| p.parse().unwrap()).collect();
        let version = (parts[0], parts[1], parts[2]);
        let found = release(version, test).unwrap_or_else(|| panic!("{name} is installed but not discovered"));
        // pyenv's build of the same release, if any, may come first.
        if found.path.starts_with(&root) {
            assert_eq!(found.path, PathBuf::from(entry["executable"].as_str().unwrap()));
        }
        assert!(all.iter().any(|p| p.version == version), "{name} missing from releases()");
        assert!(releases_of(version.0, version.1, test).iter().any(|p| p.version == version));
    }
    // Candidates include them, with no shim or hidden directory among them.
    let candidates = Places::from_env().candidates(false);
    assert!(candidates.iter().any(|p| p.starts_with(&root)), "{candidates:?}");
    assert!(!candidates.iter().any(|p| p.starts_with(root.join(".apt"))));
}

/// The caches `py_compile` writes for `files` (relative to `root`) in a
/// fresh `python -I [-O|-OO] -m py_compile FILE` process, checked-hash.
fn fresh_py_compile(python: &std::path::Path, root: &std::path::Path, file: &str, level: u8) -> Vec<u8> {
    let work = tempfile::tempdir().unwrap();
    let copy = work.path().join(file);
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(root.join(file), &copy).unwrap();
    let flags: &[&str] = match level {
        0 => &[],
        1 => &["-O"],
        _ => &["-OO"],
    };
    let status = Command::new(python)
        .arg("-I")
        .args(flags)
        .args(["-m", "py_compile", file])
        .current_dir(work.path())
        .env("SOURCE_DATE_EPOCH", "0")
        .status()
        .unwrap();
    assert!(status.success());
    let dir = copy.parent().unwrap().join("__pycache__");
    let entry = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap();
    std::fs::read(entry.path()).unwrap()
}

/// Pyodide's WebAssembly CPython writes what the native build of the same
/// release writes: pyodide 0.26.4 against pyenv's 3.12.1, on sources with
/// docstrings, asserts, f-strings and a syntax error. That is why 0.27.7
/// stands in for 3.12.7, which no other source here carries.
#[test]
fn pyodide_writes_what_the_native_build_of_its_release_writes() {
    let test = "pyodide_writes_what_the_native_build_of_its_release_writes";
    let (Some(pyodide), Some(python)) = (pycache_python::testing::pyodide((3, 12, 1), test), release((3, 12, 1), test))
    else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("pkg")).unwrap();
    std::fs::write(
        root.path().join("pkg/mod.py"),
        "'''Module doc.'''\nimport os\n\nclass C:\n    '''Class doc.'''\n    def f(self, x, *a, k=1):\n        assert x, f'{x!r:>{k}} {os.sep=}'\n        return [y for y in a if y], {**{}}, lambda: x\n",
    )
    .unwrap();
    std::fs::write(root.path().join("pkg/broken.py"), "def f(:\n    pass\n").unwrap();
    let files = vec![PathBuf::from("pkg/mod.py"), PathBuf::from("pkg/broken.py")];
    let compiled = pyodide.compile(root.path(), &files, &[0, 1, 2]).unwrap();
    assert_eq!(compiled.len(), 6);
    for item in compiled {
        match item.file.to_str().unwrap() {
            "pkg/mod.py" => {
                let want = fresh_py_compile(&python.path, root.path(), "pkg/mod.py", item.level);
                assert_eq!(item.result.as_ref().unwrap(), &want, "level {}", item.level);
            }
            _ => assert_eq!(item.result, Err("SyntaxError".to_owned())),
        }
    }
    // The package that carries 3.12.7 says so.
    if let Some(newer) = pycache_python::testing::pyodide((3, 12, 7), test) {
        let compiled = newer.compile(root.path(), &files[..1], &[0]).unwrap();
        let cache = compiled[0].result.as_ref().unwrap();
        assert_eq!(&cache[..4], &python.magic().unwrap().to_bytes()[..], "3.12's magic number");
    }
}
