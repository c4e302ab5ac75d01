//! The flow graph and assembly run on a code unit given from outside, for
//! the differential tests that feed them CPython's own code generation
//! output (`_testinternalcapi.compiler_codegen`): a stage checked on its
//! own, whatever the state of the stages before it. Not for other uses.

use crate::code::{CodeObject, Constant, PyStr};
use crate::error::Refusal;
use crate::instr::{Instr, Loc};
use crate::ir::{InstrSeq, Metadata, UnitIr};
use crate::ops::Op;
use crate::target::Target;

/// One code unit as CPython's code generation left it.
#[derive(Debug, Default)]
pub struct UnitInput {
    /// Opcode name, argument (a jump's is the index of its target
    /// instruction) and location (lineno, end_lineno, col, end_col).
    pub instrs: Vec<(String, i32, [i32; 4])>,
    pub consts: Vec<Constant>,
    pub names: Vec<PyStr>,
    pub varnames: Vec<PyStr>,
    pub cellvars: Vec<PyStr>,
    pub freevars: Vec<PyStr>,
    pub argcount: u32,
    pub posonlyargcount: u32,
    pub kwonlyargcount: u32,
    pub firstlineno: i32,
    pub name: PyStr,
    pub qualname: PyStr,
    pub code_flags: u32,
    /// The symbol table's parameters (`*args` and `**kwargs` included).
    pub nparams: usize,
    pub filename: PyStr,
}

/// Runs the flow graph and assembly of `target` on `unit`.
pub fn assemble_unit(target: Target, unit: &UnitInput) -> Result<CodeObject, Refusal> {
    let mut seq = InstrSeq::default();
    for (i, (name, arg, loc)) in unit.instrs.iter().enumerate() {
        let op = Op::from_name(name).ok_or_else(|| Refusal::internal(format!("unknown opcode {name}")))?;
        seq.instrs.push(Instr { op, arg: *arg, loc: Loc::new(loc[0], loc[1], loc[2], loc[3]) });
        // Label i is instruction i, as CPython's applied label map has it.
        seq.labelmap.push(i as i32);
    }
    let mut md = Metadata {
        name: unit.name.clone(),
        qualname: Some(unit.qualname.clone()),
        consts: unit.consts.clone(),
        argcount: unit.argcount,
        posonlyargcount: unit.posonlyargcount,
        kwonlyargcount: unit.kwonlyargcount,
        firstlineno: unit.firstlineno,
        ..Metadata::default()
    };
    for (names, list) in [
        (&mut md.names, &unit.names),
        (&mut md.varnames, &unit.varnames),
        (&mut md.cellvars, &unit.cellvars),
        (&mut md.freevars, &unit.freevars),
    ] {
        for name in list {
            names.add(name);
        }
    }
    crate::driver::finish_unit(
        target,
        UnitIr {
            md: &mut md,
            seq: &seq,
            code_flags: unit.code_flags,
            nparams: unit.nparams,
            filename: unit.filename.clone(),
        },
    )
}
