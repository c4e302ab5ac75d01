//! For every installed interpreter (2.7, 3.6 to 3.13, and the Debian builds
//! of 3.14 and 3.15), decodes the caches of its standard library and
//! compares each code object with what that interpreter's own `dis` finds
//! in the same file: offsets, opnames, arguments, line starts and lines,
//! argument text, the names of the code flags, and from 3.11 the positions
//! and the exception table. A missing interpreter prints a SKIP line.
//! `-- --nocapture` shows the figures. PYCACHE_TEST_EXTRA_PYTHONS adds
//! interpreters by path (colon-separated).
//!
//! The Debian builds of 3.14.10, 3.15.0 and 3.15.2 (`testing::debian_release`,
//! under `$PYCACHE_PYTHONS`, default `/opt/pycache-pythons`) are compared
//! by a test of their own, on every file of their standard library too
//! (about 37 s of CPU for the three).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pycache_dis::{DecodeOptions, Decoded, disassemble};
use pycache_marshal::{RefTable, read_pyc};
use pycache_python::Interpreter;
use pycache_python::testing::references;
use serde::Deserialize;

const DUMP: &str = include_str!("dis_dump.py");

type Positions = [Option<u32>; 4];

#[derive(Deserialize)]
struct TheirInstruction(u32, String, Option<i64>, serde_json::Value, Option<u32>, String, Option<Positions>);

#[derive(Deserialize)]
struct TheirCode(usize, String, Vec<TheirInstruction>, Vec<(u64, u64, u64, u64, bool)>, Option<String>);

/// The Debian releases compared: the newest of 3.14, both of 3.15.
const DEBIAN_RELEASES: &[(u8, u8, u8)] = &[(3, 15, 2), (3, 14, 10), (3, 15, 0)];

/// Compiles each source named on stdin (`source<TAB>cache`) to the given
/// cache path; prints `ok` or `failed` per line. Runs on 2.7 and 3.x.
const COMPILE: &str = r#"
import sys, py_compile, warnings
warnings.simplefilter("ignore")
for line in sys.stdin:
    source, cache = line.rstrip("\n").split("\t")
    try:
        py_compile.compile(source, cache, source, True)
        sys.stdout.write("ok\n")
    except Exception:
        sys.stdout.write("failed\n")
"#;

/// Level-0 caches of the standard library, third-party packages left out,
/// in the order of their sources' paths (the same order whichever caches
/// the install happens to hold), and how many
/// sources the interpreter refused. Sources without a cache (3.11's install
/// keeps few, Debian's builds almost none) are compiled by the interpreter
/// into `scratch`; those it refuses (test data with syntax errors on
/// purpose) are left out.
fn stdlib_caches(python: &Interpreter, scratch: &Path) -> (Vec<PathBuf>, usize) {
    let (major, minor, _) = python.version;
    let root = python.prefix.join("lib").join(format!("python{major}.{minor}"));
    let suffix = format!(".cpython-{major}{minor}.pyc");
    let mut found = Vec::new();
    let mut uncached = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                if name != "site-packages" {
                    dirs.push(path);
                }
            } else if kind.is_file() {
                let in_pycache = dir.file_name().is_some_and(|n| n == "__pycache__");
                let wanted = if major == 2 { name.ends_with(".pyc") } else { in_pycache && name.ends_with(&suffix) };
                if wanted {
                    // Sorted by the source it stands for.
                    let source = if major == 2 {
                        dir.join(name.trim_end_matches(['c', 'o']))
                    } else {
                        dir.parent().unwrap_or(&dir).join(format!("{}.py", name.trim_end_matches(&suffix)))
                    };
                    found.push((source, path));
                } else if let Some(stem) = name.strip_suffix(".py") {
                    let cache = if major == 2 {
                        dir.join(format!("{name}c"))
                    } else {
                        dir.join("__pycache__").join(format!("{stem}{suffix}"))
                    };
                    if !cache.exists() {
                        uncached.push(path);
                    }
                }
            }
        }
    }
    uncached.sort();
    let targets: Vec<PathBuf> = (0..uncached.len()).map(|i| scratch.join(format!("{i}.pyc"))).collect();
    let input: String =
        uncached.iter().zip(&targets).map(|(s, c)| format!("{}\t{}\n", s.display(), c.display())).collect();
    let output = run_script(python, COMPILE, input);
    let mut refused = 0;
    for ((line, target), source) in output.lines().zip(&targets).zip(&uncached) {
        if line == "ok" {
            found.push((source.clone(), target.clone()));
        } else {
            refused += 1;
        }
    }
    found.sort();
    (found.into_iter().map(|(_, cache)| cache).collect(), refused)
}

fn run_script(python: &Interpreter, script: &str, input: String) -> String {
    let mut child = Command::new(&python.path)
        .args(["-E", "-S", "-B", "-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the interpreter");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).expect("write input"));
    let output = child.wait_with_output().expect("interpreter output");
    writer.join().expect("writer thread");
    assert!(output.status.success(), "{} failed", python.path.display());
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[derive(Default)]
struct Tally {
    files: usize,
    /// Sources the interpreter refused to compile (test data).
    refused: usize,
    compiled_here: usize,
    codes: usize,
    instructions: usize,
    positions: usize,
    exception_entries: usize,
    argrepr_compared: usize,
    flags_compared: usize,
    problems: Vec<String>,
    problem_count: usize,
}

impl Tally {
    fn problem(&mut self, text: String) {
        self.problem_count += 1;
        if self.problems.len() < 20 {
            self.problems.push(text);
        }
    }
}

fn compare_code(tally: &mut Tally, path: &Path, ours: &Decoded<'_>, theirs: &TheirCode, modern: bool) {
    tally.codes += 1;
    let ours_instrs = &ours.instructions;
    let where_ = |offset: u32| format!("{} {} @{offset}", path.display(), theirs.1);
    if ours_instrs.len() != theirs.2.len() {
        tally.problem(format!("{}: {} instructions here, {} in dis", where_(0), ours_instrs.len(), theirs.2.len()));
    }
    for (o, t) in ours_instrs.iter().zip(&theirs.2) {
        tally.instructions += 1;
        if (o.offset, o.opname.as_str(), o.arg) != (t.0, t.1.as_str(), t.2) {
            tally.problem(format!("{}: {} {:?} here, {} {:?} in dis", where_(t.0), o.opname, o.arg, t.1, t.2));
            return;
        }
        let starts_ok = if modern {
            t.3.as_bool() == Some(o.starts_line)
        } else {
            let ours_start = if o.starts_line { o.line.map(i64::from) } else { None };
            t.3.as_i64() == ours_start
        };
        if !starts_ok || o.line != t.4 {
            tally.problem(format!(
                "{}: line {:?} (start {}) here, line {:?} (start {}) in dis",
                where_(t.0),
                o.line,
                o.starts_line,
                t.4,
                t.3
            ));
        }
        if let Some(theirs_pos) = t.6 {
            tally.positions += 1;
            let p = o.positions.unwrap_or_default();
            let ours_pos = [p.lineno, p.end_lineno, p.col_offset, p.end_col_offset];
            if ours_pos != theirs_pos {
                tally.problem(format!("{}: positions {ours_pos:?} here, {theirs_pos:?} in dis", where_(t.0)));
            }
        }
        tally.argrepr_compared += 1;
        let argrepr = without_addresses(&o.argrepr);
        if argrepr != t.5 && !same_set_text(&argrepr, &t.5) {
            tally.problem(format!("{}: argrepr {:?} here, {:?} in dis", where_(t.0), o.argrepr, t.5));
        }
    }
    let ours_table: Vec<(u64, u64, u64, u64, bool)> =
        ours.exception_table.iter().map(|e| (e.start, e.end, e.target, e.depth, e.lasti)).collect();
    tally.exception_entries += theirs.3.len();
    if ours_table != theirs.3 {
        tally.problem(format!("{}: exception table {ours_table:?} here, {:?} in dis", where_(0), theirs.3));
    }
    if let Some(their_flags) = &theirs.4 {
        tally.flags_compared += 1;
        let flags = pycache_dis::pretty_flags(ours.view.version, ours.view.flags);
        if &flags != their_flags {
            tally.problem(format!("{}: flags {flags:?} here, {their_flags:?} in dis", where_(0)));
        }
    }
}

/// What dis_dump.py does to reprs: ` at 0x...` removed (a string
/// constant may hold such text too).
fn without_addresses(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" at 0x") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 6..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_hexdigit()).len();
        if digits == 0 {
            out.push_str(" at 0x");
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// Frozenset constants print in the iteration order of the loading
/// process, which can differ from the order marshal stored them in.
fn same_set_text(ours: &str, theirs: &str) -> bool {
    if !ours.contains("frozenset(") {
        return false;
    }
    let mut a: Vec<char> = ours.chars().collect();
    let mut b: Vec<char> = theirs.chars().collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

/// Compares the caches of `python`'s standard library.
fn check(python: &Interpreter) -> Tally {
    let scratch = tempfile::tempdir().expect("scratch directory");
    let (caches, refused) = stdlib_caches(python, scratch.path());
    let compiled_here = caches.iter().filter(|c| c.starts_with(scratch.path())).count();
    let modern = python.version.0 == 3 && python.version.1 >= 13;
    let mut child = Command::new(&python.path)
        .args(["-E", "-S", "-B", "-c", DUMP])
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run the interpreter");
    let mut stdin = child.stdin.take().expect("stdin");
    let list: String = caches.iter().map(|p| format!("{}\n", p.display())).collect();
    let writer = std::thread::spawn(move || stdin.write_all(list.as_bytes()).expect("write paths"));
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut tally = Tally { compiled_here, refused, ..Tally::default() };
    for path in &caches {
        tally.files += 1;
        let bytes = std::fs::read(path).expect("readable cache");
        let pyc = read_pyc(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let refs = RefTable::new(&pyc.code).expect("references");
        let decoded = disassemble(&pyc.code, &refs, pyc.format.version(), DecodeOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for ours in &decoded {
            let line = lines.next().expect("a line from dis").expect("readable output");
            let theirs: TheirCode = serde_json::from_str(&line).expect("dis_dump.py JSON");
            assert_eq!(theirs.0, tally.files - 1, "{}: code objects out of step with dis", path.display());
            compare_code(&mut tally, path, ours, &theirs, modern);
        }
    }
    writer.join().expect("writer thread");
    assert!(lines.next().is_none(), "dis found more code objects than this decoder");
    assert!(child.wait().expect("interpreter exit").success());
    tally
}

#[test]
fn decoding_matches_each_interpreters_dis() {
    let mut pythons = references("decoding_matches_each_interpreters_dis");
    // pyenv's builds too where discovery chose another one (a system
    // 3.11 with a smaller standard library, say).
    if let Some(root) = pycache_python::testing::pyenv_root() {
        let mut dirs: Vec<PathBuf> =
            std::fs::read_dir(root.join("versions")).into_iter().flatten().flatten().map(|e| e.path()).collect();
        dirs.sort();
        for dir in dirs {
            let Ok(python) = pycache_python::probe(&dir.join("bin/python")) else { continue };
            let (major, minor, _) = python.version;
            let known = pycache_python::testing::VERSIONS.contains(&(major, minor));
            if known && !pythons.iter().any(|p| p.prefix == python.prefix) {
                pythons.push(python);
            }
        }
    }
    // Interpreters beyond the reference set, such as a 3.14 run through
    // its own loader: PYCACHE_TEST_EXTRA_PYTHONS=path[:path...].
    for path in std::env::var("PYCACHE_TEST_EXTRA_PYTHONS").unwrap_or_default().split(':').filter(|p| !p.is_empty()) {
        pythons.push(pycache_python::probe(Path::new(path)).expect("an extra interpreter that runs"));
    }
    compare_all(&pythons);
}

#[test]
fn decoding_matches_the_debian_releases_dis() {
    let test = "decoding_matches_the_debian_releases_dis";
    let pythons: Vec<Interpreter> =
        DEBIAN_RELEASES.iter().filter_map(|&release| pycache_python::testing::debian_release(release, test)).collect();
    compare_all(&pythons);
}

/// Compares each interpreter's standard library, prints the figures, and
/// fails on any difference.
fn compare_all(pythons: &[Interpreter]) {
    // Two interpreters at a time: the machines have two cores.
    let results: Vec<((u8, u8, u8), Tally)> = std::thread::scope(|scope| {
        let mut results = Vec::new();
        for pair in pythons.chunks(2) {
            let handles: Vec<_> = pair.iter().map(|p| scope.spawn(move || (p.version, check(p)))).collect();
            results.extend(handles.into_iter().map(|h| h.join().expect("comparison thread")));
        }
        results
    });
    let mut failed = Vec::new();
    for ((major, minor, micro), tally) in &results {
        eprintln!(
            "python {major}.{minor}.{micro}: {} files ({} compiled by the test; {} sources refused), {} code objects, {} instructions ({} with positions, {} argument \
             texts), {} exception table entries, {} code flags compared with dis; {} differences",
            tally.files,
            tally.compiled_here,
            tally.refused,
            tally.codes,
            tally.instructions,
            tally.positions,
            tally.argrepr_compared,
            tally.exception_entries,
            tally.flags_compared,
            tally.problem_count
        );
        if tally.problem_count > 0 {
            failed.push(format!("python {major}.{minor}.{micro}:\n  {}", tally.problems.join("\n  ")));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
