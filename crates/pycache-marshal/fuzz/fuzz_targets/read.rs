//! Feeds arbitrary bytes to the reader, both as a whole `.pyc` and as a bare
//! stream for the version the first byte picks. Nothing may panic, and
//! whatever the reader accepts must write back to the same bytes, resolve,
//! compare equal to itself and pass its own version's check.

#![no_main]

use pycache_marshal::{
    CompareOptions, Format, Object, RefTable, difference, equivalent, read_prefix, read_pyc, write, write_for,
};
use pycache_pyc::PyVersion;

fn formats() -> Vec<Format> {
    std::iter::once(PyVersion::new(2, 7))
        .chain((0..=15).map(|minor| PyVersion::new(3, minor)))
        .map(|version| Format::for_version(version).expect("a supported version"))
        .collect()
}

fn check(object: &Object, format: Format, bytes: &[u8]) {
    assert_eq!(write(object).expect("what was read can be written"), bytes, "round trip");
    write_for(object, format).expect("what was read passes its own version's check");
    let table = RefTable::new(object).expect("what was read has valid references");
    table.code_objects(object).expect("code objects resolve");
    assert!(equivalent(object, object).expect("comparable"));
    let loose = CompareOptions { ignore_set_order: true, ..CompareOptions::default() };
    assert_eq!(difference(object, object, loose).expect("comparable"), None);
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(pyc) = read_pyc(data) {
        assert_eq!(pyc.to_bytes().expect("a read pyc can be written"), data, "pyc round trip");
        let header_len = pyc.header.len();
        let body = &data[header_len..data.len() - pyc.trailing.len()];
        check(&pyc.code, pyc.format, body);
    }
    if let Some((&selector, stream)) = data.split_first() {
        let formats = formats();
        let format = formats[usize::from(selector) % formats.len()];
        if let Ok((object, used)) = read_prefix(stream, format) {
            check(&object, format, &stream[..used]);
        }
    }
});
