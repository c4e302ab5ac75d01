//! The types the stages hand each other, in a module of their own so that
//! each stage depends only on those beneath it: code generation fills an
//! [`InstrSeq`] and a [`Metadata`] per code unit; the flow graph turns them
//! into an [`Assembly`]; assembly makes the [`CodeObject`]. The driver
//! (`driver.rs`) runs them in that order.

use crate::FxIndexMap as IndexMap;
use crate::code::{Constant, PyStr};
use crate::instr::{Instr, Loc, Op};

/// A label: an index into the unit's label map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label(pub i32);

pub const NO_LABEL: Label = Label(-1);

impl Label {
    pub fn is_label(self) -> bool {
        self.0 >= 0
    }
}

/// The instructions of one unit and where its labels point.
#[derive(Debug, Default)]
pub struct InstrSeq {
    pub instrs: Vec<Instr>,
    /// Label id to the index of the instruction it precedes (-1 unset).
    pub labelmap: Vec<i32>,
    next_label: i32,
}

impl InstrSeq {
    pub fn new_label(&mut self) -> Label {
        self.next_label += 1;
        Label(self.next_label)
    }

    pub fn use_label(&mut self, label: Label) {
        let idx = label.0 as usize;
        if self.labelmap.len() <= idx {
            self.labelmap.resize(idx + 1, -111);
        }
        self.labelmap[idx] = self.instrs.len() as i32;
    }

    pub fn addop(&mut self, op: Op, arg: i32, loc: Loc) {
        self.instrs.push(Instr { op, arg, loc });
    }

    pub fn insert(&mut self, pos: usize, op: Op, arg: i32, loc: Loc) {
        self.instrs.insert(pos, Instr { op, arg, loc });
        for target in &mut self.labelmap {
            if *target >= pos as i32 {
                *target += 1;
            }
        }
    }
}

/// An insertion-ordered name-to-index map, as the unit's dicts are.
#[derive(Debug, Default, Clone)]
pub struct Names(pub IndexMap<PyStr, usize>);

impl Names {
    pub fn add(&mut self, name: &PyStr) -> usize {
        if let Some(&i) = self.0.get(name) {
            return i;
        }
        let i = self.0.len();
        self.0.insert(name.clone(), i);
        i
    }

    pub fn get(&self, name: &PyStr) -> Option<usize> {
        self.0.get(name).copied()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The names in index order.
    pub fn ordered(&self) -> Vec<PyStr> {
        let mut out = vec![PyStr::default(); self.0.len()];
        for (k, &v) in &self.0 {
            if v < out.len() {
                out[v] = k.clone();
            }
        }
        out
    }
}

/// What a unit knows about the code object it becomes.
#[derive(Debug, Default)]
pub struct Metadata {
    pub name: PyStr,
    pub qualname: Option<PyStr>,
    pub consts: Vec<Constant>,
    /// Indices into `consts` by a hash of their key ([`Constant::key_hash`]).
    pub const_index: rustc_hash::FxHashMap<u64, smallvec::SmallVec<[usize; 1]>>,
    /// Indices of NaN-holding constants by the expression that loads them.
    pub nan_index: rustc_hash::FxHashMap<(i32, i32, i32, i32), Vec<usize>>,
    pub names: Names,
    pub varnames: Names,
    pub cellvars: Names,
    pub freevars: Names,
    /// Names made fast locals by an inlined comprehension (True while it
    /// is compiled, False after).
    pub fasthidden: IndexMap<PyStr, bool>,
    pub argcount: u32,
    pub posonlyargcount: u32,
    pub kwonlyargcount: u32,
    pub firstlineno: i32,
    /// The unit starts `RETURN_GENERATOR; POP_TOP` though its flags do not
    /// make it a generator: a module or class body whose only `yield` is
    /// in an `assert` that `-O` removed (3.15, `GeneratorPrefixAnyScope`).
    pub generator_prefix: bool,
    /// See [`crate::code::CodeObject::identifier_strs`].
    pub identifier_strs: Vec<PyStr>,
}

/// One instruction of the final sequence, with its exception handler.
#[derive(Debug, Clone, Copy)]
pub struct FinalInstr {
    pub op: Op,
    pub arg: i32,
    pub loc: Loc,
    /// Handler offset, start depth and whether it keeps `lasti`; offset -1
    /// when no handler covers the instruction.
    pub handler: (i32, i32, bool),
}

/// What the flow graph hands to assembly for one unit.
#[derive(Debug)]
pub struct Assembly {
    /// The unit's constants, unused ones removed.
    pub consts: Vec<Constant>,
    pub maxdepth: i32,
    /// The instructions in order, jumps resolved, pseudo-ops replaced.
    pub instrs: Vec<FinalInstr>,
    /// Locals, cells and free variables, once cells of arguments share
    /// their argument's slot.
    pub nlocalsplus: usize,
}

/// A finished unit as code generation hands it on.
pub struct UnitIr<'u> {
    pub md: &'u mut Metadata,
    pub seq: &'u InstrSeq,
    pub code_flags: u32,
    /// The unit's parameters (the symbol table's `varnames`).
    pub nparams: usize,
    pub filename: PyStr,
}
