use std::borrow::Cow;
use std::fmt;

use crate::code::Code;

/// The FLAG_REF bit of a type byte.
pub const FLAG_REF: u8 = 0x80;

/// One marshalled object, exactly as it was encoded: the type code chosen by
/// the writer, and whether its type byte carried FLAG_REF.
///
/// FLAG_REF asks the reader to remember the object so that later `r` codes
/// can point at it. The writer sets it on objects whose refcount was above
/// one, so two caches of the same code can differ in these bits alone; see
/// [`crate::equivalent`]. On `None`, `True`, `False`, `...`, `StopIteration`
/// and `r` itself the bit is kept but means nothing: readers never register
/// those.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub flag_ref: bool,
    pub value: Value,
}

/// The value of an object, one variant per type code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `N`
    None,
    /// `T`
    True,
    /// `F`
    False,
    /// `.`
    Ellipsis,
    /// `S`
    StopIteration,
    /// `i`: an int that fits in 32 bits.
    Int(i32),
    /// `I`: a 64-bit int, written only by Python 2 on 64-bit machines
    /// (every version still reads it).
    Int64(i64),
    /// `l`: an int of any size, in 15-bit digits.
    Long(Long),
    /// `f`: a float as decimal text (marshal version 0 and 1).
    Float(Vec<u8>),
    /// `g`: a float as the 8 bytes of an IEEE double, kept as its bits so
    /// that NaN payloads and negative zero survive.
    BinaryFloat(u64),
    /// `x`: a complex as two decimal texts.
    Complex { real: Vec<u8>, imag: Vec<u8> },
    /// `y`: a complex as two IEEE doubles (bits).
    BinaryComplex { real: u64, imag: u64 },
    /// `s`: Python 3 bytes, Python 2 str.
    Bytes(Vec<u8>),
    /// `u`, `t`, `a`, `A`, `z`, `Z`: text. Under Python 2, `t` is an
    /// interned *byte* string (and enters the table that `R` indexes).
    Str(Str),
    /// `R` (Python 2): the n-th `t` string of the stream.
    StringRef(u32),
    /// `(` or `)`.
    Tuple(Tuple),
    /// `[`
    List(Vec<Object>),
    /// `{`
    Dict(Dict),
    /// `}` (3.15+)
    FrozenDict(Dict),
    /// `<`
    Set(Vec<Object>),
    /// `>`
    FrozenSet(Vec<Object>),
    /// `:` (3.14+): start, stop, step.
    Slice(Box<[Object; 3]>),
    /// `c`
    Code(Box<Code>),
    /// `r` (3.4+): the n-th object that was flagged with FLAG_REF.
    Ref(u32),
}

/// Ints longer than this print in hexadecimal (see [`Long::to_decimal`]).
/// Turning base 2**15 into decimal takes time quadratic in the length, so a
/// cache of a few megabytes could hold an int that takes hours to print.
/// Real caches stay far below: CPython since 3.11 (and the 3.7 to 3.10
/// security releases) refuses to print ints of over 4300 decimal digits,
/// and the largest constant of the 2.7 standard library, `1L << 40000`
/// folded by its peephole optimiser, has 40001 bits.
pub const MAX_DECIMAL_BITS: usize = 1 << 16;

/// An `l` int: sign and magnitude in base 2**15, least significant digit
/// first. Normalized when read: every digit below 2**15 and the top one
/// nonzero; zero has no digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Long {
    pub negative: bool,
    pub digits: Vec<u16>,
}

/// Text, with the type code that carried it. The bytes are kept as written:
/// UTF-8 (surrogates allowed) for `u` and `t`, one byte per character
/// (Latin-1) for the ASCII kinds, which the reader does not check for ASCII
/// either.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Str {
    pub kind: StrKind,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StrKind {
    /// `u`
    Unicode,
    /// `t`
    Interned,
    /// `a`: 32-bit length.
    Ascii,
    /// `A`
    AsciiInterned,
    /// `z`: 8-bit length.
    ShortAscii,
    /// `Z`
    ShortAsciiInterned,
}

/// A tuple and which of its two encodings carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuple {
    /// `)` with an 8-bit count (3.4+) rather than `(` with a 32-bit count.
    pub small: bool,
    pub items: Vec<Object>,
}

/// A dict's pairs in stream order, ended by a NULL (`0`) whose own FLAG_REF
/// bit is kept for exactness (readers ignore it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dict {
    pub entries: Vec<(Object, Object)>,
    pub end_flag_ref: bool,
}

impl StrKind {
    /// The same encoding without the interned mark.
    pub fn uninterned(self) -> Self {
        match self {
            Self::Interned => Self::Unicode,
            Self::AsciiInterned => Self::Ascii,
            Self::ShortAsciiInterned => Self::ShortAscii,
            other => other,
        }
    }

    pub fn type_code(self) -> u8 {
        match self {
            Self::Unicode => b'u',
            Self::Interned => b't',
            Self::Ascii => b'a',
            Self::AsciiInterned => b'A',
            Self::ShortAscii => b'z',
            Self::ShortAsciiInterned => b'Z',
        }
    }

    pub fn is_interned(self) -> bool {
        matches!(self, Self::Interned | Self::AsciiInterned | Self::ShortAsciiInterned)
    }

    /// The ASCII kinds store one byte per character; the others UTF-8.
    pub fn is_one_byte(self) -> bool {
        !matches!(self, Self::Unicode | Self::Interned)
    }
}

impl Str {
    /// The text as Rust sees it: one byte per character for the ASCII kinds,
    /// UTF-8 otherwise; lone surrogates and (under Python 2) non-UTF-8 bytes
    /// of a `t` string become U+FFFD.
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        if self.kind.is_one_byte() && !self.data.is_ascii() {
            Cow::Owned(self.data.iter().map(|&b| char::from(b)).collect())
        } else {
            String::from_utf8_lossy(&self.data)
        }
    }
}

impl Long {
    pub fn zero() -> Self {
        Self::default()
    }

    pub fn from_i128(value: i128) -> Self {
        let negative = value < 0;
        let mut magnitude = value.unsigned_abs();
        let mut digits = Vec::new();
        while magnitude != 0 {
            digits.push((magnitude & 0x7fff) as u16);
            magnitude >>= 15;
        }
        Self { negative, digits }
    }

    /// The value, when it fits in an `i128`.
    pub fn to_i128(&self) -> Option<i128> {
        let mut magnitude: u128 = 0;
        for &digit in self.digits.iter().rev() {
            if magnitude.leading_zeros() < 15 {
                return None;
            }
            magnitude = (magnitude << 15) | u128::from(digit);
        }
        if self.negative { 0i128.checked_sub_unsigned(magnitude) } else { i128::try_from(magnitude).ok() }
    }

    /// Whether the digits are what CPython writes and reads: each below
    /// 2**15, the top one nonzero.
    pub fn is_normalized(&self) -> bool {
        self.digits.iter().all(|&d| d <= 0x7fff) && self.digits.last() != Some(&0)
    }

    /// How many bits the magnitude takes (0 for zero).
    pub fn bit_length(&self) -> usize {
        let Some(top) = self.digits.iter().rposition(|&d| d & 0x7fff != 0) else { return 0 };
        top * 15 + (16 - (self.digits[top] & 0x7fff).leading_zeros() as usize)
    }

    /// The value as decimal text, up to [`MAX_DECIMAL_BITS`]; beyond, as
    /// hexadecimal (`0x...`, `-0x...`), the same value in a form whose cost
    /// grows with the length rather than its square.
    pub fn to_decimal(&self) -> String {
        if self.bit_length() > MAX_DECIMAL_BITS {
            return self.to_hex();
        }
        // Repeated division of the base-2**15 magnitude by 10**4.
        let mut magnitude: Vec<u32> = self.digits.iter().map(|&d| u32::from(d & 0x7fff)).collect();
        while magnitude.last() == Some(&0) {
            magnitude.pop();
        }
        if magnitude.is_empty() {
            return "0".to_owned();
        }
        let mut chunks = Vec::new();
        while !magnitude.is_empty() {
            let mut remainder = 0u32;
            for digit in magnitude.iter_mut().rev() {
                let current = (remainder << 15) | *digit;
                *digit = current / 10_000;
                remainder = current % 10_000;
            }
            chunks.push(remainder);
            while magnitude.last() == Some(&0) {
                magnitude.pop();
            }
        }
        let mut text = String::new();
        if self.negative {
            text.push('-');
        }
        let mut chunks = chunks.into_iter().rev();
        if let Some(first) = chunks.next() {
            text.push_str(&first.to_string());
        }
        for chunk in chunks {
            text.push_str(&format!("{chunk:04}"));
        }
        text
    }
}

impl Long {
    /// The value as Python's `hex()` prints it.
    pub fn to_hex(&self) -> String {
        let mut nibbles = Vec::with_capacity(self.digits.len() * 15 / 4 + 1);
        let (mut buffer, mut bits) = (0u32, 0u32);
        for &digit in &self.digits {
            buffer |= u32::from(digit & 0x7fff) << bits;
            bits += 15;
            while bits >= 4 {
                nibbles.push((buffer & 0xf) as u8);
                buffer >>= 4;
                bits -= 4;
            }
        }
        nibbles.push(buffer as u8);
        while nibbles.len() > 1 && nibbles.last() == Some(&0) {
            nibbles.pop();
        }
        let mut text = String::with_capacity(nibbles.len() + 3);
        if self.negative && nibbles != [0] {
            text.push('-');
        }
        text.push_str("0x");
        text.extend(nibbles.iter().rev().map(|&n| char::from_digit(u32::from(n), 16).unwrap_or('?')));
        text
    }
}

impl fmt::Display for Long {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal())
    }
}

impl Value {
    /// The type code this value is written with (without FLAG_REF).
    pub fn type_code(&self) -> u8 {
        match self {
            Self::None => b'N',
            Self::True => b'T',
            Self::False => b'F',
            Self::Ellipsis => b'.',
            Self::StopIteration => b'S',
            Self::Int(_) => b'i',
            Self::Int64(_) => b'I',
            Self::Long(_) => b'l',
            Self::Float(_) => b'f',
            Self::BinaryFloat(_) => b'g',
            Self::Complex { .. } => b'x',
            Self::BinaryComplex { .. } => b'y',
            Self::Bytes(_) => b's',
            Self::Str(s) => s.kind.type_code(),
            Self::StringRef(_) => b'R',
            Self::Tuple(t) if t.small => b')',
            Self::Tuple(_) => b'(',
            Self::List(_) => b'[',
            Self::Dict(_) => b'{',
            Self::FrozenDict(_) => b'}',
            Self::Set(_) => b'<',
            Self::FrozenSet(_) => b'>',
            Self::Slice(_) => b':',
            Self::Code(_) => b'c',
            Self::Ref(_) => b'r',
        }
    }

    /// Whether a reader adds this value to its reference table when FLAG_REF
    /// is set. The singletons and references themselves never enter it.
    pub fn registers_ref(&self) -> bool {
        !matches!(
            self,
            Self::None
                | Self::True
                | Self::False
                | Self::Ellipsis
                | Self::StopIteration
                | Self::Ref(_)
                | Self::StringRef(_)
        )
    }

    /// Whether a reference to this value from inside itself is accepted.
    /// Readers register mutable containers (and tuples) before reading their
    /// items, so these can contain themselves; frozensets, frozendicts, code
    /// objects and slices are registered only once complete.
    pub fn allows_self_ref(&self) -> bool {
        !matches!(self, Self::FrozenSet(_) | Self::FrozenDict(_) | Self::Code(_) | Self::Slice(_))
    }

    /// A short human-readable rendering for messages: scalars in full (long
    /// texts cut), containers by kind and size.
    pub fn summary(&self) -> String {
        fn cut(text: &str) -> String {
            let mut chars = text.chars();
            let head: String = chars.by_ref().take(60).collect();
            if chars.next().is_some() { format!("{head}…") } else { head }
        }
        match self {
            Self::None => "None".to_owned(),
            Self::True => "True".to_owned(),
            Self::False => "False".to_owned(),
            Self::Ellipsis => "Ellipsis".to_owned(),
            Self::StopIteration => "StopIteration".to_owned(),
            Self::Int(v) => format!("int {v} (`i`)"),
            Self::Int64(v) => format!("int {v} (`I`)"),
            Self::Long(l) => format!("int {} (`l`)", cut(&l.to_decimal())),
            Self::Float(t) => format!("float {} (`f`)", cut(&String::from_utf8_lossy(t))),
            Self::BinaryFloat(bits) => format!("float {:?} (`g`)", f64::from_bits(*bits)),
            Self::Complex { real, imag } => {
                format!("complex ({}, {}) (`x`)", String::from_utf8_lossy(real), String::from_utf8_lossy(imag))
            }
            Self::BinaryComplex { real, imag } => {
                format!("complex ({:?}, {:?}) (`y`)", f64::from_bits(*real), f64::from_bits(*imag))
            }
            Self::Bytes(b) => format!("bytes {} (`s`)", cut(&format!("{:?}", String::from_utf8_lossy(b)))),
            Self::Str(s) => {
                format!("str {} (`{}`)", cut(&format!("{:?}", s.to_string_lossy())), s.kind.type_code() as char)
            }
            Self::StringRef(i) => format!("string reference {i}"),
            Self::Tuple(t) => format!("tuple of {} (`{}`)", t.items.len(), if t.small { ')' } else { '(' }),
            Self::List(items) => format!("list of {}", items.len()),
            Self::Dict(d) => format!("dict of {}", d.entries.len()),
            Self::FrozenDict(d) => format!("frozendict of {}", d.entries.len()),
            Self::Set(items) => format!("set of {}", items.len()),
            Self::FrozenSet(items) => format!("frozenset of {}", items.len()),
            Self::Slice(_) => "slice".to_owned(),
            Self::Code(code) => format!("code object ({:?} layout)", code.layout()),
            Self::Ref(i) => format!("reference {i}"),
        }
    }
}

impl Object {
    pub fn new(value: Value) -> Self {
        Self { flag_ref: false, value }
    }

    /// The same object with FLAG_REF set.
    pub fn flagged(mut self) -> Self {
        self.flag_ref = true;
        self
    }

    /// The type byte as written: type code plus FLAG_REF.
    pub fn type_byte(&self) -> u8 {
        self.value.type_code() | if self.flag_ref { FLAG_REF } else { 0 }
    }

    pub fn none() -> Self {
        Self::new(Value::None)
    }

    pub fn bool(value: bool) -> Self {
        Self::new(if value { Value::True } else { Value::False })
    }

    pub fn ellipsis() -> Self {
        Self::new(Value::Ellipsis)
    }

    pub fn stop_iteration() -> Self {
        Self::new(Value::StopIteration)
    }

    /// `g`, as every version since 2.5 writes floats.
    pub fn float(value: f64) -> Self {
        Self::new(Value::BinaryFloat(value.to_bits()))
    }

    /// `y`, as every version since 2.5 writes complex numbers.
    pub fn complex(real: f64, imag: f64) -> Self {
        Self::new(Value::BinaryComplex { real: real.to_bits(), imag: imag.to_bits() })
    }

    /// `s`: Python 3 bytes, Python 2 str.
    pub fn bytes(data: impl Into<Vec<u8>>) -> Self {
        Self::new(Value::Bytes(data.into()))
    }

    /// A string with an explicit type code.
    pub fn str_with(kind: StrKind, data: impl Into<Vec<u8>>) -> Self {
        Self::new(Value::Str(Str { kind, data: data.into() }))
    }

    /// `(`, the 32-bit-count tuple every version reads.
    pub fn tuple(items: Vec<Object>) -> Self {
        Self::new(Value::Tuple(Tuple { small: false, items }))
    }

    /// `)` (3.4+), for tuples under 256 items.
    pub fn small_tuple(items: Vec<Object>) -> Self {
        Self::new(Value::Tuple(Tuple { small: true, items }))
    }

    pub fn list(items: Vec<Object>) -> Self {
        Self::new(Value::List(items))
    }

    pub fn dict(entries: Vec<(Object, Object)>) -> Self {
        Self::new(Value::Dict(Dict { entries, end_flag_ref: false }))
    }

    pub fn set(items: Vec<Object>) -> Self {
        Self::new(Value::Set(items))
    }

    pub fn frozenset(items: Vec<Object>) -> Self {
        Self::new(Value::FrozenSet(items))
    }

    pub fn slice(start: Object, stop: Object, step: Object) -> Self {
        Self::new(Value::Slice(Box::new([start, stop, step])))
    }

    pub fn code(code: impl Into<Code>) -> Self {
        Self::new(Value::Code(Box::new(code.into())))
    }

    /// `r`: a back-reference to the `index`-th registered flagged object.
    pub fn reference(index: u32) -> Self {
        Self::new(Value::Ref(index))
    }

    /// The objects this one contains, in stream order: items, dict keys and
    /// values alternating, slice bounds, code object fields. References are
    /// not followed (see [`crate::RefTable`]).
    pub fn children(&self) -> Vec<&Object> {
        match &self.value {
            Value::Tuple(t) => t.items.iter().collect(),
            Value::List(items) | Value::Set(items) | Value::FrozenSet(items) => items.iter().collect(),
            Value::Dict(d) | Value::FrozenDict(d) => d.entries.iter().flat_map(|(k, v)| [k, v]).collect(),
            Value::Slice(parts) => parts.iter().collect(),
            Value::Code(code) => code.objects().into_iter().map(|(_, object)| object).collect(),
            _ => Vec::new(),
        }
    }

    /// The bytes of an `s` object.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.value {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&Str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The items of a tuple, list, set or frozenset.
    pub fn as_sequence(&self) -> Option<&[Object]> {
        match &self.value {
            Value::Tuple(t) => Some(&t.items),
            Value::List(items) | Value::Set(items) | Value::FrozenSet(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_code(&self) -> Option<&Code> {
        match &self.value {
            Value::Code(code) => Some(code),
            _ => None,
        }
    }

    /// The value of an `i`, `I` or `l` int that fits in an `i128`.
    pub fn as_int(&self) -> Option<i128> {
        match &self.value {
            Value::Int(v) => Some(i128::from(*v)),
            Value::Int64(v) => Some(i128::from(*v)),
            Value::Long(l) => l.to_i128(),
            _ => None,
        }
    }
}

impl From<Value> for Object {
    fn from(value: Value) -> Self {
        Self::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longs_convert_both_ways() {
        for value in [0i128, 1, -1, 32767, 32768, -32768, 1 << 40, -(1 << 62), i128::MAX, i128::MIN + 1] {
            let long = Long::from_i128(value);
            assert!(long.is_normalized(), "{value}");
            assert_eq!(long.to_i128(), Some(value), "{value}");
            assert_eq!(long.to_decimal(), value.to_string(), "{value}");
        }
        assert_eq!(Long::from_i128(i128::MIN).to_i128(), Some(i128::MIN));
        assert_eq!(Long::from_i128(i128::MIN).to_decimal(), i128::MIN.to_string());
        assert_eq!(Long::from_i128(32768).digits, vec![0, 1]);
    }

    #[test]
    fn longs_beyond_i128_still_print() {
        // 2**150 = 32768**10.
        let mut digits = vec![0u16; 10];
        digits.push(1);
        let long = Long { negative: true, digits };
        assert_eq!(long.to_i128(), None);
        assert_eq!(long.to_decimal(), "-1427247692705959881058285969449495136382746624");
        assert!(!Long { negative: false, digits: vec![1, 0] }.is_normalized());
        assert!(!Long { negative: false, digits: vec![0x8000] }.is_normalized());
    }

    #[test]
    fn regression_huge_ints_print_in_linear_time() {
        // Found by the fuzz test: a 60 KB cache holding an int of 30000
        // digits kept `show` and `dis` busy for over a minute (debug build).
        let huge = Long { negative: true, digits: vec![0x7fff; 30_000] };
        assert_eq!(huge.bit_length(), 450_000);
        let text = huge.to_decimal();
        assert_eq!(text.len(), "-0x".len() + 450_000 / 4);
        assert!(text.starts_with("-0xffff") && text[3..].bytes().all(|b| b == b'f'));
        // Up to the limit, decimal: 2**65535 as Python 2.7 prints it.
        let mut digits = vec![0u16; MAX_DECIMAL_BITS / 15];
        digits.push(1 << (MAX_DECIMAL_BITS % 15 - 1));
        let limit = Long { negative: false, digits };
        assert_eq!(limit.bit_length(), MAX_DECIMAL_BITS);
        let decimal = limit.to_decimal();
        assert_eq!(decimal.len(), 19729);
        assert!(decimal.starts_with("100176496520") && decimal.ends_with("578368"));
        let mut over = limit.clone();
        over.digits.push(1);
        assert!(over.to_decimal().starts_with("0x4"));
        assert_eq!(Long::from_i128(-255).to_hex(), "-0xff");
        assert_eq!(Long::zero().to_hex(), "0x0");
        assert_eq!(Long::from_i128(1 << 100).to_hex(), format!("{:#x}", 1u128 << 100));
        assert_eq!(Long::zero().bit_length(), 0);
        assert_eq!(Long::from_i128(32768).bit_length(), 16);
    }

    #[test]
    fn type_codes_and_flags_make_the_type_byte() {
        assert_eq!(Object::none().type_byte(), b'N');
        assert_eq!(Object::small_tuple(vec![]).flagged().type_byte(), b')' | 0x80);
        assert_eq!(Object::str_with(StrKind::ShortAsciiInterned, "x").type_byte(), b'Z');
        assert_eq!(Object::frozenset(vec![]).type_byte(), b'>');
        assert!(!Value::None.registers_ref() && Value::Int(1).registers_ref());
        assert!(Value::Tuple(Tuple { small: true, items: vec![] }).allows_self_ref());
        assert!(!Value::FrozenSet(vec![]).allows_self_ref());
    }

    #[test]
    fn strings_decode_by_kind() {
        let latin = Str { kind: StrKind::ShortAscii, data: vec![b'a', 0xe9] };
        assert_eq!(latin.to_string_lossy(), "aé");
        let utf8 = Str { kind: StrKind::Unicode, data: "é".as_bytes().to_vec() };
        assert_eq!(utf8.to_string_lossy(), "é");
        let surrogate = Str { kind: StrKind::Unicode, data: vec![0xed, 0xa0, 0x80] };
        assert_eq!(surrogate.to_string_lossy(), "\u{fffd}\u{fffd}\u{fffd}");
    }

    #[test]
    fn summaries_are_short() {
        assert_eq!(Value::Int(3).summary(), "int 3 (`i`)");
        let long = Value::Str(Str { kind: StrKind::Ascii, data: vec![b'a'; 500] });
        assert!(long.summary().chars().count() < 80);
        assert_eq!(Value::BinaryFloat(1.5f64.to_bits()).summary(), "float 1.5 (`g`)");
    }
}
