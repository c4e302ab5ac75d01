use pycache_pyc::PyVersion;

use crate::format::Format;
use crate::object::{Long, Object, StrKind, Value};

/// Makes objects with the type codes one version's CPython writes for them,
/// for code that builds streams from scratch (a compiler). FLAG_REF is left
/// clear: a stream without references is valid for every version, and only
/// differs from CPython's output in those bits (see [`crate::equivalent`]).
///
/// Version-independent objects (None, floats, bytes, lists, code objects)
/// come from the constructors on [`Object`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builder {
    format: Format,
}

impl Builder {
    pub fn new(format: Format) -> Self {
        Self { format }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Marshal version 4 (3.4+): compact strings and small tuples.
    fn compact(&self) -> bool {
        self.format.version() >= PyVersion::new(3, 4)
    }

    /// An int: `i` when it fits in 32 bits; otherwise Python 2 (a 64-bit
    /// build) writes its machine ints as `I`, Python 3 writes `l`.
    pub fn int(&self, value: i64) -> Object {
        match i32::try_from(value) {
            Ok(small) => Object::new(Value::Int(small)),
            Err(_) if self.format.version().major == 2 => Object::new(Value::Int64(value)),
            Err(_) => Object::new(Value::Long(Long::from_i128(value.into()))),
        }
    }

    /// An int of up to 128 bits, as [`Builder::int`] would write it.
    pub fn big_int(&self, value: i128) -> Object {
        match i64::try_from(value) {
            Ok(value) => self.int(value),
            Err(_) => Object::new(Value::Long(Long::from_i128(value))),
        }
    }

    /// Python 2's `long` type, always `l` whatever its size.
    pub fn python2_long(&self, value: i128) -> Object {
        Object::new(Value::Long(Long::from_i128(value)))
    }

    /// Text that is not interned: Python 3's str, Python 2's unicode. From
    /// 3.4, ASCII text is `z` (under 256 bytes) or `a`; the rest, and every
    /// string before 3.4, is `u`.
    pub fn str(&self, text: &str) -> Object {
        Object::str_with(self.str_kind(text, false), text.as_bytes())
    }

    /// Interned text, as identifiers and names are written: `Z`, `A` or `t`
    /// from 3.4; `u` in 3.0 to 3.3, which marked no interning; an interned
    /// byte string `t` in Python 2 (its names are byte strings).
    pub fn interned(&self, text: &str) -> Object {
        Object::str_with(self.str_kind(text, true), text.as_bytes())
    }

    fn str_kind(&self, text: &str, interned: bool) -> StrKind {
        let v = self.format.version();
        if v.major == 2 {
            return if interned { StrKind::Interned } else { StrKind::Unicode };
        }
        if !self.compact() {
            return StrKind::Unicode;
        }
        match (text.is_ascii(), text.len() < 256, interned) {
            (true, true, false) => StrKind::ShortAscii,
            (true, true, true) => StrKind::ShortAsciiInterned,
            (true, false, false) => StrKind::Ascii,
            (true, false, true) => StrKind::AsciiInterned,
            (false, _, false) => StrKind::Unicode,
            (false, _, true) => StrKind::Interned,
        }
    }

    /// A tuple: `)` when under 256 items from 3.4, `(` otherwise.
    pub fn tuple(&self, items: Vec<Object>) -> Object {
        if self.compact() && items.len() < 256 { Object::small_tuple(items) } else { Object::tuple(items) }
    }

    /// A tuple of interned strings, as co_names and co_varnames are written.
    pub fn names<S: AsRef<str>>(&self, names: &[S]) -> Object {
        self.tuple(names.iter().map(|name| self.interned(name.as_ref())).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::{write, write_for};

    fn builder(major: u8, minor: u8) -> Builder {
        Builder::new(Format::for_version(PyVersion::new(major, minor)).unwrap())
    }

    #[test]
    fn ints_pick_their_type_code_by_version() {
        let py3 = builder(3, 12);
        assert_eq!(py3.int(7).value, Value::Int(7));
        assert_eq!(py3.int(1 << 31).value.type_code(), b'l');
        assert_eq!(py3.big_int(i128::MIN).as_int(), Some(i128::MIN));
        let py2 = builder(2, 7);
        assert_eq!(py2.int(1 << 31).value, Value::Int64(1 << 31));
        assert_eq!(py2.python2_long(5).value.type_code(), b'l');
        assert_eq!(write(&py2.big_int(-(1 << 70))).unwrap()[0], b'l');
    }

    #[test]
    fn strings_pick_their_type_code_by_version() {
        let kinds = |b: Builder| {
            [
                b.str("x"),
                b.interned("x"),
                b.str(&"x".repeat(300)),
                b.interned(&"x".repeat(300)),
                b.str("é"),
                b.interned("é"),
            ]
            .map(|o| o.value.type_code() as char)
        };
        assert_eq!(kinds(builder(3, 13)), ['z', 'Z', 'a', 'A', 'u', 't']);
        assert_eq!(kinds(builder(3, 3)), ['u'; 6]);
        assert_eq!(kinds(builder(2, 7)), ['u', 't', 'u', 't', 'u', 't']);
    }

    #[test]
    fn tuples_pick_their_type_code_by_version() {
        assert_eq!(builder(3, 4).tuple(vec![]).value.type_code(), b')');
        assert_eq!(builder(3, 4).tuple(vec![Object::none(); 256]).value.type_code(), b'(');
        assert_eq!(builder(3, 3).tuple(vec![]).value.type_code(), b'(');
    }

    #[test]
    fn built_objects_are_readable_by_their_version() {
        for (major, minor) in [(2, 7), (3, 0), (3, 3), (3, 4), (3, 8), (3, 11), (3, 15)] {
            let b = builder(major, minor);
            let object = b.tuple(vec![
                b.int(-3),
                b.int(i64::MAX),
                b.big_int(1 << 100),
                b.str("text"),
                b.str("tëxt"),
                b.names(&["a", "b"]),
                Object::float(2.5),
                Object::bytes(*b"\x00\x01"),
            ]);
            write_for(&object, b.format()).unwrap_or_else(|e| panic!("{major}.{minor}: {e}"));
        }
    }
}
