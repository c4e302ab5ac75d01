//! Code generation: from the tree and its symbol table to a sequence of
//! (pseudo-)instructions per code unit, as CPython's `compile.c` emits them
//! for the target. Each finished unit goes to the driver's back end (the
//! flow graph and the assembler, [`Backend`]), which returns its code
//! object: code generation knows neither stage, only their shared types
//! (`ir`).
//!
//! Split by node kind: statements (`stmt`), expressions (`expr`),
//! comprehensions (`comprehension`), pattern matching (`pattern`), the
//! generic definitions and type aliases of PEP 695 (`typeparams`), and
//! 3.14's lazy annotations (`annotations`).

mod annotations;
mod checks;
mod comprehension;
mod expr;
mod pattern;
mod stmt;
mod typeparams;

use crate::FxIndexMap as IndexMap;

use crate::ast::{self, Stmt};
use crate::code::{CodeObject, Constant, PyStr};
use crate::error::{Refusal, Result};
use crate::instr::*;
pub use crate::ir::{InstrSeq, Label, Metadata, NO_LABEL, UnitIr};
use crate::symtable::{self, ScopeId, SymTable};
use crate::target::{Feature, Target};

/// What finishes a code unit: the flow graph and assembly, as the driver
/// chains them. Called once per unit, innermost first.
pub type Backend = fn(Target, UnitIr<'_>) -> Result<CodeObject>;

/// The kind of code unit, as `compile.c` tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeType {
    Module,
    Class,
    Function,
    AsyncFunction,
    Lambda,
    Comprehension,
    TypeParams,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FBlockType {
    WhileLoop,
    ForLoop,
    /// An `async for` loop: its iterator stays one value when 3.15 makes
    /// a sync loop's a pair.
    AsyncForLoop,
    TryExcept,
    FinallyTry,
    FinallyEnd,
    With,
    AsyncWith,
    HandlerCleanup,
    PopValue,
    ExceptionHandler,
    ExceptionGroupHandler,
    AsyncComprehensionGenerator,
}

#[derive(Debug, Clone, Copy)]
pub enum FBlockDatum<'a> {
    None,
    Stmts(&'a [Stmt]),
    Stmt(&'a Stmt),
    /// The name bound by a handler, if any (`Some(None)` marks a handler
    /// cleanup that pops its own block).
    Handler(Option<&'a PyStr>),
}

#[derive(Debug, Clone, Copy)]
pub struct FBlock<'a> {
    pub kind: FBlockType,
    pub block: Label,
    pub exit: Label,
    pub datum: FBlockDatum<'a>,
    /// Where it was pushed.
    pub loc: Loc,
}

pub struct Unit<'a> {
    pub ste: ScopeId,
    pub scope_type: ScopeType,
    pub private: Option<PyStr>,
    pub seq: InstrSeq,
    pub fblocks: Vec<FBlock<'a>>,
    pub in_inlined_comp: u32,
    pub md: Metadata,
    /// A class body's `__static_attributes__` (3.13 on): the names `X` of
    /// `self.X` stores in code nested in it, in code-point order.
    pub static_attributes: Option<std::collections::BTreeSet<PyStr>>,
    /// 3.14: the annotated names of a module or class body, in the order
    /// their statements were compiled (a `finally` body counts each time),
    /// with the index each has in `__conditional_annotations__` if it is
    /// conditional; compiled into the body's `__annotate__` at its end.
    pub deferred_annotations: Vec<(&'a Stmt, Option<usize>)>,
    pub next_conditional_annotation: usize,
    /// How many `if`, loops, `try`, `with` and `match` enclose the
    /// statement being compiled (3.14).
    pub in_conditional_block: u32,
    /// How many `try` statements (any part: body, handlers, `else`,
    /// `finally`) enclose the statement being compiled: 3.15 rejects a
    /// `lazy import` there.
    pub in_try_statement: u32,
}

/// Compiler flags for the whole module.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    /// `from __future__ import annotations`.
    pub annotations: bool,
    /// The co_flags bits the future imports add to every code object.
    pub co_flags: u32,
    /// Where the last future import is, to reject later ones.
    pub future_loc: Option<Loc>,
}

pub struct Compiler<'a> {
    pub target: Target,
    backend: Backend,
    pub st: &'a mut SymTable,
    pub filename: PyStr,
    pub optimize: u8,
    pub flags: Flags,
    pub units: Vec<Unit<'a>>,
    pub nestlevel: u32,
    /// The SyntaxWarnings of the compile, in the order CPython gives them.
    pub warnings: Vec<crate::warning::Warning>,
    /// Whether the first `'%'` string the compiler's constant cache
    /// received was the new one of a `%%` fold (`Some(true)`) or the
    /// singleton (`Some(false)`); `None` before any. Code generation adds
    /// constants in CPython's order, dead code included, so this is
    /// followed here rather than from the code objects' constants
    /// ([`CodeObject::fresh_percent`]).
    pub percent_const: Option<bool>,
}

pub const STACK_USE_GUIDELINE: usize = 30;

pub const CO_OPTIMIZED: u32 = 0x1;
pub const CO_NEWLOCALS: u32 = 0x2;
pub const CO_VARARGS: u32 = 0x4;
pub const CO_VARKEYWORDS: u32 = 0x8;
pub const CO_NESTED: u32 = 0x10;
/// 3.14 (`Feature::MethodDocstringFlags`): the function has a docstring.
pub const CO_HAS_DOCSTRING: u32 = 0x400_0000;
/// 3.14: a function-like scope directly in a class body.
pub const CO_METHOD: u32 = 0x800_0000;
pub const CO_GENERATOR: u32 = 0x20;
pub const CO_COROUTINE: u32 = 0x80;
pub const CO_ASYNC_GENERATOR: u32 = 0x200;

/// Whether `constant` is, or holds at any depth, the string `text` (a
/// constant of the unit that could have brought that text into the
/// constant cache before an identifier did).
fn holds_str(constant: &Constant, text: &PyStr) -> bool {
    match constant {
        Constant::Str(t) => t == text,
        Constant::Tuple(items) | Constant::FrozenSet(items) => items.iter().any(|item| holds_str(item, text)),
        _ => false,
    }
}

impl<'a> Compiler<'a> {
    pub fn new(
        target: Target,
        backend: Backend,
        st: &'a mut SymTable,
        filename: PyStr,
        optimize: u8,
        flags: Flags,
    ) -> Self {
        Self {
            target,
            backend,
            st,
            filename,
            optimize,
            flags,
            units: Vec::new(),
            nestlevel: 0,
            warnings: Vec::new(),
            percent_const: None,
        }
    }

    pub fn u(&mut self) -> &mut Unit<'a> {
        self.units.last_mut().expect("a compiler unit")
    }

    pub fn unit(&self) -> &Unit<'a> {
        self.units.last().expect("a compiler unit")
    }

    pub fn ste(&self) -> &symtable::Entry {
        self.st.entry(self.unit().ste)
    }

    /// `name` mangled as CPython's compiler does for names, attributes and
    /// locals: from 3.13, a generic class's type-parameter scope mangles
    /// only the class's type parameters (see `SymTable::maybe_mangle`).
    /// Annotation keys use plain `mangle`.
    pub fn maybe_mangle(&self, name: &PyStr) -> PyStr {
        self.st.maybe_mangle(self.unit().ste, self.unit().private.as_ref(), name)
    }

    // Emitting instructions.

    pub fn addop(&mut self, op: Op, loc: Loc) {
        debug_assert!(!self.target.ops().has_arg(op));
        self.u().seq.addop(op, 0, loc);
    }

    pub fn addop_i(&mut self, op: Op, arg: usize, loc: Loc) {
        self.u().seq.addop(op, arg as i32, loc);
    }

    pub fn addop_j(&mut self, op: Op, target: Label, loc: Loc) {
        self.u().seq.addop(op, target.0, loc);
    }

    /// `TO_BOOL` where the target's conditional jumps need an exact bool.
    pub fn to_bool(&mut self, loc: Loc) {
        if self.target.has(Feature::ToBool) {
            self.addop(TO_BOOL, loc);
        }
    }

    /// The jump of a non-loop unconditional jump (an if/else skip, a
    /// handler's exit): `JUMP_NO_INTERRUPT` from 3.13.
    /// What ends a `for` loop after `END_FOR`: `POP_ITER` from 3.14.
    pub fn pop_iter_op(&self) -> Op {
        if self.target.has(Feature::PopIter) { POP_ITER } else { POP_TOP }
    }

    /// A subscript load: `BINARY_OP 26` from 3.14, else `BINARY_SUBSCR`.
    pub fn addop_subscr(&mut self, loc: Loc) {
        if self.target.has(Feature::SubscrBinaryOp) {
            self.addop_i(BINARY_OP, NB_SUBSCR as usize, loc);
        } else {
            self.addop(BINARY_SUBSCR, loc);
        }
    }

    pub fn jump_no_interrupt(&self) -> Op {
        if self.target.has(Feature::JumpNoInterrupt) { JUMP_NO_INTERRUPT } else { JUMP }
    }

    pub fn new_label(&mut self) -> Label {
        self.u().seq.new_label()
    }

    pub fn use_label(&mut self, label: Label) {
        self.u().seq.use_label(label);
    }

    /// Adds a constant to the unit (merged by key) and returns its index.
    /// A NaN-holding constant added here is never merged: CPython's
    /// constant cache never finds a NaN equal to another object.
    pub fn add_const(&mut self, value: Constant) -> usize {
        let nan = value.has_nan();
        self.add_const_with(value, nan)
    }

    /// [`Self::add_const`] of a constant whose [`Constant::has_nan`] the
    /// caller knows already (the walk over a tuple's items is not free).
    fn add_const_with(&mut self, value: Constant, nan: bool) -> usize {
        if self.percent_const.is_none() && value.holds_percent() {
            self.percent_const = Some(false);
        }
        let md = &mut self.u().md;
        if nan {
            md.consts.push(value);
            return md.consts.len() - 1;
        }
        let mut h = rustc_hash::FxHasher::default();
        value.key_hash(&mut h);
        let hash = std::hash::Hasher::finish(&h);
        let candidates = md.const_index.entry(hash).or_default();
        if let Some(&i) = candidates.iter().find(|&&i| md.consts[i].key_eq(&value)) {
            return i;
        }
        let i = md.consts.len();
        candidates.push(i);
        md.consts.push(value);
        i
    }

    /// `load_const` of a constant made of the parser's identifiers (a
    /// string, or a tuple of strings): notes their texts for marshal
    /// ([`CodeObject::identifier_strs`]) unless this unit already holds an
    /// equal string constant, which then came first.
    pub fn load_identifier_const(&mut self, value: Constant, loc: Loc) {
        self.note_identifiers(&value);
        self.load_const(value, loc);
    }

    /// Notes the texts of `value`'s strings as identifiers (see
    /// [`Self::load_identifier_const`]).
    pub fn note_identifiers(&mut self, value: &Constant) {
        let items = match value {
            Constant::Str(_) => std::slice::from_ref(value),
            Constant::Tuple(items) => items.as_slice(),
            _ => &[],
        };
        for item in items {
            // Marshal interns every string of identifier characters anyway:
            // only the others (non-ASCII names) need noting, and the scan
            // of the unit's constants below is then rare.
            let Constant::Str(text) = item else { continue };
            if crate::marshal::all_name_chars(text) {
                continue;
            }
            let md = &self.unit().md;
            let literal_first = md.consts.iter().any(|c| holds_str(c, text));
            if !literal_first && !md.identifier_strs.contains(text) {
                let text = text.clone();
                self.u().md.identifier_strs.push(text);
            }
        }
    }

    /// An annotation's key: the parser's identifier unless mangling made a
    /// new string.
    pub fn load_annotation_key(&mut self, mangled: PyStr, id: &PyStr, loc: Loc) {
        if mangled == *id {
            self.load_identifier_const(Constant::Str(mangled), loc);
        } else {
            self.load_const(Constant::Str(mangled), loc);
        }
    }

    pub fn load_const(&mut self, value: Constant, loc: Loc) {
        // CPython shares a NaN constant only when the same expression is
        // compiled twice (a `finally` body, a loop condition), as one
        // object: the location stands for the expression.
        let i = if value.has_nan() {
            let md = &mut self.u().md;
            let at = md.nan_index.entry((loc.lineno, loc.col_offset, loc.end_lineno, loc.end_col_offset)).or_default();
            match at.iter().find(|&&i| md.consts[i].key_eq(&value)) {
                Some(&i) => i,
                None => {
                    at.push(md.consts.len());
                    md.consts.push(value);
                    md.consts.len() - 1
                }
            }
        } else {
            self.add_const_with(value, false)
        };
        self.addop_i(LOAD_CONST, i, loc);
    }

    /// `LOAD_ATTR` and friends: the name is mangled, added to co_names, and
    /// the pseudo-ops become the real ones with their flag bits.
    pub fn addop_name(&mut self, op: Op, name: &PyStr, loc: Loc) {
        let mangled = self.maybe_mangle(name);
        let mut arg = self.u().md.names.add(&mangled);
        let op = match op {
            LOAD_ATTR => {
                arg <<= 1;
                LOAD_ATTR
            }
            LOAD_METHOD => {
                arg = (arg << 1) | 1;
                LOAD_ATTR
            }
            LOAD_SUPER_ATTR => {
                arg = (arg << 2) | 2;
                LOAD_SUPER_ATTR
            }
            LOAD_SUPER_METHOD => {
                arg = (arg << 2) | 3;
                LOAD_SUPER_ATTR
            }
            LOAD_ZERO_SUPER_ATTR => {
                arg <<= 2;
                LOAD_SUPER_ATTR
            }
            LOAD_ZERO_SUPER_METHOD => {
                arg = (arg << 2) | 1;
                LOAD_SUPER_ATTR
            }
            other => other,
        };
        self.addop_i(op, arg, loc);
    }

    /// An opcode whose argument indexes co_names without mangling.
    pub fn addop_names(&mut self, op: Op, name: &PyStr, loc: Loc) {
        let arg = self.u().md.names.add(name);
        self.addop_i(op, arg, loc);
    }

    pub fn addop_varname(&mut self, op: Op, name: &PyStr, loc: Loc) {
        let mangled = self.maybe_mangle(name);
        let arg = self.u().md.varnames.add(&mangled);
        self.addop_i(op, arg, loc);
    }

    // Scopes.

    pub fn enter_scope(&mut self, name: PyStr, scope_type: ScopeType, key: ast::NodeId, lineno: i32) -> Result<()> {
        let ste_id = self.st.lookup(key)?;
        self.enter_scope_of(name, scope_type, ste_id, lineno)
    }

    /// Opens a unit for the symbol table's scope `ste_id`.
    pub fn enter_scope_of(&mut self, name: PyStr, scope_type: ScopeType, ste_id: ScopeId, lineno: i32) -> Result<()> {
        let ste = self.st.entry(ste_id);
        let mut md = Metadata { name, firstlineno: lineno, ..Metadata::default() };
        md.varnames.0.reserve(ste.varnames.len());
        for v in &ste.varnames {
            md.varnames.add(v);
        }
        let mut cells: Vec<&PyStr> = ste
            .symbols
            .iter()
            .filter(|&(_, &flags)| {
                (flags >> symtable::SCOPE_OFFSET) & symtable::SCOPE_MASK == symtable::CELL
                    || flags & symtable::DEF_COMP_CELL != 0
            })
            .map(|(k, _)| k)
            .collect();
        cells.sort();
        for c in cells {
            md.cellvars.add(c);
        }
        if ste.needs_class_closure {
            md.cellvars.add(&PyStr::new("__class__"));
        }
        if ste.needs_classdict {
            md.cellvars.add(&PyStr::new("__classdict__"));
        }
        if ste.has_conditional_annotations {
            md.cellvars.add(&PyStr::new("__conditional_annotations__"));
        }
        let mut frees: Vec<&PyStr> = ste
            .symbols
            .iter()
            .filter(|&(_, &flags)| {
                (flags >> symtable::SCOPE_OFFSET) & symtable::SCOPE_MASK == symtable::FREE
                    || flags & symtable::DEF_FREE_CLASS != 0
            })
            .map(|(k, _)| k)
            .collect();
        frees.sort();
        let offset = md.cellvars.len();
        for (i, f) in frees.into_iter().enumerate() {
            md.freevars.0.insert(f.clone(), offset + i);
        }
        let private = self.units.last().and_then(|u| u.private.clone());
        self.units.push(Unit {
            ste: ste_id,
            scope_type,
            private,
            seq: InstrSeq::default(),
            fblocks: Vec::new(),
            in_inlined_comp: 0,
            md,
            static_attributes: (scope_type == ScopeType::Class && self.target.has(Feature::StaticAttributes))
                .then(Default::default),
            deferred_annotations: Vec::new(),
            next_conditional_annotation: 0,
            in_conditional_block: 0,
            in_try_statement: 0,
        });
        self.nestlevel += 1;
        let mut loc = Loc::new(lineno, lineno, 0, 0);
        if scope_type == ScopeType::Module {
            loc.lineno = 0;
        } else {
            self.set_qualname()?;
        }
        self.addop_i(RESUME, 0, loc);
        if self.target.has(Feature::ResumeOwnBlock) {
            let body = self.new_label();
            self.use_label(body);
        }
        Ok(())
    }

    pub fn exit_scope(&mut self) {
        self.nestlevel -= 1;
        self.units.pop();
    }

    fn set_qualname(&mut self) -> Result<()> {
        let n = self.units.len();
        let u = &self.units[n - 1];
        let mut base: Option<PyStr> = None;
        // CPython counts the enclosing units: the module alone gives no
        // prefix.
        if n > 2 {
            let mut parent = &self.units[n - 2];
            if parent.scope_type == ScopeType::TypeParams {
                if n == 3 {
                    let name = u.md.name.clone();
                    self.u().md.qualname = Some(name);
                    return Ok(());
                }
                parent = &self.units[n - 3];
            }
            let mut force_global = false;
            if matches!(u.scope_type, ScopeType::Function | ScopeType::AsyncFunction | ScopeType::Class) {
                let mangled = symtable::mangle(parent.private.as_ref(), &u.md.name);
                let scope = self.st.entry(parent.ste).scope(&mangled);
                if scope == symtable::GLOBAL_EXPLICIT {
                    force_global = true;
                }
            }
            if !force_global {
                let parent_qualname = parent.md.qualname.clone().unwrap_or_else(|| parent.md.name.clone());
                if matches!(parent.scope_type, ScopeType::Function | ScopeType::AsyncFunction | ScopeType::Lambda) {
                    base = Some(concat(&parent_qualname, ".<locals>"));
                } else {
                    base = Some(parent_qualname);
                }
            }
        }
        let name = self.unit().md.name.clone();
        let qualname = match base {
            Some(base) => {
                let mut bytes = base.as_bytes().to_vec();
                bytes.push(b'.');
                bytes.extend_from_slice(name.as_bytes());
                PyStr::from_encoded(bytes)
            }
            None => name,
        };
        self.u().md.qualname = Some(qualname);
        Ok(())
    }

    // Frame blocks.

    pub fn push_fblock(
        &mut self,
        kind: FBlockType,
        block: Label,
        exit: Label,
        datum: FBlockDatum<'a>,
        loc: Loc,
    ) -> Result<()> {
        // From 3.13 a generator or coroutine `def` body sits in an implicit
        // block of its own (unwinding to nothing), which counts here.
        let implicit = usize::from(
            self.target.has(Feature::StopIterationBlock)
                && matches!(self.unit().scope_type, ScopeType::Function | ScopeType::AsyncFunction)
                && (self.ste().coroutine || self.ste().generator),
        );
        if self.unit().fblocks.len() + implicit >= self.target.limits().static_blocks {
            return Err(Refusal::syntax_at("too many statically nested blocks", loc.lineno, loc.col_offset));
        }
        self.u().fblocks.push(FBlock { kind, block, exit, datum, loc });
        Ok(())
    }

    pub fn pop_fblock(&mut self) {
        self.u().fblocks.pop();
    }

    pub fn call_exit_with_nones(&mut self, loc: Loc) {
        self.load_const(Constant::None, loc);
        self.load_const(Constant::None, loc);
        self.load_const(Constant::None, loc);
        // 3.14 calls the exit method with its `self` slot filled.
        self.addop_i(CALL, if self.target.has(Feature::LoadSpecialWith) { 3 } else { 2 }, loc);
    }

    /// 3.14's `with` setup on the context manager: the exit method (and
    /// its `self`) kept under the result of calling the enter method.
    pub fn load_special_enter(&mut self, exit: usize, enter: usize, loc: Loc) {
        self.addop_i(COPY, 1, loc);
        self.addop_i(LOAD_SPECIAL, exit, loc);
        self.addop_i(SWAP, 2, loc);
        self.addop_i(SWAP, 3, loc);
        self.addop_i(LOAD_SPECIAL, enter, loc);
        self.addop_i(CALL, 0, loc);
    }

    /// Sends `None` into the awaitable on the stack until it is done.
    pub fn await_sent_none(&mut self, loc: Loc) {
        self.push_sent_none(loc);
        self.add_yield_from(loc, true);
    }

    /// The `None` an await sends first: from 3.15 a `NULL` goes under it
    /// (the receiver is a pair).
    fn push_sent_none(&mut self, loc: Loc) {
        if self.target.has(Feature::SendPushNull) {
            self.addop(PUSH_NULL, loc);
        }
        self.load_const(Constant::None, loc);
    }

    pub fn add_yield_from(&mut self, loc: Loc, is_await: bool) {
        let send = self.new_label();
        let fail = self.new_label();
        let exit = self.new_label();
        self.use_label(send);
        self.addop_j(SEND, exit, loc);
        self.addop_j(SETUP_FINALLY, fail, loc);
        let from_flag = usize::from(self.target.has(Feature::YieldValueFromFlag));
        self.addop_i(YIELD_VALUE, from_flag, loc);
        self.addop(POP_BLOCK, NO_LOCATION);
        self.addop_i(RESUME, if is_await { 3 } else { 2 }, loc);
        self.addop_j(JUMP_NO_INTERRUPT, send, loc);
        self.use_label(fail);
        self.addop(CLEANUP_THROW, loc);
        self.use_label(exit);
        self.addop(END_SEND, loc);
    }

    /// The await of `anext()` in an `async for` (the loop or a
    /// comprehension clause), with from 3.14 a label at its `SEND`, which
    /// the loop's `END_ASYNC_FOR` names ([`Feature::EndAsyncForJump`]).
    pub fn anext_await(&mut self, loc: Loc) -> Option<Label> {
        self.push_sent_none(loc);
        let send = self.target.has(Feature::EndAsyncForJump).then(|| {
            let send = self.new_label();
            self.use_label(send);
            send
        });
        self.add_yield_from(loc, true);
        send
    }

    /// The end of an `async for`: from 3.14 a jump naming the loop's `SEND`
    /// (the assembler counts its argument back to the `END_SEND`).
    pub fn end_async_for(&mut self, send: Option<Label>, loc: Loc) {
        match send {
            Some(send) => self.addop_j(END_ASYNC_FOR, send, loc),
            None => self.addop(END_ASYNC_FOR, loc),
        }
    }

    pub fn pop_except_and_reraise(&mut self, loc: Loc) {
        self.addop_i(COPY, 3, loc);
        self.addop(POP_EXCEPT, loc);
        self.addop_i(RERAISE, 1, loc);
    }

    /// Emits what leaving `info` takes on the way out of a `return`,
    /// `break` or `continue`.
    pub fn unwind_fblock(&mut self, loc: &mut Loc, info: FBlock<'a>, preserve_tos: bool) -> Result<()> {
        match info.kind {
            FBlockType::WhileLoop
            | FBlockType::ExceptionHandler
            | FBlockType::ExceptionGroupHandler
            | FBlockType::AsyncComprehensionGenerator => {}
            FBlockType::ForLoop | FBlockType::AsyncForLoop => {
                // 3.15: a sync loop's iterator is a pair of values (an
                // async loop's `GET_AITER` pushes one).
                let pair = info.kind == FBlockType::ForLoop && self.target.has(Feature::IterPair);
                let slots = if pair { 2 } else { 1 };
                if preserve_tos {
                    self.addop_i(SWAP, slots + 1, *loc);
                }
                for _ in 0..slots {
                    self.addop(POP_TOP, *loc);
                }
            }
            FBlockType::TryExcept => self.addop(POP_BLOCK, *loc),
            FBlockType::FinallyTry => {
                self.addop(POP_BLOCK, *loc);
                if preserve_tos {
                    self.push_fblock(FBlockType::PopValue, NO_LABEL, NO_LABEL, FBlockDatum::None, *loc)?;
                }
                if let FBlockDatum::Stmts(body) = info.datum {
                    self.visit_stmts(body)?;
                }
                if preserve_tos {
                    self.pop_fblock();
                }
                *loc = NO_LOCATION;
            }
            FBlockType::FinallyEnd => {
                if preserve_tos {
                    self.addop_i(SWAP, 2, *loc);
                }
                self.addop(POP_TOP, *loc);
                if preserve_tos {
                    self.addop_i(SWAP, 2, *loc);
                }
                self.addop(POP_BLOCK, *loc);
                self.addop(POP_EXCEPT, *loc);
            }
            FBlockType::With | FBlockType::AsyncWith => {
                if self.target.has(Feature::WithItemLocation) {
                    *loc = info.loc;
                } else if let FBlockDatum::Stmt(s) = info.datum {
                    *loc = Loc::of(s.range);
                }
                self.addop(POP_BLOCK, *loc);
                if preserve_tos && self.target.has(Feature::LoadSpecialWith) {
                    // Under the exit method and its `self`.
                    self.addop_i(SWAP, 3, *loc);
                    self.addop_i(SWAP, 2, *loc);
                } else if preserve_tos {
                    self.addop_i(SWAP, 2, *loc);
                }
                self.call_exit_with_nones(*loc);
                if info.kind == FBlockType::AsyncWith {
                    self.addop_i(GET_AWAITABLE, 2, *loc);
                    self.await_sent_none(*loc);
                }
                self.addop(POP_TOP, *loc);
                *loc = NO_LOCATION;
            }
            FBlockType::HandlerCleanup => {
                let name = match info.datum {
                    FBlockDatum::Handler(name) => name,
                    _ => None,
                };
                if name.is_some() {
                    self.addop(POP_BLOCK, *loc);
                }
                if preserve_tos {
                    self.addop_i(SWAP, 2, *loc);
                }
                self.addop(POP_BLOCK, *loc);
                self.addop(POP_EXCEPT, *loc);
                if let Some(name) = name {
                    self.load_const(Constant::None, *loc);
                    self.nameop(name, ast::Ctx::Store, *loc)?;
                    self.nameop(name, ast::Ctx::Del, *loc)?;
                }
            }
            FBlockType::PopValue => {
                if preserve_tos {
                    self.addop_i(SWAP, 2, *loc);
                }
                self.addop(POP_TOP, *loc);
            }
        }
        Ok(())
    }

    /// Unwinds the frame blocks, stopping at the innermost loop when
    /// `stop_at_loop`; returns that loop.
    pub fn unwind_fblock_stack(
        &mut self,
        loc: &mut Loc,
        preserve_tos: bool,
        stop_at_loop: bool,
    ) -> Result<Option<FBlock<'a>>> {
        let Some(&top) = self.unit().fblocks.last() else { return Ok(None) };
        if top.kind == FBlockType::ExceptionGroupHandler {
            return Err(Refusal::syntax_at(
                "'break', 'continue' and 'return' cannot appear in an except* block",
                loc.lineno,
                loc.col_offset,
            ));
        }
        if stop_at_loop && matches!(top.kind, FBlockType::WhileLoop | FBlockType::ForLoop | FBlockType::AsyncForLoop) {
            return Ok(Some(top));
        }
        self.u().fblocks.pop();
        self.unwind_fblock(loc, top, preserve_tos)?;
        let result = self.unwind_fblock_stack(loc, preserve_tos, stop_at_loop)?;
        self.u().fblocks.push(top);
        Ok(result)
    }

    // Names.

    pub fn nameop(&mut self, name: &PyStr, ctx: ast::Ctx, loc: Loc) -> Result<()> {
        use symtable::*;
        if name.as_bytes() == b"__debug__" && ctx != ast::Ctx::Load {
            let what = if ctx == ast::Ctx::Store { "cannot assign to __debug__" } else { "cannot delete __debug__" };
            return Err(Refusal::syntax_at(what, loc.lineno, loc.col_offset));
        }
        let mangled = self.maybe_mangle(name);
        let ste = self.ste();
        let scope = ste.scope(&mangled);
        let function_like = ste.is_function_like();
        let is_class = ste.kind == BlockType::Class;
        let can_see_class_scope = ste.can_see_class_scope;
        #[derive(PartialEq)]
        enum OpType {
            Fast,
            Global,
            Deref,
            Name,
        }
        let mut optype = OpType::Name;
        let mut dict_is_free = false;
        match scope {
            FREE => {
                dict_is_free = true;
                optype = OpType::Deref;
            }
            CELL => optype = OpType::Deref,
            LOCAL => {
                if function_like || self.unit().md.fasthidden.get(&mangled) == Some(&true) {
                    optype = OpType::Fast;
                }
            }
            GLOBAL_IMPLICIT => {
                if function_like {
                    optype = OpType::Global;
                }
            }
            GLOBAL_EXPLICIT => optype = OpType::Global,
            _ => {}
        }
        let in_inlined_comp = self.unit().in_inlined_comp > 0;
        let op = match optype {
            OpType::Deref => match ctx {
                ast::Ctx::Load => {
                    if is_class && !in_inlined_comp {
                        self.addop(LOAD_LOCALS, loc);
                        LOAD_FROM_DICT_OR_DEREF
                    } else if can_see_class_scope {
                        let i = self.u().md.freevars.add(&PyStr::new("__classdict__"));
                        self.addop_i(LOAD_DEREF, i, loc);
                        LOAD_FROM_DICT_OR_DEREF
                    } else {
                        LOAD_DEREF
                    }
                }
                ast::Ctx::Store => STORE_DEREF,
                ast::Ctx::Del => DELETE_DEREF,
            },
            OpType::Fast => {
                let op = match ctx {
                    ast::Ctx::Load => LOAD_FAST,
                    ast::Ctx::Store => STORE_FAST,
                    ast::Ctx::Del => DELETE_FAST,
                };
                let arg = self.u().md.varnames.add(&mangled);
                self.addop_i(op, arg, loc);
                return Ok(());
            }
            OpType::Global => match ctx {
                ast::Ctx::Load => {
                    if can_see_class_scope && scope == GLOBAL_IMPLICIT {
                        let i = self.u().md.freevars.add(&PyStr::new("__classdict__"));
                        self.addop_i(LOAD_DEREF, i, loc);
                        LOAD_FROM_DICT_OR_GLOBALS
                    } else {
                        LOAD_GLOBAL
                    }
                }
                ast::Ctx::Store => STORE_GLOBAL,
                ast::Ctx::Del => DELETE_GLOBAL,
            },
            OpType::Name => match ctx {
                ast::Ctx::Load => {
                    if is_class && in_inlined_comp {
                        LOAD_GLOBAL
                    } else {
                        LOAD_NAME
                    }
                }
                ast::Ctx::Store => STORE_NAME,
                ast::Ctx::Del => DELETE_NAME,
            },
        };
        let md = &mut self.u().md;
        let mut arg = match optype {
            OpType::Deref if dict_is_free => md.freevars.add(&mangled),
            OpType::Deref => md.cellvars.add(&mangled),
            _ => md.names.add(&mangled),
        };
        if op == LOAD_GLOBAL {
            arg <<= 1;
        }
        self.addop_i(op, arg, loc);
        Ok(())
    }

    /// `get_ref_type`: the scope of a name, with `__class__` and
    /// `__classdict__` always cells in a class.
    pub fn ref_type(&self, name: &PyStr) -> Result<i64> {
        if self.unit().scope_type == ScopeType::Class
            && (name.as_bytes() == b"__class__"
                || name.as_bytes() == b"__classdict__"
                || (name.as_bytes() == b"__conditional_annotations__" && self.target.has(Feature::LazyAnnotations)))
        {
            return Ok(symtable::CELL);
        }
        let scope = self.ste().scope(name);
        if scope == 0 {
            return Err(Refusal::internal(format!("unknown scope for name `{name}`")));
        }
        Ok(scope)
    }

    /// Loads a new function object for `code`, with its closure.
    pub fn make_closure(&mut self, code: CodeObject, nfreevars: usize, mut flags: usize, loc: Loc) -> Result<()> {
        if nfreevars > 0 {
            let nlocalsplus = code.localsplusnames.len();
            for i in nlocalsplus - nfreevars..nlocalsplus {
                let name = code.localsplusnames[i].clone();
                let reftype = self.ref_type(&name)?;
                let md = &self.unit().md;
                let arg = if reftype == symtable::CELL { md.cellvars.get(&name) } else { md.freevars.get(&name) };
                let Some(arg) = arg else {
                    return Err(Refusal::internal(format!("no closure cell for `{name}`")));
                };
                self.addop_i(LOAD_CLOSURE, arg, loc);
            }
            flags |= 0x08;
            self.addop_i(BUILD_TUPLE, nfreevars, loc);
        }
        self.load_const(Constant::Code(Box::new(code)), loc);
        if self.target.has(Feature::MakeFunctionFlags) {
            self.addop_i(MAKE_FUNCTION, flags, loc);
        } else {
            self.addop(MAKE_FUNCTION, loc);
            // 0x10 is 3.14's `__annotate__`.
            for flag in [0x08, 0x04, 0x10, 0x02, 0x01] {
                if flags & flag != 0 {
                    self.addop_i(SET_FUNCTION_ATTRIBUTE, flag, loc);
                }
            }
        }
        Ok(())
    }

    pub fn compute_code_flags(&self) -> u32 {
        let ste = self.ste();
        let mut flags = 0;
        if ste.is_function_like() {
            flags |= CO_NEWLOCALS | CO_OPTIMIZED;
            if ste.nested {
                flags |= CO_NESTED;
            }
            if ste.generator && !ste.coroutine {
                flags |= CO_GENERATOR;
            }
            if !ste.generator && ste.coroutine {
                flags |= CO_COROUTINE;
            }
            if ste.generator && ste.coroutine {
                flags |= CO_ASYNC_GENERATOR;
            }
            if ste.varargs {
                flags |= CO_VARARGS;
            }
            if ste.varkeywords {
                flags |= CO_VARKEYWORDS;
            }
            // Only a function's scope is a method: not an annotation or
            // type-parameter scope in a class, nor a lambda in a
            // comprehension inlined into the class body (its parent scope
            // is the comprehension's: `g = [(lambda: 2) for _ in x]`).
            let n = self.units.len();
            if self.target.has(Feature::MethodDocstringFlags)
                && n >= 2
                && self.units[n - 2].scope_type == ScopeType::Class
                && self.units[n - 2].in_inlined_comp == 0
                && self.unit().scope_type != ScopeType::TypeParams
            {
                flags |= CO_METHOD;
            }
        }
        flags | self.flags.co_flags
    }

    /// Finishes the current unit: the implicit return, then the flow graph
    /// and the assembler. Returns the code object and its number of free
    /// variables.
    pub fn optimize_and_assemble(&mut self, add_none: bool) -> Result<(CodeObject, usize)> {
        let code_flags = self.compute_code_flags();
        let ste = self.ste();
        let generator_prefix = self.target.has(Feature::GeneratorPrefixAnyScope)
            && !ste.is_function_like()
            && (ste.generator || ste.coroutine);
        self.u().md.generator_prefix = generator_prefix;
        if add_none {
            self.load_const(Constant::None, NO_LOCATION);
        }
        self.addop(RETURN_VALUE, NO_LOCATION);
        let nparams = self.ste().varnames.len();
        let filename = self.filename.clone();
        let (backend, target) = (self.backend, self.target);
        let u = self.u();
        let nfree = u.md.freevars.len();
        let unit = UnitIr { md: &mut u.md, seq: &u.seq, code_flags, nparams, filename };
        let mut code = backend(target, unit)?;
        code.identifier_strs = std::mem::take(&mut self.u().md.identifier_strs);
        if self.percent_const.is_none() && code.consts.iter().any(Constant::holds_percent) {
            // Made by the flow graph's folding (3.14), which caches it as
            // the unit is finished: the singleton (`'a%'[1]`).
            self.percent_const = Some(false);
        }
        if add_none && code.consts.is_empty() && target.has(Feature::NoDocstringSlot) {
            // Nothing used a constant and none was first: CPython's code
            // object still holds the None of its implicit return. A unit
            // without one (a generator lambda) may have no constant at all.
            code.consts.push(Constant::None);
        }
        Ok((code, nfree))
    }

    // Bodies.

    pub fn visit_stmts(&mut self, stmts: &'a [Stmt]) -> Result<()> {
        stmts.iter().try_for_each(|s| self.visit_stmt(s))
    }

    /// A module or class body: `SETUP_ANNOTATIONS` when anything is
    /// annotated, the docstring into `__doc__`, then the statements.
    pub fn body(&mut self, mut loc: Loc, stmts: &'a [Stmt]) -> Result<()> {
        let lazy = self.target.has(Feature::LazyAnnotations);
        if self.unit().scope_type == ScopeType::Module {
            if let Some(first) = stmts.first() {
                loc = Loc::of(first.range);
            }
            // 3.14 drops the docstring from the tree under -OO (a lone one
            // becomes a `pass`): the module starts at what follows.
            if self.optimize >= 2
                && self.target.has(Feature::LoneDocstringNop)
                && let Some(doc) = ast::docstring(stmts)
            {
                loc = stmts.get(1).map_or_else(|| lone_docstring_loc(Loc::of(doc.range)), |s| Loc::of(s.range));
            }
            if lazy && self.ste().has_conditional_annotations {
                self.addop_i(BUILD_SET, 0, loc);
                self.addop_names(STORE_NAME, &PyStr::new("__conditional_annotations__"), loc);
            }
        }
        let setup = if lazy { self.flags.annotations && self.ste().annotations_used } else { find_ann(stmts) };
        if setup {
            self.addop(SETUP_ANNOTATIONS, loc);
        }
        if stmts.is_empty() {
            return Ok(());
        }
        let mut rest = stmts;
        if let Some(doc) = ast::docstring(stmts) {
            if self.optimize < 2 {
                let value = self.docstring_value(doc)?;
                self.load_const(value, Loc::of(doc.range));
                self.nameop(&PyStr::new("__doc__"), ast::Ctx::Store, NO_LOCATION)?;
                rest = &stmts[1..];
            } else if self.target.has(Feature::NoDocstringNop) {
                rest = &stmts[1..];
                if rest.is_empty() && self.target.has(Feature::LoneDocstringNop) {
                    self.addop(NOP, lone_docstring_loc(Loc::of(doc.range)));
                }
                self.add_stripped_docstring_successor(rest);
            }
        }
        self.visit_stmts(rest)?;
        if lazy && !self.flags.annotations {
            self.deferred_annotations(loc)?;
        }
        Ok(())
    }

    /// Under `-OO`, 3.14 strips the docstring before code generation looks
    /// for one, so a string statement right after it is taken for the
    /// docstring: its text, uncleaned, enters the constants (and the
    /// statement still compiles to a `NOP`), with no `__doc__` and no flag
    /// ([`Feature::StrippedDocstringSuccessor`]).
    pub fn add_stripped_docstring_successor(&mut self, rest: &'a [Stmt]) {
        if self.target.has(Feature::StrippedDocstringSuccessor)
            && let Some(Constant::Str(text)) = ast::docstring(rest).and_then(|e| e.constant())
        {
            self.add_const(Constant::Str(text.clone()));
        }
    }

    /// A docstring's constant: cleaned of its indentation from 3.13.
    pub fn docstring_value(&self, doc: &ast::Expr) -> Result<Constant> {
        let Some(Constant::Str(text)) = doc.constant() else { return Err(Refusal::internal("docstring not a string")) };
        if !self.target.has(Feature::CleanDocstrings) {
            return Ok(Constant::Str(text.clone()));
        }
        Ok(Constant::Str(clean_doc(text)?))
    }

    /// Compiles a module into its code object.
    pub fn module(&mut self, module: &'a ast::Module) -> Result<CodeObject> {
        self.enter_scope(PyStr::new("<module>"), ScopeType::Module, module.id, 1)?;
        self.body(Loc::new(1, 1, 0, 0), &module.body)?;
        let (mut code, _) = self.optimize_and_assemble(true)?;
        code.fresh_percent = self.percent_const == Some(true);
        self.exit_scope();
        Ok(code)
    }
}

/// A docstring as 3.13's compiler stores it: tabs expanded (8 columns),
/// the first line's leading spaces removed, and from the others the
/// smallest indentation of those holding more than spaces.
///
/// Worked on the encoded bytes: spaces, tabs and line ends are one byte
/// each, and a column is a code point, so every byte but a UTF-8
/// continuation byte starts one.
fn clean_doc(doc: &PyStr) -> Result<PyStr> {
    let bytes = doc.as_bytes();
    // A lone surrogate (0xED 0xA0..=0xBF in this encoding).
    // (memchr: docstrings are long, and most hold no 0xED or tab at all.)
    if memchr::memchr_iter(0xED, bytes).any(|i| bytes.get(i + 1).is_some_and(|&b| b >= 0xA0)) {
        // 3.13 encodes the docstring as UTF-8 to clean it, and fails.
        return Err(Refusal::unsupported("a lone surrogate in a docstring (a UnicodeEncodeError in CPython 3.13)"));
    }
    let expanded: std::borrow::Cow<'_, [u8]> = if memchr::memchr(b'\t', bytes).is_some() {
        let mut expanded = Vec::with_capacity(bytes.len() + 16);
        let mut column = 0;
        for &b in bytes {
            match b {
                b'\t' => {
                    let n = 8 - column % 8;
                    expanded.extend(std::iter::repeat_n(b' ', n));
                    column += n;
                }
                b'\n' | b'\r' => {
                    expanded.push(b);
                    column = 0;
                }
                _ => {
                    expanded.push(b);
                    column += usize::from(b & 0xC0 != 0x80);
                }
            }
        }
        expanded.into()
    } else {
        bytes.into()
    };
    let margin = expanded
        .split(|&b| b == b'\n')
        .skip(1)
        .filter_map(|line| line.iter().position(|&b| b != b' '))
        .min()
        .unwrap_or(0);
    let mut out = Vec::with_capacity(expanded.len());
    for (i, line) in expanded.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        let spaces = line.iter().take_while(|&&b| b == b' ').count();
        let cut = if i == 0 { spaces } else { spaces.min(margin) };
        out.extend_from_slice(&line[cut..]);
    }
    if out == bytes {
        return Ok(doc.clone());
    }
    Ok(PyStr::from_encoded(out))
}

pub fn concat(a: &PyStr, b: &str) -> PyStr {
    let mut bytes = a.as_bytes().to_vec();
    bytes.extend_from_slice(b.as_bytes());
    PyStr::from_encoded(bytes)
}

/// Whether a body annotates a variable anywhere at its own level.
pub fn find_ann(stmts: &[Stmt]) -> bool {
    use ast::StmtKind as S;
    stmts.iter().any(|s| match &s.kind {
        S::AnnAssign { .. } => true,
        S::For { body, orelse, .. }
        | S::AsyncFor { body, orelse, .. }
        | S::While { body, orelse, .. }
        | S::If { body, orelse, .. } => find_ann(body) || find_ann(orelse),
        S::With { body, .. } | S::AsyncWith { body, .. } => find_ann(body),
        S::Try { body, handlers, orelse, finalbody } | S::TryStar { body, handlers, orelse, finalbody } => {
            handlers.iter().any(|h| find_ann(&h.body)) || find_ann(body) || find_ann(finalbody) || find_ann(orelse)
        }
        S::Match { cases, .. } => cases.iter().any(|c| find_ann(&c.body)),
        _ => false,
    })
}

/// 3.14 under `-OO`: a body that is only a docstring becomes a `pass`
/// where the docstring starts (`Feature::LoneDocstringNop`), four columns
/// wide.
pub fn lone_docstring_loc(doc: Loc) -> Loc {
    Loc { lineno: doc.lineno, end_lineno: doc.lineno, col_offset: doc.col_offset, end_col_offset: doc.col_offset + 4 }
}
