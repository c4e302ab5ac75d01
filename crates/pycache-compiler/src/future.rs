//! `from __future__ import ...` at the top of a module: the features that
//! change compilation, and where the last such import is.

use crate::ast::{self, StmtKind};
use crate::codegen::Flags;
use crate::error::{Refusal, Result};
use crate::instr::Loc;

pub const CO_FUTURE_ANNOTATIONS: u32 = 0x100_0000;

pub fn features(module: &ast::Module) -> Result<Flags> {
    let mut flags = Flags::default();
    let body = &module.body;
    let start = usize::from(ast::docstring(body).is_some());
    for s in &body[start..] {
        let StmtKind::ImportFrom { module: Some(m), names, .. } = &s.kind else { break };
        if m.as_bytes() != b"__future__" {
            break;
        }
        for alias in names {
            match alias.name.as_bytes() {
                b"nested_scopes" | b"generators" | b"division" | b"absolute_import" | b"with_statement"
                | b"print_function" | b"unicode_literals" | b"generator_stop" => {}
                b"annotations" => {
                    flags.annotations = true;
                    flags.co_flags |= CO_FUTURE_ANNOTATIONS;
                }
                b"barry_as_FLUFL" => return Err(Refusal::unsupported("barry_as_FLUFL")),
                b"braces" => return Err(Refusal::syntax_at("not a chance", s.range.lineno, s.range.col_offset)),
                other => {
                    return Err(Refusal::syntax_at(
                        format!("future feature {} is not defined", String::from_utf8_lossy(other)),
                        s.range.lineno,
                        s.range.col_offset,
                    ));
                }
            }
        }
        flags.future_loc = Some(Loc::of(s.range));
    }
    if flags.future_loc.is_none() {
        flags.future_loc = Some(crate::instr::NO_LOCATION);
    }
    Ok(flags)
}
