//! `'...%s...' % (a, b)` becomes an f-string when every conversion is a
//! plain `%s`, `%r` or `%a` (with optional width and precision), as
//! CPython's `optimize_format` does. The literal parts and format specs get
//! no position, the formatted values their argument's.

use crate::ast::{Expr, ExprKind, Range};
use crate::code::{Constant, PyStr};

const NO_RANGE: Range = Range { lineno: -1, col_offset: -1, end_lineno: -1, end_col_offset: -1 };

fn constant(text: Vec<u32>) -> Expr {
    Expr {
        range: NO_RANGE,
        kind: ExprKind::Constant { value: Constant::Str(PyStr::from_code_points(text)), kind_u: false },
    }
}

/// The literal up to the next lone `%`, with `%%` unescaped.
fn parse_literal(fmt: &[u32], pos: &mut usize) -> Option<Expr> {
    let start = *pos;
    let mut out = Vec::new();
    while *pos < fmt.len() {
        if fmt[*pos] != u32::from('%') {
            out.push(fmt[*pos]);
            *pos += 1;
        } else if *pos + 1 < fmt.len() && fmt[*pos + 1] == u32::from('%') {
            out.push(u32::from('%'));
            *pos += 2;
        } else {
            break;
        }
    }
    if *pos == start {
        return None;
    }
    Some(constant(out))
}

/// Whether `e` is the `'%'` of a literal piece written exactly `%%` in a
/// folded format: CPython makes it by replacement, a new string object
/// rather than the one-character singleton a `'%'` literal is (marshal
/// writes it unflagged unless something else holds it). The pieces of a
/// fold are the only constants without a position.
pub fn is_new_percent(e: &Expr) -> bool {
    e.range == NO_RANGE && matches!(&e.kind, ExprKind::Constant { value: Constant::Str(s), .. } if s.as_bytes() == b"%")
}

const MAXDIGITS: usize = 3;

/// Flags, width, precision and conversion of one `%` unit; `None` when
/// the format is not one CPython rewrites.
fn simple_format_arg_parse(fmt: &[u32], pos: &mut usize) -> Option<(u32, bool, i32, i32)> {
    let mut p = *pos;
    let mut next = || -> Option<u32> {
        let ch = *fmt.get(p)?;
        p += 1;
        Some(ch)
    };
    let mut ljust = false;
    let mut ch;
    loop {
        ch = next()?;
        match char::from_u32(ch) {
            Some('-') => ljust = true,
            Some('+' | ' ' | '#' | '0') => {}
            _ => break,
        }
    }
    let digit = |c: u32| (u32::from('0')..=u32::from('9')).contains(&c);
    let mut width = -1;
    if digit(ch) {
        width = 0;
        let mut digits = 0;
        while digit(ch) {
            width = width * 10 + (ch - u32::from('0')) as i32;
            ch = next()?;
            digits += 1;
            if digits >= MAXDIGITS {
                return None;
            }
        }
    }
    let mut prec = -1;
    if ch == u32::from('.') {
        ch = next()?;
        prec = 0;
        if digit(ch) {
            let mut digits = 0;
            while digit(ch) {
                prec = prec * 10 + (ch - u32::from('0')) as i32;
                ch = next()?;
                digits += 1;
                if digits >= MAXDIGITS {
                    return None;
                }
            }
        }
    }
    drop(next);
    *pos = p;
    Some((ch, ljust, width, prec))
}

fn parse_format(fmt: &[u32], pos: &mut usize, arg: Expr) -> Option<Expr> {
    let (spec, ljust, width, prec) = simple_format_arg_parse(fmt, pos)?;
    let conversion = match char::from_u32(spec) {
        Some(c @ ('s' | 'r' | 'a')) => c as i32,
        _ => return None,
    };
    let mut buf = String::new();
    if !ljust && width > 0 {
        buf.push('>');
    }
    if width >= 0 {
        buf.push_str(&width.to_string());
    }
    if prec >= 0 {
        buf.push('.');
        buf.push_str(&prec.to_string());
    }
    let format_spec =
        if buf.is_empty() { None } else { Some(Box::new(constant(buf.chars().map(u32::from).collect()))) };
    let range = arg.range;
    Some(Expr { range, kind: ExprKind::FormattedValue { value: Box::new(arg), conversion, format_spec } })
}

/// The `JoinedStr` for `fmt % (elts...)`, or `None` to leave the
/// expression as it is.
pub fn optimize_format(_range: Range, fmt: &PyStr, elts: Vec<Expr>) -> Option<ExprKind> {
    let fmt = fmt.code_points();
    let mut pos = 0;
    let mut cnt = 0;
    let mut seq = Vec::new();
    let mut args = elts.into_iter();
    let total = args.len();
    loop {
        if let Some(lit) = parse_literal(&fmt, &mut pos) {
            seq.push(lit);
        }
        if pos >= fmt.len() {
            break;
        }
        if cnt >= total {
            return None;
        }
        pos += 1;
        let expr = parse_format(&fmt, &mut pos, args.next()?)?;
        cnt += 1;
        seq.push(expr);
    }
    if cnt < total {
        return None;
    }
    Some(ExprKind::JoinedStr(seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only a piece written exactly `%%` is the new `'%'` (sympy's
    /// tableform, 3.13's ipaddress; was refused); `'%'` elsewhere in a
    /// longer piece, or a parsed `'%'`, is not.
    #[test]
    fn regression_only_a_lone_double_percent_piece_is_a_new_percent() {
        for (fmt, found) in [
            ("%s%%%s", 1),
            ("%%%s", 1),
            ("%s%%", 1),
            ("%s%%%s%%", 2),
            ("100%% %s", 0),
            ("%s %%", 0),
            ("%-5r%%", 1),
            ("%s", 0),
        ] {
            let out = optimize_format(
                Range::default(),
                &PyStr::new(fmt),
                vec![name(); fmt.matches("%s").count() + fmt.matches("%-5r").count()],
            )
            .unwrap();
            let ExprKind::JoinedStr(parts) = out else { panic!() };
            assert_eq!(parts.iter().filter(|p| is_new_percent(p)).count(), found, "{fmt}");
        }
        let parsed = Expr {
            range: Range::default(),
            kind: ExprKind::Constant { value: Constant::Str(PyStr::new("%")), kind_u: false },
        };
        assert!(!is_new_percent(&parsed));
    }

    fn name() -> Expr {
        Expr { range: Range::default(), kind: ExprKind::Name { id: PyStr::new("x"), ctx: crate::ast::Ctx::Load } }
    }

    #[test]
    fn plain_conversions_become_fstrings() {
        let fmt = PyStr::new("a %s b %-5r 100%%");
        let out = optimize_format(Range::default(), &fmt, vec![name(), name()]).unwrap();
        let ExprKind::JoinedStr(parts) = out else { panic!() };
        assert_eq!(parts.len(), 5);
        assert!(optimize_format(Range::default(), &PyStr::new("%d"), vec![name()]).is_none());
        assert!(optimize_format(Range::default(), &PyStr::new("%s %s"), vec![name()]).is_none());
        assert!(optimize_format(Range::default(), &PyStr::new("%s"), vec![name(), name()]).is_none());
    }
}
