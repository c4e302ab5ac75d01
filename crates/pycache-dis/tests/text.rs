//! The text disassembly of a small fixture folder, for each installed
//! interpreter: the same text as that interpreter's own `dis` for every
//! code object (with and without inline caches from 3.11), and an insta
//! snapshot per fixture and version. Fixtures a version cannot compile are
//! skipped for it. Beside the reference interpreters, the Debian builds of
//! the newest 3.14 and 3.15 releases (`testing::debian_release`), whose
//! snapshots these are.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pycache_dis::text::{TextOptions, disassemble_all, disassembly};
use pycache_dis::{DecodeOptions, disassemble};
use pycache_marshal::{RefTable, read_pyc};
use pycache_python::Interpreter;
use pycache_python::testing::{debian_release, references};

/// Compiles `source<TAB>cache<TAB>recorded name` lines; prints ok/failed.
const COMPILE: &str = r#"
import sys, py_compile, warnings
warnings.simplefilter("ignore")
for line in sys.stdin:
    source, cache, name = line.rstrip("\n").split("\t")
    try:
        py_compile.compile(source, cache, name, True)
        sys.stdout.write("ok\n")
    except Exception:
        sys.stdout.write("failed\n")
"#;

/// For the cache named on stdin, prints dis.disassemble of each code
/// object depth first, each after a line `=== <show_caches>`.
const DISASSEMBLE: &str = r#"
import sys, re, marshal, dis
try:
    from StringIO import StringIO
except ImportError:
    from io import StringIO
V = sys.version_info[:2]
header = 8 if V < (3, 3) else (12 if V < (3, 7) else 16)
path = sys.stdin.readline().rstrip("\n")
code = marshal.loads(open(path, "rb").read()[header:])
out = []
for show_caches in ([False, True] if V >= (3, 11) else [False]):
    stack = [code]
    while stack:
        co = stack.pop()
        saved, sys.stdout = sys.stdout, StringIO()
        try:
            if V >= (3, 11):
                dis.disassemble(co, show_caches=show_caches)
            else:
                dis.disassemble(co)
            text = sys.stdout.getvalue()
        finally:
            sys.stdout = saved
        out.append("=== %s\n" % show_caches + re.sub(r" at 0x[0-9a-fA-F]+", "", text))
        stack.extend(reversed([c for c in co.co_consts if hasattr(c, "co_code")]))
sys.stdout.write("".join(out))
"#;

fn run(python: &Interpreter, script: &str, input: &str) -> String {
    let mut child = Command::new(&python.path)
        .args(["-E", "-S", "-c", script])
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the interpreter");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write input");
    let output = child.wait_with_output().expect("interpreter output");
    assert!(output.status.success(), "{} failed", python.path.display());
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixture folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    files.sort();
    files
}

#[test]
fn text_matches_each_interpreters_dis() {
    let fixtures = fixtures();
    let test = "text_matches_each_interpreters_dis";
    let mut pythons = references(test);
    pythons.extend([(3, 14, 10), (3, 15, 2)].into_iter().filter_map(|release| debian_release(release, test)));
    // As in tests/interpreters.rs: extra interpreters by path, such as 3.14.
    for path in std::env::var("PYCACHE_TEST_EXTRA_PYTHONS").unwrap_or_default().split(':').filter(|p| !p.is_empty()) {
        pythons.push(pycache_python::probe(Path::new(path)).expect("an extra interpreter that runs"));
    }
    for python in pythons {
        let (major, minor, _) = python.version;
        let scratch = tempfile::tempdir().unwrap();
        let input: String = fixtures
            .iter()
            .map(|source| {
                let name = source.file_name().unwrap().to_string_lossy();
                format!(
                    "{}\t{}\tfixtures/{name}\n",
                    source.display(),
                    scratch.path().join(format!("{name}c")).display()
                )
            })
            .collect();
        let results = run(&python, COMPILE, &input);
        let mut compared = 0;
        for (source, result) in fixtures.iter().zip(results.lines()) {
            let stem = source.file_stem().unwrap().to_string_lossy().into_owned();
            if result != "ok" {
                eprintln!("python {major}.{minor}: {stem}.py does not compile there; skipped");
                continue;
            }
            let cache = scratch.path().join(format!("{stem}.pyc"));
            let bytes = std::fs::read(&cache).unwrap();
            let pyc = read_pyc(&bytes).unwrap();
            let refs = RefTable::new(&pyc.code).unwrap();
            let version = pyc.format.version();
            let theirs = run(&python, DISASSEMBLE, &format!("{}\n", cache.display()));
            let mut ours = String::new();
            let cache_modes: &[bool] =
                if version >= pycache_pyc::PyVersion::new(3, 11) { &[false, true] } else { &[false] };
            for &show_caches in cache_modes {
                for code in disassemble(&pyc.code, &refs, version, DecodeOptions { show_caches }).unwrap() {
                    ours.push_str(&format!("=== {}\n", if show_caches { "True" } else { "False" }));
                    ours.push_str(&disassembly(&code, TextOptions::default()));
                }
            }
            if ours != theirs {
                let (o, t): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
                let at = o.iter().zip(&t).position(|(a, b)| a != b).unwrap_or(o.len().min(t.len()));
                panic!(
                    "python {major}.{minor} {stem}.py: line {} differs:\n  ours:   {:?}\n  theirs: {:?}",
                    at + 1,
                    o.get(at),
                    t.get(at)
                );
            }
            let decoded = disassemble(&pyc.code, &refs, version, DecodeOptions::default()).unwrap();
            let text = disassemble_all(&decoded, TextOptions::default());
            insta::assert_snapshot!(format!("{stem}-{major}.{minor}"), text);
            compared += 1;
        }
        eprintln!("python {major}.{minor}: {compared} fixtures disassemble exactly as dis does");
    }
}
