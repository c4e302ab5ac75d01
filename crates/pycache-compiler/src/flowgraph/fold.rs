//! 3.14's constant folding in the flow graph (`Feature::CfgFolding`,
//! docs/targets/3.14.md F1, G3), learnt from CPython 3.14's `flowgraph.c`:
//! per block, an operation whose operands are all constant loads (`NOP`s
//! between them skipped) becomes a load of its result, and the operand
//! loads become `NOP`s without a location. A result joins the unit's
//! constants where an equal one already is, else at the end; an int from 0
//! to 255 is loaded with `LOAD_SMALL_INT`. The values themselves are
//! computed by the AST folder's operations, with the same limits.

use super::optimize::Consts;
use super::{BlockId, Cfg, CfgInstr};
use crate::ast::{Operator, UnaryOp};
use crate::code::Constant;
use crate::codegen::STACK_USE_GUIDELINE;
use crate::error::Result;
use crate::fold::ops;
use crate::instr::*;
use crate::target::Feature;

/// Lists and sets of constants shorter than this are built as they are
/// (unless iterated or tested with `in`).
const MIN_CONST_SEQUENCE_SIZE: usize = 3;

/// Whether `instr` loads a constant: `LOAD_CONST`, `LOAD_SMALL_INT`, or
/// 3.15's `LOAD_COMMON_CONSTANT` of a value (not of a builtin).
pub(super) fn loads_const(instr: &CfgInstr) -> bool {
    match instr.op {
        LOAD_CONST | LOAD_SMALL_INT => true,
        LOAD_COMMON_CONSTANT => common_constant_value(instr.arg).is_some(),
        _ => false,
    }
}

/// The value `instr` loads; `instr` is one that [`loads_const`].
pub(super) fn const_value(instr: &CfgInstr, consts: &Consts) -> Constant {
    match instr.op {
        LOAD_SMALL_INT => Constant::Int(instr.arg.into()),
        LOAD_COMMON_CONSTANT => common_constant_value(instr.arg).unwrap_or(Constant::None),
        _ => consts[instr.arg as usize].clone(),
    }
}

/// The value `instr` loads, borrowed from the constants when it is there:
/// the pass over every load only tests it, so it need not be cloned.
pub(super) fn const_ref<'c>(instr: &CfgInstr, consts: &'c Consts) -> std::borrow::Cow<'c, Constant> {
    match instr.op {
        LOAD_SMALL_INT | LOAD_COMMON_CONSTANT => std::borrow::Cow::Owned(const_value(instr, consts)),
        _ => std::borrow::Cow::Borrowed(&consts[instr.arg as usize]),
    }
}

/// 3.15's `LOAD_COMMON_CONSTANT` argument for a value it loads
/// (`Feature::CommonConstantLoads`, 3.15.md C1, T5).
pub(super) fn common_constant_arg(value: &Constant) -> Option<i32> {
    match value {
        Constant::None => Some(COMMON_NONE),
        Constant::Str(s) if s.as_bytes().is_empty() => Some(COMMON_EMPTY_STR),
        Constant::Bool(true) => Some(COMMON_TRUE),
        Constant::Bool(false) => Some(COMMON_FALSE),
        Constant::Int(v) if *v == (-1).into() => Some(COMMON_MINUS_ONE),
        _ => None,
    }
}

/// The value of a `LOAD_COMMON_CONSTANT` argument that loads one.
pub(super) fn common_constant_value(arg: i32) -> Option<Constant> {
    Some(match arg {
        COMMON_NONE => Constant::None,
        COMMON_EMPTY_STR => Constant::Str(crate::code::PyStr::new("")),
        COMMON_TRUE => Constant::Bool(true),
        COMMON_FALSE => Constant::Bool(false),
        COMMON_MINUS_ONE => Constant::Int((-1).into()),
        _ => return None,
    })
}

/// The `size` constant loads ending at `end` (inclusive), `NOP`s skipped,
/// in order; `None` when something else comes first.
fn const_loads(g: &Cfg, b: BlockId, end: Option<usize>, size: usize) -> Option<Vec<usize>> {
    let mut found = Vec::with_capacity(size);
    let mut at = end;
    while found.len() < size {
        let i = at?;
        let op = g.blocks[b].instrs[i].op;
        if op != NOP {
            if !loads_const(&g.blocks[b].instrs[i]) {
                return None;
            }
            found.push(i);
        }
        at = i.checked_sub(1);
    }
    found.reverse();
    Some(found)
}

fn nop_out(g: &mut Cfg, b: BlockId, at: &[usize]) {
    for &i in at {
        let instr = &mut g.blocks[b].instrs[i];
        instr.set_op0(NOP);
        instr.loc = NO_LOCATION;
    }
}

/// `instr_make_load_const`: the instruction at `i` becomes the load of
/// `value`.
fn make_load_const(g: &mut Cfg, b: BlockId, i: usize, value: Constant, consts: &mut Consts) -> Result<()> {
    if let Constant::Int(v) = &value
        && let Ok(small) = u8::try_from(v)
    {
        g.blocks[b].instrs[i].set_op1(LOAD_SMALL_INT, i32::from(small));
        return Ok(());
    }
    if g.target.has(Feature::CommonConstantLoads)
        && let Some(arg) = common_constant_arg(&value)
    {
        g.blocks[b].instrs[i].set_op1(LOAD_COMMON_CONSTANT, arg);
        return Ok(());
    }
    let index = consts.add(value)?;
    g.blocks[b].instrs[i].set_op1(LOAD_CONST, index as i32);
    Ok(())
}

/// `BUILD_TUPLE n` of `n` constants.
pub fn tuple(g: &mut Cfg, b: BlockId, i: usize, consts: &mut Consts) -> Result<()> {
    let n = g.blocks[b].instrs[i].arg as usize;
    if n > STACK_USE_GUIDELINE {
        return Ok(());
    }
    let Some(loads) = const_loads(g, b, i.checked_sub(1), n) else { return Ok(()) };
    let items = loads.iter().map(|&k| const_value(&g.blocks[b].instrs[k], consts)).collect();
    nop_out(g, b, &loads);
    make_load_const(g, b, i, Constant::Tuple(items), consts)
}

/// `BUILD_LIST 0; (<const>; LIST_APPEND 1)*; CALL_INTRINSIC_1
/// LIST_TO_TUPLE`, the long form of a big tuple of constants. Whether it
/// folded.
pub fn list_to_tuple(g: &mut Cfg, b: BlockId, i: usize, consts: &mut Consts) -> Result<bool> {
    let mut expect_append = true;
    let mut found = 0usize;
    let mut pos = i;
    while pos > 0 {
        pos -= 1;
        let instr = g.blocks[b].instrs[pos];
        if instr.op == NOP {
            continue;
        }
        if instr.op == BUILD_LIST && instr.arg == 0 {
            if !expect_append {
                return Ok(false);
            }
            let (items, out) = constant_run(g, b, pos..i, consts, found);
            nop_out(g, b, &out);
            make_load_const(g, b, i, Constant::Tuple(items), consts)?;
            return Ok(true);
        }
        if expect_append {
            if instr.op != LIST_APPEND || instr.arg != 1 {
                return Ok(false);
            }
        } else {
            if !loads_const(&instr) {
                return Ok(false);
            }
            found += 1;
        }
        expect_append = !expect_append;
    }
    Ok(false)
}

/// The long form of a list or set display of more than 30 constants
/// (`BUILD_LIST 0; (<const>; LIST_APPEND 1)*`, or `BUILD_SET 0` and
/// `SET_ADD 1`) right before the `GET_ITER` or `CONTAINS_OP` at `i`: one
/// constant tuple or frozenset ([`Feature::LongConstDisplayIter`]). Every
/// instruction of the display becomes a line-less `NOP` but one, the
/// load, which is line-less too and so takes its line from the
/// instruction before it when line numbers are resolved again.
pub fn long_list_or_set_iter(g: &mut Cfg, b: BlockId, i: usize, consts: &mut Consts) -> Result<()> {
    let mut expect_add = true;
    let mut add_op = None;
    let mut pos = i;
    while pos > 0 {
        pos -= 1;
        let instr = g.blocks[b].instrs[pos];
        if instr.op == NOP {
            continue;
        }
        if expect_add {
            if matches!(instr.op, BUILD_LIST | BUILD_SET) && instr.arg == 0 {
                let Some(add) = add_op else { return Ok(()) };
                if (instr.op == BUILD_LIST) != (add == LIST_APPEND) {
                    return Ok(());
                }
                let (items, out) = constant_run(g, b, pos..i, consts, 0);
                let value = if instr.op == BUILD_SET { Constant::frozenset(items) } else { Constant::Tuple(items) };
                let index = consts.add(value)?;
                nop_out(g, b, &out);
                let last = *out.last().expect("the display's instructions");
                g.blocks[b].instrs[last].set_op1(LOAD_CONST, index as i32);
                return Ok(());
            }
            if !matches!(instr.op, LIST_APPEND | SET_ADD) || instr.arg != 1 || add_op.is_some_and(|a| a != instr.op) {
                return Ok(());
            }
            add_op = Some(instr.op);
        } else if !loads_const(&instr) {
            return Ok(());
        }
        expect_add = !expect_add;
    }
    Ok(())
}

/// `BUILD_LIST`/`BUILD_SET` of constants: a constant tuple or frozenset
/// when iterated or tested with `in`, else extended from one; a list of
/// non-constants iterated over becomes a tuple.
pub fn lists_and_sets(g: &mut Cfg, b: BlockId, i: usize, nextop: Op, consts: &mut Consts) -> Result<()> {
    let instr = g.blocks[b].instrs[i];
    let contains_or_iter = matches!(nextop, GET_ITER | CONTAINS_OP);
    let n = instr.arg as usize;
    if n > STACK_USE_GUIDELINE || (n < MIN_CONST_SEQUENCE_SIZE && !contains_or_iter) {
        return Ok(());
    }
    let Some(loads) = const_loads(g, b, i.checked_sub(1), n) else {
        if contains_or_iter && instr.op == BUILD_LIST {
            g.blocks[b].instrs[i].set_op1(BUILD_TUPLE, instr.arg);
        }
        return Ok(());
    };
    let items: Vec<Constant> = loads.iter().map(|&k| const_value(&g.blocks[b].instrs[k], consts)).collect();
    let value = if instr.op == BUILD_SET { Constant::frozenset(items) } else { Constant::Tuple(items) };
    let index = consts.add(value)? as i32;
    nop_out(g, b, &loads);
    if contains_or_iter {
        g.blocks[b].instrs[i].set_op1(LOAD_CONST, index);
    } else {
        let instrs = &mut g.blocks[b].instrs;
        instrs[i - 2].loc = instr.loc;
        instrs[i - 2].set_op1(instr.op, 0);
        instrs[i - 1].set_op1(LOAD_CONST, index);
        instrs[i].set_op1(if instr.op == BUILD_LIST { LIST_EXTEND } else { SET_UPDATE }, 1);
    }
    Ok(())
}

/// `-c`, `~c`, `not c`, `+c` of a constant (`~` of a bool is left alone).
pub fn unary(g: &mut Cfg, b: BlockId, i: usize, consts: &mut Consts) -> Result<()> {
    let instr = g.blocks[b].instrs[i];
    let op = match instr.op {
        UNARY_NEGATIVE => UnaryOp::USub,
        UNARY_INVERT => UnaryOp::Invert,
        UNARY_NOT => UnaryOp::Not,
        _ => UnaryOp::UAdd,
    };
    let Some(loads) = const_loads(g, b, i.checked_sub(1), 1) else { return Ok(()) };
    let operand = const_value(&g.blocks[b].instrs[loads[0]], consts);
    if op == UnaryOp::Invert && matches!(operand, Constant::Bool(_)) {
        return Ok(());
    }
    let Some(value) = ops::unary(op, &operand)? else { return Ok(()) };
    nop_out(g, b, &loads);
    make_load_const(g, b, i, value, consts)
}

/// `BINARY_OP` (subscripts included) on two constants.
pub fn binary(g: &mut Cfg, b: BlockId, i: usize, consts: &mut Consts) -> Result<()> {
    let instr = g.blocks[b].instrs[i];
    let op = match instr.arg as u32 {
        NB_ADD => Some(Operator::Add),
        NB_SUBTRACT => Some(Operator::Sub),
        NB_MULTIPLY => Some(Operator::Mult),
        NB_TRUE_DIVIDE => Some(Operator::Div),
        NB_FLOOR_DIVIDE => Some(Operator::FloorDiv),
        NB_REMAINDER => Some(Operator::Mod),
        NB_POWER => Some(Operator::Pow),
        NB_LSHIFT => Some(Operator::LShift),
        NB_RSHIFT => Some(Operator::RShift),
        NB_OR => Some(Operator::BitOr),
        NB_XOR => Some(Operator::BitXor),
        NB_AND => Some(Operator::BitAnd),
        NB_SUBSCR => None,
        _ => return Ok(()),
    };
    let Some(loads) = const_loads(g, b, i.checked_sub(1), 2) else { return Ok(()) };
    let lhs = const_value(&g.blocks[b].instrs[loads[0]], consts);
    let rhs = const_value(&g.blocks[b].instrs[loads[1]], consts);
    if op == Some(Operator::Mod) && matches!(lhs, Constant::Str(_) | Constant::Bytes(_)) {
        return Ok(());
    }
    let value = match op {
        Some(op) => ops::binary(g.target.limits(), g.target.has(Feature::MixedModeComplex), op, &lhs, &rhs)?,
        None => ops::subscript(&lhs, &rhs)?,
    };
    let Some(value) = value else { return Ok(()) };
    nop_out(g, b, &loads);
    make_load_const(g, b, i, value, consts)
}

/// The constants a run of instructions `range` of block `b` loads, and the
/// run's instructions other than `NOP`s (to be blanked once folded).
fn constant_run(
    g: &Cfg,
    b: BlockId,
    range: std::ops::Range<usize>,
    consts: &Consts,
    capacity: usize,
) -> (Vec<Constant>, Vec<usize>) {
    let mut items = Vec::with_capacity(capacity);
    let mut out = Vec::new();
    for k in range {
        let op = g.blocks[b].instrs[k].op;
        if op == NOP {
            continue;
        }
        if loads_const(&g.blocks[b].instrs[k]) {
            items.push(const_value(&g.blocks[b].instrs[k], consts));
        }
        out.push(k);
    }
    (items, out)
}
