//! CPython 3.12.1's limits, each at the limit and one past it, compiled by
//! the native compiler and by fresh `py_compile` processes (issue 12, items
//! 3 and 4). At the limit both must compile the same bytes; past it both
//! must refuse, and where the native compiler names the interpreter's
//! error it must be the interpreter's exception, message and line. A file
//! the native compiler cannot judge is declined (the interpreter decides),
//! which is allowed only where a case says so.

use std::path::Path;

use pycache_progress::NoProgress;
use pycache_python::testing::reference;
use pycache_verify::{Reference, Verdict, VerifyOptions, verify};

/// (name, source, what the native compiler must do).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Want {
    /// Compiled, and the same code as the interpreter's.
    Same,
    /// Refused with the interpreter's own error.
    Refused,
    /// Declined or refused: CPython refuses it, and which way is its to say.
    RefusedOrDeclined,
    /// CPython compiles it; so close to a limit the native compiler cannot
    /// tell, it may decline.
    SameOrDeclined,
}

fn nest(open: &str, inner: &str, close: &str, n: usize) -> String {
    format!("x = {}{inner}{}\n", open.repeat(n), close.repeat(n))
}

fn indent(n: usize) -> String {
    let mut s: String = (0..n).map(|i| format!("{}if a:\n", " ".repeat(i))).collect();
    s.push_str(&" ".repeat(n));
    s.push_str("pass\n");
    s
}

fn cases() -> Vec<(String, String, Want)> {
    use Want::*;
    let mut v: Vec<(String, String, Want)> = vec![
        // Item 3: what crashed the whole run, and how deep CPython goes.
        ("binop_1000".into(), format!("x = {}\n", vec!["a"; 1000].join("+")), Same),
        ("binop_2980".into(), format!("x = {}\n", vec!["a"; 2980].join("+")), Same),
        ("binop_3010".into(), format!("x = {}\n", vec!["a"; 3010].join("+")), Refused),
        ("calls_2900".into(), format!("x = a{}\n", "()".repeat(2900)), Same),
        ("attrs_2900".into(), format!("x = a{}\n", ".b".repeat(2900)), Same),
        ("subscripts_2900".into(), format!("x = a{}\n", "[0]".repeat(2900)), Same),
        ("calls_3010".into(), format!("x = a{}\n", "()".repeat(3010)), Refused),
        ("not_2900".into(), format!("x = {}a\n", "not ".repeat(2900)), Same),
        ("not_3010".into(), format!("x = {}a\n", "not ".repeat(3010)), Refused),
        ("unary_7000".into(), format!("x = {}a\n", "-".repeat(7000)), RefusedOrDeclined),
        ("elif_2900".into(), format!("if a: pass\n{}", "elif a: pass\n".repeat(2900)), Same),
        ("elif_3010".into(), format!("if a: pass\n{}", "elif a: pass\n".repeat(3010)), Refused),
        ("lambda_394".into(), format!("x = {}0\n", "lambda: ".repeat(394)), Same),
        ("lambda_990".into(), format!("x = {}0\n", "lambda: ".repeat(990)), Same),
        // Past marshal's depth: py_compile compiles, then marshal refuses.
        ("lambda_1010".into(), format!("x = {}0\n", "lambda: ".repeat(1010)), Refused),
        ("lambda_3000".into(), format!("x = {}0\n", "lambda: ".repeat(3000)), Refused),
        ("ifexp_2900".into(), format!("x = {}c\n", "a if b else ".repeat(2900)), Same),
        // Item 4: the tokenizer's limits.
        ("brackets_200".into(), nest("(", "a", ")", 200), SameOrDeclined),
        ("brackets_201".into(), nest("(", "a", ")", 201), Refused),
        ("lists_200".into(), nest("[", "", "]", 200), SameOrDeclined),
        ("lists_150".into(), nest("[", "", "]", 150), Same),
        ("lists_201".into(), nest("[", "", "]", 201), Refused),
        ("fstring_field_brackets_201".into(), format!("x = {}f'{{a}}'{}\n", "(".repeat(200), ")".repeat(200)), Refused),
        ("fstrings_149".into(), nest("f'{", "a", "}'", 149), SameOrDeclined),
        ("fstrings_100".into(), nest("f'{", "a", "}'", 100), Same),
        ("fstrings_150".into(), nest("f'{", "a", "}'", 150), Refused),
        ("spec_nesting_2".into(), "x = f'{a:{b:{c}}}'\n".into(), Same),
        ("spec_nesting_3".into(), "x = f'{a:{b:{c:{d}}}}'\n".into(), Refused),
        ("indent_99".into(), indent(99), SameOrDeclined),
        ("indent_90".into(), indent(90), Same),
        ("indent_100".into(), indent(100), Refused),
        ("tabs_after_spaces".into(), "if 1:\n        x = 1\n\ty = 2\n".into(), Refused),
        ("spaces_after_tabs".into(), "x = 1\nif 1:\n\tx = 1\n        y = 2\n".into(), Refused),
        ("tabs_consistent".into(), "if 1:\n\tif 2:\n\t\tx = 1\n\ty = 2\n".into(), Same),
        ("int_4300_digits".into(), format!("x = 1{}\n", "0".repeat(4299)), Same),
        ("int_4301_digits".into(), format!("y = 2\nx = [\n 1{}]\n", "0".repeat(4300)), Refused),
        ("int_4301_underscored".into(), format!("x = 1{}\n", "_0".repeat(4300)), Refused),
        ("int_zeros".into(), format!("x = {}\n", "0".repeat(5000)), Same),
        ("hex_5000_digits".into(), format!("x = 0x1{}\n", "0".repeat(5000)), Same),
        // The parser's stack: 200 nested tuples or `and`s overflow it.
        ("tuples_150".into(), nest("(a,", "", ")", 150), Same),
        ("tuples_200".into(), nest("(a,", "", ")", 200), RefusedOrDeclined),
        ("ands_200".into(), nest("(a and ", "a", ")", 200), RefusedOrDeclined),
        (
            "lambda_defaults_800".into(),
            format!("x = {}0{}\n", "lambda a=".repeat(800), ": 0".repeat(800)),
            RefusedOrDeclined,
        ),
        (
            "blocks_20".into(),
            {
                let mut s = String::new();
                for i in 0..20 {
                    s.push_str(&format!("{}for x in y:\n", " ".repeat(i)));
                }
                s.push_str(&format!("{}pass\n", " ".repeat(20)));
                s
            },
            Same,
        ),
        (
            "blocks_21".into(),
            {
                let mut s = String::new();
                for i in 0..21 {
                    s.push_str(&format!("{}for x in y:\n", " ".repeat(i)));
                }
                s.push_str(&format!("{}pass\n", " ".repeat(21)));
                s
            },
            RefusedOrDeclined,
        ),
    ];
    v.iter_mut().for_each(|(name, _, _)| name.push_str(".py"));
    v
}

#[test]
fn regression_deep_and_limit_files_match_the_interpreter() {
    let Some(python) = reference(3, 12, "regression_deep_and_limit_files_match_the_interpreter") else { return };
    if pycache_compile::native::why_not(&python).is_some() {
        eprintln!("SKIP regression_deep_and_limit_files_match_the_interpreter: {} is not 3.12.1", python.label());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    for (name, text, _) in &cases {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let options = VerifyOptions {
        paths: vec![dir.path().to_path_buf()],
        levels: vec![0],
        reference: Reference::Fresh,
        ..VerifyOptions::default()
    };
    let report = verify(&options, &python, &NoProgress).unwrap();
    let mut failures = Vec::new();
    for (name, _, want) in &cases {
        let file = report.files.iter().find(|f| f.path.file_name().is_some_and(|n| n == Path::new(name).as_os_str()));
        let Some(file) = file else {
            failures.push(format!("{name}: no verdict"));
            continue;
        };
        let ok = match (&file.verdict, want) {
            (Verdict::Identical | Verdict::CodeEqual { .. }, Want::Same) => true,
            (Verdict::RejectedByBoth { native, .. }, Want::Refused) => !native.starts_with("not supported"),
            (Verdict::RejectedByBoth { .. }, Want::RefusedOrDeclined) => true,
            (Verdict::Identical | Verdict::CodeEqual { .. } | Verdict::Declined { .. }, Want::SameOrDeclined) => true,
            _ => false,
        };
        if !ok {
            failures.push(format!("{name}: wanted {want:?}, got {:?}", file.verdict));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
