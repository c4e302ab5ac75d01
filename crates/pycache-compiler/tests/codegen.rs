//! Code generation against the interpreter's own, stage by stage: the
//! module unit of each file of `fixtures/codegen313/` as the native
//! compiler's code generation leaves it (`codegen_listing`), against what
//! `_testinternalcapi.compiler_codegen` gives in every CPython 3.13
//! release found (pyenv's and those under `/opt/pycache-pythons`), with
//! the profile of that release. Checks the stages before the flow graph
//! (lower, fold, symtable, codegen) before the later ones are exact.

use std::path::{Path, PathBuf};
use std::process::Command;

use pycache_compiler::{Release, Target};

/// The 3.13 interpreters at hand, with their releases.
fn interpreters() -> Vec<(PathBuf, Release)> {
    let mut paths = Vec::new();
    if let Some(root) = pycache_python::testing::pyenv_root() {
        if let Ok(dir) = std::fs::read_dir(root.join("versions")) {
            paths.extend(dir.flatten().map(|e| e.path().join("bin/python3")));
        }
    }
    if let Ok(dir) = std::fs::read_dir("/opt/pycache-pythons") {
        paths.extend(dir.flatten().map(|e| e.path().join("usr/bin/python3.13")));
    }
    let mut found = Vec::new();
    for path in paths.into_iter().filter(|p| p.is_file()) {
        let Ok(out) =
            Command::new(&path).args(["-c", "import sys, _testinternalcapi; print(*sys.version_info[:3])"]).output()
        else {
            continue;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let v: Vec<u8> = text.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if out.status.success() && v.len() == 3 && (v[0], v[1]) == (3, 13) {
            found.push((path, Release::new(v[0], v[1], v[2])));
        }
    }
    found.sort_by_key(|(_, r)| *r);
    found.dedup_by_key(|(_, r)| *r);
    found
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/codegen313");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    files.sort();
    files
}

/// The interpreter's listings, by file.
fn reference(python: &Path, level: u8, files: &[PathBuf]) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/codegen_listing.py");
    let out = Command::new(python).arg("-I").arg(script).arg(level.to_string()).args(files).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut listings = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if line.starts_with("== ") {
            listings.push(std::mem::take(&mut current));
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    assert_eq!(listings.len(), files.len());
    listings
}

/// The first lines where two listings differ, with a little context.
fn difference(ours: &str, theirs: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    let i = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let from = i.saturating_sub(3);
    let show = |v: &[&str]| v[from.min(v.len())..(i + 4).min(v.len())].join("\n      ");
    format!("   ours:\n      {}\n   CPython:\n      {}", show(&a), show(&b))
}

#[test]
fn codegen_matches_every_3_13_release() {
    let pythons = interpreters();
    if pythons.is_empty() {
        eprintln!("SKIP codegen_matches_every_3_13_release: no CPython 3.13 with _testinternalcapi");
        return;
    }
    let files = fixtures();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (python, release) in &pythons {
        let Some(target) = Target::candidate(*release) else {
            eprintln!("NOTE: no profile of CPython {release} ({}): not compared", python.display());
            continue;
        };
        for level in [0u8, 2] {
            let theirs = reference(python, level, &files);
            for (file, theirs) in files.iter().zip(&theirs) {
                let source = std::fs::read(file).unwrap();
                let name = file.to_str().unwrap();
                let ours = match pycache_compiler::codegen_listing(&source, name, target, level) {
                    Ok(listing) => listing,
                    Err(refusal) => format!("error {refusal}\n"),
                };
                if &ours == theirs {
                    checked += 1;
                } else {
                    let short = file.file_name().unwrap().to_string_lossy();
                    problems.push(format!("{short} -O{level} on {release}:\n{}", difference(&ours, theirs)));
                }
            }
        }
        eprintln!("compared with CPython {release} ({})", python.display());
    }
    eprintln!("{checked} listings identical");
    assert!(problems.is_empty(), "{} differ:\n{}", problems.len(), problems.join("\n"));
}
