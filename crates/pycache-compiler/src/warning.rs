//! The warnings CPython 3.12 prints while it compiles a file (SyntaxWarnings,
//! and the DeprecationWarning of folding `~True`): invalid escapes, a number run into a keyword, and the
//! compiler's "perhaps you missed a comma?" checks. The native compiler
//! reports them with the interpreter's messages, so that a caller can show
//! them, or hand the file to the interpreter to have them printed exactly.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Syntax,
    /// Raised by an operation the compiler folds (`~True`); CPython
    /// attributes it to the code that called the compiler, not to the
    /// source.
    Deprecation,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Self::Syntax => "SyntaxWarning",
            Self::Deprecation => "DeprecationWarning",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The source line the warning is about.
    pub lineno: u32,
    pub category: Category,
    /// The message, as `str(warning.message)` gives it.
    pub message: String,
}

impl fmt::Display for Warning {
    /// As the warnings module prints one, without the source line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.lineno, self.category.name(), self.message)
    }
}
