//! One native compile and marshal of every file, for
//! `valgrind --tool=callgrind`: the figure the speed work is judged by,
//! instructions per source byte, repeatable to the instruction on a
//! shared machine where wall time is not. `bench/instructions.py` runs it
//! and splits the count by stage.
//!
//!     cargo build --profile profiling -p pycache-compiler --example instructions
//!     valgrind --tool=callgrind --toggle-collect='*instructions::measure*' \
//!         target/profiling/examples/instructions [--target 3.12] PATHS...
//!
//! Files are read into memory before [`measure`], so only the compile and
//! marshal are counted. Files the native compiler declines are counted
//! too (their work up to the refusal is real work) and reported.

// The allocator the pycache binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;

#[path = "support/sources.rs"]
mod sources;

/// Compiles and marshals every source once; the number declined.
#[inline(never)]
fn measure(sources: &[(String, Vec<u8>)], target: pycache_compiler::Target, optimize: u8) -> usize {
    let mut declined = 0;
    for (name, src) in sources {
        match pycache_compiler::compile(src, name, target, optimize) {
            Ok(code) => {
                std::hint::black_box(pycache_compiler::marshal::marshal_code(&code, target).unwrap());
            }
            Err(_) => declined += 1,
        }
    }
    declined
}

fn main() {
    let mut target = pycache_compiler::Target::latest();
    let mut optimize = 0u8;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--target" => {
                let spec = args.next().expect("--target needs a version");
                target = pycache_compiler::Target::parse(&spec).unwrap_or_else(|e| panic!("{e}"));
            }
            "-O" => optimize = args.next().and_then(|o| o.parse().ok()).expect("-O needs 0, 1 or 2"),
            path => sources::collect(Path::new(path), &mut files),
        }
    }
    let sources: Vec<(String, Vec<u8>)> =
        files.iter().map(|f| (f.display().to_string(), std::fs::read(f).unwrap())).collect();
    let bytes: usize = sources.iter().map(|(_, s)| s.len()).sum();
    let declined = measure(&sources, target, optimize);
    println!("{} files, {bytes} bytes, {declined} declined, {target}", sources.len());
}
