//! Instructions as code generation and the flow graph see them: a
//! symbolic opcode ([`Op`], real or pseudo), an argument (a label for
//! jumps), and a location; what each opcode does to control flow and to
//! the stack.
//!
//! Opcode numbers are not here: each version's come from its table
//! ([`crate::ops::OpTable`]) at assembly. The stack effects are written here
//! and checked against the interpreter's `dis.stack_effect` by a test.

pub use crate::ops::Op::{self, *};
use crate::target::{Feature, Target};

/// A source range; `lineno == -1` means none (an artificial instruction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Loc {
    pub lineno: i32,
    pub end_lineno: i32,
    pub col_offset: i32,
    pub end_col_offset: i32,
}

pub const NO_LOCATION: Loc = Loc { lineno: -1, end_lineno: -1, col_offset: -1, end_col_offset: -1 };

/// 3.14: "the location of the instruction that ends up after this one",
/// resolved when the code is assembled ([`Feature::MatchPopNextLocation`]).
/// Until then it is no line to the flow graph's passes, but not one that
/// line propagation fills in.
pub const NEXT_LOCATION: Loc = Loc { lineno: -2, end_lineno: -2, col_offset: -2, end_col_offset: -2 };

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
    pub op: Op,
    pub arg: i32,
    pub loc: Loc,
}

/// Class bits of each op, looked up by the predicates below: the flow
/// graph asks them of every instruction in almost every pass, and one load
/// and mask is cheaper than the range tests a `matches!` of scattered
/// variants compiles to.
const JUMP_BIT: u8 = 1;
const BLOCK_PUSH_BIT: u8 = 2;
const SCOPE_EXIT_BIT: u8 = 4;
const UNCONDITIONAL_BIT: u8 = 8;
const BACKWARDS_BIT: u8 = 16;

static CLASSES: [u8; Op::COUNT] = classes();

/// The ops with a jump target in every version (the table's source for
/// [`is_jump`], and usable in other `const` tables).
pub(crate) const fn jumps(op: Op) -> bool {
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
            | JUMP_IF_FALSE
            | JUMP_IF_TRUE
    )
}

const fn classes() -> [u8; Op::COUNT] {
    let mut table = [0u8; Op::COUNT];
    let mut i = 0;
    while i < Op::COUNT {
        let op = Op::ALL[i];
        let mut bits = 0;
        if jumps(op) {
            bits |= JUMP_BIT;
        }
        if matches!(op, SETUP_FINALLY | SETUP_CLEANUP | SETUP_WITH) {
            bits |= BLOCK_PUSH_BIT;
        }
        if matches!(op, RETURN_VALUE | RETURN_CONST | RAISE_VARARGS | RERAISE) {
            bits |= SCOPE_EXIT_BIT;
        }
        if matches!(op, JUMP | JUMP_NO_INTERRUPT | JUMP_FORWARD | JUMP_BACKWARD | JUMP_BACKWARD_NO_INTERRUPT) {
            bits |= UNCONDITIONAL_BIT;
        }
        if matches!(op, JUMP_BACKWARD | JUMP_BACKWARD_NO_INTERRUPT) {
            bits |= BACKWARDS_BIT;
        }
        table[i] = bits;
        i += 1;
    }
    table
}

#[inline]
fn class(op: Op) -> u8 {
    CLASSES[op as usize]
}

#[inline]
pub fn is_jump(op: Op) -> bool {
    class(op) & JUMP_BIT != 0
}

/// Whether `op` jumps in `target`'s flow graph: [`is_jump`], and from 3.14
/// `END_ASYNC_FOR`, which names the `SEND` of its loop's `__anext__` await
/// as its target ([`Feature::EndAsyncForJump`]). CPython's flow graph
/// treats it as a jump everywhere but in the stack depth.
#[inline]
pub fn is_jump_in(target: Target, op: Op) -> bool {
    is_jump(op) || (op == END_ASYNC_FOR && target.has(Feature::EndAsyncForJump))
}

/// [`has_target`] in `target`'s flow graph (see [`is_jump_in`]).
#[inline]
pub fn has_target_in(target: Target, op: Op) -> bool {
    class(op) & (JUMP_BIT | BLOCK_PUSH_BIT) != 0 || (op == END_ASYNC_FOR && target.has(Feature::EndAsyncForJump))
}

/// [`is_terminator`] in `target`'s flow graph (see [`is_jump_in`]).
#[inline]
pub fn is_terminator_in(target: Target, op: Op) -> bool {
    class(op) & (JUMP_BIT | SCOPE_EXIT_BIT) != 0 || (op == END_ASYNC_FOR && target.has(Feature::EndAsyncForJump))
}

#[inline]
pub fn is_block_push(op: Op) -> bool {
    class(op) & BLOCK_PUSH_BIT != 0
}

#[inline]
pub fn has_target(op: Op) -> bool {
    class(op) & (JUMP_BIT | BLOCK_PUSH_BIT) != 0
}

#[inline]
pub fn is_scope_exit(op: Op) -> bool {
    class(op) & SCOPE_EXIT_BIT != 0
}

#[inline]
pub fn is_unconditional_jump(op: Op) -> bool {
    class(op) & UNCONDITIONAL_BIT != 0
}

/// Control never goes on to the next instruction: a scope exit or an
/// unconditional jump (one lookup for `Block::no_fallthrough`).
#[inline]
pub fn ends_flow(op: Op) -> bool {
    class(op) & (SCOPE_EXIT_BIT | UNCONDITIONAL_BIT) != 0
}

#[inline]
pub fn is_terminator(op: Op) -> bool {
    class(op) & (JUMP_BIT | SCOPE_EXIT_BIT) != 0
}

#[inline]
pub fn is_backwards_jump(op: Op) -> bool {
    class(op) & BACKWARDS_BIT != 0
}

/// The net effect on the stack, on the branch taken (`jump`) or not.
/// `None` for opcodes code generation never emits. An op a version lacks
/// never reaches here; where a version changed an op's effect, it branches
/// on the feature that changed it.
pub fn stack_effect(target: Target, op: Op, arg: i32, jump: bool) -> Option<i32> {
    let bit = |mask: i32| i32::from(arg & mask != 0);
    Some(match op {
        // 3.13: END_FOR pops the iterator's last value only; POP_TOP
        // follows it.
        END_FOR if target.has(Feature::EndForPopTop) => -1,
        // 3.15: iteration holds a pair (the iterable and its state), and
        // the receiver of `SEND` is one too.
        GET_ITER if target.has(Feature::IterPair) => 1,
        POP_ITER if target.has(Feature::IterPair) => -2,
        END_SEND if target.has(Feature::SendPushNull) => -2,
        TO_BOOL | CONVERT_VALUE | FORMAT_SIMPLE | STORE_FAST_LOAD_FAST => 0,
        FORMAT_WITH_SPEC | SET_FUNCTION_ATTRIBUTE => -1,
        CALL_KW => -2 - arg,
        LOAD_FAST_LOAD_FAST => 2,
        // Data of 3.13's generated metadata: the generator object it pushes
        // is counted (the flow graph of 3.13 counts depth before the
        // generator prefix exists).
        RETURN_GENERATOR if target.version() >= (3, 13) => 1,
        EXIT_INIT_CHECK => -1,
        // 3.14's metadata: a returned value counts as replaced, a slice as
        // built from `arg` values.
        RETURN_VALUE if target.version() >= (3, 14) => 0,
        BUILD_SLICE if target.version() >= (3, 14) => 1 - arg,
        LOAD_FAST_BORROW => 1,
        LOAD_FAST_BORROW_LOAD_FAST_BORROW => 2,
        BUILD_INTERPOLATION => -1 - (arg & 1),
        BUILD_TEMPLATE => -1,
        ANNOTATIONS_PLACEHOLDER => 0,
        STORE_FAST_STORE_FAST => -2,
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
        CALL_FUNCTION_EX if target.has(Feature::CallExKwargsSlot) => -3,
        CALL_FUNCTION_EX => -2 - bit(1),
        POP_ITER => -1,
        // 3.15's JIT tracing op: never in a cache, no stack effect.
        NOT_TAKEN | TRACE_RECORD => 0,
        LOAD_SMALL_INT | LOAD_COMMON_CONSTANT | LOAD_SPECIAL => 1,
        FORMAT_VALUE => -bit(4),
        CALL => -1 - arg,
        // Pseudo-instructions.
        SETUP_FINALLY | SETUP_WITH => i32::from(jump),
        SETUP_CLEANUP => 2 * i32::from(jump),
        POP_BLOCK | JUMP | JUMP_NO_INTERRUPT | JUMP_IF_FALSE | JUMP_IF_TRUE => 0,
        STORE_FAST_MAYBE_NULL => -1,
        LOAD_METHOD => 1,
        LOAD_SUPER_METHOD | LOAD_ZERO_SUPER_METHOD | LOAD_ZERO_SUPER_ATTR => -1,
        _ => return None,
    })
}

/// `CALL_INTRINSIC_1`'s arguments (the same in every version's table so
/// far: a test checks them against each).
pub const INTRINSIC_1_INVALID: u32 = 0;
pub const INTRINSIC_PRINT: u32 = 1;
pub const INTRINSIC_IMPORT_STAR: u32 = 2;
pub const INTRINSIC_STOPITERATION_ERROR: u32 = 3;
pub const INTRINSIC_ASYNC_GEN_WRAP: u32 = 4;
pub const INTRINSIC_UNARY_POSITIVE: u32 = 5;
pub const INTRINSIC_LIST_TO_TUPLE: u32 = 6;
pub const INTRINSIC_TYPEVAR: u32 = 7;
pub const INTRINSIC_PARAMSPEC: u32 = 8;
pub const INTRINSIC_TYPEVARTUPLE: u32 = 9;
pub const INTRINSIC_SUBSCRIPT_GENERIC: u32 = 10;
pub const INTRINSIC_TYPEALIAS: u32 = 11;
/// `CALL_INTRINSIC_2`'s arguments.
pub const INTRINSIC_2_INVALID: u32 = 0;
pub const INTRINSIC_PREP_RERAISE_STAR: u32 = 1;
pub const INTRINSIC_TYPEVAR_WITH_BOUND: u32 = 2;
pub const INTRINSIC_TYPEVAR_WITH_CONSTRAINTS: u32 = 3;
pub const INTRINSIC_SET_FUNCTION_TYPE_PARAMS: u32 = 4;
/// New in 3.13 (`Feature::TypeParamDefaults`).
pub const INTRINSIC_SET_TYPEPARAM_DEFAULT: u32 = 5;

/// `BINARY_OP`'s arguments (`opcode._nb_ops`).
pub const NB_ADD: u32 = 0;
pub const NB_AND: u32 = 1;
pub const NB_FLOOR_DIVIDE: u32 = 2;
pub const NB_LSHIFT: u32 = 3;
pub const NB_MATRIX_MULTIPLY: u32 = 4;
pub const NB_MULTIPLY: u32 = 5;
pub const NB_REMAINDER: u32 = 6;
pub const NB_OR: u32 = 7;
pub const NB_POWER: u32 = 8;
pub const NB_RSHIFT: u32 = 9;
pub const NB_SUBTRACT: u32 = 10;
pub const NB_TRUE_DIVIDE: u32 = 11;
pub const NB_XOR: u32 = 12;
pub const NB_INPLACE_ADD: u32 = 13;
pub const NB_INPLACE_AND: u32 = 14;
pub const NB_INPLACE_FLOOR_DIVIDE: u32 = 15;
pub const NB_INPLACE_LSHIFT: u32 = 16;
pub const NB_INPLACE_MATRIX_MULTIPLY: u32 = 17;
pub const NB_INPLACE_MULTIPLY: u32 = 18;
pub const NB_INPLACE_REMAINDER: u32 = 19;
pub const NB_INPLACE_OR: u32 = 20;
pub const NB_INPLACE_POWER: u32 = 21;
pub const NB_INPLACE_RSHIFT: u32 = 22;
pub const NB_INPLACE_SUBTRACT: u32 = 23;
pub const NB_INPLACE_TRUE_DIVIDE: u32 = 24;
pub const NB_INPLACE_XOR: u32 = 25;
/// 3.14: subscription is a binary operation (`Feature::SubscrBinaryOp`).
pub const NB_SUBSCR: u32 = 26;

/// `LOAD_SPECIAL`'s arguments (3.14, `Feature::LoadSpecialWith`).
pub const SPECIAL_ENTER: usize = 0;
pub const SPECIAL_EXIT: usize = 1;
pub const SPECIAL_AENTER: usize = 2;
pub const SPECIAL_AEXIT: usize = 3;

/// `IMPORT_NAME`'s flag of an import lazy imports cannot apply to (3.15,
/// `Feature::ImportNameFlags`; 1 is `lazy import`).
pub const IMPORT_EAGER: usize = 2;
/// `IMPORT_NAME`'s flag of `lazy import` (3.15, `Feature::LazyImports`).
pub const IMPORT_LAZY: usize = 1;

/// `GET_ITER`'s argument for `yield from` (3.15, `Feature::SendPushNull`).
pub const GET_ITER_YIELD_FROM: usize = 3;
/// The argument of the `RESUME` that starts a generator expression before
/// its iterator is made (3.15, `Feature::GenexprIterInside`).
pub const RESUME_GENEXPR_START: i32 = 4;

/// `LOAD_COMMON_CONSTANT`'s arguments (3.14, `Feature::LoadCommonConstant`).
pub const COMMON_ASSERTION_ERROR: usize = 0;
pub const COMMON_NOT_IMPLEMENTED_ERROR: usize = 1;
pub const COMMON_BUILTIN_TUPLE: usize = 2;
pub const COMMON_BUILTIN_ALL: usize = 3;
pub const COMMON_BUILTIN_ANY: usize = 4;
/// 3.15 (`Feature::InlinedListSetGenexpr`, `Feature::CommonConstantLoads`).
pub const COMMON_BUILTIN_LIST: usize = 5;
pub const COMMON_BUILTIN_SET: usize = 6;
pub const COMMON_NONE: i32 = 7;
pub const COMMON_EMPTY_STR: i32 = 8;
pub const COMMON_TRUE: i32 = 9;
pub const COMMON_FALSE: i32 = 10;
pub const COMMON_MINUS_ONE: i32 = 11;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcode_classes() {
        assert!(is_terminator(RETURN_VALUE) && is_terminator(JUMP) && !is_terminator(POP_TOP));
        assert!(has_target(SETUP_FINALLY) && !is_jump(SETUP_FINALLY));
    }

    /// The combined lookups of the class table say what their parts say,
    /// for every op.
    #[test]
    fn class_table_lookups_agree_with_their_parts() {
        for op in Op::ALL {
            assert_eq!(has_target(op), is_jump(op) || is_block_push(op), "{op:?}");
            assert_eq!(is_terminator(op), is_jump(op) || is_scope_exit(op), "{op:?}");
            assert_eq!(ends_flow(op), is_scope_exit(op) || is_unconditional_jump(op), "{op:?}");
            assert!(!is_unconditional_jump(op) || is_jump(op), "{op:?}");
            assert!(!is_backwards_jump(op) || is_unconditional_jump(op), "{op:?}");
        }
        assert!(is_jump(FOR_ITER) && is_jump(JUMP_IF_TRUE) && !is_jump(END_ASYNC_FOR));
        assert!(is_scope_exit(RERAISE) && ends_flow(JUMP_FORWARD) && !ends_flow(POP_JUMP_IF_NONE));
    }

    /// The argument numbers above are each version's own: every name is at
    /// its number in each table that has it.
    #[test]
    fn argument_numbers_match_every_table() {
        let ours: &[(&str, u32)] = &[
            ("INTRINSIC_PRINT", INTRINSIC_PRINT),
            ("INTRINSIC_IMPORT_STAR", INTRINSIC_IMPORT_STAR),
            ("INTRINSIC_STOPITERATION_ERROR", INTRINSIC_STOPITERATION_ERROR),
            ("INTRINSIC_ASYNC_GEN_WRAP", INTRINSIC_ASYNC_GEN_WRAP),
            ("INTRINSIC_UNARY_POSITIVE", INTRINSIC_UNARY_POSITIVE),
            ("INTRINSIC_LIST_TO_TUPLE", INTRINSIC_LIST_TO_TUPLE),
            ("INTRINSIC_TYPEVAR", INTRINSIC_TYPEVAR),
            ("INTRINSIC_PARAMSPEC", INTRINSIC_PARAMSPEC),
            ("INTRINSIC_TYPEVARTUPLE", INTRINSIC_TYPEVARTUPLE),
            ("INTRINSIC_SUBSCRIPT_GENERIC", INTRINSIC_SUBSCRIPT_GENERIC),
            ("INTRINSIC_TYPEALIAS", INTRINSIC_TYPEALIAS),
        ];
        let ours2: &[(&str, u32)] = &[
            ("INTRINSIC_PREP_RERAISE_STAR", INTRINSIC_PREP_RERAISE_STAR),
            ("INTRINSIC_TYPEVAR_WITH_BOUND", INTRINSIC_TYPEVAR_WITH_BOUND),
            ("INTRINSIC_TYPEVAR_WITH_CONSTRAINTS", INTRINSIC_TYPEVAR_WITH_CONSTRAINTS),
            ("INTRINSIC_SET_FUNCTION_TYPE_PARAMS", INTRINSIC_SET_FUNCTION_TYPE_PARAMS),
            ("INTRINSIC_SET_TYPEPARAM_DEFAULT", INTRINSIC_SET_TYPEPARAM_DEFAULT),
        ];
        let nb: &[(&str, u32)] = &[
            ("NB_ADD", NB_ADD),
            ("NB_AND", NB_AND),
            ("NB_FLOOR_DIVIDE", NB_FLOOR_DIVIDE),
            ("NB_LSHIFT", NB_LSHIFT),
            ("NB_MATRIX_MULTIPLY", NB_MATRIX_MULTIPLY),
            ("NB_MULTIPLY", NB_MULTIPLY),
            ("NB_REMAINDER", NB_REMAINDER),
            ("NB_OR", NB_OR),
            ("NB_POWER", NB_POWER),
            ("NB_RSHIFT", NB_RSHIFT),
            ("NB_SUBTRACT", NB_SUBTRACT),
            ("NB_TRUE_DIVIDE", NB_TRUE_DIVIDE),
            ("NB_XOR", NB_XOR),
            ("NB_INPLACE_ADD", NB_INPLACE_ADD),
            ("NB_INPLACE_AND", NB_INPLACE_AND),
            ("NB_INPLACE_FLOOR_DIVIDE", NB_INPLACE_FLOOR_DIVIDE),
            ("NB_INPLACE_LSHIFT", NB_INPLACE_LSHIFT),
            ("NB_INPLACE_MATRIX_MULTIPLY", NB_INPLACE_MATRIX_MULTIPLY),
            ("NB_INPLACE_MULTIPLY", NB_INPLACE_MULTIPLY),
            ("NB_INPLACE_REMAINDER", NB_INPLACE_REMAINDER),
            ("NB_INPLACE_OR", NB_INPLACE_OR),
            ("NB_INPLACE_POWER", NB_INPLACE_POWER),
            ("NB_INPLACE_RSHIFT", NB_INPLACE_RSHIFT),
            ("NB_INPLACE_SUBTRACT", NB_INPLACE_SUBTRACT),
            ("NB_INPLACE_TRUE_DIVIDE", NB_INPLACE_TRUE_DIVIDE),
            ("NB_INPLACE_XOR", NB_INPLACE_XOR),
        ];
        for table in pycache_opcode::tables().iter().filter(|t| t.version >= (3, 12)) {
            let at = |list: &[&str], name: &str| list.iter().position(|n| *n == name).map(|i| i as u32);
            let nb_names: Vec<&str> = table.nb_ops.iter().map(|(n, _)| *n).collect();
            for (list, names) in [(table.intrinsic_1, ours), (table.intrinsic_2, ours2), (&nb_names[..], nb)] {
                for &(name, number) in names {
                    // An argument a version does not have yet is absent from its list.
                    if table.version < (3, 13) && name == "INTRINSIC_SET_TYPEPARAM_DEFAULT" {
                        assert_eq!(at(list, name), None);
                        continue;
                    }
                    assert_eq!(at(list, name), Some(number), "{name} in {:?}", table.version);
                }
            }
        }
    }
}
