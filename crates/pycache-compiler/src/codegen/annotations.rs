//! Lazy annotations (CPython 3.14, PEP 649/749, `Feature::LazyAnnotations`).
//!
//! Annotations are no longer evaluated where they are written: each def,
//! and each module or class body, with annotations gets an annotation
//! scope compiled to a function `__annotate__(format)`. It refuses the
//! formats it cannot produce (`format > 2`: anything past
//! VALUE_WITH_FAKE_GLOBALS raises `NotImplementedError`) and returns the
//! dict of annotations. A def's function is attached to the def's function
//! (`SET_FUNCTION_ATTRIBUTE 16`); a module stores its own as `__annotate__`
//! before its first statement, a class as `__annotate_func__` after its
//! body. Module and class annotations that may not run (every module one;
//! a class one under `if`, a loop, `try`, `with` or `match`) add their
//! index to the `__conditional_annotations__` set when they do, and the
//! function includes only those in the set.

use super::*;
use crate::ast::{Ctx, ExprKind};

/// `format > VALUE_WITH_FAKE_GLOBALS`: the formats the compiler's functions
/// handle are 1 (VALUE) and 2 (VALUE_WITH_FAKE_GLOBALS).
const VALUE_WITH_FAKE_GLOBALS: i64 = 2;
/// `COMPARE_OP` argument for `>` (`Py_GT << 5` with its comparison mask).
const COMPARE_GT: usize = (4 << 5) | 4;
/// `LOAD_COMMON_CONSTANT` argument of `NotImplementedError`.
const COMMON_NOT_IMPLEMENTED_ERROR: usize = 1;
/// `SET_FUNCTION_ATTRIBUTE` flag of `__annotate__`.
pub const MAKE_FUNCTION_ANNOTATE: usize = 0x10;

impl<'a> Compiler<'a> {
    /// Compiles `visit` as a statement that may not run: module and class
    /// annotations in it are conditional.
    pub(super) fn conditional_block(&mut self, visit: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        self.u().in_conditional_block += 1;
        let result = visit(self);
        self.u().in_conditional_block -= 1;
        result
    }

    /// Opens the annotation scope `block` as a function of one
    /// positional-only argument, the format, and checks it.
    pub(super) fn enter_annotation_scope(&mut self, block: ScopeId, loc: Loc) -> Result<()> {
        let name = self.st.entry(block).name.clone();
        self.enter_scope_of(name, ScopeType::TypeParams, block, loc.lineno)?;
        // The one argument is positional-only (`co_argcount` counts it too).
        self.u().md.posonlyargcount = 1;
        self.addop_i(LOAD_FAST, 0, loc);
        self.load_const(Constant::Int(VALUE_WITH_FAKE_GLOBALS.into()), loc);
        self.addop_i(COMPARE_OP, COMPARE_GT, loc);
        let body = self.new_label();
        self.addop_j(POP_JUMP_IF_FALSE, body, loc);
        self.addop_i(LOAD_COMMON_CONSTANT, COMMON_NOT_IMPLEMENTED_ERROR, loc);
        self.addop_i(RAISE_VARARGS, 1, loc);
        self.use_label(body);
        Ok(())
    }

    /// Returns the dict on the stack and leaves the annotation scope with
    /// its function on the caller's stack. The symbol table calls the
    /// argument `.format`, so that an annotation naming `format` means
    /// something else; the code object calls it `format`.
    fn leave_annotation_scope(&mut self, loc: Loc) -> Result<()> {
        self.addop(RETURN_VALUE, loc);
        let (mut code, nfree) = self.optimize_and_assemble(true)?;
        match code.localsplusnames.first_mut() {
            Some(first) => {
                *first = PyStr::new("format");
                code.renamed_locals = true;
            }
            None => return Err(Refusal::internal("an annotation scope without its format argument")),
        }
        self.exit_scope();
        self.make_closure(code, nfree, 0, loc)
    }

    /// A def's `__annotate__`, when any parameter or the return is
    /// annotated; returns whether it made one.
    pub(super) fn function_annotations(
        &mut self,
        f: &'a ast::FunctionDef,
        loc: Loc,
        argannotations: impl FnOnce(&mut Self, &mut usize) -> Result<()>,
    ) -> Result<bool> {
        let block = self.st.function_annotations(f.id)?;
        if !self.st.entry(block).annotations_used {
            return Ok(false);
        }
        self.enter_annotation_scope(block, loc)?;
        // (A generic function at module level keeps `__annotate__`: its
        // type-parameter scope names what it holds by their names alone.)
        let top_generic = self.units.len() == 3 && self.units[1].scope_type == ScopeType::TypeParams;
        if self.target.has(Feature::FunctionAnnotateQualname) && !top_generic {
            // `A.f.__annotate__` (3.14: `A.__annotate__`): the function's
            // name goes before the scope's own.
            let md = &mut self.u().md;
            let qualname = md.qualname.clone().unwrap_or_else(|| md.name.clone());
            let bytes = qualname.as_bytes();
            let own = bytes.len().saturating_sub(md.name.as_bytes().len());
            let mut named = bytes[..own].to_vec();
            named.extend_from_slice(f.name.as_bytes());
            named.push(b'.');
            named.extend_from_slice(&bytes[own..]);
            md.qualname = Some(PyStr::from_encoded(named));
        }
        // Two stack entries per annotation: its name and its value.
        let mut len = 0;
        argannotations(self, &mut len)?;
        self.addop_i(BUILD_MAP, len / 2, loc);
        self.leave_annotation_scope(loc)?;
        Ok(true)
    }

    /// An annotated simple name of a module or class body: deferred to the
    /// body's `__annotate__`; a conditional one adds its index to
    /// `__conditional_annotations__` here.
    pub(super) fn defer_annotation(&mut self, s: &'a Stmt, loc: Loc) -> Result<()> {
        let module = self.unit().scope_type == ScopeType::Module;
        let index = if module || self.unit().in_conditional_block > 0 {
            let u = self.u();
            u.next_conditional_annotation += 1;
            Some(u.next_conditional_annotation - 1)
        } else {
            None
        };
        self.u().deferred_annotations.push((s, index));
        if let Some(index) = index {
            let set = PyStr::new("__conditional_annotations__");
            if module {
                self.addop_names(LOAD_NAME, &set, loc);
            } else {
                let i = self.u().md.cellvars.add(&set);
                self.addop_i(LOAD_DEREF, i, loc);
            }
            self.load_const(Constant::Int((index as i64).into()), loc);
            self.addop_i(SET_ADD, 1, loc);
            self.addop(POP_TOP, loc);
        }
        Ok(())
    }

    /// The end of a module or class body: its `__annotate__` from the
    /// deferred annotations, stored as `__annotate__` (a module, where it
    /// goes before the first statement) or `__annotate_func__` (a class).
    pub(super) fn deferred_annotations(&mut self, loc: Loc) -> Result<()> {
        let deferred = std::mem::take(&mut self.u().deferred_annotations);
        if deferred.is_empty() {
            return Ok(());
        }
        let class = self.unit().scope_type == ScopeType::Class;
        let Some(block) = self.ste().annotation_block else {
            return Err(Refusal::internal("deferred annotations without an annotation scope"));
        };
        // A module's setup is compiled apart and put where the module
        // starts, after RESUME.
        let body = (!class).then(|| std::mem::take(&mut self.u().seq));
        self.enter_annotation_scope(block, loc)?;
        self.addop_i(BUILD_MAP, 0, loc);
        let set = PyStr::new("__conditional_annotations__");
        for (s, index) in deferred {
            let ast::StmtKind::AnnAssign { target, annotation, .. } = &s.kind else {
                return Err(Refusal::internal("a deferred annotation that is not an annotated assignment"));
            };
            let ExprKind::Name { id, .. } = &target.kind else {
                return Err(Refusal::internal("a deferred annotation of something else than a name"));
            };
            let at = Loc::of(s.range);
            let not_set = self.new_label();
            if let Some(index) = index {
                self.load_const(Constant::Int((index as i64).into()), at);
                if class {
                    let i = self.u().md.freevars.add(&set);
                    self.addop_i(LOAD_DEREF, i, at);
                } else {
                    let i = self.u().md.names.add(&set);
                    self.addop_i(LOAD_GLOBAL, i << 1, at);
                }
                self.addop_i(CONTAINS_OP, 0, at);
                self.addop_j(POP_JUMP_IF_FALSE, not_set, at);
            }
            self.visit_expr(annotation)?;
            self.addop_i(COPY, 2, at);
            let mangled = symtable::mangle(self.unit().private.as_ref(), id);
            self.load_annotation_key(mangled, id, at);
            self.addop(STORE_SUBSCR, loc);
            self.use_label(not_set);
        }
        self.leave_annotation_scope(loc)?;
        let name = if class { "__annotate_func__" } else { "__annotate__" };
        self.nameop(&PyStr::new(name), Ctx::Store, loc)?;
        if let Some(body) = body {
            let setup = std::mem::replace(&mut self.u().seq, body);
            if setup.labelmap.iter().any(|&l| l >= 0) {
                return Err(Refusal::internal("a module's annotation setup with a label"));
            }
            for (i, instr) in setup.instrs.into_iter().enumerate() {
                self.u().seq.insert(1 + i, instr.op, instr.arg, instr.loc);
            }
        }
        Ok(())
    }
}
