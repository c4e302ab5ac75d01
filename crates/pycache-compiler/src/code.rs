//! Code objects and constants as values: what the compiler produces and the
//! marshal stage writes.
//!
//! Identity is not modelled here. CPython merges equal constants of one
//! compilation through its constant cache and interns identifier-like
//! strings, and marshal's reference flags follow from that sharing; the
//! marshal stage reconstructs it from the values.

use num_bigint::BigInt;

/// A Python `str`: its code points encoded one by one in UTF-8, lone
/// surrogates included (what CPython's `surrogatepass` gives, and what
/// marshal writes). Valid UTF-8 whenever the text has no surrogates.
///
/// Immutable and cheap to clone: names are cloned into every scope, code
/// unit and constant table that holds them, so a short one lives inline
/// and a long one is shared by reference count (`hipstr`), never copied.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PyStr(hipstr::HipByt<'static>);

impl std::fmt::Debug for PyStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PyStr").field(&self.0.as_slice()).finish()
    }
}

impl PyStr {
    pub fn new(text: &str) -> Self {
        Self(hipstr::HipByt::from(text.as_bytes()))
    }

    /// From code points, surrogates included.
    pub fn from_code_points(points: impl IntoIterator<Item = u32>) -> Self {
        let mut out = Vec::new();
        for cp in points {
            push_code_point(&mut out, cp);
        }
        Self::from_encoded(out)
    }

    /// From bytes already in this encoding.
    pub fn from_encoded(bytes: Vec<u8>) -> Self {
        Self(hipstr::HipByt::from(bytes))
    }

    /// From bytes already in this encoding, copied.
    pub fn from_encoded_slice(bytes: &[u8]) -> Self {
        Self(hipstr::HipByt::from(bytes))
    }

    /// The encoded bytes (see the type's documentation).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// The text, when it holds no surrogates.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }

    pub fn is_ascii(&self) -> bool {
        self.as_bytes().is_ascii()
    }

    /// The number of code points, as `len()` gives it.
    pub fn char_len(&self) -> usize {
        // Continuation bytes are the only ones of the form 0b10xxxxxx.
        self.as_bytes().iter().filter(|&&b| b & 0xC0 != 0x80).count()
    }

    /// The code points.
    pub fn code_points(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.as_bytes().len());
        let bytes = self.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let (len, init) = match b {
                0x00..=0x7F => (1, u32::from(b)),
                0xC0..=0xDF => (2, u32::from(b & 0x1F)),
                0xE0..=0xEF => (3, u32::from(b & 0x0F)),
                _ => (4, u32::from(b & 0x07)),
            };
            let mut cp = init;
            for k in 1..len {
                cp = (cp << 6) | u32::from(bytes.get(i + k).copied().unwrap_or(0x80) & 0x3F);
            }
            out.push(cp);
            i += len;
        }
        out
    }
}

impl From<&str> for PyStr {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl std::fmt::Display for PyStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

/// Appends one code point in UTF-8, surrogates encoded like any other.
pub fn push_code_point(out: &mut Vec<u8>, cp: u32) {
    match cp {
        0..=0x7F => out.push(cp as u8),
        0x80..=0x7FF => {
            out.push(0xC0 | (cp >> 6) as u8);
            out.push(0x80 | (cp & 0x3F) as u8);
        }
        0x800..=0xFFFF => {
            out.push(0xE0 | (cp >> 12) as u8);
            out.push(0x80 | ((cp >> 6) & 0x3F) as u8);
            out.push(0x80 | (cp & 0x3F) as u8);
        }
        _ => {
            out.push(0xF0 | (cp >> 18) as u8);
            out.push(0x80 | ((cp >> 12) & 0x3F) as u8);
            out.push(0x80 | ((cp >> 6) & 0x3F) as u8);
            out.push(0x80 | (cp & 0x3F) as u8);
        }
    }
}

/// A constant of a code object.
#[derive(Debug, Clone)]
pub enum Constant {
    None,
    Bool(bool),
    Ellipsis,
    Int(BigInt),
    Float(f64),
    Complex {
        real: f64,
        imag: f64,
    },
    Str(PyStr),
    Bytes(Vec<u8>),
    Tuple(Vec<Constant>),
    /// Items in the order the source gave them; marshal decides the order
    /// they are written in.
    FrozenSet(Vec<Constant>),
    /// `slice(start, stop, step)` (3.14: a subscript's slice of constants,
    /// `Feature::SliceConstants`); absent parts are `None`.
    Slice(Box<[Constant; 3]>),
    Code(Box<CodeObject>),
}

impl Constant {
    /// Equality as CPython's constant cache sees it: same type and value,
    /// floats compared by their bits (so `0.0` and `-0.0` stay apart and a
    /// NaN equals itself), containers item by item.
    pub fn same_key(&self, other: &Constant) -> bool {
        use Constant::*;
        match (self, other) {
            (None, None) | (Ellipsis, Ellipsis) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => a.to_bits() == b.to_bits(),
            (Complex { real: a, imag: b }, Complex { real: c, imag: d }) => {
                a.to_bits() == c.to_bits() && b.to_bits() == d.to_bits()
            }
            (Str(a), Str(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (Tuple(a), Tuple(b)) | (FrozenSet(a), FrozenSet(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_key(y))
            }
            (Slice(a), Slice(b)) => a.iter().zip(b.iter()).all(|(x, y)| x.same_key(y)),
            // Code objects are never merged.
            (Code(a), Code(b)) => std::ptr::eq(a.as_ref(), b.as_ref()),
            _ => false,
        }
    }
}

/// A constant as CPython's constant cache keys it: equal keys are merged
/// into one object. The type is part of the key (`1`, `1.0` and `True`
/// stay apart), as is the sign of a float zero; frozensets compare as sets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConstKey {
    None,
    Ellipsis,
    Bool(bool),
    Int(BigInt),
    Float(u64),
    Complex(u64, u64),
    Str(PyStr),
    Bytes(Vec<u8>),
    Tuple(Vec<ConstKey>),
    FrozenSet(Vec<ConstKey>),
    /// A slice is keyed by the keys of its three parts.
    Slice(Box<[ConstKey; 3]>),
    /// Code objects compare by what CPython's `code_richcompare` looks at
    /// (not the qualified name or the file name): a body compiled twice,
    /// as a `while` condition is, gives one constant.
    Code(u128),
}

impl Constant {
    /// A frozenset of `items`, equal items (by Python's `==`, so `1`,
    /// `1.0` and `True` are one) kept once, the first of them.
    pub fn frozenset(items: Vec<Constant>) -> Constant {
        let mut out: Vec<Constant> = Vec::with_capacity(items.len());
        for item in items {
            if !out.iter().any(|o| o.py_eq(&item)) {
                out.push(item);
            }
        }
        Constant::FrozenSet(out)
    }

    /// Python's `==` between constants.
    pub fn py_eq(&self, other: &Constant) -> bool {
        use Constant::*;
        fn number(c: &Constant) -> Option<(Option<BigInt>, f64, f64)> {
            match c {
                Bool(b) => Some((Some(BigInt::from(u8::from(*b))), f64::from(u8::from(*b)), 0.0)),
                Int(i) => Some((Some(i.clone()), f64::NAN, 0.0)),
                Float(f) => Some((float_int(*f), *f, 0.0)),
                Complex { real, imag } => {
                    Some((if *imag == 0.0 { float_int(*real) } else { Option::None }, *real, *imag))
                }
                _ => Option::None,
            }
        }
        fn float_int(f: f64) -> Option<BigInt> {
            if f.is_finite() && f.fract() == 0.0 { num_traits::FromPrimitive::from_f64(f) } else { Option::None }
        }
        match (self, other) {
            (None, None) | (Ellipsis, Ellipsis) => true,
            (Str(a), Str(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (Tuple(a), Tuple(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y)),
            (FrozenSet(a), FrozenSet(b)) => a.len() == b.len() && a.iter().all(|x| b.iter().any(|y| x.py_eq(y))),
            (Slice(a), Slice(b)) => a.iter().zip(b.iter()).all(|(x, y)| x.py_eq(y)),
            (Code(a), Code(b)) => std::ptr::eq(a.as_ref(), b.as_ref()),
            _ => match (number(self), number(other)) {
                (Some((ia, fa, ja)), Some((ib, fb, jb))) => match (ia, ib) {
                    (Some(x), Some(y)) => x == y && ja == jb,
                    _ => {
                        let is_int = |c: &Constant| matches!(c, Int(_) | Bool(_));
                        if is_int(self) || is_int(other) {
                            // An int equals a float only when the float is integral.
                            false
                        } else {
                            fa == fb && ja == jb
                        }
                    }
                },
                _ => false,
            },
        }
    }

    /// Python truthiness.
    pub fn is_true(&self) -> bool {
        match self {
            Constant::None => false,
            Constant::Bool(b) => *b,
            Constant::Ellipsis | Constant::Slice(_) | Constant::Code(_) => true,
            Constant::Int(i) => i.sign() != num_bigint::Sign::NoSign,
            Constant::Float(f) => *f != 0.0,
            Constant::Complex { real, imag } => *real != 0.0 || *imag != 0.0,
            Constant::Str(s) => !s.as_bytes().is_empty(),
            Constant::Bytes(b) => !b.is_empty(),
            Constant::Tuple(t) | Constant::FrozenSet(t) => !t.is_empty(),
        }
    }

    /// Whether a NaN is in this constant (or in one it holds).
    /// Whether the constant is the string `'%'` or holds it as an item (the
    /// items the constant cache merges; a slice's parts are not).
    pub fn holds_percent(&self) -> bool {
        match self {
            Constant::Str(text) => text.as_bytes() == b"%",
            Constant::Tuple(items) | Constant::FrozenSet(items) => items.iter().any(Constant::holds_percent),
            _ => false,
        }
    }

    pub fn has_nan(&self) -> bool {
        match self {
            Constant::Float(f) => f.is_nan(),
            Constant::Complex { real, imag } => real.is_nan() || imag.is_nan(),
            Constant::Tuple(items) | Constant::FrozenSet(items) => items.iter().any(Constant::has_nan),
            Constant::Slice(parts) => parts.iter().any(Constant::has_nan),
            _ => false,
        }
    }

    /// Feeds what [`Constant::key`] holds to `h`, without building it.
    pub fn key_hash<H: std::hash::Hasher>(&self, h: &mut H) {
        use std::hash::Hash;
        std::mem::discriminant(self).hash(h);
        match self {
            Constant::None | Constant::Ellipsis => {}
            Constant::Bool(b) => b.hash(h),
            Constant::Int(i) => i.hash(h),
            Constant::Float(f) => f.to_bits().hash(h),
            Constant::Complex { real, imag } => (real.to_bits(), imag.to_bits()).hash(h),
            Constant::Str(s) => s.hash(h),
            Constant::Bytes(b) => b.hash(h),
            Constant::Tuple(items) => {
                items.len().hash(h);
                for item in items {
                    item.key_hash(h);
                }
            }
            Constant::FrozenSet(_) => self.key().hash(h),
            Constant::Slice(parts) => parts.iter().for_each(|part| part.key_hash(h)),
            // A few of the fields `compare_key` digests: equal code objects
            // hash alike, and the whole digest is taken only to tell apart
            // the rare ones that share these (`key_eq`).
            Constant::Code(code) => (&code.name, code.firstlineno, code.code.len(), code.consts.len()).hash(h),
        }
    }

    /// `self.key() == other.key()`, without building either.
    pub fn key_eq(&self, other: &Constant) -> bool {
        use Constant::*;
        match (self, other) {
            (Tuple(a), Tuple(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.key_eq(y)),
            (FrozenSet(_), FrozenSet(_)) => self.key() == other.key(),
            (Slice(a), Slice(b)) => a.iter().zip(b.iter()).all(|(x, y)| x.key_eq(y)),
            (Code(a), Code(b)) => a.compare_key() == b.compare_key(),
            (Tuple(_) | FrozenSet(_) | Slice(_) | Code(_), _) => false,
            _ => self.same_key(other),
        }
    }

    pub fn key(&self) -> ConstKey {
        match self {
            Constant::None => ConstKey::None,
            Constant::Ellipsis => ConstKey::Ellipsis,
            Constant::Bool(b) => ConstKey::Bool(*b),
            Constant::Int(i) => ConstKey::Int(i.clone()),
            Constant::Float(f) => ConstKey::Float(f.to_bits()),
            Constant::Complex { real, imag } => ConstKey::Complex(real.to_bits(), imag.to_bits()),
            Constant::Str(s) => ConstKey::Str(s.clone()),
            Constant::Bytes(b) => ConstKey::Bytes(b.clone()),
            Constant::Tuple(items) => ConstKey::Tuple(items.iter().map(Constant::key).collect()),
            Constant::FrozenSet(items) => {
                let mut keys: Vec<ConstKey> = items.iter().map(Constant::key).collect();
                keys.sort();
                keys.dedup();
                ConstKey::FrozenSet(keys)
            }
            Constant::Slice(parts) => ConstKey::Slice(Box::new(parts.each_ref().map(Constant::key))),
            Constant::Code(code) => ConstKey::Code(code.compare_key()),
        }
    }
}

/// The kinds of `co_localspluskinds`.
pub mod kind {
    pub const ARG_VAR: u8 = 0x08;
    pub const ARG_KW: u8 = 0x04 | ARG_VAR;
    pub const ARG_POS: u8 = 0x02 | ARG_VAR;
    pub const LOCAL: u8 = 0x20;
    pub const CELL: u8 = 0x40;
    pub const FREE: u8 = 0x80;
    pub const HIDDEN: u8 = 0x10;
}

/// A CPython 3.12 code object, as marshal writes it (field order aside).
#[derive(Debug, Clone, Default)]
pub struct CodeObject {
    pub argcount: u32,
    pub posonlyargcount: u32,
    pub kwonlyargcount: u32,
    pub stacksize: u32,
    pub flags: u32,
    /// The bytecode with its inline cache entries zeroed.
    pub code: Vec<u8>,
    pub consts: Vec<Constant>,
    pub names: Vec<PyStr>,
    pub localsplusnames: Vec<PyStr>,
    pub localspluskinds: Vec<u8>,
    pub filename: PyStr,
    pub name: PyStr,
    pub qualname: PyStr,
    pub firstlineno: u32,
    pub linetable: Vec<u8>,
    pub exceptiontable: Vec<u8>,
    /// `co_localsplusnames` was replaced by a new tuple after the code
    /// object was made (3.14's annotation scopes rename `.format` to
    /// `format`): that tuple is the code object's own, never merged with an
    /// equal one, and the constant cache holds the original names.
    pub renamed_locals: bool,
    /// (The module's code object.) The first `'%'` string the compiler's
    /// constant cache received (on its own or in a tuple or frozenset) was
    /// the new string a `%%` in a folded `%` format makes, not the
    /// one-character singleton the parser gives a `'%'` literal. The cache
    /// makes whichever came first every `'%'` constant of the module, so
    /// marshal writes them as that object.
    pub fresh_percent: bool,
    /// Texts of string constants (alone or in a tuple) the code generator
    /// took from the parser's identifiers, first in this unit: a type
    /// parameter's or alias's name, an annotation's key, a keyword, a
    /// `case C(attr=...)` name. The parser interned those objects, so the
    /// constant cache shares them with every equal constant cached later;
    /// it matters only for texts the code object would not intern itself
    /// (`λ`). Compared by nothing: marshal's business only.
    pub identifier_strs: Vec<PyStr>,
}

impl CodeObject {
    /// A 128-bit digest of what `code_richcompare` compares.
    fn compare_key(&self) -> u128 {
        use siphasher::sip128::{Hasher128, SipHasher13};
        use std::hash::Hash;
        let mut h = SipHasher13::new();
        self.name.hash(&mut h);
        (self.argcount, self.posonlyargcount, self.kwonlyargcount, self.flags, self.firstlineno).hash(&mut h);
        self.code.hash(&mut h);
        for c in &self.consts {
            c.key_hash(&mut h);
        }
        self.names.hash(&mut h);
        self.localsplusnames.hash(&mut h);
        self.linetable.hash(&mut h);
        self.exceptiontable.hash(&mut h);
        h.finish128().as_u128()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrogates_round_trip_through_code_points() {
        let s = PyStr::from_code_points([0x61, 0xD800, 0x1F600, 0xE9]);
        assert_eq!(s.code_points(), vec![0x61, 0xD800, 0x1F600, 0xE9]);
        assert_eq!(s.char_len(), 4);
        assert!(s.as_str().is_none());
        assert_eq!(PyStr::new("héllo").as_str(), Some("héllo"));
    }

    #[test]
    fn constant_keys_separate_signed_zeros_and_types() {
        assert!(!Constant::Float(0.0).same_key(&Constant::Float(-0.0)));
        assert!(Constant::Float(f64::NAN).same_key(&Constant::Float(f64::NAN)));
        assert!(!Constant::Int(1.into()).same_key(&Constant::Bool(true)));
        let t = |v: Vec<Constant>| Constant::Tuple(v);
        assert!(t(vec![Constant::None]).same_key(&t(vec![Constant::None])));
        assert!(!t(vec![Constant::None]).same_key(&Constant::FrozenSet(vec![Constant::None])));
    }
}
