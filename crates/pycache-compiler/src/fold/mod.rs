//! AST constant folding, as CPython 3.12's `ast_opt.c` does it before the
//! symbol table: operators on constants, constant tuples, subscripts of
//! constants, `in` over literal lists and sets (tuples and frozensets),
//! `__debug__`, and `%`-formatting of a string with a tuple turned into an
//! f-string.
//!
//! Where CPython would fold something this stage cannot compute exactly,
//! it refuses the file rather than leave the expression unfolded.

mod complex;
pub(crate) mod format;
pub(crate) mod ops;

use crate::ast::{self, Ctx, Expr, ExprKind, Stmt, StmtKind};
use crate::code::Constant;
use crate::error::Result;

pub struct Folder {
    /// The target's folding limits.
    pub limits: &'static crate::limits::Limits,
    pub optimize: u8,
    pub future_annotations: bool,
    /// 3.14 (`Feature::CfgFolding`): operators, tuples, subscripts, `not`
    /// and `in`/`for` displays are left to the flow graph; only
    /// `__debug__` and `%`-formatting stay here.
    pub cfg_folding: bool,
    /// 3.14 (`Feature::MixedModeComplex`): a real operand of complex
    /// arithmetic is not made complex first.
    pub mixed_complex: bool,
    /// Warnings the operations raise as they are folded.
    pub warnings: std::cell::RefCell<Vec<crate::warning::Warning>>,
}

/// What `~True` says as it is folded (and so at compile time), a
/// DeprecationWarning since 3.12.
const INVERT_BOOL: &str = "Bitwise inversion '~' on bool is deprecated. This returns the bitwise inversion of the \
underlying int object and is usually not what you expect from negating a bool. Use the 'not' operator for boolean \
negation or ~int(x) if you really want the bitwise inversion of the underlying int.";

fn make_const(e: &mut Expr, value: Constant) {
    e.kind = ExprKind::Constant { value, kind_u: false };
}

impl Folder {
    pub fn module(&self, m: &mut ast::Module) -> Result<()> {
        self.body(&mut m.body)
    }

    fn body(&self, stmts: &mut [Stmt]) -> Result<()> {
        let had_docstring = ast::docstring(stmts).is_some();
        for s in stmts.iter_mut() {
            self.stmt(s)?;
        }
        // A string made by folding must not become a docstring.
        if !had_docstring && ast::docstring(stmts).is_some() {
            let st = &mut stmts[0];
            let range = st.range;
            if let StmtKind::Expr(value) = &mut st.kind {
                let inner = std::mem::replace(value.as_mut(), Expr { range, kind: ExprKind::JoinedStr(Vec::new()) });
                **value = Expr { range, kind: ExprKind::JoinedStr(vec![inner]) };
            }
        }
        Ok(())
    }

    fn stmts(&self, stmts: &mut [Stmt]) -> Result<()> {
        stmts.iter_mut().try_for_each(|s| self.stmt(s))
    }

    fn exprs(&self, exprs: &mut [Expr]) -> Result<()> {
        exprs.iter_mut().try_for_each(|e| self.expr(e))
    }

    fn opt(&self, e: &mut Option<Box<Expr>>) -> Result<()> {
        match e {
            Some(e) => self.expr(e),
            None => Ok(()),
        }
    }

    fn arguments(&self, a: &mut ast::Arguments) -> Result<()> {
        for arg in a.posonlyargs.iter_mut().chain(a.args.iter_mut()) {
            self.arg(arg)?;
        }
        if let Some(v) = &mut a.vararg {
            self.arg(v)?;
        }
        for arg in &mut a.kwonlyargs {
            self.arg(arg)?;
        }
        for d in a.kw_defaults.iter_mut().flatten() {
            self.expr(d)?;
        }
        if let Some(k) = &mut a.kwarg {
            self.arg(k)?;
        }
        self.exprs(&mut a.defaults)
    }

    fn arg(&self, a: &mut ast::Arg) -> Result<()> {
        if !self.future_annotations {
            self.opt(&mut a.annotation)?;
        }
        Ok(())
    }

    fn stmt(&self, s: &mut Stmt) -> Result<()> {
        match &mut s.kind {
            StmtKind::FunctionDef(f) | StmtKind::AsyncFunctionDef(f) => {
                self.type_params(&mut f.type_params)?;
                self.arguments(&mut f.args)?;
                self.body(&mut f.body)?;
                self.exprs(&mut f.decorator_list)?;
                if !self.future_annotations {
                    self.opt(&mut f.returns)?;
                }
            }
            StmtKind::ClassDef(c) => {
                self.type_params(&mut c.type_params)?;
                self.exprs(&mut c.bases)?;
                for k in &mut c.keywords {
                    self.expr(&mut k.value)?;
                }
                self.body(&mut c.body)?;
                self.exprs(&mut c.decorator_list)?;
            }
            StmtKind::Return(v) => self.opt(v)?,
            StmtKind::Delete(targets) => self.exprs(targets)?,
            StmtKind::Assign { targets, value } => {
                self.exprs(targets)?;
                self.expr(value)?;
            }
            StmtKind::AugAssign { target, value, .. } => {
                self.expr(target)?;
                self.expr(value)?;
            }
            StmtKind::AnnAssign { target, annotation, value, .. } => {
                self.expr(target)?;
                if !self.future_annotations {
                    self.expr(annotation)?;
                }
                self.opt(value)?;
            }
            StmtKind::TypeAlias { name, type_params, value, .. } => {
                self.expr(name)?;
                self.type_params(type_params)?;
                self.expr(value)?;
            }
            StmtKind::For { target, iter, body, orelse } | StmtKind::AsyncFor { target, iter, body, orelse } => {
                self.expr(target)?;
                self.expr(iter)?;
                self.stmts(body)?;
                self.stmts(orelse)?;
                self.fold_iter(iter)?;
            }
            StmtKind::While { test, body, orelse } | StmtKind::If { test, body, orelse } => {
                self.expr(test)?;
                self.stmts(body)?;
                self.stmts(orelse)?;
            }
            StmtKind::With { items, body } | StmtKind::AsyncWith { items, body } => {
                for item in items {
                    self.expr(&mut item.context_expr)?;
                    self.opt(&mut item.optional_vars)?;
                }
                self.stmts(body)?;
            }
            StmtKind::Raise { exc, cause } => {
                self.opt(exc)?;
                self.opt(cause)?;
            }
            StmtKind::Try { body, handlers, orelse, finalbody }
            | StmtKind::TryStar { body, handlers, orelse, finalbody } => {
                self.stmts(body)?;
                for h in handlers {
                    self.opt(&mut h.type_)?;
                    self.stmts(&mut h.body)?;
                }
                self.stmts(orelse)?;
                self.stmts(finalbody)?;
            }
            StmtKind::Assert { test, msg } => {
                self.expr(test)?;
                self.opt(msg)?;
            }
            StmtKind::Expr(e) => self.expr(e)?,
            StmtKind::Match { subject, cases } => {
                self.expr(subject)?;
                for case in cases {
                    self.pattern(&mut case.pattern)?;
                    self.opt(&mut case.guard)?;
                    self.stmts(&mut case.body)?;
                }
            }
            StmtKind::Import { .. }
            | StmtKind::ImportFrom { .. }
            | StmtKind::Global(_)
            | StmtKind::Nonlocal(_)
            | StmtKind::Pass
            | StmtKind::Break
            | StmtKind::Continue => {}
        }
        Ok(())
    }

    /// Bounds are folded even under `from __future__ import annotations`:
    /// they are evaluated lazily, never stringified.
    fn type_params(&self, params: &mut [ast::TypeParam]) -> Result<()> {
        for p in params {
            if let ast::TypeParamKind::TypeVar { bound, .. } = &mut p.kind {
                self.opt(bound)?;
            }
        }
        Ok(())
    }

    fn pattern(&self, p: &mut ast::Pattern) -> Result<()> {
        use ast::PatternKind as K;
        match &mut p.kind {
            K::MatchValue(v) => {
                self.expr(v)?;
                self.fold_pattern_number(v)?;
            }
            K::MatchSingleton(_) | K::MatchStar(_) => {}
            K::MatchSequence(ps) | K::MatchOr(ps) => ps.iter_mut().try_for_each(|p| self.pattern(p))?,
            K::MatchMapping { keys, patterns, .. } => {
                self.exprs(keys)?;
                keys.iter_mut().try_for_each(|k| self.fold_pattern_number(k))?;
                patterns.iter_mut().try_for_each(|p| self.pattern(p))?;
            }
            K::MatchClass { cls, patterns, kwd_patterns, .. } => {
                self.expr(cls)?;
                patterns.iter_mut().try_for_each(|p| self.pattern(p))?;
                kwd_patterns.iter_mut().try_for_each(|p| self.pattern(p))?;
            }
            K::MatchAs { pattern, .. } => {
                if let Some(inner) = pattern {
                    self.pattern(inner)?;
                }
            }
        }
        Ok(())
    }

    /// The numbers a value pattern or a mapping key spells with a sign or
    /// as a complex sum (`-1`, `1 - 2j`). From 3.14 arithmetic is folded in
    /// the flow graph, not here, but these still become constants before
    /// code generation, which takes only constants and attribute lookups
    /// in a pattern. (Before 3.14 the general folding above did it.) What
    /// does not fold stays as it was, as CPython's failed folds do.
    fn fold_pattern_number(&self, e: &mut Expr) -> Result<()> {
        if !self.cfg_folding {
            return Ok(());
        }
        match &mut e.kind {
            ExprKind::UnaryOp { op: ast::UnaryOp::USub, operand } => {
                if let Some(value) = operand.constant()
                    && let Some(folded) = ops::unary(ast::UnaryOp::USub, value)?
                {
                    make_const(e, folded);
                }
            }
            ExprKind::BinOp { left, op: op @ (ast::Operator::Add | ast::Operator::Sub), right }
                if right.constant().is_some() =>
            {
                self.fold_pattern_number(left)?;
                if let (Some(lv), Some(rv)) = (left.constant(), right.constant())
                    && let Some(folded) = ops::binary(self.limits, self.mixed_complex, *op, lv, rv)?
                {
                    make_const(e, folded);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn comprehensions(&self, gens: &mut [ast::Comprehension]) -> Result<()> {
        for g in gens {
            self.expr(&mut g.target)?;
            self.expr(&mut g.iter)?;
            self.exprs(&mut g.ifs)?;
            self.fold_iter(&mut g.iter)?;
        }
        Ok(())
    }

    pub fn expr(&self, e: &mut Expr) -> Result<()> {
        match &mut e.kind {
            ExprKind::BoolOp { values, .. } => self.exprs(values)?,
            ExprKind::BinOp { left, right, .. } => {
                self.expr(left)?;
                self.expr(right)?;
                self.fold_binop(e)?;
                if self.cfg_folding {
                    return Ok(());
                }
            }
            ExprKind::UnaryOp { operand, op } => {
                self.expr(operand)?;
                if self.cfg_folding {
                    return Ok(());
                }
                // `not` folds into a single `is`, `is not`, `in` or `not in`
                // comparison, which takes the place of the whole node.
                if *op == ast::UnaryOp::Not {
                    if let ExprKind::Compare { ops: cmp, .. } = &mut operand.kind {
                        if cmp.len() == 1 {
                            let inverted = match cmp[0] {
                                ast::CmpOp::Is => Some(ast::CmpOp::IsNot),
                                ast::CmpOp::IsNot => Some(ast::CmpOp::Is),
                                ast::CmpOp::In => Some(ast::CmpOp::NotIn),
                                ast::CmpOp::NotIn => Some(ast::CmpOp::In),
                                _ => None,
                            };
                            if let Some(inverted) = inverted {
                                cmp[0] = inverted;
                                let inner = std::mem::replace(
                                    operand.as_mut(),
                                    Expr { range: e.range, kind: ExprKind::JoinedStr(Vec::new()) },
                                );
                                *e = inner;
                                return Ok(());
                            }
                        }
                    }
                }
                if let Some(value) = operand.constant() {
                    if *op == ast::UnaryOp::Invert && matches!(value, Constant::Bool(_)) {
                        self.warnings.borrow_mut().push(crate::warning::Warning {
                            lineno: e.range.lineno.max(0) as u32,
                            category: crate::warning::Category::Deprecation,
                            message: INVERT_BOOL.to_owned(),
                        });
                    }
                    if let Some(folded) = ops::unary(*op, value)? {
                        make_const(e, folded);
                    }
                }
            }
            ExprKind::Lambda { args, body, .. } => {
                self.arguments(args)?;
                self.expr(body)?;
            }
            ExprKind::IfExp { test, body, orelse } => {
                self.expr(test)?;
                self.expr(body)?;
                self.expr(orelse)?;
            }
            ExprKind::Dict { keys, values } => {
                for k in keys.iter_mut().flatten() {
                    self.expr(k)?;
                }
                self.exprs(values)?;
            }
            ExprKind::Set(elts) => self.exprs(elts)?,
            ExprKind::ListComp(c) | ExprKind::SetComp(c) | ExprKind::GeneratorExp(c) => {
                self.expr(&mut c.elt)?;
                self.comprehensions(&mut c.generators)?;
            }
            ExprKind::DictComp(c) => {
                self.expr(&mut c.elt)?;
                self.opt(&mut c.value)?;
                self.comprehensions(&mut c.generators)?;
            }
            ExprKind::Await(v) | ExprKind::YieldFrom(v) => self.expr(v)?,
            ExprKind::Yield(v) => self.opt(v)?,
            ExprKind::Compare { left, ops: cmp_ops, comparators } => {
                self.expr(left)?;
                self.exprs(comparators)?;
                let last = cmp_ops.len() - 1;
                if matches!(cmp_ops[last], ast::CmpOp::In | ast::CmpOp::NotIn) && !self.cfg_folding {
                    self.fold_iter(&mut comparators[last])?;
                }
            }
            ExprKind::Call { func, args, keywords } => {
                self.expr(func)?;
                self.exprs(args)?;
                for k in keywords {
                    self.expr(&mut k.value)?;
                }
            }
            ExprKind::FormattedValue { value, format_spec, .. } => {
                self.expr(value)?;
                self.opt(format_spec)?;
            }
            ExprKind::JoinedStr(values) | ExprKind::TemplateStr(values) => self.exprs(values)?,
            ExprKind::Interpolation { value, format_spec, .. } => {
                self.expr(value)?;
                self.opt(format_spec)?;
            }
            ExprKind::Attribute { value, .. } => self.expr(value)?,
            ExprKind::Subscript { value, slice, .. } => {
                self.expr(value)?;
                self.expr(slice)?;
                if let (false, Some(v), Some(i)) = (self.cfg_folding, value.constant(), slice.constant()) {
                    if let Some(folded) = ops::subscript(v, i)? {
                        make_const(e, folded);
                    }
                }
            }
            ExprKind::Starred { value, .. } => self.expr(value)?,
            ExprKind::Slice { lower, upper, step } => {
                self.opt(lower)?;
                self.opt(upper)?;
                self.opt(step)?;
            }
            ExprKind::List { elts, .. } => self.exprs(elts)?,
            ExprKind::Tuple { elts, ctx } => {
                self.exprs(elts)?;
                if *ctx == Ctx::Load && !self.cfg_folding {
                    if let Some(tuple) = const_tuple(elts) {
                        make_const(e, tuple);
                    }
                }
            }
            ExprKind::Name { id, ctx } => {
                if *ctx == Ctx::Load && id.as_bytes() == b"__debug__" {
                    make_const(e, Constant::Bool(self.optimize == 0));
                }
            }
            ExprKind::NamedExpr { value, .. } => self.expr(value)?,
            ExprKind::Constant { .. } => {}
        }
        Ok(())
    }

    fn fold_binop(&self, e: &mut Expr) -> Result<()> {
        let ExprKind::BinOp { left, op, right } = &e.kind else { return Ok(()) };
        let Some(lv) = left.constant() else { return Ok(()) };
        if *op == ast::Operator::Mod {
            if let (Constant::Str(fmt), ExprKind::Tuple { elts, .. }) = (lv, &right.kind) {
                if !elts.iter().any(Expr::is_starred) {
                    let fmt = fmt.clone();
                    let elts = elts.clone();
                    if let Some(joined) = format::optimize_format(e.range, &fmt, elts) {
                        // A `%%` piece is a new `'%'` object, not the
                        // singleton: code generation marks it for marshal
                        // (`CodeObject::fresh_percent`, `format::is_new_percent`).
                        e.kind = joined;
                    }
                    return Ok(());
                }
            }
        }
        let Some(rv) = right.constant() else { return Ok(()) };
        if self.cfg_folding {
            return Ok(());
        }
        if let Some(value) = ops::binary(self.limits, self.mixed_complex, *op, lv, rv)? {
            make_const(e, value);
        }
        Ok(())
    }

    /// A list or set iterated over (or tested with `in`) becomes a tuple
    /// or frozenset, constant when its items are.
    fn fold_iter(&self, e: &mut Expr) -> Result<()> {
        if self.cfg_folding {
            return Ok(());
        }
        match &mut e.kind {
            ExprKind::List { elts, ctx } => {
                if elts.iter().any(Expr::is_starred) {
                    return Ok(());
                }
                let elts = std::mem::take(elts);
                let ctx = *ctx;
                let folded = const_tuple(&elts);
                e.kind = ExprKind::Tuple { elts, ctx };
                if let Some(t) = folded {
                    make_const(e, t);
                }
            }
            ExprKind::Set(elts) => {
                if let Some(Constant::Tuple(items)) = const_tuple(elts) {
                    make_const(e, Constant::frozenset(items));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn const_tuple(elts: &[Expr]) -> Option<Constant> {
    let items: Option<Vec<Constant>> = elts.iter().map(|e| e.constant().cloned()).collect();
    items.map(Constant::Tuple)
}
