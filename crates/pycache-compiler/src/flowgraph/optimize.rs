//! CPython 3.12's optimisations on the flow graph, in its order: empty
//! blocks out, small exit blocks inlined, per-block peepholes (constant
//! conditions, tuple folding, jump threading, swap elimination), redundant
//! NOPs and pairs, unreachable code, redundant jumps; then unused
//! constants, `LOAD_FAST_CHECK` for possibly unbound locals, and cold
//! blocks (exception handlers) moved to the end.

use super::{BlockId, Cfg, CfgInstr, fold};
use crate::code::Constant;
use crate::error::{Refusal, Result};
use crate::instr::*;
use crate::target::Feature;

const MAX_COPY_SIZE: usize = 4;

pub fn eliminate_empty_basic_blocks(g: &mut Cfg) {
    let order = g.order();
    for &b in &order {
        let mut next = g.blocks[b].next;
        while let Some(n) = next {
            if !g.blocks[n].instrs.is_empty() {
                break;
            }
            next = g.blocks[n].next;
        }
        g.blocks[b].next = next;
    }
    while g.blocks[g.entry].instrs.is_empty() {
        match g.blocks[g.entry].next {
            Some(n) => g.entry = n,
            None => break,
        }
    }
    let mut next_lbl = g.max_label() + 1;
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        for i in 0..g.blocks[b].instrs.len() {
            let instr = g.blocks[b].instrs[i];
            if !has_target_in(g.target, instr.op) {
                continue;
            }
            let mut target = instr.target.unwrap();
            while g.blocks[target].instrs.is_empty() {
                target = g.blocks[target].next.unwrap();
            }
            if instr.target != Some(target) {
                if g.blocks[target].label < 0 {
                    g.blocks[target].label = next_lbl;
                    next_lbl += 1;
                }
                g.blocks[b].instrs[i].target = Some(target);
                g.blocks[b].instrs[i].arg = g.blocks[target].label;
            }
        }
    }
}

/// Drops NOPs that carry no line of their own.
pub fn remove_redundant_nops(g: &mut Cfg, b: BlockId) -> usize {
    // Most blocks hold no NOP, and then the pass changes nothing.
    if !g.blocks[b].instrs.iter().any(|instr| instr.op == NOP) {
        return 0;
    }
    let n = g.blocks[b].instrs.len();
    let mut dest = 0;
    let mut prev_lineno = -1;
    for src in 0..n {
        let instr = g.blocks[b].instrs[src];
        let lineno = instr.loc.lineno;
        if instr.op == NOP {
            if lineno < 0 {
                continue;
            }
            if prev_lineno == lineno {
                continue;
            }
            if src < n - 1 {
                let next_lineno = g.blocks[b].instrs[src + 1].loc.lineno;
                if next_lineno == lineno {
                    continue;
                }
                if next_lineno < 0 {
                    g.blocks[b].instrs[src + 1].loc = instr.loc;
                    continue;
                }
            } else {
                if let Some(nb) = next_nonempty(g, g.blocks[b].next) {
                    let mut next_loc = NO_LOCATION;
                    for ni in &g.blocks[nb].instrs {
                        if ni.op == NOP && ni.loc.lineno == NO_LOCATION.lineno {
                            continue;
                        }
                        next_loc = ni.loc;
                        break;
                    }
                    if lineno == next_loc.lineno {
                        continue;
                    }
                }
            }
        }
        g.blocks[b].instrs[dest] = g.blocks[b].instrs[src];
        dest += 1;
        prev_lineno = lineno;
    }
    g.blocks[b].shrink_to(dest);
    n - dest
}

fn remove_redundant_nops_and_pairs(g: &mut Cfg) {
    let mut done = false;
    while !done {
        done = true;
        let mut instr: Option<(BlockId, usize)> = None;
        let mut walk = g.walk();
        while let Some(b) = walk.step(g) {
            remove_redundant_nops(g, b);
            if g.blocks[b].label >= 0 {
                instr = None;
            }
            for i in 0..g.blocks[b].instrs.len() {
                let prev = instr;
                instr = Some((b, i));
                let (prev_op, prev_arg) = match prev {
                    Some((pb, pi)) => (g.blocks[pb].instrs[pi].op, g.blocks[pb].instrs[pi].arg),
                    None => (CACHE, 0),
                };
                let op = g.blocks[b].instrs[i].op;
                let prev_loads_const = prev.is_some_and(|(pb, pi)| fold::loads_const(&g.blocks[pb].instrs[pi]));
                let redundant = op == POP_TOP && (prev_loads_const || (prev_op == COPY && prev_arg == 1));
                if redundant {
                    if let Some((pb, pi)) = prev {
                        g.blocks[pb].instrs[pi].set_op0(NOP);
                    }
                    g.blocks[b].instrs[i].set_op0(NOP);
                    done = false;
                }
            }
            let last_is_jump = instr.is_some_and(|(ib, ii)| is_jump_in(g.target, g.blocks[ib].instrs[ii].op));
            if last_is_jump || !g.blocks[b].has_fallthrough() {
                instr = None;
            }
        }
    }
}

pub fn remove_redundant_jumps(g: &mut Cfg) -> Result<()> {
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        let Some(&last) = g.blocks[b].last() else {
            return Err(Refusal::internal("empty block in remove_redundant_jumps"));
        };
        if is_unconditional_jump(last.op) {
            if last.target == g.blocks[b].next {
                let li = g.blocks[b].instrs.len() - 1;
                g.blocks[b].instrs[li].set_op0(NOP);
            }
        }
    }
    Ok(())
}

fn inline_small_exit_blocks(g: &mut Cfg, b: BlockId) -> bool {
    let Some(&last) = g.blocks[b].last() else { return false };
    if !is_unconditional_jump(last.op) {
        return false;
    }
    let target = last.target.unwrap();
    if g.blocks[target].exits_scope() && g.blocks[target].instrs.len() <= MAX_COPY_SIZE {
        let li = g.blocks[b].instrs.len() - 1;
        g.blocks[b].instrs[li].set_op0(NOP);
        let copied = g.blocks[target].instrs.clone();
        g.blocks[b].instrs.extend(copied);
        return true;
    }
    false
}

fn jump_thread(inst: &mut CfgInstr, target: &CfgInstr, op: Op) -> bool {
    if (inst.loc.lineno == target.loc.lineno || target.loc.lineno == -1) && inst.target != target.target {
        inst.target = target.target;
        inst.op = op;
        return true;
    }
    false
}

/// A unit's constants while the passes run, with the tuples among them
/// indexed by value: folding looks for an equal tuple before adding one,
/// and a module of many functions has as many code constants, so a linear
/// search made the whole compile quadratic in the file's size.
pub struct Consts<'a> {
    pub list: &'a mut Vec<Constant>,
    /// Hash of a tuple's key → its indices in `list`, in order.
    tuples: rustc_hash::FxHashMap<u64, Vec<usize>>,
}

impl<'a> Consts<'a> {
    pub fn new(list: &'a mut Vec<Constant>) -> Self {
        let mut tuples: rustc_hash::FxHashMap<u64, Vec<usize>> = Default::default();
        for (i, c) in list.iter().enumerate() {
            if matches!(c, Constant::Tuple(_)) {
                tuples.entry(Self::hash(c)).or_default().push(i);
            }
        }
        Self { list, tuples }
    }

    fn hash(c: &Constant) -> u64 {
        use std::hash::Hasher;
        let mut h = rustc_hash::FxHasher::default();
        c.key_hash(&mut h);
        h.finish()
    }

    /// The first constant equal to `tuple` (as CPython's constant cache
    /// compares them), which only a tuple can be.
    fn find_tuple(&self, tuple: &Constant) -> Option<usize> {
        self.tuples.get(&Self::hash(tuple))?.iter().copied().find(|&i| self.list[i].key_eq(tuple))
    }

    /// The index of `True`/`False`, added at the end if absent (3.13's
    /// `add_const` finds the singleton by identity).
    fn add_bool(&mut self, value: bool) -> usize {
        if let Some(i) = self.list.iter().position(|c| matches!(c, Constant::Bool(b) if *b == value)) {
            return i;
        }
        self.list.push(Constant::Bool(value));
        self.list.len() - 1
    }

    /// 3.14's `add_const`: the index of a constant equal to `c` (as the
    /// constant cache compares them), appended if absent.
    pub(super) fn add(&mut self, c: Constant) -> Result<usize> {
        if c.has_nan() {
            return Err(Refusal::unsupported("a constant holding a NaN, made by folding"));
        }
        if matches!(c, Constant::Tuple(_)) {
            // Only a tuple equals a tuple, and every tuple of the list is
            // in the index: no scan of the whole list per folded tuple.
            if let Some(i) = self.find_tuple(&c) {
                return Ok(i);
            }
            return Ok(self.push_tuple(c));
        }
        if let Some(i) = self.list.iter().position(|x| x.key_eq(&c)) {
            return Ok(i);
        }
        self.list.push(c);
        Ok(self.list.len() - 1)
    }

    fn push_tuple(&mut self, tuple: Constant) -> usize {
        let i = self.list.len();
        self.tuples.entry(Self::hash(&tuple)).or_default().push(i);
        self.list.push(tuple);
        i
    }
}

impl std::ops::Index<usize> for Consts<'_> {
    type Output = Constant;
    fn index(&self, i: usize) -> &Constant {
        &self.list[i]
    }
}

fn fold_tuple_on_constants(g: &mut Cfg, b: BlockId, start: usize, n: usize, consts: &mut Consts) -> Result<()> {
    let instrs = &g.blocks[b].instrs;
    if !instrs[start..start + n].iter().all(|i| g.target.ops().has_const(i.op)) {
        return Ok(());
    }
    if !instrs[start..start + n].iter().all(|i| i.op == LOAD_CONST) {
        return Ok(());
    }
    let items: Vec<Constant> = instrs[start..start + n].iter().map(|i| consts[i.arg as usize].clone()).collect();
    let tuple = Constant::Tuple(items);
    let index = match consts.find_tuple(&tuple) {
        // CPython shares a tuple holding a NaN only with one that holds
        // the very same NaN objects, which values cannot tell.
        Some(_) if tuple.has_nan() => {
            return Err(Refusal::unsupported("a constant tuple holding a NaN, folded twice"));
        }
        Some(i) => i,
        None => consts.push_tuple(tuple),
    };
    for i in start..start + n {
        g.blocks[b].instrs[i].set_op0(NOP);
    }
    g.blocks[b].instrs[start + n].set_op1(LOAD_CONST, index as i32);
    Ok(())
}

/// Replaces a run of SWAPs and NOPs with the shortest equivalent.
fn swaptimize(g: &mut Cfg, b: BlockId, ix: &mut usize) {
    let instrs = &mut g.blocks[b].instrs;
    let base = *ix;
    let mut depth = instrs[base].arg as usize;
    let mut len = 0;
    let mut more = false;
    let limit = instrs.len() - base;
    loop {
        len += 1;
        if len >= limit {
            break;
        }
        let op = instrs[base + len].op;
        if op == SWAP {
            depth = depth.max(instrs[base + len].arg as usize);
            more = true;
        } else if op != NOP {
            break;
        }
    }
    if !more {
        return;
    }
    const VISITED: i64 = -1;
    let mut stack: Vec<i64> = (0..depth as i64).collect();
    for i in 0..len {
        if instrs[base + i].op == SWAP {
            let oparg = instrs[base + i].arg as usize;
            stack.swap(0, oparg - 1);
        }
    }
    let mut current = len as i64 - 1;
    for i in 0..depth {
        if stack[i] == VISITED || stack[i] == i as i64 {
            continue;
        }
        let mut j = i;
        loop {
            if j != 0 {
                let slot = &mut instrs[base + current as usize];
                slot.op = SWAP;
                slot.arg = j as i32 + 1;
                current -= 1;
            }
            if stack[j] == VISITED {
                break;
            }
            let next_j = stack[j] as usize;
            stack[j] = VISITED;
            j = next_j;
        }
    }
    while current >= 0 {
        instrs[base + current as usize].set_op0(NOP);
        current -= 1;
    }
    *ix += len - 1;
}

fn swappable(op: Op) -> bool {
    matches!(op, STORE_FAST | STORE_FAST_MAYBE_NULL | POP_TOP)
}

fn stores_to(instr: &CfgInstr) -> i32 {
    if matches!(instr.op, STORE_FAST | STORE_FAST_MAYBE_NULL) { instr.arg } else { -1 }
}

fn next_swappable_instruction(instrs: &[CfgInstr], mut i: usize, lineno: i32) -> Option<usize> {
    loop {
        i += 1;
        if i >= instrs.len() {
            return None;
        }
        let instr = &instrs[i];
        if lineno >= 0 && instr.loc.lineno != lineno {
            return None;
        }
        if instr.op == NOP {
            continue;
        }
        if swappable(instr.op) {
            return Some(i);
        }
        return None;
    }
}

fn apply_static_swaps(g: &mut Cfg, b: BlockId, i: usize) {
    let instrs = &mut g.blocks[b].instrs;
    let mut i = i as i64;
    while i >= 0 {
        let idx = i as usize;
        let swap = instrs[idx];
        if swap.op != SWAP {
            if swap.op == NOP || swappable(swap.op) {
                i -= 1;
                continue;
            }
            return;
        }
        let Some(j) = next_swappable_instruction(instrs, idx, -1) else { return };
        let mut k = j;
        let lineno = instrs[j].loc.lineno;
        let mut count = swap.arg - 1;
        while count > 0 {
            match next_swappable_instruction(instrs, k, lineno) {
                Some(next) => k = next,
                None => return,
            }
            count -= 1;
        }
        let store_j = stores_to(&instrs[j]);
        let store_k = stores_to(&instrs[k]);
        if store_j >= 0 || store_k >= 0 {
            if store_j == store_k {
                return;
            }
            for instr in &instrs[j + 1..k] {
                let s = stores_to(instr);
                if s >= 0 && (s == store_j || s == store_k) {
                    return;
                }
            }
        }
        instrs[idx].set_op0(NOP);
        instrs.swap(j, k);
        i -= 1;
    }
}

/// The ops `optimize_basic_block` may rewrite or look through, in any
/// version: jumps and block pushes (threading), the operands and operations
/// of folding, swaps, and the first op of each peephole pair. The others
/// (most loads, calls, attribute access) are passed over at once.
static PEEPHOLE_OPS: [bool; Op::COUNT] = peephole_ops();

const fn peephole_ops() -> [bool; Op::COUNT] {
    let mut table = [false; Op::COUNT];
    let mut i = 0;
    while i < Op::COUNT {
        table[i] = crate::instr::jumps(Op::ALL[i])
            || matches!(
                Op::ALL[i],
                END_ASYNC_FOR
                    | SETUP_FINALLY
                    | SETUP_CLEANUP
                    | SETUP_WITH
                    | GET_ITER
                    | CONTAINS_OP
                    | IS_OP
                    | LOAD_CONST
                    | COPY
                    | BUILD_TUPLE
                    | BUILD_LIST
                    | BUILD_SET
                    | UNARY_NOT
                    | UNARY_NEGATIVE
                    | UNARY_INVERT
                    | CALL_INTRINSIC_1
                    | BINARY_OP
                    | SWAP
                    | PUSH_NULL
                    | STORE_FAST
                    | LOAD_GLOBAL
                    | COMPARE_OP
                    | TO_BOOL
            );
        i += 1;
    }
    table
}

fn optimize_basic_block(g: &mut Cfg, b: BlockId, consts: &mut Consts) -> Result<()> {
    let nop = CfgInstr { op: NOP, arg: 0, loc: NO_LOCATION, target: None, except: None };
    let mut target = nop;
    let mut opcode = CACHE;
    let mut oparg = 0i32;
    let load_const_pass = g.target.has(Feature::LoadConstPass);
    let new_peepholes = g.target.has(Feature::ToBoolPeepholes);
    let thread_always = g.target.has(Feature::ThreadJumpsAlways);
    let mut i = 0usize;
    let mut saw_swap = false;
    while i < g.blocks[b].instrs.len() {
        let op = g.blocks[b].instrs[i].op;
        if !PEEPHOLE_OPS[op as usize] {
            // Nothing below applies; `oparg` and `target` are read only
            // for the ops in the table.
            opcode = op;
            i += 1;
            continue;
        }
        saw_swap |= op == SWAP;
        let inst = g.blocks[b].instrs[i];
        let is_copy_of_load_const = !load_const_pass && opcode == LOAD_CONST && inst.op == COPY && inst.arg == 1;
        if !is_copy_of_load_const {
            opcode = inst.op;
            oparg = inst.arg;
            if has_target_in(g.target, opcode) {
                let t = inst.target.unwrap();
                target = g.blocks[t].instrs.first().copied().unwrap_or(nop);
            } else {
                target = nop;
            }
        }
        let n = g.blocks[b].instrs.len();
        let nextop = if i + 1 < n { g.blocks[b].instrs[i + 1].op } else { CACHE };
        if matches!(opcode, JUMP_IF_FALSE | JUMP_IF_TRUE) {
            // 3.14's jumps that keep their value: threaded through a jump
            // or one of their kind; through the opposite kind to the
            // block after its target (which pops the value).
            let opposite = if opcode == JUMP_IF_FALSE { JUMP_IF_TRUE } else { JUMP_IF_FALSE };
            if target.op == JUMP || target.op == opcode {
                if inst.target != target.target {
                    g.blocks[b].instrs[i].set_op0(NOP);
                    let mut jump =
                        CfgInstr { op: opcode, arg: 0, loc: target.loc, target: target.target, except: None };
                    jump.except = g.created_except(inst.except);
                    jump.arg = target.target.map_or(-1, |t| g.blocks[t].label);
                    g.blocks[b].instrs.push(jump);
                }
                i += 1;
                continue;
            }
            if target.op == opposite {
                let t = inst.target.unwrap();
                if let Some(after) = g.blocks[t].next {
                    g.blocks[b].instrs[i].target = Some(after);
                    g.blocks[b].instrs[i].arg = g.blocks[after].label;
                    opcode = CACHE;
                    continue;
                }
            }
            i += 1;
            continue;
        }
        if thread_always && has_target(opcode) {
            // 3.13: a jump to an unconditional jump becomes a NOP and a new
            // jump, looked at next.
            let op = match (opcode, target.op) {
                (POP_JUMP_IF_NOT_NONE | POP_JUMP_IF_NONE | POP_JUMP_IF_FALSE | POP_JUMP_IF_TRUE, JUMP) => Some(opcode),
                (JUMP | JUMP_NO_INTERRUPT, JUMP) => Some(JUMP),
                (JUMP | JUMP_NO_INTERRUPT, JUMP_NO_INTERRUPT) => Some(opcode),
                _ => None,
            };
            if let Some(op) = op {
                if inst.target != target.target {
                    g.blocks[b].instrs[i].set_op0(NOP);
                    let mut jump = CfgInstr { op, arg: 0, loc: target.loc, target: target.target, except: None };
                    jump.except = g.created_except(inst.except);
                    jump.arg = target.target.map_or(-1, |t| g.blocks[t].label);
                    g.blocks[b].instrs.push(jump);
                }
                i += 1;
                continue;
            }
        }
        if matches!(opcode, GET_ITER | CONTAINS_OP) && g.target.has(Feature::LongConstDisplayIter) {
            fold::long_list_or_set_iter(g, b, i, consts)?;
        }
        match opcode {
            LOAD_CONST if !load_const_pass => match nextop {
                POP_JUMP_IF_FALSE | POP_JUMP_IF_TRUE => {
                    let value = consts[oparg as usize].is_true();
                    g.blocks[b].instrs[i].set_op0(NOP);
                    let jump_if_true = nextop == POP_JUMP_IF_TRUE;
                    if value == jump_if_true {
                        g.blocks[b].instrs[i + 1].op = JUMP;
                    } else {
                        g.blocks[b].instrs[i + 1].set_op0(NOP);
                    }
                }
                IS_OP => {
                    let jump_op = if i + 2 < n { g.blocks[b].instrs[i + 2].op } else { CACHE };
                    if matches!(consts[oparg as usize], Constant::None)
                        && matches!(jump_op, POP_JUMP_IF_FALSE | POP_JUMP_IF_TRUE)
                    {
                        let nextarg = g.blocks[b].instrs[i + 1].arg as u8;
                        g.blocks[b].instrs[i].set_op0(NOP);
                        g.blocks[b].instrs[i + 1].set_op0(NOP);
                        let flip = (nextarg ^ u8::from(jump_op == POP_JUMP_IF_FALSE)) != 0;
                        g.blocks[b].instrs[i + 2].op = if flip { POP_JUMP_IF_NOT_NONE } else { POP_JUMP_IF_NONE };
                    }
                }
                RETURN_VALUE if g.target.has(Feature::ReturnConst) => {
                    g.blocks[b].instrs[i].set_op0(NOP);
                    i += 1;
                    g.blocks[b].instrs[i].set_op1(RETURN_CONST, oparg);
                }
                _ => {}
            },
            BUILD_TUPLE if g.target.has(Feature::CfgFolding) => {
                if nextop == UNPACK_SEQUENCE && oparg == g.blocks[b].instrs[i + 1].arg && matches!(oparg, 1..=3) {
                    g.blocks[b].instrs[i].set_op0(NOP);
                    if oparg == 1 {
                        g.blocks[b].instrs[i + 1].set_op0(NOP);
                    } else {
                        g.blocks[b].instrs[i + 1].op = SWAP;
                    }
                    i += 1;
                    continue;
                }
                fold::tuple(g, b, i, consts)?;
            }
            BUILD_LIST | BUILD_SET if g.target.has(Feature::CfgFolding) => {
                fold::lists_and_sets(g, b, i, nextop, consts)?;
            }
            UNARY_NOT if g.target.has(Feature::CfgFolding) && !matches!(nextop, TO_BOOL | UNARY_NOT) => {
                fold::unary(g, b, i, consts)?;
            }
            UNARY_NEGATIVE | UNARY_INVERT if g.target.has(Feature::CfgFolding) => fold::unary(g, b, i, consts)?,
            CALL_INTRINSIC_1 if g.target.has(Feature::CfgFolding) => {
                if oparg as u32 == INTRINSIC_LIST_TO_TUPLE {
                    // A tuple of constants folds even when iterated (the
                    // load keeps the intrinsic's location); any other
                    // iterated tuple iterates the list.
                    if !fold::list_to_tuple(g, b, i, consts)? && nextop == GET_ITER {
                        g.blocks[b].instrs[i].set_op0(NOP);
                    }
                } else if oparg as u32 == INTRINSIC_UNARY_POSITIVE {
                    fold::unary(g, b, i, consts)?;
                }
            }
            BINARY_OP if g.target.has(Feature::CfgFolding) => fold::binary(g, b, i, consts)?,
            BUILD_TUPLE => {
                if nextop == UNPACK_SEQUENCE && oparg == g.blocks[b].instrs[i + 1].arg {
                    match oparg {
                        1 => {
                            g.blocks[b].instrs[i].set_op0(NOP);
                            g.blocks[b].instrs[i + 1].set_op0(NOP);
                            i += 1;
                            continue;
                        }
                        2 | 3 => {
                            g.blocks[b].instrs[i].set_op0(NOP);
                            g.blocks[b].instrs[i + 1].op = SWAP;
                            i += 1;
                            continue;
                        }
                        _ => {}
                    }
                }
                if i >= oparg as usize {
                    fold_tuple_on_constants(g, b, i - oparg as usize, oparg as usize, consts)?;
                }
            }
            POP_JUMP_IF_NOT_NONE | POP_JUMP_IF_NONE | POP_JUMP_IF_FALSE | POP_JUMP_IF_TRUE | JUMP if !thread_always => {
                if target.op == JUMP {
                    let op = g.blocks[b].instrs[i].op;
                    let mut inst = g.blocks[b].instrs[i];
                    if jump_thread(&mut inst, &target, op) {
                        g.blocks[b].instrs[i] = inst;
                        // Look at the same instruction again.
                        continue;
                    }
                }
            }
            SWAP => {
                if oparg == 1 {
                    g.blocks[b].instrs[i].set_op0(NOP);
                } else if !new_peepholes {
                    swaptimize(g, b, &mut i);
                    apply_static_swaps(g, b, i);
                }
            }
            PUSH_NULL if !new_peepholes => {
                if nextop == LOAD_GLOBAL && g.blocks[b].instrs[i + 1].arg & 1 == 0 {
                    g.blocks[b].instrs[i].set_op0(NOP);
                    g.blocks[b].instrs[i + 1].arg |= 1;
                }
            }
            _ if new_peepholes => to_bool_peepholes(g, b, i, opcode, oparg, nextop),
            _ => {}
        }
        i += 1;
    }
    // Every SWAP the second loop could find was an op the first loop
    // started an iteration on (the loop creates none that it skips).
    if new_peepholes && saw_swap {
        // 3.13 eliminates swaps in a second loop over the block.
        let mut i = 0;
        while i < g.blocks[b].instrs.len() {
            if g.blocks[b].instrs[i].op == SWAP {
                swaptimize(g, b, &mut i);
                apply_static_swaps(g, b, i);
            }
            i += 1;
        }
    }
    Ok(())
}

/// 3.13's peepholes on one instruction and the next (`ToBoolPeepholes`).
fn to_bool_peepholes(g: &mut Cfg, b: BlockId, i: usize, opcode: Op, oparg: i32, nextop: Op) {
    // 3.14 (with the AST's `not in` rewrite gone): `in`/`is` then `not`
    // is the inverted test.
    let invert_not = g.target.has(Feature::CfgFolding);
    let instrs = &mut g.blocks[b].instrs;
    match (opcode, nextop) {
        (CONTAINS_OP | IS_OP, UNARY_NOT) if invert_not => {
            instrs[i].set_op0(NOP);
            instrs[i + 1].set_op1(opcode, oparg ^ 1);
        }
        (STORE_FAST, STORE_FAST) if oparg == instrs[i + 1].arg && instrs[i].loc.lineno == instrs[i + 1].loc.lineno => {
            instrs[i].set_op0(POP_TOP);
        }
        (LOAD_GLOBAL, PUSH_NULL) if oparg & 1 == 0 => {
            instrs[i].set_op1(LOAD_GLOBAL, oparg | 1);
            instrs[i + 1].set_op0(NOP);
        }
        (COMPARE_OP, TO_BOOL) => {
            instrs[i].set_op0(NOP);
            instrs[i + 1].set_op1(COMPARE_OP, oparg | 16);
        }
        (CONTAINS_OP | IS_OP, TO_BOOL) => {
            instrs[i].set_op0(NOP);
            instrs[i + 1].set_op1(opcode, oparg);
        }
        (TO_BOOL, TO_BOOL) => instrs[i].set_op0(NOP),
        (UNARY_NOT, TO_BOOL) => {
            instrs[i].set_op0(NOP);
            instrs[i + 1].set_op0(UNARY_NOT);
        }
        (UNARY_NOT, UNARY_NOT) => {
            instrs[i].set_op0(NOP);
            instrs[i + 1].set_op0(NOP);
        }
        _ => {}
    }
}

/// 3.13's pass over every block for a `LOAD_CONST` (or its `COPY 1`)
/// followed by a conditional jump, `is None`, `RETURN_VALUE` or `TO_BOOL`.
fn optimize_load_const(g: &mut Cfg, consts: &mut Consts) {
    let small_ints = g.target.has(Feature::LoadSmallInt);
    let common = g.target.has(Feature::CommonConstantLoads);
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        let mut opcode = CACHE;
        let mut oparg = 0;
        let mut i = 0;
        while i < g.blocks[b].instrs.len() {
            let op = g.blocks[b].instrs[i].op;
            if !matches!(op, LOAD_CONST | LOAD_SMALL_INT | LOAD_COMMON_CONSTANT | COPY) {
                // Neither a constant's load nor its copy: nothing below
                // applies (and `oparg` is read only after a load).
                opcode = op;
                i += 1;
                continue;
            }
            if small_ints {
                make_load_small_int(&mut g.blocks[b].instrs[i], consts, common);
            }
            let inst = g.blocks[b].instrs[i];
            let is_copy_of_load_const = opcode == LOAD_CONST && inst.op == COPY && inst.arg == 1;
            if !is_copy_of_load_const {
                opcode = inst.op;
                oparg = inst.arg;
            }
            let loaded = CfgInstr { op: opcode, arg: oparg, ..inst };
            if !fold::loads_const(&loaded) {
                i += 1;
                continue;
            }
            let n = g.blocks[b].instrs.len();
            let nextop = if i + 1 < n { g.blocks[b].instrs[i + 1].op } else { CACHE };
            if !matches!(
                nextop,
                JUMP_IF_FALSE | JUMP_IF_TRUE | POP_JUMP_IF_FALSE | POP_JUMP_IF_TRUE | IS_OP | RETURN_VALUE | TO_BOOL
            ) {
                i += 1;
                continue;
            }
            // Only what the rewrites below test, read in place: most loads
            // are followed by none of them, and a clone of each constant
            // was a large part of the pass.
            let (truthy, is_none) = {
                let value = fold::const_ref(&loaded, consts);
                (value.is_true(), matches!(*value, Constant::None))
            };
            let instrs = &mut g.blocks[b].instrs;
            match nextop {
                JUMP_IF_FALSE | JUMP_IF_TRUE => {
                    // The value stays: the load does too.
                    if truthy == (nextop == JUMP_IF_TRUE) {
                        instrs[i + 1].op = JUMP;
                    } else {
                        instrs[i + 1].set_op0(NOP);
                    }
                }
                POP_JUMP_IF_FALSE | POP_JUMP_IF_TRUE => {
                    instrs[i].set_op0(NOP);
                    if truthy == (nextop == POP_JUMP_IF_TRUE) {
                        instrs[i + 1].op = JUMP;
                    } else {
                        instrs[i + 1].set_op0(NOP);
                    }
                }
                IS_OP if is_none && n > i + 2 => {
                    let mut jump = i + 2;
                    if instrs[jump].op == TO_BOOL {
                        instrs[jump].set_op0(NOP);
                        jump += 1;
                    }
                    if jump < n && matches!(instrs[jump].op, POP_JUMP_IF_FALSE | POP_JUMP_IF_TRUE) {
                        let invert = (instrs[i + 1].arg != 0) != (instrs[jump].op == POP_JUMP_IF_FALSE);
                        instrs[i].set_op0(NOP);
                        instrs[i + 1].set_op0(NOP);
                        instrs[jump].op = if invert { POP_JUMP_IF_NOT_NONE } else { POP_JUMP_IF_NONE };
                    }
                }
                RETURN_VALUE if g.target.has(Feature::ReturnConst) => {
                    instrs[i].set_op0(NOP);
                    i += 1;
                    instrs[i].set_op1(RETURN_CONST, oparg);
                }
                TO_BOOL => {
                    let index = consts.add_bool(truthy);
                    let instrs = &mut g.blocks[b].instrs;
                    instrs[i].set_op0(NOP);
                    instrs[i + 1].set_op1(LOAD_CONST, index as i32);
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// 3.14: a `LOAD_CONST` of an exact int from 0 to 255 becomes
/// `LOAD_SMALL_INT` of the value; the constant stays in the list until
/// unused constants are removed (C2).
///
/// 3.15: `None`, `''`, `True`, `False` and `-1` likewise become
/// `LOAD_COMMON_CONSTANT` (C1).
fn make_load_small_int(inst: &mut CfgInstr, consts: &Consts, common: bool) {
    if inst.op != LOAD_CONST {
        return;
    }
    let value = &consts[inst.arg as usize];
    if let Constant::Int(v) = value
        && let Ok(small) = u8::try_from(v)
    {
        inst.set_op1(LOAD_SMALL_INT, i32::from(small));
    } else if common && let Some(arg) = fold::common_constant_arg(value) {
        inst.set_op1(LOAD_COMMON_CONSTANT, arg);
    }
}

/// The next block from `b` on in the chain that holds an instruction.
pub(crate) fn next_nonempty(g: &Cfg, mut b: Option<BlockId>) -> Option<BlockId> {
    while let Some(id) = b {
        if !g.blocks[id].instrs.is_empty() {
            return Some(id);
        }
        b = g.blocks[id].next;
    }
    None
}

/// 3.13's `remove_redundant_jumps`: a jump to the next non-empty block
/// becomes a NOP; empty blocks are skipped. The number of changes.
fn remove_redundant_jumps_skipping_empty(g: &mut Cfg) -> usize {
    let mut changes = 0;
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        let Some(&last) = g.blocks[b].last() else { continue };
        if is_unconditional_jump(last.op) {
            let target = next_nonempty(g, last.target);
            if target.is_some() && target == next_nonempty(g, g.blocks[b].next) {
                let li = g.blocks[b].instrs.len() - 1;
                g.blocks[b].instrs[li].set_op0(NOP);
                changes += 1;
            }
        }
    }
    changes
}

/// Redundant NOPs and jumps out, until none is left (3.13).
pub fn remove_redundant_nops_and_jumps(g: &mut Cfg) {
    loop {
        let mut removed = 0;
        let mut walk = g.walk();
        while let Some(b) = walk.step(g) {
            removed += remove_redundant_nops(g, b);
        }
        removed += remove_redundant_jumps_skipping_empty(g);
        if removed == 0 {
            break;
        }
    }
}

/// Whether every instruction of the block lacks a line (an empty block
/// does).
pub(super) fn has_no_lineno(g: &Cfg, b: BlockId) -> bool {
    g.blocks[b].instrs.iter().all(|i| i.loc.lineno < 0)
}

/// 3.13: a jump to a small exit block, or to a line-less block that cannot
/// fall through, is replaced by the target's instructions.
fn inline_small_or_no_lineno_block(g: &mut Cfg, b: BlockId) -> bool {
    let Some(&last) = g.blocks[b].last() else { return false };
    if !is_unconditional_jump(last.op) {
        return false;
    }
    let target = last.target.unwrap();
    let small_exit = g.blocks[target].exits_scope() && g.blocks[target].instrs.len() <= MAX_COPY_SIZE;
    let no_lineno = has_no_lineno(g, target) && g.blocks[target].no_fallthrough();
    if !small_exit && !no_lineno {
        return false;
    }
    let li = g.blocks[b].instrs.len() - 1;
    g.blocks[b].instrs[li].set_op0(NOP);
    let copied = g.blocks[target].instrs.clone();
    g.blocks[b].instrs.extend(copied);
    if no_lineno {
        let li = g.blocks[b].instrs.len() - 1;
        let end = &mut g.blocks[b].instrs[li];
        // Keeps the eval-breaker check of the jump that was removed.
        if is_unconditional_jump(end.op) && last.op == JUMP {
            end.op = JUMP;
        }
    }
    true
}

/// 3.13's `remove_unreachable`: counts predecessors afresh and empties
/// the blocks nothing reaches.
fn remove_unreachable(g: &mut Cfg) {
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        g.blocks[b].predecessors = 0;
    }
    mark_reachable(g);
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        if g.blocks[b].predecessors == 0 {
            g.blocks[b].shrink_to(0);
            g.blocks[b].except_handler = false;
        }
    }
}

/// 3.13's superinstructions, then the NOPs they leave out.
pub fn insert_superinstructions(g: &mut Cfg) {
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        let instrs = &mut g.blocks[b].instrs;
        for i in 0..instrs.len().saturating_sub(1) {
            let fused = match (instrs[i].op, instrs[i + 1].op) {
                (LOAD_FAST, LOAD_FAST) => LOAD_FAST_LOAD_FAST,
                (STORE_FAST, LOAD_FAST) => STORE_FAST_LOAD_FAST,
                (STORE_FAST, STORE_FAST) => STORE_FAST_STORE_FAST,
                _ => continue,
            };
            let (line1, line2) = (instrs[i].loc.lineno, instrs[i + 1].loc.lineno);
            if line1 >= 0 && line2 >= 0 && line1 != line2 {
                continue;
            }
            if instrs[i].arg >= 16 || instrs[i + 1].arg >= 16 {
                continue;
            }
            let arg = (instrs[i].arg << 4) | instrs[i + 1].arg;
            instrs[i].set_op1(fused, arg);
            instrs[i + 1].set_op0(NOP);
        }
    }
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        remove_redundant_nops(g, b);
    }
}

fn mark_reachable(g: &mut Cfg) {
    g.reset_visited();
    // 3.12 marks a block visited when it leaves the stack, so a block two
    // predecessors push before it is taken is walked twice and counts its
    // successors twice; 3.13 marks it when pushed.
    let on_push = g.target.has(Feature::ReachableMarkedOnPush);
    let entry = g.entry;
    g.blocks[entry].predecessors = 1;
    g.blocks[entry].visited = on_push;
    let mut stack = vec![entry];
    while let Some(b) = stack.pop() {
        g.blocks[b].visited = true;
        if let Some(next) = g.blocks[b].next {
            if g.blocks[b].has_fallthrough() {
                if !g.blocks[next].visited {
                    stack.push(next);
                    g.blocks[next].visited = on_push;
                }
                g.blocks[next].predecessors += 1;
            }
        }
        // Lent out while the targets are marked: no copy and no bounds
        // checks per instruction.
        let instrs = std::mem::take(&mut g.blocks[b].instrs);
        for instr in &instrs {
            if has_target_in(g.target, instr.op) {
                let target = instr.target.unwrap();
                if !g.blocks[target].visited {
                    stack.push(target);
                    g.blocks[target].visited = on_push;
                }
                g.blocks[target].predecessors += 1;
            }
        }
        g.blocks[b].instrs = instrs;
    }
}

pub fn optimize_cfg(g: &mut Cfg, consts: &mut Vec<Constant>, firstlineno: i32) -> Result<()> {
    // check_cfg
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        let n = g.blocks[b].instrs.len();
        for (i, instr) in g.blocks[b].instrs.iter().enumerate() {
            if is_terminator_in(g.target, instr.op) && i != n - 1 {
                return Err(Refusal::internal("malformed control flow graph"));
            }
        }
    }
    if g.target.has(Feature::InlineNoLinenoBlocks) {
        // 3.13's order.
        loop {
            let mut changed = false;
            let mut walk = g.walk();
            while let Some(b) = walk.step(g) {
                changed |= inline_small_or_no_lineno_block(g, b);
            }
            if !changed {
                break;
            }
        }
        remove_unreachable(g);
        super::lines::resolve_line_numbers(g, firstlineno);
        let mut consts = Consts::new(consts);
        if g.target.has(Feature::LoadConstPass) {
            optimize_load_const(g, &mut consts);
        }
        let mut walk = g.walk();
        while let Some(b) = walk.step(g) {
            optimize_basic_block(g, b, &mut consts)?;
            crate::check_deadline()?;
        }
        remove_redundant_nops_and_pairs(g);
        remove_unreachable(g);
        remove_redundant_nops_and_jumps(g);
        return Ok(());
    }
    eliminate_empty_basic_blocks(g);
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        inline_small_exit_blocks(g, b);
    }
    let mut consts = Consts::new(consts);
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        optimize_basic_block(g, b, &mut consts)?;
    }
    remove_redundant_nops_and_pairs(g);
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        inline_small_exit_blocks(g, b);
    }
    mark_reachable(g);
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        if g.blocks[b].predecessors == 0 {
            g.blocks[b].shrink_to(0);
        }
    }
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        remove_redundant_nops(g, b);
    }
    eliminate_empty_basic_blocks(g);
    remove_redundant_jumps(g)
}

pub fn remove_unused_consts(g: &mut Cfg, consts: &mut Vec<Constant>) {
    let ops = g.target.ops();
    let n = consts.len();
    if n == 0 {
        return;
    }
    let mut index_map: Vec<i64> = vec![-1; n];
    index_map[0] = 0;
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        for instr in &g.blocks[b].instrs {
            if ops.has_const(instr.op) {
                index_map[instr.arg as usize] = i64::from(instr.arg);
            }
        }
    }
    let mut used = 0;
    for i in 0..n {
        if index_map[i] != -1 {
            index_map[used] = index_map[i];
            used += 1;
        }
    }
    if used == n {
        return;
    }
    for i in 0..used {
        let old = index_map[i] as usize;
        // `old` only grows with `i`, so a swap moves each kept constant
        // down without cloning it; what lands at `old` is unused.
        if i != old {
            consts.swap(i, old);
        }
    }
    consts.truncate(used);
    let mut reverse = vec![-1i64; n];
    for i in 0..used {
        reverse[index_map[i] as usize] = i as i64;
    }
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        for instr in &mut g.blocks[b].instrs {
            if ops.has_const(instr.op) {
                instr.arg = reverse[instr.arg as usize] as i32;
            }
        }
    }
}

fn maybe_push(g: &mut Cfg, b: BlockId, unsafe_mask: u64, stack: &mut Vec<BlockId>) {
    let both = g.blocks[b].unsafe_locals_mask | unsafe_mask;
    if g.blocks[b].unsafe_locals_mask != both {
        g.blocks[b].unsafe_locals_mask = both;
        if !g.blocks[b].visited {
            stack.push(b);
            g.blocks[b].visited = true;
        }
    }
}

fn scan_block_for_locals(g: &mut Cfg, b: BlockId, stack: &mut Vec<BlockId>) {
    let mut unsafe_mask = g.blocks[b].unsafe_locals_mask;
    // Lent out while handlers are marked (which touches only their masks).
    let mut instrs = std::mem::take(&mut g.blocks[b].instrs);
    for instr in &mut instrs {
        if let Some(h) = instr.except {
            maybe_push(g, h, unsafe_mask, stack);
        }
        if instr.arg >= 64 || instr.arg < 0 {
            continue;
        }
        let bit = 1u64 << instr.arg;
        match instr.op {
            DELETE_FAST | LOAD_FAST_AND_CLEAR | STORE_FAST_MAYBE_NULL => unsafe_mask |= bit,
            STORE_FAST | LOAD_FAST_CHECK => unsafe_mask &= !bit,
            LOAD_FAST => {
                if unsafe_mask & bit != 0 {
                    instr.op = LOAD_FAST_CHECK;
                }
                unsafe_mask &= !bit;
            }
            _ => {}
        }
    }
    g.blocks[b].instrs = instrs;
    if let Some(next) = g.blocks[b].next {
        if g.blocks[b].has_fallthrough() {
            maybe_push(g, next, unsafe_mask, stack);
        }
    }
    if let Some(&last) = g.blocks[b].last() {
        if is_jump_in(g.target, last.op) {
            maybe_push(g, last.target.unwrap(), unsafe_mask, stack);
        }
    }
}

fn fast_scan_many_locals(g: &mut Cfg, nlocals: usize) {
    let mut states = vec![0i64; nlocals - 64];
    let mut blocknum = 0i64;
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        blocknum += 1;
        for i in 0..g.blocks[b].instrs.len() {
            let instr = g.blocks[b].instrs[i];
            let arg = instr.arg;
            if arg < 64 {
                continue;
            }
            let slot = (arg - 64) as usize;
            match instr.op {
                DELETE_FAST | LOAD_FAST_AND_CLEAR | STORE_FAST_MAYBE_NULL => states[slot] = blocknum - 1,
                STORE_FAST => states[slot] = blocknum,
                LOAD_FAST => {
                    if states[slot] != blocknum {
                        g.blocks[b].instrs[i].op = LOAD_FAST_CHECK;
                    }
                    states[slot] = blocknum;
                }
                _ => {}
            }
        }
    }
}

pub fn add_checks_for_loads_of_uninitialized_variables(g: &mut Cfg, nlocals: usize, nparams: usize) {
    if nlocals == 0 {
        return;
    }
    let mut nlocals = nlocals;
    if nlocals > 64 {
        fast_scan_many_locals(g, nlocals);
        nlocals = 64;
    }
    g.reset_visited();
    let mut stack = Vec::new();
    let mut start_mask = 0u64;
    for i in nparams..nlocals {
        start_mask |= 1u64 << i;
    }
    let entry = g.entry;
    maybe_push(g, entry, start_mask, &mut stack);
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        scan_block_for_locals(g, b, &mut stack);
    }
    while let Some(b) = stack.pop() {
        g.blocks[b].visited = false;
        scan_block_for_locals(g, b, &mut stack);
    }
}

fn mark_warm(g: &mut Cfg) {
    g.reset_visited();
    let entry = g.entry;
    let mut stack = vec![entry];
    g.blocks[entry].visited = true;
    while let Some(b) = stack.pop() {
        g.blocks[b].warm = true;
        if let Some(next) = g.blocks[b].next {
            if g.blocks[b].has_fallthrough() && !g.blocks[next].visited {
                stack.push(next);
                g.blocks[next].visited = true;
            }
        }
        let instrs = std::mem::take(&mut g.blocks[b].instrs);
        for instr in &instrs {
            if is_jump_in(g.target, instr.op) {
                let t = instr.target.unwrap();
                if !g.blocks[t].visited {
                    stack.push(t);
                    g.blocks[t].visited = true;
                }
            }
        }
        g.blocks[b].instrs = instrs;
    }
}

fn mark_cold(g: &mut Cfg) {
    mark_warm(g);
    g.reset_visited();
    let mut stack = Vec::new();
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        if g.blocks[b].except_handler {
            stack.push(b);
            g.blocks[b].visited = true;
        }
    }
    while let Some(b) = stack.pop() {
        g.blocks[b].cold = true;
        if let Some(next) = g.blocks[b].next {
            if g.blocks[b].has_fallthrough() && !g.blocks[next].warm && !g.blocks[next].visited {
                stack.push(next);
                g.blocks[next].visited = true;
            }
        }
        let instrs = std::mem::take(&mut g.blocks[b].instrs);
        for instr in &instrs {
            if is_jump_in(g.target, instr.op) {
                let t = instr.target.unwrap();
                if !g.blocks[t].warm && !g.blocks[t].visited {
                    stack.push(t);
                    g.blocks[t].visited = true;
                }
            }
        }
        g.blocks[b].instrs = instrs;
    }
}

pub fn push_cold_blocks_to_end(g: &mut Cfg) {
    let entry = g.entry;
    if g.blocks[entry].next.is_none() {
        return;
    }
    mark_cold(g);
    let mut next_lbl = g.max_label() + 1;
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        let Some(next) = g.blocks[b].next else { continue };
        if g.blocks[b].cold && g.blocks[b].has_fallthrough() && g.blocks[next].warm {
            let explicit = g.new_block();
            if g.blocks[next].label < 0 {
                g.blocks[next].label = next_lbl;
                next_lbl += 1;
            }
            let op = if g.target.has(Feature::ColdJumpNoInterrupt) { JUMP_NO_INTERRUPT } else { JUMP };
            let mut jump = CfgInstr::new(op, g.blocks[next].label, NO_LOCATION);
            jump.target = Some(next);
            g.blocks[explicit].instrs.push(jump);
            if g.target.has(Feature::ColdJumpNoInterrupt) {
                g.blocks[explicit].predecessors = 1;
            }
            g.blocks[explicit].cold = true;
            g.blocks[explicit].next = Some(next);
            g.blocks[b].next = Some(explicit);
        }
    }
    let mut cold_head: Option<BlockId> = None;
    let mut cold_tail: Option<BlockId> = None;
    let mut b = entry;
    while g.blocks[b].next.is_some() {
        while let Some(n) = g.blocks[b].next {
            if g.blocks[n].cold {
                break;
            }
            b = n;
        }
        let Some(start) = g.blocks[b].next else { break };
        let mut end = start;
        while let Some(n) = g.blocks[end].next {
            if !g.blocks[n].cold {
                break;
            }
            end = n;
        }
        match cold_tail {
            None => cold_head = Some(start),
            Some(t) => g.blocks[t].next = Some(start),
        }
        cold_tail = Some(end);
        g.blocks[b].next = g.blocks[end].next;
        g.blocks[end].next = None;
    }
    g.blocks[b].next = cold_head;
    if cold_head.is_some() {
        if g.target.has(Feature::ColdJumpNoInterrupt) {
            remove_redundant_nops_and_jumps(g);
        } else {
            let _ = remove_redundant_jumps(g);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every op with a target reaches the body of `optimize_basic_block`
    /// (jump threading starts from it): the table passes none of them over.
    #[test]
    fn peephole_table_keeps_every_jump_and_fold() {
        for op in Op::ALL {
            if has_target(op) {
                assert!(PEEPHOLE_OPS[op as usize], "{op:?}");
            }
        }
        for op in [END_ASYNC_FOR, LOAD_CONST, COPY, BUILD_TUPLE, BINARY_OP, SWAP, TO_BOOL, STORE_FAST] {
            assert!(PEEPHOLE_OPS[op as usize], "{op:?}");
        }
        assert!(!PEEPHOLE_OPS[LOAD_FAST as usize] && !PEEPHOLE_OPS[CALL as usize]);
    }
}
