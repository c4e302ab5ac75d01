//! Line numbers for instructions code generation left without one: exits
//! reached from several places are duplicated so that each can take the
//! line of its only predecessor (PEP 626), then locations flow forward
//! within blocks and into single-predecessor successors.

use super::{BlockId, Cfg};
use crate::instr::*;

fn is_exit_without_lineno(g: &Cfg, b: BlockId) -> bool {
    if !g.blocks[b].exits_scope() {
        return false;
    }
    g.blocks[b].instrs.iter().all(|i| i.loc.lineno < 0)
}

fn duplicate_exits_without_lineno(g: &mut Cfg) {
    let mut next_lbl = g.max_label() + 1;
    let mut b = Some(g.entry);
    while let Some(id) = b {
        if let Some(&last) = g.blocks[id].last() {
            if is_jump(last.op) {
                let target = last.target.unwrap();
                if is_exit_without_lineno(g, target) && g.blocks[target].predecessors > 1 {
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
    for id in g.order() {
        let Some(next) = g.blocks[id].next else { continue };
        if g.blocks[id].has_fallthrough() && !g.blocks[id].instrs.is_empty() && is_exit_without_lineno(g, next) {
            let loc = g.blocks[id].last().unwrap().loc;
            g.blocks[next].instrs[0].loc = loc;
        }
    }
}

fn propagate_line_numbers(g: &mut Cfg) {
    for b in g.order() {
        let Some(&last) = g.blocks[b].last() else { continue };
        let mut prev = NO_LOCATION;
        for instr in &mut g.blocks[b].instrs {
            if instr.loc.lineno < 0 {
                instr.loc = prev;
            } else {
                prev = instr.loc;
            }
        }
        if g.blocks[b].has_fallthrough() {
            if let Some(next) = g.blocks[b].next {
                if g.blocks[next].predecessors == 1 && g.blocks[next].instrs[0].loc.lineno < 0 {
                    g.blocks[next].instrs[0].loc = prev;
                }
            }
        }
        if is_jump(last.op) {
            let target = last.target.unwrap();
            if g.blocks[target].predecessors == 1 && g.blocks[target].instrs[0].loc.lineno < 0 {
                g.blocks[target].instrs[0].loc = prev;
            }
        }
    }
}

fn guarantee_lineno_for_exits(g: &mut Cfg, firstlineno: i32) {
    let mut lineno = firstlineno;
    for b in g.order() {
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
    guarantee_lineno_for_exits(g, firstlineno);
}
