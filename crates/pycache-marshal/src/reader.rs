use crate::code::{Code, CodeLayout, Field};
use crate::error::{ReadError, TypeCode};
use crate::format::Format;
use crate::object::{Dict, FLAG_REF, Long, Object, Str, StrKind, Tuple, Value};

/// How deep objects may nest, as in CPython (2000 on Linux and macOS). The
/// root is at depth 1; the NULL that ends a dict counts as one level below
/// the dict, as it does for CPython.
pub const MAX_DEPTH: usize = 2000;

/// The reference table is a Python list indexed by a signed 32-bit int;
/// CPython stops growing it here.
const MAX_REFS: usize = 0x7fff_fffe;

/// Reads one object from the start of `data` as the interpreter of `format`
/// would, ignoring any bytes after it (as `marshal.loads` does).
pub fn read(data: &[u8], format: Format) -> Result<Object, ReadError> {
    read_prefix(data, format).map(|(object, _)| object)
}

/// Reads one object from the start of `data`; also returns how many bytes it
/// took.
pub fn read_prefix(data: &[u8], format: Format) -> Result<(Object, usize), ReadError> {
    let mut reader = Reader { data, pos: 0, format, refs: Vec::new(), interned: 0 };
    let object = reader.run()?;
    Ok((object, reader.pos))
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    format: Format,
    /// One entry per registered flagged object: whether a reference may
    /// point at it yet (false while a frozenset, frozendict, code object or
    /// slice is still being read).
    refs: Vec<bool>,
    /// Python 2: how many `t` strings were read, which `R` can index.
    interned: usize,
}

#[derive(Debug, Clone, Copy)]
enum SeqKind {
    Tuple { small: bool },
    List,
    Set,
    FrozenSet,
}

/// A container whose items are still being read.
enum Frame {
    Seq { kind: SeqKind, flag: bool, slot: Option<usize>, remaining: usize, items: Vec<Object> },
    Dict { frozen: bool, flag: bool, slot: Option<usize>, entries: Vec<(Object, Object)>, key: Option<Object> },
    Code { layout: CodeLayout, flag: bool, slot: Option<usize>, next: usize, ints: Vec<i32>, objects: Vec<Object> },
    Slice { flag: bool, slot: Option<usize>, parts: Vec<Object> },
}

impl Frame {
    fn expects(&self) -> &'static str {
        match self {
            Self::Seq { kind: SeqKind::Tuple { .. }, .. } => "a tuple item",
            Self::Seq { kind: SeqKind::List, .. } => "a list item",
            Self::Seq { kind: SeqKind::Set | SeqKind::FrozenSet, .. } => "a set item",
            Self::Dict { .. } => "a dict value",
            Self::Code { .. } => "a code object field",
            Self::Slice { .. } => "a slice bound",
        }
    }
}

/// What reading one type byte produced.
enum Step {
    Done(Object),
    Pushed,
}

/// Items are at least one byte each, so a count can be checked against the
/// bytes left; the first allocation is capped all the same, because an
/// `Object` is far larger than one byte.
fn with_capacity<T>(count: usize) -> Vec<T> {
    Vec::with_capacity(count.min(1024))
}

/// Whether `bytes` is UTF-8 where encoded surrogates (U+D800 to U+DFFF) are
/// allowed, as CPython decodes marshalled text ("surrogatepass"; Python 2's
/// decoder accepted them too).
pub(crate) fn is_utf8_with_surrogates(bytes: &[u8]) -> bool {
    if std::str::from_utf8(bytes).is_ok() {
        return true;
    }
    let mut i = 0;
    while let Some(&lead) = bytes.get(i) {
        if lead < 0x80 {
            i += 1;
            continue;
        }
        let (len, min) = match lead {
            0xc2..=0xdf => (2, 0x80),
            0xe0..=0xef => (3, 0x800),
            0xf0..=0xf4 => (4, 0x1_0000),
            _ => return false,
        };
        let Some(tail) = bytes.get(i + 1..i + len) else { return false };
        let mut scalar = u32::from(lead) & (0x7f >> len);
        for &byte in tail {
            if byte & 0xc0 != 0x80 {
                return false;
            }
            scalar = (scalar << 6) | u32::from(byte & 0x3f);
        }
        if scalar < min || scalar > 0x10_ffff {
            return false;
        }
        i += len;
    }
    true
}

/// Parses float text as CPython does for `f` and `x`: the bytes are a C
/// string, so anything after a NUL is ignored; the rest must be a whole
/// decimal float, `inf`, `infinity` or `nan` (any case, optional sign).
pub(crate) fn parse_float_text(text: &[u8]) -> Option<f64> {
    let text = text.split(|&b| b == 0).next().unwrap_or_default();
    std::str::from_utf8(text).ok()?.parse().ok()
}

impl<'a> Reader<'a> {
    fn available(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ReadError> {
        let slice = self.pos.checked_add(n).and_then(|end| self.data.get(self.pos..end));
        match slice {
            Some(slice) => {
                self.pos += n;
                Ok(slice)
            }
            None => Err(ReadError::Truncated { offset: self.pos, what, needed: n, available: self.available() }),
        }
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, ReadError> {
        Ok(self.take(1, what)?[0])
    }

    fn i32(&mut self, what: &'static str) -> Result<i32, ReadError> {
        let bytes = self.take(4, what)?;
        Ok(i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, ReadError> {
        let bytes = self.take(8, what)?;
        let mut array = [0u8; 8];
        array.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(array))
    }

    /// A 32-bit size that must not be negative.
    fn size(&mut self, code: TypeCode, what: &'static str) -> Result<usize, ReadError> {
        let offset = self.pos;
        let size = self.i32(what)?;
        usize::try_from(size).map_err(|_| ReadError::NegativeSize { offset, code, size })
    }

    /// An item count, which cannot exceed the bytes left.
    fn count(&mut self, code: TypeCode, start: usize) -> Result<usize, ReadError> {
        let count = self.size(code, "a size")?;
        let available = self.available();
        if count > available {
            return Err(ReadError::SizeTooLarge { offset: start, code, size: count, available });
        }
        Ok(count)
    }

    /// Registers a flagged object; returns its index. `usable` says whether
    /// references may point at it before it is complete.
    fn reserve(&mut self, flag: bool, usable: bool, offset: usize) -> Result<Option<usize>, ReadError> {
        if !flag {
            return Ok(None);
        }
        if self.refs.len() >= MAX_REFS {
            return Err(ReadError::TooManyRefs { offset });
        }
        self.refs.push(usable);
        Ok(Some(self.refs.len() - 1))
    }

    fn complete(&mut self, slot: Option<usize>) {
        if let Some(usable) = slot.and_then(|index| self.refs.get_mut(index)) {
            *usable = true;
        }
    }

    fn float_text(&mut self, code: TypeCode, start: usize) -> Result<Vec<u8>, ReadError> {
        let len = usize::from(self.u8("a float text length")?);
        let text = self.take(len, "a float text")?.to_vec();
        if parse_float_text(&text).is_none() {
            let text = String::from_utf8_lossy(&text).into_owned();
            return Err(ReadError::InvalidFloat { offset: start, code, text });
        }
        Ok(text)
    }

    fn long(&mut self, start: usize) -> Result<Long, ReadError> {
        let size = self.i32("an int size")?;
        if size == i32::MIN {
            return Err(ReadError::LongSize { offset: start, size });
        }
        let count = size.unsigned_abs() as usize;
        let bytes = self.take(count.saturating_mul(2), "int digits")?;
        let digits: Vec<u16> = bytes.chunks_exact(2).map(|pair| u16::from_le_bytes([pair[0], pair[1]])).collect();
        if let Some(&digit) = digits.iter().find(|&&d| d > 0x7fff) {
            return Err(ReadError::LongDigit { offset: start, digit });
        }
        if digits.last() == Some(&0) {
            return Err(ReadError::LongNotNormalized { offset: start });
        }
        Ok(Long { negative: size < 0, digits })
    }

    fn text(&mut self, kind: StrKind, code: TypeCode, start: usize) -> Result<Str, ReadError> {
        let len = match kind {
            StrKind::ShortAscii | StrKind::ShortAsciiInterned => usize::from(self.u8("a string length")?),
            _ => self.size(code, "a string length")?,
        };
        let data = self.take(len, "string data")?.to_vec();
        let python2_bytes = kind == StrKind::Interned && self.format.has_string_refs();
        if !kind.is_one_byte() && !python2_bytes && !is_utf8_with_surrogates(&data) {
            return Err(ReadError::InvalidUtf8 { offset: start, code });
        }
        if python2_bytes {
            self.interned += 1;
        }
        Ok(Str { kind, data })
    }

    /// Reads ints of a code object up to its next object field.
    fn code_ints(&mut self, layout: CodeLayout, next: &mut usize, ints: &mut Vec<i32>) -> Result<(), ReadError> {
        while let Some(Field::Int(name)) = layout.fields().get(*next) {
            ints.push(self.i32(name)?);
            *next += 1;
        }
        Ok(())
    }

    fn scalar(&mut self, value: Value, flag: bool, start: usize) -> Result<Step, ReadError> {
        if value.registers_ref() {
            self.reserve(flag, true, start)?;
        }
        Ok(Step::Done(Object { flag_ref: flag, value }))
    }

    fn seq(
        &mut self,
        kind: SeqKind,
        count: usize,
        flag: bool,
        start: usize,
        stack: &mut Vec<Frame>,
    ) -> Result<Step, ReadError> {
        let usable = !matches!(kind, SeqKind::FrozenSet);
        let slot = self.reserve(flag, usable, start)?;
        let frame = Frame::Seq { kind, flag, slot, remaining: count, items: with_capacity(count) };
        if count == 0 {
            return Ok(Step::Done(self.finish(frame)));
        }
        stack.push(frame);
        Ok(Step::Pushed)
    }

    /// Reads one type byte and what follows it up to the first nested
    /// object.
    fn step(&mut self, stack: &mut Vec<Frame>) -> Result<Step, ReadError> {
        let start = self.pos;
        let byte = self.u8("a type code")?;
        if stack.len() >= MAX_DEPTH {
            return Err(ReadError::TooDeep { offset: start, limit: MAX_DEPTH });
        }
        let tc = TypeCode(byte);
        let flag = byte & FLAG_REF != 0;
        let code = byte & !FLAG_REF;
        if (flag && !self.format.has_refs()) || !self.format.accepts(code) {
            return Err(ReadError::UnknownType { offset: start, code: tc, version: self.format.version() });
        }
        match code {
            b'0' => {
                if !matches!(stack.last(), Some(Frame::Dict { key: None, .. })) {
                    let context = stack.last().map_or("the root object", Frame::expects);
                    return Err(ReadError::Null { offset: start, context });
                }
                match stack.pop() {
                    Some(Frame::Dict { frozen, flag: dict_flag, slot, entries, .. }) => {
                        self.complete(slot);
                        let dict = Dict { entries, end_flag_ref: flag };
                        let value = if frozen { Value::FrozenDict(dict) } else { Value::Dict(dict) };
                        Ok(Step::Done(Object { flag_ref: dict_flag, value }))
                    }
                    _ => Err(ReadError::Null { offset: start, context: "an object" }),
                }
            }
            b'N' => self.scalar(Value::None, flag, start),
            b'T' => self.scalar(Value::True, flag, start),
            b'F' => self.scalar(Value::False, flag, start),
            b'.' => self.scalar(Value::Ellipsis, flag, start),
            b'S' => self.scalar(Value::StopIteration, flag, start),
            b'i' => {
                let value = self.i32("an int")?;
                self.scalar(Value::Int(value), flag, start)
            }
            b'I' => {
                let value = self.u64("a 64-bit int")? as i64;
                self.scalar(Value::Int64(value), flag, start)
            }
            b'l' => {
                let long = self.long(start)?;
                self.scalar(Value::Long(long), flag, start)
            }
            b'f' => {
                let text = self.float_text(tc, start)?;
                self.scalar(Value::Float(text), flag, start)
            }
            b'g' => {
                let bits = self.u64("a binary float")?;
                self.scalar(Value::BinaryFloat(bits), flag, start)
            }
            b'x' => {
                let real = self.float_text(tc, start)?;
                let imag = self.float_text(tc, start)?;
                self.scalar(Value::Complex { real, imag }, flag, start)
            }
            b'y' => {
                let real = self.u64("a binary complex")?;
                let imag = self.u64("a binary complex")?;
                self.scalar(Value::BinaryComplex { real, imag }, flag, start)
            }
            b's' => {
                let len = self.size(tc, "a bytes length")?;
                let data = self.take(len, "bytes data")?.to_vec();
                self.scalar(Value::Bytes(data), flag, start)
            }
            b'u' | b't' | b'a' | b'A' | b'z' | b'Z' => {
                let kind = match code {
                    b'u' => StrKind::Unicode,
                    b't' => StrKind::Interned,
                    b'a' => StrKind::Ascii,
                    b'A' => StrKind::AsciiInterned,
                    b'z' => StrKind::ShortAscii,
                    _ => StrKind::ShortAsciiInterned,
                };
                let text = self.text(kind, tc, start)?;
                self.scalar(Value::Str(text), flag, start)
            }
            b'R' => {
                let index = self.i32("a string reference")?;
                match usize::try_from(index) {
                    Ok(i) if i < self.interned => self.scalar(Value::StringRef(i as u32), flag, start),
                    _ => Err(ReadError::InvalidStringRef {
                        offset: start,
                        index: i64::from(index),
                        table_len: self.interned,
                    }),
                }
            }
            b'r' => {
                let index = self.i32("a reference")?;
                match usize::try_from(index).ok().map(|i| (i, self.refs.get(i))) {
                    Some((i, Some(true))) => self.scalar(Value::Ref(i as u32), flag, start),
                    Some((i, Some(false))) => Err(ReadError::RefToIncomplete { offset: start, index: i }),
                    _ => Err(ReadError::InvalidRef {
                        offset: start,
                        index: i64::from(index),
                        table_len: self.refs.len(),
                    }),
                }
            }
            b'(' => {
                let count = self.count(tc, start)?;
                self.seq(SeqKind::Tuple { small: false }, count, flag, start, stack)
            }
            b')' => {
                let count = usize::from(self.u8("a small tuple size")?);
                self.seq(SeqKind::Tuple { small: true }, count, flag, start, stack)
            }
            b'[' => {
                let count = self.count(tc, start)?;
                self.seq(SeqKind::List, count, flag, start, stack)
            }
            b'<' => {
                let count = self.count(tc, start)?;
                self.seq(SeqKind::Set, count, flag, start, stack)
            }
            b'>' => {
                let count = self.count(tc, start)?;
                self.seq(SeqKind::FrozenSet, count, flag, start, stack)
            }
            b'{' | b'}' => {
                let frozen = code == b'}';
                let slot = self.reserve(flag, !frozen, start)?;
                stack.push(Frame::Dict { frozen, flag, slot, entries: Vec::new(), key: None });
                Ok(Step::Pushed)
            }
            b':' => {
                let slot = self.reserve(flag, false, start)?;
                stack.push(Frame::Slice { flag, slot, parts: Vec::with_capacity(3) });
                Ok(Step::Pushed)
            }
            b'c' => {
                let slot = self.reserve(flag, false, start)?;
                let layout = self.format.code_layout();
                let (mut next, mut ints) = (0, Vec::with_capacity(7));
                self.code_ints(layout, &mut next, &mut ints)?;
                stack.push(Frame::Code { layout, flag, slot, next, ints, objects: Vec::with_capacity(10) });
                Ok(Step::Pushed)
            }
            _ => Err(ReadError::UnknownType { offset: start, code: tc, version: self.format.version() }),
        }
    }

    /// Turns a complete frame into its object, making it referable.
    fn finish(&mut self, frame: Frame) -> Object {
        match frame {
            Frame::Seq { kind, flag, slot, items, .. } => {
                self.complete(slot);
                let value = match kind {
                    SeqKind::Tuple { small } => Value::Tuple(Tuple { small, items }),
                    SeqKind::List => Value::List(items),
                    SeqKind::Set => Value::Set(items),
                    SeqKind::FrozenSet => Value::FrozenSet(items),
                };
                Object { flag_ref: flag, value }
            }
            Frame::Code { layout, flag, slot, ints, objects, .. } => {
                self.complete(slot);
                Object { flag_ref: flag, value: Value::Code(Box::new(Code::from_parts(layout, ints, objects))) }
            }
            Frame::Slice { flag, slot, parts } => {
                self.complete(slot);
                let mut parts = parts.into_iter();
                let mut part = || parts.next().unwrap_or_else(Object::none);
                Object { flag_ref: flag, value: Value::Slice(Box::new([part(), part(), part()])) }
            }
            // Dicts end at their NULL, in `step`.
            Frame::Dict { frozen, flag, slot, entries, .. } => {
                self.complete(slot);
                let dict = Dict { entries, end_flag_ref: false };
                Object { flag_ref: flag, value: if frozen { Value::FrozenDict(dict) } else { Value::Dict(dict) } }
            }
        }
    }

    /// Hands a finished object to the frame waiting for it, finishing frames
    /// up the stack as they fill. Returns the root once the stack is empty.
    fn deliver(&mut self, stack: &mut Vec<Frame>, mut object: Object) -> Result<Option<Object>, ReadError> {
        loop {
            let Some(top) = stack.last_mut() else { return Ok(Some(object)) };
            let full = match top {
                Frame::Seq { remaining, items, .. } => {
                    items.push(object);
                    *remaining = remaining.saturating_sub(1);
                    *remaining == 0
                }
                Frame::Dict { entries, key, .. } => {
                    match key.take() {
                        None => *key = Some(object),
                        Some(k) => entries.push((k, object)),
                    }
                    false
                }
                Frame::Code { layout, next, ints, objects, .. } => {
                    objects.push(object);
                    *next += 1;
                    let layout = *layout;
                    self.code_ints(layout, next, ints)?;
                    *next >= layout.fields().len()
                }
                Frame::Slice { parts, .. } => {
                    parts.push(object);
                    parts.len() == 3
                }
            };
            if !full {
                return Ok(None);
            }
            let Some(frame) = stack.pop() else { return Ok(None) };
            object = self.finish(frame);
        }
    }

    fn run(&mut self) -> Result<Object, ReadError> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            if let Step::Done(object) = self.step(&mut stack)?
                && let Some(root) = self.deliver(&mut stack, object)?
            {
                return Ok(root);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use pycache_pyc::PyVersion;

    use super::*;
    use crate::code::Code311;

    fn fmt(major: u8, minor: u8) -> Format {
        Format::for_version(PyVersion::new(major, minor)).unwrap()
    }

    fn read13(data: &[u8]) -> Result<Object, ReadError> {
        read(data, fmt(3, 13))
    }

    fn value(data: &[u8]) -> Value {
        read13(data).unwrap().value
    }

    #[test]
    fn singletons() {
        assert_eq!(value(b"N"), Value::None);
        assert_eq!(value(b"T"), Value::True);
        assert_eq!(value(b"F"), Value::False);
        assert_eq!(value(b"."), Value::Ellipsis);
        assert_eq!(value(b"S"), Value::StopIteration);
        // A flag on a singleton is kept, but registers nothing.
        let flagged = read13(b"\xce").unwrap();
        assert!(flagged.flag_ref && flagged.value == Value::None);
        assert!(matches!(read13(b"[\x02\x00\x00\x00\xcer\x00\x00\x00\x00"), Err(ReadError::InvalidRef { .. })));
    }

    #[test]
    fn ints() {
        assert_eq!(value(b"i\xff\xff\xff\xff"), Value::Int(-1));
        assert_eq!(value(b"i\x00\x00\x00\x80"), Value::Int(i32::MIN));
        assert_eq!(value(b"I\x00\x00\x00\x00\x01\x00\x00\x00"), Value::Int64(1 << 32));
        assert_eq!(read(b"I\xff\xff\xff\xff\xff\xff\xff\xff", fmt(2, 7)).unwrap().value, Value::Int64(-1));
    }

    #[test]
    fn longs() {
        assert_eq!(value(b"l\x00\x00\x00\x00"), Value::Long(Long::zero()));
        let big = value(b"l\xfe\xff\xff\xff\x00\x00\x01\x00");
        assert_eq!(big, Value::Long(Long { negative: true, digits: vec![0, 1] }));
        assert_eq!(read13(b"l\xfe\xff\xff\xff\x00\x00\x01\x00").unwrap().as_int(), Some(-32768));
        assert!(matches!(read13(b"l\x01\x00\x00\x00\x00\x80"), Err(ReadError::LongDigit { digit: 0x8000, .. })));
        assert!(matches!(read13(b"l\x02\x00\x00\x00\x01\x00\x00\x00"), Err(ReadError::LongNotNormalized { .. })));
        assert!(matches!(read13(b"l\x00\x00\x00\x80"), Err(ReadError::LongSize { .. })));
        assert!(matches!(read13(b"l\xff\xff\xff\x7f\x01\x00"), Err(ReadError::Truncated { .. })));
    }

    #[test]
    fn floats_and_complex() {
        assert_eq!(value(b"f\x031.5"), Value::Float(b"1.5".to_vec()));
        assert_eq!(value(b"f\x04-inf"), Value::Float(b"-inf".to_vec()));
        // The text is a C string: a NUL ends it.
        assert_eq!(value(b"f\x041.5\x00"), Value::Float(b"1.5\x00".to_vec()));
        assert!(matches!(read13(b"f\x03abc"), Err(ReadError::InvalidFloat { .. })));
        assert!(matches!(read13(b"f\x00"), Err(ReadError::InvalidFloat { .. })));
        assert_eq!(value(b"g\x00\x00\x00\x00\x00\x00\xf8\x3f"), Value::BinaryFloat(1.5f64.to_bits()));
        let nan_payload = b"g\x01\x00\x00\x00\x00\x00\xf8\x7f";
        assert_eq!(value(nan_payload), Value::BinaryFloat(0x7ff8_0000_0000_0001));
        assert_eq!(value(b"x\x011\x02-2"), Value::Complex { real: b"1".to_vec(), imag: b"-2".to_vec() });
        let y = b"y\x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00\x00\x80";
        assert_eq!(value(y), Value::BinaryComplex { real: 1f64.to_bits(), imag: (-0f64).to_bits() });
    }

    #[test]
    fn bytes_and_strings() {
        assert_eq!(value(b"s\x02\x00\x00\x00hi"), Value::Bytes(b"hi".to_vec()));
        let s = |kind, data: &[u8]| Value::Str(Str { kind, data: data.to_vec() });
        assert_eq!(value(b"u\x02\x00\x00\x00\xc3\xa9"), s(StrKind::Unicode, "é".as_bytes()));
        assert_eq!(value(b"u\x03\x00\x00\x00\xed\xa0\x80"), s(StrKind::Unicode, b"\xed\xa0\x80"));
        assert!(matches!(read13(b"u\x01\x00\x00\x00\xff"), Err(ReadError::InvalidUtf8 { .. })));
        assert!(matches!(read13(b"t\x01\x00\x00\x00\xc3"), Err(ReadError::InvalidUtf8 { .. })));
        assert_eq!(value(b"t\x01\x00\x00\x00x"), s(StrKind::Interned, b"x"));
        assert_eq!(value(b"a\x01\x00\x00\x00x"), s(StrKind::Ascii, b"x"));
        assert_eq!(value(b"A\x01\x00\x00\x00x"), s(StrKind::AsciiInterned, b"x"));
        // Neither CPython nor this reader checks that ASCII kinds are ASCII.
        assert_eq!(value(b"z\x01\xe9"), s(StrKind::ShortAscii, b"\xe9"));
        assert_eq!(value(b"Z\x00"), s(StrKind::ShortAsciiInterned, b""));
        // Python 2: `t` is a byte string, and `R` points back at it.
        let py2 = read(b"(\x02\x00\x00\x00t\x01\x00\x00\x00\xffR\x00\x00\x00\x00", fmt(2, 7)).unwrap();
        assert_eq!(py2.as_sequence().unwrap()[1].value, Value::StringRef(0));
        assert!(matches!(
            read(b"R\x00\x00\x00\x00", fmt(2, 7)),
            Err(ReadError::InvalidStringRef { index: 0, table_len: 0, .. })
        ));
    }

    #[test]
    fn containers() {
        let tuple = value(b")\x02N(\x01\x00\x00\x00T");
        let Value::Tuple(Tuple { small: true, items }) = tuple else { panic!("{tuple:?}") };
        assert_eq!(items[1].value, Value::Tuple(Tuple { small: false, items: vec![Object::bool(true)] }));
        assert_eq!(value(b"[\x00\x00\x00\x00"), Value::List(vec![]));
        assert_eq!(value(b"<\x01\x00\x00\x00N"), Value::Set(vec![Object::none()]));
        assert_eq!(value(b">\x00\x00\x00\x00"), Value::FrozenSet(vec![]));
        let dict = value(b"{i\x01\x00\x00\x00N\xb0");
        assert_eq!(
            dict,
            Value::Dict(Dict { entries: vec![(Object::new(Value::Int(1)), Object::none())], end_flag_ref: true })
        );
        assert!(matches!(read13(b"}0"), Err(ReadError::UnknownType { .. })));
        assert_eq!(read(b"}0", fmt(3, 15)).unwrap().value, Value::FrozenDict(Dict::default()));
        assert!(matches!(read13(b":NNN"), Err(ReadError::UnknownType { .. })));
        let slice = read(b":Ni\x02\x00\x00\x00N", fmt(3, 14)).unwrap();
        assert_eq!(slice, Object::slice(Object::none(), Object::new(Value::Int(2)), Object::none()));
    }

    fn code311_stream() -> Vec<u8> {
        let mut data = vec![b'c'];
        for v in [1i32, 0, 0, 2, 3] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        data.extend_from_slice(b"s\x02\x00\x00\x00\x97\x00"); // code
        data.extend_from_slice(b")\x01N"); // consts
        data.extend_from_slice(b")\x00"); // names
        data.extend_from_slice(b")\x01\xfa\x01x"); // localsplusnames, `x` flagged
        data.extend_from_slice(b"s\x01\x00\x00\x00\x26"); // localspluskinds
        data.extend_from_slice(b"z\x04f.py"); // filename
        data.extend_from_slice(b"Z\x01f"); // name
        data.extend_from_slice(b"r\x00\x00\x00\x00"); // qualname: a reference to `x`
        data.extend_from_slice(&7i32.to_le_bytes()); // firstlineno
        data.extend_from_slice(b"s\x00\x00\x00\x00"); // linetable
        data.extend_from_slice(b"s\x00\x00\x00\x00"); // exceptiontable
        data
    }

    #[test]
    fn code_objects_of_3_11() {
        let object = read13(&code311_stream()).unwrap();
        let Some(Code::Py311(Code311 { argcount, stacksize, flags, firstlineno, qualname, .. })) = object.as_code()
        else {
            panic!("{object:?}")
        };
        assert_eq!((*argcount, *stacksize, *flags, *firstlineno), (1, 2, 3, 7));
        assert_eq!(qualname.value, Value::Ref(0));
        // The same stream is a different layout for 3.10, and fails there.
        assert!(read(&code311_stream(), fmt(3, 10)).is_err());
    }

    #[test]
    fn code_objects_of_2_7() {
        let mut data = vec![b'c'];
        for v in [0i32, 0, 1, 64] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        data.extend_from_slice(b"s\x04\x00\x00\x00d\x00\x00S(\x01\x00\x00\x00N");
        data.extend_from_slice(b"(\x00\x00\x00\x00(\x00\x00\x00\x00(\x00\x00\x00\x00(\x00\x00\x00\x00");
        data.extend_from_slice(b"s\x04\x00\x00\x00f.pyt\x08\x00\x00\x00<module>");
        data.extend_from_slice(&1i32.to_le_bytes());
        data.extend_from_slice(b"s\x00\x00\x00\x00");
        let code = read(&data, fmt(2, 7)).unwrap();
        let code = code.as_code().unwrap();
        assert_eq!(code.layout(), CodeLayout::Py27);
        assert_eq!((code.stacksize(), code.flags(), code.firstlineno()), (1, 64, 1));
        assert_eq!(code.name().as_str().unwrap().data, b"<module>");
        // Cut anywhere, the stream is an error, never a panic.
        for len in 0..data.len() {
            assert!(read(&data[..len], fmt(2, 7)).is_err(), "{len}");
        }
    }

    #[test]
    fn references() {
        // A flagged string, then a reference to it.
        let list = read13(b"[\x02\x00\x00\x00\xfa\x01xr\x00\x00\x00\x00").unwrap();
        let items = list.as_sequence().unwrap();
        assert!(items[0].flag_ref);
        assert_eq!(items[1].value, Value::Ref(0));
        // Index 1 does not exist yet.
        assert!(matches!(
            read13(b"[\x02\x00\x00\x00\xfa\x01xr\x01\x00\x00\x00"),
            Err(ReadError::InvalidRef { index: 1, table_len: 1, .. })
        ));
        assert!(matches!(read13(b"r\xff\xff\xff\xff"), Err(ReadError::InvalidRef { index: -1, .. })));
        // A list may contain itself; a frozenset, code object, slice or
        // frozendict may not.
        assert!(read13(b"\xdb\x01\x00\x00\x00r\x00\x00\x00\x00").is_ok());
        assert!(read13(b"\xa9\x01r\x00\x00\x00\x00").is_ok());
        assert!(matches!(read13(b"\xbe\x01\x00\x00\x00r\x00\x00\x00\x00"), Err(ReadError::RefToIncomplete { .. })));
        assert!(matches!(read(b"\xbar\x00\x00\x00\x00NN", fmt(3, 14)), Err(ReadError::RefToIncomplete { .. })));
        assert!(matches!(read(b"\xfdNr\x00\x00\x00\x000", fmt(3, 15)), Err(ReadError::RefToIncomplete { .. })));
        let mut code = code311_stream();
        code[0] |= FLAG_REF;
        // The flagged code object takes index 0; the qualname's `r 0` now
        // points at the code object itself.
        assert!(matches!(read13(&code), Err(ReadError::RefToIncomplete { index: 0, .. })));
        // Once complete, a frozenset can be referenced.
        assert!(read13(b")\x02\xbe\x00\x00\x00\x00r\x00\x00\x00\x00").is_ok());
    }

    #[test]
    fn versions_limit_the_type_codes() {
        assert!(matches!(read(b"z\x00", fmt(3, 3)), Err(ReadError::UnknownType { .. })));
        assert!(matches!(read(b"\xe9\x00\x00\x00\x00", fmt(3, 3)), Err(ReadError::UnknownType { .. })));
        assert!(matches!(read(b"t\x00\x00\x00\x00", fmt(3, 2)), Err(ReadError::UnknownType { .. })));
        assert!(matches!(read(b"\xe9\x00\x00\x00\x00", fmt(2, 7)), Err(ReadError::UnknownType { .. })));
        assert!(matches!(read13(b"?"), Err(ReadError::UnknownType { .. })));
        assert!(matches!(read13(b"R\x00\x00\x00\x00"), Err(ReadError::UnknownType { .. })));
        assert!(matches!(read13(b"\x01"), Err(ReadError::UnknownType { offset: 0, .. })));
        assert!(read(b"\xe9\x00\x00\x00\x00", fmt(3, 4)).is_ok());
    }

    #[test]
    fn nulls_only_end_dicts() {
        assert!(matches!(read13(b"0"), Err(ReadError::Null { context: "the root object", .. })));
        assert!(matches!(read13(b")\x010"), Err(ReadError::Null { context: "a tuple item", .. })));
        assert!(matches!(read13(b"{N0"), Err(ReadError::Null { context: "a dict value", offset: 2 })));
        let mut code = code311_stream();
        code[21] = b'0';
        assert!(matches!(read13(&code), Err(ReadError::Null { context: "a code object field", .. })));
    }

    #[test]
    fn hostile_sizes_fail_before_allocating() {
        assert!(matches!(read13(b"[\xff\xff\xff\x7f"), Err(ReadError::SizeTooLarge { size: 0x7fff_ffff, .. })));
        assert!(matches!(read13(b"s\xff\xff\xff\x7fabc"), Err(ReadError::Truncated { needed: 0x7fff_ffff, .. })));
        assert!(matches!(read13(b"(\xff\xff\xff\xff"), Err(ReadError::NegativeSize { size: -1, .. })));
        assert!(matches!(read13(b"a\x00\x00\x00\x80"), Err(ReadError::NegativeSize { .. })));
        assert!(matches!(read13(b"l\xff\xff\xff\x7f"), Err(ReadError::Truncated { .. })));
        assert!(matches!(read13(b""), Err(ReadError::Truncated { offset: 0, .. })));
        assert!(matches!(read13(b")\x03NN"), Err(ReadError::Truncated { offset: 4, .. })));
    }

    #[test]
    fn depth_is_bounded_like_cpython() {
        let nest = |depth: usize, inner: &[u8]| {
            let mut data = b")\x01".repeat(depth - 1);
            data.extend_from_slice(inner);
            data
        };
        assert!(read13(&nest(MAX_DEPTH, b"N")).is_ok());
        let err = read13(&nest(MAX_DEPTH + 1, b"N")).unwrap_err();
        assert_eq!(err, ReadError::TooDeep { offset: 2 * MAX_DEPTH, limit: MAX_DEPTH });
        // The NULL ending a dict is one level deeper than the dict.
        assert!(matches!(read13(&nest(MAX_DEPTH, b"{0")), Err(ReadError::TooDeep { .. })));
        assert!(read13(&nest(MAX_DEPTH - 1, b"{0")).is_ok());
        // A bomb far beyond the limit stops at the limit.
        let bomb = b"[\x01\x00\x00\x00".repeat(1_000_000);
        assert!(matches!(read13(&bomb), Err(ReadError::TooDeep { .. })));
    }

    #[test]
    fn trailing_bytes_are_ignored_and_counted() {
        let (object, used) = read_prefix(b"Nrest", fmt(3, 13)).unwrap();
        assert_eq!((object, used), (Object::none(), 1));
    }

    #[test]
    fn every_truncation_of_the_samples_is_an_error() {
        for ((major, minor), bytes) in crate::testdata::samples() {
            for len in 0..bytes.len() {
                assert!(read(&bytes[..len], fmt(major, minor)).is_err(), "{bytes:?} cut at {len}");
            }
        }
    }

    #[test]
    fn mutated_samples_never_panic_and_round_trip_when_accepted() {
        // Every byte of every sample set to a spread of values, including
        // each type code and length-like extremes.
        let replacements: Vec<u8> = (0..=255u8).step_by(3).chain(*b"0NTFS.iIfgxylstRu()[{}<>:crazAZ?").collect();
        let mut accepted = 0;
        for ((major, minor), bytes) in crate::testdata::samples() {
            for at in 0..bytes.len() {
                for &byte in &replacements {
                    let mut mutated = bytes.clone();
                    mutated[at] = byte;
                    if let Ok((object, used)) = read_prefix(&mutated, fmt(major, minor)) {
                        accepted += 1;
                        assert_eq!(crate::writer::write(&object).unwrap(), &mutated[..used]);
                    }
                }
            }
        }
        assert!(accepted > 1000, "{accepted}");
    }

    #[test]
    fn utf8_with_surrogates() {
        assert!(is_utf8_with_surrogates("héllo €𝄞".as_bytes()));
        assert!(is_utf8_with_surrogates(b"\xed\xa0\x80\xed\xbf\xbf"));
        assert!(!is_utf8_with_surrogates(b"\xc0\x80"));
        assert!(!is_utf8_with_surrogates(b"\xe0\x80\x80"));
        assert!(!is_utf8_with_surrogates(b"\xf4\x90\x80\x80"));
        assert!(!is_utf8_with_surrogates(b"\xed\xa0"));
        assert!(!is_utf8_with_surrogates(b"\xff"));
    }
}
