//! 3.14 behaviours the native compiler does not reproduce yet: each is a
//! named [`Feature`], and code generation refuses where it meets one
//! (docs/targets/3.14.md names each item), so no cache is written wrong.

use super::Compiler;
use crate::ast::{self, Expr, ExprKind};
use crate::error::{Refusal, Result};
use crate::target::Feature;

impl Compiler<'_> {
    /// Refuses when the target has `feature`, which is not reproduced yet.
    pub(super) fn refuse_unreproduced(&self, feature: Feature, what: &str) -> Result<()> {
        if self.target.has(feature) {
            return Err(Refusal::unsupported(format!(
                "{what}: CPython {}'s {} is not reproduced yet ({})",
                self.target.release(),
                feature.name(),
                feature.summary()
            )));
        }
        Ok(())
    }

    /// `all`, `any` or `tuple` of a lone generator expression (C17).
    pub(super) fn refuse_inlined_builtin(&self, func: &Expr, args: &[Expr], keywords: &[ast::Keyword]) -> Result<()> {
        if let ExprKind::Name { id, .. } = &func.kind
            && matches!(id.as_bytes(), b"all" | b"any" | b"tuple")
            && keywords.is_empty()
            && let [arg] = args
            && let ExprKind::GeneratorExp(c) = &arg.kind
            && !c.generators.iter().any(|g| g.is_async)
        {
            return self.refuse_unreproduced(Feature::InlinedBuiltinGenexpr, "all(), any() or tuple() of a generator");
        }
        Ok(())
    }
}
