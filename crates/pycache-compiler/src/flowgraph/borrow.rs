//! 3.14's last flow-graph pass (`Feature::BorrowLoads`, docs/targets/3.14.md
//! G2): a `LOAD_FAST` whose value provably leaves the stack before its
//! local can change becomes `LOAD_FAST_BORROW` (and `LOAD_FAST_LOAD_FAST`
//! the borrowing pair).
//!
//! The rule, learnt from CPython 3.14's `flowgraph.c` and checked against
//! the interpreters: every block reachable from the entry through jumps,
//! `FOR_ITER`/`SEND` targets and fall-through (not through exception
//! handlers) is simulated alone on a stack of references, its incoming
//! entries anonymous. A load is not borrowed when its reference is still
//! on the stack when its local is stored to or cleared, when it is stored
//! into a local, or when it is still on the stack at the end of the block.
//!
//! Two details of CPython's simulation are reproduced as they are: the
//! instructions that push without consuming (`GET_LEN`, `IMPORT_FROM`,
//! `WITH_EXCEPT_START`, ...) tag what they push with the index of their
//! push loop, 0, rather than their own index, so such a value left on the
//! stack or stored in a local marks the block's first instruction; and a
//! method `LOAD_ATTR`, like `LOAD_SPECIAL`, pushes its owner's reference
//! back (checked on `with` statements).

use super::{BlockId, Cfg};
use crate::instr::*;
use crate::target::Feature;

/// Where a reference on the simulated stack came from: the index of the
/// instruction in its block (or what CPython uses in its place), and the
/// local it loaded.
#[derive(Clone, Copy)]
struct Ref {
    instr: Option<usize>,
    local: Option<i32>,
}

const ANONYMOUS: Ref = Ref { instr: None, local: None };

const SUPPORT_KILLED: u8 = 1;
const STORED_AS_LOCAL: u8 = 2;
const REF_UNCONSUMED: u8 = 4;

/// Values an instruction pushes (3.14's metadata); what it pops follows
/// from its net effect.
fn pushed(op: Op, arg: i32) -> i32 {
    match op {
        NOP
        | RESUME
        | NOT_TAKEN
        | EXTENDED_ARG
        | CACHE
        | POP_TOP
        | POP_ITER
        | END_FOR
        | END_ASYNC_FOR
        | STORE_NAME
        | STORE_GLOBAL
        | STORE_DEREF
        | STORE_ATTR
        | STORE_SUBSCR
        | STORE_SLICE
        | STORE_FAST
        | DELETE_NAME
        | DELETE_GLOBAL
        | DELETE_DEREF
        | DELETE_FAST
        | DELETE_ATTR
        | DELETE_SUBSCR
        | RAISE_VARARGS
        | POP_EXCEPT
        | RERAISE
        | POP_JUMP_IF_FALSE
        | POP_JUMP_IF_TRUE
        | POP_JUMP_IF_NONE
        | POP_JUMP_IF_NOT_NONE
        | JUMP
        | JUMP_NO_INTERRUPT
        | JUMP_FORWARD
        | JUMP_BACKWARD
        | JUMP_BACKWARD_NO_INTERRUPT
        | SETUP_ANNOTATIONS
        | MAKE_CELL
        | COPY_FREE_VARS
        | EXIT_INIT_CHECK
        | INTERPRETER_EXIT
        | LIST_APPEND
        | LIST_EXTEND
        | SET_ADD
        | SET_UPDATE
        | MAP_ADD
        | DICT_MERGE
        | DICT_UPDATE => 0,
        LOAD_GLOBAL => 1 + (arg & 1),
        LOAD_SPECIAL | PUSH_EXC_INFO | CLEANUP_THROW | CHECK_EG_MATCH => 2,
        UNPACK_SEQUENCE => arg,
        UNPACK_EX => (arg & 0xFF) + (arg >> 8) + 1,
        _ => 1,
    }
}

/// Rewrites the borrowable loads of `g`, whose blocks have their start
/// depths.
pub fn optimize_load_fast(g: &mut Cfg) {
    let target = g.target;
    let mut visited = vec![false; g.blocks.len()];
    let mut work: Vec<BlockId> = vec![g.entry];
    visited[g.entry.index()] = true;
    let mut refs: Vec<Ref> = Vec::new();
    let mut flags: Vec<u8> = Vec::new();
    while let Some(b) = work.pop() {
        let start = if b == g.entry { 0 } else { g.blocks[b].startdepth.max(0) as usize };
        refs.clear();
        refs.resize(start, ANONYMOUS);
        flags.clear();
        flags.resize(g.blocks[b].instrs.len(), 0);
        let kill = |flags: &mut Vec<u8>, refs: &[Ref], local: i32| {
            for r in refs {
                if r.local == Some(local)
                    && let Some(flag) = r.instr.and_then(|i| flags.get_mut(i))
                {
                    *flag |= SUPPORT_KILLED;
                }
            }
        };
        let store = |flags: &mut Vec<u8>, refs: &[Ref], local: i32, r: Ref| {
            kill(flags, refs, local);
            if let Some(flag) = r.instr.and_then(|i| flags.get_mut(i)) {
                *flag |= STORED_AS_LOCAL;
            }
        };
        let mut push_block = |work: &mut Vec<BlockId>, t: BlockId| {
            if !visited[t.index()] {
                visited[t.index()] = true;
                work.push(t);
            }
        };
        let pop = |refs: &mut Vec<Ref>| refs.pop().unwrap_or(ANONYMOUS);
        // The block's instructions, lent out for the walk (no other block's
        // are read): no copy and no bounds checks per instruction.
        let mut instrs = std::mem::take(&mut g.blocks[b].instrs);
        for (i, instr) in instrs.iter().enumerate() {
            let (op, arg) = (instr.op, instr.arg);
            let here = Ref { instr: Some(i), local: None };
            match op {
                LOAD_FAST => refs.push(Ref { instr: Some(i), local: Some(arg) }),
                LOAD_FAST_AND_CLEAR => {
                    kill(&mut flags, &refs, arg);
                    refs.push(Ref { instr: Some(i), local: Some(arg) });
                }
                LOAD_FAST_LOAD_FAST => {
                    refs.push(Ref { instr: Some(i), local: Some(arg >> 4) });
                    refs.push(Ref { instr: Some(i), local: Some(arg & 15) });
                }
                STORE_FAST => {
                    let r = pop(&mut refs);
                    store(&mut flags, &refs, arg, r);
                }
                // `del x` while a load of `x` is still on the stack (`return
                // x` in a `try` whose `finally` deletes it: asyncio's
                // base_events.py and taskgroups.py).
                DELETE_FAST => kill(&mut flags, &refs, arg),
                STORE_FAST_LOAD_FAST => {
                    let r = pop(&mut refs);
                    store(&mut flags, &refs, arg >> 4, r);
                    refs.push(Ref { instr: Some(i), local: Some(arg & 15) });
                }
                STORE_FAST_STORE_FAST => {
                    let r = pop(&mut refs);
                    store(&mut flags, &refs, arg >> 4, r);
                    let r = pop(&mut refs);
                    store(&mut flags, &refs, arg & 15, r);
                }
                COPY => {
                    let r = refs.len().checked_sub(arg as usize).map_or(ANONYMOUS, |k| refs[k]);
                    refs.push(r);
                }
                SWAP => {
                    let n = refs.len();
                    if let Some(k) = n.checked_sub(arg as usize)
                        && n > 0
                    {
                        refs.swap(k, n - 1);
                    }
                }
                // Push without consuming; CPython tags the pushed values
                // with its loop counter (see the module documentation).
                // `GET_YIELD_FROM_ITER` too in 3.14.8 and 3.14.10 (the operand of
                // `yield from` stays a strong load), and `FORMAT_SIMPLE`
                // (it may return its operand: an f-string field's value
                // left for a `BUILD_STRING` in a later block stays strong).
                GET_ANEXT | GET_LEN | IMPORT_FROM | MATCH_KEYS | MATCH_MAPPING | MATCH_SEQUENCE | WITH_EXCEPT_START
                | GET_YIELD_FROM_ITER | FORMAT_SIMPLE => {
                    let net = stack_effect(target, op, arg, false).unwrap_or(0);
                    let own_index = target.has(Feature::BorrowPushesOwnIndex);
                    for j in 0..net.max(0) as usize {
                        refs.push(Ref { instr: Some(if own_index { i } else { j }), local: None });
                    }
                }
                // 3.15: `GET_ITER` leaves its iterable where it was and
                // pushes the iteration state above it.
                GET_ITER if target.has(Feature::IterPair) => refs.push(here),
                // Consume some inputs, push nothing.
                DICT_MERGE | DICT_UPDATE | LIST_APPEND | LIST_EXTEND | MAP_ADD | RERAISE | SET_ADD | SET_UPDATE => {
                    let popped = -stack_effect(target, op, arg, false).unwrap_or(0);
                    for _ in 0..popped.max(0) {
                        pop(&mut refs);
                    }
                }
                CHECK_EXC_MATCH => {
                    pop(&mut refs);
                    refs.push(here);
                }
                FOR_ITER => {
                    if let Some(t) = instr.target {
                        push_block(&mut work, t);
                    }
                    refs.push(here);
                }
                // 3.14.8 and 3.14.10 keep `with`'s owner on the stack as
                // the `self` of the method `LOAD_SPECIAL` loads.
                LOAD_SPECIAL => {
                    let owner = pop(&mut refs);
                    refs.push(here);
                    refs.push(owner);
                }
                LOAD_ATTR | LOAD_SUPER_ATTR => {
                    let owner = pop(&mut refs);
                    if op == LOAD_SUPER_ATTR {
                        pop(&mut refs);
                        pop(&mut refs);
                    }
                    refs.push(here);
                    if arg & 1 != 0 {
                        refs.push(owner);
                    }
                }
                SEND => {
                    if let Some(t) = instr.target {
                        push_block(&mut work, t);
                    }
                    pop(&mut refs);
                    refs.push(here);
                }
                _ => {
                    let net = stack_effect(target, op, arg, false).unwrap_or(0);
                    let pushes = pushed(op, arg);
                    let pops = (pushes - net).max(0);
                    if has_target_in(target, op)
                        && let Some(t) = instr.target
                    {
                        push_block(&mut work, t);
                    }
                    if !is_block_push(op) {
                        for _ in 0..pops {
                            pop(&mut refs);
                        }
                        for _ in 0..pushes {
                            refs.push(here);
                        }
                    }
                }
            }
        }
        if let Some(&last) = instrs.last()
            && let Some(next) = g.blocks[b].next
            && !ends_flow(last.op)
        {
            push_block(&mut work, next);
        } else if instrs.is_empty()
            && let Some(next) = g.blocks[b].next
            && target.has(Feature::BorrowThroughEmptyBlocks)
        {
            // 3.14 stopped at an empty block; 3.15 falls through it.
            push_block(&mut work, next);
        }
        for r in &refs {
            if let Some(flag) = r.instr.and_then(|i| flags.get_mut(i)) {
                *flag |= REF_UNCONSUMED;
            }
        }
        for (instr, &flag) in instrs.iter_mut().zip(&flags) {
            if flag == 0 {
                match instr.op {
                    LOAD_FAST => instr.op = LOAD_FAST_BORROW,
                    LOAD_FAST_LOAD_FAST => instr.op = LOAD_FAST_BORROW_LOAD_FAST_BORROW,
                    _ => {}
                }
            }
        }
        g.blocks[b].instrs = instrs;
    }
}
