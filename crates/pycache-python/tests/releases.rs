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
