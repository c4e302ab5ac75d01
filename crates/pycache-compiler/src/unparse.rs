//! Annotations as source text, for `from __future__ import annotations`:
//! CPython's `ast_unparse.c` rendering of an expression.

use crate::ast::Expr;
use crate::code::PyStr;
use crate::error::{Refusal, Result};

pub fn unparse(_e: &Expr) -> Result<PyStr> {
    Err(Refusal::unsupported("annotations under `from __future__ import annotations`"))
}
