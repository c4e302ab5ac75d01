//! The native compiler against every 3.12 and 3.13 release found, on
//! fixtures that each pin a rule that differs between releases or that a
//! sweep found (`tests/fixtures/releases/`): class `__static_attributes__`,
//! comprehension locations and scopes, method calls on imported names,
//! generic definitions, the implicit generator block, jump offsets at the
//! `EXTENDED_ARG` boundary, f-string debug text as each release reads it.
//! Each cache must be byte-identical to a fresh `py_compile` of that
//! release, or refused; a release without a profile prints a SKIP line.

use pycache_progress::NoProgress;
use pycache_python::testing::releases_of;
use pycache_verify::{Reference, Verdict, VerifyOptions, verify};

fn check(major: u8, minor: u8) {
    let test = format!("every_{major}_{minor}_release_agrees_on_the_fixtures");
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/releases");
    let mut checked = 0;
    for python in releases_of(major, minor, &test) {
        if let Err(why) = pycache_compile::native::candidate_for(&python) {
            eprintln!("SKIP {test}: {}: {why}", python.label());
            continue;
        }
        let options = VerifyOptions {
            paths: vec![fixtures.clone()],
            levels: vec![0, 1, 2],
            reference: Reference::Fresh,
            ..VerifyOptions::default()
        };
        let report = verify(&options, &python, &NoProgress).unwrap();
        let identical = report.files.iter().filter(|f| matches!(f.verdict, Verdict::Identical)).count();
        eprintln!("{test}: {}: {} verdicts, {identical} byte-identical", python.label(), report.files.len());
        let wrong: Vec<String> = report
            .files
            .iter()
            .filter(|f| f.verdict.is_wrong() || matches!(f.verdict, Verdict::Error { .. } | Verdict::CodeEqual { .. }))
            .map(|f| format!("{} -O{:?}: {:?}", f.path.display(), f.optimize, f.verdict))
            .collect();
        assert!(wrong.is_empty(), "{}:\n{}", python.label(), wrong.join("\n"));
        // Most fixtures compile natively: a profile that refused them all
        // would prove nothing.
        assert!(identical * 2 > report.files.len(), "{}: only {identical} identical", python.label());
        checked += 1;
    }
    eprintln!("{test}: {checked} releases checked");
}

#[test]
fn every_3_12_release_agrees_on_the_fixtures() {
    check(3, 12);
}

#[test]
fn every_3_13_release_agrees_on_the_fixtures() {
    check(3, 13);
}
