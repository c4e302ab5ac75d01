//! Comprehensions and generator expressions. List, set and dict
//! comprehensions are inlined into the enclosing code (PEP 709): their
//! bound names are saved on the stack and restored afterwards.

use super::expr::CompType;
use super::*;
use crate::ast::{Comp, Comprehension, Expr, ExprKind};

struct InlinedState {
    pushed_locals: Vec<PyStr>,
    temp_symbols: IndexMap<PyStr, i64>,
    fast_hidden: Vec<PyStr>,
    cleanup: Label,
    end: Label,
}

impl<'a> Compiler<'a> {
    fn comprehension_iter(&mut self, loc: Loc, comp: &'a Comprehension) -> Result<()> {
        self.visit_expr(&comp.iter)?;
        self.comprehension_get_iter(loc, comp);
        Ok(())
    }

    fn comprehension_get_iter(&mut self, loc: Loc, comp: &'a Comprehension) {
        let loc = self.iter_loc(loc, comp);
        self.addop(if comp.is_async { GET_AITER } else { GET_ITER }, loc);
    }

    /// Where a generator's iteration instructions are: the iterable's
    /// location from 3.13 (and 3.12.6), the comprehension's before.
    fn iter_loc(&self, loc: Loc, comp: &Comprehension) -> Loc {
        if self.target.has(Feature::ComprehensionIterableLocation) { Loc::of(comp.iter.range) } else { loc }
    }

    pub fn comprehension(&mut self, e: &'a Expr, c: &'a Comp, kind: CompType) -> Result<()> {
        let loc = Loc::of(e.range);
        let scope_type = self.unit().scope_type;
        let entry = self.st.lookup(c.id)?;
        let is_inlined = self.st.entry(entry).comp_inlined;
        let is_async_generator = self.st.entry(entry).coroutine;
        let outermost = &c.generators[0];
        let mut state = None;
        // 3.15: the iterable is evaluated first and its iterator made
        // after the setup, right before the loop (inlined), or inside the
        // generator expression's own code.
        let iter_late = self.target.has(Feature::ComprehensionIterAfterSetup);
        if is_inlined {
            if iter_late {
                self.visit_expr(&outermost.iter)?;
            } else {
                self.comprehension_iter(loc, outermost)?;
            }
            state = Some(self.push_inlined_comprehension_state(loc, entry)?);
        } else {
            let name = match kind {
                CompType::GenExp => "<genexpr>",
                CompType::List => "<listcomp>",
                CompType::Set => "<setcomp>",
                CompType::Dict => "<dictcomp>",
            };
            self.enter_scope(PyStr::new(name), ScopeType::Comprehension, c.id, e.range.lineno)?;
        }
        if is_async_generator
            && kind != CompType::GenExp
            && !matches!(scope_type, ScopeType::AsyncFunction | ScopeType::Comprehension)
        {
            return Err(Refusal::syntax_at(
                "asynchronous comprehension outside of an asynchronous function",
                loc.lineno,
                loc.col_offset,
            ));
        }
        if kind != CompType::GenExp {
            let op = match kind {
                CompType::List => BUILD_LIST,
                CompType::Set => BUILD_SET,
                _ => BUILD_MAP,
            };
            self.addop_i(op, 0, loc);
            if is_inlined {
                self.addop_i(SWAP, 2, loc);
            }
        }
        self.comprehension_generator(loc, &c.generators, 0, 0, &c.elt, c.value.as_deref(), kind, is_inlined)?;
        if let Some(state) = state {
            return self.pop_inlined_comprehension_state(loc, state);
        }
        let iter_inside = kind == CompType::GenExp && self.target.has(Feature::GenexprIterInside);
        if kind != CompType::GenExp {
            self.addop(RETURN_VALUE, loc);
        } else {
            self.wrap_in_stopiteration_handler();
            if iter_inside {
                // Before the handler's range: `RESUME 4`, the argument and
                // its iterator; the generator prefix goes after them.
                let iloc = self.iter_loc(loc, outermost);
                let get_iter = if outermost.is_async { GET_AITER } else { GET_ITER };
                self.u().seq.insert(0, get_iter, 0, iloc);
                self.u().seq.insert(0, LOAD_FAST, 0, iloc);
                self.u().seq.insert(0, RESUME, RESUME_GENEXPR_START, NO_LOCATION);
            }
        }
        let (code, nfree) = self.optimize_and_assemble(true)?;
        self.exit_scope();
        self.make_closure(code, nfree, 0, loc)?;
        if self.target.has(Feature::GenexprIterInside) {
            self.visit_expr(&outermost.iter)?;
        } else {
            self.comprehension_iter(loc, outermost)?;
        }
        self.addop_i(CALL, 0, loc);
        if is_async_generator && kind != CompType::GenExp {
            self.addop_i(GET_AWAITABLE, 0, loc);
            self.await_sent_none(loc);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn comprehension_generator(
        &mut self,
        loc: Loc,
        generators: &'a [Comprehension],
        gen_index: usize,
        depth: usize,
        elt: &'a Expr,
        val: Option<&'a Expr>,
        kind: CompType,
        iter_on_stack: bool,
    ) -> Result<()> {
        if generators[gen_index].is_async {
            self.async_comprehension_generator(loc, generators, gen_index, depth, elt, val, kind, iter_on_stack)
        } else {
            self.sync_comprehension_generator(loc, generators, gen_index, depth, elt, val, kind, iter_on_stack)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn sync_comprehension_generator(
        &mut self,
        loc: Loc,
        generators: &'a [Comprehension],
        gen_index: usize,
        mut depth: usize,
        elt: &'a Expr,
        val: Option<&'a Expr>,
        kind: CompType,
        iter_on_stack: bool,
    ) -> Result<()> {
        let mut start = self.new_label();
        let if_cleanup = self.new_label();
        let anchor = self.new_label();
        let gen_ = &generators[gen_index];
        let iloc = self.iter_loc(loc, gen_);
        let pair = self.target.has(Feature::IterPair);
        if !iter_on_stack {
            if gen_index == 0 {
                self.u().md.argcount = 1;
                // 3.15 passes the iterable: a generator expression's
                // prologue makes its iterator (see `comprehension`), a list,
                // set or dict comprehension that is not inlined (in a
                // class's annotation scope) makes it here, after the setup.
                if !self.target.has(Feature::GenexprIterInside) {
                    self.addop_i(LOAD_FAST, 0, loc);
                } else if kind != CompType::GenExp {
                    self.addop_i(LOAD_FAST, 0, loc);
                    self.addop(GET_ITER, iloc);
                }
            } else {
                let elts = match &gen_.iter.kind {
                    ExprKind::List { elts, .. } | ExprKind::Tuple { elts, .. } => Some(elts),
                    _ => None,
                };
                if let Some([single]) = elts.map(|v| v.as_slice()) {
                    if !single.is_starred() {
                        self.visit_expr(single)?;
                        start = NO_LABEL;
                    }
                }
                if start.is_label() {
                    self.visit_expr(&gen_.iter)?;
                    self.addop(GET_ITER, iloc);
                }
            }
        }
        if start.is_label() {
            depth += if pair { 2 } else { 1 };
            if self.target.has(Feature::ComprehensionGetIter)
                || (iter_on_stack && self.target.has(Feature::ComprehensionIterAfterSetup))
            {
                self.addop(GET_ITER, iloc);
            }
            self.use_label(start);
            self.addop_j(FOR_ITER, anchor, iloc);
        }
        self.visit_expr(&gen_.target)?;
        for cond in &gen_.ifs {
            self.jump_if(loc, cond, if_cleanup, false)?;
        }
        let next = gen_index + 1;
        if next < generators.len() {
            self.comprehension_generator(loc, generators, next, depth, elt, val, kind, false)?;
        }
        let mut elt_loc = Loc::of(elt.range);
        if next >= generators.len() {
            elt_loc = self.comprehension_element(elt, val, kind, depth)?;
        }
        self.use_label(if_cleanup);
        if start.is_label() {
            self.addop_j(JUMP, start, elt_loc);
            self.use_label(anchor);
            self.addop(END_FOR, NO_LOCATION);
            if self.target.has(Feature::EndForPopTop) {
                self.addop(self.pop_iter_op(), NO_LOCATION);
            }
        }
        Ok(())
    }

    /// The innermost step: yield or add the element. Returns its location.
    fn comprehension_element(
        &mut self,
        elt: &'a Expr,
        val: Option<&'a Expr>,
        kind: CompType,
        depth: usize,
    ) -> Result<Loc> {
        let mut elt_loc = Loc::of(elt.range);
        // `[*a for a in b]` (3.15, PEP 798): the iterable is added whole.
        if let ExprKind::Starred { value, .. } = &elt.kind {
            return self.unpacked_comprehension_element(value, elt_loc, kind, depth).map(|()| elt_loc);
        }
        if kind == CompType::Dict && val.is_none() {
            self.visit_expr(elt)?;
            self.addop_i(DICT_UPDATE, depth + 1, elt_loc);
            return Ok(elt_loc);
        }
        match kind {
            CompType::GenExp => {
                self.visit_expr(elt)?;
                self.addop_yield(elt_loc);
                self.addop(POP_TOP, elt_loc);
            }
            CompType::List => {
                self.visit_expr(elt)?;
                self.addop_i(LIST_APPEND, depth + 1, elt_loc);
            }
            CompType::Set => {
                self.visit_expr(elt)?;
                self.addop_i(SET_ADD, depth + 1, elt_loc);
            }
            CompType::Dict => {
                let val = val.ok_or_else(|| Refusal::internal("dict comprehension without a value"))?;
                self.visit_expr(elt)?;
                self.visit_expr(val)?;
                elt_loc =
                    Loc::new(elt.range.lineno, val.range.end_lineno, elt.range.col_offset, val.range.end_col_offset);
                self.addop_i(MAP_ADD, depth + 1, elt_loc);
            }
        }
        Ok(elt_loc)
    }

    /// The innermost step of `[*a for a in b]`, `{*a for a in b}` and
    /// `(*a for a in b)` (3.15, PEP 798), everything at the starred
    /// element's location: the list and set take the iterable whole
    /// (`LIST_EXTEND`, `SET_UPDATE`); the generator expression loops over it
    /// and yields each item (no `yield from`, also when asynchronous).
    fn unpacked_comprehension_element(
        &mut self,
        value: &'a Expr,
        loc: Loc,
        kind: CompType,
        depth: usize,
    ) -> Result<()> {
        self.visit_expr(value)?;
        match kind {
            CompType::List => self.addop_i(LIST_EXTEND, depth + 1, loc),
            CompType::Set => self.addop_i(SET_UPDATE, depth + 1, loc),
            CompType::GenExp => {
                let start = self.new_label();
                let end = self.new_label();
                self.addop(GET_ITER, loc);
                self.use_label(start);
                self.addop_j(FOR_ITER, end, loc);
                self.addop_yield(loc);
                self.addop(POP_TOP, loc);
                self.addop_j(JUMP, start, loc);
                self.use_label(end);
                self.addop(END_FOR, NO_LOCATION);
                if self.target.has(Feature::EndForPopTop) {
                    self.addop(self.pop_iter_op(), NO_LOCATION);
                }
            }
            CompType::Dict => return Err(Refusal::internal("a starred key in a dict comprehension")),
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn async_comprehension_generator(
        &mut self,
        loc: Loc,
        generators: &'a [Comprehension],
        gen_index: usize,
        mut depth: usize,
        elt: &'a Expr,
        val: Option<&'a Expr>,
        kind: CompType,
        iter_on_stack: bool,
    ) -> Result<()> {
        let start = self.new_label();
        let except = self.new_label();
        let if_cleanup = self.new_label();
        let gen_ = &generators[gen_index];
        let iloc = self.iter_loc(loc, gen_);
        if !iter_on_stack {
            if gen_index == 0 {
                self.u().md.argcount = 1;
                // 3.15: the generator's prologue gets the iterator (see
                // `comprehension`).
                if !self.target.has(Feature::GenexprIterInside) {
                    self.addop_i(LOAD_FAST, 0, loc);
                }
            } else {
                self.visit_expr(&gen_.iter)?;
                self.addop(GET_AITER, iloc);
            }
        } else if self.target.has(Feature::ComprehensionIterAfterSetup) {
            // 3.15: an inlined comprehension's iterator comes after the setup.
            self.addop(GET_AITER, iloc);
        }
        self.use_label(start);
        self.push_fblock(FBlockType::AsyncComprehensionGenerator, start, NO_LABEL, FBlockDatum::None, loc)?;
        self.addop_j(SETUP_FINALLY, except, loc);
        self.addop(GET_ANEXT, loc);
        let send = self.anext_await(loc);
        self.addop(POP_BLOCK, loc);
        self.visit_expr(&gen_.target)?;
        for cond in &gen_.ifs {
            self.jump_if(loc, cond, if_cleanup, false)?;
        }
        depth += 1;
        let next = gen_index + 1;
        if next < generators.len() {
            self.comprehension_generator(loc, generators, next, depth, elt, val, kind, false)?;
        }
        let mut elt_loc = Loc::of(elt.range);
        if next >= generators.len() {
            elt_loc = self.comprehension_element(elt, val, kind, depth)?;
        }
        self.use_label(if_cleanup);
        self.addop_j(JUMP, start, elt_loc);
        self.pop_fblock();
        self.use_label(except);
        self.end_async_for(send, loc);
        Ok(())
    }

    fn push_inlined_comprehension_state(&mut self, loc: Loc, entry: symtable::ScopeId) -> Result<InlinedState> {
        use symtable::*;
        let in_class_block = self.ste().kind == BlockType::Class && self.unit().in_inlined_comp == 0;
        // 3.14 saves only the comprehension's own bound names in a class
        // body too (3.13: every name of its symbol table).
        let save_all = in_class_block && !self.target.has(Feature::ClassComprehensionTargets);
        self.u().in_inlined_comp += 1;
        let mut state = InlinedState {
            pushed_locals: Vec::new(),
            temp_symbols: IndexMap::default(),
            fast_hidden: Vec::new(),
            cleanup: NO_LABEL,
            end: NO_LABEL,
        };
        let symbols: Vec<(PyStr, i64)> = self.st.entry(entry).symbols.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let function_like = self.ste().is_function_like();
        let all_names = self.target.has(Feature::InlinedScopesAllNames);
        for (k, symbol) in symbols {
            let local = (symbol & DEF_LOCAL != 0 && symbol & DEF_NONLOCAL == 0) || save_all;
            if !local && !all_names {
                continue;
            }
            let scope = (symbol >> SCOPE_OFFSET) & SCOPE_MASK;
            let ste_id = self.unit().ste;
            let outv = self.st.entry(ste_id).symbols.get(&k).copied();
            let outsc = (outv.unwrap_or(0) >> SCOPE_OFFSET) & SCOPE_MASK;
            let differs = scope != outsc && !(scope == CELL && outsc == FREE);
            let swap = if all_names { (differs && scope != FREE) || in_class_block } else { differs };
            if swap {
                self.st.entry_mut(ste_id).symbols.insert(k.clone(), symbol);
                state.temp_symbols.insert(k.clone(), outv.unwrap_or(0));
            }
            if !local {
                continue;
            }
            if !function_like && self.unit().md.fasthidden.get(&k) != Some(&true) {
                self.u().md.fasthidden.insert(k.clone(), true);
                state.fast_hidden.push(k.clone());
            }
            self.addop_varname(LOAD_FAST_AND_CLEAR, &k, loc);
            if scope == CELL {
                let mangled = self.maybe_mangle(&k);
                let md = &mut self.u().md;
                let i = if outsc == FREE { md.freevars.add(&mangled) } else { md.cellvars.add(&mangled) };
                self.addop_i(MAKE_CELL, i, loc);
            }
            state.pushed_locals.push(k);
        }
        if !state.pushed_locals.is_empty() {
            self.addop_i(SWAP, state.pushed_locals.len() + 1, loc);
            state.cleanup = self.new_label();
            state.end = self.new_label();
            self.addop_j(SETUP_FINALLY, state.cleanup, loc);
        }
        Ok(state)
    }

    fn restore_inlined_comprehension_locals(&mut self, loc: Loc, state: &InlinedState) {
        let npops = state.pushed_locals.len();
        self.addop_i(SWAP, npops + 1, loc);
        for k in state.pushed_locals.iter().rev() {
            self.addop_varname(STORE_FAST_MAYBE_NULL, k, loc);
        }
    }

    fn pop_inlined_comprehension_state(&mut self, loc: Loc, state: InlinedState) -> Result<()> {
        self.u().in_inlined_comp -= 1;
        let ste_id = self.unit().ste;
        for (k, v) in &state.temp_symbols {
            self.st.entry_mut(ste_id).symbols.insert(k.clone(), *v);
        }
        if !state.pushed_locals.is_empty() {
            self.addop(POP_BLOCK, NO_LOCATION);
            self.addop_j(self.jump_no_interrupt(), state.end, NO_LOCATION);
            self.use_label(state.cleanup);
            self.addop_i(SWAP, 2, NO_LOCATION);
            self.addop(POP_TOP, NO_LOCATION);
            self.restore_inlined_comprehension_locals(loc, &state);
            self.addop_i(RERAISE, 0, NO_LOCATION);
            self.use_label(state.end);
            self.restore_inlined_comprehension_locals(loc, &state);
        }
        for k in &state.fast_hidden {
            self.u().md.fasthidden.insert(k.clone(), false);
        }
        Ok(())
    }
}
