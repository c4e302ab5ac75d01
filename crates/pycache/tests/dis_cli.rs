//! `pycache show`, `dis` and `diff` as users run them: output, exit codes,
//! errors on bad files, and `dis --format json` against the interpreter.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pycache_marshal::{Code, read_pyc, write};
use pycache_python::testing::{debian_release, reference};

fn pycache(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pycache")).args(args).current_dir(cwd).output().expect("run pycache")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SOURCE: &str = "import os\n\nclass C:\n    def m(self, x):\n        def inner():\n            return x\n        return inner\n\nprint(C().m(os.sep)())\n";

/// Compiles `source` as `mod.py` in `dir` with the given interpreter (by
/// path); returns the cache path.
fn compile(python: &Path, dir: &Path, source: &str) -> PathBuf {
    std::fs::write(dir.join("mod.py"), source).unwrap();
    let out = Command::new(python)
        .args(["-c", "import py_compile, sys; sys.stdout.write(py_compile.compile('mod.py', doraise=True))"])
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    dir.join(text(&out.stdout))
}

#[test]
fn show_reports_header_freshness_and_code() {
    let Some(python) = reference(3, 12, "show_reports_header_freshness_and_code") else { return };
    let dir = tempfile::tempdir().unwrap();
    let cache = compile(&python.path, dir.path(), SOURCE);
    let cache = cache.to_str().unwrap();
    let out = pycache(&["show", cache], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Magic:             3531 (Python 3.12)"), "{stdout}");
    assert!(stdout.contains("(fresh: mtime and size match)"), "{stdout}");
    assert!(stdout.contains("Code object C.m.<locals>.inner:"), "{stdout}");
    assert!(stdout.contains("Flags:             OPTIMIZED, NEWLOCALS, NESTED"), "{stdout}");
    // A longer source of the same age is stale by size.
    let source = dir.path().join("mod.py");
    let mtime = std::fs::metadata(&source).unwrap().modified().unwrap();
    std::fs::write(&source, format!("{SOURCE}# more\n")).unwrap();
    std::fs::File::options().write(true).open(&source).unwrap().set_modified(mtime).unwrap();
    let json = pycache(&["show", cache, "--format", "json"], dir.path());
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["freshness"], "stale", "{value}");
    assert_eq!(value["python"], "3.12");
    assert_eq!(value["invalidation"], "timestamp");
    let names: Vec<&str> =
        value["code_objects"].as_array().unwrap().iter().map(|c| c["qualname"].as_str().unwrap()).collect();
    assert_eq!(names, ["<module>", "C", "C.m", "C.m.<locals>.inner"]);
}

/// dis.get_instructions of every code object of a cache, as JSON lines of
/// [qualname, [[offset, opname, arg, line], ...]] (line: the starting
/// line, or null, as dis gives it).
const GET_INSTRUCTIONS: &str = r#"
import sys, json, marshal, dis
V = sys.version_info[:2]
data = open(sys.argv[1], "rb").read()
stack = [marshal.loads(data[16 if V >= (3, 7) else 12:])]
while stack:
    co = stack.pop()
    rows = []
    for i in dis.get_instructions(co):
        line = i.line_number if V >= (3, 13) else i.starts_line
        rows.append([i.offset, i.opname, i.arg, line])
    print(json.dumps([co.co_name, rows]))
    stack.extend(reversed([c for c in co.co_consts if hasattr(c, "co_code")]))
"#;

#[test]
fn dis_json_agrees_with_get_instructions() {
    let test = "dis_json_agrees_with_get_instructions";
    let mut pythons: Vec<_> =
        [(3, 6), (3, 10), (3, 12), (3, 13)].into_iter().filter_map(|(a, b)| reference(a, b, test)).collect();
    pythons.extend([(3, 14, 10), (3, 15, 2)].into_iter().filter_map(|release| debian_release(release, test)));
    for python in pythons {
        let (major, minor, _) = python.version;
        let dir = tempfile::tempdir().unwrap();
        let cache = compile(&python.path, dir.path(), SOURCE);
        let out = pycache(&["dis", cache.to_str().unwrap(), "--format", "json"], dir.path());
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let ours: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let theirs = Command::new(&python.path).arg("-c").arg(GET_INSTRUCTIONS).arg(&cache).output().unwrap();
        let theirs: Vec<serde_json::Value> =
            text(&theirs.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let codes = ours["code_objects"].as_array().unwrap();
        assert_eq!(codes.len(), theirs.len());
        for (code, their) in codes.iter().zip(&theirs) {
            assert_eq!(code["name"], their[0]);
            let rows: Vec<serde_json::Value> = code["instructions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    let line = if minor >= 13 || i["starts_line"] == true {
                        i["line"].clone()
                    } else {
                        serde_json::Value::Null
                    };
                    serde_json::json!([i["offset"], i["opname"], i["arg"], line])
                })
                .collect();
            assert_eq!(serde_json::Value::Array(rows), their[1], "python {major}.{minor} {}", code["qualname"]);
            for key in ["qualname", "firstlineno", "exception_table"] {
                assert!(code.get(key).is_some(), "{key} missing");
            }
        }
    }
}

#[test]
fn dis_text_selects_functions_and_shows_caches() {
    let Some(python) = reference(3, 12, "dis_text_selects_functions_and_shows_caches") else { return };
    let dir = tempfile::tempdir().unwrap();
    let cache = compile(&python.path, dir.path(), SOURCE);
    let cache = cache.to_str().unwrap();
    let out = pycache(&["dis", cache, "--func", "C.m"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("MAKE_FUNCTION"), "{stdout}");
    assert!(stdout.contains("Disassembly of <code object inner, file \"mod.py\", line 5>:"), "{stdout}");
    assert!(!stdout.contains("IMPORT_NAME"), "{stdout}");
    let caches = text(&pycache(&["dis", cache, "--show-caches"], dir.path()).stdout);
    assert!(caches.contains("CACHE                    0 (counter: 0)"), "{caches}");
    let missing = pycache(&["dis", cache, "--func", "nope"], dir.path());
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("no code object `nope`"), "{}", text(&missing.stderr));
}

#[test]
fn bad_files_are_errors_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let good = {
        // A 3.12 header and a module code object cut short.
        let mut bytes = vec![0xcb, 0x0d, b'\r', b'\n'];
        bytes.extend_from_slice(&[0; 12]);
        bytes.extend_from_slice(b"\xe3\x00\x00");
        bytes
    };
    std::fs::write(dir.path().join("cut.pyc"), &good).unwrap();
    std::fs::write(dir.path().join("junk.pyc"), b"not a cache at all").unwrap();
    for command in ["show", "dis"] {
        let out = pycache(&[command, "cut.pyc"], dir.path());
        assert_eq!(out.status.code(), Some(2), "{command}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("`cut.pyc`") && stderr.contains("byte 1"), "{command}: {stderr}");
        let out = pycache(&[command, "junk.pyc"], dir.path());
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("`junk.pyc`"), "{}", text(&out.stderr));
        let out = pycache(&[command, "absent.pyc"], dir.path());
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("absent.pyc"), "{}", text(&out.stderr));
    }
    let out = pycache(&["diff", "cut.pyc", "junk.pyc"], dir.path());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn diff_explains_differences_and_sets_the_exit_status() {
    let Some(python) = reference(3, 12, "diff_explains_differences_and_sets_the_exit_status") else { return };
    let dir = tempfile::tempdir().unwrap();
    let first = compile(&python.path, dir.path(), SOURCE);
    let a = dir.path().join("a.pyc");
    std::fs::copy(&first, &a).unwrap();
    let changed = compile(&python.path, dir.path(), &SOURCE.replace("return x", "return x + 1"));
    let b = dir.path().join("b.pyc");
    std::fs::copy(&changed, &b).unwrap();

    let same = pycache(&["diff", "a.pyc", "a.pyc"], dir.path());
    assert_eq!(same.status.code(), Some(0));
    assert_eq!(text(&same.stdout).trim(), "identical");

    let out = pycache(&["diff", "a.pyc", "b.pyc"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("C.m.<locals>.inner: bytecode at offset"), "{stdout}");
    assert!(stdout.contains("source size:"), "{stdout}");

    // The same tree with one reference flag toggled: the last object of
    // the stream, which nothing can refer back to.
    let bytes = std::fs::read(&a).unwrap();
    let mut pyc = read_pyc(&bytes).unwrap();
    let pycache_marshal::Value::Code(code) = &mut pyc.code.value else { panic!("not code") };
    let Code::Py311(code) = code.as_mut() else { panic!("not 3.12") };
    code.exceptiontable.flag_ref = !code.exceptiontable.flag_ref;
    let mut flagged = pyc.header_bytes.clone();
    flagged.extend(write(&pyc.code).unwrap());
    std::fs::write(dir.path().join("c.pyc"), flagged).unwrap();
    let out = pycache(&["diff", "a.pyc", "c.pyc", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["flags_only"], true, "{report}");
    assert_eq!(report["code"].as_array().unwrap().len(), 0);
}

#[test]
fn regression_diff_across_versions_compares_instructions_by_name() {
    // 3.12 and 3.13 number every opcode differently, and 3.13 adds inline
    // caches after jumps: the same code differed "in inline cache contents".
    let test = "regression_diff_across_versions_compares_instructions_by_name";
    let (Some(v12), Some(v13)) = (reference(3, 12, test), reference(3, 13, test)) else { return };
    let dir = tempfile::tempdir().unwrap();
    let both = |source: &str| {
        let a = compile(&v12.path, dir.path(), source);
        std::fs::rename(&a, dir.path().join("a.pyc")).unwrap();
        let b = compile(&v13.path, dir.path(), source);
        std::fs::rename(&b, dir.path().join("b.pyc")).unwrap();
        let out = pycache(&["diff", "a.pyc", "b.pyc"], dir.path());
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    // Jumps, an exception handler and line starts at other offsets in each.
    let same = both("try:\n    import os\nexcept ImportError:\n    os = None\n");
    assert!(same.contains("magic: 3531 (Python 3.12) vs 3571 (Python 3.13)"), "{same}");
    assert!(!same.contains("code objects:"), "{same}");
    assert!(same.contains("the same code in each version's own encoding"), "{same}");
    // Where the versions compile differently, the first instruction that
    // differs is named.
    let different = both("while x:\n    x = f(x)\n");
    assert!(
        different.contains("<module>: bytecode at offset 4: POP_JUMP_IF_FALSE 12 (to 30) vs TO_BOOL"),
        "{different}"
    );
}

#[test]
fn show_counts_in_the_singular_too() {
    let Some(python) = reference(3, 12, "show_counts_in_the_singular_too") else { return };
    let dir = tempfile::tempdir().unwrap();
    let cache = compile(&python.path, dir.path(), "x = 1\n");
    let out = pycache(&["show", cache.to_str().unwrap()], dir.path());
    let stdout = text(&out.stdout);
    assert!(stdout.contains(" bytes, 1 code object\n"), "{stdout}");
}

/// 3.15: lazy and eager imports, a docstring, common constants, and an
/// exception handler whose table 3.15.0 and 3.15.2 write differently.
const SOURCE_315: &str = "lazy import json\ntry:\n    import re\nexcept ImportError:\n    re = None\n\ndef f(x):\n    \"\"\"doc\"\"\"\n    try:\n        if x:\n            g()\n    except E:\n        pass\n    return ''\n";

#[test]
fn show_dis_and_diff_read_315_caches() {
    let test = "show_dis_and_diff_read_315_caches";
    let (Some(v0), Some(v2)) = (debian_release((3, 15, 0), test), debian_release((3, 15, 2), test)) else { return };
    let dir = tempfile::tempdir().unwrap();
    let cache = compile(&v2.path, dir.path(), SOURCE_315);
    std::fs::rename(&cache, dir.path().join("b.pyc")).unwrap();
    let cache = compile(&v0.path, dir.path(), SOURCE_315);
    std::fs::rename(&cache, dir.path().join("a.pyc")).unwrap();

    let out = pycache(&["show", "b.pyc"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Magic:             3666 (Python 3.15)"), "{stdout}");
    assert!(stdout.contains("Flags:             OPTIMIZED, NEWLOCALS, HAS_DOCSTRING"), "{stdout}");

    let out = pycache(&["dis", "b.pyc"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for expected in ["IMPORT_NAME              1 (json + lazy)", "(re + eager)", "LOAD_COMMON_CONSTANT     8 ('')"] {
        assert!(stdout.contains(expected), "{expected} missing:\n{stdout}");
    }
    let json = pycache(&["dis", "b.pyc", "--format", "json"], dir.path());
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let argvals: Vec<&serde_json::Value> = value["code_objects"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["instructions"].as_array().unwrap())
        .filter(|i| i["opname"] == "LOAD_COMMON_CONSTANT")
        .map(|i| &i["argval"])
        .collect();
    assert!(argvals.contains(&&serde_json::json!("")) && argvals.contains(&&serde_json::Value::Null), "{argvals:?}");

    // The two releases write the same header and bytecode, and different
    // exception tables (3.15.2 gives the NOT_TAKEN after a jump a handler).
    let out = pycache(&["diff", "a.pyc", "b.pyc"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("header:"), "{stdout}");
    assert!(stdout.contains("f: exception table entry 0:"), "{stdout}");
    assert!(!stdout.contains("bytecode"), "{stdout}");
}
