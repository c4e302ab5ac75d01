//! Writing data to stdout, where a closed pipe ends the output quietly.

use std::io::Write;

/// True when `err` comes from writing into a pipe whose reader has gone.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `n` with a comma between groups of three digits: `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `n` and the noun that goes with it: `1 file`, `2 files`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n as u64), if n == 1 { one } else { many })
}

/// Stdout, locked and buffered for the life of a command.
pub struct Out {
    inner: std::io::BufWriter<std::io::StdoutLock<'static>>,
}

impl Out {
    pub fn new() -> Self {
        Self { inner: std::io::BufWriter::new(std::io::stdout().lock()) }
    }

    pub fn line(&mut self, text: impl std::fmt::Display) -> std::io::Result<()> {
        writeln!(self.inner, "{text}")
    }

    /// Text as it is, newlines included.
    pub fn write_str(&mut self, text: &str) -> std::io::Result<()> {
        self.inner.write_all(text.as_bytes())
    }

    pub fn write_bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.inner.write_all(bytes)
    }

    pub fn json(&mut self, value: &impl serde::Serialize) -> anyhow::Result<()> {
        serde_json::to_writer_pretty(&mut self.inner, value)?;
        writeln!(self.inner)?;
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A JSON object built by hand with file names among its fields: `json!`
/// cannot hold a name that is not UTF-8 (see `pycache_json`), so the
/// names stay paths until they are written. Keys come out sorted, as
/// `json!` objects print.
pub struct WithPaths<'a> {
    pub fields: serde_json::Value,
    pub paths: Vec<(&'static str, Option<&'a std::path::Path>)>,
}

impl serde::Serialize for WithPaths<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        enum Field<'v> {
            Value(&'v serde_json::Value),
            Path(Option<pycache_json::Fs<'v>>),
        }
        let mut fields: std::collections::BTreeMap<&str, Field<'_>> = std::collections::BTreeMap::new();
        if let Some(object) = self.fields.as_object() {
            fields.extend(object.iter().map(|(key, value)| (key.as_str(), Field::Value(value))));
        }
        fields.extend(self.paths.iter().map(|(key, path)| (*key, Field::Path(path.map(pycache_json::Fs)))));
        let mut map = serializer.serialize_map(Some(fields.len()))?;
        for (key, field) in &fields {
            match field {
                Field::Value(value) => map.serialize_entry(key, value)?,
                Field::Path(path) => map.serialize_entry(key, path)?,
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_join_hand_built_objects_in_key_order() {
        use std::os::unix::ffi::OsStrExt;
        let name = std::path::Path::new(std::ffi::OsStr::from_bytes(b"caf\xe9.pyc"));
        let value = WithPaths {
            fields: serde_json::json!({"python": "3.12", "body_size": 1}),
            paths: vec![("file", Some(name)), ("source", None)],
        };
        assert_eq!(
            serde_json::to_string(&value).unwrap(),
            r#"{"body_size":1,"file":"caf\udce9.pyc","python":"3.12","source":null}"#
        );
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(0, "file", "files"), "0 files");
        assert_eq!(count(1, "code object", "code objects"), "1 code object");
        assert_eq!(count(2, "directory", "directories"), "2 directories");
        assert_eq!(count(1_500, "file", "files"), "1,500 files");
    }
}
