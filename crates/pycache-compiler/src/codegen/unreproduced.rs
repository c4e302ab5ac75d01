//! Behaviours of newer releases the native compiler does not reproduce yet: each is a
//! named [`Feature`], and code generation refuses where it meets one
//! (docs/targets/3.14.md names each item), so no cache is written wrong.

use super::Compiler;
use crate::error::{Refusal, Result};
use crate::target::Feature;

impl Compiler<'_> {
    /// Refuses when the target has `feature`, which is not reproduced yet.
    /// (Unused while every such feature is reproduced.)
    #[allow(dead_code)]
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
}
