//! File names in JSON output, every one of them.
//!
//! A Unix file name is bytes, and JSON strings are Unicode, so a name that
//! is not UTF-8 has no JSON string of its own: serde refuses it, which cut
//! the output of a whole command short. pycache spells such names the way
//! Python's `os.fsdecode` does (the `surrogateescape` error handler): each
//! byte that is not part of valid UTF-8 becomes the lone surrogate
//! `U+DC00 + byte`, written as a `\udcXX` escape. `json.loads` reads it
//! back as the same `str` that `os.fsdecode` gives, and `os.fsencode`
//! turns that into the original bytes. A name that is UTF-8 is an ordinary
//! JSON string, so nothing changes for it.
//!
//! Use [`path`] (and [`option_path`], [`paths`]) as `serialize_with` for
//! the path fields of anything printed as JSON, [`Fs`] for a path put in a
//! `serde_json::json!` value's place, and [`state`] for paths in pycache's
//! own JSON state files, which must also read back.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::Serializer;
use serde_json::value::RawValue;

/// The JSON string literal (quotes included) for `bytes`, with each byte
/// that is not valid UTF-8 as `\udcXX`, as `json.dumps(os.fsdecode(b))`
/// writes it (apart from non-ASCII characters, which stay as they are).
pub fn literal(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        let valid = serde_json::to_string(chunk.valid()).expect("a str always serializes");
        out.push_str(&valid[1..valid.len() - 1]);
        for byte in chunk.invalid() {
            out.push_str(&format!("\\udc{byte:02x}"));
        }
    }
    out.push('"');
    out
}

/// Serializes a file name: a string when it is UTF-8, else the
/// `os.fsdecode` spelling (see the crate documentation). Only a JSON
/// serializer can write the latter; others get an error, as before.
pub fn path<S: Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
    os_str(path.as_os_str(), serializer)
}

/// [`path`] for an `OsStr`.
pub fn os_str<S: Serializer>(name: &OsStr, serializer: S) -> Result<S::Ok, S::Error> {
    let bytes = name.as_bytes();
    match std::str::from_utf8(bytes) {
        Ok(text) => serializer.serialize_str(text),
        Err(_) => {
            let raw = RawValue::from_string(literal(bytes)).map_err(serde::ser::Error::custom)?;
            serde::Serialize::serialize(&raw, serializer)
        }
    }
}

/// [`path`] for an optional path (`null` when absent).
pub fn option_path<S: Serializer>(value: &Option<PathBuf>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(p) => path(p, serializer),
        None => serializer.serialize_none(),
    }
}

/// [`path`] for each path of a list.
pub fn paths<S: Serializer>(value: &[PathBuf], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(value.iter().map(Fs::new))
}

/// A path that serializes as [`path`] does: for paths inside values built
/// by hand (`json!` cannot hold one that is not UTF-8).
#[derive(Debug, Clone, Copy)]
pub struct Fs<'a>(pub &'a Path);

impl<'a> Fs<'a> {
    pub fn new(path: &'a impl AsRef<Path>) -> Self {
        Self(path.as_ref())
    }
}

impl serde::Serialize for Fs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        path(self.0, serializer)
    }
}

/// Paths in pycache's JSON state files, which are read back: a string
/// when the path is UTF-8, else its bytes as an array of numbers, so
/// that the file stays readable by any JSON parser and a file name that
/// is not UTF-8 no longer keeps the whole file from being saved.
pub mod state {
    use super::*;
    use serde::{Deserialize, Deserializer};
    use std::os::unix::ffi::OsStringExt;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Text(String),
        Bytes(Vec<u8>),
    }

    pub fn serialize<S: Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
        match path.to_str() {
            Some(text) => serializer.serialize_str(text),
            None => serializer.collect_seq(path.as_os_str().as_bytes()),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PathBuf, D::Error> {
        Ok(match Stored::deserialize(deserializer)? {
            Stored::Text(text) => PathBuf::from(text),
            Stored::Bytes(bytes) => PathBuf::from(std::ffi::OsString::from_vec(bytes)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn name(bytes: &[u8]) -> PathBuf {
        PathBuf::from(std::ffi::OsString::from_vec(bytes.to_vec()))
    }

    #[derive(serde::Serialize)]
    struct Row {
        #[serde(serialize_with = "path")]
        path: PathBuf,
        #[serde(serialize_with = "option_path")]
        cache: Option<PathBuf>,
        #[serde(serialize_with = "paths")]
        dirs: Vec<PathBuf>,
    }

    #[test]
    fn bytes_that_are_not_utf8_become_surrogate_escapes() {
        assert_eq!(literal(b"caf\xe9.py"), r#""caf\udce9.py""#);
        // Valid UTF-8 stays; quotes and control characters are escaped.
        assert_eq!(literal("é\"\n\\".as_bytes()), r#""é\"\n\\""#);
        // An encoded surrogate is not UTF-8: three escaped bytes, as
        // Python's decoder sees them.
        assert_eq!(literal(b"\xed\xb3\xa9"), r#""\udced\udcb3\udca9""#);
        // A truncated sequence before a valid character.
        assert_eq!(literal(b"\xc3x"), r#""\udcc3x""#);
    }

    #[test]
    fn a_struct_with_such_names_prints_as_json() {
        let row = Row { path: name(b"a/caf\xe9.py"), cache: None, dirs: vec![name(b"ok"), name(b"\xff")] };
        let text = serde_json::to_string(&row).unwrap();
        assert_eq!(text, r#"{"path":"a/caf\udce9.py","cache":null,"dirs":["ok","\udcff"]}"#);
        let pretty = serde_json::to_string_pretty(&row).unwrap();
        assert!(pretty.contains(r#""path": "a/caf\udce9.py""#), "{pretty}");
        // Strict parsers refuse the lone surrogate (Python's, JavaScript's
        // and jq's read it): this is why state files use `state` instead.
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_err(), "a lone surrogate is not a Rust string");
    }

    #[test]
    fn utf8_names_are_plain_strings_for_any_serializer() {
        let row = Row { path: name(b"x.py"), cache: Some(name(b"c.pyc")), dirs: vec![] };
        assert_eq!(
            serde_json::to_value(&row).unwrap(),
            serde_json::json!({"path": "x.py", "cache": "c.pyc", "dirs": []})
        );
    }

    #[test]
    fn state_paths_read_back_byte_for_byte() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Entry {
            #[serde(with = "state")]
            source: PathBuf,
        }
        for bytes in [&b"plain/x.py"[..], b"caf\xe9.py", b"\xff\xfe"] {
            let entry = Entry { source: name(bytes) };
            let text = serde_json::to_string(&entry).unwrap();
            assert_eq!(serde_json::from_str::<Entry>(&text).unwrap(), entry, "{text}");
        }
        assert_eq!(serde_json::to_string(&Entry { source: name(b"a.py") }).unwrap(), r#"{"source":"a.py"}"#);
    }
}
