//! The symbol table: which names each scope binds, uses, declares global
//! or nonlocal, and then, in a second pass, whether each name is local,
//! global (explicitly or implicitly), free or a cell. Comprehensions other
//! than generator expressions are inlined into their parent scope (PEP 709)
//! here, as in CPython 3.12.
//!
//! Symbol dictionaries keep insertion order, as CPython's dicts do, because
//! code generation walks some of them in that order.

use std::borrow::Cow;

use crate::{FxIndexMap as IndexMap, FxIndexSet as IndexSet};

use crate::ast::{self, Expr, ExprKind, NodeId, Range, Stmt, StmtKind};
use crate::code::PyStr;
use crate::error::{Refusal, Result};
use crate::target::{Feature, Target};

pub const DEF_GLOBAL: i64 = 1;
pub const DEF_LOCAL: i64 = 2;
pub const DEF_PARAM: i64 = 4;
pub const DEF_NONLOCAL: i64 = 8;
pub const USE: i64 = 16;
pub const DEF_FREE: i64 = 32;
pub const DEF_FREE_CLASS: i64 = 64;
pub const DEF_IMPORT: i64 = 128;
pub const DEF_ANNOT: i64 = 256;
pub const DEF_COMP_ITER: i64 = 512;
pub const DEF_TYPE_PARAM: i64 = 1024;
pub const DEF_COMP_CELL: i64 = 2048;
pub const DEF_BOUND: i64 = DEF_LOCAL | DEF_PARAM | DEF_IMPORT;
pub const SCOPE_OFFSET: i64 = 12;
pub const SCOPE_MASK: i64 = DEF_GLOBAL | DEF_LOCAL | DEF_PARAM | DEF_NONLOCAL;

pub const LOCAL: i64 = 1;
pub const GLOBAL_EXPLICIT: i64 = 2;
pub const GLOBAL_IMPLICIT: i64 = 3;
pub const FREE: i64 = 4;
pub const CELL: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockType {
    Function,
    Class,
    Module,
    Annotation,
    TypeVarBound,
    TypeAlias,
    TypeParam,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompKind {
    None,
    List,
    Dict,
    Set,
    Generator,
}

pub type ScopeId = usize;

#[derive(Debug, Clone)]
pub struct Entry {
    pub name: PyStr,
    pub kind: BlockType,
    pub symbols: IndexMap<PyStr, i64>,
    pub varnames: Vec<PyStr>,
    pub children: Vec<ScopeId>,
    pub directives: Vec<(PyStr, Range)>,
    pub nested: bool,
    pub free: bool,
    pub child_free: bool,
    pub generator: bool,
    pub coroutine: bool,
    pub comprehension: CompKind,
    pub varargs: bool,
    pub varkeywords: bool,
    pub returns_value: bool,
    pub needs_class_closure: bool,
    pub needs_classdict: bool,
    pub comp_inlined: bool,
    pub comp_iter_target: bool,
    pub comp_iter_expr: i32,
    pub can_see_class_scope: bool,
    pub range: Range,
    /// 3.14: the one annotation scope of a module or class body (its
    /// `__annotate__`), made at its first annotation.
    pub annotation_block: Option<ScopeId>,
    /// 3.14: the body records which of its annotations ran in the
    /// `__conditional_annotations__` set (a cell of the module or class).
    pub has_conditional_annotations: bool,
    /// 3.14: the visit is inside an `if`, loop, `try`, `with` or `match`.
    pub in_conditional_block: bool,
    /// 3.14: an annotation of a local variable, never evaluated: its names
    /// are not recorded (names in scopes nested in it are).
    pub in_unevaluated_annotation: bool,
    /// Something in the scope is annotated (an annotation scope: any
    /// parameter or the return; a body: any annotated assignment).
    pub annotations_used: bool,
    /// 3.13 (`TypeParamMangling`): the scope is a generic class's
    /// type-parameter scope, or nested in one without a class between:
    /// only the names in this set of `SymTable::mangled_names` (the
    /// class's type parameters declared so far) are mangled in it.
    pub mangled_names: Option<usize>,
}

impl Entry {
    pub fn is_function_like(&self) -> bool {
        // Annotation blocks are compiled only from 3.14 (before, they only
        // hide the names of string annotations), where they are
        // function-like.
        matches!(
            self.kind,
            BlockType::Function
                | BlockType::TypeVarBound
                | BlockType::TypeAlias
                | BlockType::TypeParam
                | BlockType::Annotation
        )
    }

    pub fn symbol(&self, name: &PyStr) -> i64 {
        self.symbols.get(name).copied().unwrap_or(0)
    }

    pub fn scope(&self, name: &PyStr) -> i64 {
        (self.symbol(name) >> SCOPE_OFFSET) & SCOPE_MASK
    }
}

pub struct SymTable {
    pub entries: Vec<Entry>,
    blocks: rustc_hash::FxHashMap<NodeId, ScopeId>,
    /// 3.14: the annotation scope of each `def`, by the def's node.
    function_annotations: rustc_hash::FxHashMap<NodeId, ScopeId>,
    pub top: ScopeId,
    /// 3.13: one set per generic class, shared by its type-parameter
    /// scope and the scopes nested in it (see `Entry::mangled_names`).
    pub mangled_names: Vec<rustc_hash::FxHashSet<PyStr>>,
}

impl SymTable {
    /// The annotation scope (3.14) of the `def` whose node is `key`.
    pub fn function_annotations(&self, key: NodeId) -> Result<ScopeId> {
        self.function_annotations.get(&key).copied().ok_or_else(|| Refusal::internal("no annotation scope for a def"))
    }

    pub fn lookup(&self, key: NodeId) -> Result<ScopeId> {
        self.blocks.get(&key).copied().ok_or_else(|| Refusal::internal("unknown symbol table entry"))
    }

    pub fn entry(&self, id: ScopeId) -> &Entry {
        &self.entries[id]
    }

    pub fn entry_mut(&mut self, id: ScopeId) -> &mut Entry {
        &mut self.entries[id]
    }

    /// CPython 3.13's mangling of `ident` in scope `id`: in a generic
    /// class's type-parameter scope (and the scopes nested in it) a name
    /// is mangled only if it is one of the class's type parameters; every
    /// other scope mangles as `mangle` does.
    pub fn maybe_mangle(&self, id: ScopeId, private: Option<&PyStr>, ident: &PyStr) -> PyStr {
        self.maybe_mangle_cow(id, private, ident).into_owned()
    }

    /// [`Self::maybe_mangle`], borrowing `ident` when it stays as it is
    /// (almost every name): the symbol table looks up every name it visits
    /// and needs its own copy only for a new symbol.
    fn maybe_mangle_cow<'n>(&self, id: ScopeId, private: Option<&PyStr>, ident: &'n PyStr) -> Cow<'n, PyStr> {
        match self.entries[id].mangled_names {
            Some(set) if !self.mangled_names[set].contains(ident) => Cow::Borrowed(ident),
            _ => mangle_cow(private, ident),
        }
    }
}

/// CPython's name mangling: `__x` in class `C` becomes `_C__x`.
pub fn mangle(private: Option<&PyStr>, ident: &PyStr) -> PyStr {
    mangle_cow(private, ident).into_owned()
}

/// [`mangle`], borrowing `ident` when it is not mangled.
fn mangle_cow<'n>(private: Option<&PyStr>, ident: &'n PyStr) -> Cow<'n, PyStr> {
    let Some(private) = private else { return Cow::Borrowed(ident) };
    let id = ident.as_bytes();
    if id.len() < 2 || id[0] != b'_' || id[1] != b'_' {
        return Cow::Borrowed(ident);
    }
    if (id.ends_with(b"__")) || id.contains(&b'.') {
        return Cow::Borrowed(ident);
    }
    let p = private.as_bytes();
    let stripped = p.iter().position(|&b| b != b'_');
    let Some(start) = stripped else { return Cow::Borrowed(ident) };
    let mut out = Vec::with_capacity(1 + p.len() - start + id.len());
    out.push(b'_');
    out.extend_from_slice(&p[start..]);
    out.extend_from_slice(id);
    Cow::Owned(PyStr::from_encoded(out))
}

/// What a type parameter scope belongs to: each adds its own hidden names.
#[derive(Debug, Clone, Copy)]
enum TypeParamOwner {
    Function { kwdefaults: bool },
    Class,
    Alias,
}

struct Builder<'a> {
    st: SymTable,
    stack: Vec<ScopeId>,
    cur: ScopeId,
    private: Option<PyStr>,
    future_annotations: bool,
    /// What the target's symbol table does differently (3.13's fixes).
    target: Target,
    _module: &'a ast::Module,
}

fn err(message: impl Into<String>, range: Range) -> Refusal {
    Refusal::syntax_at(message, range.lineno, range.col_offset)
}

/// Builds the table for a module.
pub fn build(module: &ast::Module, future_annotations: bool, target: Target) -> Result<SymTable> {
    let mut b = Builder {
        st: SymTable {
            entries: Vec::new(),
            blocks: Default::default(),
            function_annotations: Default::default(),
            top: 0,
            mangled_names: Vec::new(),
        },
        stack: Vec::new(),
        cur: 0,
        private: None,
        future_annotations,
        target,
        _module: module,
    };
    b.enter_block(PyStr::new("top"), BlockType::Module, module.id, Range::default());
    b.st.top = b.cur;
    for s in &module.body {
        b.visit_stmt(s)?;
    }
    b.exit_block();
    let mut st = b.st;
    analyze(&mut st, target)?;
    Ok(st)
}

impl Builder<'_> {
    fn cur(&mut self) -> &mut Entry {
        &mut self.st.entries[self.cur]
    }

    fn enter_block(&mut self, name: PyStr, kind: BlockType, key: NodeId, range: Range) {
        let prev = self.stack.last().copied();
        let nested = prev.is_some_and(|p| {
            let e = &self.st.entries[p];
            e.nested || e.is_function_like()
        });
        let comp_iter_expr = prev.map_or(0, |p| self.st.entries[p].comp_iter_expr);
        // A class mangles all its names itself; any other scope shares
        // the type-parameter names of the generic class it is nested in.
        let mangled_names =
            if kind == BlockType::Class { None } else { prev.and_then(|p| self.st.entries[p].mangled_names) };
        let entry = Entry {
            name,
            kind,
            // Most scopes hold a few names: made at a size that holds them
            // without growing twice.
            symbols: IndexMap::with_capacity_and_hasher(8, Default::default()),
            varnames: Vec::new(),
            children: Vec::new(),
            directives: Vec::new(),
            nested,
            free: false,
            child_free: false,
            generator: false,
            coroutine: false,
            comprehension: CompKind::None,
            varargs: false,
            varkeywords: false,
            returns_value: false,
            needs_class_closure: false,
            needs_classdict: false,
            comp_inlined: false,
            comp_iter_target: false,
            comp_iter_expr,
            can_see_class_scope: false,
            range,
            annotation_block: None,
            has_conditional_annotations: false,
            in_conditional_block: false,
            in_unevaluated_annotation: false,
            annotations_used: false,
            mangled_names,
        };
        let id = self.st.entries.len();
        self.st.entries.push(entry);
        self.st.blocks.insert(key, id);
        self.stack.push(id);
        self.cur = id;
        if matches!(kind, BlockType::TypeVarBound | BlockType::TypeAlias)
            && self.target.has(Feature::AnnotationScopeTypeParams)
        {
            let range = self.st.entries[id].range;
            let format = PyStr::new(".format");
            let _ = self.add_def(&format, DEF_PARAM, range);
            let _ = self.add_def(&format, USE, range);
        }
        if kind == BlockType::Annotation {
            if !self.lazy_annotations() {
                return;
            }
            // 3.14: an annotation scope is a function taking the format;
            // under `from __future__ import annotations` it still exists
            // (functions get an `__annotate__` of strings) but is no child:
            // its names reach no other scope.
            let range = self.st.entries[id].range;
            let format = PyStr::new(".format");
            let _ = self.add_def(&format, DEF_PARAM, range);
            let _ = self.add_def(&format, USE, range);
            if self.future_annotations {
                return;
            }
        }
        if let Some(p) = prev {
            self.st.entries[p].children.push(id);
        }
    }

    /// Annotations are lazy (3.14): annotation scopes are compiled.
    fn lazy_annotations(&self) -> bool {
        self.target.has(Feature::LazyAnnotations)
    }

    /// Re-enters a module's or class's annotation scope for its next
    /// annotation.
    fn enter_existing_block(&mut self, id: ScopeId) {
        let prev = self.cur;
        self.st.entries[id].comp_iter_expr = self.st.entries[prev].comp_iter_expr;
        if self.st.entries[id].kind != BlockType::Class
            && let Some(set) = self.st.entries[prev].mangled_names
        {
            self.st.entries[id].mangled_names = Some(set);
        }
        self.stack.push(id);
        self.cur = id;
    }

    /// Visits `visit` as the inside of an `if`, loop, `try`, `with` or
    /// `match` (3.14 counts module and class annotations there as
    /// conditional).
    fn conditional<T>(&mut self, visit: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let saved = std::mem::replace(&mut self.cur().in_conditional_block, true);
        let scope = self.cur;
        let result = visit(self);
        self.st.entries[scope].in_conditional_block = saved;
        result
    }

    fn exit_block(&mut self) {
        self.stack.pop();
        if let Some(&top) = self.stack.last() {
            self.cur = top;
        }
    }

    fn add_def(&mut self, name: &PyStr, flag: i64, range: Range) -> Result<()> {
        self.add_def_in(name, flag, self.cur, range)
    }

    fn add_def_in(&mut self, name: &PyStr, flag: i64, scope: ScopeId, range: Range) -> Result<()> {
        if flag & (DEF_LOCAL | DEF_PARAM) != 0
            && name.as_bytes() == b"__debug__"
            && self.target.has(Feature::DebugBindingAnywhere)
        {
            return Err(err("cannot assign to __debug__", range));
        }
        if flag & DEF_TYPE_PARAM != 0
            && let Some(set) = self.cur().mangled_names
        {
            self.st.mangled_names[set].insert(name.clone());
        }
        // Mangled as in the current scope, even when defined in another.
        let mangled = self.st.maybe_mangle_cow(self.cur, self.private.as_ref(), name);
        let entry = &mut self.st.entries[scope];
        // One lookup: most calls meet a symbol the scope has already.
        let index = entry.symbols.get_index_of(&*mangled);
        let mut val = match index.and_then(|i| entry.symbols.get_index(i)) {
            Some((_, &old)) => {
                if flag & DEF_PARAM != 0 && old & DEF_PARAM != 0 {
                    return Err(err(format!("duplicate argument '{name}' in function definition"), range));
                }
                if flag & DEF_TYPE_PARAM != 0 && old & DEF_TYPE_PARAM != 0 {
                    return Err(err(format!("duplicate type parameter '{name}'"), range));
                }
                old | flag
            }
            None => flag,
        };
        if entry.comp_iter_target {
            if val & (DEF_GLOBAL | DEF_NONLOCAL) != 0 {
                return Err(err(
                    format!("comprehension inner loop cannot rebind assignment expression target '{name}'"),
                    range,
                ));
            }
            val |= DEF_COMP_ITER;
        }
        match index.and_then(|i| entry.symbols.get_index_mut(i)) {
            Some((_, slot)) => *slot = val,
            None => {
                entry.symbols.insert(mangled.clone().into_owned(), val);
            }
        }
        if flag & DEF_PARAM != 0 {
            entry.varnames.push(mangled.into_owned());
        } else if flag & DEF_GLOBAL != 0 {
            let top = self.st.top;
            let global = &mut self.st.entries[top].symbols;
            let v = flag | global.get(&*mangled).copied().unwrap_or(0);
            global.insert(mangled.into_owned(), v);
        }
        Ok(())
    }

    /// `name` mangled as in the current scope (see `SymTable::maybe_mangle`).
    fn maybe_mangle(&self, name: &PyStr) -> PyStr {
        self.st.maybe_mangle(self.cur, self.private.as_ref(), name)
    }

    fn lookup(&mut self, name: &PyStr) -> i64 {
        let mangled = self.st.maybe_mangle_cow(self.cur, self.private.as_ref(), name);
        self.st.entries[self.cur].symbol(&mangled)
    }

    fn record_directive(&mut self, name: &PyStr, range: Range) {
        let mangled = self.maybe_mangle(name);
        self.cur().directives.push((mangled, range));
    }

    fn visit_stmts(&mut self, stmts: &[Stmt]) -> Result<()> {
        stmts.iter().try_for_each(|s| self.visit_stmt(s))
    }

    fn visit_exprs(&mut self, exprs: &[Expr]) -> Result<()> {
        exprs.iter().try_for_each(|e| self.visit_expr(e))
    }

    fn visit_stmt(&mut self, s: &Stmt) -> Result<()> {
        match &s.kind {
            StmtKind::FunctionDef(f) | StmtKind::AsyncFunctionDef(f) => {
                let is_async = matches!(s.kind, StmtKind::AsyncFunctionDef(_));
                self.add_def(&f.name, DEF_LOCAL, s.range)?;
                self.visit_exprs(&f.args.defaults)?;
                for d in f.args.kw_defaults.iter().flatten() {
                    self.visit_expr(d)?;
                }
                self.visit_exprs(&f.decorator_list)?;
                let generic = !f.type_params.is_empty();
                if generic {
                    // CPython's parser always gives a function a (possibly
                    // empty) defaults sequence, so `.defaults` is always a
                    // parameter of the scope; `.kwdefaults` only when some
                    // keyword-only argument has a default.
                    let kwdefaults = f.args.kw_defaults.iter().any(Option::is_some);
                    let kind = TypeParamOwner::Function { kwdefaults };
                    self.enter_type_param_block(&f.name, f.type_params_id, kind, s.range)?;
                    self.visit_type_params(&f.type_params)?;
                }
                if self.target.has(Feature::ClassdictForDefs)
                    && !self.future_annotations
                    && !generic
                    && self.cur().kind == BlockType::Class
                {
                    self.cur().needs_classdict = true;
                }
                if self.lazy_annotations() {
                    self.visit_function_annotations(s, f)?;
                } else {
                    self.visit_annotations(s, &f.args, f.returns.as_deref())?;
                }
                self.enter_block(f.name.clone(), BlockType::Function, f.id, s.range);
                if is_async {
                    self.cur().coroutine = true;
                }
                self.visit_arguments(&f.args)?;
                self.visit_stmts(&f.body)?;
                self.exit_block();
                if generic {
                    self.exit_block();
                }
            }
            StmtKind::ClassDef(c) => {
                self.add_def(&c.name, DEF_LOCAL, s.range)?;
                self.visit_exprs(&c.decorator_list)?;
                let generic = !c.type_params.is_empty();
                // 3.13 restores the enclosing scope's private name after a
                // generic class; 3.12 leaks the class's into the rest of it.
                let outer_private = self.private.clone();
                if generic {
                    self.enter_type_param_block(&c.name, c.type_params_id, TypeParamOwner::Class, s.range)?;
                    if self.target.has(Feature::TypeParamMangling) {
                        // 3.13: only the parameters' names are mangled here
                        // and in the scopes nested here (bounds, lambdas).
                        self.st.mangled_names.push(Default::default());
                        self.cur().mangled_names = Some(self.st.mangled_names.len() - 1);
                    }
                    self.visit_type_params(&c.type_params)?;
                }
                self.visit_exprs(&c.bases)?;
                for k in &c.keywords {
                    self.visit_expr(&k.value)?;
                }
                self.enter_block(c.name.clone(), BlockType::Class, c.id, s.range);
                // For a generic class this restores the class's own name, not
                // what was private before: CPython 3.12 leaks the mangling of
                // a generic class into the rest of the enclosing scope.
                let saved = self.private.replace(c.name.clone());
                if generic {
                    self.add_def(&PyStr::new("__type_params__"), DEF_LOCAL, s.range)?;
                    self.add_def(&PyStr::new(".type_params"), USE, s.range)?;
                }
                self.visit_stmts(&c.body)?;
                self.private = saved;
                self.exit_block();
                if generic {
                    self.exit_block();
                    if self.target.has(Feature::GenericClassManglingRestored) {
                        self.private = outer_private;
                    }
                }
            }
            StmtKind::TypeAlias { id, type_params_id, name, type_params, value } => {
                self.visit_expr(name)?;
                let ExprKind::Name { id: alias, .. } = &name.kind else {
                    return Err(Refusal::internal("type alias name is not a name"));
                };
                let in_class = self.cur().kind == BlockType::Class;
                let generic = !type_params.is_empty();
                if generic {
                    self.enter_type_param_block(alias, *type_params_id, TypeParamOwner::Alias, s.range)?;
                    self.visit_type_params(type_params)?;
                }
                self.enter_block(alias.clone(), BlockType::TypeAlias, *id, s.range);
                self.cur().can_see_class_scope = in_class;
                if in_class {
                    self.add_def(&PyStr::new("__classdict__"), USE, value.range)?;
                }
                self.visit_expr(value)?;
                self.exit_block();
                if generic {
                    self.exit_block();
                }
            }
            StmtKind::Return(value) => {
                if let Some(v) = value {
                    self.visit_expr(v)?;
                    self.cur().returns_value = true;
                }
            }
            StmtKind::Delete(targets) => self.visit_exprs(targets)?,
            StmtKind::Assign { targets, value } => {
                self.visit_exprs(targets)?;
                self.visit_expr(value)?;
            }
            StmtKind::AnnAssign { target, annotation, value, simple } => {
                if let ExprKind::Name { id, .. } = &target.kind {
                    let cur = self.lookup(id);
                    let top = self.st.top;
                    if cur & (DEF_GLOBAL | DEF_NONLOCAL) != 0 && self.cur != top && *simple {
                        let what = if cur & DEF_GLOBAL != 0 { "global" } else { "nonlocal" };
                        return Err(err(format!("annotated name '{id}' can't be {what}"), s.range));
                    }
                    if *simple {
                        self.add_def(id, DEF_ANNOT | DEF_LOCAL, target.range)?;
                    } else if value.is_some() {
                        self.add_def(id, DEF_LOCAL, target.range)?;
                    }
                } else {
                    self.visit_expr(target)?;
                }
                if self.lazy_annotations() {
                    self.cur().annotations_used = true;
                    self.visit_body_annotation(annotation)?;
                } else {
                    self.visit_annotation(annotation)?;
                }
                if let Some(v) = value {
                    self.visit_expr(v)?;
                }
            }
            StmtKind::AugAssign { target, value, .. } => {
                self.visit_expr(target)?;
                self.visit_expr(value)?;
            }
            StmtKind::For { target, iter, body, orelse } | StmtKind::AsyncFor { target, iter, body, orelse } => {
                self.visit_expr(target)?;
                self.visit_expr(iter)?;
                self.conditional(|b| {
                    b.visit_stmts(body)?;
                    b.visit_stmts(orelse)
                })?;
            }
            StmtKind::While { test, body, orelse } | StmtKind::If { test, body, orelse } => {
                self.visit_expr(test)?;
                self.conditional(|b| {
                    b.visit_stmts(body)?;
                    b.visit_stmts(orelse)
                })?;
            }
            StmtKind::Match { subject, cases } => {
                self.visit_expr(subject)?;
                self.conditional(|b| {
                    for case in cases {
                        b.visit_pattern(&case.pattern)?;
                        if let Some(g) = &case.guard {
                            b.visit_expr(g)?;
                        }
                        b.visit_stmts(&case.body)?;
                    }
                    Ok(())
                })?;
            }
            StmtKind::Raise { exc, cause } => {
                if let Some(exc) = exc {
                    self.visit_expr(exc)?;
                    if let Some(cause) = cause {
                        self.visit_expr(cause)?;
                    }
                }
            }
            StmtKind::Try { body, handlers, orelse, finalbody }
            | StmtKind::TryStar { body, handlers, orelse, finalbody } => {
                self.conditional(|b| {
                    b.visit_stmts(body)?;
                    for h in handlers {
                        if let Some(t) = &h.type_ {
                            b.visit_expr(t)?;
                        }
                        if let Some(name) = &h.name {
                            b.add_def(name, DEF_LOCAL, h.range)?;
                        }
                        b.visit_stmts(&h.body)?;
                    }
                    b.visit_stmts(orelse)?;
                    b.visit_stmts(finalbody)
                })?;
            }
            StmtKind::Assert { test, msg } => {
                self.visit_expr(test)?;
                if let Some(m) = msg {
                    self.visit_expr(m)?;
                }
            }
            StmtKind::Import { names, lazy } | StmtKind::ImportFrom { names, lazy, .. } => {
                for a in names {
                    self.visit_alias(a, *lazy)?;
                }
            }
            StmtKind::Global(names) | StmtKind::Nonlocal(names) => {
                let global = matches!(s.kind, StmtKind::Global(_));
                for name in names {
                    let cur = self.lookup(name);
                    if cur & (DEF_PARAM | DEF_LOCAL | USE | DEF_ANNOT) != 0 {
                        let kw = if global { "global" } else { "nonlocal" };
                        let msg = if cur & DEF_PARAM != 0 {
                            format!("name '{name}' is parameter and {kw}")
                        } else if cur & USE != 0 {
                            format!("name '{name}' is used prior to {kw} declaration")
                        } else if cur & DEF_ANNOT != 0 {
                            format!("annotated name '{name}' can't be {kw}")
                        } else {
                            format!("name '{name}' is assigned to before {kw} declaration")
                        };
                        return Err(err(msg, s.range));
                    }
                    self.add_def(name, if global { DEF_GLOBAL } else { DEF_NONLOCAL }, s.range)?;
                    self.record_directive(name, s.range);
                }
            }
            StmtKind::Expr(e) => self.visit_expr(e)?,
            StmtKind::Pass | StmtKind::Break | StmtKind::Continue => {}
            StmtKind::With { items, body } | StmtKind::AsyncWith { items, body } => {
                self.conditional(|b| {
                    for item in items {
                        b.visit_expr(&item.context_expr)?;
                        if let Some(v) = &item.optional_vars {
                            b.visit_expr(v)?;
                        }
                    }
                    b.visit_stmts(body)
                })?;
            }
        }
        Ok(())
    }

    /// Opens the scope the type parameters of a generic function, class or
    /// alias live in, with the hidden names its code generation uses.
    fn enter_type_param_block(&mut self, name: &PyStr, key: NodeId, owner: TypeParamOwner, range: Range) -> Result<()> {
        let in_class = self.cur().kind == BlockType::Class;
        self.enter_block(name.clone(), BlockType::TypeParam, key, range);
        if in_class {
            self.cur().can_see_class_scope = true;
            self.add_def(&PyStr::new("__classdict__"), USE, range)?;
        }
        match owner {
            TypeParamOwner::Class => {
                // Set when the tuple of parameters is made, used for the bases.
                for hidden in [".type_params", ".generic_base"] {
                    self.add_def(&PyStr::new(hidden), DEF_LOCAL, range)?;
                    self.add_def(&PyStr::new(hidden), USE, range)?;
                }
                self.private = Some(name.clone());
            }
            TypeParamOwner::Function { kwdefaults } => {
                self.add_def(&PyStr::new(".defaults"), DEF_PARAM, range)?;
                if kwdefaults {
                    self.add_def(&PyStr::new(".kwdefaults"), DEF_PARAM, range)?;
                }
            }
            TypeParamOwner::Alias => {}
        }
        Ok(())
    }

    fn visit_type_params(&mut self, params: &[ast::TypeParam]) -> Result<()> {
        for p in params {
            match &p.kind {
                ast::TypeParamKind::TypeVar { name, bound, id } => {
                    self.add_def(name, DEF_TYPE_PARAM | DEF_LOCAL, p.range)?;
                    if let Some(bound) = bound {
                        let in_class = self.cur().can_see_class_scope;
                        self.enter_block(name.clone(), BlockType::TypeVarBound, *id, p.range);
                        self.cur().can_see_class_scope = in_class;
                        if in_class {
                            self.add_def(&PyStr::new("__classdict__"), USE, bound.range)?;
                        }
                        self.visit_expr(bound)?;
                        self.exit_block();
                    }
                }
                ast::TypeParamKind::TypeVarTuple { name } | ast::TypeParamKind::ParamSpec { name } => {
                    self.add_def(name, DEF_TYPE_PARAM | DEF_LOCAL, p.range)?;
                }
            }
        }
        Ok(())
    }

    /// A `lazy from m import *` outside module level gets 3.15's own error
    /// (checked with the others of `lazy`, in code generation), not this
    /// one: CPython's symbol table checks `lazy` first.
    fn visit_alias(&mut self, a: &ast::Alias, lazy: bool) -> Result<()> {
        let name = a.asname.as_ref().unwrap_or(&a.name);
        let bytes = name.as_bytes();
        let store = match bytes.iter().position(|&b| b == b'.') {
            Some(dot) => PyStr::from_encoded(bytes[..dot].to_vec()),
            None => name.clone(),
        };
        if bytes != b"*" {
            self.add_def(&store, DEF_IMPORT, a.range)
        } else if self.cur().kind != BlockType::Module && !lazy {
            Err(err("import * only allowed at module level", a.range))
        } else {
            Ok(())
        }
    }

    fn visit_annotation(&mut self, annotation: &Expr) -> Result<()> {
        // Annotations under `from __future__ import annotations` are
        // compiled to strings: their names belong to no scope.
        if self.future_annotations {
            self.enter_block(PyStr::new("_annotation"), BlockType::Annotation, NodeId(u32::MAX), annotation.range);
        }
        self.visit_expr(annotation)?;
        if self.future_annotations {
            self.exit_block();
        }
        Ok(())
    }

    /// 3.14: a def's annotation scope (its `__annotate__`), made for
    /// every def, annotated or not, before the def's own scope; it sees
    /// the class namespace when the def is in a class body (directly or
    /// through a generic's type-parameter scope).
    fn visit_function_annotations(&mut self, s: &Stmt, f: &ast::FunctionDef) -> Result<()> {
        let in_class = self.cur().can_see_class_scope || self.cur().kind == BlockType::Class;
        self.enter_block(PyStr::new("__annotate__"), BlockType::Annotation, NodeId(u32::MAX), s.range);
        self.st.function_annotations.insert(f.id, self.cur);
        if in_class {
            self.cur().can_see_class_scope = true;
            self.add_def(&PyStr::new("__classdict__"), USE, s.range)?;
        }
        let a = &f.args;
        let annotations = a
            .posonlyargs
            .iter()
            .chain(&a.args)
            .chain(&a.vararg)
            .chain(&a.kwarg)
            .chain(&a.kwonlyargs)
            .filter_map(|arg| arg.annotation.as_deref())
            .chain(f.returns.as_deref());
        for ann in annotations {
            self.cur().annotations_used = true;
            self.visit_expr(ann)?;
        }
        self.exit_block();
        Ok(())
    }

    /// 3.14: an annotated assignment's annotation, in the body's one
    /// annotation scope (made at the first). In a function body it is
    /// never evaluated; in a module (always) or a class (inside a
    /// conditional block) it makes the body track which annotations ran.
    fn visit_body_annotation(&mut self, annotation: &Expr) -> Result<()> {
        let parent = self.cur;
        let kind = self.st.entries[parent].kind;
        let unevaluated = kind == BlockType::Function;
        let conditional =
            kind == BlockType::Module || (kind == BlockType::Class && self.st.entries[parent].in_conditional_block);
        if conditional && !self.st.entries[parent].has_conditional_annotations {
            self.st.entries[parent].has_conditional_annotations = true;
            self.add_def(&PyStr::new("__conditional_annotations__"), USE, annotation.range)?;
        }
        match self.st.entries[parent].annotation_block {
            None => {
                self.enter_block(PyStr::new("__annotate__"), BlockType::Annotation, NodeId(u32::MAX), annotation.range);
                self.st.entries[parent].annotation_block = Some(self.cur);
                if kind == BlockType::Class && !self.future_annotations {
                    self.cur().can_see_class_scope = true;
                    self.add_def(&PyStr::new("__classdict__"), USE, annotation.range)?;
                }
            }
            Some(block) => self.enter_existing_block(block),
        }
        if unevaluated {
            self.cur().in_unevaluated_annotation = true;
        }
        let result = self.visit_expr(annotation);
        if unevaluated {
            self.cur().in_unevaluated_annotation = false;
        }
        self.exit_block();
        result
    }

    fn visit_annotations(&mut self, s: &Stmt, a: &ast::Arguments, returns: Option<&Expr>) -> Result<()> {
        if self.future_annotations {
            self.enter_block(PyStr::new("_annotation"), BlockType::Annotation, NodeId(u32::MAX), s.range);
        }
        for arg in a.posonlyargs.iter().chain(&a.args) {
            if let Some(ann) = &arg.annotation {
                self.visit_expr(ann)?;
            }
        }
        if let Some(ann) = a.vararg.as_ref().and_then(|v| v.annotation.as_deref()) {
            self.visit_expr(ann)?;
        }
        if let Some(ann) = a.kwarg.as_ref().and_then(|v| v.annotation.as_deref()) {
            self.visit_expr(ann)?;
        }
        for arg in &a.kwonlyargs {
            if let Some(ann) = &arg.annotation {
                self.visit_expr(ann)?;
            }
        }
        if self.future_annotations {
            self.exit_block();
        }
        if let Some(r) = returns {
            self.visit_annotation(r)?;
        }
        Ok(())
    }

    fn visit_arguments(&mut self, a: &ast::Arguments) -> Result<()> {
        for arg in a.posonlyargs.iter().chain(&a.args).chain(&a.kwonlyargs) {
            self.add_def(&arg.arg, DEF_PARAM, arg.range)?;
        }
        if let Some(v) = &a.vararg {
            self.add_def(&v.arg, DEF_PARAM, v.range)?;
            self.cur().varargs = true;
        }
        if let Some(k) = &a.kwarg {
            self.add_def(&k.arg, DEF_PARAM, k.range)?;
            self.cur().varkeywords = true;
        }
        Ok(())
    }

    fn visit_pattern(&mut self, p: &ast::Pattern) -> Result<()> {
        use ast::PatternKind as K;
        match &p.kind {
            K::MatchValue(v) => self.visit_expr(v)?,
            K::MatchSingleton(_) => {}
            K::MatchSequence(ps) | K::MatchOr(ps) => ps.iter().try_for_each(|p| self.visit_pattern(p))?,
            K::MatchStar(name) => {
                if let Some(n) = name {
                    self.add_def(n, DEF_LOCAL, p.range)?;
                }
            }
            K::MatchMapping { keys, patterns, rest } => {
                self.visit_exprs(keys)?;
                patterns.iter().try_for_each(|p| self.visit_pattern(p))?;
                if let Some(r) = rest {
                    self.add_def(r, DEF_LOCAL, p.range)?;
                }
            }
            K::MatchClass { cls, patterns, kwd_patterns, .. } => {
                self.visit_expr(cls)?;
                patterns.iter().try_for_each(|p| self.visit_pattern(p))?;
                kwd_patterns.iter().try_for_each(|p| self.visit_pattern(p))?;
            }
            K::MatchAs { pattern, name } => {
                if let Some(inner) = pattern {
                    self.visit_pattern(inner)?;
                }
                if let Some(n) = name {
                    self.add_def(n, DEF_LOCAL, p.range)?;
                }
            }
        }
        Ok(())
    }

    fn raise_if_annotation_block(&mut self, what: &str, e: &Expr) -> Result<()> {
        let msg = match self.cur().kind {
            BlockType::Annotation => format!("{what} cannot be used within an annotation"),
            BlockType::TypeVarBound => format!("{what} cannot be used within a TypeVar bound"),
            BlockType::TypeAlias => format!("{what} cannot be used within a type alias"),
            BlockType::TypeParam => format!("{what} cannot be used within the definition of a generic"),
            _ => return Ok(()),
        };
        Err(err(msg, e.range))
    }

    fn raise_if_comprehension(&mut self, e: &Expr) -> Result<()> {
        let msg = match self.cur().comprehension {
            CompKind::List => "'yield' inside list comprehension",
            CompKind::Set => "'yield' inside set comprehension",
            CompKind::Dict => "'yield' inside dict comprehension",
            CompKind::Generator => "'yield' inside generator expression",
            CompKind::None => return Ok(()),
        };
        Err(err(msg, e.range))
    }

    fn visit_expr(&mut self, e: &Expr) -> Result<()> {
        match &e.kind {
            ExprKind::NamedExpr { target, value } => {
                self.raise_if_annotation_block("named expression", e)?;
                if self.cur().comp_iter_expr > 0 {
                    return Err(err(
                        "assignment expression cannot be used in a comprehension iterable expression",
                        e.range,
                    ));
                }
                if self.cur().comprehension != CompKind::None {
                    self.extend_namedexpr_scope(target)?;
                }
                self.visit_expr(value)?;
                self.visit_expr(target)?;
            }
            ExprKind::BoolOp { values, .. } => self.visit_exprs(values)?,
            ExprKind::BinOp { left, right, .. } => {
                self.visit_expr(left)?;
                self.visit_expr(right)?;
            }
            ExprKind::UnaryOp { operand, .. } => self.visit_expr(operand)?,
            ExprKind::Lambda { id, args, body } => {
                if self.cur().can_see_class_scope && !self.target.has(Feature::AnnotationScopeComprehensions) {
                    return Err(err("Cannot use lambda in annotation scope within class scope", e.range));
                }
                self.visit_exprs(&args.defaults)?;
                for d in args.kw_defaults.iter().flatten() {
                    self.visit_expr(d)?;
                }
                self.enter_block(PyStr::new("lambda"), BlockType::Function, *id, e.range);
                self.visit_arguments(args)?;
                self.visit_expr(body)?;
                self.exit_block();
            }
            ExprKind::IfExp { test, body, orelse } => {
                self.visit_expr(test)?;
                self.visit_expr(body)?;
                self.visit_expr(orelse)?;
            }
            ExprKind::Dict { keys, values } => {
                for k in keys.iter().flatten() {
                    self.visit_expr(k)?;
                }
                self.visit_exprs(values)?;
            }
            ExprKind::Set(elts) => self.visit_exprs(elts)?,
            ExprKind::GeneratorExp(c) => self.handle_comprehension(e, c, "genexpr", CompKind::Generator)?,
            ExprKind::ListComp(c) => self.handle_comprehension(e, c, "listcomp", CompKind::List)?,
            ExprKind::SetComp(c) => self.handle_comprehension(e, c, "setcomp", CompKind::Set)?,
            ExprKind::DictComp(c) => self.handle_comprehension(e, c, "dictcomp", CompKind::Dict)?,
            ExprKind::Yield(value) => {
                self.raise_if_annotation_block("yield expression", e)?;
                if let Some(v) = value {
                    self.visit_expr(v)?;
                }
                self.cur().generator = true;
                self.raise_if_comprehension(e)?;
            }
            ExprKind::YieldFrom(value) => {
                self.raise_if_annotation_block("yield expression", e)?;
                self.visit_expr(value)?;
                self.cur().generator = true;
                self.raise_if_comprehension(e)?;
            }
            ExprKind::Await(value) => {
                self.raise_if_annotation_block("await expression", e)?;
                self.visit_expr(value)?;
                self.cur().coroutine = true;
            }
            ExprKind::Compare { left, comparators, .. } => {
                self.visit_expr(left)?;
                self.visit_exprs(comparators)?;
            }
            ExprKind::Call { func, args, keywords } => {
                self.visit_expr(func)?;
                self.visit_exprs(args)?;
                for k in keywords {
                    self.visit_expr(&k.value)?;
                }
            }
            ExprKind::FormattedValue { value, format_spec, .. } => {
                self.visit_expr(value)?;
                if let Some(spec) = format_spec {
                    self.visit_expr(spec)?;
                }
            }
            ExprKind::JoinedStr(values) | ExprKind::TemplateStr(values) => self.visit_exprs(values)?,
            ExprKind::Interpolation { value, format_spec, .. } => {
                self.visit_expr(value)?;
                if let Some(spec) = format_spec {
                    self.visit_expr(spec)?;
                }
            }
            ExprKind::Constant { .. } => {}
            ExprKind::Attribute { value, .. } => self.visit_expr(value)?,
            ExprKind::Subscript { value, slice, .. } => {
                self.visit_expr(value)?;
                self.visit_expr(slice)?;
            }
            ExprKind::Starred { value, .. } => self.visit_expr(value)?,
            ExprKind::Slice { lower, upper, step } => {
                for part in [lower, upper, step].into_iter().flatten() {
                    self.visit_expr(part)?;
                }
            }
            ExprKind::Name { .. } if self.cur().in_unevaluated_annotation => {}
            ExprKind::Name { id, ctx } => {
                let flag = if *ctx == ast::Ctx::Load { USE } else { DEF_LOCAL };
                self.add_def(id, flag, e.range)?;
                if *ctx == ast::Ctx::Load && self.cur().is_function_like() && id.as_bytes() == b"super" {
                    self.add_def(&PyStr::new("__class__"), USE, e.range)?;
                }
            }
            ExprKind::List { elts, .. } | ExprKind::Tuple { elts, .. } => self.visit_exprs(elts)?,
        }
        Ok(())
    }

    fn extend_namedexpr_scope(&mut self, target: &Expr) -> Result<()> {
        let ExprKind::Name { id: name, .. } = &target.kind else {
            return Err(Refusal::internal("named expression target is not a name"));
        };
        // 3.13 looks the target up by its mangled name, as it is stored
        // (gh-96497); 3.12 by the name as written.
        let key =
            if self.target.has(Feature::ComprehensionScopeFixes) { self.maybe_mangle(name) } else { name.clone() };
        for i in (0..self.stack.len()).rev() {
            let sid = self.stack[i];
            let ste = &self.st.entries[sid];
            if ste.comprehension != CompKind::None {
                let flags = ste.symbol(&key);
                if flags & DEF_COMP_ITER != 0 && flags & DEF_LOCAL != 0 {
                    return Err(err(
                        format!("assignment expression cannot rebind comprehension iteration variable '{name}'"),
                        target.range,
                    ));
                }
                continue;
            }
            match ste.kind {
                BlockType::Function => {
                    let flag = if ste.symbol(&key) & DEF_GLOBAL != 0 { DEF_GLOBAL } else { DEF_NONLOCAL };
                    self.add_def(name, flag, target.range)?;
                    self.record_directive(name, target.range);
                    return self.add_def_in(name, DEF_LOCAL, sid, target.range);
                }
                BlockType::Module => {
                    self.add_def(name, DEF_GLOBAL, target.range)?;
                    self.record_directive(name, target.range);
                    return self.add_def_in(name, DEF_GLOBAL, sid, target.range);
                }
                BlockType::Class => {
                    return Err(err(
                        "assignment expression within a comprehension cannot be used in a class body",
                        target.range,
                    ));
                }
                BlockType::TypeParam => {
                    return Err(err(
                        "assignment expression within a comprehension cannot be used within the definition of a generic",
                        target.range,
                    ));
                }
                BlockType::TypeAlias => {
                    return Err(err(
                        "assignment expression within a comprehension cannot be used in a type alias",
                        target.range,
                    ));
                }
                BlockType::TypeVarBound => {
                    return Err(err(
                        "assignment expression within a comprehension cannot be used in a TypeVar bound",
                        target.range,
                    ));
                }
                BlockType::Annotation => {}
            }
        }
        Err(Refusal::internal("no scope for a named expression"))
    }

    fn handle_comprehension(&mut self, e: &Expr, c: &ast::Comp, name: &str, kind: CompKind) -> Result<()> {
        if self.cur().can_see_class_scope && !self.target.has(Feature::AnnotationScopeComprehensions) {
            return Err(err("Cannot use comprehension in annotation scope within class scope", e.range));
        }
        let is_generator = kind == CompKind::Generator;
        let outermost = &c.generators[0];
        self.cur().comp_iter_expr += 1;
        self.visit_expr(&outermost.iter)?;
        self.cur().comp_iter_expr -= 1;
        self.enter_block(PyStr::new(name), BlockType::Function, c.id, e.range);
        self.cur().comprehension = kind;
        if outermost.is_async {
            self.cur().coroutine = true;
        }
        self.add_def(&PyStr::new(".0"), DEF_PARAM, e.range)?;
        self.cur().comp_iter_target = true;
        self.visit_expr(&outermost.target)?;
        self.cur().comp_iter_target = false;
        self.visit_exprs(&outermost.ifs)?;
        for g in &c.generators[1..] {
            self.cur().comp_iter_target = true;
            self.visit_expr(&g.target)?;
            self.cur().comp_iter_target = false;
            self.cur().comp_iter_expr += 1;
            self.visit_expr(&g.iter)?;
            self.cur().comp_iter_expr -= 1;
            self.visit_exprs(&g.ifs)?;
            if g.is_async {
                self.cur().coroutine = true;
            }
        }
        if let Some(v) = &c.value {
            self.visit_expr(v)?;
        }
        self.visit_expr(&c.elt)?;
        self.cur().generator = is_generator;
        let is_async = self.cur().coroutine && !is_generator;
        self.exit_block();
        if is_async {
            self.cur().coroutine = true;
        }
        Ok(())
    }
}

// The second pass.

/// Free names: their order is the order symbols are added in.
type Set = IndexSet<PyStr>;
/// Bound, global, local, type-parameter and inlined-cell names: only ever
/// asked whether they hold a name, so unordered (removing is then O(1),
/// where an ordered set shifts everything after the name).
type NameSet = rustc_hash::FxHashSet<PyStr>;
/// Each name's scope in a block, looked up by name only.
type Scopes = rustc_hash::FxHashMap<PyStr, i64>;

struct Analysis<'a> {
    st: &'a mut SymTable,
    /// 3.14: `__conditional_annotations__` is a class's cell, as
    /// `__classdict__` is.
    lazy_annotations: bool,
    /// What the target's analysis does differently.
    target: Target,
}

fn analyze(st: &mut SymTable, target: Target) -> Result<()> {
    let top = st.top;
    let mut free = Set::default();
    let mut global = NameSet::default();
    let mut type_params = NameSet::default();
    let lazy_annotations = target.has(Feature::LazyAnnotations);
    Analysis { st, lazy_annotations, target }.block(top, None, &mut free, &mut global, &mut type_params, None)
}

impl Analysis<'_> {
    fn directive_error(&self, ste: ScopeId, name: &PyStr, message: String) -> Refusal {
        let range =
            self.st.entries[ste].directives.iter().find(|(n, _)| n == name).map(|(_, r)| *r).unwrap_or_default();
        err(message, range)
    }

    #[allow(clippy::too_many_arguments)]
    fn name(
        &mut self,
        ste: ScopeId,
        scopes: &mut Scopes,
        name: &PyStr,
        flags: i64,
        mut bound: Option<&mut NameSet>,
        local: &mut NameSet,
        free: &mut Set,
        global: &mut NameSet,
        type_params: &mut NameSet,
        class_entry: Option<ScopeId>,
    ) -> Result<()> {
        if flags & DEF_GLOBAL != 0 {
            if flags & DEF_NONLOCAL != 0 {
                return Err(self.directive_error(ste, name, format!("name '{name}' is nonlocal and global")));
            }
            scopes.insert(name.clone(), GLOBAL_EXPLICIT);
            global.insert(name.clone());
            // Not bound for the blocks inside this one either.
            if let Some(bound) = bound.as_deref_mut() {
                bound.remove(name);
            }
            return Ok(());
        }
        if flags & DEF_NONLOCAL != 0 {
            let Some(bound) = bound else {
                return Err(self.directive_error(ste, name, "nonlocal declaration not allowed at module level".into()));
            };
            if !bound.contains(name) {
                return Err(self.directive_error(ste, name, format!("no binding for nonlocal '{name}' found")));
            }
            if type_params.contains(name) {
                return Err(self.directive_error(
                    ste,
                    name,
                    format!("nonlocal binding not allowed for type parameter '{name}'"),
                ));
            }
            scopes.insert(name.clone(), FREE);
            self.st.entries[ste].free = true;
            free.insert(name.clone());
            return Ok(());
        }
        if flags & DEF_BOUND != 0 {
            scopes.insert(name.clone(), LOCAL);
            local.insert(name.clone());
            global.remove(name);
            if flags & DEF_TYPE_PARAM != 0 {
                type_params.insert(name.clone());
            } else {
                type_params.remove(name);
            }
            return Ok(());
        }
        if let Some(class_entry) = class_entry {
            let class_flags = self.st.entries[class_entry].symbol(name);
            if class_flags & DEF_GLOBAL != 0 {
                scopes.insert(name.clone(), GLOBAL_EXPLICIT);
                return Ok(());
            } else if class_flags & DEF_BOUND != 0 && class_flags & DEF_NONLOCAL == 0 {
                scopes.insert(name.clone(), GLOBAL_IMPLICIT);
                return Ok(());
            }
        }
        if let Some(bound) = bound {
            if bound.contains(name) {
                scopes.insert(name.clone(), FREE);
                self.st.entries[ste].free = true;
                free.insert(name.clone());
                return Ok(());
            }
        }
        if global.contains(name) {
            scopes.insert(name.clone(), GLOBAL_IMPLICIT);
            return Ok(());
        }
        if self.st.entries[ste].nested {
            self.st.entries[ste].free = true;
        }
        scopes.insert(name.clone(), GLOBAL_IMPLICIT);
        Ok(())
    }

    fn is_free_in_any_child(&self, entry: ScopeId, key: &PyStr) -> bool {
        self.st.entries[entry].children.iter().any(|&c| self.st.entries[c].scope(key) == FREE)
    }

    /// Whether the target reads `name`, a cell a class body makes of its
    /// own, as a global in a comprehension inlined into the class.
    fn is_class_implicit_cell(&self, name: &PyStr) -> bool {
        match name.as_bytes() {
            b"__class__" => self.target.has(Feature::InlinedClassDunderClassGlobal),
            b"__classdict__" => self.target.has(Feature::InlinedClassDictGlobal),
            b"__conditional_annotations__" => self.lazy_annotations && self.target.has(Feature::InlinedClassDictGlobal),
            _ => false,
        }
    }

    fn inline_comprehension(
        &mut self,
        ste: ScopeId,
        comp: ScopeId,
        scopes: &mut Scopes,
        comp_free: &mut Set,
        inlined_cells: &mut NameSet,
    ) {
        let symbols: Vec<(PyStr, i64)> = self.st.entries[comp].symbols.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let mut dropped = Vec::new();
        for (k, comp_flags) in symbols {
            if comp_flags & DEF_PARAM != 0 {
                continue;
            }
            let mut scope = (comp_flags >> SCOPE_OFFSET) & SCOPE_MASK;
            let only_flags = comp_flags & ((1 << SCOPE_OFFSET) - 1);
            // A class never passes its implicit cells (`__class__`,
            // `__classdict__`, 3.14's `__conditional_annotations__`) on as
            // free names: read in a comprehension inlined into the class
            // body, such a name is a global (a NameError at run time). 3.14
            // still gives the class the cell when a function inside the
            // comprehension needs it.
            if scope == FREE && self.st.entries[ste].kind == BlockType::Class && self.is_class_implicit_cell(&k) {
                scope = GLOBAL_IMPLICIT;
                // The comprehension's own entry forgets the name, so that
                // the code inlined into the class sees the class's scope.
                dropped.push(k.clone());
                if !(self.target.has(Feature::InlinedClassDunderClassCell) && self.is_free_in_any_child(comp, &k)) {
                    comp_free.shift_remove(&k);
                }
            }
            if scope == CELL || only_flags & DEF_COMP_CELL != 0 {
                inlined_cells.insert(k.clone());
            }
            match self.st.entries[ste].symbols.get(&k).copied() {
                None => {
                    self.st.entries[ste].symbols.insert(k.clone(), only_flags);
                    scopes.insert(k, scope);
                }
                Some(existing) => {
                    if existing & DEF_BOUND != 0
                        && !self.is_free_in_any_child(comp, &k)
                        && self.st.entries[ste].kind != BlockType::Class
                    {
                        comp_free.shift_remove(&k);
                    }
                }
            }
        }
        for k in &dropped {
            self.st.entries[comp].symbols.shift_remove(k);
        }
    }

    fn block(
        &mut self,
        ste: ScopeId,
        mut bound: Option<&mut NameSet>,
        free: &mut Set,
        global: &mut NameSet,
        type_params: &mut NameSet,
        class_entry: Option<ScopeId>,
    ) -> Result<()> {
        let count = self.st.entries[ste].symbols.len();
        let mut local = NameSet::with_capacity_and_hasher(count, Default::default());
        let mut scopes = Scopes::with_capacity_and_hasher(count, Default::default());
        let mut newfree = Set::default();
        let mut newbound = NameSet::default();
        let mut inlined_cells = NameSet::default();
        let kind = self.st.entries[ste].kind;

        // The globals the children start from: a class's are those before
        // its own names; any other block's are its globals once its names
        // are analysed, `global` itself (nothing changes it after that).
        let class_global = if kind == BlockType::Class {
            if let Some(b) = bound.as_deref() {
                newbound.clone_from(b);
            }
            Some(global.clone())
        } else {
            None
        };
        // Taken out while its names are analysed (nothing reads this
        // block's symbols meanwhile) rather than copied.
        let symbols = std::mem::take(&mut self.st.entries[ste].symbols);
        for (name, flags) in &symbols {
            let bound = bound.as_deref_mut();
            self.name(ste, &mut scopes, name, *flags, bound, &mut local, free, global, type_params, class_entry)?;
        }
        self.st.entries[ste].symbols = symbols;
        if kind != BlockType::Class {
            if self.st.entries[ste].is_function_like() {
                newbound = std::mem::take(&mut local);
            }
            if let Some(b) = bound.as_deref() {
                newbound.extend(b.iter().cloned());
            }
        } else {
            newbound.insert(PyStr::new("__class__"));
            newbound.insert(PyStr::new("__classdict__"));
            if self.lazy_annotations {
                newbound.insert(PyStr::new("__conditional_annotations__"));
            }
        }
        let newglobal: &NameSet = class_global.as_ref().unwrap_or(global);

        let children = self.st.entries[ste].children.clone();
        for &child in &children {
            let new_class_entry = if self.st.entries[child].can_see_class_scope {
                if kind == BlockType::Class { Some(ste) } else { class_entry }
            } else {
                None
            };
            // 3.14 compiles a comprehension in an annotation scope that
            // sees a class as a function of its own (3.13 refused it).
            let inline_comp = self.st.entries[child].comprehension != CompKind::None
                && !self.st.entries[child].generator
                && !self.st.entries[ste].can_see_class_scope;
            // analyze_child_block: copies of the sets for the child. The
            // child only adds to and removes from its free set, never reads
            // it, and what it holds is added to ours: so it starts empty
            // rather than as a copy of ours, with the same union after.
            let mut child_bound = newbound.clone();
            let mut child_free = Set::default();
            let mut child_global = newglobal.clone();
            let mut child_type_params = type_params.clone();
            self.block(
                child,
                Some(&mut child_bound),
                &mut child_free,
                &mut child_global,
                &mut child_type_params,
                new_class_entry,
            )?;
            if inline_comp {
                self.inline_comprehension(ste, child, &mut scopes, &mut child_free, &mut inlined_cells);
                self.st.entries[child].comp_inlined = true;
            }
            newfree.extend(child_free);
            if self.st.entries[child].free || self.st.entries[child].child_free {
                self.st.entries[ste].child_free = true;
            }
        }

        // Splice the children of inlined comprehensions into ours.
        let mut spliced = Vec::with_capacity(children.len());
        for &child in &children {
            if self.st.entries[child].comp_inlined {
                spliced.extend(self.st.entries[child].children.iter().copied());
            } else {
                spliced.push(child);
            }
        }
        self.st.entries[ste].children = spliced;

        if self.st.entries[ste].is_function_like() {
            analyze_cells(&mut scopes, &mut newfree, &inlined_cells);
        } else if kind == BlockType::Class {
            if newfree.shift_remove(&PyStr::new("__class__")) {
                self.st.entries[ste].needs_class_closure = true;
            }
            if newfree.shift_remove(&PyStr::new("__classdict__")) {
                self.st.entries[ste].needs_classdict = true;
            }
            if self.lazy_annotations && newfree.shift_remove(&PyStr::new("__conditional_annotations__")) {
                self.st.entries[ste].has_conditional_annotations = true;
            }
        }
        let classflag = kind == BlockType::Class || self.st.entries[ste].can_see_class_scope;
        update_symbols(
            &mut self.st.entries[ste].symbols,
            &scopes,
            bound.as_deref(),
            &newfree,
            &inlined_cells,
            classflag,
        );
        free.extend(newfree);
        Ok(())
    }
}

fn analyze_cells(scopes: &mut Scopes, free: &mut Set, inlined_cells: &NameSet) {
    for (name, scope) in scopes.iter_mut() {
        if *scope != LOCAL {
            continue;
        }
        if !free.contains(name) && !inlined_cells.contains(name) {
            continue;
        }
        *scope = CELL;
        free.shift_remove(name);
    }
}

fn update_symbols(
    symbols: &mut IndexMap<PyStr, i64>,
    scopes: &Scopes,
    bound: Option<&NameSet>,
    free: &Set,
    inlined_cells: &NameSet,
    classflag: bool,
) {
    for (name, flags) in symbols.iter_mut() {
        if inlined_cells.contains(name) {
            *flags |= DEF_COMP_CELL;
        }
        let scope = scopes.get(name).copied().unwrap_or(0);
        *flags |= scope << SCOPE_OFFSET;
    }
    for name in free {
        if let Some(flags) = symbols.get_mut(name) {
            if classflag {
                *flags |= DEF_FREE_CLASS;
            }
            continue;
        }
        if let Some(bound) = bound {
            if !bound.contains(name) {
                continue;
            }
        }
        symbols.insert(name.clone(), FREE << SCOPE_OFFSET);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mangling_follows_cpython() {
        let p = PyStr::new("_Foo");
        assert_eq!(mangle(Some(&p), &PyStr::new("__x")), PyStr::new("_Foo__x"));
        assert_eq!(mangle(Some(&p), &PyStr::new("__x__")), PyStr::new("__x__"));
        assert_eq!(mangle(Some(&p), &PyStr::new("_x")), PyStr::new("_x"));
        assert_eq!(mangle(Some(&PyStr::new("__")), &PyStr::new("__x")), PyStr::new("__x"));
        assert_eq!(mangle(None, &PyStr::new("__x")), PyStr::new("__x"));
    }
}
