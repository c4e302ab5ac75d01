//! What must hold for any input: it goes through the reader for every
//! format and as a whole `.pyc`; errors point inside the input; whatever
//! reads writes back to the same bytes, resolves, and goes through
//! everything `pycache show`, `dis` and `diff` do with a cache (code views,
//! decoding with and without caches, text and JSON, `--func`, comparison).
//! A violation panics; the harness catches it.
//!
//! The libFuzzer target (`fuzz/fuzz_targets/read.rs`) includes this file
//! too, so it may use only what both build with.

use pycache_dis::text::{TextOptions, disassemble_all};
use pycache_dis::{CodeView, DecodeOptions, code_views, decode, diff, json, subtree_views, text};
use pycache_marshal::{
    CompareOptions, Format, Object, Pyc, PycError, ReadError, RefTable, difference, equivalent, read_prefix, read_pyc,
    write, write_for,
};
use pycache_pyc::{Magic, PyVersion};

/// Every supported format: 2.7, 3.0 to 3.15.
pub fn all_formats() -> Vec<Format> {
    std::iter::once(PyVersion::new(2, 7))
        .chain((0..=15).map(|minor| PyVersion::new(3, minor)))
        .map(|version| Format::for_version(version).expect("a supported version"))
        .collect()
}

/// Every format, and the one 3.8 alpha layout that differs from its
/// version's (3.0 to 3.7 fields under a 3.8 magic).
pub fn formats() -> Vec<Format> {
    let mut formats = all_formats();
    formats.push(Format::for_magic(Magic::new(3401)).expect("a 3.8 alpha magic"));
    formats
}

/// What one input reached, summed over a run to show what the mutants
/// exercise.
#[derive(Debug, Default, Clone, Copy)]
pub struct Reach {
    pub streams_read: u64,
    pub pycs_read: u64,
    pub code_objects_decoded: u64,
    /// Bytes of text and JSON rendered: `dis` repeats a constant's repr at
    /// every instruction that loads it, so output can legitimately be far
    /// larger than the input.
    pub output_bytes: u64,
}

impl std::ops::AddAssign for Reach {
    fn add_assign(&mut self, other: Self) {
        self.streams_read += other.streams_read;
        self.pycs_read += other.pycs_read;
        self.code_objects_decoded += other.code_objects_decoded;
        self.output_bytes += other.output_bytes;
    }
}

fn check_read_error(err: &ReadError, len: usize, base: usize) {
    let offset = err.offset();
    assert!(offset >= base && offset <= len, "error offset {offset} outside the input [{base}, {len}]: {err}");
    let text = err.to_string();
    assert!(text.contains(&format!("byte {offset}")), "error without its offset: {text}");
}

/// The object just read must write back to `bytes` exactly and survive
/// every consumer.
fn check_object(object: &Object, format: Format, bytes: &[u8], reach: &mut Reach) {
    let written = write(object).expect("what was read can be written");
    assert!(written == bytes, "round trip: {} bytes read, {} written, differing", bytes.len(), written.len());
    write_for(object, format).expect("what was read passes its own version's check");
    let refs = RefTable::new(object).expect("what was read has valid references");
    refs.code_objects(object).expect("code objects resolve");
    assert!(equivalent(object, object).expect("comparable"), "not equivalent to itself");
    let loose = CompareOptions { ignore_set_order: true, ignore_interning: true };
    assert_eq!(difference(object, object, loose).expect("comparable"), None, "differs from itself");
    explain(object, &refs, format.version(), reach);
}

/// The views `pycache show` lists: the module's, or when the root is not a
/// code object, those under the first few code objects found.
fn views<'a>(root: &'a Object, refs: &RefTable<'a>, version: PyVersion) -> Vec<CodeView<'a>> {
    match code_views(root, refs, version) {
        Ok(views) => views,
        Err(err) => {
            assert!(!err.to_string().is_empty());
            let mut views = Vec::new();
            for code in refs.code_objects(root).unwrap_or_default().into_iter().take(4) {
                views.extend(subtree_views(code, Some("<fuzz>".to_owned()), refs, version).unwrap_or_default());
            }
            views
        }
    }
}

/// `pycache show`, `dis` (text, JSON, caches, `--func`) and `diff` of a tree
/// with itself.
fn explain<'a>(root: &'a Object, refs: &'a RefTable<'a>, version: PyVersion, reach: &mut Reach) {
    let views = views(root, refs, version);
    for view in &views {
        let info = text::code_info(view, refs);
        assert!(!info.is_empty());
        let info_json = serde_json::to_string(&json::code_info(view, refs)).expect("JSON");
        reach.output_bytes += (info.len() + info_json.len()) as u64;
    }
    for show_caches in [false, true] {
        let options = DecodeOptions { show_caches };
        let decoded: Vec<_> = views.iter().filter_map(|view| decode(view.clone(), refs, options).ok()).collect();
        reach.code_objects_decoded += decoded.len() as u64;
        let listing = disassemble_all(&decoded, TextOptions { show_offsets: show_caches });
        reach.output_bytes += listing.len() as u64;
        for code in &decoded {
            let json = serde_json::to_string(&json::disassembly(code, refs)).expect("JSON");
            reach.output_bytes += json.len() as u64;
        }
    }
    // `dis --func` with the middle code object's qualname.
    if let Some(view) = views.get(views.len() / 2) {
        let selected = subtree_views(view.code, Some(view.qualname.clone()), refs, version).unwrap_or_default();
        for view in selected {
            let _ = decode(view, refs, DecodeOptions::default());
        }
    }
    if let Ok(differences) = diff::compare_code((root, refs, version), (root, refs, version)) {
        assert!(differences.is_empty(), "a tree differs from itself: {differences:?}");
    }
}

/// Runs every check on `input`. `reference` is the seed it came from, when
/// that is a readable `.pyc`, for `pycache diff` between the two.
pub fn check(input: &[u8], reference: Option<(&Pyc, &[u8])>) -> Reach {
    let mut reach = Reach::default();
    for format in formats() {
        match read_prefix(input, format) {
            Ok((object, used)) => {
                assert!(used <= input.len());
                reach.streams_read += 1;
                check_object(&object, format, &input[..used], &mut reach);
            }
            Err(err) => check_read_error(&err, input.len(), 0),
        }
    }
    match read_pyc(input) {
        Ok(pyc) => {
            reach.pycs_read += 1;
            assert_eq!(pyc.to_bytes().expect("a read pyc can be written"), input, "pyc round trip");
            let body = &input[pyc.header_bytes.len()..input.len() - pyc.trailing.len()];
            check_object(&pyc.code, pyc.format, body, &mut reach);
            let same = diff::compare_pycs(&pyc, input, &pyc, input).expect("a pyc compares with itself");
            assert!(same.identical && same.code.is_empty() && same.header.is_empty());
            if let Some((seed, seed_bytes)) = reference
                && let Ok(report) = diff::compare_pycs(seed, seed_bytes, &pyc, input)
            {
                serde_json::to_string(&report).expect("JSON");
                assert_eq!(report.identical, seed_bytes == input);
            }
        }
        Err(PycError::Read(err)) => {
            let header = Magic::from_bytes(input).map_or(0, |m| m.header_layout().len());
            check_read_error(&err, input.len(), header);
        }
        Err(err) => assert!(!err.to_string().is_empty()),
    }
    reach
}
