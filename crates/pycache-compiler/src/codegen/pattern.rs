//! Structural pattern matching (PEP 634).
//!
//! Each pattern consumes the subject on top of the stack and jumps to a
//! "fail pop" label on failure; captured values wait on the stack, below
//! what is still needed, until the whole pattern has matched.

use super::*;
use crate::ast::{Ctx, Expr, ExprKind, MatchCase, Pattern, PatternKind};

struct PatternContext {
    stores: Vec<PyStr>,
    allow_irrefutable: bool,
    fail_pop: Vec<Label>,
    on_top: usize,
}

impl<'a> Compiler<'a> {
    fn ensure_fail_pop(&mut self, pc: &mut PatternContext, n: usize) {
        while pc.fail_pop.len() < n + 1 {
            let l = self.new_label();
            pc.fail_pop.push(l);
        }
    }

    fn jump_to_fail_pop(&mut self, loc: Loc, pc: &mut PatternContext, op: Op) {
        let pops = pc.on_top + pc.stores.len();
        self.ensure_fail_pop(pc, pops);
        let target = pc.fail_pop[pops];
        self.addop_j(op, target, loc);
    }

    fn emit_and_reset_fail_pop(&mut self, loc: Loc, pc: &mut PatternContext) {
        if pc.fail_pop.is_empty() {
            return;
        }
        for i in (1..pc.fail_pop.len()).rev() {
            self.use_label(pc.fail_pop[i]);
            self.addop(POP_TOP, loc);
        }
        self.use_label(pc.fail_pop[0]);
        pc.fail_pop.clear();
    }

    fn pattern_rotate(&mut self, loc: Loc, mut count: usize) {
        while count > 1 {
            self.addop_i(SWAP, count, loc);
            count -= 1;
        }
    }

    fn pattern_store_name(&mut self, loc: Loc, name: Option<&PyStr>, pc: &mut PatternContext) -> Result<()> {
        let Some(name) = name else {
            self.addop(POP_TOP, loc);
            return Ok(());
        };
        if name.as_bytes() == b"__debug__" {
            return Err(Refusal::syntax_at("cannot assign to __debug__", loc.lineno, loc.col_offset));
        }
        if pc.stores.contains(name) {
            return Err(Refusal::syntax_at(
                format!("multiple assignments to name '{name}' in pattern"),
                loc.lineno,
                loc.col_offset,
            ));
        }
        let rotations = pc.on_top + pc.stores.len() + 1;
        self.pattern_rotate(loc, rotations);
        pc.stores.push(name.clone());
        Ok(())
    }

    fn pattern_unpack_helper(&mut self, loc: Loc, elts: &[Pattern]) -> Result<()> {
        let n = elts.len();
        let mut seen_star = false;
        for (i, elt) in elts.iter().enumerate() {
            if matches!(elt.kind, PatternKind::MatchStar(_)) {
                if seen_star {
                    return Err(Refusal::syntax_at(
                        "multiple starred expressions in sequence pattern",
                        loc.lineno,
                        loc.col_offset,
                    ));
                }
                if i >= (1 << 8) {
                    return Err(Refusal::syntax_at(
                        "too many expressions in star-unpacking sequence pattern",
                        loc.lineno,
                        loc.col_offset,
                    ));
                }
                self.addop_i(UNPACK_EX, i + ((n - i - 1) << 8), loc);
                seen_star = true;
            }
        }
        if !seen_star {
            self.addop_i(UNPACK_SEQUENCE, n, loc);
        }
        Ok(())
    }

    fn pattern_sequence_unpack(&mut self, loc: Loc, patterns: &'a [Pattern], pc: &mut PatternContext) -> Result<()> {
        self.pattern_unpack_helper(loc, patterns)?;
        pc.on_top += patterns.len();
        for p in patterns {
            pc.on_top -= 1;
            self.pattern_subpattern(p, pc)?;
        }
        Ok(())
    }

    fn pattern_sequence_subscr(
        &mut self,
        loc: Loc,
        patterns: &'a [Pattern],
        star: usize,
        pc: &mut PatternContext,
    ) -> Result<()> {
        pc.on_top += 1;
        let size = patterns.len();
        for (i, p) in patterns.iter().enumerate() {
            if p.is_wildcard() || i == star {
                continue;
            }
            self.addop_i(COPY, 1, loc);
            if i < star {
                self.load_const(Constant::Int(i.into()), loc);
            } else {
                self.addop(GET_LEN, loc);
                self.load_const(Constant::Int((size - i).into()), loc);
                self.addop_i(BINARY_OP, NB_SUBTRACT as usize, loc);
            }
            self.addop_subscr(loc);
            self.pattern_subpattern(p, pc)?;
        }
        pc.on_top -= 1;
        self.addop(POP_TOP, loc);
        Ok(())
    }

    fn pattern_subpattern(&mut self, p: &'a Pattern, pc: &mut PatternContext) -> Result<()> {
        let saved = pc.allow_irrefutable;
        pc.allow_irrefutable = true;
        self.pattern(p, pc)?;
        pc.allow_irrefutable = saved;
        Ok(())
    }

    fn pattern(&mut self, p: &'a Pattern, pc: &mut PatternContext) -> Result<()> {
        let loc = Loc::of(p.range);
        match &p.kind {
            PatternKind::MatchValue(value) => {
                if !matches!(value.kind, ExprKind::Constant { .. } | ExprKind::Attribute { .. }) {
                    return Err(Refusal::syntax_at(
                        "patterns may only match literals and attribute lookups",
                        loc.lineno,
                        loc.col_offset,
                    ));
                }
                self.visit_expr(value)?;
                self.addcompare(ast::CmpOp::Eq, loc);
                self.to_bool(loc);
                self.jump_to_fail_pop(loc, pc, POP_JUMP_IF_FALSE);
            }
            PatternKind::MatchSingleton(value) => {
                self.load_const(value.clone(), loc);
                self.addcompare(ast::CmpOp::Is, loc);
                self.jump_to_fail_pop(loc, pc, POP_JUMP_IF_FALSE);
            }
            PatternKind::MatchSequence(patterns) => self.pattern_sequence(p, patterns, pc)?,
            PatternKind::MatchMapping { keys, patterns, rest } => {
                self.pattern_mapping(p, keys, patterns, rest.as_ref(), pc)?
            }
            PatternKind::MatchClass { cls, patterns, kwd_attrs, kwd_patterns } => {
                self.pattern_class(p, cls, patterns, kwd_attrs, kwd_patterns, pc)?
            }
            PatternKind::MatchStar(name) => self.pattern_store_name(loc, name.as_ref(), pc)?,
            PatternKind::MatchAs { pattern, name } => match pattern {
                None => {
                    if !pc.allow_irrefutable {
                        let msg = match name {
                            Some(n) => format!("name capture '{n}' makes remaining patterns unreachable"),
                            None => "wildcard makes remaining patterns unreachable".into(),
                        };
                        return Err(Refusal::syntax_at(msg, loc.lineno, loc.col_offset));
                    }
                    self.pattern_store_name(loc, name.as_ref(), pc)?;
                }
                Some(inner) => {
                    pc.on_top += 1;
                    self.addop_i(COPY, 1, loc);
                    self.pattern(inner, pc)?;
                    pc.on_top -= 1;
                    self.pattern_store_name(loc, name.as_ref(), pc)?;
                }
            },
            PatternKind::MatchOr(alts) => self.pattern_or(p, alts, pc)?,
        }
        Ok(())
    }

    fn pattern_class(
        &mut self,
        p: &'a Pattern,
        cls: &'a Expr,
        patterns: &'a [Pattern],
        kwd_attrs: &[PyStr],
        kwd_patterns: &'a [Pattern],
        pc: &mut PatternContext,
    ) -> Result<()> {
        let loc = Loc::of(p.range);
        let nargs = patterns.len();
        let nattrs = kwd_attrs.len();
        for (i, attr) in kwd_attrs.iter().enumerate() {
            let ploc = kwd_patterns[i].range;
            if attr.as_bytes() == b"__debug__" {
                return Err(Refusal::syntax_at("cannot assign to __debug__", ploc.lineno, ploc.col_offset));
            }
            if let Some(j) = kwd_attrs[i + 1..].iter().position(|o| o == attr) {
                let r = kwd_patterns[i + 1 + j].range;
                return Err(Refusal::syntax_at(
                    format!("attribute name repeated in class pattern: {attr}"),
                    r.lineno,
                    r.col_offset,
                ));
            }
        }
        self.visit_expr(cls)?;
        let names: Vec<Constant> = kwd_attrs.iter().map(|a| Constant::Str(a.clone())).collect();
        self.load_identifier_const(Constant::Tuple(names), loc);
        self.addop_i(MATCH_CLASS, nargs, loc);
        self.addop_i(COPY, 1, loc);
        self.load_const(Constant::None, loc);
        self.addop_i(IS_OP, 1, loc);
        pc.on_top += 1;
        self.jump_to_fail_pop(loc, pc, POP_JUMP_IF_FALSE);
        self.addop_i(UNPACK_SEQUENCE, nargs + nattrs, loc);
        pc.on_top += nargs + nattrs;
        pc.on_top -= 1;
        for i in 0..nargs + nattrs {
            pc.on_top -= 1;
            let pattern = if i < nargs { &patterns[i] } else { &kwd_patterns[i - nargs] };
            if pattern.is_wildcard() {
                self.addop(POP_TOP, loc);
                continue;
            }
            self.pattern_subpattern(pattern, pc)?;
        }
        Ok(())
    }

    fn pattern_mapping(
        &mut self,
        p: &'a Pattern,
        keys: &'a [Expr],
        patterns: &'a [Pattern],
        rest: Option<&PyStr>,
        pc: &mut PatternContext,
    ) -> Result<()> {
        let loc = Loc::of(p.range);
        let size = keys.len();
        pc.on_top += 1;
        self.addop(MATCH_MAPPING, loc);
        self.jump_to_fail_pop(loc, pc, POP_JUMP_IF_FALSE);
        if size == 0 && rest.is_none() {
            pc.on_top -= 1;
            self.addop(POP_TOP, loc);
            return Ok(());
        }
        if size > 0 {
            self.addop(GET_LEN, loc);
            self.load_const(Constant::Int(size.into()), loc);
            self.addcompare(ast::CmpOp::GtE, loc);
            self.jump_to_fail_pop(loc, pc, POP_JUMP_IF_FALSE);
        }
        let mut seen: Vec<crate::code::ConstKey> = Vec::new();
        for key in keys {
            match &key.kind {
                ExprKind::Constant { value, .. } => {
                    let k = value.key();
                    if seen.contains(&k) {
                        return Err(Refusal::syntax_at(
                            "mapping pattern checks duplicate key",
                            loc.lineno,
                            loc.col_offset,
                        ));
                    }
                    seen.push(k);
                }
                ExprKind::Attribute { .. } => {}
                _ => {
                    return Err(Refusal::syntax_at(
                        "mapping pattern keys may only match literals and attribute lookups",
                        loc.lineno,
                        loc.col_offset,
                    ));
                }
            }
            self.visit_expr(key)?;
        }
        self.addop_i(BUILD_TUPLE, size, loc);
        self.addop(MATCH_KEYS, loc);
        pc.on_top += 2;
        self.addop_i(COPY, 1, loc);
        self.load_const(Constant::None, loc);
        self.addop_i(IS_OP, 1, loc);
        self.jump_to_fail_pop(loc, pc, POP_JUMP_IF_FALSE);
        self.addop_i(UNPACK_SEQUENCE, size, loc);
        pc.on_top += size;
        pc.on_top -= 1;
        for pattern in patterns {
            pc.on_top -= 1;
            self.pattern_subpattern(pattern, pc)?;
        }
        pc.on_top -= 2;
        if let Some(rest) = rest {
            self.addop_i(BUILD_MAP, 0, loc);
            self.addop_i(SWAP, 3, loc);
            self.addop_i(DICT_UPDATE, 2, loc);
            self.addop_i(UNPACK_SEQUENCE, size, loc);
            let mut size = size;
            while size > 0 {
                self.addop_i(COPY, 1 + size, loc);
                size -= 1;
                self.addop_i(SWAP, 2, loc);
                self.addop(DELETE_SUBSCR, loc);
            }
            self.pattern_store_name(loc, Some(rest), pc)?;
        } else {
            self.addop(POP_TOP, loc);
            self.addop(POP_TOP, loc);
        }
        Ok(())
    }

    fn pattern_or(&mut self, p: &'a Pattern, alts: &'a [Pattern], pc: &mut PatternContext) -> Result<()> {
        let loc = Loc::of(p.range);
        let end = self.new_label();
        let old_stores = std::mem::take(&mut pc.stores);
        let old_allow = pc.allow_irrefutable;
        let old_fail_pop = std::mem::take(&mut pc.fail_pop);
        let old_on_top = pc.on_top;
        let mut control: Option<Vec<PyStr>> = None;
        let size = alts.len();
        for (i, alt) in alts.iter().enumerate() {
            let aloc = Loc::of(alt.range);
            pc.stores = Vec::new();
            pc.allow_irrefutable = i == size - 1 && old_allow;
            pc.fail_pop = Vec::new();
            pc.on_top = 0;
            self.addop_i(COPY, 1, aloc);
            self.pattern(alt, pc)?;
            let nstores = pc.stores.len();
            match &control {
                None => control = Some(pc.stores.clone()),
                Some(ctrl) if nstores != ctrl.len() => {
                    return Err(Refusal::syntax_at(
                        "alternative patterns bind different names",
                        loc.lineno,
                        loc.col_offset,
                    ));
                }
                Some(ctrl) if nstores > 0 => {
                    let ctrl = ctrl.clone();
                    let mut icontrol = nstores;
                    while icontrol > 0 {
                        icontrol -= 1;
                        let name = &ctrl[icontrol];
                        let Some(istores) = pc.stores.iter().position(|s| s == name) else {
                            return Err(Refusal::syntax_at(
                                "alternative patterns bind different names",
                                loc.lineno,
                                loc.col_offset,
                            ));
                        };
                        if icontrol != istores {
                            let rotations = istores + 1;
                            let rotated: Vec<PyStr> = pc.stores.drain(..rotations).collect();
                            let at = icontrol - istores;
                            for (k, name) in rotated.into_iter().enumerate() {
                                pc.stores.insert(at + k, name);
                            }
                            for _ in 0..rotations {
                                self.pattern_rotate(aloc, icontrol + 1);
                            }
                        }
                    }
                }
                Some(_) => {}
            }
            self.addop_j(JUMP, end, aloc);
            self.emit_and_reset_fail_pop(aloc, pc);
        }
        pc.stores = old_stores;
        pc.allow_irrefutable = old_allow;
        pc.fail_pop = old_fail_pop;
        pc.on_top = old_on_top;
        self.addop(POP_TOP, loc);
        self.jump_to_fail_pop(loc, pc, JUMP);
        self.use_label(end);
        let control = control.unwrap_or_default();
        let nstores = control.len();
        let nrots = nstores + 1 + pc.on_top + pc.stores.len();
        for name in control {
            self.pattern_rotate(loc, nrots);
            if pc.stores.contains(&name) {
                return Err(Refusal::syntax_at(
                    format!("multiple assignments to name '{name}' in pattern"),
                    loc.lineno,
                    loc.col_offset,
                ));
            }
            pc.stores.push(name);
        }
        self.addop(POP_TOP, loc);
        Ok(())
    }

    fn pattern_sequence(&mut self, p: &'a Pattern, patterns: &'a [Pattern], pc: &mut PatternContext) -> Result<()> {
        let loc = Loc::of(p.range);
        let size = patterns.len();
        let mut star: Option<usize> = None;
        let mut only_wildcard = true;
        let mut star_wildcard = false;
        for (i, pattern) in patterns.iter().enumerate() {
            if matches!(pattern.kind, PatternKind::MatchStar(_)) {
                if star.is_some() {
                    return Err(Refusal::syntax_at(
                        "multiple starred names in sequence pattern",
                        loc.lineno,
                        loc.col_offset,
                    ));
                }
                star_wildcard = pattern.is_star_wildcard();
                only_wildcard &= star_wildcard;
                star = Some(i);
                continue;
            }
            only_wildcard &= pattern.is_wildcard();
        }
        pc.on_top += 1;
        self.addop(MATCH_SEQUENCE, loc);
        self.jump_to_fail_pop(loc, pc, POP_JUMP_IF_FALSE);
        match star {
            None => {
                self.addop(GET_LEN, loc);
                self.load_const(Constant::Int(size.into()), loc);
                self.addcompare(ast::CmpOp::Eq, loc);
                self.jump_to_fail_pop(loc, pc, POP_JUMP_IF_FALSE);
            }
            Some(_) if size > 1 => {
                self.addop(GET_LEN, loc);
                self.load_const(Constant::Int((size - 1).into()), loc);
                self.addcompare(ast::CmpOp::GtE, loc);
                self.jump_to_fail_pop(loc, pc, POP_JUMP_IF_FALSE);
            }
            Some(_) => {}
        }
        pc.on_top -= 1;
        if only_wildcard {
            self.addop(POP_TOP, loc);
        } else if star_wildcard {
            self.pattern_sequence_subscr(loc, patterns, star.unwrap_or(usize::MAX), pc)?;
        } else {
            self.pattern_sequence_unpack(loc, patterns, pc)?;
        }
        Ok(())
    }

    pub fn match_(&mut self, _s: &'a Stmt, subject: &'a Expr, cases: &'a [MatchCase]) -> Result<()> {
        self.visit_expr(subject)?;
        let end = self.new_label();
        let ncases = cases.len();
        let last = &cases[ncases - 1];
        let has_default = last.pattern.is_wildcard() && ncases > 1;
        let mut pc = PatternContext { stores: Vec::new(), allow_irrefutable: false, fail_pop: Vec::new(), on_top: 0 };
        for (i, m) in cases[..ncases - usize::from(has_default)].iter().enumerate() {
            let ploc = Loc::of(m.pattern.range);
            let is_last = i == ncases - usize::from(has_default) - 1;
            if !is_last {
                self.addop_i(COPY, 1, ploc);
            }
            pc.stores = Vec::new();
            pc.allow_irrefutable = m.guard.is_some() || i == ncases - 1;
            pc.fail_pop = Vec::new();
            pc.on_top = 0;
            self.pattern(&m.pattern, &mut pc)?;
            for name in pc.stores.clone() {
                self.nameop(&name, Ctx::Store, ploc)?;
            }
            if let Some(guard) = &m.guard {
                self.ensure_fail_pop(&mut pc, 0);
                let target = pc.fail_pop[0];
                self.jump_if(ploc, guard, target, false)?;
            }
            if !is_last {
                // 3.14: the subject's `POP_TOP` takes the location of the
                // instruction that follows it in the end.
                let loc = if self.target.has(Feature::MatchPopNextLocation) { NEXT_LOCATION } else { ploc };
                self.addop(POP_TOP, loc);
            }
            self.visit_stmts(&m.body)?;
            self.addop_j(JUMP, end, NO_LOCATION);
            self.emit_and_reset_fail_pop(ploc, &mut pc);
        }
        if has_default {
            let ploc = Loc::of(last.pattern.range);
            if ncases == 1 {
                self.addop(POP_TOP, ploc);
            } else {
                self.addop(NOP, ploc);
            }
            if let Some(guard) = &last.guard {
                self.jump_if(ploc, guard, end, false)?;
            }
            self.visit_stmts(&last.body)?;
        }
        self.use_label(end);
        Ok(())
    }
}
