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
