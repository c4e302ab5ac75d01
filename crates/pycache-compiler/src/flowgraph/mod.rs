//! The control-flow graph of one code unit: basic blocks built from the
//! instruction sequence, CPython's optimisation passes over them (in
//! `optimize`), line numbers for artificial instructions (in `lines`), then
//! the stack depth, cell and free variable offsets, and jump offsets, in
//! the order `compile.c`'s `optimize_and_assemble_code_unit` runs them.
//!
//! Blocks live in an arena and are chained through `next`, as CPython
//! chains them through `b_next`; passes that CPython runs "for each block"
//! follow that chain.

mod borrow;
mod fold;
mod lines;
mod optimize;

use crate::code::Constant;
use crate::error::{Refusal, Result};
use crate::instr::*;
use crate::ir::{Assembly, FinalInstr, InstrSeq, Metadata};
use crate::target::{Feature, Target};

/// A block's index in the arena, stored plus one so that `Option<BlockId>`
/// (a jump target, a handler) takes 4 bytes: a `CfgInstr` is 32 bytes
/// instead of 56, and every pass copies or scans instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockId(std::num::NonZeroU32);

impl BlockId {
    #[inline]
    pub fn new(index: usize) -> Self {
        let raw = u32::try_from(index + 1).ok().and_then(std::num::NonZeroU32::new);
        Self(raw.expect("fewer than 2^32 - 1 blocks"))
    }

    #[inline]
    pub fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }
}

impl std::ops::Index<BlockId> for [Block] {
    type Output = Block;
    #[inline]
    fn index(&self, b: BlockId) -> &Block {
        &self[b.index()]
    }
}

impl std::ops::IndexMut<BlockId> for [Block] {
    #[inline]
    fn index_mut(&mut self, b: BlockId) -> &mut Block {
        &mut self[b.index()]
    }
}

impl std::ops::Index<BlockId> for Vec<Block> {
    type Output = Block;
    #[inline]
    fn index(&self, b: BlockId) -> &Block {
        &self[b.index()]
    }
}

impl std::ops::IndexMut<BlockId> for Vec<Block> {
    #[inline]
    fn index_mut(&mut self, b: BlockId) -> &mut Block {
        &mut self[b.index()]
    }
}

#[derive(Debug, Clone, Copy)]
pub struct CfgInstr {
    pub op: Op,
    pub arg: i32,
    pub loc: Loc,
    pub target: Option<BlockId>,
    pub except: Option<BlockId>,
}

// The compact block ids are what keeps an instruction at half a cache line.
const _: () = assert!(std::mem::size_of::<CfgInstr>() == 32);

impl CfgInstr {
    fn new(op: Op, arg: i32, loc: Loc) -> Self {
        Self { op, arg, loc, target: None, except: None }
    }

    pub fn set_op0(&mut self, op: Op) {
        self.op = op;
        self.arg = 0;
    }

    pub fn set_op1(&mut self, op: Op, arg: i32) {
        self.op = op;
        self.arg = arg;
    }
}

#[derive(Debug, Clone, Default)]
pub struct Block {
    pub instrs: Vec<CfgInstr>,
    pub next: Option<BlockId>,
    pub label: i32,
    pub startdepth: i32,
    pub offset: i32,
    pub except_handler: bool,
    pub preserve_lasti: bool,
    pub visited: bool,
    pub predecessors: i32,
    pub cold: bool,
    pub warm: bool,
    pub exceptstack: Option<ExceptStack>,
    pub unsafe_locals_mask: u64,
    /// The handlers of the instructions CPython's array for this block
    /// still holds past its end after the block shrank (slot by slot,
    /// from 0; entries below `instrs.len()` mean nothing). CPython's
    /// `basicblock_addop` leaves a new instruction's handler as the slot
    /// held it, which is what 3.14's `NOT_TAKEN` gets (gh-137681, not fixed
    /// in 3.14).
    pub ghost_except: Vec<Option<BlockId>>,
}

impl Block {
    pub fn last(&self) -> Option<&CfgInstr> {
        self.instrs.last()
    }

    /// Shrinks the block to `len` instructions the way CPython lowers
    /// `b_iused`: the slots past it keep what they held.
    pub fn shrink_to(&mut self, len: usize) {
        let n = self.instrs.len();
        if len >= n {
            return;
        }
        if self.ghost_except.len() < n {
            self.ghost_except.resize(n, None);
        }
        for k in len..n {
            self.ghost_except[k] = self.instrs[k].except;
        }
        self.instrs.truncate(len);
    }

    /// The handler a slot appended now would carry in CPython.
    pub fn next_slot_except(&self) -> Option<BlockId> {
        self.ghost_except.get(self.instrs.len()).copied().flatten()
    }

    /// Control leaves the block only through its last instruction.
    pub fn no_fallthrough(&self) -> bool {
        self.last().is_some_and(|l| ends_flow(l.op))
    }

    pub fn has_fallthrough(&self) -> bool {
        !self.no_fallthrough()
    }

    pub fn exits_scope(&self) -> bool {
        self.last().is_some_and(|l| is_scope_exit(l.op))
    }
}

/// A position in the chain of blocks ([`Cfg::walk`]). The successor is
/// read when a block is handed out, so a block the caller inserts right
/// after it is not visited, as with a snapshot of the order.
pub struct Walk {
    next: Option<BlockId>,
}

impl Walk {
    #[inline]
    pub fn step(&mut self, g: &Cfg) -> Option<BlockId> {
        let b = self.next?;
        self.next = g.blocks[b].next;
        Some(b)
    }
}

#[derive(Debug, Clone, Default)]
pub struct ExceptStack {
    pub handlers: Vec<Option<BlockId>>,
}

impl ExceptStack {
    fn new() -> Self {
        Self { handlers: vec![None] }
    }

    pub fn depth(&self) -> usize {
        self.handlers.len() - 1
    }

    fn top(&self) -> Option<BlockId> {
        *self.handlers.last().unwrap()
    }
}

pub struct Cfg {
    pub target: Target,
    pub blocks: Vec<Block>,
    pub entry: BlockId,
    cur: BlockId,
    current_label: i32,
}

impl Cfg {
    fn new(target: Target) -> Self {
        let first = BlockId::new(0);
        let mut cfg = Self { target, blocks: Vec::new(), entry: first, cur: first, current_label: -1 };
        let b = cfg.new_block();
        cfg.entry = b;
        cfg.cur = b;
        cfg
    }

    pub fn new_block(&mut self) -> BlockId {
        self.blocks.push(Block { label: -1, ..Block::default() });
        BlockId::new(self.blocks.len() - 1)
    }

    /// The blocks in chain order.
    pub fn order(&self) -> Vec<BlockId> {
        let mut out = Vec::with_capacity(self.blocks.len());
        let mut b = Some(self.entry);
        while let Some(id) = b {
            out.push(id);
            b = self.blocks[id].next;
        }
        out
    }

    /// A walk along the chain from the entry. Passes that change no
    /// block's `next` ahead of the walk see the same blocks as in
    /// [`Cfg::order`], without the vector it allocates: the graph is
    /// walked a dozen times or more per unit.
    pub fn walk(&self) -> Walk {
        Walk { next: Some(self.entry) }
    }

    fn current_block_is_terminated(&mut self) -> bool {
        let cur = self.cur;
        if let Some(last) = self.blocks[cur].last() {
            if is_terminator_in(self.target, last.op) {
                return true;
            }
        }
        if self.current_label >= 0 {
            if !self.blocks[cur].instrs.is_empty() || self.blocks[cur].label >= 0 {
                return true;
            }
            self.blocks[cur].label = self.current_label;
            self.current_label = -1;
        }
        false
    }

    fn maybe_start_new_block(&mut self) {
        if self.current_block_is_terminated() {
            let b = self.new_block();
            self.blocks[b].label = self.current_label;
            self.current_label = -1;
            self.blocks[self.cur].next = Some(b);
            self.cur = b;
        }
    }

    fn use_label(&mut self, label: i32) {
        self.current_label = label;
        self.maybe_start_new_block();
    }

    /// `instr_sequence_to_cfg`: one label per offset (the last one that
    /// points there), blocks started at labels and after terminators.
    fn from_sequence(target: Target, seq: &InstrSeq) -> Result<Self> {
        let mut g = Self::new(target);
        let n = seq.instrs.len();
        let mut offset2lbl = vec![-1i32; n];
        for (lbl, &offset) in seq.labelmap.iter().enumerate() {
            if offset >= 0 && (offset as usize) < n {
                offset2lbl[offset as usize] = lbl as i32;
            }
        }
        if target.has(Feature::JumpTargetBlocks) {
            // Only the labels some jump or handler refers to start a block.
            let mut targeted = vec![false; n];
            for instr in &seq.instrs {
                if has_target_in(target, instr.op) {
                    if let Some(&o) = seq.labelmap.get(instr.arg as usize) {
                        if o >= 0 && (o as usize) < n {
                            targeted[o as usize] = true;
                        }
                    }
                }
            }
            for (lbl, t) in offset2lbl.iter_mut().zip(&targeted) {
                if !t {
                    *lbl = -1;
                }
            }
        }
        // Each block's length is known before it is filled: its vector is
        // allocated once instead of growing (a block ends at a label or
        // after a terminator).
        let mut block_len = vec![0u32; n + 1];
        for i in (0..n).rev() {
            let ends = i + 1 == n || offset2lbl[i + 1] >= 0 || is_terminator_in(target, seq.instrs[i].op);
            block_len[i] = if ends { 1 } else { block_len[i + 1] + 1 };
        }
        // CPython asks before every instruction whether the block is
        // terminated; with no label pending (a label is always taken by
        // `use_label`) that is whether the instruction before ended it.
        let mut after_terminator = false;
        for (i, instr) in seq.instrs.iter().enumerate() {
            if offset2lbl[i] >= 0 {
                g.use_label(offset2lbl[i]);
            } else if after_terminator {
                g.maybe_start_new_block();
            }
            after_terminator = is_terminator_in(target, instr.op);
            let mut arg = instr.arg;
            if has_target_in(target, instr.op) {
                let offset = seq
                    .labelmap
                    .get(arg as usize)
                    .copied()
                    .filter(|&o| o >= 0 && (o as usize) < n)
                    .ok_or_else(|| Refusal::internal("jump to an unplaced label"))?;
                arg = offset2lbl[offset as usize];
            }
            let instrs = &mut g.blocks[g.cur].instrs;
            if instrs.is_empty() {
                instrs.reserve_exact(block_len[i] as usize);
            }
            instrs.push(CfgInstr::new(instr.op, arg, instr.loc));
        }
        Ok(g)
    }

    pub fn max_label(&self) -> i32 {
        let mut max = -1;
        let mut b = Some(self.entry);
        while let Some(id) = b {
            max = max.max(self.blocks[id].label);
            b = self.blocks[id].next;
        }
        max
    }

    fn translate_jump_labels_to_targets(&mut self) -> Result<()> {
        let max_label = self.max_label();
        let mut label2block = vec![None; (max_label + 1).max(0) as usize];
        let mut walk = self.walk();
        while let Some(b) = walk.step(self) {
            let l = self.blocks[b].label;
            if l >= 0 {
                label2block[l as usize] = Some(b);
            }
        }
        let mut walk = self.walk();
        while let Some(b) = walk.step(self) {
            for i in 0..self.blocks[b].instrs.len() {
                let instr = self.blocks[b].instrs[i];
                if has_target_in(self.target, instr.op) {
                    let target = label2block
                        .get(instr.arg as usize)
                        .copied()
                        .flatten()
                        .ok_or_else(|| Refusal::internal("jump to an unknown label"))?;
                    self.blocks[b].instrs[i].target = Some(target);
                }
            }
        }
        Ok(())
    }

    fn mark_except_handlers(&mut self) {
        let mut walk = self.walk();
        while let Some(b) = walk.step(self) {
            for i in 0..self.blocks[b].instrs.len() {
                let instr = self.blocks[b].instrs[i];
                if is_block_push(instr.op) {
                    self.blocks[instr.target.unwrap()].except_handler = true;
                }
            }
        }
    }

    /// Resets `visited` on every block in the chain (CPython does this
    /// when it allocates a traversal stack).
    pub fn reset_visited(&mut self) {
        let mut b = Some(self.entry);
        while let Some(id) = b {
            self.blocks[id].visited = false;
            b = self.blocks[id].next;
        }
    }

    fn label_exception_targets(&mut self) {
        self.reset_visited();
        let entry = self.entry;
        let mut todo = vec![entry];
        self.blocks[entry].visited = true;
        self.blocks[entry].exceptstack = Some(ExceptStack::new());
        while let Some(b) = todo.pop() {
            let mut except_stack = self.blocks[b].exceptstack.take();
            let mut handler = except_stack.as_ref().and_then(|s| s.top());
            let resume_bit = self.target.has(Feature::ResumeDepthBit);
            let mut last_yield_depth: i32 = -1;
            let n = self.blocks[b].instrs.len();
            for i in 0..n {
                let instr = self.blocks[b].instrs[i];
                if is_block_push(instr.op) {
                    let target = instr.target.unwrap();
                    if !self.blocks[target].visited {
                        self.blocks[target].exceptstack = except_stack.clone();
                        todo.push(target);
                        self.blocks[target].visited = true;
                    }
                    if matches!(instr.op, SETUP_WITH | SETUP_CLEANUP) {
                        self.blocks[target].preserve_lasti = true;
                    }
                    if let Some(s) = except_stack.as_mut() {
                        s.handlers.push(Some(target));
                    }
                    handler = Some(target);
                } else if instr.op == POP_BLOCK {
                    if let Some(s) = except_stack.as_mut() {
                        s.handlers.pop();
                        handler = s.top();
                    }
                    if self.target.has(Feature::EarlyPopBlockNop) {
                        self.blocks[b].instrs[i].set_op0(NOP);
                    }
                } else if is_jump_in(self.target, instr.op) {
                    self.blocks[b].instrs[i].except = handler;
                    let target = instr.target.unwrap();
                    if !self.blocks[target].visited {
                        if self.blocks[b].has_fallthrough() {
                            self.blocks[target].exceptstack = except_stack.clone();
                        } else {
                            self.blocks[target].exceptstack = except_stack.take();
                        }
                        todo.push(target);
                        self.blocks[target].visited = true;
                    }
                } else {
                    let depth = except_stack.as_ref().map_or(0, |s| s.depth() as i32);
                    if instr.op == YIELD_VALUE {
                        if resume_bit {
                            last_yield_depth = depth;
                        } else {
                            self.blocks[b].instrs[i].arg = depth;
                        }
                    } else if instr.op == RESUME && resume_bit && instr.arg != 0 {
                        // RESUME_AT_FUNC_START is 0; bit 4 marks a resume
                        // at exception depth 1.
                        if last_yield_depth == 1 {
                            let bit = if self.target.has(Feature::ResumeDepthBit8) { 8 } else { 4 };
                            self.blocks[b].instrs[i].arg |= bit;
                        }
                        last_yield_depth = -1;
                    }
                    self.blocks[b].instrs[i].except = handler;
                }
            }
            if self.blocks[b].has_fallthrough() {
                if let Some(next) = self.blocks[b].next {
                    if !self.blocks[next].visited {
                        self.blocks[next].exceptstack = except_stack;
                        todo.push(next);
                        self.blocks[next].visited = true;
                    }
                }
            }
        }
    }

    /// The deepest stack any path needs.
    fn stackdepth(&mut self, code_flags: u32) -> Result<i32> {
        let mut walk = self.walk();
        while let Some(b) = walk.step(self) {
            self.blocks[b].startdepth = i32::MIN;
            self.blocks[b].visited = false;
        }
        let mut maxdepth = 0;
        let mut stack = Vec::new();
        let generator = code_flags & (0x20 | 0x80 | 0x200) != 0;
        let start = if generator && !self.target.has(Feature::StackDepthBeforePrefix) { 1 } else { 0 };
        let entry = self.entry;
        push_depth(&mut self.blocks, &mut stack, entry, start);
        while let Some(b) = stack.pop() {
            let mut depth = self.blocks[b].startdepth;
            let mut next = self.blocks[b].next;
            // The block's instructions are lent out while other blocks'
            // depths are set (an error drops the graph anyway): one slice
            // walk instead of two bounds checks and a copy per instruction.
            let instrs = std::mem::take(&mut self.blocks[b].instrs);
            for instr in &instrs {
                let effect = stack_effect(self.target, instr.op, instr.arg, false)
                    .ok_or_else(|| Refusal::internal(format!("no stack effect for {}", instr.op.name())))?;
                let new_depth = depth + effect;
                if new_depth < 0 {
                    return Err(Refusal::internal("negative stack depth"));
                }
                maxdepth = maxdepth.max(new_depth);
                // 3.14's `END_ASYNC_FOR` names a target the depth pass does
                // not follow (the plain predicate leaves it out).
                if has_target(instr.op) {
                    let effect = stack_effect(self.target, instr.op, instr.arg, true).unwrap_or(0);
                    let target_depth = depth + effect;
                    maxdepth = maxdepth.max(target_depth);
                    push_depth(&mut self.blocks, &mut stack, instr.target.unwrap(), target_depth);
                }
                depth = new_depth;
                if ends_flow(instr.op) {
                    next = None;
                    break;
                }
            }
            self.blocks[b].instrs = instrs;
            if let Some(next) = next {
                push_depth(&mut self.blocks, &mut stack, next, depth);
            }
        }
        Ok(maxdepth)
    }

    /// 3.14: `JUMP_IF_FALSE`/`JUMP_IF_TRUE` become `COPY 1; TO_BOOL;
    /// POP_JUMP_IF_x`, the two new instructions at the jump's location and
    /// with its handler.
    fn convert_pseudo_conditional_jumps(&mut self) {
        let mut walk = self.walk();
        while let Some(b) = walk.step(self) {
            let Some(&last) = self.blocks[b].last() else { continue };
            let op = match last.op {
                JUMP_IF_FALSE => POP_JUMP_IF_FALSE,
                JUMP_IF_TRUE => POP_JUMP_IF_TRUE,
                _ => continue,
            };
            let li = self.blocks[b].instrs.len() - 1;
            self.blocks[b].instrs[li].op = op;
            let mut copy = CfgInstr::new(COPY, 1, last.loc);
            copy.except = last.except;
            let mut to_bool = CfgInstr::new(TO_BOOL, 0, last.loc);
            to_bool.except = last.except;
            self.blocks[b].instrs.insert(li, to_bool);
            self.blocks[b].instrs.insert(li, copy);
        }
    }

    fn convert_pseudo_ops(&mut self) {
        let mut walk = self.walk();
        while let Some(b) = walk.step(self) {
            for instr in &mut self.blocks[b].instrs {
                if is_block_push(instr.op) || instr.op == POP_BLOCK {
                    instr.set_op0(NOP);
                } else if instr.op == STORE_FAST_MAYBE_NULL {
                    instr.op = STORE_FAST;
                } else if instr.op == LOAD_CLOSURE && self.target.has(Feature::LoadClosurePseudo) {
                    instr.op = LOAD_FAST;
                }
            }
        }
        if self.target.has(Feature::ColdJumpNoInterrupt) {
            optimize::remove_redundant_nops_and_jumps(self);
        } else {
            let mut walk = self.walk();
            while let Some(b) = walk.step(self) {
                optimize::remove_redundant_nops(self, b);
            }
        }
    }

    /// The assembler's choice of `JUMP`/`JUMP_NO_INTERRUPT` direction: forward
    /// when the target's first instruction comes after the jump in the
    /// final sequence.
    fn resolve_unconditional_jumps(&mut self) {
        let start = self.first_instruction_indices();
        let mut walk = self.walk();
        while let Some(b) = walk.step(self) {
            for i in 0..self.blocks[b].instrs.len() {
                let instr = self.blocks[b].instrs[i];
                let Some(target) = instr.target else { continue };
                let forward = start[target.index()] > start[b.index()] + i;
                let op = match instr.op {
                    JUMP if forward => JUMP_FORWARD,
                    JUMP => JUMP_BACKWARD,
                    JUMP_NO_INTERRUPT if forward => JUMP_FORWARD,
                    JUMP_NO_INTERRUPT => JUMP_BACKWARD_NO_INTERRUPT,
                    _ => continue,
                };
                self.blocks[b].instrs[i].op = op;
            }
        }
    }

    fn normalize_jumps(&mut self) {
        self.reset_visited();
        let mut b = Some(self.entry);
        while let Some(id) = b {
            self.blocks[id].visited = true;
            self.normalize_jumps_in_block(id);
            b = self.blocks[id].next;
        }
    }

    fn normalize_jumps_in_block(&mut self, b: BlockId) {
        let Some(&last) = self.blocks[b].last() else { return };
        // Only the jumps that have a direction (`END_ASYNC_FOR`'s target
        // is always behind it and the assembler encodes it apart).
        if !is_jump(last.op) {
            return;
        }
        let target = last.target.unwrap();
        let is_forward = !self.blocks[target].visited;
        let li = self.blocks[b].instrs.len() - 1;
        if is_unconditional_jump(last.op) && self.target.has(Feature::AssemblerJumpDirection) {
            return;
        }
        match last.op {
            JUMP => {
                self.blocks[b].instrs[li].op = if is_forward { JUMP_FORWARD } else { JUMP_BACKWARD };
                return;
            }
            JUMP_NO_INTERRUPT => {
                self.blocks[b].instrs[li].op = if is_forward { JUMP_FORWARD } else { JUMP_BACKWARD_NO_INTERRUPT };
                return;
            }
            _ => {}
        }
        let reversed = match last.op {
            POP_JUMP_IF_NOT_NONE => POP_JUMP_IF_NONE,
            POP_JUMP_IF_NONE => POP_JUMP_IF_NOT_NONE,
            POP_JUMP_IF_FALSE => POP_JUMP_IF_TRUE,
            POP_JUMP_IF_TRUE => POP_JUMP_IF_FALSE,
            _ => CACHE,
        };
        // 3.14 marks the fall-through of a conditional jump with
        // `NOT_TAKEN`; made after exception targets were labelled, it has
        // no handler (G1, G5).
        let not_taken = self.target.has(Feature::NotTaken) && reversed != CACHE;
        if is_forward {
            if not_taken {
                let mut instr = CfgInstr::new(NOT_TAKEN, 0, last.loc);
                instr.except = if self.target.has(Feature::NoStaleSlotHandler) {
                    self.created_except(last.except)
                } else {
                    self.blocks[b].next_slot_except()
                };
                self.blocks[b].instrs.push(instr);
            }
            return;
        }
        let backwards = self.new_block();
        let label = self.blocks[target].label;
        let except = self.created_except(last.except);
        if not_taken {
            let mut instr = CfgInstr::new(NOT_TAKEN, 0, last.loc);
            instr.except = except;
            self.blocks[backwards].instrs.push(instr);
        }
        let mut jump = CfgInstr::new(JUMP, label, last.loc);
        jump.except = except;
        jump.target = Some(target);
        self.blocks[backwards].instrs.push(jump);
        let next = self.blocks[b].next;
        self.blocks[b].instrs[li].op = reversed;
        self.blocks[b].instrs[li].target = next;
        self.blocks[backwards].cold = self.blocks[b].cold;
        self.blocks[backwards].next = next;
        self.blocks[b].next = Some(backwards);
    }

    /// The handler of an instruction the flow graph makes from one whose
    /// handler is `from`: none until 3.15.0, `from` since 3.15.2 (P1).
    pub(crate) fn created_except(&self, from: Option<BlockId>) -> Option<BlockId> {
        if self.target.has(Feature::CfgInstrsInheritHandler) { from } else { None }
    }

    /// The index of each block's first instruction in the final sequence
    /// (an empty block's is that of the next instruction).
    fn first_instruction_indices(&self) -> Vec<usize> {
        let mut start = vec![0usize; self.blocks.len()];
        let mut index = 0;
        let mut walk = self.walk();
        while let Some(b) = walk.step(self) {
            start[b.index()] = index;
            index += self.blocks[b].instrs.len();
        }
        start
    }

    fn resolve_jump_offsets(&mut self) {
        let ops = self.target.ops();
        let order = self.order();
        if self.target.has(Feature::JumpOffsetsFromIndices) {
            // The fixpoint below has two solutions for a jump at the
            // `EXTENDED_ARG` boundary; which one is found depends on where
            // it starts, here from each target's instruction index.
            let start = self.first_instruction_indices();
            for &b in &order {
                for instr in &mut self.blocks[b].instrs {
                    if let (true, Some(target)) = (is_jump_in(self.target, instr.op), instr.target) {
                        instr.arg = i32::try_from(start[target.index()]).unwrap_or(i32::MAX);
                    }
                }
            }
        }
        loop {
            let mut totsize = 0i32;
            for &b in &order {
                let size: usize = self.blocks[b].instrs.iter().map(|i| ops.instr_size(i.op, i.arg)).sum();
                self.blocks[b].offset = totsize;
                totsize += size as i32;
            }
            let mut recompile = false;
            for &b in &order {
                let mut bsize = self.blocks[b].offset;
                for i in 0..self.blocks[b].instrs.len() {
                    let instr = self.blocks[b].instrs[i];
                    let isize = ops.instr_size(instr.op, instr.arg) as i32;
                    bsize += isize;
                    if is_jump_in(self.target, instr.op) {
                        let target_offset = self.blocks[instr.target.unwrap()].offset;
                        let arg = if instr.op == END_ASYNC_FOR {
                            // Counted back to the loop's `END_SEND`, which
                            // follows its target `SEND`, `YIELD_VALUE`,
                            // `RESUME` and the `JUMP_BACKWARD_NO_INTERRUPT`
                            // (3.14.md T5): 5 code units in 3.14, 6 from
                            // 3.15, where `RESUME` has an inline cache.
                            bsize - target_offset - end_send_after_send(ops)
                        } else if target_offset < bsize {
                            bsize - target_offset
                        } else {
                            target_offset - bsize
                        };
                        self.blocks[b].instrs[i].arg = arg;
                        if ops.instr_size(instr.op, arg) as i32 != isize {
                            recompile = true;
                        }
                    }
                }
            }
            if !recompile {
                break;
            }
        }
    }
}

/// Code units from a `SEND` of `add_yield_from` to its `END_SEND`: the
/// sizes of the instructions between them in this version's table (their
/// arguments never need an `EXTENDED_ARG`).
fn end_send_after_send(ops: &crate::ops::OpTable) -> i32 {
    [SEND, YIELD_VALUE, RESUME, JUMP_BACKWARD_NO_INTERRUPT].iter().map(|&op| ops.instr_size(op, 0) as i32).sum()
}

fn push_depth(blocks: &mut [Block], stack: &mut Vec<BlockId>, b: BlockId, depth: i32) {
    if blocks[b].startdepth < depth && blocks[b].startdepth < 100 {
        blocks[b].startdepth = depth;
        stack.push(b);
    }
}

/// Runs the passes on one unit, in `optimize_and_assemble_code_unit`'s
/// order, up to what assembly takes: the final instructions.
pub fn optimize(
    target: Target,
    md: &mut Metadata,
    seq: &InstrSeq,
    code_flags: u32,
    nparams: usize,
) -> Result<Assembly> {
    crate::check_deadline()?;
    // The unit is done with its constants once it is assembled.
    let mut consts: Vec<Constant> = std::mem::take(&mut md.consts);
    let mut g = Cfg::from_sequence(target, seq)?;
    let nlocals = md.varnames.len();
    // _PyCfg_OptimizeCodeUnit
    g.translate_jump_labels_to_targets()?;
    g.mark_except_handlers();
    g.label_exception_targets();
    optimize::optimize_cfg(&mut g, &mut consts, md.firstlineno)?;
    optimize::remove_unused_consts(&mut g, &mut consts);
    optimize::add_checks_for_loads_of_uninitialized_variables(&mut g, nlocals, nparams);
    if target.has(Feature::SuperInstructions) {
        optimize::insert_superinstructions(&mut g);
    }
    optimize::push_cold_blocks_to_end(&mut g);
    lines::resolve_line_numbers(&mut g, md.firstlineno);
    if target.has(Feature::JumpIfKeep) {
        g.convert_pseudo_conditional_jumps();
    }
    // Assembly.
    let before_prefix = target.has(Feature::StackDepthBeforePrefix);
    let early_depth = if before_prefix { Some(g.stackdepth(code_flags)?) } else { None };
    let nlocalsplus = prepare_localsplus(md, &mut g, code_flags);
    let maxdepth = match early_depth {
        Some(depth) => depth,
        None => g.stackdepth(code_flags)?,
    };
    g.convert_pseudo_ops();
    g.normalize_jumps();
    if target.has(Feature::BorrowLoads) {
        borrow::optimize_load_fast(&mut g);
    }
    if target.has(Feature::AssemblerJumpDirection) {
        g.resolve_unconditional_jumps();
    }
    g.resolve_jump_offsets();
    let mut count = 0;
    let mut walk = g.walk();
    while let Some(b) = walk.step(&g) {
        count += g.blocks[b].instrs.len();
    }
    let mut instrs = Vec::with_capacity(count);
    let mut walk = g.walk();
    while let Some(b) = walk.step(&g) {
        for instr in &g.blocks[b].instrs {
            let handler = match instr.except {
                Some(h) => (g.blocks[h].offset, g.blocks[h].startdepth, g.blocks[h].preserve_lasti),
                None => (-1, 0, false),
            };
            instrs.push(FinalInstr { op: instr.op, arg: instr.arg, loc: instr.loc, handler });
        }
    }
    Ok(Assembly { consts, maxdepth, instrs, nlocalsplus })
}

/// The offsets of cell and free variables in the frame, with the cells of
/// arguments merged into the arguments' own slots.
fn build_cellfixedoffsets(md: &Metadata) -> Vec<i32> {
    let nlocals = md.varnames.len() as i32;
    let ncells = md.cellvars.len();
    let nfree = md.freevars.len();
    let mut fixed: Vec<i32> = (0..(ncells + nfree) as i32).map(|i| nlocals + i).collect();
    for (name, &cellindex) in &md.cellvars.0 {
        if let Some(varindex) = md.varnames.get(name) {
            fixed[cellindex] = varindex as i32;
        }
    }
    fixed
}

fn prepare_localsplus(md: &Metadata, g: &mut Cfg, code_flags: u32) -> usize {
    let nlocals = md.varnames.len();
    let ncells = md.cellvars.len();
    let nfree = md.freevars.len();
    let mut nlocalsplus = nlocals + ncells + nfree;
    let mut fixed = build_cellfixedoffsets(md);
    let entry = g.entry;
    // insert_prefix_instructions
    if code_flags & (0x20 | 0x80 | 0x200) != 0 || md.generator_prefix {
        let firstlineno = md.firstlineno;
        // 3.15: a generator expression makes its iterator first (`RESUME 4;
        // LOAD_FAST .0; GET_ITER`), and the prefix goes right before the
        // scope's own `RESUME` (after the handler's setup, whose `NOP`
        // then shares the `GET_ITER`'s line and goes).
        let instrs = &g.blocks[entry].instrs;
        let at = if g.target.has(Feature::GenexprIterInside)
            && instrs.first().is_some_and(|i| i.op == RESUME && i.arg == RESUME_GENEXPR_START)
        {
            instrs.iter().skip(1).position(|i| i.op == RESUME).map_or(0, |k| k + 1)
        } else {
            0
        };
        g.blocks[entry]
            .instrs
            .insert(at, CfgInstr::new(RETURN_GENERATOR, 0, Loc::new(firstlineno, firstlineno, -1, -1)));
        let pop_loc = if g.target.has(Feature::LoadClosurePseudo) {
            Loc::new(firstlineno, firstlineno, -1, -1)
        } else {
            NO_LOCATION
        };
        g.blocks[entry].instrs.insert(at + 1, CfgInstr::new(POP_TOP, 0, pop_loc));
    }
    if ncells > 0 {
        let nvars = ncells + nlocals;
        let mut sorted = vec![0usize; nvars];
        for (i, &f) in fixed.iter().take(ncells).enumerate() {
            sorted[f as usize] = i + 1;
        }
        let mut used = 0;
        for &s in &sorted {
            if used >= ncells {
                break;
            }
            if s == 0 {
                continue;
            }
            g.blocks[entry].instrs.insert(used, CfgInstr::new(MAKE_CELL, (s - 1) as i32, NO_LOCATION));
            used += 1;
        }
    }
    if nfree > 0 {
        g.blocks[entry].instrs.insert(0, CfgInstr::new(COPY_FREE_VARS, nfree as i32, NO_LOCATION));
    }
    // fix_cell_offsets
    let mut numdropped = 0;
    for (i, f) in fixed.iter_mut().enumerate() {
        if *f == (i + nlocals) as i32 {
            *f -= numdropped;
        } else {
            numdropped += 1;
        }
    }
    let mut walk = g.walk();
    while let Some(b) = walk.step(g) {
        for instr in &mut g.blocks[b].instrs {
            if matches!(
                instr.op,
                MAKE_CELL | LOAD_CLOSURE | LOAD_DEREF | STORE_DEREF | DELETE_DEREF | LOAD_FROM_DICT_OR_DEREF
            ) {
                instr.arg = fixed[instr.arg as usize];
            }
        }
    }
    nlocalsplus -= numdropped as usize;
    nlocalsplus
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block id is its index, and an optional one takes no more room
    /// than the id (what keeps `CfgInstr` at 32 bytes).
    #[test]
    fn block_ids_are_compact_indices() {
        for index in [0usize, 1, 41, 1 << 20] {
            assert_eq!(BlockId::new(index).index(), index);
        }
        assert_eq!(std::mem::size_of::<Option<BlockId>>(), 4);
        let mut blocks = vec![Block::default(), Block { label: 7, ..Block::default() }];
        assert_eq!(blocks[BlockId::new(1)].label, 7);
        blocks[BlockId::new(0)].label = 3;
        assert_eq!(blocks[0].label, 3);
    }

    /// `END_ASYNC_FOR` counts back past 5 code units before 3.15 and 6
    /// from it, where `RESUME` gained a cache (3.15.md T4): the async-for
    /// jump was one unit too long under 3.15 while the size was fixed.
    #[test]
    fn end_send_follows_send_by_the_tables_sizes() {
        let units = |release: (u8, u8, u8)| end_send_after_send(Target::candidate(release).unwrap().ops());
        assert_eq!(units((3, 14, 10)), 5);
        assert_eq!(units((3, 15, 0)), 6);
        assert_eq!(units((3, 15, 2)), 6);
    }
}
