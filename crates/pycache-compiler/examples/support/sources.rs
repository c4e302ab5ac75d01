//! The `.py` files under the paths the development examples are given.

use std::path::{Path, PathBuf};

/// Every `.py` file at or below `path`, in sorted order, `__pycache__`
/// directories skipped.
pub fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path).unwrap().flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            if e.file_name().is_some_and(|n| n != "__pycache__") {
                collect(&e, out);
            }
        }
    } else if path.extension().is_some_and(|e| e == "py") {
        out.push(path.to_path_buf());
    }
}
