//! Tables generated from the interpreter's own data.

pub mod ops;

pub mod codecs;
