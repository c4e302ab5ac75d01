//! Template strings that an interpreter rejects, against the interpreters
//! themselves: before 3.14 every t-string is a syntax error (3.12.1,
//! 3.13.0 from pyenv; 3.13.5 and 3.13.18 from Debian), and 3.14 (3.14.8,
//! 3.14.10) rejects t-strings concatenated with other literals. A refusal
//! that names CPython's error (`Refusal::exception`) must carry its exact
//! message, line and offset; any other must be a syntax refusal (the
//! interpreter's to word). Every source must be refused.

mod common;

use std::path::Path;

use common::interpreter_errors;

use pycache_compiler::{RefusalKind, Target};
use pycache_python::testing::{debian_release, release};

/// Sources every release before 3.14 rejects; `true` where the native
/// compiler must give the exact error.
const BEFORE_3_14: &[(&str, bool)] = &[
    ("t\"a{x}b\"", true),
    ("x = t\"a\"", true),
    ("print(t\"a\")", true),
    ("f(x, t\"a\")", true),
    ("[t\"a\", 1]", true),
    ("(t\"a\")", true),
    ("x = (t\"a\"\n  t\"b\")", false),
    ("def f():\n    return t\"{x}\"", true),
    ("x = 1 + t\"a\"", true),
    ("x = t\"{x[\"a\"]}\"", false),
    ("x = t'''a\nb'''", true),
    ("x = T\"a\"", true),
    ("x = tr\"a\"", true),
    ("x = Rt\"a{x}\"", true),
    ("if t\"a\": pass", true),
    ("x = {t\"a\": 1}", true),
    ("x = a.t\"b\"", false),
    ("x = t\"a\" if y else t\"b\"", true),
    ("lambda: t\"a\"", true),
    ("x = [y for y in t\"a\"]", true),
    ("x = t\"\\N{foo}\"", false),
    ("x = t\"\\x4\"", false),
    ("x = 1\nx = t\"a\" f\"b\"", false),
    ("x = 1\nx = t\"a\" \"b\"", false),
    ("x = \"b\" t\"a\"", false),
    ("x = t\"a\" b\"b\"", false),
    ("assert t\"a\"", true),
    ("x = not t\"a\"", true),
    ("x = -t\"a\"", true),
    ("del t\"a\"", false),
    ("x = (\nt\"a\")", true),
    ("f(**t\"a\")", false),
    ("[*(t\"a\")]", false),
    ("x = y[t\"a\"]", true),
    ("x: t\"a\" = 1", true),
    ("with t\"a\": pass", true),
    ("x = t\"a\" t\"b\"", true),
    ("f(t\"a\" t\"b\")", false),
    ("x = \"é\" + t\"é{x}\"", true),
    ("x = t\"{x!r:>{y}}\"", true),
    ("x = f\"{t'a'}\"", false),
    ("x = t\"a\" \\\n  + 1", true),
    ("x = t\"a\" # c\n", true),
    ("x = t\"a\"\nreturn 1", false),
    ("x = [*a < b]\ny = t\"a\"", false),
    ("try:\n  pass\nexcept A, B:\n  pass\ny = t\"a\"", false),
    ("y = t\"a\"\ntry:\n  pass\nexcept A, B:\n  pass", true),
    ("x = t\"a\"\ny = (", false),
    ("x = t\"{\"", false),
];

/// Sources 3.14 rejects; `true` where the native compiler must give the
/// exact error.
const IN_3_14: &[(&str, bool)] = &[
    ("x = t\"a\" f\"b\"", true),
    ("x = t\"a\" \"b\"", true),
    ("x = \"b\" t\"a\"", true),
    ("x = b\"b\" t\"a\"", true),
    ("x = t\"a\" b\"b\"", true),
    ("x = f\"a\" t\"b\"", true),
    ("x = t\"a\" t\"b\" \"c\"", true),
    ("x = (t\"a\"\n  \"b\")", true),
    ("x = t\"a\" u\"b\"", true),
    ("x = \"a\" \"b\" t\"c\" f\"d\"", true),
    ("f(t\"a\" \"b\")", true),
    ("x = \"é\" t\"a\"", true),
    ("x = b\"a\" \"b\" t\"c\"", false),
    ("x = t\"a\" \"\\N{foo}\"", false),
    ("x = t\"{x!z}\"", false),
    ("x = t\"{}\"", false),
    ("x = t\"{lambda:1}\"", false),
];

/// Checks each source against `python`; returns the problems.
fn check(python: &Path, target: Target, cases: &[(&str, bool)]) -> Vec<String> {
    let sources: Vec<&str> = cases.iter().map(|(s, _)| *s).collect();
    let verdicts = interpreter_errors(python, &sources, 0);
    let mut problems = Vec::new();
    for (&(source, exact), verdict) in cases.iter().zip(verdicts) {
        let release = target.release();
        let Some((message, line, offset)) = verdict else {
            problems.push(format!("{release}: {source:?} compiles in the interpreter"));
            continue;
        };
        let refusal = match pycache_compiler::compile(source.as_bytes(), "m.py", target, 0) {
            Ok(_) => {
                problems.push(format!("{release}: {source:?} compiled natively ({message})"));
                continue;
            }
            Err(refusal) => refusal,
        };
        if refusal.kind != RefusalKind::Syntax {
            problems.push(format!("{release}: {source:?}: not a syntax refusal: {refusal}"));
        } else if refusal.exception.is_some() {
            let ours = (refusal.exception, refusal.message.as_str(), refusal.line);
            let theirs = (Some("SyntaxError"), message.as_str(), Some((line, offset)));
            if ours != theirs {
                problems.push(format!("{release}: {source:?}: native {ours:?}, interpreter {theirs:?}"));
            }
        } else if exact {
            problems.push(format!(
                "{release}: {source:?}: not the exact error ({refusal}; interpreter: {message} at {line}:{offset})"
            ));
        }
    }
    problems
}

#[test]
fn tstrings_are_rejected_before_3_14_as_the_interpreter_rejects_them() {
    let mut found = Vec::new();
    for version in [(3, 12, 1), (3, 13, 0)] {
        found.extend(release(version, "tstrings_are_rejected_before_3_14").map(|p| (p.path, version)));
    }
    for version in [(3, 13, 5), (3, 13, 18)] {
        found.extend(debian_release(version, "tstrings_are_rejected_before_3_14").map(|p| (p.path, version)));
    }
    let mut problems = Vec::new();
    for (python, version) in &found {
        let target = Target::candidate(*version).expect("a profile");
        problems.extend(check(python, target, BEFORE_3_14));
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn tstrings_mixed_with_other_literals_are_rejected_as_3_14_rejects_them() {
    let mut problems = Vec::new();
    for version in [(3, 14, 8), (3, 14, 10)] {
        let Some(python) = debian_release(version, "tstrings_mixed_with_other_literals") else { continue };
        let target = Target::candidate(version).expect("a profile");
        problems.extend(check(&python.path, target, IN_3_14));
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

/// Before, a 3.13 target refused a t-string with ruff's "Cannot use
/// t-strings on Python 3.13" at the prefix (column 1); 3.13 says "invalid
/// syntax" at the string after it (column 6 here).
#[test]
fn regression_a_tstring_before_3_14_is_invalid_syntax_at_its_string() {
    for version in [(3, 12, 1), (3, 13, 0), (3, 13, 18)] {
        let target = Target::candidate(version).unwrap();
        let refusal = pycache_compiler::compile(b"x = 1\ny = tr'{x!r:>4}'\n", "m.py", target, 0).unwrap_err();
        assert_eq!(
            (refusal.exception, refusal.message.as_str(), refusal.line),
            (Some("SyntaxError"), "invalid syntax", Some((2, 7))),
            "{version:?}"
        );
    }
}

/// Before, 3.14 refused a t-string beside a plain string with ruff's
/// capitalised message over the whole concatenation; CPython names the
/// first pair that does not mix.
#[test]
fn regression_mixed_tstring_error_is_at_the_first_pair_that_does_not_mix() {
    let target = Target::candidate((3, 14, 10)).unwrap();
    let refusal = pycache_compiler::compile("x = t\"é\" t\"b\" \"c\"".as_bytes(), "m.py", target, 0).unwrap_err();
    assert_eq!(
        (refusal.exception, refusal.message.as_str(), refusal.line),
        (Some("SyntaxError"), "cannot mix t-string literals with string or bytes literals", Some((1, 10)))
    );
}

/// After 3.14's error for mixed literals the interpreter tokenizes the
/// rest of the file, and a tokenizer error there wins (found by the fuzz
/// test, seed 0x1: 205 brackets two lines later).
#[test]
fn regression_a_later_tokenizer_error_beats_the_mixed_literals_error() {
    let target = Target::candidate((3, 14, 10)).unwrap();
    let deep = format!("x = t'a' 'b'\ny = {}1{}\n", "(".repeat(205), ")".repeat(205));
    let refusal = pycache_compiler::compile(deep.as_bytes(), "m.py", target, 0).unwrap_err();
    assert_eq!(refusal.line.map(|(line, _)| line), Some(2), "{refusal}");
    assert!(refusal.message.starts_with("too many nested parentheses"), "{refusal}");
}
