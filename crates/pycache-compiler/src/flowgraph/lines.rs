//! Line numbers for instructions code generation left without one: exits
//! reached from several places are duplicated so that each can take the
//! line of its only predecessor (PEP 626), then locations flow forward
//! within blocks and into single-predecessor successors.

use super::{BlockId, Cfg};
use crate::instr::*;
use crate::target::Feature;

/// The ops 3.13 marks as checking the eval breaker (`HAS_EVAL_BREAK_FLAG`
/// in its opcode metadata) among those the flow graph sees.
fn has_eval_break(op: Op) -> bool {
    matches!(op, CALL | CALL_FUNCTION_EX | CALL_KW | JUMP_BACKWARD | RESUME | JUMP)
}

/// 3.13: a block that exits or checks the eval breaker, with no line.
fn is_exit_or_eval_check_without_lineno(g: &Cfg, b: BlockId) -> bool {
    let block = &g.blocks[b];
    (block.exits_scope() || block.instrs.iter().any(|i| has_eval_break(i.op))) && super::optimize::has_no_lineno(g, b)
}

fn is_exit_without_lineno(g: &Cfg, b: BlockId) -> bool {
    if !g.blocks[b].exits_scope() {
        return false;
    }
    g.blocks[b].instrs.iter().all(|i| i.loc.lineno < 0)
}

fn duplicate_exits_without_lineno(g: &mut Cfg) {
    let eval_breakers = g.target.has(Feature::EvalBreakerLineCopies);
    let needs_copy = |g: &Cfg, b: BlockId| {
        if eval_breakers { is_exit_or_eval_check_without_lineno(g, b) } else { is_exit_without_lineno(g, b) }
    };
    let mut next_lbl = g.max_label() + 1;
    let mut b = Some(g.entry);
    while let Some(id) = b {
        if let Some(&last) = g.blocks[id].last() {
            if is_jump_in(g.target, last.op) {
                let target = if eval_breakers { super::optimize::next_nonempty(g, last.target) } else { last.target };
                let Some(target) = target else {
                    b = g.blocks[id].next;
                    continue;
                };
                if needs_copy(g, target) && g.blocks[target].predecessors > 1 {
                    let new_target = g.new_block();
                    let instrs = g.blocks[target].instrs.clone();
                    g.blocks[new_target].instrs = instrs;
                    g.blocks[new_target].instrs[0].loc = last.loc;
                    let li = g.blocks[id].instrs.len() - 1;
                    g.blocks[id].instrs[li].target = Some(new_target);
                    g.blocks[target].predecessors -= 1;
                    g.blocks[new_target].predecessors = 1;
                    g.blocks[new_target].next = g.blocks[target].next;
                    g.blocks[new_target].label = next_lbl;
                    next_lbl += 1;
                    g.blocks[target].next = Some(new_target);
                }
            }
        }
        b = g.blocks[id].next;
    }
    let mut walk = g.walk();
    while let Some(id) = walk.step(g) {
        let Some(next) = g.blocks[id].next else { continue };
        if g.blocks[id].has_fallthrough() && !g.blocks[id].instrs.is_empty() && needs_copy(g, next) {
            let loc = g.blocks[id].last().unwrap().loc;
            g.blocks[next].instrs[0].loc = loc;
        }
    }
}

fn propagate_line_numbers(g: &mut Cfg) {
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        let Some(&last) = g.blocks[b].last() else { continue };
        // Only instructions without any location are filled in, not one
        // whose location is the next instruction's (`NEXT_LOCATION`).
        let mut prev = NO_LOCATION;
        for instr in &mut g.blocks[b].instrs {
            if instr.loc.lineno == NO_LOCATION.lineno {
                instr.loc = prev;
            } else {
                prev = instr.loc;
            }
        }
        if g.blocks[b].has_fallthrough()
            && let Some(next) = g.blocks[b].next
            && g.blocks[next].predecessors == 1
            && let Some(first) = g.blocks[next].instrs.first_mut().filter(|i| i.loc.lineno == NO_LOCATION.lineno)
        {
            first.loc = prev;
        }
        if is_jump_in(g.target, last.op) {
            let target = last.target.unwrap();
            if g.blocks[target].predecessors == 1
                && let Some(first) = g.blocks[target].instrs.first_mut().filter(|i| i.loc.lineno == NO_LOCATION.lineno)
            {
                first.loc = prev;
            }
        }
    }
}

fn guarantee_lineno_for_exits(g: &mut Cfg, firstlineno: i32) {
    let mut lineno = firstlineno;
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        let Some(&last) = g.blocks[b].last() else { continue };
        if last.loc.lineno < 0 {
            if last.op == RETURN_VALUE {
                for instr in &mut g.blocks[b].instrs {
                    instr.loc.lineno = lineno;
                }
            }
        } else {
            lineno = last.loc.lineno;
        }
    }
}

pub fn resolve_line_numbers(g: &mut Cfg, firstlineno: i32) {
    duplicate_exits_without_lineno(g);
    propagate_line_numbers(g);
    if !g.target.has(Feature::EvalBreakerLineCopies) {
        guarantee_lineno_for_exits(g, firstlineno);
    }
}
