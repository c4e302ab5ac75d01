//! `pycache compile` against each interpreter's own compileall, on real trees.
//!
//! For every installed interpreter among 2.7 and 3.6-3.13: its standard
//! library plus the pinned corpus (Django, SymPy, NumPy, requests, urllib3,
//! botocore), compiled by compileall and by pycache into the same paths, then
//! compared file by file. 2.7, 3.11 and 3.13 must be byte-identical. For
//! 3.6-3.10 and 3.12, compileall itself is not reproducible: marshal marks an
//! object as shared (FLAG_REF) when its reference count is above one, which
//! depends on what else is alive in the process (3.6-3.10), and 3.12 keeps
//! every string a compile interned for the rest of the process, which changes
//! how later compiles share constants. Compiling the same tree in another
//! order changes some of compileall's own files. There, a file must be
//! identical or equivalent: same header, and the same object tree once
//! marshal's references are followed. Before 3.12 `hash(None)` follows the
//! address of `None`, so a frozenset constant that holds `None` comes out in
//! a different order in every process; such a file may differ in that order
//! alone.

mod common;

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use common::{Same, caches, compare, compileall, copy_sources, corpus, move_caches, stdlib};
use pycache_compile::{CompileOptions, Engine, InvalidationMode, Layout, Report, Status, Target, run};
use pycache_progress::NoProgress;
use pycache_python::Interpreter;
use pycache_python::testing::reference;

/// compileall's arguments for one variant, and ours.
struct Variant {
    name: &'static str,
    levels: Vec<u8>,
    args: Vec<String>,
    options: CompileOptions,
}

/// Whether compileall agrees with itself on this release, so that every
/// cache must be byte-identical: compiling the stdlib and the corpus in
/// sorted and in reverse order changes no byte on 2.7, 3.11.2 and 3.13, and
/// some on 3.6-3.10, 3.11.7 (3 of 5,400 caches) and 3.12
/// (`bench/compileall_reproducibility.py`). Other 3.11 releases are not
/// measured and get the lenient check.
fn strict(python: &Interpreter) -> bool {
    python.version.0 == 2 || python.version == (3, 11, 2) || python.version >= (3, 13, 0)
}

/// Runs compileall for `levels`: in one run with -o where compileall has it
/// (3.9+), else once per level under the interpreter's own -O flags.
fn reference_run(python: &Interpreter, tree: &Path, levels: &[u8], args: &[String]) {
    let cwd = tree.parent().unwrap();
    let tree_arg = tree.to_str().unwrap().to_owned();
    if python.version >= (3, 9, 0) {
        let mut all: Vec<String> = vec!["-q".into()];
        for level in levels {
            all.extend(["-o".into(), level.to_string()]);
        }
        all.extend(args.iter().cloned());
        all.push(tree_arg);
        compileall(python, &all.iter().map(String::as_str).collect::<Vec<_>>(), cwd);
    } else {
        for &level in levels {
            let mut all: Vec<String> = Vec::new();
            match level {
                1 => all.push("-O".into()),
                2 => all.push("-OO".into()),
                _ => {}
            }
            all.extend(["-m".into(), "compileall".into(), "-q".into()]);
            all.extend(args.iter().cloned());
            all.push(tree_arg.clone());
            let output = std::process::Command::new(&python.path)
                .args(&all)
                .current_dir(cwd)
                .env_remove("PYTHONDONTWRITEBYTECODE")
                .env("PYTHONHASHSEED", "0")
                .output()
                .unwrap();
            assert!(matches!(output.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&output.stderr));
        }
    }
}

fn ours(python: &Interpreter, tree: &Path, variant: &Variant) -> Report {
    let options = CompileOptions {
        paths: vec![tree.to_path_buf()],
        levels: variant.levels.clone(),
        jobs: 2,
        ..variant.options.clone()
    };
    run(&options, &[Target { interpreter: python.clone() }], &NoProgress).unwrap()
}

/// Whether the interpreter lays out frozensets of `None` differently in every
/// process: `hash(None)` is constant only from 3.12.
fn unstable_set_order(python: &Interpreter) -> bool {
    python.version.0 == 3 && python.version < (3, 12, 0)
}

/// Compiles `tree` both ways and compares. Returns (identical, flags-only).
fn check(python: &Interpreter, tree: &Path, variant: &Variant) -> (usize, usize) {
    let label = format!("{} {}", python.label(), variant.name);
    // The strip prefix is the temporary directory, known only now.
    let parent = tree.parent().unwrap().to_path_buf();
    let args: Vec<String> =
        variant.args.iter().map(|a| if a == "STRIP" { parent.display().to_string() } else { a.clone() }).collect();
    let mut variant =
        Variant { name: variant.name, levels: variant.levels.clone(), args, options: variant.options.clone() };
    if variant.args.iter().any(|a| a == "-s") {
        variant.options.strip = Some(parent);
    }
    let variant = &variant;
    let reference_dir = tree.with_extension("reference");
    reference_run(python, tree, &variant.levels, &variant.args);
    let expected = move_caches(tree, &reference_dir);
    assert!(expected > 0, "{label}: compileall wrote nothing");
    let report = ours(python, tree, variant);
    let ours_caches = caches(tree);
    let theirs = caches(&reference_dir);

    let mut problems = Vec::new();
    for rel in theirs.keys().filter(|r| !ours_caches.contains_key(*r)) {
        problems.push(format!("missing: {}", rel.display()));
    }
    for rel in ours_caches.keys().filter(|r| !theirs.contains_key(*r)) {
        problems.push(format!("extra: {}", rel.display()));
    }
    let (mut identical, mut flags_only, mut set_order) = (0, 0, 0);
    for (rel, path) in &ours_caches {
        let Some(reference) = theirs.get(rel) else { continue };
        match compare(path, reference) {
            Same::Bytes => identical += 1,
            Same::Equivalent if !strict(python) => flags_only += 1,
            Same::SetOrder if unstable_set_order(python) => set_order += 1,
            other => problems.push(format!("{}: {other:?}", rel.display())),
        }
    }
    // Every failure must be a file compileall could not compile either, and
    // every file compileall compiled must be reported compiled.
    for file in &report.files {
        if file.status == Status::Failed {
            let cache = file.cache.as_ref().map(|c| c.strip_prefix(tree).unwrap().to_path_buf());
            if cache.as_ref().is_some_and(|c| theirs.contains_key(c)) {
                problems.push(format!("we failed where compileall did not: {}: {:?}", file.path.display(), file.error));
            }
        }
    }
    assert_eq!(report.summary.compiled, ours_caches.len(), "{label}: report and disk disagree");
    eprintln!(
        "{label}: {} caches, {identical} byte-identical, {flags_only} equivalent (differ only in marshal sharing), \
         {set_order} equal but for the order of a frozenset holding None, {} failed in both",
        ours_caches.len(),
        report.summary.failed
    );
    std::fs::remove_dir_all(&reference_dir).unwrap();
    assert!(
        problems.is_empty(),
        "{label}: {} problems:\n{}",
        problems.len(),
        problems[..problems.len().min(30)].join("\n")
    );
    (identical, flags_only)
}

/// A fresh copy of the interpreter's stdlib (and the corpus, if `full`).
fn tree(python: &Interpreter, full: bool) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let lib = stdlib(python);
    let skip: &[&str] = if full { &[] } else { &["test", "tests", "lib2to3", "idlelib", "tkinter", "turtledemo"] };
    let n = copy_sources(&lib, &tree.join("stdlib"), skip);
    assert!(n > 100, "{}: only {n} stdlib files in `{}`", python.label(), lib.display());
    if full {
        match corpus() {
            Some(corpus) => {
                copy_sources(&corpus, &tree.join("site-packages"), &[]);
            }
            None => eprintln!("SKIP part of the corpus: run `python3 corpus/fetch.py` to add the third-party packages"),
        }
    }
    (dir, tree)
}

/// The whole corpus at every level, then the variants on the stdlib.
fn corpus_and_variants(major: u8, minor: u8) {
    let test = format!("differential_{major}_{minor}");
    let Some(python) = reference(major, minor, &test) else { return };
    let (_dir, full) = tree(&python, true);
    // 2.7 writes -O and -OO to the same `.pyo`; its level 2 is a variant.
    let levels = if major == 2 { vec![0, 1] } else { vec![0, 1, 2] };
    // The interpreter workers on the whole tree; the variants below run
    // the default engine, which is the native compiler for 3.12.1.
    let workers = CompileOptions { engine: Engine::Cpython, ..CompileOptions::default() };
    check(&python, &full, &Variant { name: "levels 0/1/2", levels, args: vec![], options: workers });
    for variant in variants(&python) {
        let (_dir, tree) = tree(&python, false);
        check(&python, &tree, &variant);
    }
}

fn variants(python: &Interpreter) -> Vec<Variant> {
    let mut out = Vec::new();
    let base = CompileOptions::default();
    if python.version.0 == 2 {
        out.push(Variant { name: "-OO", levels: vec![2], args: vec![], options: base.clone() });
    }
    if python.version >= (3, 7, 0) {
        for (flag, mode) in
            [("checked-hash", InvalidationMode::CheckedHash), ("unchecked-hash", InvalidationMode::UncheckedHash)]
        {
            out.push(Variant {
                name: flag,
                levels: vec![0],
                args: vec!["--invalidation-mode".into(), flag.into()],
                options: CompileOptions { invalidation: Some(mode), ..base.clone() },
            });
        }
    }
    if python.version.0 == 3 {
        out.push(Variant {
            name: "-b",
            levels: vec![0],
            args: vec!["-b".into()],
            options: CompileOptions { layout: Layout::Legacy, ..base.clone() },
        });
    }
    out.push(Variant {
        name: "-d",
        levels: vec![0],
        args: vec!["-d".into(), "/srv/app".into()],
        options: CompileOptions { ddir: Some("/srv/app".into()), ..base.clone() },
    });
    // -s and -p exist in compileall from 3.9.
    if python.version >= (3, 9, 0) {
        out.push(Variant {
            name: "-s -p",
            levels: vec![0],
            args: vec!["-s".into(), "STRIP".into(), "-p".into(), "/opt/app".into()],
            options: CompileOptions { prepend: Some("/opt/app".into()), ..base.clone() },
        });
    }
    out
}

macro_rules! differential {
    ($($name:ident => ($major:literal, $minor:literal)),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                corpus_and_variants($major, $minor);
            }
        )*
    };
}

differential! {
    differential_2_7 => (2, 7),
    differential_3_6 => (3, 6),
    differential_3_7 => (3, 7),
    differential_3_8 => (3, 8),
    differential_3_9 => (3, 9),
    differential_3_10 => (3, 10),
    differential_3_11 => (3, 11),
    differential_3_12 => (3, 12),
    differential_3_13 => (3, 13),
}

/// A second run compiles nothing; touching one source recompiles exactly it,
/// at each requested level.
#[test]
fn a_second_run_compiles_nothing_and_a_touch_recompiles_one_file() {
    let Some(python) = reference(3, 12, "a_second_run_compiles_nothing_and_a_touch_recompiles_one_file") else {
        return;
    };
    let (_dir, tree) = tree(&python, false);
    let variant =
        Variant { name: "incremental", levels: vec![0, 1, 2], args: vec![], options: CompileOptions::default() };
    let first = ours(&python, &tree, &variant);
    assert!(first.summary.compiled > 300, "{:?}", first.summary);
    let second = ours(&python, &tree, &variant);
    assert_eq!(second.summary.compiled, 0);
    assert_eq!(second.summary.fresh, first.summary.compiled);
    assert_eq!(second.summary.workers_started, 0, "a run with nothing to do starts no interpreter");
    let touched = tree.join("stdlib/json/decoder.py");
    let later = std::fs::metadata(&touched).unwrap().modified().unwrap() + std::time::Duration::from_secs(5);
    std::fs::File::options().write(true).open(&touched).unwrap().set_modified(later).unwrap();
    let third = ours(&python, &tree, &variant);
    let compiled: Vec<_> =
        third.files.iter().filter(|f| f.status == Status::Compiled).map(|f| (f.path.clone(), f.optimize)).collect();
    assert_eq!(compiled, vec![(touched.clone(), Some(0)), (touched.clone(), Some(1)), (touched, Some(2))]);
}

/// A source the interpreter refuses is remembered: the next run reports the
/// same failure without starting an interpreter, until the source changes.
#[test]
fn refused_sources_are_remembered_until_they_change() {
    let Some(python) = reference(3, 12, "refused_sources_are_remembered_until_they_change") else { return };
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("good.py"), "x = 1\n").unwrap();
    let bad = tree.join("bad.py");
    std::fs::write(&bad, "def f(:\n").unwrap();
    let options = CompileOptions {
        paths: vec![tree.clone()],
        failure_memory: Some(dir.path().join("failures.json")),
        jobs: 1,
        ..CompileOptions::default()
    };
    let targets = [Target { interpreter: python }];
    let first = run(&options, &targets, &NoProgress).unwrap();
    assert_eq!((first.summary.compiled, first.summary.failed), (1, 1));
    let second = run(&options, &targets, &NoProgress).unwrap();
    assert_eq!((second.summary.fresh, second.summary.failed, second.summary.workers_started), (1, 1, 0));
    let message = |r: &Report| r.files.iter().find(|f| f.status == Status::Failed).unwrap().error.clone();
    assert_eq!(message(&first), message(&second));
    std::fs::write(&bad, "def f():\n    pass\n").unwrap();
    let third = run(&options, &targets, &NoProgress).unwrap();
    assert_eq!((third.summary.compiled, third.summary.failed), (1, 0));
}

/// With the header memory, a no-op run stats caches instead of reading
/// them; a cache changed in place (same size, the header's mtime bytes
/// altered) or replaced by another file is still seen, and only it is
/// recompiled.
#[test]
fn remembered_headers_never_hide_a_changed_cache() {
    let Some(python) = reference(3, 12, "remembered_headers_never_hide_a_changed_cache") else { return };
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("pkg")).unwrap();
    for name in ["a.py", "b.py", "pkg/__init__.py", "pkg/c.py"] {
        std::fs::write(tree.join(name), format!("NAME = {name:?}\n")).unwrap();
    }
    let memory = dir.path().join("headers.bin");
    let options = CompileOptions {
        paths: vec![tree.clone()],
        header_memory: Some(memory.clone()),
        jobs: 2,
        ..CompileOptions::default()
    };
    let targets = [Target { interpreter: python }];
    let compiled = |report: &Report| -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> =
            report.files.iter().filter(|f| f.status == Status::Compiled).map(|f| f.path.clone()).collect();
        paths.sort();
        paths
    };
    assert_eq!(run(&options, &targets, &NoProgress).unwrap().summary.compiled, 4);
    // Once the caches are older than a clock tick, a run learns them all.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let second = run(&options, &targets, &NoProgress).unwrap();
    assert_eq!((second.summary.fresh, second.summary.compiled), (4, 0));
    assert!(std::fs::metadata(&memory).unwrap().len() > 4 * 17, "the memory holds the four headers");

    // In place, same size: the header's mtime field changes.
    let cache_a = tree.join("__pycache__/a.cpython-312.pyc");
    let mut bytes = std::fs::read(&cache_a).unwrap();
    bytes[8] ^= 1;
    std::fs::OpenOptions::new().write(true).open(&cache_a).unwrap().write_all_at(&bytes, 0).unwrap();
    // Replaced by a rename: a stale copy of another cache.
    let cache_c = tree.join("pkg/__pycache__/c.cpython-312.pyc");
    let stale = dir.path().join("stale.pyc");
    std::fs::copy(tree.join("pkg/__pycache__/__init__.cpython-312.pyc"), &stale).unwrap();
    let mut stale_bytes = std::fs::read(&stale).unwrap();
    stale_bytes[8] ^= 1;
    std::fs::write(&stale, &stale_bytes).unwrap();
    std::fs::rename(&stale, &cache_c).unwrap();

    let third = run(&options, &targets, &NoProgress).unwrap();
    assert_eq!(compiled(&third), [tree.join("a.py"), tree.join("pkg/c.py")]);
    assert_eq!(run(&options, &targets, &NoProgress).unwrap().summary.compiled, 0);
}
