//! How deep ruff's tree nests, measured without recursion.
//!
//! ruff's parser grows its stack as it goes, so a file can hold a tree far
//! deeper than CPython compiles (a few thousand levels); every later stage
//! recurses, so the depth is measured here first, with a stack of our own.
//! CPython's tree is at least as deep as ruff's (it nests `elif` clauses and
//! f-string fields where ruff keeps them flat), so a ruff tree deeper than
//! what CPython's compiler budget allows is refused for certain.

use ruff_python_ast::visitor::source_order::{SourceOrderVisitor, TraversalSignal, walk_elif_else_clause};
use ruff_python_ast::{self as rs, AnyNodeRef};

use crate::error::{Refusal, Result};
use crate::limits::Limits;

/// Refuses a tree nested deeper than CPython could take, before anything
/// recurses over it.
pub fn check(module: &rs::ModModule, limits: &Limits) -> Result<()> {
    // Deeper than the parser's stack or the compiler's budget: CPython
    // refuses, with one error or the other, which only it can tell.
    let bound = limits.parser_stack.max(limits.compiler_recursion);
    let depth = max_depth(module, bound);
    if depth > bound {
        return Err(Refusal::syntax(format!(
            "nested more than {bound} levels deep, past what CPython compiles (RecursionError or MemoryError)"
        )));
    }
    Ok(())
}

/// The depth of the deepest statement, expression, pattern or f-string
/// field, `elif` clauses counted as nested; it stops counting past `bound`.
pub fn max_depth(module: &rs::ModModule, bound: usize) -> usize {
    let mut next = Children { depth: 0, found: Vec::new(), elif: 0 };
    for stmt in &module.body {
        next.visit_stmt(stmt);
    }
    let mut stack = next.found;
    let mut deepest = 0;
    // One buffer for every node's children: a node is visited once.
    let mut found = Vec::new();
    while let Some((node, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        if deepest > bound {
            break;
        }
        let mut next = Children { depth, found, elif: 0 };
        node.visit_source_order(&mut next);
        found = next.found;
        stack.append(&mut found);
    }
    deepest
}

/// Collects a node's children one level down instead of walking them.
struct Children<'a> {
    depth: usize,
    found: Vec<(AnyNodeRef<'a>, usize)>,
    /// Inside the n-th `elif`/`else` clause of an `if`: n levels deeper.
    elif: usize,
}

impl<'a> SourceOrderVisitor<'a> for Children<'a> {
    fn enter_node(&mut self, _node: AnyNodeRef<'a>) -> TraversalSignal {
        TraversalSignal::Traverse
    }

    fn visit_stmt(&mut self, stmt: &'a rs::Stmt) {
        self.found.push((AnyNodeRef::from(stmt), self.depth + 1 + self.elif));
    }

    fn visit_expr(&mut self, expr: &'a rs::Expr) {
        self.found.push((AnyNodeRef::from(expr), self.depth + 1 + self.elif));
    }

    fn visit_pattern(&mut self, pattern: &'a rs::Pattern) {
        self.found.push((AnyNodeRef::from(pattern), self.depth + 1 + self.elif));
    }

    fn visit_interpolated_string_element(&mut self, element: &'a rs::InterpolatedStringElement) {
        self.found.push((AnyNodeRef::from(element), self.depth + 1 + self.elif));
    }

    fn visit_elif_else_clause(&mut self, clause: &'a rs::ElifElseClause) {
        self.elif += 1;
        walk_elif_else_clause(self, clause);
    }
}
