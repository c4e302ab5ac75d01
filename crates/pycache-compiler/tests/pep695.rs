//! PEP 695 (generic functions and classes, `type` statements) against
//! CPython 3.12 itself: every fixture under `tests/fixtures/pep695` is
//! compiled by the interpreter and natively at levels 0, 1 and 2, and the
//! code objects must agree in every field the sweep compares (see
//! `examples/dump312.py`); sources CPython rejects must be refused.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[path = "../examples/support/dump.rs"]
mod support;

use pycache_python::Interpreter;
use pycache_python::testing::reference;
use support::dump;

fn target_interpreter(test: &str) -> Option<(Interpreter, pycache_compiler::Target)> {
    let python = reference(3, 12, test)?;
    let Some(target) = pycache_compiler::Target::exact(python.version) else {
        eprintln!("SKIP {test}: {} has no verified profile", python.label());
        return None;
    };
    Some((python, target))
}

/// CPython's dumps of `files` at `level`, one per file.
fn reference_dumps(python: &Path, files: &[PathBuf], level: u8) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/dump312.py");
    let mut child = Command::new(python)
        .arg(&script)
        .arg(level.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", python.display()));
    let list: String = files.iter().map(|f| format!("{}\n", f.display())).collect();
    child.stdin.take().unwrap().write_all(list.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "dump312.py failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let dumps: Vec<String> = text.split_terminator("@@END\n").map(str::to_owned).collect();
    assert_eq!(dumps.len(), files.len(), "one dump per file");
    dumps
}

fn first_difference(ours: &str, theirs: &str) -> String {
    let mut context = "";
    for (a, b) in ours.lines().zip(theirs.lines()) {
        if b.starts_with("code ") {
            context = b;
        }
        if a != b {
            return format!("in `{context}`\n    ours:   {a}\n    theirs: {b}");
        }
    }
    format!("one dump is longer ({} against {} lines)", ours.lines().count(), theirs.lines().count())
}

#[test]
fn pep695_fixtures_match_cpython() {
    let Some((python, target)) = target_interpreter("pep695_fixtures_match_cpython") else { return };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pep695");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the fixtures are missing from `{}`", dir.display());
    let mut problems = Vec::new();
    let mut checked = 0;
    for level in 0..=2u8 {
        let dumps = reference_dumps(&python.path, &files, level);
        for (file, theirs) in files.iter().zip(&dumps) {
            let name = file.display().to_string();
            if theirs.starts_with("@@ERROR") {
                problems.push(format!("{name} -O{level}: CPython refuses the fixture: {theirs}"));
                continue;
            }
            let source = std::fs::read(file).unwrap();
            match pycache_compiler::compile(&source, &name, target, level) {
                Err(refusal) => problems.push(format!("{name} -O{level}: refused: {refusal}")),
                Ok(code) => {
                    let mut lines = Vec::new();
                    dump(&code, &mut lines);
                    let ours = lines.join("\n") + "\n";
                    if ours == *theirs {
                        checked += 1;
                    } else {
                        problems.push(format!("{name} -O{level}: {}", first_difference(&ours, theirs)));
                    }
                }
            }
        }
    }
    eprintln!("{checked} fixture compilations agree with CPython {}", python.label());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Sources CPython 3.12 rejects: the native compiler must refuse them too
/// rather than make code.
const REJECTED: &[&str] = &[
    "def f[T, T](): pass",
    "class C[T, *T]: pass",
    "type A[T, **T] = int",
    "def f[T]():\n    def g():\n        nonlocal T\n",
    "class C[T]:\n    nonlocal T",
    "def f[T: (yield)](): pass",
    "def f[T: (await x)](): pass",
    "def f[T: (y := 1)](): pass",
    "type A = (yield)",
    "type A = (y := 1)",
    "type A[T: (yield)] = int",
    "def f[T](x: (yield)): pass",
    "def f[T](x: (y := 1)): pass",
    "def f[T]() -> (await x): pass",
    "class A:\n    def f[T: [x for x in ()]](): pass",
    "class A:\n    type X = lambda: 1",
    "class A:\n    def f[T](x: [y for y in T]): pass",
    "class A:\n    class B[T: (lambda: 1)]: pass",
    "def f[T: [(y := 1) for x in ()]](): pass",
    "type A = [(y := 1) for x in ()]",
    "def f[T]() -> [(y := 1) for x in ()]: pass",
    "def f[__debug__](): pass",
    "type __debug__ = int",
    "def f[T: int = str](): pass",
    "type A[T = int] = int",
    "def f[](): pass",
    "class C[T]: return 1",
];

#[test]
fn pep695_errors_are_refused_like_cpython() {
    let Some((python, target)) = target_interpreter("pep695_errors_are_refused_like_cpython") else { return };
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = REJECTED
        .iter()
        .enumerate()
        .map(|(i, source)| {
            let path = dir.path().join(format!("rejected{i}.py"));
            std::fs::write(&path, format!("{source}\n")).unwrap();
            path
        })
        .collect();
    let dumps = reference_dumps(&python.path, &files, 0);
    let mut problems = Vec::new();
    for ((file, source), theirs) in files.iter().zip(REJECTED).zip(&dumps) {
        if !theirs.starts_with("@@ERROR") {
            problems.push(format!("CPython accepts {source:?}"));
        }
        let bytes = std::fs::read(file).unwrap();
        if pycache_compiler::compile(&bytes, &file.display().to_string(), target, 0).is_ok() {
            problems.push(format!("compiled {source:?}, which CPython rejects"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The code object named `name` among `code`'s constants, depth first.
fn find_code<'a>(
    code: &'a pycache_compiler::code::CodeObject,
    name: &str,
) -> Option<&'a pycache_compiler::code::CodeObject> {
    if code.name == pycache_compiler::code::PyStr::new(name) {
        return Some(code);
    }
    code.consts.iter().find_map(|c| match c {
        pycache_compiler::code::Constant::Code(inner) => find_code(inner, name),
        _ => None,
    })
}

/// Issue 9 (`TypeParamMangling`): in a generic class's type-parameter
/// scope, 3.13 mangles its private type parameters but leaves other
/// private names (a base, an attribute) as written, where 3.12.1 mangled
/// them all; a private parameter named in an earlier bound is refused for
/// 3.13. What each release does was read from 3.12.1's and 3.13's own
/// `dis` of the same source (the fixture `generic_class_private_type_params.py`
/// of pycache-verify checks it live against every release).
#[test]
fn regression_private_type_params_mangle_only_the_parameters_from_3_13() {
    let source = b"class C[__T](__B, x.__a):\n    v = __T\n";
    let names = |release: (u8, u8, u8)| {
        let target = pycache_compiler::Target::candidate(release).unwrap();
        let code = pycache_compiler::compile_path(source, b"m.py", target, 0).unwrap();
        let params = find_code(&code, "<generic parameters of C>").expect("the type parameters' code");
        let mut all: Vec<String> = params.names.iter().chain(&params.localsplusnames).map(|n| n.to_string()).collect();
        all.sort();
        all
    };
    let has = |all: &[String], n: &str| all.iter().any(|x| x == n);
    let v313 = names((3, 13, 0));
    assert!(has(&v313, "_C__T") && has(&v313, "__B") && has(&v313, "__a"), "{v313:?}");
    assert!(!has(&v313, "_C__B") && !has(&v313, "_C__a"), "{v313:?}");
    let v312 = names((3, 12, 1));
    assert!(has(&v312, "_C__T") && has(&v312, "_C__B") && has(&v312, "_C__a"), "{v312:?}");

    let forward = b"class F[__A: __B, __B]:\n    pass\n";
    let t313 = pycache_compiler::Target::candidate((3, 13, 18)).unwrap();
    let refusal = pycache_compiler::compile_path(forward, b"m.py", t313, 0).unwrap_err().to_string();
    assert!(refusal.contains("a private type parameter named in the bound"), "{refusal}");
    let t312 = pycache_compiler::Target::candidate((3, 12, 1)).unwrap();
    assert!(pycache_compiler::compile_path(forward, b"m.py", t312, 0).is_ok());
}
