//! Whether CPython's parser stack and its compiler's recursion budget take
//! the tree, judged before the stages that recurse over it.
//!
//! Two limits apply (see [`crate::limits`]). The compiler's budget counts
//! one level per statement, expression or pattern on the way down, which
//! the tree gives exactly, save for a few levels of the caller's C stack
//! that depend on who calls `compile()`: files that close are declined.
//! The parser's stack counts grammar rules, which the tree shows only
//! roughly, so it is bounded from both sides: per nesting edge, a cost no
//! parse can exceed and one every parse pays, measured on 3.12.1 (a `not`
//! inside a `not` costs one rule, a lambda in a lambda's body two, in its
//! default eight, each open bracket about thirty). A file under the upper
//! bound parses; one over the lower bound fails with CPython's
//! MemoryError; between the two it is declined.

use crate::ast::{self, Expr, ExprKind, Operator, PatternKind, Stmt, StmtKind, UnaryOp as Unary};
use crate::error::{Refusal, Result};
use crate::limits::{Limits, message};
use crate::lower::tokens::Shape;

/// Upper bound of the rules the parser holds below a statement's first.
const PARSER_BASE_MAX: usize = 100;
/// Lower bound of the same (3.12.1 needs 32 for `x = not ... a`).
const PARSER_BASE_MIN: usize = 30;
/// Upper bound per open bracket, the descent to its contents included
/// (measured: 30 for tuples, 31 for tuples of comparisons).
const PARSER_BRACKET_MAX: usize = 32;
/// Upper bound per f-string inside f-strings, beyond its field's bracket.
const PARSER_FSTRING_MAX: usize = 16;
/// Upper bound of an edge that is no chain the costs below know.
const PARSER_EDGE_MAX: usize = 40;
/// Upper bound per nested block of statements.
const PARSER_BLOCK_MAX: usize = 15;

/// The verdict for `module`, whose tokens had `shape`.
pub fn check(module: &ast::Module, shape: &Shape, source: &crate::source::Source, limits: &Limits) -> Result<()> {
    let mut walk = Walk { source, deepest: 0, hi: 0, lo: 0 };
    for stmt in &module.body {
        walk.stmt(stmt, 1, 0, 0);
    }
    let parser_hi =
        PARSER_BASE_MAX + PARSER_BRACKET_MAX * shape.brackets + PARSER_FSTRING_MAX * shape.fstrings + walk.hi;
    let parser_lo = PARSER_BASE_MIN + walk.lo;
    if parser_hi > limits.parser_stack {
        if parser_lo > limits.parser_stack {
            return Err(Refusal::cpython("MemoryError", message::PARSER_STACK, None));
        }
        return Err(Refusal::unsupported(format!(
            "nested so deep that CPython's parser may run out of stack (between {parser_lo} and {parser_hi} of its \
             {} levels)",
            limits.parser_stack
        )));
    }
    let used = limits.compiler_recursion_start + walk.deepest;
    if used > limits.compiler_recursion + limits.compiler_recursion_slack {
        return Err(Refusal::cpython("RecursionError", message::RECURSION, None));
    }
    if used + limits.compiler_recursion_slack > limits.compiler_recursion {
        return Err(Refusal::unsupported(format!(
            "nested {} levels deep, so close to CPython's compiler budget that the verdict depends on its caller",
            walk.deepest
        )));
    }
    Ok(())
}

/// Where a child sits in its parent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Inside brackets (or an f-string field): [`Shape::brackets`] pays.
    Bracket,
    /// The head of a left-recursive chain (`a.b`, `a()`, `a[0]`, `a + b`):
    /// the parser loops there instead of nesting.
    Head,
    /// A lambda's default value.
    Default,
    Other,
}

struct Walk<'a> {
    source: &'a crate::source::Source,
    /// The compiler's depth: statements, expressions and patterns.
    deepest: usize,
    /// The parser's cost along the dearest path, bounded from above and
    /// from below (brackets apart).
    hi: usize,
    lo: usize,
}

fn is_collection(kind: &ExprKind) -> bool {
    matches!(
        kind,
        ExprKind::List { .. }
            | ExprKind::Tuple { .. }
            | ExprKind::Set(_)
            | ExprKind::Dict { .. }
            | ExprKind::ListComp(_)
            | ExprKind::SetComp(_)
            | ExprKind::DictComp(_)
            | ExprKind::GeneratorExp(_)
    )
}

fn is_primary(kind: &ExprKind) -> bool {
    matches!(
        kind,
        ExprKind::Attribute { .. } | ExprKind::Call { .. } | ExprKind::Subscript { .. } | ExprKind::Name { .. }
    )
}

fn precedence(op: Operator) -> u8 {
    match op {
        Operator::BitOr => 1,
        Operator::BitXor => 2,
        Operator::BitAnd => 3,
        Operator::LShift | Operator::RShift => 4,
        Operator::Add | Operator::Sub => 5,
        Operator::Mult | Operator::MatMult | Operator::Div | Operator::Mod | Operator::FloorDiv => 6,
        Operator::Pow => 7,
    }
}

impl Walk<'_> {
    /// (at least, at most) rules of the parser between `parent` and
    /// `child` in `slot`.
    fn edge(&self, parent: &ExprKind, slot: Slot, child: &ExprKind) -> (usize, usize) {
        use ExprKind::*;
        match (parent, slot, child) {
            (_, Slot::Bracket, c) => (if is_collection(c) { 20 } else { 0 }, 0),
            (_, Slot::Head, c) if is_primary(c) => (0, 0),
            (BinOp { op, .. }, Slot::Head, BinOp { op: inner, .. }) if precedence(*op) == precedence(*inner) => (0, 0),
            (UnaryOp { op: Unary::Not, .. }, _, UnaryOp { op: Unary::Not, .. }) => (1, 1),
            (UnaryOp { op: a, .. }, _, UnaryOp { op: b, .. }) if *a != Unary::Not && *b != Unary::Not => (1, 1),
            (IfExp { .. }, Slot::Other, IfExp { .. }) => (0, 1),
            (Lambda { .. }, Slot::Other, Lambda { .. }) => (2, 2),
            (Lambda { .. }, Slot::Default, Lambda { .. }) => (8, 8),
            (BinOp { op: Operator::Pow, .. }, Slot::Other, BinOp { op: Operator::Pow, .. }) => (2, 2),
            _ => (0, PARSER_EDGE_MAX),
        }
    }

    fn stmt(&mut self, stmt: &Stmt, depth: usize, hi: usize, lo: usize) {
        self.deepest = self.deepest.max(depth);
        self.hi = self.hi.max(hi);
        self.lo = self.lo.max(lo);
        let e = |w: &mut Self, x: &Expr| w.expr(x, depth + 1, hi + PARSER_EDGE_MAX, lo);
        let body = |w: &mut Self, b: &[Stmt]| {
            for s in b {
                w.stmt(s, depth + 1, hi + PARSER_BLOCK_MAX, lo);
            }
        };
        match &stmt.kind {
            StmtKind::FunctionDef(f) | StmtKind::AsyncFunctionDef(f) => {
                self.arguments(&f.args, depth, hi, lo);
                f.decorator_list.iter().for_each(|x| e(self, x));
                f.returns.iter().for_each(|x| e(self, x));
                self.type_params(&f.type_params, depth, hi, lo);
                body(self, &f.body);
            }
            StmtKind::ClassDef(c) => {
                c.bases.iter().for_each(|x| e(self, x));
                c.keywords.iter().for_each(|k| e(self, &k.value));
                c.decorator_list.iter().for_each(|x| e(self, x));
                self.type_params(&c.type_params, depth, hi, lo);
                body(self, &c.body);
            }
            StmtKind::Return(v) => v.iter().for_each(|x| e(self, x)),
            StmtKind::Delete(t) => t.iter().for_each(|x| e(self, x)),
            StmtKind::Assign { targets, value } => {
                targets.iter().for_each(|x| e(self, x));
                e(self, value);
            }
            StmtKind::TypeAlias { name, type_params, value, .. } => {
                e(self, name);
                self.type_params(type_params, depth, hi, lo);
                e(self, value);
            }
            StmtKind::AugAssign { target, value, .. } => {
                e(self, target);
                e(self, value);
            }
            StmtKind::AnnAssign { target, annotation, value, .. } => {
                e(self, target);
                e(self, annotation);
                value.iter().for_each(|x| e(self, x));
            }
            StmtKind::For { target, iter, body: b, orelse } | StmtKind::AsyncFor { target, iter, body: b, orelse } => {
                e(self, target);
                e(self, iter);
                body(self, b);
                body(self, orelse);
            }
            StmtKind::While { test, body: b, orelse } => {
                e(self, test);
                body(self, b);
                body(self, orelse);
            }
            StmtKind::If { test, body: b, orelse } => {
                e(self, test);
                body(self, b);
                match orelse.as_slice() {
                    // An `elif` costs the parser one rule; an `else:` with an
                    // `if` inside, a block.
                    [inner] if matches!(inner.kind, StmtKind::If { .. }) && self.starts_elif(inner) => {
                        self.stmt(inner, depth + 1, hi + 1, lo + 1);
                    }
                    _ => body(self, orelse),
                }
            }
            StmtKind::With { items, body: b } | StmtKind::AsyncWith { items, body: b } => {
                for item in items {
                    e(self, &item.context_expr);
                    item.optional_vars.iter().for_each(|x| e(self, x));
                }
                body(self, b);
            }
            StmtKind::Match { subject, cases } => {
                e(self, subject);
                for case in cases {
                    self.pattern(&case.pattern, depth + 1, hi + PARSER_EDGE_MAX, lo);
                    case.guard.iter().for_each(|x| e(self, x));
                    body(self, &case.body);
                }
            }
            StmtKind::Raise { exc, cause } => {
                exc.iter().for_each(|x| e(self, x));
                cause.iter().for_each(|x| e(self, x));
            }
            StmtKind::Try { body: b, handlers, orelse, finalbody }
            | StmtKind::TryStar { body: b, handlers, orelse, finalbody } => {
                body(self, b);
                for h in handlers {
                    h.type_.iter().for_each(|x| e(self, x));
                    body(self, &h.body);
                }
                body(self, orelse);
                body(self, finalbody);
            }
            StmtKind::Assert { test, msg } => {
                e(self, test);
                msg.iter().for_each(|x| e(self, x));
            }
            StmtKind::Expr(x) => e(self, x),
            StmtKind::Import { .. }
            | StmtKind::ImportFrom { .. }
            | StmtKind::Global(_)
            | StmtKind::Nonlocal(_)
            | StmtKind::Pass
            | StmtKind::Break
            | StmtKind::Continue => {}
        }
    }

    fn starts_elif(&self, stmt: &Stmt) -> bool {
        let at = self.source.offset(stmt.range.lineno, stmt.range.col_offset);
        at.is_some_and(|at| self.source.text[at..].starts_with("elif"))
    }

    /// Defaults and annotations of a `def`, at the statement's depth.
    fn arguments(&mut self, args: &ast::Arguments, depth: usize, hi: usize, lo: usize) {
        let all =
            args.posonlyargs.iter().chain(&args.args).chain(&args.vararg).chain(&args.kwonlyargs).chain(&args.kwarg);
        for arg in all {
            if let Some(a) = &arg.annotation {
                self.expr(a, depth + 1, hi + PARSER_EDGE_MAX, lo);
            }
        }
        for d in args.defaults.iter().chain(args.kw_defaults.iter().flatten()) {
            self.expr(d, depth + 1, hi + PARSER_EDGE_MAX, lo);
        }
    }

    fn type_params(&mut self, params: &[ast::TypeParam], depth: usize, hi: usize, lo: usize) {
        for p in params {
            if let ast::TypeParamKind::TypeVar { bound: Some(b), .. } = &p.kind {
                self.expr(b, depth + 1, hi + PARSER_EDGE_MAX, lo);
            }
        }
    }

    fn pattern(&mut self, p: &ast::Pattern, depth: usize, hi: usize, lo: usize) {
        self.deepest = self.deepest.max(depth);
        self.hi = self.hi.max(hi);
        self.lo = self.lo.max(lo);
        let sub = |w: &mut Self, q: &ast::Pattern| w.pattern(q, depth + 1, hi + PARSER_EDGE_MAX, lo);
        match &p.kind {
            PatternKind::MatchValue(v) => self.expr(v, depth + 1, hi + PARSER_EDGE_MAX, lo),
            PatternKind::MatchSingleton(_) | PatternKind::MatchStar(_) => {}
            PatternKind::MatchSequence(ps) | PatternKind::MatchOr(ps) => ps.iter().for_each(|q| sub(self, q)),
            PatternKind::MatchMapping { keys, patterns, .. } => {
                keys.iter().for_each(|k| self.expr(k, depth + 1, hi + PARSER_EDGE_MAX, lo));
                patterns.iter().for_each(|q| sub(self, q));
            }
            PatternKind::MatchClass { cls, patterns, kwd_patterns, .. } => {
                self.expr(cls, depth + 1, hi + PARSER_EDGE_MAX, lo);
                patterns.iter().chain(kwd_patterns).for_each(|q| sub(self, q));
            }
            PatternKind::MatchAs { pattern, .. } => pattern.iter().for_each(|q| sub(self, q)),
        }
    }

    fn expr(&mut self, x: &Expr, depth: usize, hi: usize, lo: usize) {
        self.deepest = self.deepest.max(depth);
        self.hi = self.hi.max(hi);
        self.lo = self.lo.max(lo);
        // Each child is walked as it is met: the costs are maxima along
        // paths, which the order of the walk does not change, and no list
        // of children is built per node.
        let parent = &x.kind;
        let mut push = |slot: Slot, child: &Expr| {
            let (l, h) = self.edge(parent, slot, &child.kind);
            self.expr(child, depth + 1, hi + h, lo + l);
        };
        use ExprKind::*;
        match parent {
            BoolOp { values, .. } => values.iter().for_each(|v| push(Slot::Other, v)),
            NamedExpr { target, value } => {
                push(Slot::Other, target);
                push(Slot::Other, value);
            }
            BinOp { left, right, .. } => {
                push(Slot::Head, left);
                push(Slot::Other, right);
            }
            UnaryOp { operand, .. } => push(Slot::Other, operand),
            Lambda { args, body, .. } => {
                for d in args.defaults.iter().chain(args.kw_defaults.iter().flatten()) {
                    push(Slot::Default, d);
                }
                push(Slot::Other, body);
            }
            IfExp { test, body, orelse } => {
                push(Slot::Other, test);
                push(Slot::Other, body);
                push(Slot::Other, orelse);
            }
            Dict { keys, values } => {
                keys.iter().flatten().for_each(|k| push(Slot::Bracket, k));
                values.iter().for_each(|v| push(Slot::Bracket, v));
            }
            Set(elts) | List { elts, .. } | Tuple { elts, .. } | JoinedStr(elts) | TemplateStr(elts) => {
                elts.iter().for_each(|v| push(Slot::Bracket, v))
            }
            ListComp(c) | SetComp(c) | DictComp(c) | GeneratorExp(c) => {
                push(Slot::Bracket, &c.elt);
                c.value.iter().for_each(|v| push(Slot::Bracket, v));
                for g in &c.generators {
                    push(Slot::Bracket, &g.target);
                    push(Slot::Bracket, &g.iter);
                    g.ifs.iter().for_each(|v| push(Slot::Bracket, v));
                }
            }
            Await(v) | YieldFrom(v) => push(Slot::Other, v),
            Yield(v) => v.iter().for_each(|v| push(Slot::Other, v)),
            Compare { left, comparators, .. } => {
                push(Slot::Other, left);
                comparators.iter().for_each(|v| push(Slot::Other, v));
            }
            Call { func, args, keywords } => {
                push(Slot::Head, func);
                args.iter().for_each(|v| push(Slot::Bracket, v));
                keywords.iter().for_each(|k| push(Slot::Bracket, &k.value));
            }
            FormattedValue { value, format_spec, .. } | Interpolation { value, format_spec, .. } => {
                push(Slot::Bracket, value);
                format_spec.iter().for_each(|v| push(Slot::Bracket, v));
            }
            Constant { .. } | Name { .. } => {}
            Attribute { value, .. } => push(Slot::Head, value),
            Subscript { value, slice, .. } => {
                push(Slot::Head, value);
                push(Slot::Bracket, slice);
            }
            Starred { value, .. } => push(Slot::Other, value),
            Slice { lower, upper, step } => {
                for v in [lower, upper, step].into_iter().flatten() {
                    push(Slot::Bracket, v);
                }
            }
        }
    }
}
