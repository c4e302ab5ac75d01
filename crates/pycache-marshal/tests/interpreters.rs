//! Reads every stdlib cache of each installed CPython, writes it back, and
//! expects the same bytes; then asks the interpreter itself what a sample of
//! those caches contain and compares with what the reader found.
//!
//! Interpreters are found under `$(pyenv root)/versions/` (PYENV_ROOT wins),
//! and for the versions pyenv lacks, Debian's builds of 3.14 and 3.15 that
//! `corpus/pythons.py` unpacks (`testing::debian_release`); their standard
//! library ships almost no caches, so the test compiles it first. A missing
//! one prints a `SKIP` line. Run with `-- --nocapture` to see the counts.

use std::collections::BTreeMap;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pycache_marshal::{
    Builder, Code, Code27, Code30, Code38, Code311, Format, Object, RefTable, StrKind, Value, equivalent, read,
    read_pyc, write,
};
use pycache_pyc::PyVersion;
use serde_json::json;

/// The versions these machines are expected to have.
const EXPECTED: &[(u8, u8)] = &[(2, 7), (3, 6), (3, 7), (3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13)];

/// Debian releases for the versions pyenv does not have: the newest of each.
const DEBIAN_RELEASES: &[(u8, u8, u8)] = &[(3, 14, 10), (3, 15, 2)];

/// How many caches per version the interpreter is asked about.
const CROSS_CHECK_SAMPLE: usize = 40;

struct Interpreter {
    version: (u8, u8),
    prefix: PathBuf,
    /// The standard library compiled by the test under a pycache prefix,
    /// for a build that ships few caches of its own.
    compiled: Option<PathBuf>,
}

impl Interpreter {
    fn python(&self) -> PathBuf {
        self.prefix.join("bin").join(format!("python{}.{}", self.version.0, self.version.1))
    }

    fn stdlib(&self) -> PathBuf {
        self.prefix.join("lib").join(format!("python{}.{}", self.version.0, self.version.1))
    }

    fn format(&self) -> Format {
        Format::for_version(PyVersion::new(self.version.0, self.version.1)).expect("a supported version")
    }

    /// Runs `script` with `input` on stdin; returns stdout, one entry per line.
    fn run(&self, script: &str, input: &str) -> Vec<String> {
        let mut child = Command::new(self.python())
            .args(["-E", "-S", "-c", script])
            .env("PYTHONIOENCODING", "utf-8")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", self.python().display()));
        let mut stdin = child.stdin.take().expect("piped stdin");
        let output = std::thread::scope(|scope| {
            scope.spawn(move || stdin.write_all(input.as_bytes()).expect("write to the interpreter"));
            child.wait_with_output().expect("interpreter output")
        });
        assert!(output.status.success(), "`{}` failed: {}", self.python().display(), output.status);
        String::from_utf8(output.stdout).expect("UTF-8 output").lines().map(str::to_owned).collect()
    }
}

fn pyenv_root() -> Option<PathBuf> {
    if let Some(root) = std::env::var_os("PYENV_ROOT").filter(|r| !r.is_empty()) {
        return Some(PathBuf::from(root));
    }
    let output = Command::new("pyenv").arg("root").output().ok()?;
    let root = String::from_utf8(output.stdout).ok()?;
    let root = root.trim();
    (output.status.success() && !root.is_empty()).then(|| PathBuf::from(root))
}

/// `versions/3.12.1` and the like, one per feature version (the newest
/// patch release wins).
fn discover() -> (Option<PathBuf>, BTreeMap<(u8, u8), Interpreter>) {
    let mut found = BTreeMap::new();
    let Some(root) = pyenv_root() else { return (None, found) };
    let Ok(entries) = std::fs::read_dir(root.join("versions")) else { return (Some(root), found) };
    let mut dirs: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            let parts: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
            parts.filter(|p| p.len() == 3).map(|p| (p, entry.path()))
        })
        .collect();
    dirs.sort();
    for (parts, prefix) in dirs {
        let version = (parts[0] as u8, parts[1] as u8);
        let interpreter = Interpreter { version, prefix, compiled: None };
        if interpreter.python().exists() {
            found.insert(version, interpreter);
        }
    }
    (Some(root), found)
}

/// The interpreters to test, with a SKIP line for each expected one that is
/// missing.
fn interpreters() -> Vec<Interpreter> {
    let (root, mut found) = discover();
    for &(major, minor) in EXPECTED {
        if !found.contains_key(&(major, minor)) {
            match &root {
                Some(root) => {
                    eprintln!("SKIP: python {major}.{minor} not found under {}", root.join("versions").display())
                }
                None => eprintln!("SKIP: python {major}.{minor} not found (no pyenv root)"),
            }
        }
    }
    let supported = |v: &(u8, u8)| *v == (2, 7) || (v.0 == 3 && v.1 <= 15);
    found.retain(|v, _| supported(v));
    for &(major, minor, micro) in DEBIAN_RELEASES {
        if found.contains_key(&(major, minor)) {
            continue;
        }
        let Some(python) =
            pycache_python::testing::debian_release((major, minor, micro), "pycache-marshal interpreters")
        else {
            continue;
        };
        let mut interpreter = Interpreter { version: (major, minor), prefix: python.prefix, compiled: None };
        interpreter.compiled = Some(compile_stdlib(&interpreter, (major, minor, micro)));
        found.insert((major, minor), interpreter);
    }
    found.into_values().collect()
}

/// Compiles the interpreter's standard library with its own compileall
/// under a pycache prefix in Cargo's test scratch directory, kept between
/// runs and tests (compileall compiles only what is stale; concurrent
/// tests write the same caches atomically). Sources it refuses, if any, are
/// left out.
fn compile_stdlib(interpreter: &Interpreter, release: (u8, u8, u8)) -> PathBuf {
    let (major, minor, micro) = release;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("marshal-stdlib-{major}.{minor}.{micro}"));
    let status = Command::new(interpreter.python())
        .args(["-E", "-S", "-X"])
        .arg(format!("pycache_prefix={}", dir.display()))
        .args(["-m", "compileall", "-q", "-x", "site-packages"])
        .arg(interpreter.stdlib())
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", interpreter.python().display()));
    // compileall exits 1 when some source does not compile: not an error here.
    assert!(matches!(status.code(), Some(0 | 1)), "compileall failed: {status}");
    dir
}

/// Caches of the stdlib: `__pycache__/*.pyc` for Python 3, `*.pyc` and
/// `*.pyo` beside the sources for Python 2. Sorted, so samples are stable.
fn stdlib_caches(interpreter: &Interpreter) -> Vec<PathBuf> {
    let python2 = interpreter.version.0 == 2;
    let mut caches = Vec::new();
    let under_prefix = interpreter.compiled.clone();
    let mut dirs = vec![under_prefix.clone().unwrap_or_else(|| interpreter.stdlib())];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            let path = entry.path();
            if kind.is_dir() {
                dirs.push(path);
            } else if kind.is_file() {
                let ext = path.extension().and_then(|e| e.to_str());
                let in_pycache = dir.file_name().is_some_and(|n| n == "__pycache__");
                // Under a pycache prefix, caches sit in the source's own
                // directory's mirror, without `__pycache__`.
                let in_pycache = in_pycache || under_prefix.is_some();
                let wanted =
                    if python2 { matches!(ext, Some("pyc" | "pyo")) } else { ext == Some("pyc") && in_pycache };
                if wanted {
                    caches.push(path);
                }
            }
        }
    }
    caches.sort();
    caches
}

#[test]
fn every_stdlib_cache_round_trips() {
    let interpreters = interpreters();
    /// Per version: the caches found, and a line for each that failed.
    type Outcome = ((u8, u8), Vec<PathBuf>, Vec<String>);
    let results: Vec<Outcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = interpreters
            .iter()
            .map(|interpreter| {
                scope.spawn(move || {
                    let caches = stdlib_caches(interpreter);
                    let mut failures = Vec::new();
                    for path in &caches {
                        if let Err(problem) = round_trip(path) {
                            failures.push(format!("{}: {problem}", path.display()));
                        }
                    }
                    (interpreter.version, caches, failures)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("round-trip thread")).collect()
    });
    let mut all_failures = Vec::new();
    for ((major, minor), caches, failures) in results {
        let pyo = caches.iter().filter(|p| p.extension().is_some_and(|e| e == "pyo")).count();
        let kinds = if pyo > 0 { format!(" ({} .pyc, {pyo} .pyo)", caches.len() - pyo) } else { String::new() };
        eprintln!(
            "python {major}.{minor}: {} stdlib caches{kinds} read and written back, {} failed",
            caches.len(),
            failures.len()
        );
        all_failures.extend(failures);
    }
    assert!(all_failures.is_empty(), "{} caches failed:\n{}", all_failures.len(), all_failures.join("\n"));
}

fn round_trip(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let pyc = read_pyc(&bytes).map_err(|e| e.to_string())?;
    let written = pyc.to_bytes().map_err(|e| e.to_string())?;
    if written != bytes {
        let at = written.iter().zip(&bytes).position(|(a, b)| a != b).unwrap_or(written.len().min(bytes.len()));
        return Err(format!("written bytes differ from byte {at} ({} written, {} read)", written.len(), bytes.len()));
    }
    if !pyc.trailing.is_empty() {
        return Err(format!("{} trailing bytes after the code object", pyc.trailing.len()));
    }
    Ok(())
}

/// Prints, for each cache path on stdin, what the interpreter's own
/// `marshal.loads` finds in it, as one JSON line. Runs on 2.7 and 3.x.
const DESCRIBE: &str = r#"
import sys, marshal, json
v = sys.version_info
header = 8 if v < (3, 3) else (12 if v < (3, 7) else 16)
code_type = type(compile('', '', 'exec'))
def text(s):
    if isinstance(s, bytes):
        return s.decode('latin-1')
    return s
def describe(co):
    return {
        'name': text(co.co_name),
        'qualname': text(getattr(co, 'co_qualname', '')),
        'filename': text(co.co_filename),
        'firstlineno': co.co_firstlineno,
        'argcount': co.co_argcount,
        'posonlyargcount': getattr(co, 'co_posonlyargcount', 0),
        'kwonlyargcount': getattr(co, 'co_kwonlyargcount', 0),
        'nlocals': co.co_nlocals,
        'stacksize': co.co_stacksize,
        'flags': co.co_flags,
        'code_len': len(co.co_code),
        'nconsts': len(co.co_consts),
        'names': [text(n) for n in co.co_names],
        'varnames': [text(n) for n in co.co_varnames],
        'children': [describe(c) for c in co.co_consts if isinstance(c, code_type)],
    }
for line in sys.stdin:
    with open(line.rstrip('\n'), 'rb') as f:
        data = f.read()
    sys.stdout.write(json.dumps(describe(marshal.loads(data[header:]))) + '\n')
"#;

/// Text as the script above renders it: byte strings as Latin-1.
fn text(object: &Object, table: &RefTable<'_>) -> String {
    match &table.resolve(object).expect("valid reference").value {
        Value::Bytes(bytes) => bytes.iter().map(|&b| char::from(b)).collect(),
        Value::Str(s) if s.kind == StrKind::Interned && s.data.iter().any(|&b| b >= 0x80) => {
            // A Python 2 `t` is bytes too; in Python 3 it is UTF-8.
            String::from_utf8(s.data.clone()).unwrap_or_else(|_| s.data.iter().map(|&b| char::from(b)).collect())
        }
        Value::Str(s) => s.to_string_lossy().into_owned(),
        other => panic!("expected text, found {}", other.summary()),
    }
}

fn items<'a>(object: &'a Object, table: &RefTable<'a>) -> Vec<&'a Object> {
    let object = table.resolve(object).expect("valid reference");
    object
        .as_sequence()
        .unwrap_or_else(|| panic!("expected a sequence, found {}", object.value.summary()))
        .iter()
        .collect()
}

fn bytes_len(object: &Object, table: &RefTable<'_>) -> usize {
    let object = table.resolve(object).expect("valid reference");
    object.as_bytes().unwrap_or_else(|| panic!("expected bytes, found {}", object.value.summary())).len()
}

/// The same facts as DESCRIBE, from this crate's reader. `nlocals` and
/// `varnames` are not stored from 3.11 on; they are derived from the
/// localsplus names and kinds as the interpreter does.
fn describe(code: &Code, table: &RefTable<'_>) -> serde_json::Value {
    let names = |object: &Object| items(object, table).into_iter().map(|n| text(n, table)).collect::<Vec<_>>();
    let varnames = match code {
        Code::Py27(Code27 { varnames, .. })
        | Code::Py30(Code30 { varnames, .. })
        | Code::Py38(Code38 { varnames, .. }) => names(varnames),
        Code::Py311(Code311 { localsplusnames, localspluskinds, .. }) => {
            let kinds = table.resolve(localspluskinds).expect("valid reference").as_bytes().expect("kinds are bytes");
            // CO_FAST_LOCAL is 0x20.
            names(localsplusnames)
                .into_iter()
                .zip(kinds)
                .filter(|(_, kind)| *kind & 0x20 != 0)
                .map(|(n, _)| n)
                .collect()
        }
    };
    let children: Vec<_> = items(code.consts(), table)
        .into_iter()
        .filter_map(|c| table.resolve(c).expect("valid reference").as_code())
        .map(|c| describe(c, table))
        .collect();
    json!({
        "name": text(code.name(), table),
        "qualname": code.qualname().map(|q| text(q, table)).unwrap_or_default(),
        "filename": text(code.filename(), table),
        "firstlineno": code.firstlineno(),
        "argcount": code.argcount(),
        "posonlyargcount": code.posonlyargcount(),
        "kwonlyargcount": code.kwonlyargcount(),
        "nlocals": code.nlocals().unwrap_or(varnames.len() as i32),
        "stacksize": code.stacksize(),
        "flags": code.flags(),
        "code_len": bytes_len(code.code(), table),
        "nconsts": items(code.consts(), table).len(),
        "names": names(code.names()),
        "varnames": varnames,
        "children": children,
    })
}

#[test]
fn the_interpreters_see_what_the_reader_sees() {
    for interpreter in interpreters() {
        let caches = stdlib_caches(&interpreter);
        let step = (caches.len() / CROSS_CHECK_SAMPLE).max(1);
        let sample: Vec<&PathBuf> = caches.iter().step_by(step).take(CROSS_CHECK_SAMPLE).collect();
        let input: String = sample.iter().map(|p| format!("{}\n", p.display())).collect();
        let lines = interpreter.run(DESCRIBE, &input);
        assert_eq!(lines.len(), sample.len(), "one line per cache");
        let mut code_objects = 0;
        for (path, line) in sample.iter().zip(&lines) {
            let theirs: serde_json::Value = serde_json::from_str(line).expect("JSON from the interpreter");
            let pyc = read_pyc(&std::fs::read(path).expect("readable cache")).expect("readable body");
            let table = RefTable::new(&pyc.code).expect("valid references");
            let module = table.resolve(&pyc.code).unwrap().as_code().expect("a code object");
            let ours = describe(module, &table);
            assert_eq!(ours, theirs, "{}", path.display());
            code_objects += table.code_objects(&pyc.code).unwrap().len();
        }
        let (major, minor) = interpreter.version;
        eprintln!("python {major}.{minor}: {} caches ({code_objects} code objects) match marshal.loads", sample.len());
    }
}

/// Marshals values built at run time (so not interned) and prints them in hex.
const DUMPS: &str = r#"
import sys, marshal, binascii
def s(*parts):
    return u''.join(parts)
values = [
    1, -5, 2**31 - 1, -2**31, 2**31, 2**40, -2**70, 2**200, 1.5, -0.0, complex(1, -2),
    b''.join([b'x', b'y']), s(u'\xe9t\xe9'), s(u'a') * 300, s(u'ab', u'c'), s(u'\U0001f600'),
    tuple(range(3)), tuple(range(300)), (), [1, None], True, None, Ellipsis,
]
for value in values:
    sys.stdout.write(binascii.hexlify(marshal.dumps(value)).decode('ascii') + '\n')
"#;

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
}

#[test]
fn the_builder_encodes_like_the_interpreters() {
    for interpreter in interpreters() {
        let b = Builder::new(interpreter.format());
        let python2 = interpreter.version.0 == 2;
        let expected = [
            b.int(1),
            b.int(-5),
            b.int((1 << 31) - 1),
            b.int(-(1 << 31)),
            b.int(1 << 31),
            b.int(1 << 40),
            b.big_int(-(1 << 70)),
            Object::new(Value::Long(pycache_marshal::Long {
                negative: false,
                digits: {
                    // 2**200 = 32768**13 * 2**5
                    let mut digits = vec![0u16; 13];
                    digits.push(32);
                    digits
                },
            })),
            Object::float(1.5),
            Object::float(-0.0),
            Object::complex(1.0, -2.0),
            Object::bytes(*b"xy"),
            b.str("été"),
            b.str(&"a".repeat(300)),
            b.str("abc"),
            b.str("😀"),
            b.tuple(vec![b.int(0), b.int(1), b.int(2)]),
            b.tuple((0..300).map(|i| b.int(i)).collect()),
            b.tuple(vec![]),
            Object::list(vec![b.int(1), Object::none()]),
            Object::bool(true),
            Object::none(),
            Object::ellipsis(),
        ];
        let lines = interpreter.run(DUMPS, "");
        assert_eq!(lines.len(), expected.len());
        for (line, ours) in lines.iter().zip(&expected) {
            let theirs = read(&hex(line), interpreter.format()).expect("the interpreter's own output");
            assert!(
                equivalent(&theirs, ours).unwrap(),
                "python {:?}: {} from the interpreter, {} from the builder",
                interpreter.version,
                theirs.value.summary(),
                ours.value.summary()
            );
            if python2 || interpreter.version < (3, 4) {
                // Without references, the bytes themselves agree.
                assert_eq!(write(ours).unwrap(), hex(line));
            }
        }
        let (major, minor) = interpreter.version;
        eprintln!("python {major}.{minor}: {} builder encodings match marshal.dumps", expected.len());
    }
}

/// Tries `marshal.loads` on each hex line of stdin; prints `ok` or the error.
const LOADS: &str = r#"
import sys, marshal, binascii
for line in sys.stdin:
    try:
        marshal.loads(binascii.unhexlify(line.strip()))
        sys.stdout.write('ok\n')
    except Exception as e:
        sys.stdout.write('error %s\n' % type(e).__name__)
"#;

/// Where this reader knowingly disagrees with CPython about a stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Agree,
    /// CPython accepts, this reader rejects (or the reverse), for the reason
    /// given.
    Differ(&'static str),
}

fn nest(depth: usize, inner: &[u8]) -> Vec<u8> {
    let mut data = b"(\x01\x00\x00\x00".repeat(depth - 1);
    data.extend_from_slice(inner);
    data
}

fn code_with_all_fields(format: Format, field: Object) -> Vec<u8> {
    let code: Code = match format.code_layout() {
        pycache_marshal::CodeLayout::Py27 => Code27 {
            argcount: 0,
            nlocals: 0,
            stacksize: 0,
            flags: 0,
            code: field.clone(),
            consts: field.clone(),
            names: field.clone(),
            varnames: field.clone(),
            freevars: field.clone(),
            cellvars: field.clone(),
            filename: field.clone(),
            name: field.clone(),
            firstlineno: 1,
            lnotab: field,
        }
        .into(),
        pycache_marshal::CodeLayout::Py30 => Code30 {
            argcount: 0,
            kwonlyargcount: 0,
            nlocals: 0,
            stacksize: 0,
            flags: 0,
            code: field.clone(),
            consts: field.clone(),
            names: field.clone(),
            varnames: field.clone(),
            freevars: field.clone(),
            cellvars: field.clone(),
            filename: field.clone(),
            name: field.clone(),
            firstlineno: 1,
            lnotab: field,
        }
        .into(),
        pycache_marshal::CodeLayout::Py38 => Code38 {
            argcount: 0,
            posonlyargcount: 0,
            kwonlyargcount: 0,
            nlocals: 0,
            stacksize: 0,
            flags: 0,
            code: field.clone(),
            consts: field.clone(),
            names: field.clone(),
            varnames: field.clone(),
            freevars: field.clone(),
            cellvars: field.clone(),
            filename: field.clone(),
            name: field.clone(),
            firstlineno: 1,
            linetable: field,
        }
        .into(),
        pycache_marshal::CodeLayout::Py311 => Code311 {
            argcount: 0,
            posonlyargcount: 0,
            kwonlyargcount: 0,
            stacksize: 0,
            flags: 0,
            code: field.clone(),
            consts: field.clone(),
            names: field.clone(),
            localsplusnames: field.clone(),
            localspluskinds: field.clone(),
            filename: field.clone(),
            name: field.clone(),
            qualname: field.clone(),
            firstlineno: 1,
            linetable: field,
            exceptiontable: Object::none(),
        }
        .into(),
    };
    write(&Object::code(code)).expect("writable")
}

fn edge_cases(format: Format) -> Vec<(&'static str, Vec<u8>, Expect)> {
    let v = format.version();
    let py3 = v.major == 3;
    let py2 = v.major == 2;
    let float = |text: &[u8]| [&[b'f', text.len() as u8][..], text].concat();
    let utf8 = |data: &[u8]| [&b"u"[..], &(data.len() as u32).to_le_bytes(), data].concat();
    let mut null_code = code_with_all_fields(format, Object::none());
    let first_object = null_code.iter().position(|&b| b == b'N').expect("a None field");
    null_code[first_object] = b'0';
    vec![
        ("None", b"N".to_vec(), Expect::Agree),
        ("flagged None", b"\xce".to_vec(), Expect::Agree),
        ("StopIteration and Ellipsis", b")\x02S.".to_vec(), Expect::Agree),
        ("unknown `?`", b"?".to_vec(), Expect::Agree),
        ("short ASCII", b"z\x01a".to_vec(), Expect::Agree),
        ("short ASCII with a Latin-1 byte", b"z\x01\xe9".to_vec(), Expect::Agree),
        ("small tuple", b")\x00".to_vec(), Expect::Agree),
        ("Python 2 string reference", b"(\x02\x00\x00\x00t\x01\x00\x00\x00aR\x00\x00\x00\x00".to_vec(), Expect::Agree),
        (
            "reference to a flagged int",
            b"[\x02\x00\x00\x00\xe9\x01\x00\x00\x00r\x00\x00\x00\x00".to_vec(),
            Expect::Agree,
        ),
        ("flagged reference", b"[\x02\x00\x00\x00\xe9\x01\x00\x00\x00\xf2\x00\x00\x00\x00".to_vec(), Expect::Agree),
        ("reference out of range", b"[\x02\x00\x00\x00\xe9\x01\x00\x00\x00r\x01\x00\x00\x00".to_vec(), Expect::Agree),
        ("reference to a flagged None", b"[\x02\x00\x00\x00\xcer\x00\x00\x00\x00".to_vec(), Expect::Agree),
        ("list containing itself", b"\xdb\x01\x00\x00\x00r\x00\x00\x00\x00".to_vec(), Expect::Agree),
        ("frozenset containing itself", b"\xbe\x01\x00\x00\x00r\x00\x00\x00\x00".to_vec(), Expect::Agree),
        ("reference to a finished frozenset", b")\x02\xbe\x00\x00\x00\x00r\x00\x00\x00\x00".to_vec(), Expect::Agree),
        ("flagged dict end", b"{\xb0".to_vec(), Expect::Agree),
        ("nesting at the limit", nest(2000, b"N"), Expect::Agree),
        ("nesting past the limit", nest(2001, b"N"), Expect::Agree),
        ("dict end past the limit", nest(2000, b"{0"), Expect::Agree),
        ("dict end at the limit", nest(1999, b"{0"), Expect::Agree),
        ("int64", b"I\x00\x00\x00\x00\x01\x00\x00\x00".to_vec(), Expect::Agree),
        ("int digit out of range", b"l\x01\x00\x00\x00\x00\x80".to_vec(), Expect::Agree),
        ("int not normalized", b"l\x02\x00\x00\x00\x01\x00\x00\x00".to_vec(), Expect::Agree),
        ("int size out of range", b"l\x00\x00\x00\x80".to_vec(), Expect::Agree),
        ("negative int", b"l\xfe\xff\xff\xff\x00\x00\x01\x00".to_vec(), Expect::Agree),
        ("float cut by NUL", float(b"1.5\x00junk"), Expect::Agree),
        ("float with a space", float(b" 1.5"), Expect::Agree),
        ("float with a trailing space", float(b"1.5 "), Expect::Agree),
        ("float with an underscore", float(b"1_0"), Expect::Agree),
        ("float -Infinity", float(b"-Infinity"), Expect::Agree),
        ("float iNfInItY", float(b"iNfInItY"), Expect::Agree),
        ("float infinit", float(b"infinit"), Expect::Agree),
        ("float NaN", float(b"NaN"), Expect::Agree),
        ("float +nan", float(b"+nan"), Expect::Agree),
        ("float in hex", float(b"0x1p3"), Expect::Agree),
        ("float overflowing", float(b"1e500"), Expect::Agree),
        ("float +1.5", float(b"+1.5"), Expect::Agree),
        ("float `.`", float(b"."), Expect::Agree),
        ("float `1.`", float(b"1."), Expect::Agree),
        ("float `.5`", float(b".5"), Expect::Agree),
        ("float `1e`", float(b"1e"), Expect::Agree),
        ("float `1E+5`", float(b"1E+5"), Expect::Agree),
        ("empty float", float(b""), Expect::Agree),
        ("complex with bad text", b"x\x011\x03abc".to_vec(), Expect::Agree),
        ("binary float and complex", [&b")\x02g"[..], &[0; 8], b"y", &[0; 16]].concat(), Expect::Agree),
        ("UTF-8 surrogate", utf8(b"\xed\xa0\x80"), Expect::Agree),
        ("invalid UTF-8", utf8(b"\xff"), Expect::Agree),
        ("overlong UTF-8", utf8(b"\xc0\x80"), Expect::Agree),
        ("five-byte UTF-8", utf8(b"\xf8\x88\x80\x80\x80"), Expect::Agree),
        ("UTF-8 beyond U+10FFFF", utf8(b"\xf4\x90\x80\x80"), Expect::Agree),
        ("interned with invalid UTF-8", b"t\x01\x00\x00\x00\xff".to_vec(), Expect::Agree),
        ("NULL at the root", b"0".to_vec(), Expect::Agree),
        ("NULL in a tuple", b"(\x01\x00\x00\x000".to_vec(), Expect::Agree),
        ("NULL in a code object", null_code, Expect::Agree),
        (
            "NULL as a dict value",
            b"{N0".to_vec(),
            if py3 {
                Expect::Differ("CPython 3 ends the dict and drops the key; this reader rejects the stream")
            } else {
                Expect::Agree
            },
        ),
        (
            "truncated int",
            b"i\x01\x00".to_vec(),
            if py2 { Expect::Differ("CPython 2 reads past the end as 0xff bytes") } else { Expect::Agree },
        ),
        ("truncated bytes", b"s\xe8\x03\x00\x00abc".to_vec(), Expect::Agree),
        ("list longer than the data", b"[\x05\x00\x00\x00N".to_vec(), Expect::Agree),
        ("slice", b":NNN".to_vec(), Expect::Agree),
        ("frozendict", b"}0".to_vec(), Expect::Agree),
        ("frozendict of one item", b"}z\x01ai\x01\x00\x00\x000".to_vec(), Expect::Agree),
        ("frozendict in a frozendict", b"}z\x01a}00".to_vec(), Expect::Agree),
        ("frozendict containing itself", b"\xfdNr\x00\x00\x00\x000".to_vec(), Expect::Agree),
        ("reference to a finished frozendict", b")\x02\xfd0r\x00\x00\x00\x00".to_vec(), Expect::Agree),
        ("slice containing itself", b"\xbaNNr\x00\x00\x00\x00".to_vec(), Expect::Agree),
        (
            "NULL as a frozendict value",
            b"}N0".to_vec(),
            if v >= PyVersion::new(3, 15) {
                Expect::Differ("CPython ends the frozendict and drops the key; this reader rejects the stream")
            } else {
                Expect::Agree
            },
        ),
        (
            "code object of Nones",
            code_with_all_fields(format, Object::none()),
            Expect::Differ("CPython checks the types of code object fields; the marshal grammar does not"),
        ),
    ]
}

#[test]
fn the_reader_accepts_what_the_interpreters_accept() {
    for interpreter in interpreters() {
        let format = interpreter.format();
        let cases = edge_cases(format);
        let input: String = cases
            .iter()
            .map(|(_, bytes, _)| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n")
            .collect();
        let lines = interpreter.run(LOADS, &input);
        assert_eq!(lines.len(), cases.len());
        let mut problems = Vec::new();
        let mut differ = 0;
        for ((name, bytes, expect), theirs) in cases.iter().zip(&lines) {
            let ours = read(bytes, format);
            let (ours_ok, theirs_ok) = (ours.is_ok(), theirs == "ok");
            match expect {
                Expect::Agree if ours_ok != theirs_ok => {
                    problems.push(format!("{name}: CPython says `{theirs}`, this reader says {ours:?}"));
                }
                Expect::Differ(why) if ours_ok == theirs_ok => {
                    problems.push(format!("{name}: expected to differ ({why}), both say `{theirs}`"));
                }
                Expect::Differ(_) => differ += 1,
                Expect::Agree => {}
            }
        }
        let (major, minor) = interpreter.version;
        assert!(problems.is_empty(), "python {major}.{minor}:\n{}", problems.join("\n"));
        eprintln!(
            "python {major}.{minor}: {} edge cases agree with marshal.loads, {differ} known differences",
            cases.len() - differ
        );
    }
}

/// Loads each cache on stdin and marshals its code again, in hex: the same
/// tree, written by a process whose refcounts (and so FLAG_REF choices)
/// differ from the compiler's.
const REDUMP: &str = r#"
import sys, marshal, binascii
v = sys.version_info
header = 8 if v < (3, 3) else (12 if v < (3, 7) else 16)
for line in sys.stdin:
    with open(line.rstrip('\n'), 'rb') as f:
        data = f.read()
    sys.stdout.write(binascii.hexlify(marshal.dumps(marshal.loads(data[header:]))).decode('ascii') + '\n')
"#;

#[test]
fn caches_marshalled_again_are_equivalent() {
    use pycache_marshal::{CompareOptions, difference};
    for interpreter in interpreters() {
        let caches = stdlib_caches(&interpreter);
        let step = (caches.len() / CROSS_CHECK_SAMPLE).max(1);
        let sample: Vec<&PathBuf> = caches.iter().step_by(step).take(CROSS_CHECK_SAMPLE).collect();
        let input: String = sample.iter().map(|p| format!("{}\n", p.display())).collect();
        let lines = interpreter.run(REDUMP, &input);
        assert_eq!(lines.len(), sample.len());
        let (mut identical, mut flags_only, mut set_order) = (0, 0, 0);
        for (path, line) in sample.iter().zip(&lines) {
            let original = read_pyc(&std::fs::read(path).expect("readable cache")).expect("readable body").code;
            let again_bytes = hex(line);
            let again = read(&again_bytes, interpreter.format()).expect("the interpreter's own output");
            if write(&original).unwrap() == again_bytes {
                identical += 1;
            } else if equivalent(&original, &again).unwrap() {
                flags_only += 1;
            } else {
                let loose = CompareOptions { ignore_set_order: true, ..CompareOptions::default() };
                match difference(&original, &again, loose).unwrap() {
                    None => set_order += 1,
                    Some(diff) => panic!("{}: marshalled again, differs at {diff}", path.display()),
                }
            }
        }
        let (major, minor) = interpreter.version;
        eprintln!(
            "python {major}.{minor}: marshalled again, {identical} caches identical, {flags_only} differ only in \
             reference flags, {set_order} also in set order"
        );
    }
}
