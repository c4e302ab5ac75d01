//! The limits CPython puts on what it compiles, in one place.
//!
//! Each is a fact of one interpreter release, learnt from its sources and
//! checked against the interpreter by `tests/limits.rs` at the limit and one
//! past it. Each [`crate::Profile`] holds the value of its releases (a later
//! target gets its own where its numbers differ); the stages read them from
//! the target they are given, never as literals.

/// What one CPython release refuses, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The tokenizer's indentation stack (`MAXINDENT`): one more level is
    /// an IndentationError, "too many levels of indentation".
    pub indent_levels: usize,
    /// Open brackets at once (`MAXLEVEL`): one more is a SyntaxError, "too
    /// many nested parentheses".
    pub bracket_levels: usize,
    /// f-strings inside f-strings (`MAXFSTRINGLEVEL`): reaching it is a
    /// SyntaxError, "too many nested f-strings".
    pub fstring_levels: usize,
    /// Replacement fields nested in format specs: a field inside a spec
    /// inside a spec is fine, one more is "f-string: expressions nested too
    /// deeply".
    pub format_spec_nesting: usize,
    /// The parser's rule stack (`MAXSTACK`): past it, MemoryError "Parser
    /// stack overflowed - Python source too complex to parse".
    pub parser_stack: usize,
    /// The recursion budget of the AST optimiser and the symbol table:
    /// `C_RECURSION_LIMIT` (1500) times `COMPILER_STACK_FRAME_SCALE` (2).
    /// Each statement or expression visited holds one level; past the
    /// budget, RecursionError "maximum recursion depth exceeded during
    /// compilation".
    pub compiler_recursion: usize,
    /// What the C stack of the caller already takes from that budget in a
    /// fresh `python -m py_compile` process (the reference): measured, and
    /// a few levels uncertain, hence [`Limits::compiler_recursion_slack`].
    pub compiler_recursion_start: usize,
    /// Within this many levels of the budget the verdict depends on how
    /// deep the caller's C stack is, which differs between py_compile,
    /// compileall and `compile()`: such files are declined, not judged.
    pub compiler_recursion_slack: usize,
    /// `sys.int_info.default_max_str_digits`: a decimal literal with more
    /// digits is a SyntaxError.
    pub int_max_str_digits: usize,
    /// Objects nested in a marshalled code object (`MAX_MARSHAL_STACK_DEPTH`):
    /// past it, ValueError "object too deeply nested to marshal".
    pub marshal_depth: usize,
    /// Blocks (loops, try, with) nested in one function (`CO_MAXBLOCKS`).
    pub static_blocks: usize,
    /// Constant folding leaves unfolded an integer result wider than this
    /// many bits (`MAX_INT_SIZE`).
    pub fold_int_bits: u64,
    /// It leaves unfolded a repeated tuple longer than this
    /// (`MAX_COLLECTION_SIZE`).
    pub fold_collection_size: usize,
    /// It leaves unfolded a repeated str or bytes longer than this
    /// (`MAX_STR_SIZE`).
    pub fold_str_size: usize,
    /// It leaves unfolded a repeated tuple whose items, nested ones
    /// counted, would be more than this (`MAX_TOTAL_ITEMS`).
    pub fold_total_items: i64,
    /// The largest int of the interpreter's small-int cache (from -5): one
    /// immortal object per value, which marshal always flags.
    pub small_int_max: i64,
}

/// CPython 3.12.1.
pub const CPYTHON_3_12: Limits = Limits {
    indent_levels: 100,
    bracket_levels: 200,
    fstring_levels: 150,
    format_spec_nesting: 2,
    parser_stack: 6000,
    compiler_recursion: 3000,
    compiler_recursion_start: 6,
    compiler_recursion_slack: 4,
    int_max_str_digits: 4300,
    marshal_depth: 2000,
    static_blocks: 20,
    fold_int_bits: 128,
    fold_collection_size: 256,
    fold_str_size: 4096,
    fold_total_items: 1024,
    small_int_max: 256,
};

/// CPython 3.12.7 (Pyodide 0.27.7): 21 nested loops compile in a function,
/// 22 do not, as in 3.13 (3.12.1: 20); with `StopIterationBlock`, 20 in a
/// generator or coroutine. Its compiler recursion limit is not measured
/// (`Feature::UnmeasuredRecursionLimit`): 3.12.1's budget is kept as where
/// the native compiler stops judging.
pub const CPYTHON_3_12_7: Limits = Limits { static_blocks: 21, ..CPYTHON_3_12 };

/// CPython 3.13 (checked for `static_blocks` against 3.13.0, 3.13.5 and
/// 3.13.18). Its compiler's recursion budget is `Py_C_RECURSION_LIMIT`
/// (10,000) levels: `x = 1+1+...` compiles with 9,993 terms and raises
/// RecursionError with 9,994 in 3.13.0 and 3.13.18 (3.12.1: 2,987 and
/// 2,988), so the parser's stack, the same as 3.12's, now fails first on
/// most deep nesting (`not` chains: MemoryError past 5,967). The rest are
/// 3.12's until `tests/limits.rs` covers 3.13.
pub const CPYTHON_3_13: Limits = Limits { static_blocks: 21, compiler_recursion: 10_000, ..CPYTHON_3_12 };

/// CPython 3.14 (`static_blocks` checked against 3.14.8 and 3.14.10: 21
/// nested loops compile, 22 do not; the parser's limits as 3.13's). Its
/// compiler recursion limit measures the C stack instead
/// (`Feature::StackMeasuredRecursion`): the level budget kept here is only
/// where the native compiler stops judging.
pub const CPYTHON_3_14: Limits = CPYTHON_3_13;

/// CPython 3.15's: 3.14's, but its small-int cache holds -5..=1024
/// (`int(str(i)) is int(str(i))` measured on 3.15.0 and 3.15.2).
pub const CPYTHON_3_15: Limits = Limits { small_int_max: 1024, ..CPYTHON_3_14 };

/// The error messages CPython gives at these limits.
pub mod message {
    pub const TOO_MANY_INDENTS: &str = "too many levels of indentation";
    pub const TOO_MANY_BRACKETS: &str = "too many nested parentheses";
    pub const TOO_MANY_FSTRINGS: &str = "too many nested f-strings";
    pub const SPEC_TOO_DEEP: &str = "f-string: expressions nested too deeply";
    pub const PARSER_STACK: &str = "Parser stack overflowed - Python source too complex to parse";
    pub const RECURSION: &str = "maximum recursion depth exceeded during compilation";
    pub const MARSHAL_DEPTH: &str = "object too deeply nested to marshal";
    pub const TAB_ERROR: &str = "inconsistent use of tabs and spaces in indentation";
    pub const UNINDENT: &str = "unindent does not match any outer indentation level";
}
