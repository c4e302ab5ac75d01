//! The native compiler against the interpreter it reproduces, through
//! `pycache_verify::verify`: small fixtures whose verdicts are known, then
//! the whole 3.12 standard library and the pinned corpus at every level.

use std::path::{Path, PathBuf};

use pycache_progress::NoProgress;
use pycache_python::testing::reference;
use pycache_verify::{Reference, Verdict, VerifyOptions, VerifyReport, verify};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn verdict<'a>(report: &'a VerifyReport, name: &str, level: u8) -> &'a Verdict {
    let file = report
        .files
        .iter()
        .find(|f| f.path.file_name().is_some_and(|n| n == name) && f.optimize == Some(level))
        .unwrap_or_else(|| panic!("no verdict for {name} at level {level}"));
    &file.verdict
}

#[test]
fn each_kind_of_file_gets_its_verdict() {
    let Some(python) = reference(3, 12, "each_kind_of_file_gets_its_verdict") else { return };
    if pycache_compile::native::why_not(&python).is_some() {
        eprintln!(
            "SKIP each_kind_of_file_gets_its_verdict: {} is not the release the native compiler reproduces",
            python.label()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "plain.py",
        "'''Doc.'''\nimport os\n\ndef f(x, *a, k=1):\n    assert x, 'no'\n    return [y for y in a if y]\n",
    );
    write(dir.path(), "naïve.py", "s = '\\ud800'\nclass C:\n    def m(self):\n        return super().m()\n");
    write(dir.path(), "broken.py", "def f(:\n    pass\n");
    // Regressions: a nested field closing a format spec (`}}`) was declined
    // as a doubled brace; a self-documenting field kept its comment, which
    // 3.12.1's tokenizer drops from any `#`, even one inside a string.
    write(
        dir.path(),
        "fstrings.py",
        "w, p, x = 10, 2, 3.14159\na = f'{x:{w:{0}}.{p:1}}'\nb = f'''{1+2 = # my comment\n  }'''\nc = f\"{'a#b' = !r}\"\nd = f'''{ (1, # one\n 2) = !r:>{w}}'''\n",
    );
    // A multi-byte source encoding other than UTF-8 is something the
    // native compiler declines (the `%%` folding used here is reproduced
    // since 3.14's third round).
    write(dir.path(), "declined.py", "# -*- coding: euc_jp -*-\nx = 1\n");
    for reference_kind in [Reference::Fresh, Reference::Compileall] {
        let options = VerifyOptions {
            paths: vec![dir.path().to_path_buf()],
            levels: vec![0, 1, 2],
            reference: reference_kind,
            ..VerifyOptions::default()
        };
        let report = verify(&options, &python, &NoProgress).unwrap();
        for level in [0, 1, 2] {
            assert_eq!(verdict(&report, "plain.py", level), &Verdict::Identical, "{reference_kind:?}");
            assert_eq!(verdict(&report, "naïve.py", level), &Verdict::Identical, "{reference_kind:?}");
            assert_eq!(verdict(&report, "fstrings.py", level), &Verdict::Identical, "{reference_kind:?}");
            assert!(
                matches!(verdict(&report, "broken.py", level), Verdict::RejectedByBoth { interpreter, .. } if interpreter.contains("SyntaxError")),
                "{reference_kind:?}: {:?}",
                verdict(&report, "broken.py", level)
            );
            assert!(
                matches!(verdict(&report, "declined.py", level), Verdict::Declined { reason } if reason.contains("`euc_jp`")),
                "{reference_kind:?}: {:?}",
                verdict(&report, "declined.py", level)
            );
        }
        assert!(!report.has_wrong() && !report.has_errors());
        let level0 = &report.summary[0];
        assert_eq!((level0.files, level0.identical, level0.declined, level0.rejected_by_both), (5, 3, 1, 1));
    }
}

#[test]
fn a_missing_path_is_an_error_and_other_interpreters_are_refused() {
    let Some(python) = reference(3, 12, "a_missing_path_is_an_error_and_other_interpreters_are_refused") else {
        return;
    };
    let options = VerifyOptions { paths: vec!["/nonexistent/pycache-verify".into()], ..VerifyOptions::default() };
    if pycache_compile::native::why_not(&python).is_none() {
        let report = verify(&options, &python, &NoProgress).unwrap();
        assert!(report.has_errors());
        assert_eq!(report.path_errors, 1);
    }
    if let Some(other) = reference(3, 11, "a_missing_path_is_an_error_and_other_interpreters_are_refused") {
        let err = verify(&options, &other, &NoProgress).unwrap_err().to_string();
        assert!(err.contains("3.12.1") && err.contains("3.11"), "{err}");
    }
}

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.corpus/site-packages");
    dir.is_dir().then_some(dir)
}

/// The harness behind the README's exactness figures: every file of the
/// 3.12 standard library and the corpus, at levels 0, 1 and 2, against
/// py_compile in a fresh process.
#[test]
fn stdlib_and_corpus_against_fresh_py_compile() {
    let test = "stdlib_and_corpus_against_fresh_py_compile";
    let Some(python) = reference(3, 12, test) else { return };
    if let Some(reason) = pycache_compile::native::why_not(&python) {
        eprintln!("SKIP {test}: {reason}");
        return;
    }
    let stdlib = python.base_prefix.join("lib/python3.12");
    let mut paths = vec![stdlib];
    match corpus() {
        Some(corpus) => paths.push(corpus),
        None => eprintln!("SKIP part of {test}: run `python3 corpus/fetch.py` to add the third-party packages"),
    }
    let options = VerifyOptions { paths, levels: vec![0, 1, 2], ..VerifyOptions::default() };
    let report = verify(&options, &python, &NoProgress).unwrap();
    let mut problems = Vec::new();
    for file in &report.files {
        if file.verdict.is_wrong() || matches!(file.verdict, Verdict::Error { .. }) {
            problems.push(format!("{} level {:?}: {:?}", file.path.display(), file.optimize, file.verdict));
        }
    }
    for row in &report.summary {
        eprintln!(
            "{test}: level {}: {} files, {} byte-identical ({:.2}%), {} more code-equal ({:.2}%), {} different, {} declined, {} rejected by both",
            row.optimize,
            row.files,
            row.identical,
            row.identical_share(),
            row.code_equal,
            row.code_equal_share(),
            row.different,
            row.declined,
            row.rejected_by_both
        );
        assert!(row.identical_share() >= 90.0, "level {}: {:.2}% byte-identical", row.optimize, row.identical_share());
        assert!(row.code_equal_share() >= 97.0, "level {}: {:.2}% code-equal", row.optimize, row.code_equal_share());
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems[..problems.len().min(30)].join("\n"));
}
