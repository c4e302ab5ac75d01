//! Complex and float arithmetic with CPython 3.12's algorithms, where the
//! obvious formula would round differently: division scaled by the larger
//! part of the divisor, powers by repeated squaring for small integral
//! exponents and through polar form otherwise, and the error rules (what
//! raises, and so is not folded). The libm functions are the platform's,
//! as CPython's are.

/// A complex value as `(real, imag)`.
pub type C = (f64, f64);

/// What CPython's `errno` would say after an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Errno {
    Ok,
    /// Domain error: division by zero, zero to a negative power.
    Dom,
}

fn prod(a: C, b: C) -> C {
    (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0)
}

/// Division, scaling by whichever part of the divisor is larger in
/// magnitude so that the intermediate products cannot overflow early.
fn quot(a: C, b: C, errno: &mut Errno) -> C {
    let (abs_re, abs_im) = (b.0.abs(), b.1.abs());
    if abs_re >= abs_im {
        if abs_re == 0.0 {
            *errno = Errno::Dom;
            return (0.0, 0.0);
        }
        let ratio = b.1 / b.0;
        let denom = b.0 + b.1 * ratio;
        ((a.0 + a.1 * ratio) / denom, (a.1 - a.0 * ratio) / denom)
    } else if abs_im >= abs_re {
        let ratio = b.0 / b.1;
        let denom = b.0 * ratio + b.1;
        ((a.0 * ratio + a.1) / denom, (a.1 * ratio - a.0) / denom)
    } else {
        // A NaN in the divisor.
        (f64::NAN, f64::NAN)
    }
}

/// `a / b`, or `None` when Python raises ZeroDivisionError.
pub fn div(a: C, b: C) -> Option<C> {
    let mut errno = Errno::Ok;
    let r = quot(a, b, &mut errno);
    (errno == Errno::Ok).then_some(r)
}

/// Polar-form power for exponents that are not small integers.
fn pow_polar(a: C, b: C, errno: &mut Errno) -> C {
    if b.0 == 0.0 && b.1 == 0.0 {
        return (1.0, 0.0);
    }
    if a.0 == 0.0 && a.1 == 0.0 {
        if b.1 != 0.0 || b.0 < 0.0 {
            *errno = Errno::Dom;
        }
        return (0.0, 0.0);
    }
    let vabs = a.0.hypot(a.1);
    let mut len = vabs.powf(b.0);
    let at = a.1.atan2(a.0);
    let mut phase = at * b.0;
    if b.1 != 0.0 {
        len /= (at * b.1).exp();
        phase += b.1 * vabs.ln();
    }
    // cos and sin of an infinite angle are domain errors in libm, and
    // CPython reports whatever errno is left.
    if phase.is_infinite() {
        *errno = Errno::Dom;
    }
    (len * phase.cos(), len * phase.sin())
}

/// Repeated squaring, low bits first.
fn pow_unsigned(x: C, n: i64) -> C {
    let mut r = (1.0, 0.0);
    let mut p = x;
    let mut mask: i64 = 1;
    while mask > 0 && n >= mask {
        if n & mask != 0 {
            r = prod(r, p);
        }
        mask <<= 1;
        p = prod(p, p);
    }
    r
}

fn pow_integer(x: C, n: i64, errno: &mut Errno) -> C {
    if n > 0 { pow_unsigned(x, n) } else { quot((1.0, 0.0), pow_unsigned(x, -n), errno) }
}

/// `a ** b` for complex operands, or `None` when Python raises
/// (ZeroDivisionError for zero to a negative or complex power or an
/// infinite angle, OverflowError when a part of the result is infinite).
pub fn pow(a: C, b: C) -> Option<C> {
    let mut errno = Errno::Ok;
    let r = if b.1 == 0.0 && b.0 == b.0.floor() && b.0.abs() <= 100.0 {
        pow_integer(a, b.0 as i64, &mut errno)
    } else {
        pow_polar(a, b, &mut errno)
    };
    // An infinite part is an overflow; anything else a range error left
    // behind (an underflow) is forgotten.
    if r.0.is_infinite() || r.1.is_infinite() {
        return None;
    }
    (errno == Errno::Ok).then_some(r)
}

/// What `float ** float` gives in 3.12.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FloatPow {
    Float(f64),
    /// A negative base to a fractional power: the complex power's result.
    Complex(C),
    /// Python raises (ZeroDivisionError, OverflowError).
    Raises,
    /// The platform's `pow` may have reported an underflow that CPython
    /// would turn into an OverflowError; not decided here.
    Unknown,
}

fn is_odd_integer(x: f64) -> bool {
    (x.abs() % 2.0) == 1.0
}

pub fn float_pow(v: f64, w: f64) -> FloatPow {
    use FloatPow::*;
    if w == 0.0 {
        return Float(1.0);
    }
    if v.is_nan() {
        return Float(v);
    }
    if w.is_nan() {
        return Float(if v == 1.0 { 1.0 } else { w });
    }
    if w.is_infinite() {
        let av = v.abs();
        return Float(if av == 1.0 {
            1.0
        } else if (w > 0.0) == (av > 1.0) {
            w.abs()
        } else {
            0.0
        });
    }
    if v.is_infinite() {
        let odd = is_odd_integer(w);
        return Float(if w > 0.0 {
            if odd { v } else { v.abs() }
        } else if odd {
            0f64.copysign(v)
        } else {
            0.0
        });
    }
    if v == 0.0 {
        if w < 0.0 {
            return Raises;
        }
        return Float(if is_odd_integer(w) { v } else { 0.0 });
    }
    if v == 1.0 {
        return Float(1.0);
    }
    let mut base = v;
    let mut negate = false;
    if v < 0.0 {
        if w != w.floor() {
            return match pow((v, 0.0), (w, 0.0)) {
                Some(c) => Complex(c),
                None => Raises,
            };
        }
        base = -v;
        negate = is_odd_integer(w);
    }
    if base == 1.0 {
        return Float(if negate { -1.0 } else { 1.0 });
    }
    let r = base.powf(w);
    if r.is_infinite() {
        return Raises;
    }
    // An inexact subnormal result may come with an underflow errno,
    // which CPython keeps (it only forgets one that left zero).
    if r != 0.0 && r.abs() < f64::MIN_POSITIVE {
        return Unknown;
    }
    Float(if negate { -r } else { r })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_scales_by_the_larger_part() {
        assert_eq!(div((1.0, 2.0), (3.0, 4.0)), Some((0.44, 0.08)));
        assert_eq!(div((1.0, 0.0), (0.0, 0.0)), None);
        assert_eq!(div((1.0, 1.0), (0.0, 2.0)), Some((0.5, -0.5)));
    }

    #[test]
    fn small_integral_powers_square_repeatedly() {
        assert_eq!(pow((0.0, 1.0), (2.0, 0.0)), Some((-1.0, 0.0)));
        assert_eq!(pow((2.0, 0.0), (-1.0, 0.0)), Some((0.5, 0.0)));
        assert_eq!(pow((0.0, 0.0), (-1.0, 0.0)), None);
        assert_eq!(pow((0.0, 0.0), (0.5, 1.0)), None);
        assert_eq!(pow((1e200, 0.0), (2.0, 0.0)), None);
    }

    #[test]
    fn float_powers_follow_the_special_cases() {
        assert_eq!(float_pow(0.0, -1.0), FloatPow::Raises);
        assert_eq!(float_pow(-0.0, 3.0), FloatPow::Float(-0.0));
        assert_eq!(float_pow(-1.0, 1e300), FloatPow::Float(1.0));
        assert_eq!(float_pow(10.0, 400.0), FloatPow::Raises);
        assert_eq!(float_pow(f64::INFINITY, -3.0), FloatPow::Float(0.0));
        assert!(matches!(float_pow(-8.0, 1.0 / 3.0), FloatPow::Complex(_)));
    }
}
