//! Differential fuzz test of the native compiler against the interpreter
//! it reproduces (issue 12, item 10).
//!
//! Programs come from hypothesmith (grammar- and syntax-tree-based, run in a
//! private virtual environment this test makes) and from `fuzz/gen.rs`,
//! aimed at the compiler's corners. Each is compiled at levels 0 and 2 by
//! the native compiler and by CPython 3.12.1 (`fuzz/referee.py`: py_compile
//! itself, many files per process, so marshal sees the reference counts
//! py_compile's own frames give the module's code object). The test fails
//! on a code object that differs, a program the native compiler accepts and
//! the interpreter rejects, an error the native compiler names that is not
//! the interpreter's (or that the interpreter does not raise), and a panic;
//! an abort kills the test, and the program in flight is left on disk.
//! Programs the native compiler declines are counted (and printed by
//! reason); code-equal ones (bytes differ, code objects do not: marshal
//! flags or interning) are counted and kept under
//! `target/tmp/native-fuzz/code-equal/` for `pycache verify --reference
//! fresh`, which tells a real difference from the referee process's history.
//!
//! `PYCACHE_NATIVE_FUZZ_PYTHON` (a release such as 3.13.18, default 3.12's),
//! `PYCACHE_NATIVE_FUZZ_SEED`, `_PROGRAMS` (own generator, default 1,500),
//! `_HYPOTHESMITH` (default 60; 0 for none), `_SECONDS` (default 150) bound
//! a run, and `_EXTRA=DIR` adds the programs in DIR; CI runs the defaults.
//! The generator writes t-strings for 3.14 on, or with `_TSTRINGS=1`. Failing programs are saved under
//! `target/tmp/native-fuzz/`.

#[path = "fuzz/gen.rs"]
mod generator;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pycache_compile::native;
use pycache_python::testing::reference;
use pycache_verify::{Verdict, compare_bodies, same_error};
use rayon::prelude::*;

const LEVELS: [u8; 2] = [0, 2];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[derive(Debug)]
enum Answer {
    Body(Vec<u8>),
    Rejected { exception: String, message: String, lineno: Option<u32> },
}

/// The interpreter's answers for `files` at `level`, one process per chunk.
fn referee(python: &Path, script: &Path, files: &[PathBuf], level: u8) -> Vec<Answer> {
    let mut answers = Vec::with_capacity(files.len());
    for chunk in files.chunks(400) {
        let mut child = Command::new(python)
            .args(["-I", "-X", "utf8"])
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the referee");
        let mut stdin = child.stdin.take().unwrap();
        let input: String = chunk.iter().map(|f| format!("{level} {}\n", f.display())).collect();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let value: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            answers.push(match value["ok"].as_str() {
                Some(hex) => Answer::Body(
                    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect(),
                ),
                None => Answer::Rejected {
                    exception: value["exception"].as_str().unwrap().to_owned(),
                    message: value["message"].as_str().unwrap_or("").to_owned(),
                    lineno: value["lineno"].as_u64().map(|n| n as u32),
                },
            });
        }
        writer.join().unwrap().unwrap();
        assert!(child.wait().unwrap().success(), "the referee failed");
    }
    assert_eq!(answers.len(), files.len(), "the referee answered every file");
    answers
}

/// hypothesmith's programs, generated in a private venv (made once under
/// the target directory).
fn hypothesmith_programs(python: &Path, seed: u64, count: usize, out: &Path) -> Vec<PathBuf> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("native-fuzz-venv");
    let venv_python = venv.join("bin/python");
    if !venv_python.exists() || !venv.join(".ready").exists() {
        let made = Command::new(python).args(["-m", "venv", "--clear"]).arg(&venv).status().unwrap();
        assert!(made.success(), "cannot make the venv");
        let pip = Command::new(&venv_python)
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check", "hypothesmith==0.3.3"])
            .status()
            .unwrap();
        if !pip.success() {
            assert!(std::env::var_os("CI").is_none(), "cannot install hypothesmith from PyPI");
            eprintln!("SKIP hypothesmith programs: pip could not install hypothesmith (no network?)");
            return Vec::new();
        }
        std::fs::write(venv.join(".ready"), "").unwrap();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/hypothesmith_programs.py");
    let status = Command::new(&venv_python)
        .arg(&script)
        .arg(seed.to_string())
        .arg(count.to_string())
        .arg(out)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "hypothesmith_programs.py failed");
    let mut files: Vec<PathBuf> = std::fs::read_dir(out).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

#[derive(Default, Debug)]
struct Tally {
    identical: usize,
    code_equal: usize,
    rejected_by_both: usize,
    declined: usize,
    different: usize,
    wrongly_accepted: usize,
    wrongly_rejected: usize,
    rejected_differently: usize,
    panics: usize,
}

#[test]
fn native_compiler_agrees_with_the_interpreter_on_generated_programs() {
    let test = "native_compiler_agrees_with_the_interpreter_on_generated_programs";
    // `PYCACHE_NATIVE_FUZZ_PYTHON=3.13.18` fuzzes another release's
    // profile, a candidate one included; the default is 3.12's.
    let (python, target) = match std::env::var("PYCACHE_NATIVE_FUZZ_PYTHON") {
        Ok(release) => {
            let r: pycache_compiler::Release =
                release.parse().unwrap_or_else(|e| panic!("PYCACHE_NATIVE_FUZZ_PYTHON: {e}"));
            let Some(python) = pycache_python::testing::release((r.major, r.minor, r.micro), test) else { return };
            let target = native::candidate_for(&python).expect("a profile for that release");
            (python, target)
        }
        Err(_) => {
            let Some(python) = reference(3, 12, test) else { return };
            let Ok(target) = native::target_for(&python) else {
                eprintln!("SKIP {test}: {} is not a release the native compiler reproduces", python.label());
                return;
            };
            (python, target)
        }
    };
    let seed = std::env::var("PYCACHE_NATIVE_FUZZ_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0x5eed_2026);
    let own = env_usize("PYCACHE_NATIVE_FUZZ_PROGRAMS", 1500);
    let hypo = env_usize("PYCACHE_NATIVE_FUZZ_HYPOTHESMITH", 60);
    let budget = Duration::from_secs(env_usize("PYCACHE_NATIVE_FUZZ_SECONDS", 150) as u64);
    let started = Instant::now();
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("native-fuzz");
    let _ = std::fs::remove_dir_all(work.join("programs"));
    std::fs::create_dir_all(work.join("programs")).unwrap();
    std::fs::create_dir_all(work.join("failures")).unwrap();
    let _ = std::fs::remove_dir_all(work.join("code-equal"));
    std::fs::create_dir_all(work.join("code-equal")).unwrap();
    eprintln!("native fuzz: seed {seed:#x}, {own} own programs, {hypo} from hypothesmith, {}s", budget.as_secs());

    let mut files = Vec::new();
    if hypo > 0 {
        files.extend(hypothesmith_programs(&python.executable, seed, hypo, &work.join("programs/hypothesmith")));
    }
    // Programs made elsewhere (a long hypothesmith run, say), checked too.
    if let Some(extra) = std::env::var_os("PYCACHE_NATIVE_FUZZ_EXTRA") {
        let mut more: Vec<PathBuf> =
            std::fs::read_dir(&extra).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
        more.sort();
        eprintln!("native fuzz: {} programs from {}", more.len(), Path::new(&extra).display());
        files.extend(more);
    }
    // t-strings for 3.14 on, or on request (`PYCACHE_NATIVE_FUZZ_TSTRINGS=1`)
    // to check the errors of older releases.
    let tstrings = target.version() >= (3, 14) || std::env::var_os("PYCACHE_NATIVE_FUZZ_TSTRINGS").is_some();
    generator::TSTRINGS.store(tstrings, std::sync::atomic::Ordering::Relaxed);
    let mut rng = fastrand::Rng::with_seed(seed);
    let own_dir = work.join("programs/own");
    std::fs::create_dir_all(&own_dir).unwrap();
    for i in 0..own {
        let path = own_dir.join(format!("g{i:06}.py"));
        std::fs::write(&path, generator::program(&mut rng)).unwrap();
        files.push(path);
    }
    let referee_script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/referee.py");
    let magic = pycache_pyc::Magic::new(target.magic()).to_bytes();
    let mut tally = Tally::default();
    let mut declines = std::collections::BTreeMap::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    for batch in files.chunks(800) {
        // The first batch always runs: on a loaded machine, installing
        // hypothesmith and generating can use the whole budget by itself.
        if checked > 0 && started.elapsed() > budget {
            break;
        }
        for level in LEVELS {
            let answers = referee(&python.executable, &referee_script, batch, level);
            let results: Vec<(&PathBuf, &Answer, Result<native::NativeOutput, native::Declined>)> = batch
                .par_iter()
                .zip(&answers)
                .map(|(file, answer)| {
                    let source = std::fs::read(file).unwrap();
                    let deadline = Instant::now() + Duration::from_secs(60);
                    (file, answer, native::compile_body(&source, file, target, level, Some(deadline)))
                })
                .collect();
            for (file, answer, native) in results {
                let outcome = judge(answer, native, magic);
                match &outcome {
                    Outcome::Ok(kind) => match kind {
                        Verdict::Identical => tally.identical += 1,
                        Verdict::CodeEqual { .. } => {
                            tally.code_equal += 1;
                            let name = file.file_name().unwrap().to_string_lossy().into_owned();
                            std::fs::copy(file, work.join("code-equal").join(format!("{level}-{name}"))).unwrap();
                        }
                        Verdict::RejectedByBoth { .. } => tally.rejected_by_both += 1,
                        Verdict::Declined { reason } => {
                            tally.declined += 1;
                            // By kind: numbers (positions) masked, cut short.
                            let kind: String =
                                reason.chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).take(110).collect();
                            *declines.entry(kind).or_insert(0usize) += 1;
                        }
                        _ => tally.declined += 1,
                    },
                    Outcome::Bad(kind, detail) => {
                        match *kind {
                            "different" => tally.different += 1,
                            "wrongly accepted" => tally.wrongly_accepted += 1,
                            "wrongly rejected" => tally.wrongly_rejected += 1,
                            "rejected differently" => tally.rejected_differently += 1,
                            _ => tally.panics += 1,
                        }
                        let name = file.file_name().unwrap().to_string_lossy().into_owned();
                        let saved = work.join("failures").join(format!("{level}-{name}"));
                        std::fs::copy(file, &saved).unwrap();
                        failures.push(format!("{} (level {level}): {kind}: {detail}", saved.display()));
                    }
                }
            }
        }
        checked += batch.len();
    }
    eprintln!(
        "native fuzz: {checked} programs x levels {LEVELS:?} in {:.0}s: {} identical, {} code-equal, {} rejected by \
         both, {} declined; {} different, {} wrongly accepted, {} wrongly rejected, {} rejected differently, {} panics",
        started.elapsed().as_secs_f64(),
        tally.identical,
        tally.code_equal,
        tally.rejected_by_both,
        tally.declined,
        tally.different,
        tally.wrongly_accepted,
        tally.wrongly_rejected,
        tally.rejected_differently,
        tally.panics,
    );
    let mut kinds: Vec<(usize, String)> = declines.into_iter().map(|(k, n)| (n, k)).collect();
    kinds.sort_by(|a, b| b.cmp(a));
    for (n, kind) in kinds.iter().take(12) {
        eprintln!("native fuzz: declined {n} x {kind}");
    }
    assert!(checked > 0, "no program was checked");
    assert!(failures.is_empty(), "{}", failures.iter().take(40).cloned().collect::<Vec<_>>().join("\n"));
}

enum Outcome {
    Ok(Verdict),
    Bad(&'static str, String),
}

fn judge(answer: &Answer, native: Result<native::NativeOutput, native::Declined>, magic: [u8; 4]) -> Outcome {
    match (answer, native) {
        (_, Err(declined)) if declined.reason.contains("panicked") => Outcome::Bad("panic", declined.reason),
        (Answer::Body(reference), Ok(native)) => match compare_bodies(&native.body, reference, magic) {
            Verdict::Different { differences, other } => Outcome::Bad(
                "different",
                format!(
                    "{:?} {}",
                    differences.first().map(|d| (&d.qualname, &d.field, &d.left, &d.right)),
                    other.unwrap_or_default()
                ),
            ),
            Verdict::Error { message } => Outcome::Bad("different", message),
            verdict => Outcome::Ok(verdict),
        },
        (Answer::Rejected { exception, message, .. }, Ok(_)) => {
            Outcome::Bad("wrongly accepted", format!("{exception}: {message}"))
        }
        (Answer::Body(_), Err(declined)) if declined.cpython.is_some() => {
            Outcome::Bad("wrongly rejected", declined.reason)
        }
        (Answer::Body(_), Err(declined)) => Outcome::Ok(Verdict::Declined { reason: declined.reason }),
        (Answer::Rejected { exception, message, lineno }, Err(declined)) => {
            let interpreter = match lineno {
                Some(line) => format!("File \"x\", line {line}\n{exception}: {message}"),
                None => format!("{exception}: {message}"),
            };
            match &declined.cpython {
                Some(e) if !same_error(e, &interpreter) => {
                    Outcome::Bad("rejected differently", format!("native {} vs {interpreter}", declined.reason))
                }
                _ => Outcome::Ok(Verdict::RejectedByBoth { native: declined.reason, interpreter }),
            }
        }
    }
}
