//! PEP 695: generic functions and classes, and `type` statements.
//!
//! A generic definition runs inside a hidden function, `<generic parameters
//! of NAME>`, that makes the type parameters, defines the function or class
//! in its own scope and returns it; the enclosing code calls that function
//! at once. Bounds and alias values are evaluated lazily, so each becomes a
//! code object of its own.

use super::*;
use crate::ast::{Ctx, ExprKind, TypeParam, TypeParamKind};

impl<'a> Compiler<'a> {
    /// Makes each type parameter, binds it in the current (type
    /// parameters) scope, and leaves a tuple of them on the stack.
    fn type_params(&mut self, params: &'a [TypeParam]) -> Result<()> {
        for p in params {
            let loc = Loc::of(p.range);
            let name = match &p.kind {
                TypeParamKind::TypeVar { name, bound, id } => {
                    self.load_identifier_const(Constant::Str(name.clone()), loc);
                    match bound {
                        Some(bound) => {
                            // 3.13 places the bound's function at the bound.
                            let at =
                                if self.target.has(Feature::BoundAtItsLocation) { Loc::of(bound.range) } else { loc };
                            let scope = self.st.lookup(*id)?;
                            let flags = self.enter_lazy_scope(name, scope, at, bound.range.lineno)?;
                            self.visit_expr(bound)?;
                            self.addop(RETURN_VALUE, at);
                            let (code, nfree) = self.optimize_and_assemble(true)?;
                            self.exit_scope();
                            self.make_closure(code, nfree, flags, at)?;
                            // Only a tuple as written (after folding) means
                            // constraints: a folded constant tuple is a bound.
                            let intrinsic = if matches!(bound.kind, ExprKind::Tuple { .. }) {
                                INTRINSIC_TYPEVAR_WITH_CONSTRAINTS
                            } else {
                                INTRINSIC_TYPEVAR_WITH_BOUND
                            };
                            self.addop_i(CALL_INTRINSIC_2, intrinsic as usize, loc);
                        }
                        None => self.addop_i(CALL_INTRINSIC_1, INTRINSIC_TYPEVAR as usize, loc),
                    }
                    name
                }
                TypeParamKind::TypeVarTuple { name } => {
                    self.load_identifier_const(Constant::Str(name.clone()), loc);
                    self.addop_i(CALL_INTRINSIC_1, INTRINSIC_TYPEVARTUPLE as usize, loc);
                    name
                }
                TypeParamKind::ParamSpec { name } => {
                    self.load_identifier_const(Constant::Str(name.clone()), loc);
                    self.addop_i(CALL_INTRINSIC_1, INTRINSIC_PARAMSPEC as usize, loc);
                    name
                }
            };
            self.addop_i(COPY, 1, loc);
            self.nameop(name, Ctx::Store, loc)?;
        }
        let first = params.first().map_or(NO_LOCATION, |p| Loc::of(p.range));
        self.addop_i(BUILD_TUPLE, params.len(), first);
        Ok(())
    }

    /// Opens the type parameters' scope of a generic function, whose
    /// defaults the caller has pushed: they are passed to it as arguments.
    /// Returns how many.
    pub(super) fn enter_generic_function(
        &mut self,
        f: &'a ast::FunctionDef,
        funcflags: usize,
        firstlineno: i32,
        loc: Loc,
    ) -> Result<usize> {
        let defaults = funcflags & 0x01 != 0;
        let kwdefaults = funcflags & 0x02 != 0;
        let args = usize::from(defaults) + usize::from(kwdefaults);
        if args == 2 {
            self.addop_i(SWAP, 2, loc);
        }
        self.enter_scope(generic_name(&f.name), ScopeType::TypeParams, f.type_params_id, firstlineno)?;
        self.type_params(&f.type_params)?;
        // By position: a lone keyword-only defaults dict arrives first.
        if defaults || kwdefaults {
            self.addop_i(LOAD_FAST, 0, loc);
        }
        if defaults && kwdefaults {
            self.addop_i(LOAD_FAST, 1, loc);
        }
        Ok(args)
    }

    /// With the function made inside the type parameters' scope, attaches
    /// the parameters to it, closes the scope and calls it.
    pub(super) fn exit_generic_function(&mut self, args: usize, loc: Loc) -> Result<()> {
        self.addop_i(SWAP, 2, loc);
        self.addop_i(CALL_INTRINSIC_2, INTRINSIC_SET_FUNCTION_TYPE_PARAMS as usize, loc);
        self.u().md.argcount = args as u32;
        let (code, nfree) = self.optimize_and_assemble(false)?;
        self.exit_scope();
        self.make_closure(code, nfree, 0, loc)?;
        if self.target.has(Feature::GenericCallNoNull) {
            // The defaults take the NULL's slot: the first is `self`.
            if args > 0 {
                self.addop_i(SWAP, args + 1, loc);
                self.addop_i(CALL, args - 1, loc);
            } else {
                self.call_type_params_function(loc);
            }
            return Ok(());
        }
        if args > 0 {
            self.addop_i(SWAP, args + 1, loc);
        }
        self.addop_i(CALL, args, loc);
        Ok(())
    }

    /// Calls the type parameters' function just made, with no arguments:
    /// 3.13 pushes its NULL after the function, 3.12 had pushed it first.
    fn call_type_params_function(&mut self, loc: Loc) {
        if self.target.has(Feature::GenericCallNoNull) {
            self.addop(PUSH_NULL, loc);
        }
        self.addop_i(CALL, 0, loc);
    }

    /// The NULL 3.12 pushes before making the type parameters' function.
    fn null_before_type_params_function(&mut self, loc: Loc) {
        if !self.target.has(Feature::GenericCallNoNull) {
            self.addop(PUSH_NULL, loc);
        }
    }

    /// A generic class: the parameters, the class body and the call to
    /// `__build_class__` all happen inside the type parameters' scope, with
    /// `Generic[*params]` as a last base.
    pub(super) fn generic_class(&mut self, s: &'a Stmt, c: &'a ast::ClassDef, firstlineno: i32) -> Result<()> {
        let loc = Loc::of(s.range);
        // CPython 3.12.1 sets the enclosing unit's mangling to the class
        // and never restores it, so later names in that scope are mangled;
        // 3.12.7 and 3.13 give the class's name to the type parameters'
        // scope only.
        let leak = !self.target.has(Feature::GenericClassManglingRestored);
        if leak {
            self.u().private = Some(c.name.clone());
        }
        self.null_before_type_params_function(loc);
        self.enter_scope(generic_name(&c.name), ScopeType::TypeParams, c.type_params_id, firstlineno)?;
        if !leak {
            self.u().private = Some(c.name.clone());
        }
        self.type_params(&c.type_params)?;
        let type_params = PyStr::new(".type_params");
        self.nameop(&type_params, Ctx::Store, loc)?;
        self.class_body(s, c, firstlineno)?;
        self.nameop(&type_params, Ctx::Load, loc)?;
        self.addop_i(CALL_INTRINSIC_1, INTRINSIC_SUBSCRIPT_GENERIC as usize, loc);
        self.nameop(&PyStr::new(".generic_base"), Ctx::Store, loc)?;
        // The bases end with the load of `.generic_base` (see `ast::ClassDef`).
        self.call_helper(loc, 2, &c.bases, &c.keywords)?;
        let (code, nfree) = self.optimize_and_assemble(false)?;
        self.exit_scope();
        self.make_closure(code, nfree, 0, loc)?;
        self.call_type_params_function(loc);
        Ok(())
    }

    /// `type NAME[PARAMS] = VALUE`: a `TypeAliasType` made from the name,
    /// the parameters (or None) and a function computing the value.
    pub(super) fn type_alias(
        &mut self,
        s: &'a Stmt,
        id: ast::NodeId,
        type_params_id: ast::NodeId,
        name: &'a ast::Expr,
        type_params: &'a [TypeParam],
        value: &'a ast::Expr,
    ) -> Result<()> {
        let loc = Loc::of(s.range);
        let ExprKind::Name { id: alias, .. } = &name.kind else {
            return Err(Refusal::internal("type alias name is not a name"));
        };
        let generic = !type_params.is_empty();
        if generic {
            self.null_before_type_params_function(loc);
            self.enter_scope(generic_name(alias), ScopeType::TypeParams, type_params_id, loc.lineno)?;
            self.load_identifier_const(Constant::Str(alias.clone()), loc);
            self.type_params(type_params)?;
        } else {
            self.load_identifier_const(Constant::Str(alias.clone()), loc);
            self.load_const(Constant::None, loc);
        }
        let scope = self.st.lookup(id)?;
        let flags = if self.target.has(Feature::AnnotationScopeTypeParams) {
            self.enter_lazy_scope(alias, scope, loc, loc.lineno)?
        } else {
            self.enter_scope_of(alias.clone(), ScopeType::Function, scope, loc.lineno)?;
            // None first, so that the value can never read as a docstring.
            if !self.target.has(Feature::NoDocstringSlot) {
                self.add_const(Constant::None);
            }
            0
        };
        self.visit_expr(value)?;
        self.addop(RETURN_VALUE, loc);
        let (code, nfree) = self.optimize_and_assemble(false)?;
        self.exit_scope();
        self.make_closure(code, nfree, flags, loc)?;
        self.addop_i(BUILD_TUPLE, 3, loc);
        self.addop_i(CALL_INTRINSIC_1, INTRINSIC_TYPEALIAS as usize, loc);
        if generic {
            let (code, nfree) = self.optimize_and_assemble(false)?;
            self.exit_scope();
            self.make_closure(code, nfree, 0, loc)?;
            self.call_type_params_function(loc);
        }
        self.nameop(alias, Ctx::Store, loc)
    }
}

impl<'a> Compiler<'a> {
    /// Opens the scope of a bound or an alias value: from 3.14 an
    /// annotation scope, made with the defaults `(1,)` for its format
    /// argument (the returned `MAKE_FUNCTION` flags say so).
    fn enter_lazy_scope(&mut self, name: &PyStr, scope: ScopeId, loc: Loc, lineno: i32) -> Result<usize> {
        if !self.target.has(Feature::AnnotationScopeTypeParams) {
            self.enter_scope_of(name.clone(), ScopeType::TypeParams, scope, lineno)?;
            return Ok(0);
        }
        self.load_const(Constant::Tuple(vec![Constant::Int(1.into())]), loc);
        self.enter_annotation_scope(scope, loc)?;
        Ok(0x01)
    }
}

fn generic_name(name: &PyStr) -> PyStr {
    let mut bytes = b"<generic parameters of ".to_vec();
    bytes.extend_from_slice(name.as_bytes());
    bytes.push(b'>');
    PyStr::from_encoded(bytes)
}
