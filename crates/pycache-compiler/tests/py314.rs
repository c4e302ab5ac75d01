//! The 3.14 candidate profile against CPython 3.14.8 and 3.14.10 (Debian's
//! builds, `corpus/pythons.py`): every fixture under `tests/fixtures/py314`
//! is compiled by the interpreter in a fresh `py_compile` process and
//! natively, at levels 0, 1 and 2, and the marshalled code objects must be
//! byte-identical (no 3.14 feature is refused any more: `EndAsyncForJump`
//! and inlined builtins in handlers, the last, are reproduced). The
//! `regression_` tests pin bugs found on the standard library.

use std::path::{Path, PathBuf};
use std::process::Command;

use pycache_compiler::marshal::{REFERENCE_COMPILE, marshal_code};
use pycache_compiler::{RefusalKind, Target};
use pycache_python::testing::debian_release;

const RELEASES: [(u8, u8, u8); 2] = [(3, 14, 8), (3, 14, 10)];

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
            let target = Target::candidate(release).expect("a candidate profile for 3.14");
            Some((python.path, target))
        })
        .collect()
}

#[test]
fn py314_fixtures_match_cpython() {
    let files = fixtures("py314");
    assert!(files.len() >= 8, "the fixtures are missing");
    let mut problems = Vec::new();
    for (python, target) in interpreters("py314_fixtures_match_cpython") {
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
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.py");
    std::fs::write(&file, source).unwrap();
    let mut problems = Vec::new();
    for (python, target) in interpreters(test) {
        for level in 0..=2 {
            problems.extend(compare(&python, target, &file, level));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `NOT_TAKEN` is appended into a reused slot of CPython's instruction
/// array and keeps the handler the slot held: covered inside a `with`
/// handler, uncovered after a `try` body's test (gh-137681, unfixed in
/// 3.14).
#[test]
fn regression_not_taken_takes_the_slots_stale_handler() {
    check_source(
        "regression_not_taken_takes_the_slots_stale_handler",
        "def f(a):\n    with a:\n        pass\n    try:\n        if a:\n            g()\n    except E:\n        pass\n",
    );
}

/// The object of a `with` stays on the stack as `LOAD_SPECIAL`'s `self`, so
/// its load is not borrowed (was `LOAD_FAST_BORROW`, threading.py).
#[test]
fn regression_with_owner_is_not_borrowed() {
    check_source(
        "regression_with_owner_is_not_borrowed",
        "def f(self, lock=None):\n    with lock:\n        return self.x\n",
    );
}

/// The operand of `yield from` stays a strong load (json/encoder.py,
/// graphlib.py).
#[test]
fn regression_yield_from_operand_is_not_borrowed() {
    check_source("regression_yield_from_operand_is_not_borrowed", "def f(chunks):\n    yield from chunks\n");
}

/// `x and 1 or 0`: the `and`'s jump threads through the `or`'s to the
/// block after it (xml/dom/xmlbuilder.py).
#[test]
fn regression_and_or_jumps_thread_through_each_other() {
    check_source("regression_and_or_jumps_thread_through_each_other", "def f(state):\n    return state and 1 or 0\n");
}

/// Under `from __future__ import annotations` a class with methods gets no
/// `__classdict__` cell (was made one, sympy/core/core.py).
#[test]
fn regression_future_annotations_class_has_no_classdict() {
    check_source(
        "regression_future_annotations_class_has_no_classdict",
        "from __future__ import annotations\nclass C:\n    def m(self):\n        return 1\n",
    );
}

/// An `__annotate__` takes one positional-only argument: `co_argcount` is
/// 1 (was 2: the argument counted as positional and positional-only).
#[test]
fn regression_annotate_argcount_counts_format_once() {
    check_source("regression_annotate_argcount_counts_format_once", "def f(a: int) -> str:\n    return a\n");
}

/// The `format` argument is renamed after the code object is made, in a
/// tuple of its own: never shared between `__annotate__` functions, so
/// written without a reference flag (was one shared, flagged tuple).
#[test]
fn regression_annotate_locals_tuple_is_its_own() {
    check_source(
        "regression_annotate_locals_tuple_is_its_own",
        "x: int\ndef f(a: int): pass\ndef g(format) -> int: pass\nclass C:\n    y: int\n    def m(self, q: C): pass\n",
    );
}

/// Under -OO the docstring leaves the tree, so a module's annotation setup
/// and its `__annotate__` start at the statement after it (were at the
/// docstring's line).
#[test]
fn regression_optimized_module_annotations_start_after_the_docstring() {
    check_source(
        "regression_optimized_module_annotations_start_after_the_docstring",
        "\"\"\"doc\"\"\"\n\nif a:\n    x: int\n",
    );
}

/// A `finally` body is compiled twice, and so is each annotation in it: a
/// class's `__annotate__` checks both indices (e 2 and e 3).
#[test]
fn regression_finally_annotation_is_deferred_twice() {
    check_source(
        "regression_finally_annotation_is_deferred_twice",
        "class C:\n    try:\n        d: int\n    finally:\n        e: int\n",
    );
}

/// An annotation of a local is never evaluated, but a lambda in it is a
/// scope of its own whose names count: `y` becomes a cell of `f`.
#[test]
fn regression_unevaluated_annotation_keeps_nested_scopes() {
    check_source(
        "regression_unevaluated_annotation_keeps_nested_scopes",
        "def f():\n    x: (lambda: y) = 1\n    y = 2\n    return x\n",
    );
}

/// A matched case pops the subject at its body's first location (was the
/// pattern's; asyncio/__init__.py, dbm/sqlite3.py, exposed once their
/// annotated functions compiled).
#[test]
fn regression_match_pop_takes_the_bodys_location() {
    check_source(
        "regression_match_pop_takes_the_bodys_location",
        "def f(name, w):\n    match name:\n        case 'A':\n            w.warn(name)\n            return 1\n        case 'B' if w:\n            return 2\n        case _:\n            return 3\n",
    );
}

/// `del x` while `x`'s value is still on the stack keeps it a strong load
/// (asyncio/taskgroups.py: `return task` under a `finally` that deletes it).
#[test]
fn regression_deleted_local_is_not_borrowed() {
    check_source(
        "regression_deleted_local_is_not_borrowed",
        "def f(task):\n    try:\n        return task\n    finally:\n        del task\n",
    );
}

/// A plain f-string field may be its operand itself: left on the stack
/// across a branch, its load stays strong (asyncio/tools.py).
#[test]
fn regression_formatted_field_keeps_its_reference() {
    check_source(
        "regression_formatted_field_keeps_its_reference",
        "def f(buf, prefix, last):\n    buf.append(f\"{prefix}{'a' if last else 'b'}\")\n    return f\"{prefix!r}{'a' if last else 'b'}\"\n",
    );
}

/// The parts of a slice constant are the parser's own objects: an equal
/// string constant elsewhere is another object, and a part is not interned
/// (marshal writes it unflagged, once per slice).
#[test]
fn regression_slice_parts_are_not_merged_or_interned() {
    check_source(
        "regression_slice_parts_are_not_merged_or_interned",
        "y = 'a b c'\nx['a b c':'abc':'abc']\ndef f():\n    return x['a b c':1000], x[1000:], 1000\nx[1000:]\n",
    );
}

/// `all`/`any` of a generator that awaits is an asynchronous generator
/// and is called as usual, not inlined.
#[test]
fn regression_awaiting_generator_is_not_inlined() {
    check_source(
        "regression_awaiting_generator_is_not_inlined",
        "async def g(y, z):\n    a = all(await z for x in y)\n    b = any(x for x in y for q in await z)\n    c = all(x for x in await y)\n",
    );
}

/// `FORMAT_SIMPLE` may hand back its operand, so an f-string field's load
/// whose formatted value waits for a `BUILD_STRING` in a later block stays
/// strong (was `LOAD_FAST_BORROW`, traceback.py).
#[test]
fn regression_format_simple_keeps_its_operand() {
    check_source(
        "regression_format_simple_keeps_its_operand",
        "def h(count):\n    return f'a{count}b{\"s\" if count else \"\"}'\ndef k(count, w):\n    return f'a{w}{count:{w}}b{\"s\" if count else \"\"}', f'{count!r}{1 if w else 2}'\n",
    );
}

/// `END_ASYNC_FOR` is a jump in 3.14 whose argument counts back from the
/// instruction after it to the `END_SEND` of its loop's `__anext__` await
/// (was refused as `EndAsyncForJump`); a long body needs `EXTENDED_ARG`.
#[test]
fn regression_end_async_for_counts_back_to_end_send() {
    let body: String = (0..60).map(|i| format!("        v{i} = g(x, {i}) + h({i})\n")).collect();
    let tests: Vec<String> = (0..60).map(|i| format!("g(y, {i})")).collect();
    let source = format!(
        "async def f(a):\n    async for x in a:\n{body}    else:\n        h()\n    return [y async for y in a if y and {}]\n",
        tests.join(" and ")
    );
    check_source("regression_end_async_for_counts_back_to_end_send", &source);
}

/// An inlined `tuple()` in an `except` body or a `finally`: CPython emits
/// the early exit of `all`/`any` for `tuple` too, dead after the loop's
/// jump; the flow graph empties that block but keeps it, and when the
/// handler's blocks move to the end it is left between the `try` body and
/// what follows, where it stops the borrow pass: the loads after the `try`
/// stay strong (sympy/physics/quantum/operatorset.py; was refused).
#[test]
fn regression_inlined_tuple_in_a_handler_keeps_later_loads_strong() {
    check_source(
        "regression_inlined_tuple_in_a_handler_keeps_later_loads_strong",
        "def g(s, o):\n    try:\n        ret = s()\n    except E:\n        ret = tuple(x for x in o)\n    if ret:\n        return 1\n    return ret\ndef k(x, y):\n    try:\n        h(y)\n    finally:\n        ret = tuple(a for a in x)\n    h(y)\n    return y\n",
    );
}

/// The strings tuple of a t-string is built with one `BUILD_TUPLE`, which
/// the flow graph folds only up to 30 items: with 30 fields the 31 parts
/// stay loads at their own locations.
#[test]
fn regression_tstring_strings_tuple_folds_up_to_30_items() {
    let fields = |n: usize| (0..n).map(|i| format!("a{i}{{y}}")).collect::<String>();
    check_source(
        "regression_tstring_strings_tuple_folds_up_to_30_items",
        &format!("y = 1\nf29 = t\"{}\"\nf30 = t\"{}\"\nf31 = t\"{}b\"\n", fields(29), fields(30), fields(31)),
    );
}

/// A field's recorded text is its source up to the `!`, `:` or `}`,
/// whitespace kept and comments dropped; a `{x=}` field's stops at the `=`.
#[test]
fn regression_tstring_field_text_is_the_source_up_to_its_end() {
    check_source(
        "regression_tstring_field_text_is_the_source_up_to_its_end",
        "x = y = 1\na = t\"{ x }{x!r}{x = }{x==1=}{x = !r:>{y}}\"\nb = t\"\"\"{x # c\n}{\n x\n = }\"\"\"\n",
    );
}

/// A folded-away part of the strings tuple that codegen added first stays
/// as constant 0 (K3).
#[test]
fn regression_tstring_first_folded_part_stays_constant_0() {
    check_source("regression_tstring_first_folded_part_stays_constant_0", "def f(x):\n    return t\"a{x=}\"\n");
}

/// A generator lambda returns its body's value and adds no `None` of its
/// own: without other constants its `co_consts` is empty (found by the
/// fuzz test, seed 0x20261207, on `lambda: (yield type)`).
#[test]
fn regression_generator_lambda_may_have_no_constants() {
    check_source(
        "regression_generator_lambda_may_have_no_constants",
        "f = lambda: (yield type)\ng = lambda x: [(yield x)]\nh = lambda: (yield)\n",
    );
}

/// 3.14 refuses a binding of `__debug__` even in an `assert` that `-O`
/// removes (found by the fuzz test, seed 0x1, on `assert (lambda
/// __debug__=...: ...)` compiled natively at `-OO`); 3.13 compiles it.
#[test]
fn regression_debug_binding_in_a_stripped_assert_is_refused() {
    for &release in &RELEASES {
        let target = Target::candidate(release).unwrap();
        for level in 0..=2 {
            let refusal = pycache_compiler::compile(b"assert (lambda __debug__=1: 0)\n", "m.py", target, level)
                .expect_err("a binding of __debug__ compiled");
            assert_eq!(refusal.kind, RefusalKind::Syntax, "{refusal}");
        }
    }
    let t313 = Target::candidate((3, 13, 18)).unwrap();
    assert!(pycache_compiler::compile(b"assert (lambda __debug__=1: 0)\n", "m.py", t313, 1).is_ok());
}

/// Found by the fuzz test (seed 0x5eed2026): CPython reports a legacy
/// `print [x]` before a mix of t-string and string literals, and fails
/// otherwise on a `{x=}` field in the mix; the native compiler still
/// rejects both but no longer claims CPython's "cannot mix" there.
#[test]
fn regression_mixed_tstring_error_is_not_claimed_after_a_legacy_print_or_with_a_debug_field() {
    for &release in &RELEASES {
        let target = Target::candidate(release).unwrap();
        for source in ["def f():\n    print = 1\n    return print[1, 2]\nb = (t'{x}' 'a')\n", "b = (f'{x=}' t'{y}')\n"]
        {
            let refusal = pycache_compiler::compile(source.as_bytes(), "m.py", target, 0).expect_err(source);
            assert_eq!(refusal.kind, RefusalKind::Syntax, "{source}: {refusal}");
            assert_eq!(refusal.exception, None, "{source}: claims CPython's words: {refusal}");
        }
        // Alone, the mix is CPython's own error.
        let refusal = pycache_compiler::compile(b"b = (t'{x}' 'a')\n", "m.py", target, 0).unwrap_err();
        assert_eq!(refusal.exception, Some("SyntaxError"), "{refusal}");
    }
}

/// A signed or complex number in a value pattern or a mapping key (`case
/// -1:`, `case {1 - 2j: _}`) is folded into a constant before code
/// generation even though 3.14 leaves other arithmetic to the flow graph;
/// it was declined with a false "patterns may only match literals and
/// attribute lookups" (test_patma.py of CPython's own suite).
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

/// 3.13 already allows a lambda or comprehension in an annotation scope
/// inside a class (`type A = [i for i in x]` in a class body, a generic
/// method's annotations); it was declined there on 3.13 with 3.12's
/// "Cannot use comprehension in annotation scope within class scope",
/// because the check was keyed on a 3.14 rule.
#[test]
fn regression_class_annotation_scope_comprehensions_compile_on_3_13() {
    let source = "class C:\n    type A = lambda: 1\n    type B = [i for i in range(3)]\n    type D = {k: v for k, v in x}\n    def f[T](self, x: [i for i in T]) -> {j for j in T}: pass\n    def g[T](self, x=lambda: T): pass\n    type F[U] = [u for u in U if [w for w in U]]\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.py");
    std::fs::write(&file, source).unwrap();
    let mut problems = Vec::new();
    for release in [(3, 13, 5), (3, 13, 18)] {
        let test = "regression_class_annotation_scope_comprehensions_compile_on_3_13";
        let Some(python) = debian_release(release, test) else { continue };
        let target = Target::candidate(release).expect("a 3.13 profile");
        for level in 0..=2 {
            problems.extend(compare(&python.path, target, &file, level));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// ruff takes a parenthesized part in a pattern's number (`(1) + 2j`,
/// `1 + (2j)`, `-(1) + 2j`), which CPython's grammar rejects as invalid
/// syntax; once folded it compiled to a cache for a file the interpreter
/// refuses (3.12 and 3.13 through the general folding, 3.14+ through the
/// pattern fold). It is declined now, on every target.
#[test]
fn regression_parenthesized_number_pattern_is_refused_like_cpython() {
    let sources = [
        "match x:\n    case (1) + 2j:\n        pass\n",
        "match x:\n    case 1 + (2j):\n        pass\n",
        "match x:\n    case -(1) + 2j:\n        pass\n",
        "match x:\n    case {(-1) + 2j: y}:\n        pass\n",
        "match x:\n    case [(1) - 2j]:\n        pass\n",
    ];
    let test = "regression_parenthesized_number_pattern_is_refused_like_cpython";
    let mut problems = Vec::new();
    for release in [(3, 13, 18), (3, 14, 8), (3, 14, 10), (3, 15, 2)] {
        let Some(python) = debian_release(release, test) else { continue };
        let target = Target::candidate(release).unwrap();
        for source in sources {
            let out = Command::new(&python.path)
                .args(["-I", "-c", "import sys; compile(sys.argv[1], 'm.py', 'exec')", source])
                .output()
                .unwrap();
            if !String::from_utf8_lossy(&out.stderr).contains("SyntaxError: invalid syntax") {
                problems.push(format!("{release:?}: CPython does not reject {source:?}"));
            }
            if pycache_compiler::compile(source.as_bytes(), "m.py", target, 0).is_ok() {
                problems.push(format!("{release:?}: compiled {source:?}, which CPython rejects"));
            }
        }
    }
    // The forms CPython takes still compile.
    let target = Target::candidate((3, 14, 10)).unwrap();
    for source in ["match x:\n    case (-1):\n        pass\n", "match x:\n    case (1 + 2j) | -1 - 2j:\n        pass\n"]
    {
        if let Err(refusal) = pycache_compiler::compile(source.as_bytes(), "m.py", target, 0) {
            problems.push(format!("refused {source:?}: {refusal}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
