//! The warnings the native compiler reports against those CPython 3.12
//! gives for the same sources: category, line and message, in order.

use std::io::Write;
use std::process::{Command, Stdio};

use pycache_python::testing;

const SOURCES: &[&str] = &[
    "x = 1if 1 else 2\n",
    "x = [0x1for x in y]\n",
    "x = \"\\d\"\n",
    "x = b\"\\d\\u1234\"\n",
    "x = \"\\477\"\n",
    "x = 'ok\\n\\t\\x41\\N{BULLET}\\u1234'\nx = r'\\d'\n",
    "x = 1 is 1\n",
    "x = () is 1\n",
    "if x is 'a' is not y:\n    pass\n",
    "x = None is ...\nx = y is True\n",
    "x = -1 is not y\n",
    "x = (1, 2)(3)\n",
    "x = [i for i in y](3)\n",
    "x = f'{a}'(3)\nx = 'abc'(1)\n",
    "x = [1][1.0]\n",
    "x = {1}[0]\n",
    "x = (1, 2)[1, 2]\n",
    "x = 'abc'[0]\nx = 'abc'['a']\nx = (lambda: 1)[0]\n",
    "x = (1, 2)[True]\nx = [1][1:2]\n",
    "assert (1, 2)\nassert ()\nassert (x, 'message')\n",
    "x = f'\\d{1}'\n",
    "x = 'a' \\\n  '\\q'\n",
    "def f():\n    return 1 is x\n\nclass C:\n    y = [3][None]\n",
    "x = '''\nline\n\\d'''\n",
    "x = f'{x!r:\\d}'\n",
    "x = ~True\ny = ~False if ~1 else 2\n",
];

const REFERENCE: &str = r#"
import sys, warnings
sources = sys.stdin.read().split('\0')
for i, source in enumerate(sources):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        compile(source, 'snippet.py', 'exec', dont_inherit=True)
    for w in caught:
        # A warning raised by folding an operation points at the caller.
        line = w.lineno if w.category is SyntaxWarning else '-'
        print(i, w.category.__name__, line, str(w.message).replace('\n', ' '), sep='\t')
"#;

#[test]
fn warnings_match_the_interpreter() {
    let Some(python) = testing::reference(3, 12, "warnings_match_the_interpreter") else { return };
    let Some(target) = pycache_compiler::Target::exact(python.version) else {
        eprintln!("SKIP warnings_match_the_interpreter: {} has no verified profile", python.label());
        return;
    };
    let mut child = Command::new(&python.executable)
        .args(["-I", "-c", REFERENCE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(SOURCES.join("\0").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let theirs = String::from_utf8(output.stdout).unwrap();
    let mut ours = String::new();
    for (i, source) in SOURCES.iter().enumerate() {
        let compiled = pycache_compiler::compile_path_warned(source.as_bytes(), b"snippet.py", target, 0)
            .unwrap_or_else(|refusal| panic!("`{source}`: {refusal}"));
        for w in compiled.warnings {
            let line = if w.category == pycache_compiler::Category::Syntax { w.lineno.to_string() } else { "-".into() };
            ours.push_str(&format!("{i}\t{}\t{line}\t{}\n", w.category.name(), w.message));
        }
    }
    assert_eq!(ours, theirs);
    eprintln!("{} warnings in {} sources agree", theirs.lines().count(), SOURCES.len());
}
