//! Constant folding of float and complex arithmetic against CPython 3.12:
//! every pair of awkward operands under `/`, `**`, `*`, `+`, `-`, `//` and
//! `%`, compiled by both, must marshal to the same bytes (folded values,
//! what is left unfolded because Python would raise, signs of zero, NaNs).

use std::process::Command;

use pycache_compiler::marshal::{REFERENCE_COMPILE, marshal_code};
use pycache_python::testing;

const OPERANDS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "-3",
    "7",
    "100",
    "101",
    "-100",
    "10**20",
    "2**1100",
    "0.0",
    "-0.0",
    "1.0",
    "-1.0",
    "0.5",
    "-2.5",
    "3.7",
    "1e308",
    "-1e308",
    "1e-308",
    "5e-324",
    "1e999",
    "-1e999",
    "(1e999-1e999)",
    "1e15+0.3",
    "1j",
    "-1j",
    "0j",
    "(-0.0-0j)",
    "(2+3j)",
    "(-0.5+1e300j)",
    "1e-320j",
    "(1e999j)",
    "(3-4j)",
    "(1e200+1e200j)",
    "(0.5-0.5j)",
    "(-8+0j)",
    "(1.5+2j)",
];

const OPS: &[&str] = &["/", "**", "*", "+", "-", "//", "%"];

#[test]
fn float_and_complex_folding_matches_the_interpreter() {
    let Some(python) = testing::reference(3, 12, "float_and_complex_folding_matches_the_interpreter") else { return };
    let Some(target) = pycache_compiler::Target::exact(python.version) else {
        eprintln!("SKIP float_and_complex_folding_matches_the_interpreter: {} has no verified profile", python.label());
        return;
    };
    let mut expressions = Vec::new();
    for a in OPERANDS {
        for b in OPERANDS {
            for op in OPS {
                expressions.push(format!("{a} {op} {b}"));
            }
        }
    }
    // Fractional powers of negative numbers become complex.
    for (a, b) in [("-8.0", "(1/3)"), ("-2", "0.5"), ("-1e300", "1.5"), ("-0.5", "-0.5")] {
        expressions.push(format!("{a} ** {b}"));
    }
    // Integer true division, correctly rounded down to the subnormals.
    for (a, b) in [("10**400", "10**399"), ("1", "10**400"), ("3", "2**1076"), ("-(10**30)", "7"), ("0", "-5")] {
        expressions.push(format!("{a} / {b}"));
    }
    // A float power whose result is subnormal may leave an underflow
    // behind in libm, which CPython turns into an OverflowError; and where
    // two different NaNs meet, the survivor is chosen by the C compiler
    // that built CPython. The native compiler declines those files, and
    // only those.
    let mut source = String::new();
    let mut declined = Vec::new();
    let mut n = 0;
    for expression in &expressions {
        let line = format!("def f{n}(): return {expression}\n");
        match pycache_compiler::compile(line.as_bytes(), "one.py", target, 0) {
            Ok(_) => {
                source.push_str(&line);
                n += 1;
            }
            Err(refusal) => {
                let why = refusal.to_string();
                assert!(why.contains("subnormal") || why.contains("different NaNs"), "`{expression}`: {refusal}");
                declined.push(expression.clone());
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("folding.py");
    std::fs::write(&path, &source).unwrap();
    let cache = dir.path().join("folding.pyc");
    let output = Command::new(&python.executable)
        .args(["-s", "-P", "-W", "ignore", "-c", REFERENCE_COMPILE])
        .arg(&path)
        .arg(&cache)
        .arg("0")
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env("PYTHONHASHSEED", "0")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let reference = std::fs::read(&cache).unwrap();
    let code = pycache_compiler::compile(source.as_bytes(), path.to_str().unwrap(), target, 0)
        .unwrap_or_else(|refusal| panic!("refused: {refusal}"));
    let ours = marshal_code(&code, target).unwrap();
    if ours != reference[16..] {
        // Name the first function whose constants differ.
        let pyc = pycache_marshal::read_pyc(&reference).unwrap();
        let theirs = pycache_compiler::marshal::code_from_marshal(&pyc.code).unwrap();
        for (mine, other) in code.consts.iter().zip(&theirs.consts) {
            let (pycache_compiler::code::Constant::Code(m), pycache_compiler::code::Constant::Code(o)) = (mine, other)
            else {
                continue;
            };
            if m.consts.iter().map(|c| format!("{c:?}")).ne(o.consts.iter().map(|c| format!("{c:?}")))
                || m.code != o.code
            {
                let line = source.lines().nth(m.firstlineno as usize - 1).unwrap_or_default();
                panic!("`{line}`: native {:?} vs CPython {:?}", m.consts, o.consts);
            }
        }
        if let Some(keep) = std::env::var_os("PYCACHE_KEEP_FOLDING") {
            let keep = std::path::PathBuf::from(keep);
            std::fs::write(keep.join("folding.py"), &source).unwrap();
            std::fs::write(keep.join("cpython.pyc"), &reference).unwrap();
            let mut mine = reference[..16].to_vec();
            mine.extend_from_slice(&ours);
            std::fs::write(keep.join("native.pyc"), mine).unwrap();
        }
        panic!("the caches differ outside the functions' constants (set PYCACHE_KEEP_FOLDING=DIR to keep both)");
    }
    eprintln!("{n} folded expressions agree with {}; {} declined: {declined:?}", python.label(), declined.len());
    assert!(declined.len() < 20, "{declined:?}");
}
