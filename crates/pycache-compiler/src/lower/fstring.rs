//! f-strings, as CPython 3.12's parser builds them: a `JoinedStr` of
//! constants and `FormattedValue`s, with implicitly concatenated literals
//! merged.

use ruff_python_ast as rs;

use super::Lower;
use crate::ast::Expr;
use crate::error::Result;

impl Lower<'_> {
    pub fn fstring(&mut self, f: &rs::ExprFString) -> Result<Expr> {
        self.refuse(f.range, "f-strings")
    }
}
