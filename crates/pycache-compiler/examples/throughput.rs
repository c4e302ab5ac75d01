//! Native compile throughput against CPython's own `compile()`, one core
//! each, on the same files in the same run.
//!
//!     cargo run --release -p pycache-compiler --example throughput -- \
//!         [--target 3.12] [--python python3.12] [--rounds 3] [--native-only] PATHS...
//!
//! `--target` picks the native profile (a version such as 3.12, or a
//! release such as 3.12.1); by default, the newest verified one.
//!
//! Both sides read every file into memory first, then time only the
//! compiles: the native side `compile` and `compile` + `marshal_code`,
//! CPython `compile(source, name, 'exec', dont_inherit=True)` and that plus
//! `marshal.dumps`. The figure of each side is its best round (the least
//! disturbed by other work on the machine). Files either side refuses are
//! left out of both.

// The allocator the pycache binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

#[path = "support/sources.rs"]
mod sources;

use sources::collect;

const CPYTHON_SIDE: &str = r#"
import sys, time, marshal
rounds = int(sys.argv[1])
names = [line.rstrip('\n') for line in sys.stdin]
sources = [(n, open(n, 'rb').read()) for n in names]
best_compile = best_both = float('inf')
for _ in range(rounds):
    t = time.perf_counter()
    for n, s in sources:
        compile(s, n, 'exec', dont_inherit=True)
    best_compile = min(best_compile, time.perf_counter() - t)
    t = time.perf_counter()
    for n, s in sources:
        marshal.dumps(compile(s, n, 'exec', dont_inherit=True))
    best_both = min(best_both, time.perf_counter() - t)
print(best_compile, best_both)
"#;

fn main() {
    let mut python = "python3.12".to_owned();
    let mut rounds = 3usize;
    let mut native_only = false;
    let mut target = pycache_compiler::Target::latest();
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--target" => {
                let spec = args.next().expect("--target needs a version");
                target = pycache_compiler::Target::parse(&spec).unwrap_or_else(|e| panic!("{e}"));
            }
            "--python" => python = args.next().expect("--python needs a value"),
            "--native-only" => native_only = true,
            "--rounds" => rounds = args.next().and_then(|r| r.parse().ok()).expect("--rounds needs a number"),
            path => collect(Path::new(path), &mut files),
        }
    }
    let sources: Vec<(String, Vec<u8>)> =
        files.iter().map(|f| (f.display().to_string(), std::fs::read(f).unwrap())).collect();
    // Keep only what both compile: the native side decides here, CPython's
    // refusals are syntax errors the native side refuses too.
    let sources: Vec<_> =
        sources.into_iter().filter(|(n, s)| pycache_compiler::compile(s, n, target, 0).is_ok()).collect();
    let bytes: usize = sources.iter().map(|(_, s)| s.len()).sum();
    let mb = bytes as f64 / 1e6;

    let mut best_compile = f64::INFINITY;
    let mut best_both = f64::INFINITY;
    for _ in 0..rounds {
        let start = Instant::now();
        for (name, src) in &sources {
            std::hint::black_box(pycache_compiler::compile(src, name, target, 0).unwrap());
        }
        best_compile = best_compile.min(start.elapsed().as_secs_f64());
        let start = Instant::now();
        for (name, src) in &sources {
            let code = pycache_compiler::compile(src, name, target, 0).unwrap();
            std::hint::black_box(pycache_compiler::marshal::marshal_code(&code, target).unwrap());
        }
        best_both = best_both.min(start.elapsed().as_secs_f64());
    }

    if native_only {
        println!(
            "{} files, {mb:.1} MB: native compile {:.1} MB/s, compile + marshal {:.1} MB/s",
            sources.len(),
            mb / best_compile,
            mb / best_both
        );
        return;
    }
    let mut child = Command::new(&python)
        .args(["-I", "-c", CPYTHON_SIDE, &rounds.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    {
        let mut stdin = child.stdin.take().unwrap();
        for (name, _) in &sources {
            writeln!(stdin, "{name}").unwrap();
        }
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{python} failed");
    let text = String::from_utf8(output.stdout).unwrap();
    let mut figures = text.split_whitespace().map(|f| f.parse::<f64>().unwrap());
    let (py_compile, py_both) = (figures.next().unwrap(), figures.next().unwrap());

    println!("{} files, {mb:.1} MB, best of {rounds} rounds, one core each", sources.len());
    println!("{:<28} {:>9} {:>9} {:>9}", "", "native", "CPython", "ratio");
    for (what, native, cpython) in [("compile", best_compile, py_compile), ("compile + marshal", best_both, py_both)] {
        println!("{what:<28} {:>6.1} MB/s {:>6.1} MB/s {:>8.2}x", mb / native, mb / cpython, cpython / native);
    }
}
