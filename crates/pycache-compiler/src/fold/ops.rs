//! Python's operators on constants, for folding. `Ok(None)` means CPython
//! would not fold (the operation raises, or the result is over its size
//! limits); an error means the result is not computed here exactly.

use num_bigint::{BigInt, Sign};
use num_traits::{Signed, ToPrimitive, Zero};

use super::complex;
use crate::ast::{Operator, UnaryOp};
use crate::code::{Constant, PyStr};
use crate::error::{Refusal, Result};
use crate::limits::Limits;

fn unsupported<T>(what: &str) -> Result<T> {
    Err(Refusal::unsupported(format!("constant folding of {what}")))
}

/// A number as arithmetic sees it.
enum Num {
    Int(BigInt),
    Float(f64),
    Complex(f64, f64),
}

fn num(c: &Constant) -> Option<Num> {
    match c {
        Constant::Bool(b) => Some(Num::Int(BigInt::from(u8::from(*b)))),
        Constant::Int(i) => Some(Num::Int(i.clone())),
        Constant::Float(f) => Some(Num::Float(*f)),
        Constant::Complex { real, imag } => Some(Num::Complex(*real, *imag)),
        _ => None,
    }
}

/// `float(int)`, or `None` when it overflows.
fn int_to_float(i: &BigInt) -> Option<f64> {
    let bits = i.bits();
    if bits <= 53 {
        return i.to_f64();
    }
    // Correct rounding of wide integers: round half to even on the
    // discarded bits, as CPython's PyLong_AsDouble does.
    if bits > 1024 {
        return None;
    }
    let f = i.to_f64()?;
    if f.is_infinite() { None } else { Some(f) }
}

fn float_of(n: &Num) -> Option<f64> {
    match n {
        Num::Int(i) => int_to_float(i),
        Num::Float(f) => Some(*f),
        Num::Complex(..) => None,
    }
}

fn is_sequence(c: &Constant) -> bool {
    matches!(c, Constant::Str(_) | Constant::Bytes(_) | Constant::Tuple(_))
}

pub fn unary(op: UnaryOp, c: &Constant) -> Result<Option<Constant>> {
    if op == UnaryOp::Not {
        return Ok(Some(Constant::Bool(!c.is_true())));
    }
    let Some(n) = num(c) else {
        // ~'a', -'a', +(1,) raise TypeError.
        if matches!(c, Constant::Code(_)) {
            return unsupported("a unary operator on code");
        }
        return Ok(None);
    };
    Ok(Some(match (op, n) {
        (UnaryOp::Invert, Num::Int(i)) => Constant::Int(-i - 1),
        (UnaryOp::Invert, _) => return Ok(None),
        (UnaryOp::UAdd, Num::Int(i)) => Constant::Int(i),
        (UnaryOp::UAdd, Num::Float(f)) => Constant::Float(f),
        (UnaryOp::UAdd, Num::Complex(r, i)) => Constant::Complex { real: r, imag: i },
        (UnaryOp::USub, Num::Int(i)) => Constant::Int(-i),
        (UnaryOp::USub, Num::Float(f)) => Constant::Float(-f),
        (UnaryOp::USub, Num::Complex(r, i)) => Constant::Complex { real: -r, imag: -i },
        (UnaryOp::Not, _) => unreachable!(),
    }))
}

/// Items in a tuple or frozenset, nested ones included, against a limit.
fn check_complexity(c: &Constant, mut limit: i64) -> i64 {
    if let Constant::Tuple(items) | Constant::FrozenSet(items) = c {
        limit -= items.len() as i64;
        for item in items {
            if limit < 0 {
                break;
            }
            limit = check_complexity(item, limit);
        }
    }
    limit
}

fn seq_len(c: &Constant) -> usize {
    match c {
        Constant::Str(s) => s.char_len(),
        Constant::Bytes(b) => b.len(),
        Constant::Tuple(t) | Constant::FrozenSet(t) => t.len(),
        _ => 0,
    }
}

fn repeat(limits: &Limits, seq: &Constant, n: &BigInt) -> Result<Option<Constant>> {
    let size = seq_len(seq);
    let count = if n.is_negative() { 0 } else { n.to_usize().unwrap_or(usize::MAX) };
    if size > 0 {
        let limit = if matches!(seq, Constant::Tuple(_) | Constant::FrozenSet(_)) {
            limits.fold_collection_size
        } else {
            limits.fold_str_size
        };
        if n.is_negative() || count > limit / size {
            return Ok(None);
        }
        if let Constant::Tuple(_) | Constant::FrozenSet(_) = seq {
            if count > 0 && check_complexity(seq, limits.fold_total_items / count as i64) < 0 {
                return Ok(None);
            }
        }
    }
    Ok(Some(match seq {
        Constant::Str(s) => Constant::Str(PyStr::from_encoded(s.as_bytes().repeat(count))),
        Constant::Bytes(b) => Constant::Bytes(b.repeat(count)),
        Constant::Tuple(t) => {
            let mut out = Vec::with_capacity(t.len() * count);
            for _ in 0..count {
                out.extend(t.iter().cloned());
            }
            Constant::Tuple(out)
        }
        // frozenset * int raises TypeError.
        _ => return Ok(None),
    }))
}

fn floor_div_int(a: &BigInt, b: &BigInt) -> BigInt {
    use num_integer::Integer;
    a.div_floor(b)
}

fn mod_int(a: &BigInt, b: &BigInt) -> BigInt {
    use num_integer::Integer;
    a.mod_floor(b)
}

fn float_rem(vx: f64, wx: f64) -> Option<f64> {
    if wx == 0.0 {
        return None;
    }
    let mut m = vx % wx;
    if m != 0.0 {
        if (wx < 0.0) != (m < 0.0) {
            m += wx;
        }
    } else {
        m = 0f64.copysign(wx);
    }
    Some(m)
}

fn float_floordiv(vx: f64, wx: f64) -> Option<f64> {
    if wx == 0.0 {
        return None;
    }
    let m = vx % wx;
    let mut div = (vx - m) / wx;
    if m != 0.0 && (wx < 0.0) != (m < 0.0) {
        div -= 1.0;
    }
    let floordiv = if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        0f64.copysign(vx / wx)
    };
    Some(floordiv)
}

/// `float ** float` as a constant, `Ok(None)` when Python raises.
fn float_pow(v: f64, w: f64) -> Result<Option<Constant>> {
    match complex::float_pow(v, w) {
        complex::FloatPow::Float(r) => Ok(Some(Constant::Float(r))),
        complex::FloatPow::Complex((real, imag)) => Ok(Some(Constant::Complex { real, imag })),
        complex::FloatPow::Raises => Ok(None),
        complex::FloatPow::Unknown(why) => unsupported(why),
    }
}

/// `x / y` for integers, correctly rounded as CPython's long division is
/// (subnormal results included); `None` when the quotient is too large
/// for a float. `y` is not zero.
fn int_true_divide(x: &BigInt, y: &BigInt) -> Option<f64> {
    let negative = x.is_negative() != y.is_negative();
    let (a, b) = (x.abs(), y.abs());
    if a.is_zero() {
        return Some(if negative { -0.0 } else { 0.0 });
    }
    // Scale so that the integer quotient has 56 or 57 bits, with a sticky
    // bit for what the division leaves.
    let e = a.bits() as i64 - b.bits() as i64;
    let t = e - 56;
    let (num, den) = if t < 0 { (a << (-t) as u64, b) } else { (a, b << t as u64) };
    let (n, rem) = num_integer::Integer::div_rem(&num, &den);
    let sticky = !rem.is_zero();
    let n = n.to_u64().expect("57 bits at most");
    let top = 63 - n.leading_zeros() as i64 + t;
    // The exponent of the last bit kept: 53 bits, fewer once subnormal.
    let ulp = (top - 52).max(-1074);
    let drop = ulp - t;
    let mut m = if drop >= 64 { 0 } else { n >> drop };
    let rest = if drop >= 64 { n } else { n & ((1u64 << drop) - 1) };
    let half = if drop > 64 { 0 } else { 1u64 << (drop - 1) };
    if drop <= 64 && (rest > half || (rest == half && (sticky || m & 1 == 1))) {
        m += 1;
    }
    if m == 0 {
        return Some(if negative { -0.0 } else { 0.0 });
    }
    if 63 - m.leading_zeros() as i64 + ulp > 1023 {
        return None;
    }
    let scale =
        if ulp >= -1022 { f64::from_bits(((ulp + 1023) as u64) << 52) } else { f64::from_bits(1u64 << (ulp + 1074)) };
    let q = m as f64 * scale;
    Some(if negative { -q } else { q })
}

fn int_result(v: BigInt) -> Constant {
    Constant::Int(v)
}

fn both_bool(a: &Constant, b: &Constant) -> Option<(bool, bool)> {
    match (a, b) {
        (Constant::Bool(x), Constant::Bool(y)) => Some((*x, *y)),
        _ => None,
    }
}

/// `mixed_complex`: 3.14's rules for a real operand of complex arithmetic
/// (`Feature::MixedModeComplex`).
pub fn binary(
    limits: &Limits,
    mixed_complex: bool,
    op: Operator,
    a: &Constant,
    b: &Constant,
) -> Result<Option<Constant>> {
    if matches!(a, Constant::Code(_)) || matches!(b, Constant::Code(_)) {
        return Ok(None);
    }
    // Sequences.
    match op {
        Operator::Add => match (a, b) {
            (Constant::Str(x), Constant::Str(y)) => {
                let mut v = x.as_bytes().to_vec();
                v.extend_from_slice(y.as_bytes());
                return Ok(Some(Constant::Str(PyStr::from_encoded(v))));
            }
            (Constant::Bytes(x), Constant::Bytes(y)) => {
                let mut v = x.clone();
                v.extend_from_slice(y);
                return Ok(Some(Constant::Bytes(v)));
            }
            (Constant::Tuple(x), Constant::Tuple(y)) => {
                let mut v = x.clone();
                v.extend(y.iter().cloned());
                return Ok(Some(Constant::Tuple(v)));
            }
            _ => {}
        },
        Operator::Mult => {
            if is_sequence(a) || matches!(a, Constant::FrozenSet(_)) {
                if let Some(Num::Int(n)) = num(b) {
                    return repeat(limits, a, &n);
                }
                return Ok(None);
            }
            if is_sequence(b) || matches!(b, Constant::FrozenSet(_)) {
                if let Some(Num::Int(n)) = num(a) {
                    return repeat(limits, b, &n);
                }
                return Ok(None);
            }
        }
        Operator::Mod => {
            if matches!(a, Constant::Str(_) | Constant::Bytes(_)) {
                return Ok(None);
            }
        }
        Operator::MatMult => return Ok(None),
        _ => {}
    }
    if let Some((x, y)) = both_bool(a, b) {
        match op {
            Operator::BitAnd => return Ok(Some(Constant::Bool(x & y))),
            Operator::BitOr => return Ok(Some(Constant::Bool(x | y))),
            Operator::BitXor => return Ok(Some(Constant::Bool(x ^ y))),
            _ => {}
        }
    }
    let (Some(x), Some(y)) = (num(a), num(b)) else {
        // Any other mix of types raises TypeError (or is not foldable).
        if matches!(a, Constant::None | Constant::Ellipsis) || matches!(b, Constant::None | Constant::Ellipsis) {
            return Ok(None);
        }
        return Ok(None);
    };
    match (x, y) {
        (Num::Int(x), Num::Int(y)) => int_binary(limits.fold_int_bits, op, &x, &y),
        (Num::Complex(..), _) | (_, Num::Complex(..)) => complex_binary(mixed_complex, op, a, b),
        (x, y) => {
            let (Some(fx), Some(fy)) = (float_of(&x), float_of(&y)) else { return Ok(None) };
            if complex::mixed_nans(fx, fy) {
                return unsupported(complex::MIXED_NANS);
            }
            let r = match op {
                Operator::Add => fx + fy,
                Operator::Sub => fx - fy,
                Operator::Mult => fx * fy,
                Operator::Div => {
                    if fy == 0.0 {
                        return Ok(None);
                    }
                    fx / fy
                }
                Operator::FloorDiv => match float_floordiv(fx, fy) {
                    Some(r) => r,
                    None => return Ok(None),
                },
                Operator::Mod => match float_rem(fx, fy) {
                    Some(r) => r,
                    None => return Ok(None),
                },
                Operator::Pow => return float_pow(fx, fy),
                _ => return Ok(None),
            };
            // Only the power checks for overflow; an infinite sum or
            // product is a value like any other.
            Ok(Some(Constant::Float(r)))
        }
    }
}

fn int_binary(max_int_size: u64, op: Operator, x: &BigInt, y: &BigInt) -> Result<Option<Constant>> {
    let bits = |v: &BigInt| v.bits();
    Ok(Some(match op {
        Operator::Add => int_result(x + y),
        Operator::Sub => int_result(x - y),
        Operator::Mult => {
            if !x.is_zero() && !y.is_zero() && bits(x) + bits(y) > max_int_size {
                return Ok(None);
            }
            int_result(x * y)
        }
        Operator::Div => {
            if y.is_zero() {
                return Ok(None);
            }
            match int_true_divide(x, y) {
                Some(q) => Constant::Float(q),
                None => return Ok(None),
            }
        }
        Operator::FloorDiv => {
            if y.is_zero() {
                return Ok(None);
            }
            int_result(floor_div_int(x, y))
        }
        Operator::Mod => {
            if y.is_zero() {
                return Ok(None);
            }
            int_result(mod_int(x, y))
        }
        Operator::Pow => {
            if y.is_negative() {
                if x.is_zero() {
                    return Ok(None);
                }
                // Both operands become floats, and one too wide for a
                // float raises OverflowError.
                let (Some(fx), Some(fy)) = (int_to_float(x), int_to_float(y)) else { return Ok(None) };
                return float_pow(fx, fy);
            }
            if !x.is_zero() && !y.is_zero() {
                let Some(w) = y.to_u64() else { return Ok(None) };
                if bits(x) > max_int_size / w {
                    return Ok(None);
                }
            }
            if x.is_zero() {
                // No size check for a zero base: 0 ** n is 0 for any n > 0.
                return Ok(Some(int_result(if y.is_zero() { BigInt::from(1) } else { BigInt::zero() })));
            }
            // The check above bounds the exponent by max_int_size.
            let w = y.to_u32().expect("a checked exponent");
            int_result(num_traits::Pow::pow(x, w))
        }
        Operator::LShift => {
            if y.is_negative() {
                return Ok(None);
            }
            if !x.is_zero() && !y.is_zero() {
                let Some(w) = y.to_u64() else { return Ok(None) };
                if w > max_int_size || bits(x) > max_int_size - w {
                    return Ok(None);
                }
            }
            int_result(x << y.to_usize().unwrap_or(0))
        }
        Operator::RShift => {
            if y.is_negative() {
                return Ok(None);
            }
            match y.to_usize() {
                Some(s) => {
                    // Arithmetic shift: floor division by a power of two.
                    if x.sign() == Sign::Minus {
                        let d = BigInt::from(1) << s;
                        int_result(floor_div_int(x, &d))
                    } else {
                        int_result(x >> s)
                    }
                }
                None => int_result(if x.is_negative() { BigInt::from(-1) } else { BigInt::zero() }),
            }
        }
        Operator::BitAnd => int_result(x & y),
        Operator::BitOr => int_result(x | y),
        Operator::BitXor => int_result(x ^ y),
        Operator::MatMult => return Ok(None),
    }))
}

fn complex_binary(mixed: bool, op: Operator, a: &Constant, b: &Constant) -> Result<Option<Constant>> {
    // An int or float operand as a real number (`None` for an int too large
    // for a float: Python raises OverflowError).
    let parts = |c: &Constant| -> Option<Part> {
        match num(c)? {
            Num::Complex(r, i) => Some(Part::Complex((r, i))),
            n => Some(Part::Real(float_of(&n)?)),
        }
    };
    let (Some(pa), Some(pb)) = (parts(a), parts(b)) else { return Ok(None) };
    let nans = complex::Nans::default();
    let value = |c: complex::C| complex::Outcome::Value(c);
    let outcome = match (mixed, pa, pb) {
        // 3.14 (`Feature::MixedModeComplex`): a real operand is no complex
        // with a zero imaginary part; it only meets the other's parts it
        // would in real arithmetic, so the sign of a zero part survives.
        (true, Part::Complex(x), Part::Real(y)) => match op {
            Operator::Add => value((nans.add(x.0, y), x.1)),
            Operator::Sub => value((nans.sub(x.0, y), x.1)),
            Operator::Mult => value((nans.mul(x.0, y), nans.mul(x.1, y))),
            Operator::Div => complex::div_by_real(x, y),
            Operator::Pow => complex::pow(x, (y, 0.0)),
            _ => return Ok(None),
        },
        (true, Part::Real(x), Part::Complex(y)) => match op {
            Operator::Add => value((nans.add(x, y.0), y.1)),
            Operator::Sub => value((nans.sub(x, y.0), -y.1)),
            Operator::Mult => value((nans.mul(x, y.0), nans.mul(x, y.1))),
            Operator::Div => complex::real_div(x, y),
            Operator::Pow => complex::pow((x, 0.0), y),
            _ => return Ok(None),
        },
        (_, pa, pb) => {
            let (x, y) = (pa.complex(), pb.complex());
            match op {
                Operator::Add => value((nans.add(x.0, y.0), nans.add(x.1, y.1))),
                Operator::Sub => value((nans.sub(x.0, y.0), nans.sub(x.1, y.1))),
                Operator::Mult => value(complex::prod(x, y, &nans)),
                Operator::Div => complex::div(x, y),
                Operator::Pow => complex::pow(x, y),
                _ => return Ok(None),
            }
        }
    };
    // 3.14's product and quotient recover infinities and zeros where the
    // plain formulas give NaN for both parts (C11 Annex G), in powers too;
    // that recovery is not reproduced here.
    let outcome = match outcome {
        complex::Outcome::Value((r, i))
            if mixed && r.is_nan() && i.is_nan() && matches!(op, Operator::Mult | Operator::Div | Operator::Pow) =>
        {
            complex::Outcome::Unknown(complex::NAN_RECOVERY)
        }
        o => o,
    };
    match outcome {
        _ if nans.mixed() => unsupported(complex::MIXED_NANS),
        complex::Outcome::Value((real, imag)) => Ok(Some(Constant::Complex { real, imag })),
        complex::Outcome::Raises => Ok(None),
        complex::Outcome::Unknown(why) => unsupported(why),
    }
}

/// One operand of complex arithmetic.
#[derive(Clone, Copy)]
enum Part {
    Real(f64),
    Complex(complex::C),
}

impl Part {
    /// The operand as CPython before 3.14 converts it: a real number gets
    /// a zero imaginary part.
    fn complex(self) -> complex::C {
        match self {
            Part::Real(r) => (r, 0.0),
            Part::Complex(c) => c,
        }
    }
}

pub fn subscript(v: &Constant, i: &Constant) -> Result<Option<Constant>> {
    if let Constant::Slice(parts) = i {
        return Ok(slice_of(v, parts));
    }
    let index = match i {
        Constant::Int(n) => n.clone(),
        Constant::Bool(b) => BigInt::from(u8::from(*b)),
        _ => return Ok(None),
    };
    let len = match v {
        Constant::Str(s) => s.char_len(),
        Constant::Bytes(b) => b.len(),
        Constant::Tuple(t) => t.len(),
        _ => return Ok(None),
    } as i64;
    let Some(mut idx) = index.to_i64() else { return Ok(None) };
    if idx < 0 {
        idx += len;
    }
    if idx < 0 || idx >= len {
        return Ok(None);
    }
    let idx = idx as usize;
    Ok(Some(match v {
        Constant::Str(s) => Constant::Str(PyStr::from_code_points([s.code_points()[idx]])),
        Constant::Bytes(b) => Constant::Int(BigInt::from(b[idx])),
        Constant::Tuple(t) => t[idx].clone(),
        _ => unreachable!(),
    }))
}

/// A `str`, `bytes` or `tuple` constant sliced by a slice constant, as
/// Python computes it (`None` where Python raises: a part that is not an
/// integer or `None`, a zero step; or where the value is no sequence).
fn slice_of(v: &Constant, parts: &[Constant; 3]) -> Option<Constant> {
    let len = match v {
        Constant::Str(s) => s.char_len(),
        Constant::Bytes(b) => b.len(),
        Constant::Tuple(t) => t.len(),
        _ => return None,
    };
    let picked = slice_positions(len, parts)?;
    Some(match v {
        Constant::Str(s) => {
            let points = s.code_points();
            Constant::Str(PyStr::from_code_points(picked.map(|i| points[i])))
        }
        Constant::Bytes(b) => Constant::Bytes(picked.map(|i| b[i]).collect()),
        Constant::Tuple(t) => Constant::Tuple(picked.map(|i| t[i].clone()).collect()),
        _ => return None,
    })
}

/// The positions a slice picks from a sequence of `len` items: each part
/// an index clamped to the signed 64-bit range (`None` giving the default
/// for the step's direction), then adjusted to the length.
fn slice_positions(len: usize, parts: &[Constant; 3]) -> Option<impl Iterator<Item = usize>> {
    const MAX: i128 = i64::MAX as i128;
    const MIN: i128 = i64::MIN as i128;
    let index = |part: &Constant| -> Option<Option<i128>> {
        match part {
            Constant::None => Some(None),
            Constant::Bool(b) => Some(Some(i128::from(*b))),
            Constant::Int(n) => {
                let clamped = if n.sign() == num_bigint::Sign::Minus { MIN } else { MAX };
                Some(Some(n.to_i64().map_or(clamped, i128::from)))
            }
            _ => None,
        }
    };
    let [start, stop, step] = parts;
    let (start, stop, step) = (index(start)?, index(stop)?, index(step)?);
    let step = match step.unwrap_or(1) {
        0 => return None,
        s => s.max(-MAX),
    };
    let len = len as i128;
    let adjust = |value: Option<i128>, default: i128| -> i128 {
        let mut value = value.unwrap_or(default);
        if value < 0 {
            value += len;
            if value < 0 {
                value = if step < 0 { -1 } else { 0 };
            }
        } else if value >= len {
            value = if step < 0 { len - 1 } else { len };
        }
        value
    };
    let start = adjust(start, if step < 0 { MAX } else { 0 });
    let stop = adjust(stop, if step < 0 { MIN } else { MAX });
    let count = if step < 0 {
        if stop < start { (start - stop - 1) / -step + 1 } else { 0 }
    } else if start < stop {
        (stop - start - 1) / step + 1
    } else {
        0
    };
    Some((0..count).map(move |k| (start + k * step) as usize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::CPYTHON_3_12;

    fn int(v: i64) -> Constant {
        Constant::Int(BigInt::from(v))
    }

    #[test]
    fn integer_arithmetic_follows_python() {
        let r = |op, a, b| binary(&CPYTHON_3_12, false, op, &int(a), &int(b)).unwrap().map(|c| c.key());
        assert_eq!(r(Operator::FloorDiv, -7, 2), Some(int(-4).key()));
        assert_eq!(r(Operator::Mod, -7, 2), Some(int(1).key()));
        assert_eq!(r(Operator::RShift, -7, 1), Some(int(-4).key()));
        assert_eq!(r(Operator::Pow, 2, 10), Some(int(1024).key()));
        assert_eq!(r(Operator::Pow, 2, 200), None);
        assert_eq!(r(Operator::LShift, 1, 130), None);
        assert_eq!(r(Operator::FloorDiv, 1, 0), None);
    }

    /// Checked against CPython: `"abcdef"[::2]`, `[4:1:-1]`, `[::-1]`,
    /// `[-100:100]`, `[10**30:]`, `[True:]`; a zero step, a float and a
    /// string bound raise, so nothing folds.
    #[test]
    fn slices_of_constants_follow_python() {
        let s = Constant::Str(PyStr::new("abcdef"));
        let slice = |a: Constant, b: Constant, c: Constant| Constant::Slice(Box::new([a, b, c]));
        let n = || Constant::None;
        let text = |c: Option<Constant>| match c {
            Some(Constant::Str(s)) => Some(s.as_str().unwrap().to_owned()),
            _ => None,
        };
        let cut = |sl| text(subscript(&s, &sl).unwrap());
        assert_eq!(cut(slice(n(), n(), int(2))).as_deref(), Some("ace"));
        assert_eq!(cut(slice(int(4), int(1), int(-1))).as_deref(), Some("edc"));
        assert_eq!(cut(slice(n(), n(), int(-1))).as_deref(), Some("fedcba"));
        assert_eq!(cut(slice(int(-100), int(100), n())).as_deref(), Some("abcdef"));
        let big = BigInt::from(10u64).pow(30);
        let huge = Constant::Int(big.clone());
        assert_eq!(cut(slice(huge.clone(), n(), n())).as_deref(), Some(""));
        assert_eq!(cut(slice(n(), n(), Constant::Int(-big))).as_deref(), Some("f"));
        assert_eq!(cut(slice(Constant::Bool(true), n(), n())).as_deref(), Some("bcdef"));
        assert_eq!(cut(slice(n(), n(), int(0))), None);
        assert_eq!(cut(slice(Constant::Float(1.0), n(), n())), None);
        assert_eq!(cut(slice(Constant::Str(PyStr::new("a")), n(), n())), None);
        let t = Constant::Tuple(vec![int(1), int(2), int(3)]);
        let r = subscript(&t, &slice(int(1), n(), n())).unwrap().unwrap();
        assert!(r.same_key(&Constant::Tuple(vec![int(2), int(3)])));
        let b = subscript(&Constant::Bytes(b"abc".to_vec()), &slice(n(), int(1), n())).unwrap().unwrap();
        assert!(b.same_key(&Constant::Bytes(b"a".to_vec())));
        assert!(subscript(&int(5), &slice(n(), n(), n())).unwrap().is_none());
    }

    #[test]
    fn floats_follow_python() {
        assert_eq!(float_floordiv(7.0, -2.0), Some(-4.0));
        assert_eq!(float_rem(-7.0, 2.0), Some(1.0));
        assert_eq!(float_rem(7.0, -2.0), Some(-1.0));
    }

    #[test]
    fn sequences_respect_the_size_limits() {
        let s = Constant::Str(PyStr::new("ab"));
        assert!(binary(&CPYTHON_3_12, false, Operator::Mult, &s, &int(2048)).unwrap().is_some());
        assert!(binary(&CPYTHON_3_12, false, Operator::Mult, &s, &int(2049)).unwrap().is_none());
        assert!(binary(&CPYTHON_3_12, false, Operator::Mod, &s, &int(1)).unwrap().is_none());
    }

    #[test]
    fn regression_zero_to_a_power_beyond_u32_folds_to_zero() {
        let huge = Constant::Int(BigInt::from(10u64).pow(20));
        assert_eq!(
            format!("{:?}", binary(&CPYTHON_3_12, false, Operator::Pow, &int(0), &huge).unwrap()),
            format!("{:?}", Some(int(0)))
        );
        assert_eq!(
            format!("{:?}", binary(&CPYTHON_3_12, false, Operator::Pow, &int(1), &huge).unwrap()),
            format!("{:?}", None::<Constant>)
        );
    }

    #[test]
    fn integer_true_division_rounds_once() {
        let big = |e: u32| Constant::Int(BigInt::from(10u64).pow(e));
        assert_eq!(
            format!("{:?}", binary(&CPYTHON_3_12, false, Operator::Div, &big(400), &big(399)).unwrap()),
            format!("{:?}", Some(Constant::Float(10.0)))
        );
        assert_eq!(
            format!("{:?}", binary(&CPYTHON_3_12, false, Operator::Div, &big(400), &int(3)).unwrap()),
            format!("{:?}", None::<Constant>)
        );
        let tiny = Constant::Int(BigInt::from(1) << 1076u32);
        assert_eq!(
            format!("{:?}", binary(&CPYTHON_3_12, false, Operator::Div, &int(3), &tiny).unwrap()),
            format!("{:?}", Some(Constant::Float(f64::from_bits(1))))
        );
    }
}
