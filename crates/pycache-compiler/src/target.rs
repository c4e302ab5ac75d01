//! What the compiler compiles for: a [`Target`] is a CPython feature
//! version (3.12) together with the [`Profile`] of the patch releases whose
//! output it reproduces byte for byte (3.12.1).
//!
//! Every stage reads what it needs from the target it is handed, never from
//! a constant of its own:
//! - **data** that differs between versions comes from tables generated from
//!   the interpreters: opcode numbers, argument classes and inline caches
//!   ([`Target::ops`], from `pycache-opcode`), the limits ([`Profile::limits`]),
//!   the strings a fresh process has interned (`marshal`);
//! - **behaviour** that differs is a named [`Feature`], with the releases
//!   that introduced it, and a stage asks `target.has(Feature::X)` where it
//!   branches. A stage is never copied per version.
//!
//! [`VERIFIED`] lists the profiles, each with the releases the differential
//! tests have checked it against; [`Target::exact`] finds the profile of a
//! release, [`Target::newest`] the newest verified profile of a feature
//! version (`--target 3.12`).

use std::fmt;

use crate::limits::{self, Limits};
use crate::ops::OpTable;

/// A CPython release, such as 3.12.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Release {
    pub major: u8,
    pub minor: u8,
    pub micro: u8,
}

impl Release {
    pub const fn new(major: u8, minor: u8, micro: u8) -> Self {
        Self { major, minor, micro }
    }

    /// The feature version, such as (3, 12).
    pub const fn version(self) -> (u8, u8) {
        (self.major, self.minor)
    }

    const fn before(self, other: Release) -> bool {
        self.major < other.major
            || (self.major == other.major
                && (self.minor < other.minor || (self.minor == other.minor && self.micro < other.micro)))
    }

    const fn same_branch(self, other: Release) -> bool {
        self.major == other.major && self.minor == other.minor
    }
}

impl std::str::FromStr for Release {
    type Err = String;

    /// `3.13.18`, as tools and tests name a release.
    fn from_str(text: &str) -> Result<Self, String> {
        let parts: Option<Vec<u8>> = text.split('.').map(|p| p.parse().ok()).collect();
        match parts.as_deref() {
            Some(&[major, minor, micro]) => Ok(Self::new(major, minor, micro)),
            _ => Err(format!("`{text}` is not a release like 3.13.18")),
        }
    }
}

impl From<(u8, u8, u8)> for Release {
    fn from((major, minor, micro): (u8, u8, u8)) -> Self {
        Self::new(major, minor, micro)
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.micro)
    }
}

/// Declares the features: each with what changes, the first release of
/// each branch that has it (`since`; later feature versions have it from
/// their first release), and the first feature version without it
/// (`until`), if any.
macro_rules! features {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident: since [$($since:expr),+], until $until:expr;
    )*) => {
        /// A difference in behaviour between CPython releases that a stage
        /// branches on. The table of them, with the releases, is
        /// `ARCHITECTURE.md`'s "Version differences"; a test keeps the two
        /// in step.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Feature {
            $($(#[doc = $doc])* $name,)*
        }

        impl Feature {
            /// Every feature, in declaration order.
            pub const ALL: &'static [Feature] = &[$(Feature::$name),*];

            pub const fn name(self) -> &'static str {
                match self {
                    $(Feature::$name => stringify!($name),)*
                }
            }

            /// What changes (the first line of the feature's documentation).
            pub fn summary(self) -> &'static str {
                match self {
                    $(Feature::$name => first_line(&[$($doc),*]),)*
                }
            }

            /// The first release of each branch that has the feature,
            /// oldest first; feature versions after the last one listed
            /// have it from their first release (unless [`Feature::until`]).
            pub const fn since(self) -> &'static [Release] {
                match self {
                    $(Feature::$name => {
                        const SINCE: &[Release] = &[$($since),+];
                        SINCE
                    })*
                }
            }

            /// The first feature version without the feature, if any.
            pub const fn until(self) -> Option<(u8, u8)> {
                match self {
                    $(Feature::$name => $until,)*
                }
            }
        }
    };
}

fn first_line(docs: &[&'static str]) -> &'static str {
    docs.first().map_or("", |d| d.trim())
}

const fn r(major: u8, minor: u8, micro: u8) -> Release {
    Release::new(major, minor, micro)
}

features! {
    /// `KW_NAMES` names the keyword arguments of the `CALL` that follows it
    /// (3.13: `CALL_KW` takes the names from the stack).
    KwNames: since [r(3, 12, 0)], until Some((3, 13));
    /// `FORMAT_VALUE` converts and formats an f-string field, its argument
    /// carrying the conversion and whether a spec is on the stack (3.13:
    /// `CONVERT_VALUE`, `FORMAT_SIMPLE`, `FORMAT_WITH_SPEC`).
    FormatValue: since [r(3, 12, 0)], until Some((3, 13));
    /// `MAKE_FUNCTION`'s argument says which of defaults, keyword defaults,
    /// annotations and closure are on the stack (3.13: `MAKE_FUNCTION` takes
    /// the code alone and `SET_FUNCTION_ATTRIBUTE` adds each).
    MakeFunctionFlags: since [r(3, 12, 0)], until Some((3, 13));
    /// The flow graph fuses `LOAD_CONST` + `RETURN_VALUE` into
    /// `RETURN_CONST` (3.14 has no `RETURN_CONST`).
    ReturnConst: since [r(3, 12, 0)], until Some((3, 14));

    // Code generation and the stages before it (issue 9, CPython 3.13;
    // docs/targets/3.13.md names each item).
    /// `TO_BOOL` before a conditional jump on a computed value, before
    /// `UNARY_NOT` and after `WITH_EXCEPT_START` (C1, C18).
    ToBool: since [r(3, 13, 0)], until None;
    /// `COMPARE_OP`'s argument is `(cmp << 5) | mask` (3.12: `<< 4`) (C2).
    CompareOpShift5: since [r(3, 13, 0)], until None;
    /// A call pushes the callable, then `NULL` (3.12: `NULL` first); also
    /// `LOAD_BUILD_CLASS` (C3).
    NullAfterCallable: since [r(3, 13, 0)], until None;
    /// Loops end `END_FOR; POP_TOP`, `END_FOR` popping one value (C7, C8).
    EndForPopTop: since [r(3, 13, 0)], until None;
    /// A `for` or `async for` statement's `GET_ITER`/`GET_AITER`,
    /// `FOR_ITER` and `END_FOR` take the iterable's location (3.12.1: the
    /// statement's) (gh-93691, backported to 3.12; C7).
    IterableLocation: since [r(3, 12, 7), r(3, 13, 0)], until None;
    /// A comprehension's `GET_ITER`/`GET_AITER` and `FOR_ITER` take its
    /// iterable's location (3.12.1: the whole comprehension's) (gh-123142,
    /// backported to 3.12; C8).
    ComprehensionIterableLocation: since [r(3, 12, 7), r(3, 13, 0)], until None;
    /// A `for` target starts with a `NOP` at its own location (C7).
    ForTargetNop: since [r(3, 13, 0)], until None;
    /// One more `GET_ITER` right before each comprehension's `FOR_ITER`
    /// (gh-125038; C9, P1).
    ComprehensionGetIter: since [r(3, 13, 1)], until Some((3, 14));
    /// `YIELD_VALUE`'s argument is 1 in `yield from`/`await`, else 0 (3.12:
    /// the exception depth, set by the flow graph) (C10).
    YieldValueFromFlag: since [r(3, 13, 0)], until None;
    /// Unconditional jumps other than loop back-edges, `break` and
    /// `continue` are `JUMP_NO_INTERRUPT` (C11).
    JumpNoInterrupt: since [r(3, 13, 0)], until None;
    /// `with`'s setup, exit calls and unwinding take the location of each
    /// item's context expression (3.12.1: the statement's) (gh-93691,
    /// backported to 3.12; C12).
    WithItemLocation: since [r(3, 12, 7), r(3, 13, 0)], until None;
    /// `assert`'s `RAISE_VARARGS` takes the test's location (backported to
    /// 3.12; C13).
    AssertRaiseAtTest: since [r(3, 12, 7), r(3, 13, 0)], until None;
    /// A lambda's `RETURN_VALUE` takes the body's location (gh-120722,
    /// backported to 3.12; C14).
    LambdaReturnLocation: since [r(3, 12, 7), r(3, 13, 0)], until None;
    /// Class bodies store `__firstlineno__` (C15).
    ClassFirstLineno: since [r(3, 13, 0)], until None;
    /// Class bodies store `__static_attributes__`, the sorted names of
    /// `self.X` stores in their methods (C15).
    StaticAttributes: since [r(3, 13, 0)], until None;
    /// Docstrings are cleaned of their common indentation at compile time
    /// (C16).
    CleanDocstrings: since [r(3, 13, 0)], until None;
    /// Under `-OO` a docstring statement leaves no `NOP` (C16).
    NoDocstringNop: since [r(3, 13, 0)], until None;
    /// A generic function's defaults fill the `NULL` slot of the call to
    /// its type-parameter function; generic wrappers push `NULL` after
    /// `MAKE_FUNCTION` (C17).
    GenericCallNoNull: since [r(3, 13, 0)], until None;
    /// A type parameter's bound is made into its function, and returned
    /// by it, at the bound's own location (3.12: the parameter's).
    BoundAtItsLocation: since [r(3, 13, 0)], until None;
    /// PEP 696 type-parameter defaults, each a lazily evaluated scope of
    /// its own, constant-folded (L2, F1, S3, T6, C17).
    TypeParamDefaults: since [r(3, 13, 0)], until None;
    /// Generator and coroutine bodies sit in an implicit frame block, which
    /// counts against `CO_MAXBLOCKS` (C19, T7).
    StopIterationBlock: since [r(3, 12, 7), r(3, 13, 0)], until None;
    /// An f-string or format spec with no parts is loaded as `''` (3.12:
    /// `BUILD_STRING 0`) (L1).
    FstringEmptyJoined: since [r(3, 13, 0)], until None;
    /// A format spec ending in a replacement field (`{x:>{w}}`) holds no
    /// empty constant after it (3.12.1: `''` appended, one more
    /// `BUILD_STRING` item) (L1).
    SpecNoTrailingEmpty: since [r(3, 12, 7), r(3, 13, 0)], until None;
    /// The text of an f-string `=` field is the source as written, not
    /// escape-decoded, `!=` kept (gh-124363; L3).
    FstringDebugRaw: since [r(3, 13, 2)], until None;
    /// `=` text with `#` or escaped quotes is whole, and raw format specs
    /// keep their backslashes (gh-135148, gh-137314; L4).
    FstringDebugFull: since [r(3, 13, 6)], until None;
    /// A lambda's `:` inside an f-string field no longer ends the field's
    /// expression text (gh-139516): before 3.13.10, 3.13 cut a
    /// self-documenting field's text there (3.12 did not).
    FstringLambdaColon: since [r(3, 13, 10)], until None;
    /// In a generic class's type-parameter scope, and the non-class scopes
    /// nested in it, only the class's type parameters are mangled
    /// (`symtable::Entry::mangled_names`), and the enclosing scope's
    /// mangling is restored after the class (S1).
    TypeParamMangling: since [r(3, 13, 0)], until None;
    /// A generic class's bases, keywords and bounds keep their private
    /// names unmangled (`class D[T](__B)`: 3.12.1 wrote `_D__B`) (S1): not
    /// modelled, such classes are declined.
    GenericBasesUnmangled: since [r(3, 12, 7), r(3, 13, 0)], until None;
    /// After a generic class the enclosing scope's mangling is restored
    /// (3.12.1 kept mangling its later private names with the class's
    /// name) (S1).
    GenericClassManglingRestored: since [r(3, 12, 7), r(3, 13, 0)], until None;
    /// Annotation scopes in classes may hold lambdas and comprehensions;
    /// such comprehensions are not inlined (S2).
    AnnotationScopeComprehensions: since [r(3, 13, 0)], until None;
    /// Inlined comprehensions leak no locals into their function's symbol
    /// table, and may use `__class__` in class bodies (S5).
    ComprehensionScopeFixes: since [r(3, 13, 0)], until None;
    /// While an inlined comprehension is compiled, every name whose scope
    /// differs inside it (not only the names it binds) takes its inner
    /// symbol, so a module-level comprehension's `os.f()` is a method call
    /// though `os` is imported (3.12.1: bound names only).
    InlinedScopesAllNames: since [r(3, 12, 7), r(3, 13, 0)], until None;
    /// `__classdict__` is not free through a class body's inlined
    /// comprehension (S4).
    ClassdictNotFree: since [r(3, 13, 13)], until None;
    /// The `RESUME` that starts a scope ends its basic block, so a
    /// function's first statement on the `def` line (`def f(): ...`) keeps
    /// its `NOP`, whose location the implicit return takes (3.12.1 removed
    /// the `NOP` as on `RESUME`'s line; the return got the line alone).
    /// Measured: 3.12.7 has it, 3.12.1 not.
    ResumeOwnBlock: since [r(3, 12, 7)], until Some((3, 13));
    /// Compiler warnings are given once per module, line and text (P3).
    WarningsDeduplicated: since [r(3, 13, 4)], until None;
    /// No warnings from the exception-path copy of a `finally` body (P3).
    NoFinallyCopyWarnings: since [r(3, 13, 10)], until None;

    // Flow graph, assembly and marshal (issue 9, CPython 3.13;
    // docs/targets/3.13.md's G, A and K items).
    /// A basic block starts only at an instruction some jump targets, not
    /// at every placed label (3.12 split blocks at unused labels too).
    JumpTargetBlocks: since [r(3, 13, 0)], until None;
    /// `POP_BLOCK` becomes a `NOP` when exception targets are labelled,
    /// before the optimisations (3.12: with the other pseudo-ops, after).
    EarlyPopBlockNop: since [r(3, 13, 0)], until None;
    /// The 3.13 pass order: jumps to small exits or to line-less blocks
    /// that cannot fall through are inlined to a fixpoint before any
    /// optimisation, line numbers are resolved before the peepholes, empty
    /// blocks are kept (3.12: empty blocks removed, small exits inlined
    /// before and after the peepholes).
    InlineNoLinenoBlocks: since [r(3, 13, 0)], until None;
    /// The `LOAD_CONST` peepholes run as a pass of their own before the
    /// others, and fold a constant's `TO_BOOL` and `is None` through
    /// `TO_BOOL`.
    LoadConstPass: since [r(3, 13, 0)], until None;
    /// Peepholes on `TO_BOOL` (after `COMPARE_OP`, `IS_OP`, `CONTAINS_OP`,
    /// `TO_BOOL`, `UNARY_NOT`), `LOAD_GLOBAL` + `PUSH_NULL` merged (3.12:
    /// `PUSH_NULL` + `LOAD_GLOBAL`), `STORE_FAST x; STORE_FAST x` on one line,
    /// and swaps eliminated in a second loop over the block.
    ToBoolPeepholes: since [r(3, 13, 0)], until None;
    /// A jump to an unconditional jump is threaded whatever the lines, by
    /// a `NOP` and a new jump at the target jump's location;
    /// `JUMP_NO_INTERRUPT` threads too (3.12: same line only, in place).
    ThreadJumpsAlways: since [r(3, 13, 0)], until None;
    /// `LOAD_FAST_LOAD_FAST`, `STORE_FAST_LOAD_FAST`, `STORE_FAST_STORE_FAST`
    /// replace pairs of fast-local instructions.
    SuperInstructions: since [r(3, 13, 0)], until None;
    /// `RESUME` after a yield at exception depth 1 gets bit 4; `YIELD_VALUE`'s
    /// argument is code generation's (3.12: the flow graph wrote the depth).
    ResumeDepthBit: since [r(3, 13, 0)], until None;
    /// The stack depth is computed from 0 before the generator prefix, and
    /// a code object needs at least 1 (3.12: after it, from 1 in
    /// generators, and 0 allowed).
    StackDepthBeforePrefix: since [r(3, 13, 0)], until None;
    /// Line-less blocks that exit *or hold an eval-breaker instruction*
    /// are duplicated per jump; no line is guessed for the remaining exits
    /// (3.12: exits only, then `guarantee_lineno_for_exits`).
    EvalBreakerLineCopies: since [r(3, 13, 0)], until None;
    /// A cold block that fell through to a warm one gets `JUMP_NO_INTERRUPT`,
    /// and redundant `NOP`s and jumps are removed to a fixpoint after moving
    /// cold blocks and after converting pseudo-ops (3.12: `JUMP`, once).
    ColdJumpNoInterrupt: since [r(3, 13, 0)], until None;
    /// `LOAD_CLOSURE` is a pseudo-op, converted to `LOAD_FAST`; the generator
    /// prefix's `POP_TOP` has the first line's location.
    LoadClosurePseudo: since [r(3, 13, 0)], until None;
    /// The assembler decides the direction of `JUMP`/`JUMP_NO_INTERRUPT` by
    /// the target's index in the final sequence (3.12: by block order in
    /// `normalize_jumps`; the same for every layout the compiler makes).
    AssemblerJumpDirection: since [r(3, 13, 0)], until None;
    /// The assembler resolves jump offsets on the instruction sequence,
    /// starting from each jump's target index, so a jump whose offset is
    /// 255 without an `EXTENDED_ARG` and 256 with one keeps it when its
    /// target's index is above 255 (3.12 started from the flow graph's arg).
    JumpOffsetsFromIndices: since [r(3, 13, 0)], until None;
    /// The reachability walk marks a block visited when it is pushed, so
    /// each block is walked once and predecessors are counted once per
    /// edge (3.12 marked it when popped and could count an edge twice,
    /// which decides whether a line-less jump inherits a line).
    ReachableMarkedOnPush: since [r(3, 13, 0)], until None;
    /// The code object interns `co_filename`, `co_name` and `co_qualname`.
    InternCodeNames: since [r(3, 13, 0)], until None;
    /// The statically allocated names a code object may take (`<module>`,
    /// `<lambda>`, `<genexpr>`, `<listcomp>`, `<setcomp>`, `<dictcomp>`) are
    /// interned when the interpreter starts, so marshal writes them as
    /// interned strings (3.12.1 left them uninterned).
    StaticNamesInterned: since [r(3, 12, 7), r(3, 13, 0)], until None;
    /// Each frozenset item's sort key is dumped while the set's iteration
    /// holds a new reference to it, so every key starts with a flagged type
    /// byte (3.12 iterated with borrowed references: an item held only by
    /// the set sorted by its unflagged dump).
    FrozenSetKeysFlagged: since [r(3, 13, 0)], until None;
    /// `__class__` read in a comprehension inlined into a class body is a
    /// global there (`LOAD_GLOBAL`): the class does not pass its implicit
    /// cells on as free names (3.12.1 raised SystemError compiling it).
    InlinedClassDunderClassGlobal: since [r(3, 13, 0)], until None;
    /// So are `__classdict__` and 3.14's `__conditional_annotations__`
    /// (3.13.5 raised SystemError compiling it; CPython gh-145701).
    InlinedClassDictGlobal: since [r(3, 13, 15)], until None;

    // CPython 3.14 (issue 10; docs/targets/3.14.md names each item).
    /// The compiler's recursion limit is not 3.12.1's (Pyodide's 3.12.7
    /// compiles `1+1+...` of 5,190 terms where 3.12.1 stops at 2,995, and
    /// overflows its WebAssembly stack at 5,191, before any RecursionError):
    /// unmeasured, so a tree past 3.12.1's level budget is declined rather
    /// than judged.
    UnmeasuredRecursionLimit: since [r(3, 12, 7)], until Some((3, 13));
    /// The compiler's recursion limit is a measure of the C stack, not a
    /// count of levels ("Stack overflow (used N kB) during compilation"), so
    /// a tree past 3.13's level budget is declined rather than judged.
    StackMeasuredRecursion: since [r(3, 14, 0)], until None;
    /// `for` loops and comprehensions end `END_FOR; POP_ITER` (C7).
    PopIter: since [r(3, 14, 0)], until None;
    /// A subscript is `BINARY_OP 26` (`NB_SUBSCR`), not `BINARY_SUBSCR`
    /// (C6).
    SubscrBinaryOp: since [r(3, 14, 0)], until None;
    /// `assert` loads `AssertionError` with `LOAD_COMMON_CONSTANT 0` (C3).
    LoadCommonConstant: since [r(3, 14, 0)], until None;
    /// `CALL_FUNCTION_EX` has no argument: without `**` a `PUSH_NULL` fills
    /// the keyword-arguments slot (C4).
    CallExKwargsSlot: since [r(3, 14, 0)], until None;
    /// Dict displays, keyword arguments and keyword-only defaults build
    /// their pairs with `BUILD_MAP`, never `BUILD_CONST_KEY_MAP` (C5).
    NoConstKeyMap: since [r(3, 14, 0)], until None;
    /// `with` looks `__exit__` and `__enter__` up with `LOAD_SPECIAL`
    /// (`COPY 1; LOAD_SPECIAL; SWAP 2; SWAP 3; LOAD_SPECIAL; CALL 0`), the
    /// exit is `CALL 3`, a returned value is rotated under both exit slots,
    /// and the handler pops one more value (C10).
    LoadSpecialWith: since [r(3, 14, 0)], until None;
    /// The flow graph's constant pass loads exact ints 0-255 with
    /// `LOAD_SMALL_INT` (C2).
    LoadSmallInt: since [r(3, 14, 0)], until None;
    /// A conditional jump's fall-through starts with `NOT_TAKEN` (a
    /// backward one becomes `[NOT_TAKEN, JUMP]` after the reversed jump),
    /// added after exception labelling, so without a handler (G1, G5).
    NotTaken: since [r(3, 14, 0)], until None;
    /// The last flow-graph pass turns a `LOAD_FAST` whose value leaves the
    /// stack before its local can change, within its block, into
    /// `LOAD_FAST_BORROW` (G2).
    BorrowLoads: since [r(3, 14, 0)], until None;
    /// A function's constants start with its docstring only when it has
    /// one: no `None` is reserved first (functions, lambdas, type-alias
    /// values); an empty list ends up `(None,)` (K3).
    NoDocstringSlot: since [r(3, 14, 0)], until None;
    /// Code flags `CO_HAS_DOCSTRING` and `CO_METHOD` (a function-like scope
    /// directly in a class body) (K2).
    MethodDocstringFlags: since [r(3, 14, 0)], until None;
    /// A class body directly holding a `def` gets the `__classdict__` cell
    /// (each def's annotation scope may read the class namespace), unless
    /// `from __future__ import annotations` (S2).
    ClassdictForDefs: since [r(3, 14, 0)], until None;
    /// `co_localspluskinds` marks parameters by how they are passed:
    /// positional 0x02, keyword 0x04, `*`/`**` 0x08 with one of them.
    ArgKinds: since [r(3, 14, 0)], until None;
    /// Constant folding moves from the AST to the flow graph: unary and
    /// binary operators, subscripts, tuples, lists and sets of constants
    /// fold per block (operands become line-less `NOP`s, results are
    /// appended to the constants); the AST keeps `__debug__` and
    /// `%`-formatting (F1, G3, G4).
    CfgFolding: since [r(3, 14, 0)], until None;
    /// A `while` loop tests once, at the top; the body jumps back to the
    /// test (3.13 repeated the test at the bottom) (C9).
    WhileTestOnce: since [r(3, 14, 0)], until None;
    /// Under `-OO` a body that is only a docstring becomes a `pass` (a
    /// `NOP`) where the docstring starts, four columns wide.
    LoneDocstringNop: since [r(3, 14, 0)], until None;
    /// `and`/`or` values jump with `JUMP_IF_FALSE`/`JUMP_IF_TRUE`, which
    /// keep the value and thread through each other, lowered to `COPY 1;
    /// TO_BOOL; POP_JUMP_IF_x` after the optimisations (T3).
    JumpIfKeep: since [r(3, 14, 0)], until None;
    /// A slice whose parts are all literals is one slice constant,
    /// marshalled as `:` (marshal 5), its parts never merged with other
    /// constants (C6, K1).
    SliceConstants: since [r(3, 14, 0)], until None;
    /// `all()`, `any()`, `tuple()` of a synchronous generator expression are
    /// inlined behind an `is` guard on the builtin (C17).
    InlinedBuiltinGenexpr: since [r(3, 14, 0)], until None;
    /// A list or set display of more than 30 constants (built item by item)
    /// that is iterated or tested with `in` becomes one constant tuple or
    /// frozenset, loaded without a location of its own (G3).
    LongConstDisplayIter: since [r(3, 14, 0)], until None;
    /// After a successful `case` (not the last), the `POP_TOP` of the
    /// match subject takes the location of the instruction that follows it
    /// in the assembled code (3.13: the pattern's); until then it has none
    /// that line propagation would fill.
    MatchPopNextLocation: since [r(3, 14, 0)], until None;
    /// Under `-OO` a string statement right after the (stripped) docstring
    /// of a module, class or function enters the constants, uncleaned, as
    /// the docstring would have.
    StrippedDocstringSuccessor: since [r(3, 14, 0)], until None;
    /// A comprehension inlined in a class body saves and restores only the
    /// names it binds (3.13: every name of its symbol table, globals it
    /// reads included) (S3).
    ClassComprehensionTargets: since [r(3, 14, 0)], until None;

    /// Annotations are lazy (PEP 649/749): every def, module and class
    /// body with annotations gets an annotation scope, compiled to an
    /// `__annotate__(format)` function (set with `SET_FUNCTION_ATTRIBUTE
    /// 16`, stored as `__annotate__` or `__annotate_func__`); a module and
    /// a class with annotations under `if`/loops/`try`/`with`/`match`
    /// record the ones that ran in a `__conditional_annotations__` cell;
    /// `from __future__ import annotations` keeps strings (S1, C11-C13).
    LazyAnnotations: since [r(3, 14, 0)], until None;
    /// Type-parameter bounds and constraints and type-alias values are
    /// annotation scopes too: functions of a `.format` argument (not
    /// renamed) with the same `NotImplementedError` check, made with the
    /// defaults `(1,)` (C14).
    AnnotationScopeTypeParams: since [r(3, 14, 0)], until None;
    /// Binding `__debug__` is a SyntaxError wherever it is, in an `assert`
    /// that `-O` removes too (3.13: only in code that is compiled).
    DebugBindingAnywhere: since [r(3, 14, 0)], until None;
    /// Template strings (PEP 750): a strings tuple, each field's value,
    /// text and spec in `BUILD_INTERPOLATION`, then `BUILD_TUPLE;
    /// BUILD_TEMPLATE` (L1, C15). Before, a t-string is a syntax error.
    TemplateStrings: since [r(3, 14, 0)], until None;

    /// `END_ASYNC_FOR` is a jump naming the `SEND` of the loop's `__anext__`
    /// await: it ends its block, the stack depth does not follow it, and
    /// its argument counts back to that await's `END_SEND` (T5), which is
    /// 5 code units after the `SEND` (6 from 3.15: `RESUME`'s cache).
    EndAsyncForJump: since [r(3, 14, 0)], until None;

    /// Complex arithmetic with an int or float operand treats it as a real
    /// number, not as a complex with a zero imaginary part (`0.0 - 0j` is
    /// `-0j`, `2.0 * complex(1, -0.0)` keeps the `-0.0`); products and
    /// quotients recover infinities where both parts come out NaN. The
    /// folder computes the former and refuses the latter.
    MixedModeComplex: since [r(3, 14, 0)], until None;
    /// A function inside a comprehension inlined into a class body that
    /// reads `__class__`, `__classdict__` or `__conditional_annotations__`
    /// gets the class's cell (3.13 raised SystemError compiling it:
    /// test_listcomps.py's `[lambda: __class__ for _ in x]`).
    InlinedClassDunderClassCell: since [r(3, 14, 0)], until None;

    // CPython 3.15 (issue 10; docs/targets/3.15.md names each item).
    /// `GET_ITER` takes an argument (0; 3 for `yield from`) and leaves the
    /// iterable's iteration state as a pair: loops and comprehensions hold
    /// one more stack slot, leaving a loop pops two values (an `async
    /// for`'s `GET_AITER` still leaves one), and the iterable of a `for` is
    /// not borrowed (C2, T3).
    IterPair: since [r(3, 15, 0)], until None;
    /// The flow graph loads `None`, `''`, `True`, `False` and `-1` with
    /// `LOAD_COMMON_CONSTANT` 7-11 beside `LOAD_SMALL_INT`, so they leave
    /// the constants unless something else uses them (C1, T5).
    CommonConstantLoads: since [r(3, 15, 0)], until None;
    /// An inlined comprehension evaluates its iterable first and gets its
    /// iterator after the setup, right before `FOR_ITER` (C3).
    ComprehensionIterAfterSetup: since [r(3, 15, 0)], until None;
    /// A generator expression gets its iterator itself: its code starts
    /// `RESUME 4; LOAD_FAST .0; GET_ITER 0` (`GET_AITER` for an `async
    /// for` first clause) before `RETURN_GENERATOR`, and the call site
    /// passes the iterable (C4); so does a comprehension that is not
    /// inlined, whose code makes the iterator after `BUILD_LIST`.
    GenexprIterInside: since [r(3, 15, 0)], until None;
    /// `await`, `async with` and `async for` push a `NULL` under the value
    /// they send (`PUSH_NULL; LOAD_COMMON_CONSTANT 7; SEND`); `yield from`
    /// gets the pair from `GET_ITER 3` (C5).
    SendPushNull: since [r(3, 15, 0)], until None;
    /// `RESUME` after a yield at exception depth 1 gets bit 8 (3.13, 3.14:
    /// bit 4) (C6).
    ResumeDepthBit8: since [r(3, 15, 0)], until None;
    /// `list()` and `set()` of a generator expression are inlined like
    /// `all()`, `any()` and `tuple()` (C7).
    InlinedListSetGenexpr: since [r(3, 15, 0)], until None;
    /// `IMPORT_NAME`'s argument is `name << 2 | flags`: 1 for `lazy
    /// import`, 2 (eager) where lazy imports cannot apply (in a function or
    /// class, a `try` body or handler, `from m import *`) (C8).
    ImportNameFlags: since [r(3, 15, 0)], until None;
    /// `lazy import` and `lazy from ... import` (PEP 810, L1): the import
    /// with `IMPORT_NAME`'s lazy bit; the symbol table's errors inside a
    /// `try` statement, a function or a class.
    LazyImports: since [r(3, 15, 0)], until None;
    /// `[*a for a in b]`, `{*a for a in b}`, `{**d for d in ds}` (PEP 798,
    /// L2, C9): `LIST_EXTEND`, `SET_UPDATE`, `DICT_UPDATE` in place of the
    /// append; `(*a for a in b)` loops over each item and yields it.
    ComprehensionUnpacking: since [r(3, 15, 0)], until None;
    /// A def's annotation scope is named after it: `A.f.__annotate__`
    /// (3.14: `A.__annotate__`) (S1).
    FunctionAnnotateQualname: since [r(3, 15, 0)], until None;
    /// A def's annotations list its positional-only parameters before the
    /// others (3.14: after them).
    PosonlyAnnotationsFirst: since [r(3, 15, 0)], until None;
    /// The borrow analysis goes on through an empty block to the block
    /// after it (3.14 stopped there, leaving that block's loads strong)
    /// (G2).
    BorrowThroughEmptyBlocks: since [r(3, 15, 0)], until None;
    /// In the borrow analysis, what an instruction pushes without consuming
    /// (`IMPORT_FROM`, `GET_LEN`, ...) is tagged with that instruction
    /// (3.14: with its push loop's counter, the block's first instruction)
    /// (G2).
    BorrowPushesOwnIndex: since [r(3, 15, 0)], until None;
    /// The module's code object is marshalled without the reference flag:
    /// nothing else holds it while py_compile writes it (3.14: flagged).
    RootCodeUnflagged: since [r(3, 15, 0)], until None;
    /// A `NOT_TAKEN` the flow graph appends to a block never takes the
    /// handler a removed instruction left in the block's array (3.14:
    /// gh-137681's stale slot) (P1).
    NoStaleSlotHandler: since [r(3, 15, 0)], until None;
    /// A literal pattern may be a number with a unary `+` (`case +1:`;
    /// before, "invalid syntax" at the `+`). Refused, not reproduced.
    PatternUnaryPlus: since [r(3, 15, 0)], until None;
    /// Instructions the flow graph makes after the exception targets are
    /// labelled (the `NOT_TAKEN` after a conditional jump, the backward
    /// `[NOT_TAKEN, JUMP]` block, a threaded jump) take the handler of the
    /// instruction they come from (3.15.0, 3.14: none) (P1).
    CfgInstrsInheritHandler: since [r(3, 15, 2)], until None;
    /// A module or class body the symbol table saw a `yield` in starts
    /// with the generator prefix (`RETURN_GENERATOR; POP_TOP`) though its
    /// flags stay 0: only reachable under `-O`, where the `assert` holding
    /// the yield (the error's only trigger) is dropped (3.14: no prefix).
    GeneratorPrefixAnyScope: since [r(3, 15, 0)], until None;
}

impl Feature {
    /// Whether `release` has the feature.
    pub const fn in_release(self, release: Release) -> bool {
        holds(self.since(), self.until(), release)
    }

    /// The releases that have it, as the table in ARCHITECTURE.md gives
    /// them: `3.12.0, until 3.13`.
    pub fn releases(self) -> String {
        let mut out: Vec<String> = self.since().iter().map(|r| r.to_string()).collect();
        if let Some((major, minor)) = self.until() {
            out.push(format!("until {major}.{minor}"));
        }
        out.join(", ")
    }
}

/// Whether a behaviour that started at the releases `since` (the first of
/// each branch that has it) and ended with the feature version `until` is
/// in `release`.
const fn holds(since: &[Release], until: Option<(u8, u8)>, release: Release) -> bool {
    if let Some((major, minor)) = until
        && !release.before(Release::new(major, minor, 0))
    {
        return false;
    }
    let mut i = 0;
    let mut older_branch = false;
    while i < since.len() {
        let first = since[i];
        if first.same_branch(release) {
            return !release.before(first);
        }
        if first.before(release) {
            older_branch = true;
        }
        i += 1;
    }
    older_branch
}

/// A set of [`Feature`]s, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeatureSet(u128);

impl FeatureSet {
    /// The features `release` has.
    pub const fn of(release: Release) -> Self {
        let mut bits = 0u128;
        let mut i = 0;
        while i < Feature::ALL.len() {
            let feature = Feature::ALL[i];
            if feature.in_release(release) {
                bits |= 1 << feature as u8;
            }
            i += 1;
        }
        Self(bits)
    }

    pub const fn has(self, feature: Feature) -> bool {
        self.0 & (1 << feature as u8) != 0
    }
}

const _: () = assert!(Feature::ALL.len() <= 128, "FeatureSet holds 128 features");

/// How the compiler reproduces one or more patch releases of a feature
/// version: their features, limits, magic number and marshal data. Releases
/// that compile alike share a profile.
#[derive(Debug)]
pub struct Profile {
    /// The releases the differential tests found this profile exact for,
    /// oldest first. The first decides the features.
    pub releases: &'static [Release],
    /// The magic number of the version's caches.
    pub magic: u16,
    pub limits: Limits,
    pub features: FeatureSet,
    /// What a fresh `py_compile` process has interned (see `marshal`).
    pub(crate) strings: &'static crate::marshal::ProcessStrings,
}

impl Profile {
    /// The release the profile is named after (its first).
    pub fn release(&self) -> Release {
        self.releases[0]
    }

    /// The newest release the profile is verified for.
    pub fn newest_release(&self) -> Release {
        self.releases[self.releases.len() - 1]
    }

    pub fn version(&self) -> (u8, u8) {
        self.release().version()
    }

    pub fn has(&self, feature: Feature) -> bool {
        self.features.has(feature)
    }
}

/// CPython 3.12.1.
pub static CPYTHON_3_12_1: Profile = Profile {
    releases: &[r(3, 12, 1)],
    magic: 3531,
    limits: limits::CPYTHON_3_12,
    features: FeatureSet::of(r(3, 12, 1)),
    strings: &crate::marshal::PROCESS_STRINGS_3_12_1,
};

/// CPython 3.12.7 (measured through Pyodide 0.27.7, CPython built for
/// WebAssembly): 3.12.1 plus the 3.13 changes backported to 3.12 patch
/// releases, `ResumeOwnBlock`, and the strings Pyodide's interpreter has
/// interned (`tables312_7.rs`).
pub static CPYTHON_3_12_7: Profile = Profile {
    releases: &[r(3, 12, 7)],
    magic: 3531,
    limits: limits::CPYTHON_3_12_7,
    features: FeatureSet::of(r(3, 12, 7)),
    strings: &crate::marshal::PROCESS_STRINGS_3_12_7,
};

/// CPython 3.13.0: before the comprehension `GET_ITER` of 3.13.1 and the
/// f-string text fixes of 3.13.2 and 3.13.6.
pub static CPYTHON_3_13_0: Profile = Profile {
    releases: &[r(3, 13, 0)],
    magic: 3571,
    limits: limits::CPYTHON_3_13,
    features: FeatureSet::of(r(3, 13, 0)),
    strings: &crate::marshal::PROCESS_STRINGS_3_13_0,
};

/// CPython 3.13.5: 3.13.0 plus the comprehension `GET_ITER` and raw
/// f-string debug text.
pub static CPYTHON_3_13_5: Profile = Profile {
    releases: &[r(3, 13, 5)],
    magic: 3571,
    limits: limits::CPYTHON_3_13,
    features: FeatureSet::of(r(3, 13, 5)),
    strings: &crate::marshal::PROCESS_STRINGS_3_13_5,
};

/// CPython 3.13.15: 3.13.5 plus the f-string fixes of 3.13.6 (and warning
/// and error changes that do not show in a cache).
pub static CPYTHON_3_13_15: Profile = Profile {
    releases: &[r(3, 13, 15)],
    magic: 3571,
    limits: limits::CPYTHON_3_13,
    features: FeatureSet::of(r(3, 13, 15)),
    strings: &crate::marshal::PROCESS_STRINGS_3_13_15,
};

/// CPython 3.13.18: compiles as 3.13.15 does; a profile of its own because
/// a fresh process interns a few other strings (`tables313_18.rs`).
pub static CPYTHON_3_13_18: Profile = Profile {
    releases: &[r(3, 13, 18)],
    magic: 3571,
    limits: limits::CPYTHON_3_13,
    features: FeatureSet::of(r(3, 13, 18)),
    strings: &crate::marshal::PROCESS_STRINGS_3_13_18,
};

/// CPython 3.14.8 and 3.14.10 (no compiler difference between them:
/// docs/targets/3.14.md, P1). Its fresh-process strings are 3.14.10's
/// (`-m py_compile`, argparse imported); 3.14.8's table lacks seven of its
/// names, and 3.14 writes names alike whether the process interned them or
/// not (no frozenset is rebuilt), so the one table serves both.
pub static CPYTHON_3_14_8: Profile = Profile {
    releases: &[r(3, 14, 8), r(3, 14, 10)],
    magic: 3627,
    limits: limits::CPYTHON_3_14,
    features: FeatureSet::of(r(3, 14, 8)),
    strings: &crate::marshal::PROCESS_STRINGS_3_14_10,
};

/// CPython 3.15.0: the exception table gives no handler to the
/// instructions the flow graph makes (docs/targets/3.15.md, P1).
pub static CPYTHON_3_15_0: Profile = Profile {
    releases: &[r(3, 15, 0)],
    magic: 3666,
    limits: limits::CPYTHON_3_15,
    features: FeatureSet::of(r(3, 15, 0)),
    strings: &crate::marshal::PROCESS_STRINGS_3_15_0,
};

/// CPython 3.15.2: 3.15.0 plus `CfgInstrsInheritHandler` (3.15.1 is not
/// measured, so it has no profile).
pub static CPYTHON_3_15_2: Profile = Profile {
    releases: &[r(3, 15, 2)],
    magic: 3666,
    limits: limits::CPYTHON_3_15,
    features: FeatureSet::of(r(3, 15, 2)),
    strings: &crate::marshal::PROCESS_STRINGS_3_15_2,
};

/// Every profile, oldest release first: the releases the native compiler
/// reproduces byte for byte.
pub static VERIFIED: &[&Profile] = &[
    &CPYTHON_3_12_1,
    &CPYTHON_3_12_7,
    &CPYTHON_3_13_0,
    &CPYTHON_3_13_5,
    &CPYTHON_3_13_15,
    &CPYTHON_3_13_18,
    &CPYTHON_3_14_8,
    &CPYTHON_3_15_0,
    &CPYTHON_3_15_2,
];

/// Profiles under construction: compiled with only through
/// [`Target::candidate`] (the differential tests, `pycache verify`), never
/// by `--engine auto` or `--target`, until they are exact and move to
/// [`VERIFIED`].
pub static UNVERIFIED: &[&Profile] = &[];

/// A feature version and the profile of its patch releases that a compile
/// reproduces. Cheap to copy; the stages hold one each.
#[derive(Clone, Copy)]
pub struct Target {
    profile: &'static Profile,
    ops: &'static OpTable,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({})", self.profile.release())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CPython {}", self.profile.release())
    }
}

impl PartialEq for Target {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.profile, other.profile)
    }
}

impl Eq for Target {}

impl Target {
    /// The target of a profile. `None` when no opcode table of its version
    /// exists (a profile is only listed with one).
    pub fn of(profile: &'static Profile) -> Option<Target> {
        let (major, minor) = profile.version();
        Some(Target { profile, ops: OpTable::for_version(major, minor)? })
    }

    /// The profile verified for exactly `release`.
    pub fn exact(release: impl Into<Release>) -> Option<Target> {
        let release = release.into();
        VERIFIED.iter().find(|p| p.releases.contains(&release)).and_then(|p| Target::of(p))
    }

    /// The profile of `release`, verified or still [`UNVERIFIED`]: what
    /// the differential tests and `pycache verify` compile with.
    pub fn candidate(release: impl Into<Release>) -> Option<Target> {
        let release = release.into();
        Target::exact(release)
            .or_else(|| UNVERIFIED.iter().find(|p| p.releases.contains(&release)).and_then(|p| Target::of(p)))
    }

    /// Whether the profile is in [`VERIFIED`].
    pub fn is_verified(self) -> bool {
        VERIFIED.iter().any(|p| std::ptr::eq(*p, self.profile))
    }

    /// The newest verified profile of the feature version `major.minor`.
    pub fn newest(major: u8, minor: u8) -> Option<Target> {
        VERIFIED
            .iter()
            .filter(|p| p.version() == (major, minor))
            .max_by_key(|p| p.newest_release())
            .and_then(|p| Target::of(p))
    }

    /// What `--target` asks for: `3.12` (the newest verified profile of it)
    /// or `3.12.1` (that release exactly).
    pub fn parse(spec: &str) -> Result<Target, String> {
        let parts: Vec<&str> = spec.split('.').collect();
        let number = |s: &str| s.parse::<u8>().map_err(|_| format!("`{spec}` is not a version like 3.12 or 3.12.1"));
        let found = match parts.as_slice() {
            [major, minor] => Target::newest(number(major)?, number(minor)?),
            [major, minor, micro] => Target::exact(Release::new(number(major)?, number(minor)?, number(micro)?)),
            _ => return Err(format!("`{spec}` is not a version like 3.12 or 3.12.1")),
        };
        found.ok_or_else(|| {
            let known: Vec<String> = VERIFIED.iter().flat_map(|p| p.releases.iter()).map(|r| r.to_string()).collect();
            format!("the native compiler has no verified profile for {spec} (verified: {})", known.join(", "))
        })
    }

    /// The default target: the newest verified release.
    pub fn latest() -> Target {
        let newest = VERIFIED.iter().max_by_key(|p| p.newest_release()).expect("a verified profile");
        Target::of(newest).expect("every verified profile has an opcode table")
    }

    pub fn profile(self) -> &'static Profile {
        self.profile
    }

    /// The version's opcode numbers, argument classes and inline caches.
    pub fn ops(self) -> &'static OpTable {
        self.ops
    }

    pub fn has(self, feature: Feature) -> bool {
        self.profile.features.has(feature)
    }

    pub fn version(self) -> (u8, u8) {
        self.profile.version()
    }

    pub fn release(self) -> Release {
        self.profile.release()
    }

    /// The newest release the profile reproduces.
    pub fn newest_release(self) -> Release {
        self.profile.newest_release()
    }

    pub fn magic(self) -> u16 {
        self.profile.magic
    }

    pub fn limits(self) -> &'static Limits {
        &self.profile.limits
    }

    /// A refusal for a branch this compiler has no code for on this target:
    /// a profile without `feature` reached a stage that only knows the
    /// behaviour with it.
    // No stage calls it today: each has code for both sides of the
    // features it branches on. Kept for the next version's first steps.
    #[allow(dead_code)]
    pub(crate) fn lacks(self, feature: Feature) -> crate::Refusal {
        crate::Refusal::internal(format!(
            "no code for CPython {} without feature {} ({})",
            self.release(),
            feature.name(),
            feature.summary()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_hold_from_their_release_until_their_end() {
        assert!(Feature::KwNames.in_release(r(3, 12, 0)));
        assert!(Feature::KwNames.in_release(r(3, 12, 9)));
        assert!(!Feature::KwNames.in_release(r(3, 13, 0)));
        assert!(!Feature::KwNames.in_release(r(3, 11, 9)));
        assert!(Feature::ReturnConst.in_release(r(3, 13, 5)));
        assert!(!Feature::ReturnConst.in_release(r(3, 14, 0)));
    }

    /// A change backported to a patch release of an older branch holds in
    /// that branch from that release, and in newer branches from where they
    /// list it.
    #[test]
    fn backported_features_follow_each_branch() {
        const SINCE: &[Release] = &[r(3, 12, 8), r(3, 13, 1)];
        let at = |release| holds(SINCE, None, release);
        assert!(!at(r(3, 11, 9)) && !at(r(3, 12, 7)) && at(r(3, 12, 8)));
        assert!(!at(r(3, 13, 0)) && at(r(3, 13, 1)) && at(r(3, 14, 0)));
        assert!(!holds(SINCE, Some((3, 14)), r(3, 14, 2)));
    }

    /// ARCHITECTURE.md's "Version differences" has one row per feature,
    /// with its releases.
    #[test]
    fn the_architecture_table_lists_every_feature() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ARCHITECTURE.md");
        let text = std::fs::read_to_string(path).unwrap();
        let section = text.split("### Version differences").nth(1).expect("the section");
        let rows: Vec<(String, String)> = section
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .skip(2)
            .map(|row| {
                let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
                (cells[0].trim_matches('`').to_owned(), cells[cells.len() - 1].to_owned())
            })
            .collect();
        let expected: Vec<(String, String)> =
            Feature::ALL.iter().map(|f| (f.name().to_owned(), f.releases())).collect();
        assert_eq!(rows, expected, "ARCHITECTURE.md's table, in declaration order");
    }

    #[test]
    fn every_verified_release_has_its_profiles_features() {
        for profile in VERIFIED.iter().chain(UNVERIFIED) {
            for &release in profile.releases {
                assert_eq!(FeatureSet::of(release), profile.features, "{release}");
                assert_eq!(release.version(), profile.version());
            }
            assert!(Target::of(profile).is_some(), "no opcode table for {}", profile.release());
        }
    }

    #[test]
    fn targets_are_found_by_release_and_by_version() {
        let t = Target::exact((3, 12, 1)).unwrap();
        let t7 = Target::exact((3, 12, 7)).unwrap();
        assert_eq!((t.magic(), t7.magic()), (3531, 3531));
        assert_ne!(t, t7);
        // `--target 3.12` is the newest verified 3.12 release.
        assert_eq!(Target::newest(3, 12), Some(t7));
        assert_eq!(Target::parse("3.12").unwrap(), t7);
        assert_eq!(Target::parse("3.12.1").unwrap(), t);
        assert_eq!(Target::parse("3.12.7").unwrap(), t7);
        assert!(Target::exact((3, 12, 5)).is_none());
        assert!(Target::exact((3, 12, 0)).is_none());
        assert!(Target::newest(3, 11).is_none());
        assert!(Target::parse("3.12.x").is_err());
        assert!(Target::parse("3").is_err());
        assert!(Target::parse("3.99").unwrap_err().contains("3.12.1"));
    }

    /// The 3.13 profiles are found for testing, never for `auto`.
    #[test]
    fn releases_parse_from_their_names() {
        assert_eq!("3.13.18".parse::<Release>(), Ok(r(3, 13, 18)));
        for bad in ["3.13", "3.13.x", "3.13.18.1", "", "3.13.256"] {
            assert!(bad.parse::<Release>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_profile_of_a_release_is_found_by_it() {
        for release in [r(3, 15, 0), r(3, 15, 2)] {
            let t = Target::exact(release).unwrap_or_else(|| panic!("{release} is verified"));
            assert!(t.is_verified() && Target::candidate(release) == Some(t));
            assert_eq!((t.magic(), t.version()), (3666, (3, 15)));
        }
        assert_eq!(Target::parse("3.15").map(|t| t.release()), Ok(r(3, 15, 2)));
        for release in [r(3, 14, 8), r(3, 14, 10)] {
            let t = Target::exact(release).unwrap_or_else(|| panic!("{release} is verified"));
            assert_eq!((t.magic(), t.version()), (3627, (3, 14)));
        }
        for release in [r(3, 13, 0), r(3, 13, 5), r(3, 13, 15), r(3, 13, 18)] {
            let t = Target::exact(release).unwrap_or_else(|| panic!("{release} is verified"));
            assert_eq!(t.magic(), 3571);
            assert_eq!(t.version(), (3, 13));
        }
        assert!(Target::candidate(r(3, 13, 4)).is_none());
        assert!(Target::candidate(r(3, 12, 1)).unwrap().is_verified());
        assert!(Target::candidate(r(3, 12, 7)).unwrap().is_verified());
        let (t0, t5, t15) = (
            Target::candidate(r(3, 13, 0)).unwrap(),
            Target::candidate(r(3, 13, 5)).unwrap(),
            Target::candidate(r(3, 13, 18)).unwrap(),
        );
        assert!(!t0.has(Feature::ComprehensionGetIter) && t5.has(Feature::ComprehensionGetIter));
        assert!(!t0.has(Feature::FstringDebugRaw) && t5.has(Feature::FstringDebugRaw));
        assert!(!t5.has(Feature::FstringDebugFull) && t15.has(Feature::FstringDebugFull));
        assert!(t0.has(Feature::ToBool) && !t0.has(Feature::KwNames));
    }

    /// 3.12.7 has the 3.13 rules CPython backported to 3.12 patch
    /// releases, and 3.12.1 none of them; the rest of 3.13 stays out.
    #[test]
    fn the_3_12_7_profile_has_the_backports() {
        let (t1, t7) = (Target::exact(r(3, 12, 1)).unwrap(), Target::exact(r(3, 12, 7)).unwrap());
        let backported = [
            Feature::IterableLocation,
            Feature::ComprehensionIterableLocation,
            Feature::WithItemLocation,
            Feature::AssertRaiseAtTest,
            Feature::LambdaReturnLocation,
            Feature::SpecNoTrailingEmpty,
            Feature::GenericClassManglingRestored,
            Feature::InlinedScopesAllNames,
            Feature::StaticNamesInterned,
            Feature::GenericBasesUnmangled,
            Feature::StopIterationBlock,
        ];
        for f in backported {
            assert!(t7.has(f) && !t1.has(f), "{}", f.name());
            assert!(f.in_release(r(3, 13, 0)), "{}", f.name());
        }
        for f in [Feature::ResumeOwnBlock, Feature::UnmeasuredRecursionLimit] {
            assert!(t7.has(f) && !t1.has(f) && !f.in_release(r(3, 13, 0)), "{}", f.name());
        }
        assert_eq!((t1.limits().static_blocks, t7.limits().static_blocks), (20, 21));
        for f in [Feature::ForTargetNop, Feature::FstringEmptyJoined, Feature::TypeParamMangling, Feature::ToBool] {
            assert!(!t7.has(f), "{}", f.name());
        }
        assert!(t7.has(Feature::KwNames) && t7.has(Feature::ReturnConst));
        assert!(!std::ptr::eq(t1.profile().strings, t7.profile().strings));
    }

    /// 3.14.8 and 3.14.10 share one verified profile; other 3.14
    /// releases are not measured and have none.
    #[test]
    fn the_3_14_profile_serves_its_releases() {
        let t8 = Target::candidate(r(3, 14, 8)).unwrap();
        assert_eq!(Target::candidate(r(3, 14, 10)), Some(t8));
        assert!(t8.is_verified() && Target::exact(r(3, 14, 8)) == Some(t8));
        assert_eq!((t8.magic(), t8.version()), (3627, (3, 14)));
        assert!(Target::candidate(r(3, 14, 0)).is_none() && Target::candidate(r(3, 14, 9)).is_none());
        assert!(t8.has(Feature::BorrowLoads) && !t8.has(Feature::ReturnConst));
        assert!(!t8.has(Feature::ComprehensionGetIter) && t8.has(Feature::EndForPopTop));
        let t13 = Target::candidate(r(3, 13, 18)).unwrap();
        assert!(!t13.has(Feature::CfgFolding) && !t13.has(Feature::LazyAnnotations));
    }

    /// 3.15.0 and 3.15.2 are profiles of their own: they differ only in
    /// the handler of the instructions the flow graph makes (P1); 3.15.1
    /// is not measured and has none.
    #[test]
    fn the_3_15_profiles_differ_by_the_handler_of_made_instructions() {
        let (t0, t2) = (Target::candidate(r(3, 15, 0)).unwrap(), Target::candidate(r(3, 15, 2)).unwrap());
        assert_ne!(t0, t2);
        assert!(t0.is_verified() && t2.is_verified() && Target::exact(r(3, 15, 2)) == Some(t2));
        assert_eq!((t0.magic(), t2.magic(), t2.version()), (3666, 3666, (3, 15)));
        assert!(Target::candidate(r(3, 15, 1)).is_none());
        assert!(!t0.has(Feature::CfgInstrsInheritHandler) && t2.has(Feature::CfgInstrsInheritHandler));
        let others: Vec<Feature> =
            Feature::ALL.iter().copied().filter(|&f| f != Feature::CfgInstrsInheritHandler).collect();
        assert!(others.iter().all(|&f| t0.has(f) == t2.has(f)));
        assert!(t0.has(Feature::IterPair) && t0.has(Feature::BorrowLoads) && t0.has(Feature::NoStaleSlotHandler));
        let t14 = Target::candidate(r(3, 14, 10)).unwrap();
        assert!(!t14.has(Feature::IterPair) && !t14.has(Feature::NoStaleSlotHandler));
        assert_eq!((t14.limits().small_int_max, t2.limits().small_int_max), (256, 1024));
    }

    /// What a profile compiles is numbered with its own version's opcodes.
    /// (A stage that has code for one side of a feature only refuses with
    /// `Target::lacks`; code generation now has both sides of every
    /// feature it branches on.)
    #[test]
    fn a_profile_without_a_feature_refuses_instead_of_guessing() {
        static UNVERIFIED: Profile = Profile {
            releases: &[r(3, 13, 0)],
            magic: 3571,
            limits: limits::CPYTHON_3_12,
            features: FeatureSet::of(r(3, 13, 0)),
            strings: &crate::marshal::PROCESS_STRINGS_3_12_1,
        };
        let target = Target::of(&UNVERIFIED).unwrap();
        assert!(!target.has(Feature::KwNames) && target.has(Feature::ReturnConst));
        let code = crate::compile(b"x = 1\n", "m.py", target, 0).unwrap();
        let resume = crate::ops::Op::RESUME;
        assert_eq!(code.code[0], target.ops().byte(resume).unwrap());
        assert_ne!(target.ops().byte(resume), Target::exact(r(3, 12, 1)).unwrap().ops().byte(resume));
    }
}
