//! Feeds arbitrary bytes to everything that reads caches, with the checks
//! of the stable fuzz test (`tests/fuzz/check.rs`): the reader for every
//! format and as a whole `.pyc`, errors inside the input, exact round trips,
//! references, comparison, and what `pycache show`, `dis` and `diff` do
//! with whatever reads. Nothing may panic; libFuzzer's own limits (see
//! `run.sh`) catch hangs and memory.

#![no_main]

#[path = "../../tests/fuzz/check.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    check::check(data, None);
});
