//! The worker pool against the real interpreters.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pycache_python::testing::references;
use pycache_python::{Interpreter, PoolOptions, WorkerError, WorkerPool};

const SAMPLE: &str = r#""""Module docstring."""
import os
CONSTANTS = {"alpha", "beta", "gamma"}

def f(x, *args, key=None, **kw):
    """Function docstring."""
    assert x, "x must be true"
    if __debug__:
        print("debug")
    return [y for y in args if y in CONSTANTS]

class C:
    def m(self):
        return super().m() if False else 1.5j
"#;

const SAMPLE_27: &str = r#""""Module docstring."""
import os
def f(x, *args, **kw):
    """Function docstring."""
    assert x, "x must be true"
    if __debug__:
        print "debug"
    return [y for y in args if y in (1, 2)]
"#;

/// The body py_compile writes for `file` in the interpreter itself.
fn py_compile_body(python: &Interpreter, file: &Path, level: u8) -> Vec<u8> {
    let header = if python.version.0 < 3 {
        8
    } else if python.version < (3, 7, 0) {
        12
    } else {
        16
    };
    let out = file.with_extension(format!("ref{level}"));
    let mut command = Command::new(&python.path);
    if python.version.0 < 3 {
        command.args(match level {
            0 => &[][..],
            1 => &["-O"][..],
            _ => &["-OO"][..],
        });
        command.arg("-c").arg("import sys, py_compile; py_compile.compile(sys.argv[1], sys.argv[2], doraise=True)");
    } else {
        command.arg("-c").arg(format!(
            "import sys, py_compile; py_compile.compile(sys.argv[1], sys.argv[2], doraise=True, optimize={level})"
        ));
    }
    let status = command.arg(file).arg(&out).env("PYTHONHASHSEED", "0").status().unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&out).unwrap();
    bytes[header..].to_vec()
}

#[test]
fn workers_compile_what_py_compile_writes() {
    let dir = tempfile::tempdir().unwrap();
    for python in references("workers_compile_what_py_compile_writes") {
        let legacy = python.version.0 < 3;
        let file = dir.path().join(format!("sample{}{}.py", python.version.0, python.version.1));
        std::fs::write(&file, if legacy { SAMPLE_27 } else { SAMPLE }).unwrap();
        let source = std::fs::read(&file).unwrap();
        let options = PoolOptions { jobs: 1, timeout: None };
        if legacy {
            for level in 0..=2u8 {
                let pool = WorkerPool::new(python.clone(), level, options.clone()).unwrap();
                let out = pool.compile(&file, &source, &[level as i8]).unwrap().unwrap();
                assert_eq!(out.bodies[0], py_compile_body(&python, &file, level), "{} -O{level}", python.label());
            }
        } else {
            let pool = WorkerPool::new(python.clone(), 0, options).unwrap();
            let out = pool.compile(&file, &source, &[0, 1, 2]).unwrap().unwrap();
            for level in 0..=2u8 {
                let expected = py_compile_body(&python, &file, level);
                assert_eq!(out.bodies[usize::from(level)], expected, "{} level {level}", python.label());
            }
            assert_ne!(out.bodies[0], out.bodies[2], "levels must differ");
        }
        eprintln!("checked {}", python.label());
    }
}

#[test]
fn syntax_errors_come_back_with_line_and_message() {
    for python in references("syntax_errors_come_back_with_line_and_message") {
        let pool = WorkerPool::new(python.clone(), 0, PoolOptions { jobs: 1, timeout: None }).unwrap();
        let answer = pool.compile(Path::new("pkg/bad.py"), b"x = 1\ndef f(:\n    pass\n", &[0]).unwrap();
        let failure = answer.unwrap_err();
        assert_eq!(failure.exception, "SyntaxError", "{}", python.label());
        assert_eq!(failure.lineno, Some(2), "{}", python.label());
        assert!(failure.message.contains("pkg/bad.py"), "{}: {}", python.label(), failure.message);
        // The worker survives a refusal and goes on.
        let ok = pool.compile(Path::new("good.py"), b"x = 1\n", &[0]).unwrap();
        assert!(ok.is_ok());
        assert_eq!(pool.live_workers(), 1);
    }
}

#[test]
fn warnings_are_captured_per_file() {
    for python in references("warnings_are_captured_per_file") {
        if python.version < (3, 8, 0) {
            continue;
        }
        let pool = WorkerPool::new(python.clone(), 0, PoolOptions { jobs: 1, timeout: None }).unwrap();
        let out = pool.compile(Path::new("w.py"), b"x = 1 is 1\n", &[0]).unwrap().unwrap();
        assert!(out.stderr.contains("SyntaxWarning"), "{}: {:?}", python.label(), out.stderr);
        let quiet = pool.compile(Path::new("q.py"), b"x = 1\n", &[0]).unwrap().unwrap();
        assert_eq!(quiet.stderr, "", "{}", python.label());
    }
}

#[test]
fn a_hung_compile_is_killed_and_the_pool_recovers() {
    let Some(python) = pycache_python::testing::reference(3, 12, "a_hung_compile_is_killed_and_the_pool_recovers")
    else {
        return;
    };
    // Two seconds: the recovery compile below must fit in it even on a
    // loaded machine (20 ms did not), and millions of list items take the
    // compiler far longer (minutes on a busy two-core machine).
    let pool = WorkerPool::new(python, 0, PoolOptions { jobs: 1, timeout: Some(Duration::from_secs(2)) }).unwrap();
    let slow = format!("x = [{}]\n", "1, ".repeat(3_000_000));
    let err = pool.compile(Path::new("slow.py"), slow.as_bytes(), &[0]).unwrap_err();
    assert!(matches!(err, WorkerError::TimedOut(_)), "{err}");
    assert_eq!(pool.live_workers(), 0);
    let ok = pool.compile(Path::new("fast.py"), b"x = 1\n", &[0]).unwrap();
    assert!(ok.is_ok());
}

#[test]
fn an_interpreter_that_cannot_run_the_worker_breaks_the_pool_once() {
    let Some(mut python) =
        pycache_python::testing::reference(3, 12, "an_interpreter_that_cannot_run_the_worker_breaks_the_pool_once")
    else {
        return;
    };
    python.path = "/bin/false".into();
    let pool = WorkerPool::new(python, 0, PoolOptions { jobs: 2, timeout: None }).unwrap();
    let first = pool.compile(Path::new("a.py"), b"x = 1\n", &[0]).unwrap_err();
    assert!(matches!(first, WorkerError::Broken(_)), "{first}");
    let second = pool.compile(Path::new("b.py"), b"x = 1\n", &[0]).unwrap_err();
    assert!(matches!(second, WorkerError::Broken(_)), "{second}");
}
