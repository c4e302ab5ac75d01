//! The worker must not change what it measures: every identifier in its
//! script has to be an interned string that a `python -m compileall`
//! process already holds, or defining the worker would add reference flags
//! to the caches it writes.

use std::process::Command;

use pycache_python::testing::references;

const WORKER3: &str = include_str!("../src/worker3.py");
const WORKER2: &str = include_str!("../src/worker2.py");

/// Prints the identifier-like strings of a script's code objects, one per line.
const NAMES: &str = r#"
import sys, re
def walk(co, out):
    out.add(co.co_name)
    for t in (co.co_names, co.co_varnames, co.co_freevars, co.co_cellvars):
        out.update(t)
    for c in co.co_consts:
        if hasattr(c, 'co_code'):
            walk(c, out)
        elif isinstance(c, str):
            out.add(c)
        elif isinstance(c, tuple):
            out.update(x for x in c if isinstance(x, str))
    return out
names = walk(compile(sys.stdin.read(), '<worker>', 'exec'), set())
sys.stdout.write('\n'.join(sorted(n for n in names if re.match(r'^[A-Za-z_][A-Za-z0-9_]*$', n))))
"#;

/// Runs inside compileall the way the worker does and prints which of the
/// names given on stdin are not interned yet. The names arrive as data, so
/// this script does not intern them itself.
const DEAD: &str = r#"
import sys, py_compile
def main(*args, **kwargs):
    intern = getattr(sys, 'intern', None) or __builtins__.intern
    data = sys.stdin.read().split()
    for name in data:
        fresh = ''.join([name[:1], name[1:]])
        if intern(fresh) is fresh:
            sys.stdout.write(name + '\n')
    sys.stdout.flush()
    sys.modules['os']._exit(0)
main.__defaults__ = (py_compile.compile,)
py_compile.compile = main
sys.argv[1:] = ['-q', '-f', sys.argv[1]]
__import__('runpy '.strip())._run_module_as_main('compileall')
"#;

fn run(python: &std::path::Path, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(python)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .env_remove("PYTHONOPTIMIZE")
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_worker_identifier_is_already_interned_in_compileall() {
    let dir = tempfile::tempdir().unwrap();
    let placeholder = dir.path().join("placeholder.py");
    std::fs::write(&placeholder, "").unwrap();
    for python in references("every_worker_identifier_is_already_interned_in_compileall") {
        let script = if python.version.0 < 3 { WORKER2 } else { WORKER3 };
        let names = run(&python.path, &["-c", NAMES], script);
        assert!(names.lines().count() > 30, "{}: {names}", python.label());
        let dead = run(&python.path, &["-c", DEAD, placeholder.to_str().unwrap()], &names);
        assert_eq!(dead.trim(), "", "{}: the worker would intern these names", python.label());
        // The one name the worker avoids spelling out must indeed be absent,
        // or this check could not tell anything.
        let runpy = run(&python.path, &["-c", DEAD, placeholder.to_str().unwrap()], "runpy");
        assert_eq!(runpy.trim(), "runpy", "{}", python.label());
        eprintln!("{}: {} worker names, all already interned", python.label(), names.lines().count());
    }
}
