//! Prints the warnings the native compiler finds in every `.py` file under
//! the given paths, one `path<TAB>category<TAB>line<TAB>message` line each, for
//! comparison with what CPython prints (development aid).
//!
//!     cargo run --release -p pycache-compiler --example warnings -- PATHS...

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
    for file in files {
        let source = std::fs::read(&file).unwrap();
        let name = file.display().to_string();
        if let Ok(compiled) = pycache_compiler::compile_path_warned(&source, name.as_bytes(), 0) {
            for w in compiled.warnings {
                println!("{name}\t{}\t{}\t{}", w.category.name(), w.lineno, w.message);
            }
        }
    }
}
