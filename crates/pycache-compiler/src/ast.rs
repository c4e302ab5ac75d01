//! The abstract syntax tree CPython 3.12's compiler works on.
//!
//! The shapes follow `Python.asdl` (elif chains are nested `If`s, a sync and
//! an async variant of each compound statement, constants already folded
//! from literals), and the positions are CPython's: 1-based lines and
//! 0-based columns counted in UTF-8 bytes. Scope-creating nodes carry a
//! [`NodeId`] so that the symbol table can be looked up from code
//! generation, as CPython keys its table by node address.

use crate::code::{Constant, PyStr};

/// A source position range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Range {
    pub lineno: i32,
    pub col_offset: i32,
    pub end_lineno: i32,
    pub end_col_offset: i32,
}

/// Identifies a node that opens a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

pub type Ident = PyStr;

#[derive(Debug, Clone)]
pub struct Module {
    pub body: Vec<Stmt>,
    pub id: NodeId,
}

#[derive(Debug, Clone)]
pub struct Stmt {
    pub range: Range,
    pub kind: StmtKind,
}

#[derive(Debug, Clone)]
pub struct FunctionDef {
    pub id: NodeId,
    pub name: Ident,
    pub args: Arguments,
    pub body: Vec<Stmt>,
    pub decorator_list: Vec<Expr>,
    pub returns: Option<Box<Expr>>,
    pub type_params: Vec<TypeParam>,
    /// The scope of the type parameters, when there are any.
    pub type_params_id: NodeId,
}

#[derive(Debug, Clone)]
pub struct ClassDef {
    pub id: NodeId,
    pub name: Ident,
    /// For a generic class, the last base is a load of the hidden local
    /// `.generic_base` that CPython's compiler appends to the source's.
    pub bases: Vec<Expr>,
    pub keywords: Vec<Keyword>,
    pub body: Vec<Stmt>,
    pub decorator_list: Vec<Expr>,
    pub type_params: Vec<TypeParam>,
    /// The scope of the type parameters, when there are any.
    pub type_params_id: NodeId,
}

#[derive(Debug, Clone)]
pub enum StmtKind {
    FunctionDef(Box<FunctionDef>),
    AsyncFunctionDef(Box<FunctionDef>),
    ClassDef(Box<ClassDef>),
    Return(Option<Box<Expr>>),
    Delete(Vec<Expr>),
    Assign { targets: Vec<Expr>, value: Box<Expr> },
    TypeAlias { id: NodeId, type_params_id: NodeId, name: Box<Expr>, type_params: Vec<TypeParam>, value: Box<Expr> },
    AugAssign { target: Box<Expr>, op: Operator, value: Box<Expr> },
    AnnAssign { target: Box<Expr>, annotation: Box<Expr>, value: Option<Box<Expr>>, simple: bool },
    For { target: Box<Expr>, iter: Box<Expr>, body: Vec<Stmt>, orelse: Vec<Stmt> },
    AsyncFor { target: Box<Expr>, iter: Box<Expr>, body: Vec<Stmt>, orelse: Vec<Stmt> },
    While { test: Box<Expr>, body: Vec<Stmt>, orelse: Vec<Stmt> },
    If { test: Box<Expr>, body: Vec<Stmt>, orelse: Vec<Stmt> },
    With { items: Vec<WithItem>, body: Vec<Stmt> },
    AsyncWith { items: Vec<WithItem>, body: Vec<Stmt> },
    Match { subject: Box<Expr>, cases: Vec<MatchCase> },
    Raise { exc: Option<Box<Expr>>, cause: Option<Box<Expr>> },
    Try { body: Vec<Stmt>, handlers: Vec<ExceptHandler>, orelse: Vec<Stmt>, finalbody: Vec<Stmt> },
    TryStar { body: Vec<Stmt>, handlers: Vec<ExceptHandler>, orelse: Vec<Stmt>, finalbody: Vec<Stmt> },
    Assert { test: Box<Expr>, msg: Option<Box<Expr>> },
    Import { names: Vec<Alias>, lazy: bool },
    ImportFrom { module: Option<Ident>, names: Vec<Alias>, level: u32, lazy: bool },
    Global(Vec<Ident>),
    Nonlocal(Vec<Ident>),
    Expr(Box<Expr>),
    Pass,
    Break,
    Continue,
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub range: Range,
    pub kind: ExprKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctx {
    Load,
    Store,
    Del,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoolOp {
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Add,
    Sub,
    Mult,
    MatMult,
    Div,
    Mod,
    Pow,
    LShift,
    RShift,
    BitOr,
    BitXor,
    BitAnd,
    FloorDiv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Invert,
    Not,
    UAdd,
    USub,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtE,
    Gt,
    GtE,
    Is,
    IsNot,
    In,
    NotIn,
}

/// A comprehension or generator expression.
#[derive(Debug, Clone)]
pub struct Comp {
    pub id: NodeId,
    pub elt: Box<Expr>,
    /// The value of a dict comprehension (`elt` is then the key).
    pub value: Option<Box<Expr>>,
    pub generators: Vec<Comprehension>,
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    BoolOp {
        op: BoolOp,
        values: Vec<Expr>,
    },
    NamedExpr {
        target: Box<Expr>,
        value: Box<Expr>,
    },
    BinOp {
        left: Box<Expr>,
        op: Operator,
        right: Box<Expr>,
    },
    UnaryOp {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Lambda {
        id: NodeId,
        args: Box<Arguments>,
        body: Box<Expr>,
    },
    IfExp {
        test: Box<Expr>,
        body: Box<Expr>,
        orelse: Box<Expr>,
    },
    /// A `None` key is a `**` unpacking.
    Dict {
        keys: Vec<Option<Expr>>,
        values: Vec<Expr>,
    },
    Set(Vec<Expr>),
    ListComp(Box<Comp>),
    SetComp(Box<Comp>),
    DictComp(Box<Comp>),
    GeneratorExp(Box<Comp>),
    Await(Box<Expr>),
    Yield(Option<Box<Expr>>),
    YieldFrom(Box<Expr>),
    Compare {
        left: Box<Expr>,
        ops: Vec<CmpOp>,
        comparators: Vec<Expr>,
    },
    Call {
        func: Box<Expr>,
        args: Vec<Expr>,
        keywords: Vec<Keyword>,
    },
    /// `conversion` is -1 or the character `s`, `r` or `a`.
    FormattedValue {
        value: Box<Expr>,
        conversion: i32,
        format_spec: Option<Box<Expr>>,
    },
    JoinedStr(Vec<Expr>),
    /// A t-string (PEP 750), its literals concatenated: `Constant` strings
    /// (adjacent ones merged, none empty) and `Interpolation`s.
    TemplateStr(Vec<Expr>),
    /// One `{...}` of a t-string. `text` is the expression's source as
    /// CPython's parser records it; `conversion` as in `FormattedValue`;
    /// the spec is a `JoinedStr`.
    Interpolation {
        value: Box<Expr>,
        text: PyStr,
        conversion: i32,
        format_spec: Option<Box<Expr>>,
    },
    /// `kind` is `Some("u")` for a `u'...'` literal.
    Constant {
        value: Constant,
        kind_u: bool,
    },
    Attribute {
        value: Box<Expr>,
        attr: Ident,
        ctx: Ctx,
    },
    Subscript {
        value: Box<Expr>,
        slice: Box<Expr>,
        ctx: Ctx,
    },
    Starred {
        value: Box<Expr>,
        ctx: Ctx,
    },
    Name {
        id: Ident,
        ctx: Ctx,
    },
    List {
        elts: Vec<Expr>,
        ctx: Ctx,
    },
    Tuple {
        elts: Vec<Expr>,
        ctx: Ctx,
    },
    Slice {
        lower: Option<Box<Expr>>,
        upper: Option<Box<Expr>>,
        step: Option<Box<Expr>>,
    },
}

impl Expr {
    pub fn constant(&self) -> Option<&Constant> {
        match &self.kind {
            ExprKind::Constant { value, .. } => Some(value),
            _ => None,
        }
    }

    pub fn is_constant(&self) -> bool {
        matches!(self.kind, ExprKind::Constant { .. })
    }

    pub fn is_starred(&self) -> bool {
        matches!(self.kind, ExprKind::Starred { .. })
    }
}

#[derive(Debug, Clone)]
pub struct Comprehension {
    pub target: Expr,
    pub iter: Expr,
    pub ifs: Vec<Expr>,
    pub is_async: bool,
}

#[derive(Debug, Clone)]
pub struct ExceptHandler {
    pub range: Range,
    pub type_: Option<Box<Expr>>,
    pub name: Option<Ident>,
    pub body: Vec<Stmt>,
}

#[derive(Debug, Clone, Default)]
pub struct Arguments {
    pub posonlyargs: Vec<Arg>,
    pub args: Vec<Arg>,
    pub vararg: Option<Arg>,
    pub kwonlyargs: Vec<Arg>,
    /// One per keyword-only argument.
    pub kw_defaults: Vec<Option<Expr>>,
    pub kwarg: Option<Arg>,
    /// For the last positional arguments.
    pub defaults: Vec<Expr>,
}

#[derive(Debug, Clone)]
pub struct Arg {
    pub range: Range,
    pub arg: Ident,
    pub annotation: Option<Box<Expr>>,
}

#[derive(Debug, Clone)]
pub struct Keyword {
    pub range: Range,
    /// `None` for `**mapping`.
    pub arg: Option<Ident>,
    pub value: Expr,
}

#[derive(Debug, Clone)]
pub struct Alias {
    pub range: Range,
    pub name: Ident,
    pub asname: Option<Ident>,
}

#[derive(Debug, Clone)]
pub struct WithItem {
    pub context_expr: Expr,
    pub optional_vars: Option<Box<Expr>>,
}

#[derive(Debug, Clone)]
pub struct MatchCase {
    pub pattern: Pattern,
    pub guard: Option<Box<Expr>>,
    pub body: Vec<Stmt>,
}

#[derive(Debug, Clone)]
pub struct Pattern {
    pub range: Range,
    pub kind: PatternKind,
}

#[derive(Debug, Clone)]
pub enum PatternKind {
    MatchValue(Box<Expr>),
    MatchSingleton(Constant),
    MatchSequence(Vec<Pattern>),
    MatchMapping { keys: Vec<Expr>, patterns: Vec<Pattern>, rest: Option<Ident> },
    MatchClass { cls: Box<Expr>, patterns: Vec<Pattern>, kwd_attrs: Vec<Ident>, kwd_patterns: Vec<Pattern> },
    MatchStar(Option<Ident>),
    MatchAs { pattern: Option<Box<Pattern>>, name: Option<Ident> },
    MatchOr(Vec<Pattern>),
}

impl Pattern {
    /// `_`: a capture-less, pattern-less `MatchAs`.
    pub fn is_wildcard(&self) -> bool {
        matches!(self.kind, PatternKind::MatchAs { pattern: None, name: None })
    }

    pub fn is_star_wildcard(&self) -> bool {
        matches!(self.kind, PatternKind::MatchStar(None))
    }
}

#[derive(Debug, Clone)]
pub struct TypeParam {
    pub range: Range,
    pub kind: TypeParamKind,
}

#[derive(Debug, Clone)]
pub enum TypeParamKind {
    /// `id` keys the lazily evaluated scope of the bound, when there is one.
    TypeVar {
        name: Ident,
        bound: Option<Box<Expr>>,
        id: NodeId,
    },
    ParamSpec {
        name: Ident,
    },
    TypeVarTuple {
        name: Ident,
    },
}

/// The docstring of a body: its first statement, when that is an
/// expression statement holding a string constant.
pub fn docstring(body: &[Stmt]) -> Option<&Expr> {
    match body.first().map(|s| &s.kind) {
        Some(StmtKind::Expr(e)) if matches!(e.constant(), Some(Constant::Str(_))) => Some(e),
        _ => None,
    }
}
