//! Instructions as code generation and the flow graph see them: an opcode
//! (real or pseudo), an argument (a label for jumps), and a location.
//!
//! The opcode numbers are generated from the interpreter (`generated/`);
//! the stack effects are written here and checked against
//! `dis.stack_effect` of CPython 3.12 by a test.

pub use crate::generated::opcodes::*;

/// A source range; `lineno == -1` means none (an artificial instruction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Loc {
    pub lineno: i32,
    pub end_lineno: i32,
    pub col_offset: i32,
    pub end_col_offset: i32,
}

pub const NO_LOCATION: Loc = Loc { lineno: -1, end_lineno: -1, col_offset: -1, end_col_offset: -1 };

impl Loc {
    pub fn new(lineno: i32, end_lineno: i32, col_offset: i32, end_col_offset: i32) -> Self {
        Self { lineno, end_lineno, col_offset, end_col_offset }
    }

    pub fn of(range: crate::ast::Range) -> Self {
        Self::new(range.lineno, range.end_lineno, range.col_offset, range.end_col_offset)
    }

    /// Whether `self` starts after `other` ends.
    pub fn is_after(self, other: Loc) -> bool {
        self.lineno > other.end_lineno || (self.lineno == other.end_lineno && self.col_offset > other.end_col_offset)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instr {
    pub op: u16,
    pub arg: i32,
    pub loc: Loc,
}

pub fn has_arg(op: u16) -> bool {
    HAS_ARG.binary_search(&op).is_ok()
}

pub fn has_const(op: u16) -> bool {
    HAS_CONST.contains(&op)
}

pub fn is_pseudo(op: u16) -> bool {
    (MIN_PSEUDO_OPCODE..=MAX_PSEUDO_OPCODE).contains(&op)
}

pub fn is_jump(op: u16) -> bool {
    matches!(
        op,
        FOR_ITER
            | JUMP_FORWARD
            | POP_JUMP_IF_FALSE
            | POP_JUMP_IF_TRUE
            | SEND
            | POP_JUMP_IF_NOT_NONE
            | POP_JUMP_IF_NONE
            | JUMP_BACKWARD_NO_INTERRUPT
            | JUMP_BACKWARD
            | JUMP
            | JUMP_NO_INTERRUPT
    )
}

pub fn is_block_push(op: u16) -> bool {
    matches!(op, SETUP_FINALLY | SETUP_CLEANUP | SETUP_WITH)
}

pub fn has_target(op: u16) -> bool {
    is_jump(op) || is_block_push(op)
}

pub fn is_scope_exit(op: u16) -> bool {
    matches!(op, RETURN_VALUE | RETURN_CONST | RAISE_VARARGS | RERAISE)
}

pub fn is_unconditional_jump(op: u16) -> bool {
    matches!(op, JUMP | JUMP_NO_INTERRUPT | JUMP_FORWARD | JUMP_BACKWARD | JUMP_BACKWARD_NO_INTERRUPT)
}

pub fn is_terminator(op: u16) -> bool {
    is_jump(op) || is_scope_exit(op)
}

pub fn is_backwards_jump(op: u16) -> bool {
    matches!(op, JUMP_BACKWARD | JUMP_BACKWARD_NO_INTERRUPT)
}

/// Code units the instruction takes: its `EXTENDED_ARG` prefixes, itself
/// and its inline cache.
pub fn instr_size(op: u16, arg: i32) -> usize {
    let extended = usize::from(arg > 0xFF_FFFF) + usize::from(arg > 0xFFFF) + usize::from(arg > 0xFF);
    extended + 1 + usize::from(CACHE_ENTRIES[usize::from(op)])
}

/// The net effect on the stack, on the branch taken (`jump`) or not.
/// `None` for opcodes code generation never emits.
pub fn stack_effect(op: u16, arg: i32, jump: bool) -> Option<i32> {
    let bit = |mask: i32| i32::from(arg & mask != 0);
    Some(match op {
        NOP
        | RESUME
        | EXTENDED_ARG
        | UNARY_NEGATIVE
        | UNARY_NOT
        | UNARY_INVERT
        | CHECK_EXC_MATCH
        | CHECK_EG_MATCH
        | GET_AITER
        | GET_ITER
        | GET_YIELD_FROM_ITER
        | RETURN_GENERATOR
        | SETUP_ANNOTATIONS
        | DELETE_NAME
        | DELETE_GLOBAL
        | SWAP
        | JUMP_FORWARD
        | RETURN_CONST
        | SEND
        | DELETE_FAST
        | GET_AWAITABLE
        | JUMP_BACKWARD_NO_INTERRUPT
        | MAKE_CELL
        | DELETE_DEREF
        | JUMP_BACKWARD
        | COPY_FREE_VARS
        | YIELD_VALUE
        | KW_NAMES
        | CALL_INTRINSIC_1
        | LOAD_FROM_DICT_OR_GLOBALS
        | LOAD_FROM_DICT_OR_DEREF => 0,
        POP_TOP | END_SEND | BINARY_SUBSCR | CLEANUP_THROW | RETURN_VALUE | POP_EXCEPT | STORE_NAME | DELETE_ATTR
        | STORE_GLOBAL | COMPARE_OP | IMPORT_NAME | POP_JUMP_IF_FALSE | POP_JUMP_IF_TRUE | IS_OP | CONTAINS_OP
        | RERAISE | BINARY_OP | STORE_FAST | POP_JUMP_IF_NOT_NONE | POP_JUMP_IF_NONE | STORE_DEREF | LIST_APPEND
        | SET_ADD | LIST_EXTEND | SET_UPDATE | DICT_MERGE | DICT_UPDATE | CALL_INTRINSIC_2 | INTERPRETER_EXIT => -1,
        PUSH_NULL | GET_LEN | MATCH_MAPPING | MATCH_SEQUENCE | MATCH_KEYS | PUSH_EXC_INFO | WITH_EXCEPT_START
        | GET_ANEXT | BEFORE_ASYNC_WITH | BEFORE_WITH | LOAD_BUILD_CLASS | LOAD_ASSERTION_ERROR | LOAD_LOCALS
        | LOAD_CONST | LOAD_NAME | IMPORT_FROM | COPY | LOAD_FAST | LOAD_FAST_CHECK | LOAD_CLOSURE | LOAD_DEREF
        | LOAD_FAST_AND_CLEAR | FOR_ITER => 1,
        END_FOR | STORE_ATTR | DELETE_SUBSCR | END_ASYNC_FOR | BINARY_SLICE | MAP_ADD | MATCH_CLASS => -2,
        STORE_SUBSCR => -3,
        STORE_SLICE => -4,
        UNPACK_SEQUENCE => arg - 1,
        UNPACK_EX => (arg & 0xFF) + (arg >> 8),
        BUILD_TUPLE | BUILD_LIST | BUILD_SET | BUILD_STRING => 1 - arg,
        BUILD_MAP => 1 - 2 * arg,
        BUILD_CONST_KEY_MAP => -arg,
        BUILD_SLICE => {
            if arg == 3 {
                -2
            } else {
                -1
            }
        }
        LOAD_ATTR => bit(1),
        LOAD_GLOBAL => 1 + bit(1),
        LOAD_SUPER_ATTR => -2 + bit(1),
        RAISE_VARARGS => -arg,
        MAKE_FUNCTION => -(bit(1) + bit(2) + bit(4) + bit(8)),
        CALL_FUNCTION_EX => -2 - bit(1),
        FORMAT_VALUE => -bit(4),
        CALL => -1 - arg,
        // Pseudo-instructions.
        SETUP_FINALLY | SETUP_WITH => i32::from(jump),
        SETUP_CLEANUP => 2 * i32::from(jump),
        POP_BLOCK | JUMP | JUMP_NO_INTERRUPT => 0,
        STORE_FAST_MAYBE_NULL => -1,
        LOAD_METHOD => 1,
        LOAD_SUPER_METHOD | LOAD_ZERO_SUPER_METHOD | LOAD_ZERO_SUPER_ATTR => -1,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_count_extended_args_and_caches() {
        assert_eq!(instr_size(NOP, 0), 1);
        assert_eq!(instr_size(LOAD_CONST, 300), 2);
        assert_eq!(instr_size(LOAD_ATTR, 0), 10);
        assert_eq!(instr_size(CALL, 0x1_0000), 6);
    }

    #[test]
    fn opcode_classes() {
        assert!(has_arg(LOAD_CONST) && !has_arg(POP_TOP) && has_arg(JUMP));
        assert!(is_terminator(RETURN_VALUE) && is_terminator(JUMP) && !is_terminator(POP_TOP));
        assert!(has_target(SETUP_FINALLY) && !is_jump(SETUP_FINALLY));
    }
}
