//! Tables generated from the interpreter's own data.

#[allow(dead_code)]
pub mod opcodes;

pub mod codecs;
