//! How deep ruff's tree nests, measured by a walk that goes no deeper
//! than the bound.
//!
//! ruff's parser grows its stack as it goes, so a file can hold a tree far
//! deeper than CPython compiles (a few thousand levels); every later stage
//! recurses as deep as the tree, so the depth is measured here first, by a
//! recursive walk that turns back one level past the bound (the compiler's
//! own stack holds that). CPython's tree is at least as deep as ruff's (it
//! nests `elif` clauses and f-string fields where ruff keeps them flat), so
//! a ruff tree deeper than what CPython's compiler budget allows is refused
//! for certain.

use ruff_python_ast::visitor::source_order::{
    SourceOrderVisitor, TraversalSignal, walk_elif_else_clause, walk_expr, walk_interpolated_string_element,
    walk_pattern, walk_stmt,
};
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
///
/// A recursive walk that goes no deeper than `bound + 1` levels: the
/// stages after it recurse as deep over any tree it accepts, and it costs
/// less than a stack of pending nodes, which pays a push, a pop and a
/// dispatch through [`AnyNodeRef`] for every node.
pub fn max_depth(module: &rs::ModModule, bound: usize) -> usize {
    let mut walk = Depth { depth: 0, deepest: 0, bound };
    for stmt in &module.body {
        walk.visit_stmt(stmt);
    }
    walk.deepest
}

struct Depth {
    /// The depth of the node being walked (`elif` clauses included).
    depth: usize,
    deepest: usize,
    bound: usize,
}

impl Depth {
    /// Walks a counted node one level below the current one with `walk`,
    /// unless the bound is already passed.
    fn nested(&mut self, walk: impl FnOnce(&mut Self)) {
        let saved = self.depth;
        self.depth += 1;
        self.deepest = self.deepest.max(self.depth);
        if self.deepest <= self.bound {
            walk(self);
        }
        // Back to the parent's level, `elif` clauses walked under it too.
        self.depth = saved;
    }
}

impl<'a> SourceOrderVisitor<'a> for Depth {
    fn enter_node(&mut self, _node: AnyNodeRef<'a>) -> TraversalSignal {
        TraversalSignal::Traverse
    }

    fn visit_stmt(&mut self, stmt: &'a rs::Stmt) {
        self.nested(|w| walk_stmt(w, stmt));
    }

    fn visit_expr(&mut self, expr: &'a rs::Expr) {
        self.nested(|w| walk_expr(w, expr));
    }

    fn visit_pattern(&mut self, pattern: &'a rs::Pattern) {
        self.nested(|w| walk_pattern(w, pattern));
    }

    fn visit_interpolated_string_element(&mut self, element: &'a rs::InterpolatedStringElement) {
        self.nested(|w| walk_interpolated_string_element(w, element));
    }

    fn visit_elif_else_clause(&mut self, clause: &'a rs::ElifElseClause) {
        // The n-th clause of an `if` is n levels deeper; the statement's
        // walk restores the depth when it ends.
        self.depth += 1;
        walk_elif_else_clause(self, clause);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(text: &str, bound: usize) -> usize {
        let parsed = ruff_python_parser::parse_module(text).expect("parses");
        max_depth(parsed.syntax(), bound)
    }

    #[test]
    fn the_bounded_walk_counts_statements_expressions_and_elif_clauses() {
        // `x = 1`: the statement, then its target and value.
        assert_eq!(depth("x = 1\n", 100), 2);
        assert_eq!(depth("x = -(-(-1))\n", 100), 5);
        // Each `elif` clause nests one level deeper than the last.
        assert_eq!(depth("if a:\n    pass\nelif b:\n    pass\nelif c:\n    x = 1\n", 100), 5);
        // An f-string's field is a level, its expression another.
        assert_eq!(depth("f'{a}'\n", 100), 4);
    }

    #[test]
    fn the_bounded_walk_stops_past_its_bound() {
        let deep = format!("x = {}1\n", "-".repeat(300));
        assert_eq!(depth(&deep, 50), 51);
        assert_eq!(depth(&deep, 1000), 302);
        let module = ruff_python_parser::parse_module(&deep).expect("parses").into_syntax();
        let low = Limits { parser_stack: 100, compiler_recursion: 100, ..crate::limits::CPYTHON_3_12 };
        assert!(check(&module, &low).is_err());
        assert!(check(&module, &crate::limits::CPYTHON_3_12).is_ok());
    }
}
