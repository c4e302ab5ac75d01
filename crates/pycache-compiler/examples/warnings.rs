//! Prints the warnings the native compiler finds in every `.py` file under
//! the given paths, one `path<TAB>category<TAB>line<TAB>message` line each, for
//! comparison with what CPython prints (development aid).
//!
//!     cargo run --release -p pycache-compiler --example warnings -- PATHS...

use std::path::Path;

#[path = "support/sources.rs"]
mod sources;

use sources::collect;

fn main() {
    let target = pycache_compiler::Target::latest();
    let mut files = Vec::new();
    for a in std::env::args().skip(1) {
        collect(Path::new(&a), &mut files);
    }
    for file in files {
        let source = std::fs::read(&file).unwrap();
        let name = file.display().to_string();
        if let Ok(compiled) = pycache_compiler::compile_path_warned(&source, name.as_bytes(), target, 0) {
            for w in compiled.warnings {
                println!("{name}\t{}\t{}\t{}", w.category.name(), w.lineno, w.message);
            }
        }
    }
}
