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

/// The result of folding one operation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome<T> {
    Value(T),
    /// Python raises, so the expression is left unfolded.
    Raises,
    /// The exact result cannot be known here; the reason says why.
    Unknown(&'static str),
}

/// Float arithmetic that notices when two different NaNs meet. The x86
/// instructions keep the first operand's NaN, and which operand comes
/// first is the C compiler's choice in CPython's build (it may swap the
/// operands of `+` and `*`), so the sign of such a result is not
/// predictable from the source.
#[derive(Debug, Default)]
pub struct Nans {
    mixed: std::cell::Cell<bool>,
}

impl Nans {
    fn meet(&self, a: f64, b: f64) {
        if mixed_nans(a, b) {
            self.mixed.set(true);
        }
    }

    pub fn mixed(&self) -> bool {
        self.mixed.get()
    }

    pub fn add(&self, a: f64, b: f64) -> f64 {
        self.meet(a, b);
        a + b
    }

    pub fn sub(&self, a: f64, b: f64) -> f64 {
        self.meet(a, b);
        a - b
    }

    pub fn mul(&self, a: f64, b: f64) -> f64 {
        self.meet(a, b);
        a * b
    }

    pub fn div(&self, a: f64, b: f64) -> f64 {
        self.meet(a, b);
        a / b
    }

    /// `r` unless different NaNs met on the way.
    fn outcome<T>(&self, r: T) -> Outcome<T> {
        if self.mixed() { Outcome::Unknown(MIXED_NANS) } else { Outcome::Value(r) }
    }
}

pub const MIXED_NANS: &str = "arithmetic on two different NaNs";

/// Whether `a` and `b` are NaNs with different bits.
pub fn mixed_nans(a: f64, b: f64) -> bool {
    a.is_nan() && b.is_nan() && a.to_bits() != b.to_bits()
}

/// `a * b`, the parts as CPython multiplies them.
pub fn prod(a: C, b: C, n: &Nans) -> C {
    let (rr, ii) = (n.mul(a.0, b.0), n.mul(a.1, b.1));
    let (ri, ir) = (n.mul(a.0, b.1), n.mul(a.1, b.0));
    (n.sub(rr, ii), n.add(ri, ir))
}

/// Division, scaling by whichever part of the divisor is larger in
/// magnitude so that the intermediate products cannot overflow early.
fn quot(a: C, b: C, errno: &mut Errno, n: &Nans) -> C {
    let (abs_re, abs_im) = (b.0.abs(), b.1.abs());
    if abs_re >= abs_im {
        if abs_re == 0.0 {
            *errno = Errno::Dom;
            return (0.0, 0.0);
        }
        let ratio = n.div(b.1, b.0);
        let denom = n.add(b.0, n.mul(b.1, ratio));
        let re = n.add(a.0, n.mul(a.1, ratio));
        let im = n.sub(a.1, n.mul(a.0, ratio));
        (n.div(re, denom), n.div(im, denom))
    } else if abs_im >= abs_re {
        let ratio = n.div(b.0, b.1);
        let denom = n.add(n.mul(b.0, ratio), b.1);
        let re = n.add(n.mul(a.0, ratio), a.1);
        let im = n.sub(n.mul(a.1, ratio), a.0);
        (n.div(re, denom), n.div(im, denom))
    } else {
        // A NaN in the divisor.
        (f64::NAN, f64::NAN)
    }
}

/// `a / b`; Python raises ZeroDivisionError for a zero divisor.
pub fn div(a: C, b: C) -> Outcome<C> {
    let mut errno = Errno::Ok;
    let nans = Nans::default();
    let r = quot(a, b, &mut errno, &nans);
    if errno != Errno::Ok {
        return Outcome::Raises;
    }
    nans.outcome(r)
}

/// What 3.14 leaves to its recovery of infinite and zero results.
pub const NAN_RECOVERY: &str = "complex product or quotient that 3.14 recovers from NaN";

/// 3.14's `complex / real`: each part divided by the real number; Python
/// raises ZeroDivisionError for a zero divisor.
pub fn div_by_real(a: C, b: f64) -> Outcome<C> {
    if b == 0.0 {
        return Outcome::Raises;
    }
    let nans = Nans::default();
    let r = (nans.div(a.0, b), nans.div(a.1, b));
    nans.outcome(r)
}

/// 3.14's `real / complex`: the scaled division with a numerator that has
/// no imaginary part at all, so no term of it is added (adding a zero
/// would turn a negative zero positive).
pub fn real_div(a: f64, b: C) -> Outcome<C> {
    let n = Nans::default();
    let (abs_re, abs_im) = (b.0.abs(), b.1.abs());
    let r = if abs_re >= abs_im {
        if abs_re == 0.0 {
            return Outcome::Raises;
        }
        let ratio = n.div(b.1, b.0);
        let denom = n.add(b.0, n.mul(b.1, ratio));
        (n.div(a, denom), n.div(n.mul(-a, ratio), denom))
    } else if abs_im >= abs_re {
        let ratio = n.div(b.0, b.1);
        let denom = n.add(n.mul(b.0, ratio), b.1);
        (n.div(n.mul(a, ratio), denom), n.div(-a, denom))
    } else {
        (f64::NAN, f64::NAN)
    };
    n.outcome(r)
}

/// Polar-form power for exponents that are not small integers.
fn pow_polar(a: C, b: C, errno: &mut Errno, n: &Nans) -> C {
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
    let mut phase = n.mul(at, b.0);
    if b.1 != 0.0 {
        len = n.div(len, n.mul(at, b.1).exp());
        phase = n.add(phase, n.mul(b.1, vabs.ln()));
    }
    // cos and sin of an infinite angle are domain errors in libm, and
    // CPython reports whatever errno is left.
    if phase.is_infinite() {
        *errno = Errno::Dom;
    }
    (n.mul(len, phase.cos()), n.mul(len, phase.sin()))
}

/// Repeated squaring, low bits first.
fn pow_unsigned(x: C, e: i64, n: &Nans) -> C {
    let mut r = (1.0, 0.0);
    let mut p = x;
    let mut mask: i64 = 1;
    while mask > 0 && e >= mask {
        if e & mask != 0 {
            r = prod(r, p, n);
        }
        mask <<= 1;
        p = prod(p, p, n);
    }
    r
}

fn pow_integer(x: C, e: i64, errno: &mut Errno, n: &Nans) -> C {
    if e > 0 {
        pow_unsigned(x, e, n)
    } else {
        let denominator = pow_unsigned(x, -e, n);
        quot((1.0, 0.0), denominator, errno, n)
    }
}

/// `a ** b` for complex operands. Python raises ZeroDivisionError for
/// zero to a negative or complex power or an infinite angle, and
/// OverflowError when a part of the result is infinite.
pub fn pow(a: C, b: C) -> Outcome<C> {
    let mut errno = Errno::Ok;
    let nans = Nans::default();
    let r = if b.1 == 0.0 && b.0 == b.0.floor() && b.0.abs() <= 100.0 {
        pow_integer(a, b.0 as i64, &mut errno, &nans)
    } else {
        pow_polar(a, b, &mut errno, &nans)
    };
    // An infinite part is an overflow; anything else a range error left
    // behind (an underflow) is forgotten.
    if r.0.is_infinite() || r.1.is_infinite() || errno != Errno::Ok {
        return Outcome::Raises;
    }
    nans.outcome(r)
}

/// What `float ** float` gives in 3.12.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FloatPow {
    Float(f64),
    /// A negative base to a fractional power: the complex power's result.
    Complex(C),
    /// Python raises (ZeroDivisionError, OverflowError).
    Raises,
    /// The exact result cannot be known here; the reason says why.
    Unknown(&'static str),
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
                Outcome::Value(c) => Complex(c),
                Outcome::Raises => Raises,
                Outcome::Unknown(why) => Unknown(why),
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
        return Unknown("a float power with a subnormal result");
    }
    Float(if negate { -r } else { r })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_scales_by_the_larger_part() {
        assert_eq!(div((1.0, 2.0), (3.0, 4.0)), Outcome::Value((0.44, 0.08)));
        assert_eq!(div((1.0, 0.0), (0.0, 0.0)), Outcome::Raises);
        assert_eq!(div((1.0, 1.0), (0.0, 2.0)), Outcome::Value((0.5, -0.5)));
    }

    #[test]
    fn small_integral_powers_square_repeatedly() {
        assert_eq!(pow((0.0, 1.0), (2.0, 0.0)), Outcome::Value((-1.0, 0.0)));
        assert_eq!(pow((2.0, 0.0), (-1.0, 0.0)), Outcome::Value((0.5, 0.0)));
        assert_eq!(pow((0.0, 0.0), (-1.0, 0.0)), Outcome::Raises);
        assert_eq!(pow((0.0, 0.0), (0.5, 1.0)), Outcome::Raises);
        assert_eq!(pow((1e200, 0.0), (2.0, 0.0)), Outcome::Raises);
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

    // Regression: `(1e999-1e999) ** (3-4j)` met libm's positive NaN and
    // the operand's negative one, and the native sign disagreed with
    // CPython's build.
    #[test]
    fn regression_nan_power_mixes_nans_and_is_not_decided() {
        let nan = f64::INFINITY - f64::INFINITY;
        let negative = if nan.is_sign_negative() { nan } else { -nan };
        assert_eq!(pow((negative, 0.0), (3.0, -4.0)), Outcome::Unknown(MIXED_NANS));
        assert!(matches!(pow((negative, 0.0), (2.0, 0.0)), Outcome::Value(_)));
    }
}
