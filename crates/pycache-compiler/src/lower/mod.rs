//! From ruff's syntax tree to the CPython-shaped one in [`crate::ast`].
//!
//! ruff's tree differs in shape (elif clauses, async flags, decorated
//! definitions starting at the first `@`, implicitly concatenated literals
//! kept apart) and keeps source text where CPython computes values (number
//! literals, NFKC-normalised identifiers). This stage converts both, and
//! refuses what the later stages do not reproduce exactly.

mod depth;
mod escapes;
mod expr;
mod fstring;
mod stmt;
pub mod tokens;
mod tstring;
mod unpacking;

pub use tstring::{is_tstring_error, tstring_error_unsure};

use num_bigint::BigInt;
use ruff_python_ast as rs;
use ruff_text_size::{TextRange, TextSize};

use crate::ast::{self, NodeId, Range};
use crate::code::PyStr;
use crate::error::{Refusal, Result};
use crate::source::Source;
use crate::target::{Feature, Target};
use crate::warning::{Category, Warning};

/// Parses `source` as a module of the target's version and lowers it, with
/// the warnings CPython's tokenizer and string parser give, and what the
/// tokens tell of its shape.
pub fn parse(source: &Source, target: Target) -> Result<(ast::Module, Vec<Warning>, tokens::Shape)> {
    let (major, minor) = target.version();
    let options = ruff_python_parser::ParseOptions::from(rs::PySourceType::Python)
        .with_target_version(rs::PythonVersion { major, minor });
    let parsed = ruff_python_parser::parse_unchecked(&source.text, options);
    let limits = target.limits();
    let (shape, limit) = tokens::check(source, parsed.tokens(), limits);
    // The parser reads `case +1:` and flags it; 3.15 allows a unary `+`
    // in a literal pattern, older releases have no rule for it.
    let plus_pattern = |e: &&ruff_python_parser::ParseError| matches!(&e.error, ruff_python_parser::ParseErrorType::OtherError(m) if m == PLUS_PATTERN);
    if target.has(Feature::PatternUnaryPlus) {
        if let Some(e) = parsed.errors().iter().find(plus_pattern) {
            if parsed.errors().first().is_some_and(|first| std::ptr::eq(first, e)) {
                // The pattern's folding to a constant is not reproduced.
                let (line, col) = source.position(e.location.start().to_u32());
                return Err(Refusal::unsupported(format!(
                    "a unary `+` in a literal pattern (3.15) at line {line}, column {col}"
                )));
            }
        }
    }
    let first_error = parsed.errors().first();
    // Before 3.14 the parser fails at the first t-string.
    let tstring_error = if target.has(Feature::TemplateStrings) {
        None
    } else {
        tstring::error_before_3_14(source, parsed.tokens(), limits, first_error.is_some())
    };
    let tstring_at = tstring_error.as_ref().map(|(at, _)| *at);
    // 3.14's error for t-strings mixed with other literals.
    let mixed = tstring::mixed_error(source, target, parsed.tokens(), parsed.errors());
    let mut limit_error = None;
    if let Some((at, refusal)) = limit {
        // CPython's tokenizer stops at its limit unless the parser failed
        // on an earlier token. After a bare "invalid syntax" (a t-string
        // before 3.14) or a parser action's error (mixed literals) the
        // interpreter tokenizes the rest of the file: a later limit whose
        // error the tokenizer raises itself wins; the indentation errors,
        // which it only flags, do not.
        let flagged_only = matches!(refusal.exception, Some("TabError" | "IndentationError"));
        let first = first_error.is_none_or(|e| e.location.start() >= at) && tstring_at.is_none_or(|t| t >= at);
        let rest_tokenized =
            mixed.is_some() || (tstring_at.is_some() && first_error.is_none_or(|e| e.location.start() >= at));
        if first || (rest_tokenized && !flagged_only) {
            limit_error = Some(refusal);
        }
    }
    if let Some(refusal) = limit_error {
        return Err(refusal);
    }
    if let Some(error) = first_error.filter(|e| tstring_at.is_none_or(|t| e.location.start() < t)) {
        if let Some(refusal) = mixed {
            return Err(refusal);
        }
        if let Some(refusal) = unpacking::unpacking_error(source, target, parsed.tokens(), parsed.errors()) {
            return Err(refusal);
        }
        let (line, col) = source.position(error.location.start().to_u32());
        if plus_pattern(&error) {
            return Err(Refusal::syntax_at("invalid syntax", line, col));
        }
        return Err(Refusal::syntax_at(error.error.to_string(), line, col));
    }
    // The t-string's own refusal is the lowering's, which may meet an
    // error of CPython's parser before it.
    let unsupported = parsed
        .unsupported_syntax_errors()
        .iter()
        .filter(|e| e.kind != ruff_python_parser::UnsupportedSyntaxErrorKind::TemplateStrings)
        .min_by_key(|e| e.range.start());
    if let Some(error) = unsupported.filter(|e| tstring_at.is_none_or(|t| e.range.start() < t)) {
        if let Some(refusal) = newer_syntax_error(source, error) {
            return Err(refusal);
        }
        let (line, col) = source.position(error.range.start().to_u32());
        return Err(Refusal::syntax_at(error.to_string(), line, col));
    }
    let module = match parsed.into_syntax() {
        rs::Mod::Module(module) => module,
        rs::Mod::Expression(_) => return Err(Refusal::internal("parsed an expression, not a module")),
    };
    // Lowering recurses, and ruff's parser has no depth limit: a tree
    // deeper than CPython could ever compile is refused before that.
    depth::check(&module, limits)?;
    let mut lower = Lower {
        src: source,
        limits,
        target,
        next_id: 1,
        warnings: Default::default(),
        line_hint: Default::default(),
        tstring_error: tstring_error.as_ref().map(|(_, refusal)| refusal.clone()),
    };
    let body = match (lower.stmts(&module.body), tstring_error) {
        (Ok(body), None) => body,
        (Err(refusal), None) => return Err(refusal),
        // What the walk refused before the t-string comes first (an error
        // of CPython's parser, or something not reproduced); what it
        // refused at or after it, the t-string's error replaces.
        (Err(refusal), Some((at, tstring))) => {
            let (t_line, t_col) = source.position(at.to_u32());
            let after = refusal.line.is_some_and(|position| position >= (t_line as u32, t_col as u32 + 1));
            return Err(if after { tstring } else { refusal });
        }
        (Ok(_), Some((_, tstring))) => return Err(tstring),
    };
    Ok((ast::Module { body, id: NodeId(0) }, lower.warnings.into_inner(), shape))
}

/// The parser's error for a unary `+` in a literal pattern.
const PLUS_PATTERN: &str = "Unary '+' is not allowed as a literal pattern";

/// CPython's own error for 3.15 syntax that the target's version does not
/// have (measured on 3.13 and 3.14: docs/targets/3.15.md, section E).
fn newer_syntax_error(source: &Source, error: &ruff_python_parser::UnsupportedSyntaxError) -> Option<Refusal> {
    use ruff_python_parser::UnsupportedSyntaxErrorKind as Kind;
    let (at, message) = match error.kind {
        // `lazy` is read as a name, and the `import` or `from` after it is
        // the unexpected token.
        Kind::LazyImportStatement => {
            let text = source.text.as_bytes();
            let mut at = error.range.end().to_usize();
            loop {
                match text.get(at) {
                    Some(b' ' | b'\t' | b'\x0c') => at += 1,
                    Some(b'\\') if text.get(at + 1) == Some(&b'\n') => at += 2,
                    Some(b'\\') if text.get(at + 1..at + 3) == Some(b"\r\n") => at += 3,
                    _ => break,
                }
            }
            (at, "invalid syntax")
        }
        Kind::UnpackingInComprehension(_) => {
            // The kind's type is not exported: `**` starts a dict's.
            let start = error.range.start().to_usize();
            let message = if source.text.as_bytes()[start..].starts_with(b"**") {
                "dict unpacking cannot be used in dict comprehension"
            } else {
                "iterable unpacking cannot be used in comprehension"
            };
            (start, message)
        }
        _ => return None,
    };
    let (line, col) = source.position(u32::try_from(at).ok()?);
    Some(Refusal::cpython("SyntaxError", message, Some((line.max(0) as u32, col.max(0) as u32 + 1))))
}

/// `items` lowered by `f` into a vector of their exact length: collecting
/// `Result`s cannot size the vector first, and grows it by doubling.
pub(crate) fn each<T, U>(items: &[T], mut f: impl FnMut(&T) -> Result<U>) -> Result<Vec<U>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(f(item)?);
    }
    Ok(out)
}

pub(crate) struct Lower<'a> {
    /// What the target's parser makes of the source (f-string shapes).
    pub(crate) target: Target,
    pub src: &'a Source,
    pub limits: &'static crate::limits::Limits,
    next_id: u32,
    warnings: std::cell::RefCell<Vec<Warning>>,
    /// The line of the last start asked for ([`Source::position_near`]).
    line_hint: std::cell::Cell<usize>,
    /// Before 3.14: what the interpreter says of the file's first t-string.
    tstring_error: Option<Refusal>,
}

impl Lower<'_> {
    pub fn id(&mut self) -> NodeId {
        self.next_id += 1;
        NodeId(self.next_id)
    }

    pub fn range(&self, range: TextRange) -> Range {
        self.span(range.start(), range.end())
    }

    pub fn span(&self, start: TextSize, end: TextSize) -> Range {
        let (lineno, col_offset) = self.src.position_near(start.to_u32(), &self.line_hint);
        // The end is searched from the start's line, and leaves the hint
        // at the start: the next node asked about starts after this one's
        // start, most often well before its end.
        let from_start = std::cell::Cell::new(self.line_hint.get());
        let (end_lineno, end_col_offset) = self.src.position_near(end.to_u32(), &from_start);
        Range { lineno, col_offset, end_lineno, end_col_offset }
    }

    pub fn warn(&self, at: TextSize, message: String) {
        let (lineno, _) = self.src.position(at.to_u32());
        self.warnings.borrow_mut().push(Warning { lineno: lineno.max(0) as u32, category: Category::Syntax, message });
    }

    /// Warns about the first invalid escape of a literal token.
    pub fn check_escapes(&self, range: TextRange, raw: bool, bytes: bool) {
        if raw {
            return;
        }
        if let Some(message) = escapes::first_invalid_escape(self.text(range), bytes) {
            self.warn(range.start(), message);
        }
    }

    pub fn text(&self, range: TextRange) -> &str {
        &self.src.text[range.start().to_usize()..range.end().to_usize()]
    }

    /// An identifier as CPython's parser makes it: NFKC-normalised when
    /// it is not ASCII.
    pub fn ident(&self, id: &str) -> PyStr {
        if id.is_ascii() {
            PyStr::new(id)
        } else {
            use unicode_normalization::UnicodeNormalization;
            PyStr::new(&id.nfkc().collect::<String>())
        }
    }

    /// `[*a for a in b]` and its set and generator forms (3.15, PEP 798):
    /// as in a display, CPython stars only a `bitwise_or` expression in a
    /// list or set comprehension, but any expression in a generator
    /// expression (`f(*a or b for a in c)`, as in a call's arguments; not
    /// a walrus or a yield, which ruff's parser rejects there itself).
    pub fn check_unpacking_elt(&self, elt: &rs::Expr, generator: bool) -> Result<()> {
        use ruff_text_size::Ranged;
        match elt {
            rs::Expr::Starred(s) if !self.target.has(Feature::ComprehensionUnpacking) => {
                self.refuse(s.range, "iterable unpacking in a comprehension for a version without it")
            }
            rs::Expr::Starred(s) if generator => match &*s.value {
                rs::Expr::Named(_) | rs::Expr::Yield(_) | rs::Expr::YieldFrom(_)
                    if !self.bracketed_after_star(s.range.start(), s.value.range().start()) =>
                {
                    self.refuse(s.range, "a starred walrus or yield in a generator expression")
                }
                _ => Ok(()),
            },
            rs::Expr::Starred(_) => self.check_starred_items(std::slice::from_ref(elt)),
            _ => Ok(()),
        }
    }

    pub fn refuse<T>(&self, range: TextRange, what: &str) -> Result<T> {
        let (line, col) = self.src.position(range.start().to_u32());
        Err(Refusal { line: Some((line as u32, col as u32 + 1)), ..Refusal::unsupported(what) })
    }

    /// The offset of the first token after `offset`, skipping blanks,
    /// newlines, comments and line continuations: where the `def` or
    /// `class` of a decorated definition starts.
    pub fn next_token(&self, offset: TextSize) -> TextSize {
        let bytes = self.src.text.as_bytes();
        let mut i = offset.to_usize();
        while i < bytes.len() {
            match bytes[i] {
                b' ' | b'\t' | b'\x0c' | b'\n' | b'\r' => i += 1,
                b'\\' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                _ => break,
            }
        }
        TextSize::new(i as u32)
    }

    /// CPython ends a statement with a block at the last token of the
    /// block, which can be a `;` after its last simple statement.
    pub fn block_end(&self, end: TextSize) -> TextSize {
        let bytes = self.src.text.as_bytes();
        let mut i = end.to_usize();
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\x0c') {
            i += 1;
        }
        if bytes.get(i) == Some(&b';') { TextSize::new(i as u32 + 1) } else { end }
    }

    /// The range of a statement that holds a block.
    pub fn block_range(&self, range: TextRange) -> Range {
        self.span(range.start(), self.block_end(range.end()))
    }

    pub fn int_value(&self, range: TextRange) -> Result<BigInt> {
        // Most literals are a few decimal digits: read without the copies
        // below (18 digits always fit a u64, and are under any digit limit).
        let raw = self.text(range);
        if raw.len() <= 18 && raw.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(value) = raw.parse::<u64>() {
                return Ok(BigInt::from(value));
            }
        }
        let text: String = self.text(range).chars().filter(|&c| c != '_').collect();
        let lower = text.to_ascii_lowercase();
        let (digits, radix) = if let Some(d) = lower.strip_prefix("0x") {
            (d, 16)
        } else if let Some(d) = lower.strip_prefix("0o") {
            (d, 8)
        } else if let Some(d) = lower.strip_prefix("0b") {
            (d, 2)
        } else {
            (lower.as_str(), 10)
        };
        let limit = self.limits.int_max_str_digits;
        if radix == 10 && digits.len() > limit && digits.bytes().any(|b| b != b'0') {
            let (line, _) = self.src.position(range.start().to_u32());
            let message = format!(
                "Exceeds the limit ({limit} digits) for integer string conversion: value has {} digits; use \
                 sys.set_int_max_str_digits() to increase the limit - Consider hexadecimal for huge integer literals \
                 to avoid decimal conversion limits.",
                digits.len()
            );
            return Err(Refusal::cpython("SyntaxError", message, Some((line as u32, 0))));
        }
        BigInt::parse_bytes(digits.as_bytes(), radix)
            .ok_or_else(|| Refusal::internal(format!("cannot read the integer literal `{text}`")))
    }

    pub fn float_value(&self, text: &str) -> Result<f64> {
        let clean: String = text.chars().filter(|&c| c != '_').collect();
        clean.parse::<f64>().map_err(|_| Refusal::internal(format!("cannot read the float literal `{text}`")))
    }
}
