//! Expressions.

use ruff_python_ast as rs;
use ruff_text_size::{Ranged, TextSize};

use super::Lower;
use super::escapes;
use crate::ast::{self, Ctx, Expr, ExprKind};
use crate::code::{Constant, PyStr};
use crate::error::{Refusal, Result};
use crate::target::Feature;

pub fn operator(op: rs::Operator) -> ast::Operator {
    use ast::Operator as O;
    match op {
        rs::Operator::Add => O::Add,
        rs::Operator::Sub => O::Sub,
        rs::Operator::Mult => O::Mult,
        rs::Operator::MatMult => O::MatMult,
        rs::Operator::Div => O::Div,
        rs::Operator::Mod => O::Mod,
        rs::Operator::Pow => O::Pow,
        rs::Operator::LShift => O::LShift,
        rs::Operator::RShift => O::RShift,
        rs::Operator::BitOr => O::BitOr,
        rs::Operator::BitXor => O::BitXor,
        rs::Operator::BitAnd => O::BitAnd,
        rs::Operator::FloorDiv => O::FloorDiv,
    }
}

fn cmpop(op: rs::CmpOp) -> ast::CmpOp {
    use ast::CmpOp as C;
    match op {
        rs::CmpOp::Eq => C::Eq,
        rs::CmpOp::NotEq => C::NotEq,
        rs::CmpOp::Lt => C::Lt,
        rs::CmpOp::LtE => C::LtE,
        rs::CmpOp::Gt => C::Gt,
        rs::CmpOp::GtE => C::GtE,
        rs::CmpOp::Is => C::Is,
        rs::CmpOp::IsNot => C::IsNot,
        rs::CmpOp::In => C::In,
        rs::CmpOp::NotIn => C::NotIn,
    }
}

impl Lower<'_> {
    pub fn exprs(&mut self, exprs: &[rs::Expr]) -> Result<Vec<Expr>> {
        super::each(exprs, |e| self.expr(e))
    }

    pub fn opt_expr(&mut self, e: Option<&rs::Expr>) -> Result<Option<Box<Expr>>> {
        e.map(|e| self.expr(e).map(Box::new)).transpose()
    }

    fn ctx(&self, ctx: rs::ExprContext, range: ruff_text_size::TextRange) -> Result<Ctx> {
        match ctx {
            rs::ExprContext::Load => Ok(Ctx::Load),
            rs::ExprContext::Store => Ok(Ctx::Store),
            rs::ExprContext::Del => Ok(Ctx::Del),
            rs::ExprContext::Invalid => self.refuse(range, "an invalid expression context"),
        }
    }

    pub fn keywords(&mut self, keywords: &[rs::Keyword]) -> Result<Vec<ast::Keyword>> {
        super::each(keywords, |k| {
            Ok(ast::Keyword {
                range: self.range(k.range),
                arg: k.arg.as_ref().map(|a| self.ident(&a.id)),
                value: self.expr(&k.value)?,
            })
        })
    }

    fn comp(
        &mut self,
        elt: &rs::Expr,
        value: Option<&rs::Expr>,
        generators: &[rs::Comprehension],
    ) -> Result<Box<ast::Comp>> {
        let id = self.id();
        let elt = Box::new(self.expr(elt)?);
        let value = self.opt_expr(value)?;
        let generators = generators
            .iter()
            .map(|g| {
                Ok(ast::Comprehension {
                    target: self.expr(&g.target)?,
                    iter: self.expr(&g.iter)?,
                    ifs: self.exprs(&g.ifs)?,
                    is_async: g.is_async,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Box::new(ast::Comp { id, elt, value, generators }))
    }

    /// In a display or a bare tuple CPython's grammar stars only a
    /// `bitwise_or` expression (`[*a | b]`, not `[*a < b]`, unless
    /// bracketed); ruff's parser takes any. Call arguments and subscripts
    /// star any expression and do not come here.
    pub(crate) fn check_starred_items(&self, elts: &[rs::Expr]) -> Result<()> {
        for elt in elts {
            let rs::Expr::Starred(starred) = elt else { continue };
            let value = &*starred.value;
            let below = matches!(
                value,
                rs::Expr::Compare(_)
                    | rs::Expr::BoolOp(_)
                    | rs::Expr::If(_)
                    | rs::Expr::Lambda(_)
                    | rs::Expr::Named(_)
                    | rs::Expr::Yield(_)
                    | rs::Expr::YieldFrom(_)
                    | rs::Expr::UnaryOp(rs::ExprUnaryOp { op: rs::UnaryOp::Not, .. })
            );
            if below && !self.bracketed_after_star(starred.range.start(), value.range().start()) {
                let (line, col) = self.src.position(value.range().start().to_u32());
                return Err(Refusal::syntax_at(
                    "invalid syntax (a starred item must be a bitwise-or expression or bracketed)",
                    line,
                    col,
                ));
            }
        }
        Ok(())
    }

    /// Whether an opening bracket stands between the star at `star` and the
    /// value that starts at `value` (ruff's ranges leave brackets out).
    pub(crate) fn bracketed_after_star(&self, star: TextSize, value: TextSize) -> bool {
        let between = &self.src.text[star.to_usize() + 1..value.to_usize()];
        let mut in_comment = false;
        for c in between.chars() {
            match c {
                '\n' | '\r' => in_comment = false,
                _ if in_comment => {}
                '#' => in_comment = true,
                '(' => return true,
                _ => {}
            }
        }
        false
    }

    pub fn expr(&mut self, e: &rs::Expr) -> Result<Expr> {
        let range = self.range(e.range());
        let kind = match e {
            rs::Expr::BoolOp(b) => ExprKind::BoolOp {
                op: match b.op {
                    rs::BoolOp::And => ast::BoolOp::And,
                    rs::BoolOp::Or => ast::BoolOp::Or,
                },
                values: self.exprs(&b.values)?,
            },
            rs::Expr::Named(n) => {
                ExprKind::NamedExpr { target: Box::new(self.expr(&n.target)?), value: Box::new(self.expr(&n.value)?) }
            }
            rs::Expr::BinOp(b) => ExprKind::BinOp {
                left: Box::new(self.expr(&b.left)?),
                op: operator(b.op),
                right: Box::new(self.expr(&b.right)?),
            },
            rs::Expr::UnaryOp(u) => ExprKind::UnaryOp {
                op: match u.op {
                    rs::UnaryOp::Invert => ast::UnaryOp::Invert,
                    rs::UnaryOp::Not => ast::UnaryOp::Not,
                    rs::UnaryOp::UAdd => ast::UnaryOp::UAdd,
                    rs::UnaryOp::USub => ast::UnaryOp::USub,
                },
                operand: Box::new(self.expr(&u.operand)?),
            },
            rs::Expr::Lambda(l) => {
                let args = match &l.parameters {
                    Some(p) => self.arguments(p)?,
                    None => ast::Arguments::default(),
                };
                let id = self.id();
                ExprKind::Lambda { id, args: Box::new(args), body: Box::new(self.expr(&l.body)?) }
            }
            rs::Expr::If(i) => ExprKind::IfExp {
                test: Box::new(self.expr(&i.test)?),
                body: Box::new(self.expr(&i.body)?),
                orelse: Box::new(self.expr(&i.orelse)?),
            },
            rs::Expr::Dict(d) => {
                let mut keys = Vec::with_capacity(d.items.len());
                let mut values = Vec::with_capacity(d.items.len());
                for item in &d.items {
                    keys.push(item.key.as_ref().map(|k| self.expr(k)).transpose()?);
                    values.push(self.expr(&item.value)?);
                }
                ExprKind::Dict { keys, values }
            }
            rs::Expr::Set(s) => {
                self.check_starred_items(&s.elts)?;
                ExprKind::Set(self.exprs(&s.elts)?)
            }
            rs::Expr::ListComp(c) => {
                self.check_unpacking_elt(&c.elt, false)?;
                ExprKind::ListComp(self.comp(&c.elt, None, &c.generators)?)
            }
            rs::Expr::SetComp(c) => {
                self.check_unpacking_elt(&c.elt, false)?;
                ExprKind::SetComp(self.comp(&c.elt, None, &c.generators)?)
            }
            rs::Expr::DictComp(c) => match &c.key {
                Some(key) => ExprKind::DictComp(self.comp(key, Some(&c.value), &c.generators)?),
                // `{**d for d in ds}` (3.15, PEP 798): ruff keeps the
                // unpacked mapping as the value, CPython as the key with no
                // value; the lowered tree has CPython's shape.
                None if self.target.has(Feature::ComprehensionUnpacking) => {
                    ExprKind::DictComp(self.comp(&c.value, None, &c.generators)?)
                }
                None => {
                    return self.refuse(c.range, "dict unpacking in a dict comprehension for a version without it");
                }
            },
            rs::Expr::Generator(g) => {
                self.check_unpacking_elt(&g.elt, true)?;
                ExprKind::GeneratorExp(self.comp(&g.elt, None, &g.generators)?)
            }
            rs::Expr::Await(a) => ExprKind::Await(Box::new(self.expr(&a.value)?)),
            rs::Expr::Yield(y) => ExprKind::Yield(self.opt_expr(y.value.as_deref())?),
            rs::Expr::YieldFrom(y) => ExprKind::YieldFrom(Box::new(self.expr(&y.value)?)),
            rs::Expr::Compare(c) => ExprKind::Compare {
                left: Box::new(self.expr(&c.left)?),
                ops: c.ops.iter().map(|&op| cmpop(op)).collect(),
                comparators: self.exprs(&c.comparators)?,
            },
            rs::Expr::Call(c) => {
                let func = Box::new(self.expr(&c.func)?);
                let mut args = self.exprs(&c.arguments.args)?;
                // A generator expression as the only argument borrows the
                // call's parentheses, in CPython's positions.
                if let ([arg], [rs::Expr::Generator(g)], true) =
                    (args.as_mut_slice(), &*c.arguments.args, c.arguments.keywords.is_empty())
                {
                    if !g.parenthesized {
                        arg.range = self.range(c.arguments.range);
                    }
                }
                ExprKind::Call { func, args, keywords: self.keywords(&c.arguments.keywords)? }
            }
            rs::Expr::FString(f) => return self.fstring(f),
            rs::Expr::TString(t) => return self.tstring(t),
            rs::Expr::StringLiteral(s) => {
                let kind_u = s
                    .value
                    .iter()
                    .next()
                    .is_some_and(|p| matches!(p.flags.prefix(), rs::str_prefix::StringLiteralPrefix::Unicode));
                ExprKind::Constant { value: Constant::Str(self.string_value(s)?), kind_u }
            }
            rs::Expr::BytesLiteral(b) => {
                let mut bytes = Vec::new();
                for part in b.value.iter() {
                    self.check_escapes(part.range, part.flags.prefix().is_raw(), true);
                    bytes.extend_from_slice(&part.value);
                }
                ExprKind::Constant { value: Constant::Bytes(bytes), kind_u: false }
            }
            rs::Expr::NumberLiteral(n) => {
                self.check_number_end(n.range);
                let value = match &n.value {
                    rs::Number::Int(_) => Constant::Int(self.int_value(n.range)?),
                    rs::Number::Float(_) => Constant::Float(self.float_value(self.text(n.range))?),
                    rs::Number::Complex { .. } => {
                        let text = self.text(n.range);
                        let imag = self.float_value(&text[..text.len() - 1])?;
                        Constant::Complex { real: 0.0, imag }
                    }
                };
                ExprKind::Constant { value, kind_u: false }
            }
            rs::Expr::BooleanLiteral(b) => ExprKind::Constant { value: Constant::Bool(b.value), kind_u: false },
            rs::Expr::NoneLiteral(_) => ExprKind::Constant { value: Constant::None, kind_u: false },
            rs::Expr::EllipsisLiteral(_) => ExprKind::Constant { value: Constant::Ellipsis, kind_u: false },
            rs::Expr::Attribute(a) => ExprKind::Attribute {
                value: Box::new(self.expr(&a.value)?),
                attr: self.ident(&a.attr.id),
                ctx: self.ctx(a.ctx, a.range)?,
            },
            rs::Expr::Subscript(s) => ExprKind::Subscript {
                value: Box::new(self.expr(&s.value)?),
                // A slice's tuple may star any expression (`a[*b or c]`).
                slice: Box::new(match &*s.slice {
                    rs::Expr::Tuple(t) => Expr {
                        range: self.range(t.range),
                        kind: ExprKind::Tuple { elts: self.exprs(&t.elts)?, ctx: self.ctx(t.ctx, t.range)? },
                    },
                    slice => self.expr(slice)?,
                }),
                ctx: self.ctx(s.ctx, s.range)?,
            },
            rs::Expr::Starred(s) => {
                ExprKind::Starred { value: Box::new(self.expr(&s.value)?), ctx: self.ctx(s.ctx, s.range)? }
            }
            rs::Expr::Name(n) => ExprKind::Name { id: self.ident(&n.id), ctx: self.ctx(n.ctx, n.range)? },
            rs::Expr::List(l) => {
                self.check_starred_items(&l.elts)?;
                ExprKind::List { elts: self.exprs(&l.elts)?, ctx: self.ctx(l.ctx, l.range)? }
            }
            rs::Expr::Tuple(t) => {
                self.check_starred_items(&t.elts)?;
                ExprKind::Tuple { elts: self.exprs(&t.elts)?, ctx: self.ctx(t.ctx, t.range)? }
            }
            rs::Expr::Slice(s) => ExprKind::Slice {
                lower: self.opt_expr(s.lower.as_deref())?,
                upper: self.opt_expr(s.upper.as_deref())?,
                step: self.opt_expr(s.step.as_deref())?,
            },
            rs::Expr::IpyEscapeCommand(c) => return self.refuse(c.range, "IPython escape commands"),
        };
        Ok(Expr { range, kind })
    }

    /// A (possibly implicitly concatenated) string literal's value. ruff's
    /// decoded parts serve unless an escape names a lone surrogate, which
    /// its `str` cannot hold; those parts are decoded from the source.
    /// A number run into a keyword (`1if x else y`) is a warning; run
    /// into anything else it is a syntax error the parser already gave.
    fn check_number_end(&self, range: ruff_text_size::TextRange) {
        let next = self.src.text.as_bytes().get(range.end().to_usize());
        if !next.is_some_and(u8::is_ascii_alphabetic) {
            return;
        }
        let text = self.text(range).to_ascii_lowercase();
        let kind = if text.starts_with("0x") {
            "hexadecimal"
        } else if text.starts_with("0o") {
            "octal"
        } else if text.starts_with("0b") {
            "binary"
        } else {
            "decimal"
        };
        self.warn(range.end(), format!("invalid {kind} literal"));
    }

    fn string_value(&self, s: &rs::ExprStringLiteral) -> Result<PyStr> {
        let mut text = Vec::new();
        for part in s.value.iter() {
            let raw = part.flags.prefix().is_raw();
            text.extend(self.literal_text(part.range, raw, &part.value, true, "a string literal")?);
        }
        Ok(PyStr::from_encoded(text))
    }

    /// A literal's text in [`PyStr`]'s encoding, its invalid escapes warned
    /// about. ruff's decoded `str` serves unless an escape names a lone
    /// surrogate, which it cannot hold; such a literal is decoded again from
    /// the source: a whole string literal (`quoted`, with its prefix and
    /// quotes) or the text between an f-string's fields. `what` names it in
    /// refusals.
    pub fn literal_text(
        &self,
        range: ruff_text_size::TextRange,
        raw: bool,
        value: &str,
        quoted: bool,
        what: &str,
    ) -> Result<Vec<u8>> {
        self.check_escapes(range, raw, false);
        let text = self.text(range);
        if raw || !escapes::names_surrogate(text.as_bytes()) {
            return Ok(value.as_bytes().to_vec());
        }
        // Between fields, `{{` and `}}` stand for one brace each.
        if !quoted && (text.contains("{{") || text.contains("}}")) {
            return self.refuse(range, &format!("{what} with both a lone surrogate and a doubled brace"));
        }
        let decoded = if quoted { escapes::decode_literal(text) } else { escapes::decode_body(text) };
        match decoded {
            Ok(points) => Ok(PyStr::from_code_points(points).as_bytes().to_vec()),
            Err(escapes::DecodeError::NamedEscape) => {
                self.refuse(range, &format!("{what} with both a lone surrogate and a \\N{{...}} escape"))
            }
            Err(escapes::DecodeError::Malformed) => {
                Err(Refusal::internal(format!("{what} the escape decoder does not understand")))
            }
        }
    }

    /// Refuses f-string literal parts whose escapes make lone surrogates,
    /// which ruff's decoded `str` cannot hold.
    pub fn check_string_part(&self, range: ruff_text_size::TextRange, raw: bool) -> Result<()> {
        self.check_escapes(range, raw, false);
        if !raw && escapes::names_surrogate(self.text(range).as_bytes()) {
            return self.refuse(range, "an f-string with a lone surrogate");
        }
        Ok(())
    }
}
