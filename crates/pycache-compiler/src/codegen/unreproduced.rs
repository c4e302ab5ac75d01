//! 3.14 behaviours the native compiler does not reproduce yet: each is a
//! named [`Feature`], and code generation refuses where it meets one
//! (docs/targets/3.14.md names each item), so no cache is written wrong.

use super::Compiler;
use crate::error::{Refusal, Result};
use crate::target::Feature;

impl Compiler<'_> {
    /// An inlined `all`/`any`/`tuple` in an `except` body or the exception
    /// path of a `finally`: CPython then keeps strong loads after the
    /// `try` statement that pycache would borrow (a rule not found yet),
    /// so the unit is refused rather than written wrong.
    pub(super) fn refuse_inlined_builtin_in_handler(&self) -> Result<()> {
        use super::FBlockType::*;
        let in_handler = self
            .unit()
            .fblocks
            .iter()
            .any(|f| matches!(f.kind, ExceptionHandler | ExceptionGroupHandler | HandlerCleanup | FinallyEnd));
        if in_handler {
            return Err(Refusal::unsupported(format!(
                "all(), any() or tuple() of a generator in an exception handler: CPython {}'s {} is not \
                 reproduced there yet (its loads after the `try` are not borrowed)",
                self.target.release(),
                Feature::InlinedBuiltinGenexpr.name()
            )));
        }
        Ok(())
    }
}
