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

/// Whether a format that [`optimize_format`] folds has a literal piece
/// written exactly `%%`: CPython makes its `%` by replacement, a new object
/// rather than the one-character singleton, which marshal writes
/// unflagged; the folded value cannot say so.
pub fn has_percent_only_piece(fmt: &PyStr) -> bool {
    let fmt = fmt.code_points();
    let percent = u32::from('%');
    let mut pos = 0;
    while pos < fmt.len() {
        let start = pos;
        while pos < fmt.len() && (fmt[pos] != percent || fmt.get(pos + 1) == Some(&percent)) {
            pos += if fmt[pos] == percent { 2 } else { 1 };
        }
        if pos - start == 2 && fmt[start] == percent {
            return true;
        }
        // Past the conversion that ends the piece.
        pos += 1;
        while pos < fmt.len() && !char::from_u32(fmt[pos]).is_some_and(|c| c.is_ascii_alphabetic()) {
            pos += 1;
        }
        pos += 1;
    }
    false
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

    #[test]
    fn regression_a_lone_percent_piece_is_found() {
        for (fmt, found) in [
            ("%s%%%s", true),
            ("%%%s", true),
            ("%s%%", true),
            ("100%% %s", false),
            ("%s %%", false),
            ("%-5r%%", true),
            ("%s", false),
        ] {
            assert_eq!(has_percent_only_piece(&PyStr::new(fmt)), found, "{fmt}");
        }
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
