//! Statements.

use super::*;
use crate::ast::{Ctx, ExprKind, StmtKind};

impl<'a> Compiler<'a> {
    pub fn visit_stmt(&mut self, s: &'a Stmt) -> Result<()> {
        crate::check_deadline()?;
        let loc = Loc::of(s.range);
        match &s.kind {
            StmtKind::FunctionDef(f) => self.function(s, f, false),
            StmtKind::AsyncFunctionDef(f) => self.function(s, f, true),
            StmtKind::ClassDef(c) => self.class(s, c),
            StmtKind::TypeAlias { id, type_params_id, name, type_params, value } => {
                self.type_alias(s, *id, *type_params_id, name, type_params, value)
            }
            StmtKind::Return(value) => self.return_(s, value.as_deref()),
            StmtKind::Delete(targets) => targets.iter().try_for_each(|t| self.visit_expr(t)),
            StmtKind::Assign { targets, value } => {
                self.visit_expr(value)?;
                let n = targets.len();
                for (i, t) in targets.iter().enumerate() {
                    if i < n - 1 {
                        self.addop_i(COPY, 1, loc);
                    }
                    self.visit_expr(t)?;
                }
                Ok(())
            }
            StmtKind::AugAssign { target, op, value } => self.augassign(s, target, *op, value),
            StmtKind::AnnAssign { target, annotation, value, simple } => {
                self.annassign(s, target, annotation, value.as_deref(), *simple)
            }
            StmtKind::For { target, iter, body, orelse } => {
                self.conditional_block(|c| c.for_(s, target, iter, body, orelse))
            }
            StmtKind::AsyncFor { target, iter, body, orelse } => {
                self.conditional_block(|c| c.async_for(s, target, iter, body, orelse))
            }
            StmtKind::While { .. } | StmtKind::If { .. } | StmtKind::Match { .. } => {
                self.conditional_block(|c| c.branch(s))
            }
            StmtKind::Try { .. } | StmtKind::TryStar { .. } | StmtKind::With { .. } | StmtKind::AsyncWith { .. } => {
                self.conditional_block(|c| c.guarded(s))
            }
            _ => self.simple_stmt(s),
        }
    }

    /// `while`, `if` and `match`.
    fn branch(&mut self, s: &'a Stmt) -> Result<()> {
        let loc = Loc::of(s.range);
        match &s.kind {
            StmtKind::While { test, body, orelse } => {
                let loop_ = self.new_label();
                let body_label = self.new_label();
                let end = self.new_label();
                let anchor = self.new_label();
                self.use_label(loop_);
                self.push_fblock(FBlockType::WhileLoop, loop_, end, FBlockDatum::None, loc)?;
                self.jump_if(loc, test, anchor, false)?;
                self.use_label(body_label);
                self.visit_stmts(body)?;
                if self.target.has(Feature::WhileTestOnce) {
                    self.addop_j(JUMP, loop_, NO_LOCATION);
                } else {
                    self.jump_if(loc, test, body_label, true)?;
                }
                self.pop_fblock();
                self.use_label(anchor);
                self.visit_stmts(orelse)?;
                self.use_label(end);
                Ok(())
            }
            StmtKind::If { test, body, orelse } => {
                let end = self.new_label();
                let next = if orelse.is_empty() { end } else { self.new_label() };
                self.jump_if(loc, test, next, false)?;
                self.visit_stmts(body)?;
                if !orelse.is_empty() {
                    self.addop_j(self.jump_no_interrupt(), end, NO_LOCATION);
                    self.use_label(next);
                    self.visit_stmts(orelse)?;
                }
                self.use_label(end);
                Ok(())
            }
            StmtKind::Match { subject, cases } => self.match_(s, subject, cases),
            _ => Err(Refusal::internal("not a branch")),
        }
    }

    /// `try` and `with`.
    fn guarded(&mut self, s: &'a Stmt) -> Result<()> {
        if matches!(s.kind, StmtKind::Try { .. } | StmtKind::TryStar { .. }) {
            self.u().in_try_statement += 1;
            let result = self.try_statement(s);
            self.u().in_try_statement -= 1;
            return result;
        }
        self.try_statement(s)
    }

    fn try_statement(&mut self, s: &'a Stmt) -> Result<()> {
        match &s.kind {
            StmtKind::Try { body, handlers, orelse, finalbody } => {
                if finalbody.is_empty() {
                    self.try_except(s, body, handlers, orelse)
                } else {
                    self.try_finally(s, body, handlers, orelse, finalbody, false)
                }
            }
            StmtKind::TryStar { body, handlers, orelse, finalbody } => {
                if finalbody.is_empty() {
                    self.try_star_except(s, body, handlers, orelse)
                } else {
                    self.try_finally(s, body, handlers, orelse, finalbody, true)
                }
            }
            StmtKind::With { items, .. } => self.with(s, items, 0),
            StmtKind::AsyncWith { items, .. } => self.async_with(s, items, 0),
            _ => Err(Refusal::internal("not a try or with")),
        }
    }

    /// The statements that hold no others.
    fn simple_stmt(&mut self, s: &'a Stmt) -> Result<()> {
        let loc = Loc::of(s.range);
        match &s.kind {
            StmtKind::Raise { exc, cause } => {
                let mut n = 0;
                if let Some(exc) = exc {
                    self.visit_expr(exc)?;
                    n += 1;
                    if let Some(cause) = cause {
                        self.visit_expr(cause)?;
                        n += 1;
                    }
                }
                self.addop_i(RAISE_VARARGS, n, loc);
                Ok(())
            }
            StmtKind::Assert { test, msg } => {
                let always_true = match &test.kind {
                    ExprKind::Tuple { elts, .. } => !elts.is_empty(),
                    ExprKind::Constant { value: Constant::Tuple(items), .. } => !items.is_empty(),
                    _ => false,
                };
                if always_true {
                    self.warn(Loc::of(s.range), "assertion is always true, perhaps remove parentheses?".to_owned());
                }
                if self.optimize > 0 {
                    return Ok(());
                }
                let end = self.new_label();
                self.jump_if(loc, test, end, true)?;
                if self.target.has(Feature::LoadCommonConstant) {
                    self.addop_i(LOAD_COMMON_CONSTANT, COMMON_ASSERTION_ERROR, loc);
                } else {
                    self.addop(LOAD_ASSERTION_ERROR, loc);
                }
                if let Some(msg) = msg {
                    self.visit_expr(msg)?;
                    self.addop_i(CALL, 0, loc);
                }
                let raise_loc = if self.target.has(Feature::AssertRaiseAtTest) { Loc::of(test.range) } else { loc };
                self.addop_i(RAISE_VARARGS, 1, raise_loc);
                self.use_label(end);
                Ok(())
            }
            StmtKind::Import { names, lazy } => self.import(s, names, *lazy),
            StmtKind::ImportFrom { module, names, level, lazy } => {
                self.import_from(s, module.as_ref(), names, *level, *lazy)
            }
            StmtKind::Global(_) | StmtKind::Nonlocal(_) => Ok(()),
            StmtKind::Expr(value) => {
                if value.is_constant() {
                    self.addop(NOP, loc);
                    return Ok(());
                }
                self.visit_expr(value)?;
                self.addop(POP_TOP, NO_LOCATION);
                Ok(())
            }
            StmtKind::Pass => {
                self.addop(NOP, loc);
                Ok(())
            }
            StmtKind::Break => {
                let mut l = loc;
                self.addop(NOP, l);
                let Some(loop_) = self.unwind_fblock_stack(&mut l, false, true)? else {
                    return Err(Refusal::syntax_at("'break' outside loop", loc.lineno, loc.col_offset));
                };
                self.unwind_fblock(&mut l, loop_, false)?;
                self.addop_j(JUMP, loop_.exit, l);
                Ok(())
            }
            StmtKind::Continue => {
                let mut l = loc;
                self.addop(NOP, l);
                let Some(loop_) = self.unwind_fblock_stack(&mut l, false, true)? else {
                    return Err(Refusal::syntax_at("'continue' not properly in loop", loc.lineno, loc.col_offset));
                };
                self.addop_j(JUMP, loop_.block, l);
                Ok(())
            }
            _ => Err(Refusal::internal("not a simple statement")),
        }
    }

    fn check_debug_args(&self, args: &ast::Arguments) -> Result<()> {
        let all =
            args.posonlyargs.iter().chain(&args.args).chain(&args.vararg).chain(&args.kwonlyargs).chain(&args.kwarg);
        for a in all {
            if a.arg.as_bytes() == b"__debug__" {
                return Err(Refusal::syntax_at("cannot assign to __debug__", a.range.lineno, a.range.col_offset));
            }
        }
        Ok(())
    }

    pub fn default_arguments(&mut self, args: &'a ast::Arguments, loc: Loc) -> Result<usize> {
        let mut flags = 0;
        if !args.defaults.is_empty() {
            for d in &args.defaults {
                self.visit_expr(d)?;
            }
            self.addop_i(BUILD_TUPLE, args.defaults.len(), loc);
            flags |= 0x01;
        }
        if !args.kwonlyargs.is_empty() {
            let mut keys = Vec::new();
            // Keys that are the parser's identifiers (not mangled), noted
            // when the tuple of keys is loaded, after the defaults.
            let mut identifiers = Vec::new();
            let pairs = self.target.has(Feature::NoConstKeyMap);
            for (arg, default) in args.kwonlyargs.iter().zip(&args.kw_defaults) {
                if let Some(default) = default {
                    let mangled = self.maybe_mangle(&arg.arg);
                    // Unmangled, the key is the parser's identifier.
                    let identifier = mangled == arg.arg;
                    let name = Constant::Str(mangled);
                    if pairs && identifier {
                        self.load_identifier_const(name.clone(), loc);
                    } else if pairs {
                        self.load_const(name.clone(), loc);
                    } else if identifier {
                        identifiers.push(name.clone());
                    }
                    keys.push(name);
                    self.visit_expr(default)?;
                }
            }
            if pairs && !keys.is_empty() {
                self.addop_i(BUILD_MAP, keys.len(), loc);
                flags |= 0x02;
            } else if !keys.is_empty() {
                let n = keys.len();
                for name in &identifiers {
                    self.note_identifiers(name);
                }
                self.load_const(Constant::Tuple(keys), loc);
                self.addop_i(BUILD_CONST_KEY_MAP, n, loc);
                flags |= 0x02;
            }
        }
        Ok(flags)
    }

    fn argannotation(
        &mut self,
        id: &PyStr,
        annotation: Option<&'a ast::Expr>,
        len: &mut usize,
        loc: Loc,
    ) -> Result<()> {
        let Some(annotation) = annotation else { return Ok(()) };
        let mangled = symtable::mangle(self.unit().private.as_ref(), id);
        self.load_annotation_key(mangled, id, loc);
        if self.flags.annotations {
            self.annexpr(annotation)?;
        } else if let ExprKind::Starred { value, .. } = &annotation.kind {
            self.visit_expr(value)?;
            self.addop_i(UNPACK_SEQUENCE, 1, loc);
        } else {
            self.visit_expr(annotation)?;
        }
        *len += 2;
        Ok(())
    }

    /// An annotation under `from __future__ import annotations`: its
    /// source, as CPython's unparser renders it.
    pub fn annexpr(&mut self, annotation: &ast::Expr) -> Result<()> {
        let text = crate::unparse::unparse(annotation)?;
        self.load_const(Constant::Str(text), Loc::of(annotation.range));
        Ok(())
    }

    /// 3.13's annotations of a def: a tuple of names and values.
    fn annotations(&mut self, args: &'a ast::Arguments, returns: Option<&'a ast::Expr>, loc: Loc) -> Result<bool> {
        let mut len = 0;
        self.argannotations(args, returns, &mut len, loc)?;
        if len > 0 {
            self.addop_i(BUILD_TUPLE, len, loc);
            return Ok(true);
        }
        Ok(false)
    }

    /// Each annotated parameter's name and value, then the return's:
    /// regular positional parameters before positional-only ones (3.15:
    /// positional-only first, `PosonlyAnnotationsFirst`).
    fn argannotations(
        &mut self,
        args: &'a ast::Arguments,
        returns: Option<&'a ast::Expr>,
        len: &mut usize,
        loc: Loc,
    ) -> Result<()> {
        let (first, second) = if self.target.has(Feature::PosonlyAnnotationsFirst) {
            (&args.posonlyargs, &args.args)
        } else {
            (&args.args, &args.posonlyargs)
        };
        for a in first.iter().chain(second) {
            self.argannotation(&a.arg, a.annotation.as_deref(), len, loc)?;
        }
        if let Some(v) = &args.vararg {
            self.argannotation(&v.arg, v.annotation.as_deref(), len, loc)?;
        }
        for a in &args.kwonlyargs {
            self.argannotation(&a.arg, a.annotation.as_deref(), len, loc)?;
        }
        if let Some(k) = &args.kwarg {
            self.argannotation(&k.arg, k.annotation.as_deref(), len, loc)?;
        }
        self.argannotation(&PyStr::new("return"), returns, len, loc)?;
        Ok(())
    }

    /// Wraps a generator's body in a handler turning a leaked
    /// `StopIteration` into a `RuntimeError`.
    pub fn wrap_in_stopiteration_handler(&mut self) {
        let handler = self.new_label();
        self.u().seq.insert(0, SETUP_CLEANUP, handler.0, NO_LOCATION);
        self.load_const(Constant::None, NO_LOCATION);
        self.addop(RETURN_VALUE, NO_LOCATION);
        self.use_label(handler);
        self.addop_i(CALL_INTRINSIC_1, INTRINSIC_STOPITERATION_ERROR as usize, NO_LOCATION);
        self.addop_i(RERAISE, 1, NO_LOCATION);
    }

    fn function(&mut self, s: &'a Stmt, f: &'a ast::FunctionDef, is_async: bool) -> Result<()> {
        self.check_debug_args(&f.args)?;
        for d in &f.decorator_list {
            self.visit_expr(d)?;
        }
        let firstlineno = f.decorator_list.first().map_or(s.range.lineno, |d| d.range.lineno);
        let loc = Loc::of(s.range);
        let generic = !f.type_params.is_empty();
        if generic && !self.target.has(Feature::GenericCallNoNull) {
            // The NULL for calling the type parameters' function.
            self.addop(PUSH_NULL, loc);
        }
        let mut funcflags = self.default_arguments(&f.args, loc)?;
        let mut typeparam_args = 0;
        if generic {
            typeparam_args = self.enter_generic_function(f, funcflags, firstlineno, loc)?;
        }
        if self.target.has(Feature::LazyAnnotations) {
            let args = &f.args;
            let returns = f.returns.as_deref();
            if self.function_annotations(f, loc, |c, len| c.argannotations(args, returns, len, loc))? {
                funcflags |= annotations::MAKE_FUNCTION_ANNOTATE;
            }
        } else if self.annotations(&f.args, f.returns.as_deref(), loc)? {
            funcflags |= 0x04;
        }
        self.function_body(s, f, is_async, funcflags, firstlineno)?;
        if generic {
            self.exit_generic_function(typeparam_args, loc)?;
        }
        self.apply_decorators(&f.decorator_list);
        self.nameop(&f.name, Ctx::Store, loc)
    }

    /// The function's own code object, made into a function object.
    fn function_body(
        &mut self,
        s: &'a Stmt,
        f: &'a ast::FunctionDef,
        is_async: bool,
        funcflags: usize,
        firstlineno: i32,
    ) -> Result<()> {
        let scope_type = if is_async { ScopeType::AsyncFunction } else { ScopeType::Function };
        self.enter_scope(f.name.clone(), scope_type, f.id, firstlineno)?;
        let docstring = if self.optimize < 2 { ast::docstring(&f.body) } else { None };
        match docstring {
            Some(doc) => {
                let value = self.docstring_value(doc)?;
                self.add_const(value);
            }
            None if self.target.has(Feature::NoDocstringSlot) => {}
            None => {
                self.add_const(Constant::None);
            }
        };
        {
            let md = &mut self.u().md;
            md.argcount = f.args.args.len() as u32;
            md.posonlyargcount = f.args.posonlyargs.len() as u32;
            md.kwonlyargcount = f.args.kwonlyargs.len() as u32;
        }
        let skip_doc = self.target.has(Feature::NoDocstringNop) && ast::docstring(&f.body).is_some();
        let start = usize::from(docstring.is_some() || skip_doc);
        if skip_doc && docstring.is_none() && f.body.len() == 1 && self.target.has(Feature::LoneDocstringNop) {
            self.addop(NOP, lone_docstring_loc(Loc::of(f.body[0].range)));
        }
        if skip_doc && docstring.is_none() {
            self.add_stripped_docstring_successor(&f.body[1..]);
        }
        for stmt in &f.body[start..] {
            self.visit_stmt(stmt)?;
        }
        if self.ste().coroutine || self.ste().generator {
            self.wrap_in_stopiteration_handler();
        }
        let (mut code, nfree) = self.optimize_and_assemble(true)?;
        if docstring.is_some() && self.target.has(Feature::MethodDocstringFlags) {
            code.flags |= CO_HAS_DOCSTRING;
        }
        self.exit_scope();
        self.make_closure(code, nfree, funcflags, Loc::of(s.range))
    }

    pub fn apply_decorators(&mut self, decorators: &[ast::Expr]) {
        for d in decorators.iter().rev() {
            self.addop_i(CALL, 0, Loc::of(d.range));
        }
    }

    fn class(&mut self, s: &'a Stmt, c: &'a ast::ClassDef) -> Result<()> {
        for d in &c.decorator_list {
            self.visit_expr(d)?;
        }
        let firstlineno = c.decorator_list.first().map_or(s.range.lineno, |d| d.range.lineno);
        let loc = Loc::of(s.range);
        if c.type_params.is_empty() {
            self.class_body(s, c, firstlineno)?;
            self.call_helper(loc, 2, &c.bases, &c.keywords)?;
        } else {
            self.generic_class(s, c, firstlineno)?;
        }
        self.apply_decorators(&c.decorator_list);
        self.nameop(&c.name, Ctx::Store, loc)
    }

    /// The class body's code object, then what `__build_class__` takes
    /// before the bases: the body as a function and the class's name.
    pub fn class_body(&mut self, s: &'a Stmt, c: &'a ast::ClassDef, firstlineno: i32) -> Result<()> {
        self.enter_scope(c.name.clone(), ScopeType::Class, c.id, firstlineno)?;
        let loc = Loc::new(firstlineno, firstlineno, 0, 0);
        self.u().private = Some(c.name.clone());
        self.nameop(&PyStr::new("__name__"), Ctx::Load, loc)?;
        self.nameop(&PyStr::new("__module__"), Ctx::Store, loc)?;
        let qualname = self.unit().md.qualname.clone().unwrap_or_default();
        self.load_const(Constant::Str(qualname), loc);
        self.nameop(&PyStr::new("__qualname__"), Ctx::Store, loc)?;
        if self.target.has(Feature::ClassFirstLineno) {
            self.load_const(Constant::Int(firstlineno.into()), loc);
            self.nameop(&PyStr::new("__firstlineno__"), Ctx::Store, loc)?;
        }
        if !c.type_params.is_empty() {
            self.nameop(&PyStr::new(".type_params"), Ctx::Load, loc)?;
            self.nameop(&PyStr::new("__type_params__"), Ctx::Store, loc)?;
        }
        if self.ste().needs_classdict {
            self.addop(LOAD_LOCALS, loc);
            let i = self.u().md.cellvars.add(&PyStr::new("__classdict__"));
            self.addop_i(STORE_DEREF, i, loc);
        }
        if self.ste().has_conditional_annotations {
            self.addop_i(BUILD_SET, 0, loc);
            let i = self.u().md.cellvars.add(&PyStr::new("__conditional_annotations__"));
            self.addop_i(STORE_DEREF, i, loc);
        }
        self.body(loc, &c.body)?;
        if let Some(names) = self.u().static_attributes.take() {
            let names = names.into_iter().map(Constant::Str).collect();
            self.load_const(Constant::Tuple(names), NO_LOCATION);
            self.nameop(&PyStr::new("__static_attributes__"), Ctx::Store, NO_LOCATION)?;
        }
        if self.ste().needs_classdict {
            let i = self.unit().md.cellvars.get(&PyStr::new("__classdict__")).unwrap_or(0);
            self.addop_i(LOAD_CLOSURE, i, NO_LOCATION);
            self.nameop(&PyStr::new("__classdictcell__"), Ctx::Store, NO_LOCATION)?;
        }
        if self.ste().needs_class_closure {
            let i = self.unit().md.cellvars.get(&PyStr::new("__class__")).unwrap_or(0);
            self.addop_i(LOAD_CLOSURE, i, NO_LOCATION);
            self.addop_i(COPY, 1, NO_LOCATION);
            self.nameop(&PyStr::new("__classcell__"), Ctx::Store, NO_LOCATION)?;
        } else {
            self.load_const(Constant::None, NO_LOCATION);
        }
        self.addop(RETURN_VALUE, NO_LOCATION);
        let (code, nfree) = self.optimize_and_assemble(true)?;
        self.exit_scope();

        let loc = Loc::of(s.range);
        if self.target.has(Feature::NullAfterCallable) {
            self.addop(LOAD_BUILD_CLASS, loc);
            self.addop(PUSH_NULL, loc);
        } else {
            self.addop(PUSH_NULL, loc);
            self.addop(LOAD_BUILD_CLASS, loc);
        }
        self.make_closure(code, nfree, 0, loc)?;
        self.load_const(Constant::Str(c.name.clone()), loc);
        Ok(())
    }

    fn return_(&mut self, s: &'a Stmt, value: Option<&'a ast::Expr>) -> Result<()> {
        let mut loc = Loc::of(s.range);
        let preserve_tos = value.is_some_and(|v| !v.is_constant());
        if !self.ste().is_function_like() {
            return Err(Refusal::syntax_at("'return' outside function", loc.lineno, loc.col_offset));
        }
        if value.is_some() && self.ste().coroutine && self.ste().generator {
            return Err(Refusal::syntax_at("'return' with value in async generator", loc.lineno, loc.col_offset));
        }
        if preserve_tos {
            self.visit_expr(value.unwrap())?;
        } else if let Some(v) = value {
            loc = Loc::of(v.range);
            self.addop(NOP, loc);
        }
        if value.is_none_or(|v| v.range.lineno != s.range.lineno) {
            loc = Loc::of(s.range);
            self.addop(NOP, loc);
        }
        self.unwind_fblock_stack(&mut loc, preserve_tos, false)?;
        match value {
            None => self.load_const(Constant::None, loc),
            Some(v) if !preserve_tos => self.load_const(v.constant().cloned().unwrap_or(Constant::None), loc),
            _ => {}
        }
        self.addop(RETURN_VALUE, loc);
        Ok(())
    }

    fn augassign(&mut self, s: &'a Stmt, target: &'a ast::Expr, op: ast::Operator, value: &'a ast::Expr) -> Result<()> {
        let mut loc = Loc::of(target.range);
        match &target.kind {
            ExprKind::Attribute { value: obj, attr, .. } => {
                self.visit_expr(obj)?;
                self.addop_i(COPY, 1, loc);
                loc = self.update_start_location_to_match_attr(loc, target);
                self.addop_name(LOAD_ATTR, attr, loc);
            }
            ExprKind::Subscript { value: obj, slice, .. } => {
                self.visit_expr(obj)?;
                if self.is_slice_pair(slice) {
                    self.slice(slice)?;
                    self.addop_i(COPY, 3, loc);
                    self.addop_i(COPY, 3, loc);
                    self.addop_i(COPY, 3, loc);
                    self.addop(BINARY_SLICE, loc);
                } else {
                    self.visit_expr(slice)?;
                    self.addop_i(COPY, 2, loc);
                    self.addop_i(COPY, 2, loc);
                    self.addop_subscr(loc);
                }
            }
            ExprKind::Name { id, .. } => self.nameop(id, Ctx::Load, loc)?,
            _ => return Err(Refusal::internal("invalid augmented assignment target")),
        }
        self.visit_expr(value)?;
        self.addop_i(BINARY_OP, binop_arg(op, true), Loc::of(s.range));
        let mut loc = Loc::of(target.range);
        match &target.kind {
            ExprKind::Attribute { attr, .. } => {
                loc = self.update_start_location_to_match_attr(loc, target);
                self.addop_i(SWAP, 2, loc);
                self.addop_name(STORE_ATTR, attr, loc);
            }
            ExprKind::Subscript { slice, .. } => {
                if self.is_slice_pair(slice) {
                    self.addop_i(SWAP, 4, loc);
                    self.addop_i(SWAP, 3, loc);
                    self.addop_i(SWAP, 2, loc);
                    self.addop(STORE_SLICE, loc);
                } else {
                    self.addop_i(SWAP, 3, loc);
                    self.addop_i(SWAP, 2, loc);
                    self.addop(STORE_SUBSCR, loc);
                }
            }
            ExprKind::Name { id, .. } => self.nameop(id, Ctx::Store, loc)?,
            _ => {}
        }
        Ok(())
    }

    fn check_ann_expr(&mut self, e: &'a ast::Expr) -> Result<()> {
        self.visit_expr(e)?;
        self.addop(POP_TOP, Loc::of(e.range));
        Ok(())
    }

    fn check_ann_subscr(&mut self, e: &'a ast::Expr) -> Result<()> {
        match &e.kind {
            ExprKind::Slice { lower, upper, step } => {
                for part in [lower, upper, step].into_iter().flatten() {
                    self.check_ann_expr(part)?;
                }
                Ok(())
            }
            ExprKind::Tuple { elts, .. } => elts.iter().try_for_each(|elt| self.check_ann_subscr(elt)),
            _ => self.check_ann_expr(e),
        }
    }

    fn annassign(
        &mut self,
        s: &'a Stmt,
        target: &'a ast::Expr,
        annotation: &'a ast::Expr,
        value: Option<&'a ast::Expr>,
        simple: bool,
    ) -> Result<()> {
        let loc = Loc::of(s.range);
        if let Some(v) = value {
            self.visit_expr(v)?;
            self.visit_expr(target)?;
        }
        let module_or_class = matches!(self.unit().scope_type, ScopeType::Module | ScopeType::Class);
        match &target.kind {
            ExprKind::Name { id, .. } => {
                if id.as_bytes() == b"__debug__" {
                    return Err(Refusal::syntax_at("cannot assign to __debug__", loc.lineno, loc.col_offset));
                }
                if simple && module_or_class && self.target.has(Feature::LazyAnnotations) && !self.flags.annotations {
                    self.defer_annotation(s, loc)?;
                } else if simple && module_or_class {
                    if self.flags.annotations {
                        self.annexpr(annotation)?;
                    } else {
                        self.visit_expr(annotation)?;
                    }
                    self.addop_names(LOAD_NAME, &PyStr::new("__annotations__"), loc);
                    let mangled = symtable::mangle(self.unit().private.as_ref(), id);
                    self.load_annotation_key(mangled, id, loc);
                    self.addop(STORE_SUBSCR, loc);
                }
            }
            ExprKind::Attribute { value: obj, attr, .. } => {
                if attr.as_bytes() == b"__debug__" {
                    return Err(Refusal::syntax_at("cannot assign to __debug__", loc.lineno, loc.col_offset));
                }
                if value.is_none() {
                    self.check_ann_expr(obj)?;
                }
            }
            ExprKind::Subscript { value: obj, slice, .. } => {
                if value.is_none() {
                    self.check_ann_expr(obj)?;
                    self.check_ann_subscr(slice)?;
                }
            }
            _ => return Err(Refusal::internal("invalid annotated assignment target")),
        }
        // 3.14 evaluates no annotation of an attribute or subscript.
        if !simple && !self.flags.annotations && module_or_class && !self.target.has(Feature::LazyAnnotations) {
            self.check_ann_expr(annotation)?;
        }
        Ok(())
    }

    fn for_(
        &mut self,
        s: &'a Stmt,
        target: &'a ast::Expr,
        iter: &'a ast::Expr,
        body: &'a [Stmt],
        orelse: &'a [Stmt],
    ) -> Result<()> {
        let loc = Loc::of(s.range);
        let start = self.new_label();
        let body_label = self.new_label();
        let cleanup = self.new_label();
        let end = self.new_label();
        self.push_fblock(FBlockType::ForLoop, start, end, FBlockDatum::None, loc)?;
        self.visit_expr(iter)?;
        let iter_loc = if self.target.has(Feature::IterableLocation) { Loc::of(iter.range) } else { loc };
        self.addop(GET_ITER, iter_loc);
        self.use_label(start);
        self.addop_j(FOR_ITER, cleanup, iter_loc);
        if self.target.has(Feature::ForTargetNop) {
            self.addop(NOP, Loc::of(target.range));
        }
        self.use_label(body_label);
        self.visit_expr(target)?;
        self.visit_stmts(body)?;
        self.addop_j(JUMP, start, NO_LOCATION);
        self.use_label(cleanup);
        self.addop(END_FOR, NO_LOCATION);
        if self.target.has(Feature::EndForPopTop) {
            self.addop(self.pop_iter_op(), NO_LOCATION);
        }
        self.pop_fblock();
        self.visit_stmts(orelse)?;
        self.use_label(end);
        Ok(())
    }

    fn is_top_level_await(&self) -> bool {
        false
    }

    fn async_for(
        &mut self,
        s: &'a Stmt,
        target: &'a ast::Expr,
        iter: &'a ast::Expr,
        body: &'a [Stmt],
        orelse: &'a [Stmt],
    ) -> Result<()> {
        let loc = Loc::of(s.range);
        if !self.is_top_level_await() && self.unit().scope_type != ScopeType::AsyncFunction {
            return Err(Refusal::syntax_at("'async for' outside async function", loc.lineno, loc.col_offset));
        }
        let start = self.new_label();
        let except = self.new_label();
        let end = self.new_label();
        self.visit_expr(iter)?;
        let iter_loc = if self.target.has(Feature::IterableLocation) { Loc::of(iter.range) } else { loc };
        self.addop(GET_AITER, iter_loc);
        self.use_label(start);
        self.push_fblock(FBlockType::AsyncForLoop, start, end, FBlockDatum::None, loc)?;
        self.addop_j(SETUP_FINALLY, except, loc);
        self.addop(GET_ANEXT, loc);
        let send = self.anext_await(loc);
        self.addop(POP_BLOCK, loc);
        if self.target.has(Feature::NotTaken) {
            // 3.14: codegen's own, for the exit through `END_ASYNC_FOR`.
            self.addop(NOT_TAKEN, loc);
        }
        self.visit_expr(target)?;
        self.visit_stmts(body)?;
        self.addop_j(JUMP, start, NO_LOCATION);
        self.pop_fblock();
        self.use_label(except);
        self.end_async_for(send, Loc::of(iter.range));
        self.visit_stmts(orelse)?;
        self.use_label(end);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn try_finally(
        &mut self,
        s: &'a Stmt,
        body: &'a [Stmt],
        handlers: &'a [ast::ExceptHandler],
        orelse: &'a [Stmt],
        finalbody: &'a [Stmt],
        star: bool,
    ) -> Result<()> {
        let loc = Loc::of(s.range);
        let body_label = self.new_label();
        let end = self.new_label();
        let exit = self.new_label();
        let cleanup = self.new_label();
        self.addop_j(SETUP_FINALLY, end, loc);
        self.use_label(body_label);
        self.push_fblock(FBlockType::FinallyTry, body_label, end, FBlockDatum::Stmts(finalbody), loc)?;
        if !handlers.is_empty() {
            if star {
                self.try_star_except(s, body, handlers, orelse)?;
            } else {
                self.try_except(s, body, handlers, orelse)?;
            }
        } else {
            self.visit_stmts(body)?;
        }
        self.addop(POP_BLOCK, NO_LOCATION);
        self.pop_fblock();
        self.visit_stmts(finalbody)?;
        self.addop_j(self.jump_no_interrupt(), exit, NO_LOCATION);
        self.use_label(end);
        self.addop_j(SETUP_CLEANUP, cleanup, NO_LOCATION);
        self.addop(PUSH_EXC_INFO, NO_LOCATION);
        self.push_fblock(FBlockType::FinallyEnd, end, NO_LABEL, FBlockDatum::None, NO_LOCATION)?;
        self.visit_stmts(finalbody)?;
        self.pop_fblock();
        self.addop_i(RERAISE, 0, NO_LOCATION);
        self.use_label(cleanup);
        self.pop_except_and_reraise(NO_LOCATION);
        self.use_label(exit);
        Ok(())
    }

    fn try_except(
        &mut self,
        s: &'a Stmt,
        body: &'a [Stmt],
        handlers: &'a [ast::ExceptHandler],
        orelse: &'a [Stmt],
    ) -> Result<()> {
        let loc = Loc::of(s.range);
        let body_label = self.new_label();
        let mut except = self.new_label();
        let end = self.new_label();
        let cleanup = self.new_label();
        self.addop_j(SETUP_FINALLY, except, loc);
        self.use_label(body_label);
        self.push_fblock(FBlockType::TryExcept, body_label, NO_LABEL, FBlockDatum::None, loc)?;
        self.visit_stmts(body)?;
        self.pop_fblock();
        self.addop(POP_BLOCK, NO_LOCATION);
        self.visit_stmts(orelse)?;
        self.addop_j(self.jump_no_interrupt(), end, NO_LOCATION);
        let n = handlers.len();
        self.use_label(except);
        self.addop_j(SETUP_CLEANUP, cleanup, NO_LOCATION);
        self.addop(PUSH_EXC_INFO, NO_LOCATION);
        self.push_fblock(FBlockType::ExceptionHandler, NO_LABEL, NO_LABEL, FBlockDatum::None, loc)?;
        for (i, handler) in handlers.iter().enumerate() {
            let hloc = Loc::of(handler.range);
            if handler.type_.is_none() && i < n - 1 {
                return Err(Refusal::syntax_at("default 'except:' must be last", hloc.lineno, hloc.col_offset));
            }
            let next_except = self.new_label();
            except = next_except;
            if let Some(t) = &handler.type_ {
                self.visit_expr(t)?;
                self.addop(CHECK_EXC_MATCH, hloc);
                self.addop_j(POP_JUMP_IF_FALSE, except, hloc);
            }
            if let Some(name) = &handler.name {
                let cleanup_end = self.new_label();
                let cleanup_body = self.new_label();
                self.nameop(name, Ctx::Store, hloc)?;
                self.addop_j(SETUP_CLEANUP, cleanup_end, hloc);
                self.use_label(cleanup_body);
                self.push_fblock(
                    FBlockType::HandlerCleanup,
                    cleanup_body,
                    NO_LABEL,
                    FBlockDatum::Handler(Some(name)),
                    hloc,
                )?;
                self.visit_stmts(&handler.body)?;
                self.pop_fblock();
                self.addop(POP_BLOCK, NO_LOCATION);
                self.addop(POP_BLOCK, NO_LOCATION);
                self.addop(POP_EXCEPT, NO_LOCATION);
                self.load_const(Constant::None, NO_LOCATION);
                self.nameop(name, Ctx::Store, NO_LOCATION)?;
                self.nameop(name, Ctx::Del, NO_LOCATION)?;
                self.addop_j(self.jump_no_interrupt(), end, NO_LOCATION);
                self.use_label(cleanup_end);
                self.load_const(Constant::None, NO_LOCATION);
                self.nameop(name, Ctx::Store, NO_LOCATION)?;
                self.nameop(name, Ctx::Del, NO_LOCATION)?;
                self.addop_i(RERAISE, 1, NO_LOCATION);
            } else {
                let cleanup_body = self.new_label();
                self.addop(POP_TOP, hloc);
                self.use_label(cleanup_body);
                self.push_fblock(FBlockType::HandlerCleanup, cleanup_body, NO_LABEL, FBlockDatum::Handler(None), hloc)?;
                self.visit_stmts(&handler.body)?;
                self.pop_fblock();
                self.addop(POP_BLOCK, NO_LOCATION);
                self.addop(POP_EXCEPT, NO_LOCATION);
                self.addop_j(self.jump_no_interrupt(), end, NO_LOCATION);
            }
            self.use_label(except);
        }
        self.pop_fblock();
        self.addop_i(RERAISE, 0, NO_LOCATION);
        self.use_label(cleanup);
        self.pop_except_and_reraise(NO_LOCATION);
        self.use_label(end);
        Ok(())
    }

    fn try_star_except(
        &mut self,
        s: &'a Stmt,
        body: &'a [Stmt],
        handlers: &'a [ast::ExceptHandler],
        orelse: &'a [Stmt],
    ) -> Result<()> {
        let loc = Loc::of(s.range);
        let body_label = self.new_label();
        let mut except = self.new_label();
        let orelse_label = self.new_label();
        let end = self.new_label();
        let cleanup = self.new_label();
        let reraise_star = self.new_label();
        self.addop_j(SETUP_FINALLY, except, loc);
        self.use_label(body_label);
        self.push_fblock(FBlockType::TryExcept, body_label, NO_LABEL, FBlockDatum::None, loc)?;
        self.visit_stmts(body)?;
        self.pop_fblock();
        self.addop(POP_BLOCK, NO_LOCATION);
        self.addop_j(self.jump_no_interrupt(), orelse_label, NO_LOCATION);
        let n = handlers.len();
        self.use_label(except);
        self.addop_j(SETUP_CLEANUP, cleanup, NO_LOCATION);
        self.addop(PUSH_EXC_INFO, NO_LOCATION);
        self.push_fblock(FBlockType::ExceptionGroupHandler, NO_LABEL, NO_LABEL, FBlockDatum::None, loc)?;
        for (i, handler) in handlers.iter().enumerate() {
            let hloc = Loc::of(handler.range);
            let next_except = self.new_label();
            except = next_except;
            let except_with_error = self.new_label();
            let no_match = self.new_label();
            if i == 0 {
                self.addop_i(BUILD_LIST, 0, hloc);
                self.addop_i(COPY, 2, hloc);
            }
            if let Some(t) = &handler.type_ {
                self.visit_expr(t)?;
                self.addop(CHECK_EG_MATCH, hloc);
                self.addop_i(COPY, 1, hloc);
                self.addop_j(POP_JUMP_IF_NONE, no_match, hloc);
            }
            let cleanup_end = self.new_label();
            let cleanup_body = self.new_label();
            match &handler.name {
                Some(name) => self.nameop(name, Ctx::Store, hloc)?,
                None => self.addop(POP_TOP, hloc),
            }
            self.addop_j(SETUP_CLEANUP, cleanup_end, hloc);
            self.use_label(cleanup_body);
            self.push_fblock(
                FBlockType::HandlerCleanup,
                cleanup_body,
                NO_LABEL,
                FBlockDatum::Handler(handler.name.as_ref()),
                hloc,
            )?;
            self.visit_stmts(&handler.body)?;
            self.pop_fblock();
            self.addop(POP_BLOCK, NO_LOCATION);
            if let Some(name) = &handler.name {
                self.load_const(Constant::None, NO_LOCATION);
                self.nameop(name, Ctx::Store, NO_LOCATION)?;
                self.nameop(name, Ctx::Del, NO_LOCATION)?;
            }
            self.addop_j(self.jump_no_interrupt(), except, NO_LOCATION);
            self.use_label(cleanup_end);
            if let Some(name) = &handler.name {
                self.load_const(Constant::None, NO_LOCATION);
                self.nameop(name, Ctx::Store, NO_LOCATION)?;
                self.nameop(name, Ctx::Del, NO_LOCATION)?;
            }
            self.addop_i(LIST_APPEND, 3, NO_LOCATION);
            self.addop(POP_TOP, NO_LOCATION);
            self.addop_j(self.jump_no_interrupt(), except_with_error, NO_LOCATION);
            self.use_label(except);
            self.addop(NOP, NO_LOCATION);
            self.addop_j(self.jump_no_interrupt(), except_with_error, NO_LOCATION);
            self.use_label(no_match);
            self.addop(POP_TOP, hloc);
            self.use_label(except_with_error);
            if i == n - 1 {
                self.addop_i(LIST_APPEND, 1, NO_LOCATION);
                self.addop_j(self.jump_no_interrupt(), reraise_star, NO_LOCATION);
            }
        }
        self.pop_fblock();
        let reraise = self.new_label();
        self.use_label(reraise_star);
        self.addop_i(CALL_INTRINSIC_2, INTRINSIC_PREP_RERAISE_STAR as usize, NO_LOCATION);
        self.addop_i(COPY, 1, NO_LOCATION);
        self.addop_j(POP_JUMP_IF_NOT_NONE, reraise, NO_LOCATION);
        self.addop(POP_TOP, NO_LOCATION);
        self.addop(POP_BLOCK, NO_LOCATION);
        self.addop(POP_EXCEPT, NO_LOCATION);
        self.addop_j(self.jump_no_interrupt(), end, NO_LOCATION);
        self.use_label(reraise);
        self.addop(POP_BLOCK, NO_LOCATION);
        self.addop_i(SWAP, 2, NO_LOCATION);
        self.addop(POP_EXCEPT, NO_LOCATION);
        self.addop_i(RERAISE, 0, NO_LOCATION);
        self.use_label(cleanup);
        self.pop_except_and_reraise(NO_LOCATION);
        self.use_label(orelse_label);
        self.visit_stmts(orelse)?;
        self.use_label(end);
        Ok(())
    }

    fn import_as(&mut self, loc: Loc, name: &PyStr, asname: &PyStr) -> Result<()> {
        let bytes = name.as_bytes();
        if let Some(dot) = bytes.iter().position(|&b| b == b'.') {
            let mut pos = dot + 1;
            loop {
                let next = bytes[pos..].iter().position(|&b| b == b'.').map(|d| d + pos);
                let attr = PyStr::from_encoded(bytes[pos..next.unwrap_or(bytes.len())].to_vec());
                self.addop_names(IMPORT_FROM, &attr, loc);
                match next {
                    None => break,
                    Some(d) => {
                        self.addop_i(SWAP, 2, loc);
                        self.addop(POP_TOP, loc);
                        pos = d + 1;
                    }
                }
            }
            self.nameop(asname, Ctx::Store, loc)?;
            self.addop(POP_TOP, loc);
            return Ok(());
        }
        self.nameop(asname, Ctx::Store, loc)
    }

    /// `IMPORT_NAME`; from 3.15 its argument carries the eager bit where a
    /// lazy import could not apply: outside module level, inside a `try`
    /// body, `else` under a `finally`, a handler or the exception path of a
    /// `finally`, and for `import *` (3.15.md C8).
    fn import_name(&mut self, name: &PyStr, star: bool, lazy: bool, loc: Loc) {
        if !self.target.has(Feature::ImportNameFlags) {
            self.addop_name(IMPORT_NAME, name, loc);
            return;
        }
        use FBlockType::*;
        let in_try = self.unit().fblocks.iter().any(|f| {
            matches!(
                f.kind,
                TryExcept | FinallyTry | FinallyEnd | ExceptionHandler | ExceptionGroupHandler | HandlerCleanup
            )
        });
        let eager = star || in_try || self.unit().scope_type != ScopeType::Module;
        let flags = if lazy {
            IMPORT_LAZY
        } else if eager {
            IMPORT_EAGER
        } else {
            0
        };
        let mangled = self.maybe_mangle(name);
        let index = self.u().md.names.add(&mangled);
        self.addop_i(IMPORT_NAME, (index << 2) | flags, loc);
    }

    /// Where `lazy import` is not allowed: CPython 3.15's errors, which its
    /// symbol table raises at the statement (3.15.md section E), in its
    /// order: anywhere in a `try` statement of the same scope, then inside
    /// a function or class, then `from m import *`. The checks stay here,
    /// in source order after the other errors of the symbol table, so an
    /// earlier error CPython raises there and this compiler only in code
    /// generation is still met first (and declined, not claimed).
    fn check_lazy_import(&self, from: bool, star: bool, loc: Loc) -> Result<()> {
        let what = if from { "lazy from ... import" } else { "lazy import" };
        let place = if self.unit().in_try_statement > 0 {
            Some("try/except blocks")
        } else {
            match self.unit().scope_type {
                ScopeType::Module => None,
                ScopeType::Class => Some("classes"),
                _ => Some("functions"),
            }
        };
        let at = Some((loc.lineno.max(0) as u32, loc.col_offset.max(0) as u32 + 1));
        if let Some(place) = place {
            return Err(Refusal::cpython("SyntaxError", format!("{what} not allowed inside {place}"), at));
        }
        if star {
            return Err(Refusal::cpython("SyntaxError", "lazy from ... import * is not allowed", at));
        }
        Ok(())
    }

    fn import(&mut self, s: &'a Stmt, names: &'a [ast::Alias], lazy: bool) -> Result<()> {
        let loc = Loc::of(s.range);
        if lazy {
            self.check_lazy_import(false, false, loc)?;
        }
        for alias in names {
            self.load_const(Constant::Int(0.into()), loc);
            self.load_const(Constant::None, loc);
            self.import_name(&alias.name, false, lazy, loc);
            match &alias.asname {
                Some(asname) => self.import_as(loc, &alias.name, asname)?,
                None => {
                    let bytes = alias.name.as_bytes();
                    let store = match bytes.iter().position(|&b| b == b'.') {
                        Some(dot) => PyStr::from_encoded(bytes[..dot].to_vec()),
                        None => alias.name.clone(),
                    };
                    self.nameop(&store, Ctx::Store, loc)?;
                }
            }
        }
        Ok(())
    }

    fn import_from(
        &mut self,
        s: &'a Stmt,
        module: Option<&PyStr>,
        names: &'a [ast::Alias],
        level: u32,
        lazy: bool,
    ) -> Result<()> {
        let loc = Loc::of(s.range);
        if lazy {
            let star = names.iter().any(|a| a.name.as_bytes() == b"*");
            self.check_lazy_import(true, star, loc)?;
        }
        self.load_const(Constant::Int(level.into()), loc);
        let tuple: Vec<Constant> = names.iter().map(|a| Constant::Str(a.name.clone())).collect();
        if let Some(future) = self.flags.future_loc {
            if loc.is_after(future) && module.is_some_and(|m| m.as_bytes() == b"__future__") {
                return Err(Refusal::syntax_at(
                    "from __future__ imports must occur at the beginning of the file",
                    loc.lineno,
                    loc.col_offset,
                ));
            }
        }
        self.load_const(Constant::Tuple(tuple), loc);
        let star = names.first().is_some_and(|a| a.name.as_bytes().first() == Some(&b'*'));
        match module {
            Some(m) => self.import_name(m, star, lazy, loc),
            None => self.import_name(&PyStr::new(""), star, lazy, loc),
        }
        for (i, alias) in names.iter().enumerate() {
            if i == 0 && alias.name.as_bytes().first() == Some(&b'*') {
                self.addop_i(CALL_INTRINSIC_1, INTRINSIC_IMPORT_STAR as usize, loc);
                self.addop(POP_TOP, NO_LOCATION);
                return Ok(());
            }
            self.addop_name(IMPORT_FROM, &alias.name, loc);
            let store = alias.asname.as_ref().unwrap_or(&alias.name);
            self.nameop(store, Ctx::Store, loc)?;
        }
        self.addop(POP_TOP, loc);
        Ok(())
    }

    fn with_except_finish(&mut self, cleanup: Label) {
        let suppress = self.new_label();
        self.to_bool(NO_LOCATION);
        self.addop_j(POP_JUMP_IF_TRUE, suppress, NO_LOCATION);
        self.addop_i(RERAISE, 2, NO_LOCATION);
        self.use_label(suppress);
        self.addop(POP_TOP, NO_LOCATION);
        self.addop(POP_BLOCK, NO_LOCATION);
        self.addop(POP_EXCEPT, NO_LOCATION);
        self.addop(POP_TOP, NO_LOCATION);
        self.addop(POP_TOP, NO_LOCATION);
        if self.target.has(Feature::LoadSpecialWith) {
            // The exit method and its `self` slot.
            self.addop(POP_TOP, NO_LOCATION);
        }
        let exit = self.new_label();
        self.addop_j(self.jump_no_interrupt(), exit, NO_LOCATION);
        self.use_label(cleanup);
        self.pop_except_and_reraise(NO_LOCATION);
        self.use_label(exit);
    }

    /// Where a `with` item's setup and exit are: its context expression
    /// from 3.13, the whole statement before.
    fn with_loc(&self, s: &Stmt, item: &ast::WithItem) -> Loc {
        if self.target.has(Feature::WithItemLocation) { Loc::of(item.context_expr.range) } else { Loc::of(s.range) }
    }

    fn with(&mut self, s: &'a Stmt, items: &'a [ast::WithItem], pos: usize) -> Result<()> {
        let item = &items[pos];
        let block = self.new_label();
        let final_ = self.new_label();
        let exit = self.new_label();
        let cleanup = self.new_label();
        self.visit_expr(&item.context_expr)?;
        let loc = self.with_loc(s, item);
        if self.target.has(Feature::LoadSpecialWith) {
            self.load_special_enter(SPECIAL_EXIT, SPECIAL_ENTER, loc);
        } else {
            self.addop(BEFORE_WITH, loc);
        }
        self.addop_j(SETUP_WITH, final_, loc);
        self.use_label(block);
        self.push_fblock(FBlockType::With, block, final_, FBlockDatum::Stmt(s), loc)?;
        match &item.optional_vars {
            Some(v) => self.visit_expr(v)?,
            None => self.addop(POP_TOP, loc),
        }
        if pos + 1 == items.len() {
            let StmtKind::With { body, .. } = &s.kind else { unreachable!() };
            self.visit_stmts(body)?;
        } else {
            self.with(s, items, pos + 1)?;
        }
        self.addop(POP_BLOCK, NO_LOCATION);
        self.pop_fblock();
        self.call_exit_with_nones(loc);
        self.addop(POP_TOP, loc);
        self.addop_j(JUMP, exit, loc);
        self.use_label(final_);
        self.addop_j(SETUP_CLEANUP, cleanup, loc);
        self.addop(PUSH_EXC_INFO, loc);
        self.addop(WITH_EXCEPT_START, loc);
        self.with_except_finish(cleanup);
        self.use_label(exit);
        Ok(())
    }

    fn async_with(&mut self, s: &'a Stmt, items: &'a [ast::WithItem], pos: usize) -> Result<()> {
        let loc = Loc::of(s.range);
        let item = &items[pos];
        if !self.is_top_level_await() && self.unit().scope_type != ScopeType::AsyncFunction {
            return Err(Refusal::syntax_at("'async with' outside async function", loc.lineno, loc.col_offset));
        }
        let block = self.new_label();
        let final_ = self.new_label();
        let exit = self.new_label();
        let cleanup = self.new_label();
        self.visit_expr(&item.context_expr)?;
        let loc = self.with_loc(s, item);
        if self.target.has(Feature::LoadSpecialWith) {
            self.load_special_enter(SPECIAL_AEXIT, SPECIAL_AENTER, loc);
        } else {
            self.addop(BEFORE_ASYNC_WITH, loc);
        }
        self.addop_i(GET_AWAITABLE, 1, loc);
        self.await_sent_none(loc);
        self.addop_j(SETUP_WITH, final_, loc);
        self.use_label(block);
        self.push_fblock(FBlockType::AsyncWith, block, final_, FBlockDatum::Stmt(s), loc)?;
        match &item.optional_vars {
            Some(v) => self.visit_expr(v)?,
            None => self.addop(POP_TOP, loc),
        }
        if pos + 1 == items.len() {
            let StmtKind::AsyncWith { body, .. } = &s.kind else { unreachable!() };
            self.visit_stmts(body)?;
        } else {
            self.async_with(s, items, pos + 1)?;
        }
        self.pop_fblock();
        self.addop(POP_BLOCK, loc);
        self.call_exit_with_nones(loc);
        self.addop_i(GET_AWAITABLE, 2, loc);
        self.await_sent_none(loc);
        self.addop(POP_TOP, loc);
        self.addop_j(JUMP, exit, loc);
        self.use_label(final_);
        self.addop_j(SETUP_CLEANUP, cleanup, loc);
        self.addop(PUSH_EXC_INFO, loc);
        self.addop(WITH_EXCEPT_START, loc);
        self.addop_i(GET_AWAITABLE, 2, loc);
        self.await_sent_none(loc);
        self.with_except_finish(cleanup);
        self.use_label(exit);
        Ok(())
    }
}

pub fn is_two_element_slice(e: &ast::Expr) -> bool {
    matches!(e.kind, ExprKind::Slice { step: None, .. })
}

pub fn binop_arg(op: ast::Operator, inplace: bool) -> usize {
    use ast::Operator as O;
    let (normal, inp) = match op {
        O::Add => (NB_ADD, NB_INPLACE_ADD),
        O::Sub => (NB_SUBTRACT, NB_INPLACE_SUBTRACT),
        O::Mult => (NB_MULTIPLY, NB_INPLACE_MULTIPLY),
        O::MatMult => (NB_MATRIX_MULTIPLY, NB_INPLACE_MATRIX_MULTIPLY),
        O::Div => (NB_TRUE_DIVIDE, NB_INPLACE_TRUE_DIVIDE),
        O::Mod => (NB_REMAINDER, NB_INPLACE_REMAINDER),
        O::Pow => (NB_POWER, NB_INPLACE_POWER),
        O::LShift => (NB_LSHIFT, NB_INPLACE_LSHIFT),
        O::RShift => (NB_RSHIFT, NB_INPLACE_RSHIFT),
        O::BitOr => (NB_OR, NB_INPLACE_OR),
        O::BitXor => (NB_XOR, NB_INPLACE_XOR),
        O::BitAnd => (NB_AND, NB_INPLACE_AND),
        O::FloorDiv => (NB_FLOOR_DIVIDE, NB_INPLACE_FLOOR_DIVIDE),
    };
    (if inplace { inp } else { normal }) as usize
}
