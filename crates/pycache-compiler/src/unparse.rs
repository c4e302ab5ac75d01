//! Annotations as source text, for `from __future__ import annotations`:
//! the rendering CPython 3.12's `ast_unparse.c` gives an expression, with
//! its precedence-driven parentheses and Python's `repr` of constants.
//!
//! Text whose `repr` needs Unicode printability beyond ASCII is refused:
//! that needs the interpreter's Unicode database.

use crate::ast::{Arguments, BoolOp, CmpOp, Comprehension, Expr, ExprKind, Keyword, Operator, UnaryOp};
use crate::code::{Constant, PyStr};
use crate::error::{Refusal, Result};

const PR_TUPLE: u8 = 0;
const PR_TEST: u8 = 1;
const PR_OR: u8 = 2;
const PR_AND: u8 = 3;
const PR_NOT: u8 = 4;
const PR_CMP: u8 = 5;
const PR_EXPR: u8 = 6;
const PR_BOR: u8 = PR_EXPR;
const PR_BXOR: u8 = 7;
const PR_BAND: u8 = 8;
const PR_SHIFT: u8 = 9;
const PR_ARITH: u8 = 10;
const PR_TERM: u8 = 11;
const PR_FACTOR: u8 = 12;
const PR_POWER: u8 = 13;
const PR_AWAIT: u8 = 14;
const PR_ATOM: u8 = 15;

pub fn unparse(e: &Expr) -> Result<PyStr> {
    let mut w = Writer { out: Vec::new() };
    w.expr(e, PR_TEST)?;
    Ok(PyStr::from_code_points(w.out))
}

struct Writer {
    out: Vec<u32>,
}

impl Writer {
    fn s(&mut self, text: &str) {
        self.out.extend(text.chars().map(u32::from));
    }

    fn py(&mut self, text: &PyStr) {
        self.out.extend(text.code_points());
    }

    fn open(&mut self, cond: bool) {
        if cond {
            self.s("(");
        }
    }

    fn close(&mut self, cond: bool) {
        if cond {
            self.s(")");
        }
    }

    fn expr(&mut self, e: &Expr, level: u8) -> Result<()> {
        match &e.kind {
            ExprKind::BoolOp { op, values } => {
                let (text, pr) = if *op == BoolOp::And { (" and ", PR_AND) } else { (" or ", PR_OR) };
                self.open(level > pr);
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        self.s(text);
                    }
                    self.expr(v, pr + 1)?;
                }
                self.close(level > pr);
            }
            ExprKind::BinOp { left, op, right } => {
                let (text, pr, rassoc) = match op {
                    Operator::Add => (" + ", PR_ARITH, false),
                    Operator::Sub => (" - ", PR_ARITH, false),
                    Operator::Mult => (" * ", PR_TERM, false),
                    Operator::MatMult => (" @ ", PR_TERM, false),
                    Operator::Div => (" / ", PR_TERM, false),
                    Operator::Mod => (" % ", PR_TERM, false),
                    Operator::LShift => (" << ", PR_SHIFT, false),
                    Operator::RShift => (" >> ", PR_SHIFT, false),
                    Operator::BitOr => (" | ", PR_BOR, false),
                    Operator::BitXor => (" ^ ", PR_BXOR, false),
                    Operator::BitAnd => (" & ", PR_BAND, false),
                    Operator::FloorDiv => (" // ", PR_TERM, false),
                    Operator::Pow => (" ** ", PR_POWER, true),
                };
                self.open(level > pr);
                self.expr(left, pr + u8::from(rassoc))?;
                self.s(text);
                self.expr(right, pr + u8::from(!rassoc))?;
                self.close(level > pr);
            }
            ExprKind::UnaryOp { op, operand } => {
                let (text, pr) = match op {
                    UnaryOp::Invert => ("~", PR_FACTOR),
                    UnaryOp::Not => ("not ", PR_NOT),
                    UnaryOp::UAdd => ("+", PR_FACTOR),
                    UnaryOp::USub => ("-", PR_FACTOR),
                };
                self.open(level > pr);
                self.s(text);
                self.expr(operand, pr)?;
                self.close(level > pr);
            }
            ExprKind::Lambda { args, body, .. } => {
                self.open(level > PR_TEST);
                let positional = args.args.len() + args.posonlyargs.len();
                self.s(if positional > 0 { "lambda " } else { "lambda" });
                self.args(args)?;
                self.s(": ");
                self.expr(body, PR_TEST)?;
                self.close(level > PR_TEST);
            }
            ExprKind::IfExp { test, body, orelse } => {
                self.open(level > PR_TEST);
                self.expr(body, PR_TEST + 1)?;
                self.s(" if ");
                self.expr(test, PR_TEST + 1)?;
                self.s(" else ");
                self.expr(orelse, PR_TEST)?;
                self.close(level > PR_TEST);
            }
            ExprKind::Dict { keys, values } => {
                self.s("{");
                for (i, (k, v)) in keys.iter().zip(values).enumerate() {
                    if i > 0 {
                        self.s(", ");
                    }
                    match k {
                        Some(k) => {
                            self.expr(k, PR_TEST)?;
                            self.s(": ");
                            self.expr(v, PR_TEST)?;
                        }
                        None => {
                            self.s("**");
                            self.expr(v, PR_EXPR)?;
                        }
                    }
                }
                self.s("}");
            }
            ExprKind::Set(elts) => {
                self.s("{");
                self.seq(elts)?;
                self.s("}");
            }
            ExprKind::GeneratorExp(c) => {
                self.s("(");
                self.expr(&c.elt, PR_TEST)?;
                self.comprehensions(&c.generators)?;
                self.s(")");
            }
            ExprKind::ListComp(c) => {
                self.s("[");
                self.expr(&c.elt, PR_TEST)?;
                self.comprehensions(&c.generators)?;
                self.s("]");
            }
            ExprKind::SetComp(c) => {
                self.s("{");
                self.expr(&c.elt, PR_TEST)?;
                self.comprehensions(&c.generators)?;
                self.s("}");
            }
            ExprKind::DictComp(c) => {
                self.s("{");
                match &c.value {
                    Some(v) => {
                        self.expr(&c.elt, PR_TEST)?;
                        self.s(": ");
                        self.expr(v, PR_TEST)?;
                    }
                    // `{**d for d in ds}` (3.15): the mapping is unparsed
                    // as a test, unbracketed (`{**a or b for ...}`).
                    None => {
                        self.s("**");
                        self.expr(&c.elt, PR_TEST)?;
                    }
                }
                self.comprehensions(&c.generators)?;
                self.s("}");
            }
            ExprKind::Yield(value) => match value {
                None => self.s("(yield)"),
                Some(v) => {
                    self.s("(yield ");
                    self.expr(v, PR_TEST)?;
                    self.s(")");
                }
            },
            ExprKind::YieldFrom(value) => {
                self.s("(yield from ");
                self.expr(value, PR_TEST)?;
                self.s(")");
            }
            ExprKind::Await(value) => {
                self.open(level > PR_AWAIT);
                self.s("await ");
                self.expr(value, PR_ATOM)?;
                self.close(level > PR_AWAIT);
            }
            ExprKind::Compare { left, ops, comparators } => {
                self.open(level > PR_CMP);
                self.expr(left, PR_CMP + 1)?;
                for (op, c) in ops.iter().zip(comparators) {
                    self.s(match op {
                        CmpOp::Eq => " == ",
                        CmpOp::NotEq => " != ",
                        CmpOp::Lt => " < ",
                        CmpOp::LtE => " <= ",
                        CmpOp::Gt => " > ",
                        CmpOp::GtE => " >= ",
                        CmpOp::Is => " is ",
                        CmpOp::IsNot => " is not ",
                        CmpOp::In => " in ",
                        CmpOp::NotIn => " not in ",
                    });
                    self.expr(c, PR_CMP + 1)?;
                }
                self.close(level > PR_CMP);
            }
            ExprKind::Call { func, args, keywords } => {
                self.expr(func, PR_ATOM)?;
                if let ([arg], []) = (args.as_slice(), keywords.as_slice()) {
                    if let ExprKind::GeneratorExp(_) = &arg.kind {
                        return self.expr(arg, PR_TEST);
                    }
                }
                self.s("(");
                let mut first = true;
                for a in args {
                    if !first {
                        self.s(", ");
                    }
                    first = false;
                    self.expr(a, PR_TEST)?;
                }
                for k in keywords {
                    if !first {
                        self.s(", ");
                    }
                    first = false;
                    self.keyword(k)?;
                }
                self.s(")");
            }
            ExprKind::Constant { value, kind_u } => {
                if matches!(value, Constant::Ellipsis) {
                    self.s("...");
                    return Ok(());
                }
                if *kind_u {
                    self.s("u");
                }
                self.constant(value)?;
            }
            ExprKind::JoinedStr(values) => self.joinedstr(values, false)?,
            ExprKind::FormattedValue { .. } => self.formatted_value(e)?,
            ExprKind::TemplateStr(values) => {
                let body = self.fstring_body(values, false)?;
                self.s("t");
                let repr = str_repr(&body)?;
                self.out.extend(repr);
            }
            ExprKind::Interpolation { .. } => return Err(Refusal::internal("an interpolation outside a t-string")),
            ExprKind::Attribute { value, attr, .. } => {
                self.expr(value, PR_ATOM)?;
                let int_const = matches!(value.kind, ExprKind::Constant { value: Constant::Int(_), .. });
                self.s(if int_const { " ." } else { "." });
                self.py(attr);
            }
            ExprKind::Subscript { value, slice, .. } => {
                // A slice tuple is written bare, starred items included
                // (`tuple[*Ts,]`): 3.12.1 and 3.13 no longer bracket it as
                // 3.11 did.
                self.expr(value, PR_ATOM)?;
                self.s("[");
                self.expr(slice, PR_TUPLE)?;
                self.s("]");
            }
            ExprKind::Starred { value, .. } => {
                self.s("*");
                self.expr(value, PR_EXPR)?;
            }
            ExprKind::Slice { lower, upper, step } => {
                if let Some(l) = lower {
                    self.expr(l, PR_TEST)?;
                }
                self.s(":");
                if let Some(u) = upper {
                    self.expr(u, PR_TEST)?;
                }
                if let Some(s) = step {
                    self.s(":");
                    self.expr(s, PR_TEST)?;
                }
            }
            ExprKind::Name { id, .. } => self.py(id),
            ExprKind::List { elts, .. } => {
                self.s("[");
                self.seq(elts)?;
                self.s("]");
            }
            ExprKind::Tuple { elts, .. } => {
                if elts.is_empty() {
                    self.s("()");
                    return Ok(());
                }
                self.open(level > PR_TUPLE);
                self.seq(elts)?;
                if elts.len() == 1 {
                    self.s(",");
                }
                self.close(level > PR_TUPLE);
            }
            ExprKind::NamedExpr { target, value } => {
                self.open(level > PR_TUPLE);
                self.expr(target, PR_ATOM)?;
                self.s(" := ");
                self.expr(value, PR_ATOM)?;
                self.close(level > PR_TUPLE);
            }
        }
        Ok(())
    }

    fn seq(&mut self, elts: &[Expr]) -> Result<()> {
        for (i, e) in elts.iter().enumerate() {
            if i > 0 {
                self.s(", ");
            }
            self.expr(e, PR_TEST)?;
        }
        Ok(())
    }

    fn keyword(&mut self, k: &Keyword) -> Result<()> {
        match &k.arg {
            None => self.s("**"),
            Some(a) => {
                self.py(a);
                self.s("=");
            }
        }
        self.expr(&k.value, PR_TEST)
    }

    fn comprehensions(&mut self, gens: &[Comprehension]) -> Result<()> {
        for g in gens {
            self.s(if g.is_async { " async for " } else { " for " });
            self.expr(&g.target, PR_TUPLE)?;
            self.s(" in ");
            self.expr(&g.iter, PR_TEST + 1)?;
            for cond in &g.ifs {
                self.s(" if ");
                self.expr(cond, PR_TEST + 1)?;
            }
        }
        Ok(())
    }

    fn arg(&mut self, a: &crate::ast::Arg) -> Result<()> {
        self.py(&a.arg);
        if let Some(ann) = &a.annotation {
            self.s(": ");
            self.expr(ann, PR_TEST)?;
        }
        Ok(())
    }

    fn args(&mut self, args: &Arguments) -> Result<()> {
        let mut first = true;
        let npos = args.posonlyargs.len();
        let all: Vec<&crate::ast::Arg> = args.posonlyargs.iter().chain(&args.args).collect();
        let ndefaults = args.defaults.len() as isize;
        for (i, a) in all.iter().enumerate() {
            if !first {
                self.s(", ");
            }
            first = false;
            self.arg(a)?;
            let di = i as isize - all.len() as isize + ndefaults;
            if di >= 0 {
                self.s("=");
                self.expr(&args.defaults[di as usize], PR_TEST)?;
            }
            if npos > 0 && i + 1 == npos {
                self.s(", /");
            }
        }
        if args.vararg.is_some() || !args.kwonlyargs.is_empty() {
            if !first {
                self.s(", ");
            }
            first = false;
            self.s("*");
            if let Some(v) = &args.vararg {
                self.arg(v)?;
            }
        }
        for (a, default) in args.kwonlyargs.iter().zip(&args.kw_defaults) {
            if !first {
                self.s(", ");
            }
            first = false;
            self.arg(a)?;
            if let Some(d) = default {
                self.s("=");
                self.expr(d, PR_TEST)?;
            }
        }
        if let Some(k) = &args.kwarg {
            if !first {
                self.s(", ");
            }
            self.s("**");
            self.arg(k)?;
        }
        Ok(())
    }

    fn fstring_body(&mut self, values: &[Expr], is_format_spec: bool) -> Result<Vec<u32>> {
        let mut inner = Writer { out: Vec::new() };
        for v in values {
            match &v.kind {
                ExprKind::Constant { value: Constant::Str(s), .. } => {
                    for cp in s.code_points() {
                        inner.out.push(cp);
                        if cp == u32::from('{') || cp == u32::from('}') {
                            inner.out.push(cp);
                        }
                    }
                }
                ExprKind::JoinedStr(vals) => inner.joinedstr(vals, is_format_spec)?,
                ExprKind::FormattedValue { .. } => inner.formatted_value(v)?,
                ExprKind::Interpolation { .. } => inner.interpolation(v)?,
                _ => return Err(Refusal::internal("unexpected expression in an f-string")),
            }
        }
        Ok(inner.out)
    }

    fn joinedstr(&mut self, values: &[Expr], is_format_spec: bool) -> Result<()> {
        let body = self.fstring_body(values, is_format_spec)?;
        if is_format_spec {
            self.out.extend(body);
        } else {
            self.s("f");
            let repr = str_repr(&body)?;
            self.out.extend(repr);
        }
        Ok(())
    }

    /// A t-string's field shows the expression as written (its recorded
    /// text), not unparsed; a text starting with a brace is set apart from
    /// the field's own.
    fn interpolation(&mut self, e: &Expr) -> Result<()> {
        let ExprKind::Interpolation { text, conversion, format_spec, .. } = &e.kind else { return Ok(()) };
        let points = text.code_points();
        self.s(if points.first() == Some(&u32::from('{')) { "{ " } else { "{" });
        self.out.extend(points);
        self.conversion_and_spec(*conversion, format_spec.as_deref())?;
        self.s("}");
        Ok(())
    }

    fn formatted_value(&mut self, e: &Expr) -> Result<()> {
        let ExprKind::FormattedValue { value, conversion, format_spec } = &e.kind else { return Ok(()) };
        let mut inner = Writer { out: Vec::new() };
        inner.expr(value, PR_TEST + 1)?;
        self.s(if inner.out.first() == Some(&u32::from('{')) { "{ " } else { "{" });
        self.out.extend(inner.out);
        self.conversion_and_spec(*conversion, format_spec.as_deref())?;
        self.s("}");
        Ok(())
    }

    fn conversion_and_spec(&mut self, conversion: i32, format_spec: Option<&Expr>) -> Result<()> {
        if conversion > 0 {
            self.s(match u8::try_from(conversion).unwrap_or(0) {
                b'a' => "!a",
                b'r' => "!r",
                b's' => "!s",
                _ => return Err(Refusal::internal("unknown conversion")),
            });
        }
        if let Some(spec) = format_spec {
            self.s(":");
            match &spec.kind {
                ExprKind::JoinedStr(vals) => self.joinedstr(vals, true)?,
                ExprKind::Constant { value: Constant::Str(s), .. } => {
                    for cp in s.code_points() {
                        self.out.push(cp);
                        if cp == u32::from('{') || cp == u32::from('}') {
                            self.out.push(cp);
                        }
                    }
                }
                ExprKind::FormattedValue { .. } => self.formatted_value(spec)?,
                _ => return Err(Refusal::internal("unexpected format spec")),
            }
        }
        Ok(())
    }

    fn constant(&mut self, c: &Constant) -> Result<()> {
        match c {
            Constant::Tuple(items) => {
                self.s("(");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.s(", ");
                    }
                    self.constant(item)?;
                }
                if items.len() == 1 {
                    self.s(",");
                }
                self.s(")");
            }
            other => {
                let repr = repr(other)?;
                self.out.extend(repr);
            }
        }
        Ok(())
    }
}

/// Python's `repr` of a constant, with `inf` spelled `1e309` as the
/// unparser does for floats and complex numbers.
fn repr(c: &Constant) -> Result<Vec<u32>> {
    let text = match c {
        Constant::None => "None".to_owned(),
        Constant::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        Constant::Ellipsis => "Ellipsis".to_owned(),
        Constant::Int(i) => i.to_string(),
        Constant::Float(f) => float_repr(*f).replace("inf", "1e309"),
        Constant::Complex { real, imag } => complex_repr(*real, *imag).replace("inf", "1e309"),
        Constant::Str(s) => return str_repr(&s.code_points()),
        Constant::Bytes(b) => bytes_repr(b),
        Constant::Tuple(_) | Constant::FrozenSet(_) | Constant::Slice(_) | Constant::Code(_) => {
            return Err(Refusal::unsupported("unparsing this constant"));
        }
    };
    Ok(text.chars().map(u32::from).collect())
}

/// `repr(float)`: the shortest digits that round-trip, fixed notation for
/// exponents from -4 to 15, scientific otherwise.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    let sci = format!("{:e}", f);
    let (mantissa, exp) = sci.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let point = exp + 1;
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        format!("{sign}{body}")
    } else {
        let frac = if digits.len() > 1 { format!("{}.{}", &digits[..1], &digits[1..]) } else { digits.clone() };
        let esign = if exp < 0 { "-" } else { "+" };
        format!("{sign}{frac}e{esign}{:02}", exp.abs())
    }
}

fn complex_repr(real: f64, imag: f64) -> String {
    // Python formats the parts with repr, dropping a trailing ".0".
    let part = |f: f64| {
        let r = float_repr(f);
        r.strip_suffix(".0").map(str::to_owned).unwrap_or(r)
    };
    if real == 0.0 && real.is_sign_positive() {
        return format!("{}j", part(imag));
    }
    let im = part(imag);
    let sign = if im.starts_with('-') || imag.is_nan() && im.starts_with('-') { "" } else { "+" };
    format!("({}{sign}{}j)", part(real), im)
}

fn bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') { '"' } else { '\'' };
    let mut out = format!("b{quote}");
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            c if c == quote as u8 => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push(quote);
    out
}

/// `repr(str)`.
fn str_repr(points: &[u32]) -> Result<Vec<u32>> {
    let has_single = points.contains(&u32::from('\''));
    let has_double = points.contains(&u32::from('"'));
    let quote = if has_single && !has_double { u32::from('"') } else { u32::from('\'') };
    let mut out = vec![quote];
    for &cp in points {
        match cp {
            0x5c => out.extend([0x5c, 0x5c]),
            0x09 => out.extend([0x5c, u32::from('t')]),
            0x0a => out.extend([0x5c, u32::from('n')]),
            0x0d => out.extend([0x5c, u32::from('r')]),
            c if c == quote => out.extend([0x5c, c]),
            0x20..=0x7e => out.push(cp),
            c if c < 0x20 || c == 0x7f => out.extend(format!("\\x{c:02x}").chars().map(u32::from)),
            _ => return Err(Refusal::unsupported("unparsing non-ASCII text")),
        }
    }
    out.push(quote);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python() {
        assert_eq!(float_repr(1.0), "1.0");
        assert_eq!(float_repr(0.1), "0.1");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(1.5e-5), "1.5e-05");
        assert_eq!(float_repr(123456.789), "123456.789");
        assert_eq!(float_repr(0.0001), "0.0001");
        assert_eq!(complex_repr(0.0, 2.0), "2j");
        assert_eq!(complex_repr(1.0, -2.0), "(1-2j)");
    }

    #[test]
    fn strings_pick_their_quotes() {
        let r = |s: &str| {
            String::from_iter(
                str_repr(&s.chars().map(u32::from).collect::<Vec<_>>())
                    .unwrap()
                    .into_iter()
                    .map(|c| char::from_u32(c).unwrap()),
            )
        };
        assert_eq!(r("a"), "'a'");
        assert_eq!(r("it's"), "\"it's\"");
        assert_eq!(r("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(r("\n"), "'\\n'");
    }
}
