//! Issue 12, item 5: a self-documenting f-string field (`{expr=}`) whose
//! text holds escapes. 3.12.1 decodes that text with the f-string's own
//! escape rules (`f"{'\u0394'=}"` holds `'Δ'=`); the native compiler kept
//! the escapes as written, a different constant.

use pycache_progress::NoProgress;
use pycache_python::testing::reference;
use pycache_verify::{Reference, Verdict, VerifyOptions, verify};

const SOURCES: &[&str] = &[
    r#"print(f"{'\u0394'=}")"#,
    r#"print(f"{'\n'=}")"#,
    r#"print(f"{'\x41'=}")"#,
    r#"print(f"{br'raw\n'=}")"#,
    r#"print(f"{'\\'=}")"#,
    r#"print(rf"{'\n'=}")"#,
    "print(f\"{'\\t' # c\n=}\")",
    r#"print(f"{'\101'=}")"#,
    r#"print(f"{b'\x41'=}")"#,
    r#"print(f"{'\\u0394'=}")"#,
    r#"print(f"{x=!r:{'\n'}}")"#,
    r#"print(f"{'\d'=}")"#,
    r#"print(f"""{'\n' = !r:>{10}}""")"#,
    r#"print(f"{  '\U0001F600'  =  }")"#,
    r#"print(F"{"a\tb"=}")"#,
    r#"print(f'{f"{'\x41'=}"=}')"#,
];

#[test]
fn regression_self_documenting_field_text_is_decoded() {
    let Some(python) = reference(3, 12, "regression_self_documenting_field_text_is_decoded") else { return };
    if pycache_compile::native::why_not(&python).is_some() {
        eprintln!("SKIP regression_self_documenting_field_text_is_decoded: {} is not 3.12.1", python.label());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (i, source) in SOURCES.iter().enumerate() {
        std::fs::write(dir.path().join(format!("debug{i}.py")), format!("x = 1\n{source}\n")).unwrap();
    }
    let options = VerifyOptions {
        paths: vec![dir.path().to_path_buf()],
        levels: vec![0, 2],
        reference: Reference::Fresh,
        ..VerifyOptions::default()
    };
    let report = verify(&options, &python, &NoProgress).unwrap();
    let bad: Vec<String> = report
        .files
        .iter()
        .filter(|f| !matches!(f.verdict, Verdict::Identical))
        .map(|f| format!("{}: {:?}", f.path.display(), f.verdict))
        .collect();
    assert_eq!(report.files.len(), SOURCES.len() * 2);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// What the differential fuzz test found in format specs, each judged as
/// the interpreter judges it or declined: `{{` in a spec (a dict field to
/// 3.12.1, with empty constants the native compiler did not make), a
/// self-documenting field in a spec (3.12.1's ValueError), a limit reached
/// after one (not CPython's first error), and brackets past the limit that
/// overflow the parser's stack first (MemoryError, not the tokenizer's).
#[test]
fn regression_fuzz_findings_in_format_specs_and_bracket_limits() {
    let test = "regression_fuzz_findings_in_format_specs_and_bracket_limits";
    let Some(python) = reference(3, 12, test) else { return };
    if pycache_compile::native::why_not(&python).is_some() {
        eprintln!("SKIP {test}: {} is not 3.12.1", python.label());
        return;
    }
    let sources = [
        "x = f'{x:{{}}}'\n".to_owned(),
        "x = f'{x:a{{y}}b}'\n".to_owned(),
        "x = f'{90:>10{a=}}'\n".to_owned(),
        "x = f'{90:{a = !r:x}}'\n".to_owned(),
        format!("x = f'{{90:{{a=}}}}'\ny = {}a{}\n", "(".repeat(201), ")".repeat(201)),
        "x = f'{90:{a=}}'\nif 1:\n        x = 1\n\ty = 2\n".to_owned(),
        format!("x = {}a{}\n", "(a and ".repeat(201), ")".repeat(201)),
        format!("x = {}{}\n", "[a,".repeat(201), "]".repeat(201)),
        format!("x = {}a{}\n", "f(".repeat(201), ")".repeat(201)),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, source) in sources.iter().enumerate() {
        std::fs::write(dir.path().join(format!("found{i}.py")), source).unwrap();
    }
    let options = VerifyOptions {
        paths: vec![dir.path().to_path_buf()],
        levels: vec![0],
        reference: Reference::Fresh,
        ..VerifyOptions::default()
    };
    let report = verify(&options, &python, &NoProgress).unwrap();
    assert_eq!(report.files.len(), sources.len());
    let wrong: Vec<String> = report
        .files
        .iter()
        .filter(|f| f.verdict.is_wrong() || matches!(f.verdict, Verdict::Error { .. }))
        .map(|f| format!("{}: {:?}", f.path.display(), f.verdict))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Programs the long fuzz run found (`tests/fixtures/fuzz/`): a backslash in
/// a raw f-string's format spec (different constants), format specs whose
/// nesting the tokens misjudged (wrongly rejected, or rejected with another
/// line than CPython's), a file 99 levels deep after another block (CPython
/// refuses it, the native compiler accepted it). From the 20,000-program
/// run: a starred comparison in a display (`[*a < b]`, accepted), an
/// f-string nesting limit claimed as the error after 200 brackets that
/// overflow the parser first or after an int literal past the digit limit,
/// and a format spec whose text starts with a colon (its location); and
/// the starred forms that stay valid (bracketed, in calls, in subscripts).
/// From a 3.15.2 run (seed 0x20261207, 20,000 programs): an unindent to no
/// outer level on line 87 of a file 101 levels deep (the depth was claimed),
/// and a tab error after a t-string whose format spec holds a debug field
/// (3.14 and 3.15 fail on the t-string first). Each must now be judged as
/// the interpreter judges it, or declined.
#[test]
fn regression_long_fuzz_run_findings() {
    let test = "regression_long_fuzz_run_findings";
    let Some(python) = reference(3, 12, test) else { return };
    if pycache_compile::native::why_not(&python).is_some() {
        eprintln!("SKIP {test}: {} is not 3.12.1", python.label());
        return;
    }
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let options = VerifyOptions {
        paths: vec![fixtures],
        levels: vec![0, 2],
        reference: Reference::Fresh,
        ..VerifyOptions::default()
    };
    let report = verify(&options, &python, &NoProgress).unwrap();
    assert_eq!(report.files.len(), 22);
    let wrong: Vec<String> = report
        .files
        .iter()
        .filter(|f| f.verdict.is_wrong() || matches!(f.verdict, Verdict::Error { .. }))
        .map(|f| format!("{}: {:?}", f.path.display(), f.verdict))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
