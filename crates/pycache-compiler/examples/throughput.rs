//! Native compile throughput on a tree, one thread: MB/s of source.
//!
//!     cargo run --release -p pycache-compiler --example throughput -- PATHS...

use std::path::{Path, PathBuf};

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path).unwrap().flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            collect(&e, out);
        }
    } else if path.extension().is_some_and(|e| e == "py") {
        out.push(path.to_path_buf());
    }
}

fn main() {
    let mut files = Vec::new();
    for a in std::env::args().skip(1) {
        collect(Path::new(&a), &mut files);
    }
    let sources: Vec<(String, Vec<u8>)> =
        files.iter().map(|f| (f.display().to_string(), std::fs::read(f).unwrap())).collect();
    let bytes: usize = sources.iter().map(|(_, s)| s.len()).sum();
    let start = std::time::Instant::now();
    let mut ok = 0;
    for (name, src) in &sources {
        if pycache_compiler::compile(src, name, 0).is_ok() {
            ok += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} files ({ok} compiled), {:.1} MB in {secs:.2}s: {:.1} MB/s",
        sources.len(),
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs
    );
}
