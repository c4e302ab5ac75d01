//! `repr()` of marshalled constants, as the interpreter of the cache's
//! version would print them in `dis` output.
//!
//! One departure: a code object has no address in a cache, so it reads
//! `<code object f, file "x.py", line 3>` without `at 0x...`. Which
//! characters print as themselves follows each version's Unicode database
//! (see `printable.rs`).

use pycache_marshal::{Object, RefTable, Str, StrKind, Value};
use pycache_pyc::PyVersion;

use crate::printable::is_printable;

/// Containers nested deeper than this print as `...`.
const MAX_DEPTH: usize = 64;

/// A repr longer than this is cut and ends in `...`. References let a
/// stream of a few hundred bytes hold a tuple whose repr is exponentially
/// long (each level two references to the one below); the largest constant
/// of the 2.7 to 3.13 standard libraries prints in under 70 KiB, so real
/// caches print in full.
pub const MAX_REPR_LEN: usize = 1 << 20;

pub struct Repr<'a> {
    pub refs: &'a RefTable<'a>,
    pub version: PyVersion,
}

impl<'a> Repr<'a> {
    fn python2(&self) -> bool {
        self.version.major == 2
    }

    pub fn repr(&self, object: &'a Object) -> String {
        let mut out = String::new();
        self.write(object, 0, &mut out);
        if out.len() > MAX_REPR_LEN {
            let mut end = MAX_REPR_LEN;
            while !out.is_char_boundary(end) {
                end -= 1;
            }
            out.truncate(end);
            out.push_str("...");
        }
        out
    }

    fn write(&self, object: &'a Object, depth: usize, out: &mut String) {
        // Past the limit nothing more is kept, so nothing more is walked.
        if out.len() > MAX_REPR_LEN {
            return;
        }
        let Ok(object) = self.refs.resolve(object) else {
            out.push_str("<bad reference>");
            return;
        };
        if depth > MAX_DEPTH {
            out.push_str("...");
            return;
        }
        match &object.value {
            Value::None => out.push_str("None"),
            Value::True => out.push_str("True"),
            Value::False => out.push_str("False"),
            Value::Ellipsis => out.push_str("Ellipsis"),
            Value::StopIteration => out.push_str(if self.python2() {
                "<type 'exceptions.StopIteration'>"
            } else {
                "<class 'StopIteration'>"
            }),
            Value::Int(v) => out.push_str(&v.to_string()),
            Value::Int64(v) => out.push_str(&v.to_string()),
            Value::Long(long) => {
                out.push_str(&long.to_decimal());
                if self.python2() {
                    out.push('L');
                }
            }
            Value::Float(text) => out.push_str(&float_repr(parse_float_text(text), true)),
            Value::BinaryFloat(bits) => out.push_str(&float_repr(f64::from_bits(*bits), true)),
            Value::Complex { real, imag } => {
                out.push_str(&complex_repr(parse_float_text(real), parse_float_text(imag)));
            }
            Value::BinaryComplex { real, imag } => {
                out.push_str(&complex_repr(f64::from_bits(*real), f64::from_bits(*imag)));
            }
            Value::Bytes(data) => {
                if !self.python2() {
                    out.push('b');
                }
                bytes_repr(data, out);
            }
            Value::Str(text) => self.str_repr(text, out),
            Value::Tuple(tuple) => {
                out.push('(');
                self.items(&tuple.items, depth, out);
                if tuple.items.len() == 1 {
                    out.push(',');
                }
                out.push(')');
            }
            Value::List(items) => {
                out.push('[');
                self.items(items, depth, out);
                out.push(']');
            }
            Value::Set(items) => {
                if items.is_empty() {
                    out.push_str("set()");
                } else if self.python2() {
                    out.push_str("set([");
                    self.items(items, depth, out);
                    out.push_str("])");
                } else {
                    out.push('{');
                    self.items(items, depth, out);
                    out.push('}');
                }
            }
            Value::FrozenSet(items) => {
                if items.is_empty() {
                    out.push_str("frozenset()");
                } else if self.python2() {
                    out.push_str("frozenset([");
                    self.items(items, depth, out);
                    out.push_str("])");
                } else {
                    out.push_str("frozenset({");
                    self.items(items, depth, out);
                    out.push_str("})");
                }
            }
            Value::Dict(dict) | Value::FrozenDict(dict) => {
                let frozen = matches!(object.value, Value::FrozenDict(_));
                if frozen {
                    out.push_str("frozendict(");
                }
                out.push('{');
                for (i, (key, value)) in dict.entries.iter().enumerate() {
                    if out.len() > MAX_REPR_LEN {
                        break;
                    }
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.write(key, depth + 1, out);
                    out.push_str(": ");
                    self.write(value, depth + 1, out);
                }
                out.push('}');
                if frozen {
                    out.push(')');
                }
            }
            Value::Slice(parts) => {
                out.push_str("slice(");
                self.items(parts.as_slice(), depth, out);
                out.push(')');
            }
            Value::Code(code) => {
                let text = |o: &'a Object| match self.refs.resolve(o).map(|o| &o.value) {
                    Ok(Value::Str(s)) => s.to_string_lossy().into_owned(),
                    Ok(Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
                    _ => "?".to_owned(),
                };
                out.push_str(&format!(
                    "<code object {}, file \"{}\", line {}>",
                    text(code.name()),
                    text(code.filename()),
                    code.firstlineno()
                ));
            }
            Value::Ref(_) | Value::StringRef(_) => out.push_str("<bad reference>"),
        }
    }

    fn items(&self, items: &'a [Object], depth: usize, out: &mut String) {
        for (i, item) in items.iter().enumerate() {
            if out.len() > MAX_REPR_LEN {
                break;
            }
            if i > 0 {
                out.push_str(", ");
            }
            self.write(item, depth + 1, out);
        }
    }

    fn str_repr(&self, text: &Str, out: &mut String) {
        // Python 2's `t` strings are byte strings; its `u` are unicode.
        if self.python2() {
            if text.kind == StrKind::Unicode {
                out.push('u');
                unicode_repr(&code_points(text), out, None);
            } else {
                bytes_repr(&text.data, out);
            }
            return;
        }
        unicode_repr(&code_points(text), out, Some(self.version.minor));
    }
}

/// The code points of a string, lone surrogates included (marshal writes
/// them with `surrogatepass`).
pub fn code_points(text: &Str) -> Vec<u32> {
    if text.kind.is_one_byte() {
        return text.data.iter().map(|&b| u32::from(b)).collect();
    }
    let data = &text.data;
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        let (len, init) = match b {
            0x00..=0x7f => (1, u32::from(b)),
            0xc0..=0xdf => (2, u32::from(b & 0x1f)),
            0xe0..=0xef => (3, u32::from(b & 0x0f)),
            0xf0..=0xf7 => (4, u32::from(b & 0x07)),
            _ => (1, 0xfffd),
        };
        let tail = data.get(i + 1..i + len);
        match tail {
            Some(tail) if len > 1 && tail.iter().all(|&c| c & 0xc0 == 0x80) => {
                out.push(tail.iter().fold(init, |acc, &c| (acc << 6) | u32::from(c & 0x3f)));
                i += len;
            }
            _ if len == 1 => {
                out.push(init);
                i += 1;
            }
            _ => {
                out.push(0xfffd);
                i += 1;
            }
        }
    }
    out
}

/// Byte string repr: Python 3 `bytes` (after its `b`) and Python 2 `str`.
pub fn bytes_repr(data: &[u8], out: &mut String) {
    let quote = if data.contains(&b'\'') && !data.contains(&b'"') { '"' } else { '\'' };
    out.push(quote);
    for &b in data {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if b == quote as u8 => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(quote);
}

/// Text repr: Python 3.`minor` `str`, or with `None` Python 2 `unicode`
/// (after its `u`), which escapes every non-ASCII character.
pub fn unicode_repr(points: &[u32], out: &mut String, minor: Option<u8>) {
    let has = |c: char| points.contains(&(c as u32));
    let quote = if has('\'') && !has('"') { '"' } else { '\'' };
    out.push(quote);
    for &cp in points {
        match cp {
            0x5c => out.push_str("\\\\"),
            0x09 => out.push_str("\\t"),
            0x0a => out.push_str("\\n"),
            0x0d => out.push_str("\\r"),
            _ if cp == quote as u32 => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(char::from_u32(cp).unwrap_or('?')),
            _ if cp < 0x80 => out.push_str(&format!("\\x{cp:02x}")),
            _ if minor.is_some_and(|m| is_printable(m, cp)) && char::from_u32(cp).is_some() => {
                out.push(char::from_u32(cp).unwrap_or('?'));
            }
            _ if cp <= 0xff => out.push_str(&format!("\\x{cp:02x}")),
            _ if cp <= 0xffff => out.push_str(&format!("\\u{cp:04x}")),
            _ => out.push_str(&format!("\\U{cp:08x}")),
        }
    }
    out.push(quote);
}

/// A float's text from the old `f` and `x` codes; unparsable text reads
/// as NaN rather than failing the whole disassembly.
fn parse_float_text(text: &[u8]) -> f64 {
    std::str::from_utf8(text).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(f64::NAN)
}

/// `repr(float)`: the shortest digits that round-trip, in fixed notation
/// for decimal exponents from -4 to 15 and scientific notation otherwise.
/// `add_dot_zero` is false inside complex numbers, which print `2` for 2.0.
pub fn float_repr(value: f64, add_dot_zero: bool) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let mut sci = format!("{value:e}");
    // Seventeen digits are never shortest by choice: the exact formatter
    // rounds the tie to even, as Python's dtoa does; the shortest one
    // does not.
    if sci.chars().filter(char::is_ascii_digit).count()
        - sci.split_once('e').map_or(0, |(_, e)| e.chars().filter(char::is_ascii_digit).count())
        >= 17
    {
        sci = format!("{value:.16e}");
    }
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    // The decimal point sits after the first digit, times 10**exponent.
    let point = exponent + 1;
    if (-4..16).contains(&exponent) {
        if point <= 0 {
            out.push_str("0.");
            out.push_str(&"0".repeat((-point) as usize));
            out.push_str(&digits);
        } else if point as usize >= digits.len() {
            out.push_str(&digits);
            out.push_str(&"0".repeat(point as usize - digits.len()));
            if add_dot_zero {
                out.push_str(".0");
            }
        } else {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!("e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.abs()));
    }
    out
}

/// `repr(complex)`: `2j` when the real part is +0.0, else `(1+2j)`.
pub fn complex_repr(real: f64, imag: f64) -> String {
    let imag_text = float_repr(imag, false);
    if real == 0.0 && real.is_sign_positive() {
        return format!("{imag_text}j");
    }
    let sign = if imag_text.starts_with('-') { "" } else { "+" };
    format!("({}{sign}{imag_text}j)", float_repr(real, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python() {
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (-0.0, "-0.0"),
            (f64::INFINITY, "inf"),
            (f64::NAN, "nan"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (2.980_232_238_769_531_2e-8, "2.9802322387695312e-08"),
        ];
        for (value, text) in cases {
            assert_eq!(float_repr(value, true), text, "{value:e}");
        }
    }

    #[test]
    fn complex_numbers_print_like_python() {
        assert_eq!(complex_repr(0.0, 2.0), "2j");
        assert_eq!(complex_repr(1.0, -2.0), "(1-2j)");
        assert_eq!(complex_repr(-0.0, 1.5), "(-0+1.5j)");
        assert_eq!(complex_repr(0.0, f64::INFINITY), "infj");
        assert_eq!(complex_repr(1e20, 1.0), "(1e+20+1j)");
    }

    #[test]
    fn strings_print_like_python() {
        let repr = |s: &str| {
            let mut out = String::new();
            unicode_repr(&s.chars().map(u32::from).collect::<Vec<_>>(), &mut out, Some(12));
            out
        };
        assert_eq!(repr("abc"), "'abc'");
        assert_eq!(repr("it's"), "\"it's\"");
        assert_eq!(repr("'\""), "'\\'\"'");
        assert_eq!(repr("a\nb\\\x00\x7f"), "'a\\nb\\\\\\x00\\x7f'");
        assert_eq!(repr("été €"), "'été €'");
        assert_eq!(repr("\u{a0}\u{200b}"), "'\\xa0\\u200b'");
        let mut out = String::new();
        unicode_repr(&[0xe9, 0x20ac, 0x1f600, 0xd800], &mut out, None);
        assert_eq!(out, "'\\xe9\\u20ac\\U0001f600\\ud800'");
        let mut out = String::new();
        bytes_repr(b"a'\xff\t", &mut out);
        assert_eq!(out, "\"a'\\xff\\t\"");
    }

    /// A pair of the level below and a reference to it, `levels` deep: the
    /// repr doubles with each level.
    fn reference_bomb(levels: usize) -> Vec<u8> {
        let mut bytes = b"\xa9\x02".repeat(levels);
        bytes.extend_from_slice(b"\xa9\x02NN");
        for index in (1..=levels as i32).rev() {
            bytes.push(b'r');
            bytes.extend_from_slice(&index.to_le_bytes());
        }
        bytes
    }

    #[test]
    fn regression_reference_bomb_repr_is_cut() {
        // Found by the fuzzer: 300 bytes that took 2**48 items to print.
        let version = PyVersion::new(3, 12);
        let format = pycache_marshal::Format::for_version(version).unwrap();
        let bomb = pycache_marshal::read(&reference_bomb(48), format).unwrap();
        let refs = RefTable::new(&bomb).unwrap();
        let text = Repr { refs: &refs, version }.repr(&bomb);
        assert_eq!(text.len(), MAX_REPR_LEN + 3);
        assert!(text.starts_with("((((") && text.ends_with("..."));
        // Small ones print in full.
        let small = pycache_marshal::read(&reference_bomb(2), format).unwrap();
        let refs = RefTable::new(&small).unwrap();
        let text = Repr { refs: &refs, version }.repr(&small);
        assert_eq!(text, "(((None, None), (None, None)), ((None, None), (None, None)))");
    }

    #[test]
    fn long_constants_print_in_full() {
        let version = PyVersion::new(3, 12);
        let text = Object::str_with(StrKind::Ascii, vec![b'x'; 200_000]);
        let refs = RefTable::new(&text).unwrap();
        assert_eq!(Repr { refs: &refs, version }.repr(&text).len(), 200_002);
    }

    #[test]
    fn surrogates_survive_decoding() {
        let text = Str { kind: StrKind::Unicode, data: vec![b'a', 0xed, 0xa0, 0x80, 0xff] };
        assert_eq!(code_points(&text), vec![0x61, 0xd800, 0xfffd]);
    }
}
