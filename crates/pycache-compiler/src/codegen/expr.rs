//! Expressions.

use super::stmt::{binop_arg, is_two_element_slice};
use super::*;
use crate::ast::{CmpOp, Ctx, Expr, ExprKind};

impl<'a> Compiler<'a> {
    pub fn visit_expr(&mut self, e: &'a Expr) -> Result<()> {
        let loc = Loc::of(e.range);
        match &e.kind {
            ExprKind::NamedExpr { target, value } => {
                self.visit_expr(value)?;
                self.addop_i(COPY, 1, loc);
                self.visit_expr(target)?;
            }
            ExprKind::BoolOp { op, values } => {
                let jump = if *op == ast::BoolOp::And { POP_JUMP_IF_FALSE } else { POP_JUMP_IF_TRUE };
                let end = self.new_label();
                let n = values.len() - 1;
                let keep = self.target.has(Feature::JumpIfKeep);
                for v in &values[..n] {
                    self.visit_expr(v)?;
                    if keep {
                        // 3.14: one jump keeping the value, lowered after
                        // the optimisations.
                        let keep_jump = if *op == ast::BoolOp::And { JUMP_IF_FALSE } else { JUMP_IF_TRUE };
                        self.addop_j(keep_jump, end, loc);
                    } else {
                        self.addop_i(COPY, 1, loc);
                        self.to_bool(loc);
                        self.addop_j(jump, end, loc);
                    }
                    self.addop(POP_TOP, loc);
                }
                self.visit_expr(&values[n])?;
                self.use_label(end);
            }
            ExprKind::BinOp { left, op, right } => {
                self.visit_expr(left)?;
                self.visit_expr(right)?;
                self.addop_i(BINARY_OP, binop_arg(*op, false), loc);
            }
            ExprKind::UnaryOp { op, operand } => {
                self.visit_expr(operand)?;
                match op {
                    ast::UnaryOp::UAdd => self.addop_i(CALL_INTRINSIC_1, INTRINSIC_UNARY_POSITIVE as usize, loc),
                    ast::UnaryOp::Invert => self.addop(UNARY_INVERT, loc),
                    ast::UnaryOp::Not => {
                        self.to_bool(loc);
                        self.addop(UNARY_NOT, loc)
                    }
                    ast::UnaryOp::USub => self.addop(UNARY_NEGATIVE, loc),
                }
            }
            ExprKind::Lambda { id, args, body } => self.lambda(e, *id, args, body)?,
            ExprKind::IfExp { test, body, orelse } => {
                let end = self.new_label();
                let next = self.new_label();
                self.jump_if(loc, test, next, false)?;
                self.visit_expr(body)?;
                self.addop_j(self.jump_no_interrupt(), end, NO_LOCATION);
                self.use_label(next);
                self.visit_expr(orelse)?;
                self.use_label(end);
            }
            ExprKind::Dict { keys, values } => self.dict(e, keys, values)?,
            ExprKind::Set(elts) => self.starunpack(loc, elts, 0, BUILD_SET, SET_ADD, SET_UPDATE, false)?,
            ExprKind::GeneratorExp(c) => self.comprehension(e, c, CompType::GenExp)?,
            ExprKind::ListComp(c) => self.comprehension(e, c, CompType::List)?,
            ExprKind::SetComp(c) => self.comprehension(e, c, CompType::Set)?,
            ExprKind::DictComp(c) => self.comprehension(e, c, CompType::Dict)?,
            ExprKind::Yield(value) => {
                if !self.ste().is_function_like() {
                    return Err(Refusal::syntax_at("'yield' outside function", loc.lineno, loc.col_offset));
                }
                match value {
                    Some(v) => self.visit_expr(v)?,
                    None => self.load_const(Constant::None, loc),
                }
                self.addop_yield(loc);
            }
            ExprKind::YieldFrom(value) => {
                if !self.ste().is_function_like() {
                    return Err(Refusal::syntax_at("'yield' outside function", loc.lineno, loc.col_offset));
                }
                if self.unit().scope_type == ScopeType::AsyncFunction {
                    return Err(Refusal::syntax_at("'yield from' inside async function", loc.lineno, loc.col_offset));
                }
                self.visit_expr(value)?;
                if self.target.has(Feature::SendPushNull) {
                    // 3.15: the iterator pair of `yield from`.
                    self.addop_i(GET_ITER, GET_ITER_YIELD_FROM, loc);
                } else {
                    self.addop(GET_YIELD_FROM_ITER, loc);
                }
                self.load_const(Constant::None, loc);
                self.add_yield_from(loc, false);
            }
            ExprKind::Await(value) => {
                if !self.ste().is_function_like() {
                    return Err(Refusal::syntax_at("'await' outside function", loc.lineno, loc.col_offset));
                }
                if !matches!(self.unit().scope_type, ScopeType::AsyncFunction | ScopeType::Comprehension) {
                    return Err(Refusal::syntax_at("'await' outside async function", loc.lineno, loc.col_offset));
                }
                self.visit_expr(value)?;
                self.addop_i(GET_AWAITABLE, 0, loc);
                self.await_sent_none(loc);
            }
            ExprKind::Compare { left, ops, comparators } => self.compare(e, left, ops, comparators)?,
            ExprKind::Call { func, args, keywords } => self.call(e, func, args, keywords)?,
            ExprKind::Constant { value, .. } => {
                if crate::fold::format::is_new_percent(e) && self.percent_const.is_none() {
                    self.percent_const = Some(true);
                }
                self.load_const(value.clone(), loc)
            }
            ExprKind::JoinedStr(values) => {
                if values.len() > STACK_USE_GUIDELINE {
                    self.load_const(Constant::Str(PyStr::new("")), loc);
                    self.addop_name(LOAD_METHOD, &PyStr::new("join"), loc);
                    self.addop_i(BUILD_LIST, 0, loc);
                    for v in values {
                        self.visit_expr(v)?;
                        self.addop_i(LIST_APPEND, 1, loc);
                    }
                    self.addop_i(CALL, 1, loc);
                } else {
                    for v in values {
                        self.visit_expr(v)?;
                    }
                    if values.is_empty() && self.target.has(Feature::FstringEmptyJoined) {
                        self.load_const(Constant::Str(PyStr::new("")), loc);
                    } else if values.len() != 1 {
                        self.addop_i(BUILD_STRING, values.len(), loc);
                    }
                }
            }
            ExprKind::TemplateStr(values) => self.template_str(loc, values)?,
            ExprKind::Interpolation { value, text, conversion, format_spec } => {
                self.visit_expr(value)?;
                self.load_const(Constant::Str(text.clone()), loc);
                let mut oparg = 2;
                if let Some(spec) = format_spec {
                    self.visit_expr(spec)?;
                    oparg += 1;
                }
                oparg |= conversion_code(*conversion)? << 2;
                self.addop_i(BUILD_INTERPOLATION, oparg, loc);
            }
            ExprKind::FormattedValue { value, conversion, format_spec } => {
                self.visit_expr(value)?;
                let mut oparg = conversion_code(*conversion)?;
                if self.target.has(Feature::FormatValue) {
                    if let Some(spec) = format_spec {
                        self.visit_expr(spec)?;
                        oparg |= 4;
                    }
                    self.addop_i(FORMAT_VALUE, oparg, loc);
                } else {
                    if oparg != 0 {
                        self.addop_i(CONVERT_VALUE, oparg, loc);
                    }
                    match format_spec {
                        Some(spec) => {
                            self.visit_expr(spec)?;
                            self.addop(FORMAT_WITH_SPEC, loc);
                        }
                        None => self.addop(FORMAT_SIMPLE, loc),
                    }
                }
            }
            ExprKind::Attribute { value, attr, ctx } => {
                if *ctx == Ctx::Load && self.can_optimize_super_call(e)? {
                    let ExprKind::Call { args, .. } = &value.kind else { unreachable!() };
                    self.load_args_for_super(value)?;
                    let op = if args.is_empty() { LOAD_ZERO_SUPER_ATTR } else { LOAD_SUPER_ATTR };
                    self.addop_name(op, attr, loc);
                    let loc = self.update_start_location_to_match_attr(loc, e);
                    self.addop(NOP, loc);
                    return Ok(());
                }
                if *ctx == Ctx::Store && matches!(&value.kind, ExprKind::Name { id, .. } if id.as_bytes() == b"self") {
                    self.add_static_attribute(attr);
                }
                self.visit_expr(value)?;
                let loc = self.update_start_location_to_match_attr(loc, e);
                match ctx {
                    Ctx::Load => self.addop_name(LOAD_ATTR, attr, loc),
                    Ctx::Store => {
                        if attr.as_bytes() == b"__debug__" {
                            return Err(Refusal::syntax_at("cannot assign to __debug__", loc.lineno, loc.col_offset));
                        }
                        self.addop_name(STORE_ATTR, attr, loc)
                    }
                    Ctx::Del => self.addop_name(DELETE_ATTR, attr, loc),
                }
            }
            ExprKind::Subscript { value, slice, ctx } => {
                if *ctx == Ctx::Load {
                    self.check_subscript(value, slice);
                }
                self.visit_expr(value)?;
                if self.is_slice_pair(slice) && *ctx != Ctx::Del {
                    self.slice(slice)?;
                    self.addop(if *ctx == Ctx::Load { BINARY_SLICE } else { STORE_SLICE }, loc);
                } else {
                    self.visit_expr(slice)?;
                    let op = match ctx {
                        Ctx::Load => {
                            self.addop_subscr(loc);
                            return Ok(());
                        }
                        Ctx::Store => STORE_SUBSCR,
                        Ctx::Del => DELETE_SUBSCR,
                    };
                    self.addop(op, loc);
                }
            }
            ExprKind::Starred { ctx, .. } => {
                let msg = if *ctx == Ctx::Store {
                    "starred assignment target must be in a list or tuple"
                } else {
                    "can't use starred expression here"
                };
                return Err(Refusal::syntax_at(msg, loc.lineno, loc.col_offset));
            }
            ExprKind::Slice { .. } => match self.constant_slice(e) {
                Some(constant) => self.load_const(constant, loc),
                None => {
                    let n = self.slice(e)?;
                    self.addop_i(BUILD_SLICE, n, loc);
                }
            },
            ExprKind::Name { id, ctx } => self.nameop(id, *ctx, loc)?,
            ExprKind::List { elts, ctx } => match ctx {
                Ctx::Store => self.assignment_helper(loc, elts)?,
                Ctx::Load => self.starunpack(loc, elts, 0, BUILD_LIST, LIST_APPEND, LIST_EXTEND, false)?,
                Ctx::Del => elts.iter().try_for_each(|e| self.visit_expr(e))?,
            },
            ExprKind::Tuple { elts, ctx } => match ctx {
                Ctx::Store => self.assignment_helper(loc, elts)?,
                Ctx::Load => self.starunpack(loc, elts, 0, BUILD_LIST, LIST_APPEND, LIST_EXTEND, true)?,
                Ctx::Del => elts.iter().try_for_each(|e| self.visit_expr(e))?,
            },
        }
        Ok(())
    }

    pub fn addop_yield(&mut self, loc: Loc) {
        if self.ste().generator && self.ste().coroutine {
            self.addop_i(CALL_INTRINSIC_1, INTRINSIC_ASYNC_GEN_WRAP as usize, loc);
        }
        self.addop_i(YIELD_VALUE, 0, loc);
        self.addop_i(RESUME, 1, loc);
    }

    fn lambda(&mut self, e: &'a Expr, id: ast::NodeId, args: &'a ast::Arguments, body: &'a Expr) -> Result<()> {
        for a in
            args.posonlyargs.iter().chain(&args.args).chain(&args.vararg).chain(&args.kwonlyargs).chain(&args.kwarg)
        {
            if a.arg.as_bytes() == b"__debug__" {
                return Err(Refusal::syntax_at("cannot assign to __debug__", a.range.lineno, a.range.col_offset));
            }
        }
        let loc = Loc::of(e.range);
        let funcflags = self.default_arguments(args, loc)?;
        self.enter_scope(PyStr::new("<lambda>"), ScopeType::Lambda, id, e.range.lineno)?;
        if !self.target.has(Feature::NoDocstringSlot) {
            self.add_const(Constant::None);
        }
        {
            let md = &mut self.u().md;
            md.argcount = args.args.len() as u32;
            md.posonlyargcount = args.posonlyargs.len() as u32;
            md.kwonlyargcount = args.kwonlyargs.len() as u32;
        }
        self.visit_expr(body)?;
        let (code, nfree) = if self.ste().generator {
            self.optimize_and_assemble(false)?
        } else {
            let l = if self.target.has(Feature::LambdaReturnLocation) {
                Loc::of(body.range)
            } else {
                Loc::new(e.range.lineno, e.range.lineno, 0, 0)
            };
            self.addop(RETURN_VALUE, l);
            self.optimize_and_assemble(true)?
        };
        self.exit_scope();
        self.make_closure(code, nfree, funcflags, loc)
    }

    /// Jumps to `next` when `e` is truthy (`cond`) or falsy.
    pub fn jump_if(&mut self, loc: Loc, e: &'a Expr, next: Label, cond: bool) -> Result<()> {
        match &e.kind {
            ExprKind::UnaryOp { op: ast::UnaryOp::Not, operand } => return self.jump_if(loc, operand, next, !cond),
            ExprKind::BoolOp { op, values } => {
                let n = values.len() - 1;
                let cond2 = *op == ast::BoolOp::Or;
                let next2 = if cond2 != cond { self.new_label() } else { next };
                for v in &values[..n] {
                    self.jump_if(loc, v, next2, cond2)?;
                }
                self.jump_if(loc, &values[n], next, cond)?;
                if next2 != next {
                    self.use_label(next2);
                }
                return Ok(());
            }
            ExprKind::IfExp { test, body, orelse } => {
                let end = self.new_label();
                let next2 = self.new_label();
                self.jump_if(loc, test, next2, false)?;
                self.jump_if(loc, body, next, cond)?;
                self.addop_j(self.jump_no_interrupt(), end, NO_LOCATION);
                self.use_label(next2);
                self.jump_if(loc, orelse, next, cond)?;
                self.use_label(end);
                return Ok(());
            }
            ExprKind::Compare { left, ops, comparators } if ops.len() > 1 => {
                self.check_compare(e, left, ops, comparators);
                let eloc = Loc::of(e.range);
                let n = ops.len() - 1;
                let cleanup = self.new_label();
                self.visit_expr(left)?;
                for i in 0..n {
                    self.visit_expr(&comparators[i])?;
                    self.addop_i(SWAP, 2, eloc);
                    self.addop_i(COPY, 2, eloc);
                    self.addcompare(ops[i], eloc);
                    self.to_bool(eloc);
                    self.addop_j(POP_JUMP_IF_FALSE, cleanup, eloc);
                }
                self.visit_expr(&comparators[n])?;
                self.addcompare(ops[n], eloc);
                self.to_bool(eloc);
                self.addop_j(if cond { POP_JUMP_IF_TRUE } else { POP_JUMP_IF_FALSE }, next, eloc);
                let end = self.new_label();
                self.addop_j(self.jump_no_interrupt(), end, NO_LOCATION);
                self.use_label(cleanup);
                self.addop(POP_TOP, eloc);
                if !cond {
                    self.addop_j(self.jump_no_interrupt(), next, NO_LOCATION);
                }
                self.use_label(end);
                return Ok(());
            }
            _ => {}
        }
        self.visit_expr(e)?;
        self.to_bool(Loc::of(e.range));
        self.addop_j(if cond { POP_JUMP_IF_TRUE } else { POP_JUMP_IF_FALSE }, next, Loc::of(e.range));
        Ok(())
    }

    pub fn addcompare(&mut self, op: CmpOp, loc: Loc) {
        let (cmp, mask) = match op {
            CmpOp::Lt => (0, 2),
            CmpOp::LtE => (1, 2 | 8),
            CmpOp::Eq => (2, 8),
            CmpOp::NotEq => (3, 1 | 2 | 4),
            CmpOp::Gt => (4, 4),
            CmpOp::GtE => (5, 4 | 8),
            CmpOp::Is => return self.addop_i(IS_OP, 0, loc),
            CmpOp::IsNot => return self.addop_i(IS_OP, 1, loc),
            CmpOp::In => return self.addop_i(CONTAINS_OP, 0, loc),
            CmpOp::NotIn => return self.addop_i(CONTAINS_OP, 1, loc),
        };
        let shift = if self.target.has(Feature::CompareOpShift5) { 5 } else { 4 };
        self.addop_i(COMPARE_OP, (cmp << shift) | mask, loc);
    }

    fn compare(&mut self, e: &'a Expr, left: &'a Expr, ops: &[CmpOp], comparators: &'a [Expr]) -> Result<()> {
        self.check_compare(e, left, ops, comparators);
        let loc = Loc::of(e.range);
        self.visit_expr(left)?;
        let n = ops.len() - 1;
        if n == 0 {
            self.visit_expr(&comparators[0])?;
            self.addcompare(ops[0], loc);
        } else {
            let cleanup = self.new_label();
            for i in 0..n {
                self.visit_expr(&comparators[i])?;
                self.addop_i(SWAP, 2, loc);
                self.addop_i(COPY, 2, loc);
                self.addcompare(ops[i], loc);
                self.addop_i(COPY, 1, loc);
                self.to_bool(loc);
                self.addop_j(POP_JUMP_IF_FALSE, cleanup, loc);
                self.addop(POP_TOP, loc);
            }
            self.visit_expr(&comparators[n])?;
            self.addcompare(ops[n], loc);
            let end = self.new_label();
            self.addop_j(self.jump_no_interrupt(), end, NO_LOCATION);
            self.use_label(cleanup);
            self.addop_i(SWAP, 2, loc);
            self.addop(POP_TOP, loc);
            self.use_label(end);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub fn starunpack(
        &mut self,
        loc: Loc,
        elts: &'a [Expr],
        pushed: usize,
        build: Op,
        add: Op,
        extend: Op,
        tuple: bool,
    ) -> Result<()> {
        let n = elts.len();
        if n > 2 && !self.target.has(Feature::CfgFolding) && elts.iter().all(Expr::is_constant) {
            let values: Vec<Constant> = elts.iter().map(|e| e.constant().unwrap().clone()).collect();
            if tuple && pushed == 0 {
                self.load_const(Constant::Tuple(values), loc);
            } else {
                let folded = if add == SET_ADD { Constant::frozenset(values) } else { Constant::Tuple(values) };
                self.addop_i(build, pushed, loc);
                self.load_const(folded, loc);
                self.addop_i(extend, 1, loc);
                if tuple {
                    self.addop_i(CALL_INTRINSIC_1, INTRINSIC_LIST_TO_TUPLE as usize, loc);
                }
            }
            return Ok(());
        }
        let big = n + pushed > STACK_USE_GUIDELINE;
        let seen_star = elts.iter().any(Expr::is_starred);
        if !seen_star && !big {
            for elt in elts {
                self.visit_expr(elt)?;
            }
            self.addop_i(if tuple { BUILD_TUPLE } else { build }, n + pushed, loc);
            return Ok(());
        }
        let mut sequence_built = false;
        if big {
            self.addop_i(build, pushed, loc);
            sequence_built = true;
        }
        for (i, elt) in elts.iter().enumerate() {
            if let ExprKind::Starred { value, .. } = &elt.kind {
                if !sequence_built {
                    self.addop_i(build, i + pushed, loc);
                    sequence_built = true;
                }
                self.visit_expr(value)?;
                self.addop_i(extend, 1, loc);
            } else {
                self.visit_expr(elt)?;
                if sequence_built {
                    self.addop_i(add, 1, loc);
                }
            }
        }
        if tuple {
            self.addop_i(CALL_INTRINSIC_1, INTRINSIC_LIST_TO_TUPLE as usize, loc);
        }
        Ok(())
    }

    fn unpack_helper(&mut self, loc: Loc, elts: &[Expr]) -> Result<()> {
        let n = elts.len();
        let mut seen_star = false;
        for (i, elt) in elts.iter().enumerate() {
            if elt.is_starred() && !seen_star {
                if i >= (1 << 8) || n - i - 1 >= (i32::MAX >> 8) as usize {
                    return Err(Refusal::syntax_at(
                        "too many expressions in star-unpacking assignment",
                        loc.lineno,
                        loc.col_offset,
                    ));
                }
                self.addop_i(UNPACK_EX, i + ((n - i - 1) << 8), loc);
                seen_star = true;
            } else if elt.is_starred() {
                return Err(Refusal::syntax_at(
                    "multiple starred expressions in assignment",
                    loc.lineno,
                    loc.col_offset,
                ));
            }
        }
        if !seen_star {
            self.addop_i(UNPACK_SEQUENCE, n, loc);
        }
        Ok(())
    }

    fn assignment_helper(&mut self, loc: Loc, elts: &'a [Expr]) -> Result<()> {
        self.unpack_helper(loc, elts)?;
        for elt in elts {
            match &elt.kind {
                ExprKind::Starred { value, .. } => self.visit_expr(value)?,
                _ => self.visit_expr(elt)?,
            }
        }
        Ok(())
    }

    fn subdict(
        &mut self,
        e: &'a Expr,
        keys: &'a [Option<Expr>],
        values: &'a [Expr],
        begin: usize,
        end: usize,
    ) -> Result<()> {
        let loc = Loc::of(e.range);
        let n = end - begin;
        let big = n * 2 > STACK_USE_GUIDELINE;
        let all_const = keys[begin..end].iter().all(|k| k.as_ref().is_some_and(Expr::is_constant));
        if n > 1 && !big && all_const && !self.target.has(Feature::NoConstKeyMap) {
            for v in &values[begin..end] {
                self.visit_expr(v)?;
            }
            let tuple: Vec<Constant> =
                keys[begin..end].iter().map(|k| k.as_ref().unwrap().constant().unwrap().clone()).collect();
            self.load_const(Constant::Tuple(tuple), loc);
            self.addop_i(BUILD_CONST_KEY_MAP, n, loc);
            return Ok(());
        }
        if big {
            self.addop_i(BUILD_MAP, 0, loc);
        }
        for i in begin..end {
            if let Some(k) = &keys[i] {
                self.visit_expr(k)?;
            }
            self.visit_expr(&values[i])?;
            if big {
                self.addop_i(MAP_ADD, 1, loc);
            }
        }
        if !big {
            self.addop_i(BUILD_MAP, n, loc);
        }
        Ok(())
    }

    fn dict(&mut self, e: &'a Expr, keys: &'a [Option<Expr>], values: &'a [Expr]) -> Result<()> {
        let loc = Loc::of(e.range);
        let n = values.len();
        let mut have_dict = false;
        let mut elements = 0;
        for i in 0..n {
            if keys[i].is_none() {
                if elements > 0 {
                    self.subdict(e, keys, values, i - elements, i)?;
                    if have_dict {
                        self.addop_i(DICT_UPDATE, 1, loc);
                    }
                    have_dict = true;
                    elements = 0;
                }
                if !have_dict {
                    self.addop_i(BUILD_MAP, 0, loc);
                    have_dict = true;
                }
                self.visit_expr(&values[i])?;
                self.addop_i(DICT_UPDATE, 1, loc);
            } else if elements * 2 > STACK_USE_GUIDELINE {
                self.subdict(e, keys, values, i - elements, i + 1)?;
                if have_dict {
                    self.addop_i(DICT_UPDATE, 1, loc);
                }
                have_dict = true;
                elements = 0;
            } else {
                elements += 1;
            }
        }
        if elements > 0 {
            self.subdict(e, keys, values, n - elements, n)?;
            if have_dict {
                self.addop_i(DICT_UPDATE, 1, loc);
            }
            have_dict = true;
        }
        if !have_dict {
            self.addop_i(BUILD_MAP, 0, loc);
        }
        Ok(())
    }

    /// Pushes the parts of a slice; returns how many (2 or 3).
    /// The slice constant that a slice whose present parts are all
    /// literals becomes ([`Feature::SliceConstants`], C6): absent parts are
    /// `None`. `-1` is not a literal (it is folded later, in the flow
    /// graph), so `x[:-1]` stays a `BINARY_SLICE`.
    pub(super) fn constant_slice(&self, e: &Expr) -> Option<Constant> {
        let ExprKind::Slice { lower, upper, step } = &e.kind else { return None };
        if !self.target.has(Feature::SliceConstants) {
            return None;
        }
        let part = |p: &Option<Box<Expr>>| match p.as_deref() {
            None => Some(Constant::None),
            Some(p) => p.constant().cloned(),
        };
        Some(Constant::Slice(Box::new([part(lower)?, part(upper)?, part(step)?])))
    }

    /// A two-part slice that `BINARY_SLICE`/`STORE_SLICE` take as two
    /// values: not one that becomes a slice constant.
    pub(super) fn is_slice_pair(&self, e: &Expr) -> bool {
        is_two_element_slice(e) && self.constant_slice(e).is_none()
    }

    pub fn slice(&mut self, s: &'a Expr) -> Result<usize> {
        let ExprKind::Slice { lower, upper, step } = &s.kind else {
            return Err(Refusal::internal("not a slice"));
        };
        let loc = Loc::of(s.range);
        match lower {
            Some(l) => self.visit_expr(l)?,
            None => self.load_const(Constant::None, loc),
        }
        match upper {
            Some(u) => self.visit_expr(u)?,
            None => self.load_const(Constant::None, loc),
        }
        if let Some(step) = step {
            self.visit_expr(step)?;
            return Ok(3);
        }
        Ok(2)
    }

    /// An attribute spanning lines is located at its name.
    /// Records `self.<attr>` as stored for the nearest class enclosing the
    /// current unit (not the unit itself: a store directly in a class body
    /// counts for the class around it).
    fn add_static_attribute(&mut self, attr: &PyStr) {
        let Some((_, enclosing)) = self.units.split_last_mut() else { return };
        if let Some(class) = enclosing.iter_mut().rev().find(|u| u.scope_type == ScopeType::Class) {
            if let Some(names) = &mut class.static_attributes {
                names.insert(attr.clone());
            }
        }
    }

    pub fn update_start_location_to_match_attr(&self, mut loc: Loc, attr: &Expr) -> Loc {
        let ExprKind::Attribute { attr: name, .. } = &attr.kind else { return loc };
        if loc.lineno != attr.range.end_lineno {
            loc.lineno = attr.range.end_lineno;
            let len = name.char_len() as i32;
            if len <= attr.range.end_col_offset {
                loc.col_offset = attr.range.end_col_offset - len;
            } else {
                loc.col_offset = -1;
                loc.end_col_offset = -1;
            }
            loc.end_lineno = loc.lineno.max(loc.end_lineno);
            if loc.lineno == loc.end_lineno {
                loc.end_col_offset = loc.col_offset.max(loc.end_col_offset);
            }
        }
        loc
    }

    fn is_import_originated(&self, e: &Expr) -> bool {
        let ExprKind::Name { id, .. } = &e.kind else { return false };
        self.st.entry(self.st.top).symbol(id) & symtable::DEF_IMPORT != 0
    }

    fn can_optimize_super_call(&self, attr: &Expr) -> Result<bool> {
        let ExprKind::Attribute { value, attr: name, .. } = &attr.kind else { return Ok(false) };
        let ExprKind::Call { func, args, keywords } = &value.kind else { return Ok(false) };
        let ExprKind::Name { id: super_name, .. } = &func.kind else { return Ok(false) };
        if super_name.as_bytes() != b"super" || name.as_bytes() == b"__class__" || !keywords.is_empty() {
            return Ok(false);
        }
        if self.ste().scope(super_name) != symtable::GLOBAL_IMPLICIT {
            return Ok(false);
        }
        if self.st.entry(self.st.top).scope(super_name) != 0 {
            return Ok(false);
        }
        if args.len() == 2 {
            return Ok(!args.iter().any(Expr::is_starred));
        }
        if !args.is_empty() {
            return Ok(false);
        }
        let md = &self.unit().md;
        if md.argcount == 0 && md.posonlyargcount == 0 {
            return Ok(false);
        }
        Ok(self.ref_type(&PyStr::new("__class__"))? == symtable::FREE)
    }

    fn load_args_for_super(&mut self, e: &'a Expr) -> Result<()> {
        let ExprKind::Call { func, args, .. } = &e.kind else { return Err(Refusal::internal("not a call")) };
        let ExprKind::Name { id, .. } = &func.kind else { return Err(Refusal::internal("not a name")) };
        self.nameop(id, Ctx::Load, Loc::of(func.range))?;
        if args.len() == 2 {
            self.visit_expr(&args[0])?;
            self.visit_expr(&args[1])?;
            return Ok(());
        }
        let loc = Loc::of(e.range);
        self.nameop(&PyStr::new("__class__"), Ctx::Load, loc)?;
        let first = self.unit().md.varnames.0.keys().next().cloned();
        let Some(first) = first else { return Err(Refusal::internal("super() without arguments")) };
        self.nameop(&first, Ctx::Load, loc)
    }

    fn maybe_optimize_method_call(
        &mut self,
        e: &'a Expr,
        meth: &'a Expr,
        args: &'a [Expr],
        keywords: &'a [ast::Keyword],
    ) -> Result<bool> {
        let ExprKind::Attribute { value, attr, ctx: Ctx::Load } = &meth.kind else { return Ok(false) };
        if self.is_import_originated(value) {
            return Ok(false);
        }
        let argsl = args.len();
        let kwdsl = keywords.len();
        if argsl + kwdsl + usize::from(kwdsl != 0) >= STACK_USE_GUIDELINE {
            return Ok(false);
        }
        if args.iter().any(Expr::is_starred) || keywords.iter().any(|k| k.arg.is_none()) {
            return Ok(false);
        }
        let mut loc = Loc::of(meth.range);
        if self.can_optimize_super_call(meth)? {
            let ExprKind::Call { args: super_args, .. } = &value.kind else { unreachable!() };
            self.load_args_for_super(value)?;
            let op = if super_args.is_empty() { LOAD_ZERO_SUPER_METHOD } else { LOAD_SUPER_METHOD };
            self.addop_name(op, attr, loc);
            loc = self.update_start_location_to_match_attr(loc, meth);
            self.addop(NOP, loc);
        } else {
            self.visit_expr(value)?;
            loc = self.update_start_location_to_match_attr(loc, meth);
            self.addop_name(LOAD_METHOD, attr, loc);
        }
        for a in args {
            self.visit_expr(a)?;
        }
        let mut call = CALL;
        if kwdsl > 0 {
            for k in keywords {
                self.visit_expr(&k.value)?;
            }
            call = self.call_simple_kw_helper(loc, keywords)?;
        }
        let loc = self.update_start_location_to_match_attr(Loc::of(e.range), meth);
        self.addop_i(call, argsl + kwdsl, loc);
        Ok(true)
    }

    fn validate_keywords(&self, keywords: &[ast::Keyword]) -> Result<()> {
        for (i, k) in keywords.iter().enumerate() {
            let Some(arg) = &k.arg else { continue };
            if arg.as_bytes() == b"__debug__" {
                return Err(Refusal::syntax_at("cannot assign to __debug__", k.range.lineno, k.range.col_offset));
            }
            for other in &keywords[i + 1..] {
                if other.arg.as_ref() == Some(arg) {
                    return Err(Refusal::syntax_at(
                        format!("keyword argument repeated: {arg}"),
                        other.range.lineno,
                        other.range.col_offset,
                    ));
                }
            }
        }
        Ok(())
    }

    fn call(&mut self, e: &'a Expr, func: &'a Expr, args: &'a [Expr], keywords: &'a [ast::Keyword]) -> Result<()> {
        self.validate_keywords(keywords)?;
        if self.maybe_optimize_method_call(e, func, args, keywords)? {
            return Ok(());
        }
        self.check_caller(func);
        let mut inlined = None;
        if self.target.has(Feature::NullAfterCallable) {
            self.visit_expr(func)?;
            inlined = self.maybe_inline_builtin(func, args, keywords)?;
            self.addop(PUSH_NULL, Loc::of(func.range));
        } else {
            self.addop(PUSH_NULL, Loc::of(func.range));
            self.visit_expr(func)?;
        }
        self.call_helper(Loc::of(e.range), 0, args, keywords)?;
        if let Some(end) = inlined {
            self.use_label(end);
        }
        Ok(())
    }

    /// `all`, `any` or `tuple` called by bare name with one synchronous
    /// generator expression and nothing else ([`Feature::InlinedBuiltinGenexpr`],
    /// C17): with the callable loaded, checks that it is the builtin and, if
    /// so, runs the generator in place (a loop that stops at the first false
    /// or true item, or collects a list made a tuple) and jumps to the
    /// returned label; otherwise falls through to the ordinary call. Every
    /// instruction is at the callable's location.
    fn maybe_inline_builtin(
        &mut self,
        func: &'a Expr,
        args: &'a [Expr],
        keywords: &'a [ast::Keyword],
    ) -> Result<Option<Label>> {
        if !self.target.has(Feature::InlinedBuiltinGenexpr) || !keywords.is_empty() {
            return Ok(None);
        }
        let (ExprKind::Name { id, .. }, [genexp]) = (&func.kind, args) else { return Ok(None) };
        let ExprKind::GeneratorExp(comp) = &genexp.kind else { return Ok(None) };
        // An asynchronous generator (an `async for` clause, or `await` in
        // any part the generator itself evaluates) is called as usual.
        let entry = self.st.lookup(comp.id)?;
        if self.st.entry(entry).coroutine {
            return Ok(None);
        }
        let (common, stop_on_true) = match id.as_bytes() {
            b"all" => (COMMON_BUILTIN_ALL, false),
            b"any" => (COMMON_BUILTIN_ANY, true),
            b"tuple" => (COMMON_BUILTIN_TUPLE, false),
            b"list" if self.target.has(Feature::InlinedListSetGenexpr) => (COMMON_BUILTIN_LIST, false),
            b"set" if self.target.has(Feature::InlinedListSetGenexpr) => (COMMON_BUILTIN_SET, false),
            _ => return Ok(None),
        };
        let collect = matches!(common, COMMON_BUILTIN_TUPLE | COMMON_BUILTIN_LIST | COMMON_BUILTIN_SET);
        let (build, add) = if common == COMMON_BUILTIN_SET { (BUILD_SET, SET_ADD) } else { (BUILD_LIST, LIST_APPEND) };
        // 3.15: the generator is its own iterator; a NULL completes the pair.
        let pair = self.target.has(Feature::IterPair);
        let loc = Loc::of(func.range);
        let end = self.new_label();
        let ordinary = self.new_label();
        let top = self.new_label();
        let exhausted = self.new_label();
        self.addop_i(COPY, 1, loc);
        self.addop_i(LOAD_COMMON_CONSTANT, common, loc);
        self.addop_i(IS_OP, 0, loc);
        self.addop_j(POP_JUMP_IF_FALSE, ordinary, loc);
        self.addop(POP_TOP, loc);
        if collect {
            self.addop_i(build, 0, loc);
        }
        self.visit_expr(genexp)?;
        if pair {
            self.addop(PUSH_NULL, loc);
        }
        self.use_label(top);
        self.addop_j(FOR_ITER, exhausted, loc);
        if collect {
            self.addop_i(add, if pair { 3 } else { 2 }, loc);
            self.addop_j(JUMP, top, loc);
            // CPython emits the early exit of `all`/`any` for `tuple` too,
            // after the loop's jump: a dead block the flow graph empties
            // but keeps, which stops the borrow pass's fall-through walk
            // when it is left between warm blocks (an inlined `tuple()` in
            // an exception handler or a `finally`'s exceptional copy).
            self.addop(POP_ITER, NO_LOCATION);
            self.addop_j(JUMP, end, loc);
        } else {
            // Keep iterating while the item does not decide the result.
            self.addop(TO_BOOL, loc);
            self.addop_j(if stop_on_true { POP_JUMP_IF_FALSE } else { POP_JUMP_IF_TRUE }, top, loc);
            self.addop(POP_ITER, NO_LOCATION);
            self.load_const(Constant::Bool(stop_on_true), loc);
            self.addop_j(JUMP, end, loc);
        }
        self.use_label(exhausted);
        self.addop(END_FOR, NO_LOCATION);
        self.addop(POP_ITER, NO_LOCATION);
        if common == COMMON_BUILTIN_TUPLE {
            self.addop_i(CALL_INTRINSIC_1, INTRINSIC_LIST_TO_TUPLE as usize, loc);
        } else if !collect {
            self.load_const(Constant::Bool(!stop_on_true), loc);
        }
        self.addop_j(JUMP, end, loc);
        self.use_label(ordinary);
        Ok(Some(end))
    }

    /// The names of the keyword arguments of a call, then the call's
    /// opcode: `KW_NAMES` + `CALL` (3.12) or `LOAD_CONST` + `CALL_KW`.
    fn call_simple_kw_helper(&mut self, loc: Loc, keywords: &[ast::Keyword]) -> Result<Op> {
        let names: Vec<Constant> = keywords.iter().map(|k| Constant::Str(k.arg.clone().unwrap_or_default())).collect();
        if self.target.has(Feature::KwNames) {
            let i = self.add_const(Constant::Tuple(names));
            self.addop_i(KW_NAMES, i, loc);
            Ok(CALL)
        } else {
            self.load_const(Constant::Tuple(names), loc);
            Ok(CALL_KW)
        }
    }

    fn subkwargs(&mut self, loc: Loc, keywords: &'a [ast::Keyword], begin: usize, end: usize) -> Result<()> {
        let n = end - begin;
        let big = n * 2 > STACK_USE_GUIDELINE;
        if n > 1 && !big && !self.target.has(Feature::NoConstKeyMap) {
            for k in &keywords[begin..end] {
                self.visit_expr(&k.value)?;
            }
            let keys: Vec<Constant> =
                keywords[begin..end].iter().map(|k| Constant::Str(k.arg.clone().unwrap_or_default())).collect();
            self.load_identifier_const(Constant::Tuple(keys), loc);
            self.addop_i(BUILD_CONST_KEY_MAP, n, loc);
            return Ok(());
        }
        if big {
            self.addop_i(BUILD_MAP, 0, NO_LOCATION);
        }
        for k in &keywords[begin..end] {
            self.load_identifier_const(Constant::Str(k.arg.clone().unwrap_or_default()), loc);
            self.visit_expr(&k.value)?;
            if big {
                self.addop_i(MAP_ADD, 1, NO_LOCATION);
            }
        }
        if !big {
            self.addop_i(BUILD_MAP, n, loc);
        }
        Ok(())
    }

    pub fn call_helper(&mut self, loc: Loc, n: usize, args: &'a [Expr], keywords: &'a [ast::Keyword]) -> Result<()> {
        self.validate_keywords(keywords)?;
        let nelts = args.len();
        let nkwelts = keywords.len();
        let ex_call = nelts + nkwelts * 2 > STACK_USE_GUIDELINE
            || args.iter().any(Expr::is_starred)
            || keywords.iter().any(|k| k.arg.is_none());
        if !ex_call {
            for a in args {
                self.visit_expr(a)?;
            }
            let mut call = CALL;
            if nkwelts > 0 {
                for k in keywords {
                    self.visit_expr(&k.value)?;
                }
                call = self.call_simple_kw_helper(loc, keywords)?;
            }
            self.addop_i(call, n + nelts + nkwelts, loc);
            return Ok(());
        }
        if n == 0 && nelts == 1 {
            if let ExprKind::Starred { value, .. } = &args[0].kind {
                self.visit_expr(value)?;
            } else {
                self.starunpack(loc, args, n, BUILD_LIST, LIST_APPEND, LIST_EXTEND, true)?;
            }
        } else {
            self.starunpack(loc, args, n, BUILD_LIST, LIST_APPEND, LIST_EXTEND, true)?;
        }
        if nkwelts > 0 {
            let mut have_dict = false;
            let mut nseen = 0;
            for (i, k) in keywords.iter().enumerate() {
                if k.arg.is_none() {
                    if nseen > 0 {
                        self.subkwargs(loc, keywords, i - nseen, i)?;
                        if have_dict {
                            self.addop_i(DICT_MERGE, 1, loc);
                        }
                        have_dict = true;
                        nseen = 0;
                    }
                    if !have_dict {
                        self.addop_i(BUILD_MAP, 0, loc);
                        have_dict = true;
                    }
                    self.visit_expr(&k.value)?;
                    self.addop_i(DICT_MERGE, 1, loc);
                } else {
                    nseen += 1;
                }
            }
            if nseen > 0 {
                self.subkwargs(loc, keywords, nkwelts - nseen, nkwelts)?;
                if have_dict {
                    self.addop_i(DICT_MERGE, 1, loc);
                }
            }
        }
        if self.target.has(Feature::CallExKwargsSlot) {
            if nkwelts == 0 {
                self.addop(PUSH_NULL, loc);
            }
            self.addop(CALL_FUNCTION_EX, loc);
        } else {
            self.addop_i(CALL_FUNCTION_EX, usize::from(nkwelts > 0), loc);
        }
        Ok(())
    }

    /// A t-string: the tuple of its static strings (`''` where two fields
    /// or an end meet), each field's interpolation, the tuple of those,
    /// `BUILD_TEMPLATE`. The flow graph folds the strings into one
    /// constant tuple when there are at most 30 of them.
    fn template_str(&mut self, loc: Loc, values: &'a [Expr]) -> Result<()> {
        let is_field = |v: &Expr| matches!(v.kind, ExprKind::Interpolation { .. });
        let mut strings = 0;
        let mut after_field = true;
        for v in values {
            if is_field(v) {
                if after_field {
                    self.load_const(Constant::Str(PyStr::new("")), loc);
                    strings += 1;
                }
            } else if after_field {
                self.visit_expr(v)?;
                strings += 1;
            } else {
                // The parser merges neighbouring literals.
                return Err(Refusal::internal("two constants in a row in a t-string"));
            }
            after_field = is_field(v);
        }
        if after_field {
            self.load_const(Constant::Str(PyStr::new("")), loc);
            strings += 1;
        }
        self.addop_i(BUILD_TUPLE, strings, loc);
        let mut fields = 0;
        for v in values.iter().filter(|v| is_field(v)) {
            self.visit_expr(v)?;
            fields += 1;
        }
        self.addop_i(BUILD_TUPLE, fields, loc);
        self.addop(BUILD_TEMPLATE, loc);
        Ok(())
    }
}

/// The operand of a conversion (`!s`, `!r`, `!a`; -1 for none).
fn conversion_code(conversion: i32) -> Result<usize> {
    Ok(match conversion {
        -1 => 0,
        c if c == i32::from(b's') => 1,
        c if c == i32::from(b'r') => 2,
        c if c == i32::from(b'a') => 3,
        _ => return Err(Refusal::internal("unknown conversion")),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompType {
    GenExp,
    List,
    Set,
    Dict,
}
