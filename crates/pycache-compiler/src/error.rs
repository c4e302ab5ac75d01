//! Why the native compiler did not produce a code object.
//!
//! Every refusal means "let the interpreter compile this file": the native
//! compiler never guesses. A syntax error carries the position; the exact
//! message CPython would give is the interpreter's to produce.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The source is not valid Python 3.12 (or not valid as far as this
    /// compiler checks).
    Syntax,
    /// Valid source using something this compiler does not reproduce yet.
    Unsupported,
    /// A check inside the compiler failed: a bug, reported instead of a
    /// wrong cache.
    Internal,
    /// The caller's deadline passed before the compile ended.
    Timeout,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub message: String,
    /// 1-based line and column, when known.
    pub line: Option<(u32, u32)>,
    /// Set when the refusal is exactly the error CPython raises for this
    /// source: its exception's name (`message` is then its message, and
    /// `line` its `lineno` and `offset` where it has them).
    pub exception: Option<&'static str>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            RefusalKind::Syntax => "syntax error",
            RefusalKind::Unsupported => "not supported by the native compiler",
            RefusalKind::Internal => "native compiler bug",
            RefusalKind::Timeout => "native compiler timeout",
        };
        if let Some(exception) = self.exception {
            return match self.line {
                Some((line, _)) => write!(f, "{exception}: {} (line {line})", self.message),
                None => write!(f, "{exception}: {}", self.message),
            };
        }
        match self.line {
            Some((line, col)) => write!(f, "{what} at line {line}, column {col}: {}", self.message),
            None => write!(f, "{what}: {}", self.message),
        }
    }
}

impl Refusal {
    pub fn syntax(message: impl Into<String>) -> Self {
        Self { kind: RefusalKind::Syntax, message: message.into(), line: None, exception: None }
    }

    pub fn syntax_at(message: impl Into<String>, line: i32, col: i32) -> Self {
        Self {
            kind: RefusalKind::Syntax,
            message: message.into(),
            line: Some((line.max(0) as u32, col.max(0) as u32 + 1)),
            exception: None,
        }
    }

    /// CPython's own error: `exception` with `message`, at a 1-based line
    /// and offset when it gives them.
    pub fn cpython(exception: &'static str, message: impl Into<String>, line: Option<(u32, u32)>) -> Self {
        Self { kind: RefusalKind::Syntax, message: message.into(), line, exception: Some(exception) }
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self { kind: RefusalKind::Unsupported, message: message.into(), line: None, exception: None }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self { kind: RefusalKind::Internal, message: message.into(), line: None, exception: None }
    }
}

pub type Result<T, E = Refusal> = std::result::Result<T, E>;
