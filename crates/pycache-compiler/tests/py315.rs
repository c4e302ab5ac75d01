//! The 3.15 candidate profiles against CPython 3.15.0 and 3.15.2 (Debian's
//! builds, `corpus/pythons.py`): every fixture under `tests/fixtures/py315`
//! is compiled by the interpreter in a fresh `py_compile` process and
//! natively, at levels 0, 1 and 2, and the marshalled code objects must be
//! byte-identical. 3.15
//! syntax under an older target gets that interpreter's own SyntaxError.
//! The `regression_` tests pin bugs found on the standard library.

use std::path::{Path, PathBuf};
use std::process::Command;

use pycache_compiler::Target;
use pycache_compiler::marshal::{REFERENCE_COMPILE, marshal_code};
use pycache_python::testing::debian_release;

const RELEASES: [(u8, u8, u8); 2] = [(3, 15, 0), (3, 15, 2)];

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    files.sort();
    files
}

/// CPython's marshalled module code for `file` at `level` (the cache
/// without its header), from a fresh process.
fn reference(python: &Path, file: &Path, level: u8) -> Vec<u8> {
    let out_dir = tempfile::tempdir().unwrap();
    let cache = out_dir.path().join("out.pyc");
    let out = Command::new(python)
        .args(["-s", "-P", "-c", REFERENCE_COMPILE])
        .arg(file)
        .arg(&cache)
        .arg(level.to_string())
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env("PYTHONHASHSEED", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} refused {}: {}",
        python.display(),
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&cache).unwrap()[16..].to_vec()
}

/// Compiles `file` with both and describes the first difference, if any.
fn compare(python: &Path, target: Target, file: &Path, level: u8) -> Option<String> {
    let source = std::fs::read(file).unwrap();
    // The reference writes a `__pycache__` beside the source: it compiles
    // a copy, under the name both compilers record.
    let work = tempfile::tempdir().unwrap();
    let copy = work.path().join(file.file_name().unwrap());
    std::fs::write(&copy, &source).unwrap();
    let file = copy.as_path();
    let name = file.to_str().unwrap();
    let theirs = reference(python, file, level);
    let code = match pycache_compiler::compile(&source, name, target, level) {
        Ok(code) => code,
        Err(refusal) => return Some(format!("{name} -O{level}: refused: {refusal}")),
    };
    let ours = marshal_code(&code, target).unwrap();
    if ours == theirs {
        return None;
    }
    let at = ours.iter().zip(&theirs).position(|(a, b)| a != b).unwrap_or(ours.len().min(theirs.len()));
    Some(format!("{name} -O{level}: marshal differs at byte {at} ({} against {} bytes)", ours.len(), theirs.len()))
}

fn interpreters(test: &str) -> Vec<(PathBuf, Target)> {
    RELEASES
        .iter()
        .filter_map(|&release| {
            let python = debian_release(release, test)?;
            let target = Target::candidate(release).expect("a candidate profile for 3.15");
            Some((python.path, target))
        })
        .collect()
}

#[test]
fn py315_fixtures_match_cpython() {
    let files = fixtures("py315");
    assert!(files.len() >= 7, "the fixtures are missing");
    let mut problems = Vec::new();
    for (python, target) in interpreters("py315_fixtures_match_cpython") {
        for file in &files {
            for level in 0..=2 {
                problems.extend(compare(&python, target, file, level));
            }
        }
    }
    assert!(problems.is_empty(), "{} differences:\n{}", problems.len(), problems.join("\n"));
}

/// One source, both releases, every level.
fn check_source(test: &str, source: &str) {
    check_source_at(test, source, 0..=2);
}

/// One source, both releases, the `levels` the interpreter compiles it at.
fn check_source_at(test: &str, source: &str, levels: std::ops::RangeInclusive<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.py");
    std::fs::write(&file, source).unwrap();
    let mut problems = Vec::new();
    for (python, target) in interpreters(test) {
        for level in levels.clone() {
            problems.extend(compare(&python, target, &file, level));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The error a target gives for `source`: exception, message, line and
/// 1-based offset.
fn error(target: Target, source: &str) -> (Option<&'static str>, String, Option<(u32, u32)>) {
    let refusal = pycache_compiler::compile(source.as_bytes(), "m.py", target, 0).expect_err(source);
    (refusal.exception, refusal.message, refusal.line)
}

/// 3.15 syntax under 3.13 and 3.14: their own SyntaxError, where they give
/// it (measured: docs/targets/3.15.md section E); `lazy` is a name there,
/// so the statement's keyword is the unexpected token.
#[test]
fn newer_syntax_gets_the_older_interpreters_syntax_error() {
    let cases: &[(&str, &str, (u32, u32))] = &[
        ("lazy import os\n", "invalid syntax", (1, 6)),
        ("lazy from os import path\n", "invalid syntax", (1, 6)),
        ("def f():\n    lazy import os\n", "invalid syntax", (2, 10)),
        ("try:\n    pass\nexcept E:\n  lazy \\\n   from os import path\n", "invalid syntax", (5, 4)),
        ("x = [*a for a in b]\n", "iterable unpacking cannot be used in comprehension", (1, 6)),
        ("x = {*aa for aa in b}\n", "iterable unpacking cannot be used in comprehension", (1, 6)),
        ("f(*aa for aa in b)\n", "iterable unpacking cannot be used in comprehension", (1, 3)),
        ("x = {**dd for dd in ds}\n", "dict unpacking cannot be used in dict comprehension", (1, 6)),
    ];
    for release in [(3, 13, 18), (3, 14, 10)] {
        let target = Target::candidate(release).unwrap();
        for &(source, message, at) in cases {
            assert_eq!(error(target, source), (Some("SyntaxError"), message.to_owned(), Some(at)), "{source}");
        }
        // `lazy` stays a name.
        assert!(pycache_compiler::compile(b"lazy = 1\nlazy.x = 2\nlazy[0]\n", "m.py", target, 0).is_ok());
    }
}

/// Where 3.15 refuses `lazy import`, its symbol table's errors (3.15.md
/// section E).
#[test]
fn misplaced_lazy_imports_get_the_3_15_syntax_errors() {
    let cases: &[(&str, &str, (u32, u32))] = &[
        ("def f():\n    lazy import os\n", "lazy import not allowed inside functions", (2, 5)),
        ("class C:\n    lazy from os import path\n", "lazy from ... import not allowed inside classes", (2, 5)),
        ("lazy from os import *\n", "lazy from ... import * is not allowed", (1, 1)),
        ("lazy from __future__ import annotations\n", "lazy from __future__ import is not allowed", (1, 1)),
    ];
    for &release in &RELEASES {
        let target = Target::candidate(release).unwrap();
        for &(source, message, at) in cases {
            assert_eq!(error(target, source), (Some("SyntaxError"), message.to_owned(), Some(at)), "{source}");
        }
        let source = "try:\n    lazy import os\nexcept E:\n    pass\n";
        let message = "lazy import not allowed inside try/except blocks";
        assert_eq!(error(target, source), (Some("SyntaxError"), message.to_owned(), Some((2, 5))), "{source}");
    }
}

/// A block whose only instruction went (an import's `POP_BLOCK`) no longer
/// stops the borrow analysis: the loads after it are borrowed (os.py's
/// removedirs, 3.14: strong).
#[test]
fn regression_borrow_goes_through_an_empty_block() {
    check_source(
        "regression_borrow_goes_through_an_empty_block",
        "def f(name):\n    head = name\n    while head:\n        try:\n            g(head)\n        except OSError:\n            \
         break\n        head = h(head)\n",
    );
}

/// `IMPORT_FROM`'s pushed module is tagged with its own instruction, so a
/// block's first load is borrowed (runpy.py's run_path, 3.14: strong).
#[test]
fn regression_import_from_does_not_pin_the_blocks_first_load() {
    check_source(
        "regression_import_from_does_not_pin_the_blocks_first_load",
        "def f(p, r=None):\n    if r is None:\n        r = 'x'\n    n = r.rpartition('.')[0]\n    from q import g\n",
    );
}

/// Ints up to 1024 are the small-int cache's immortal objects: marshal
/// flags them even when they occur once (_pylong.py's 1000).
#[test]
fn regression_ints_to_1024_are_flagged() {
    check_source("regression_ints_to_1024_are_flagged", "def f():\n    return 1000\ny = 1000 + 1\nz = 1025\n");
}

/// The generator prefix follows the genexpr's `GET_ITER`, so the handler's
/// `NOP` goes (was kept at the iterable's line, libregrtest's save_env.py).
#[test]
fn regression_genexpr_prefix_leaves_no_nop() {
    check_source(
        "regression_genexpr_prefix_leaves_no_nop",
        "def f(os):\n    return sorted(fn + ('/' if os.isdir(fn) else '')\n                  for fn in os.listdir()\n                  \
         if not fn.startswith('.h'))\n",
    );
}

/// Leaving an `async for` pops one value: 3.15 makes only a sync loop's
/// iterator a pair (`break` popped two, the flow graph's depth went
/// negative and every `async for` was refused as `EndAsyncForJump`).
#[test]
fn regression_leaving_an_async_for_pops_one_value() {
    check_source(
        "regression_leaving_an_async_for_pops_one_value",
        "async def f(a):\n    async for x in a:\n        if x:\n            break\n        for y in x:\n            \
         if y:\n                return y\n        return x\n",
    );
}

/// `END_ASYNC_FOR` counts back to the `END_SEND`, 6 code units after the
/// `SEND` in 3.15 (`RESUME`'s cache): was one unit too many, also past an
/// `EXTENDED_ARG`.
#[test]
fn regression_end_async_for_counts_back_to_the_end_send() {
    let body = "        g(x, x, x, x, x, x, x, x, x, x)\n".repeat(20);
    check_source(
        "regression_end_async_for_counts_back_to_the_end_send",
        &format!("async def f(a):\n    async for x in a:\n        g(x)\n    async for x in a:\n{body}"),
    );
}

/// An async generator expression borrows `.0` for `GET_AITER` in its own
/// prologue (was refused as `GenexprIterInside`).
#[test]
fn regression_async_genexpr_makes_its_iterator_inside() {
    check_source(
        "regression_async_genexpr_makes_its_iterator_inside",
        "g = (x async for x in y if x)\nasync def f(y):\n    return (await x for x in y), (z async for z in await y)\n",
    );
}

/// A list, set or dict comprehension that is not inlined (a class's
/// annotation scope) makes its iterator after `BUILD_LIST`: was left
/// without `LOAD_FAST .0` (negative depth, declined).
#[test]
fn regression_non_inlined_comprehension_makes_its_iterator() {
    check_source(
        "regression_non_inlined_comprehension_makes_its_iterator",
        "class C[T]:\n    type A = [x for x in T]\n    type B = {x: y for x in T for y in x}\n",
    );
}

/// PEP 798 in async comprehensions and async generator expressions: the
/// same bytes as the interpreter's.
#[test]
fn async_comprehension_unpacking_is_identical() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.py");
    std::fs::write(
        &file,
        "async def f(b):\n    return [*a async for a in b], {*a async for a in b}, {**d async for d in b}\n\n\
         async def g(b):\n    return (*a async for a in b), [*[x async for x in a] for a in b]\n\n\
         def h(b):\n    return (*a async for a in b if a)\n",
    )
    .unwrap();
    let mut problems = Vec::new();
    for (python, target) in interpreters("async_comprehension_unpacking_is_identical") {
        for level in 0..=2 {
            problems.extend(compare(&python, target, &file, level));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A `yield` whose `assert` `-O` drops still makes the symbol table mark a
/// module or class body a generator: 3.15 gives that body the generator
/// prefix (`RETURN_GENERATOR; POP_TOP`, flags still 0; 3.14: none). At
/// `-O0` the yield is compiled and refused as outside a function (fuzz
/// seed 0x20261207, 4 programs).
#[test]
fn regression_yield_in_dropped_assert_gets_the_generator_prefix() {
    let test = "regression_yield_in_dropped_assert_gets_the_generator_prefix";
    let sources = [
        "assert (yield 1)\n",
        "x = 1\nassert x, (yield from y)\n",
        "try:\n    assert (yield 1)\nexcept E:\n    pass\nelse:\n    z = 2\n",
        "class C:\n    x = 1\n    assert (yield 1)\n",
        "match m:\n    case None:\n        assert f'{(yield b)}', x\n",
    ];
    for source in sources {
        check_source_at(test, source, 1..=2);
    }
    for &release in &RELEASES {
        let target = Target::candidate(release).unwrap();
        let (_, message, at) = error(target, sources[0]);
        assert_eq!((message.as_str(), at), ("'yield' outside function", Some((1, 9))));
    }
}

/// Errors in source order (fuzz seed 0x20261207, 20,000 programs): an
/// unindent to no outer level is reported before a deeper line reaches the
/// indentation limit; a tab error after a t-string with a debug field in a
/// format spec is not claimed (3.15 fails on the t-string first: declined).
#[test]
fn regression_fuzz_errors_in_source_order() {
    let mut deep = String::new();
    for level in 0..101 {
        let pad = " ".repeat(level);
        // A tab on line 86, then line 87 dedents to a column no outer
        // level has, as CPython measures tabs.
        let pad = if level == 85 { format!("{}\t{}", &pad[..45], &pad[45..84]) } else { pad };
        deep.push_str(&format!("{pad}if a:\n"));
    }
    deep.push_str(&format!("{}pass\n", " ".repeat(101)));
    let tstring = "t'{(3, 2.5)= !s:x{ a:>10{a = !r}}}'\nif 1:\n\tx = 1\n        y = 2\n";
    for &release in &RELEASES {
        let target = Target::candidate(release).unwrap();
        let (_, message, at) = error(target, &deep);
        assert_eq!(
            (message.as_str(), at.map(|(line, _)| line)),
            ("unindent does not match any outer indentation level", Some(87))
        );
        let refusal = pycache_compiler::compile(tstring.as_bytes(), "m.py", target, 0).expect_err("refused");
        assert!(refusal.exception.is_none(), "{refusal}");
    }
}

/// As on 3.14: a signed or complex number in a value pattern or a mapping
/// key is a constant for code generation (was declined with a false
/// "patterns may only match literals and attribute lookups").
#[test]
fn regression_signed_number_pattern_is_a_constant() {
    check_source(
        "regression_signed_number_pattern_is_a_constant",
        "match x:\n    case -0:\n        pass\n    case -1 | -1.5 | -0.0 | -0j:\n        pass\n    case 1 - 0j | 0 - 0j | -1 + 2j | 0.0 - 0j:\n        pass\n    case {-1: a, 2 - 3j: b}:\n        pass\n    case [-1, (-2 | 3)]:\n        pass\n",
    );
}

/// A line continuation after a self-documenting t-string field's `=` is
/// part of the debug text, not of the expression's text; the field was
/// declined as "a self-documenting t-string field without `=`"
/// (test_tstring.py of CPython's own suite).
#[test]
fn regression_debug_field_may_continue_the_line_after_its_equals() {
    check_source(
        "regression_debug_field_may_continue_the_line_after_its_equals",
        "value = 42\na = t\"\"\"Value: {value =\\\n}\"\"\"\nb = t\"\"\"Value: {value =\\\n\\\n}\"\"\"\nc = t\"\"\"{value =\\\n!r}\"\"\"\nd = t\"\"\"{value=\\\n:04}\"\"\"\n",
    );
}
