//! Template strings (PEP 750), as CPython 3.14's parser builds them: a
//! `TemplateStr` of constants and `Interpolation`s.
//!
//! The literal text is handled as in an f-string (`fstring.rs`): the parts
//! of an implicit concatenation flattened, runs of constants merged, empty
//! ones dropped, a `{x=}` field preceded by a constant of its source text.
//! Each field also records the text of its expression: the source from
//! after the `{` to the `!`, `:` or `}` that ends it (for `{x=}`, to the
//! `=`), comments removed, whitespace kept.
//!
//! Releases before 3.14 read the prefix as a name followed by a string and
//! fail on that string ([`error_before_3_14`]).

use ruff_python_ast as rs;
use ruff_python_ast::token::{Token, TokenKind, Tokens};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::Lower;
use super::fstring::{Piece, without_real_comments};
use crate::ast::{Expr, ExprKind};
use crate::code::PyStr;
use crate::error::{Refusal, Result};
use crate::source::Source;
use crate::target::Feature;

impl Lower<'_> {
    pub fn tstring(&mut self, t: &rs::ExprTString) -> Result<Expr> {
        if !self.target.has(Feature::TemplateStrings) {
            return Err(self.tstring_before_3_14(t));
        }
        let mut flat = Vec::new();
        for part in t.value.iter() {
            let raw = part.flags.prefix().is_raw();
            for element in part.elements.iter() {
                match element {
                    rs::InterpolatedStringElement::Literal(lit) => {
                        let value = self.literal_text(lit.range, raw, &lit.value, false, "a t-string")?;
                        if !value.is_empty() {
                            flat.push(Piece::Const { value, start: lit.range.start(), end: lit.range.end() });
                        }
                    }
                    rs::InterpolatedStringElement::Interpolation(field) => {
                        let start = field.range.start() + TextSize::new(1);
                        let end = self.field_text_end(field)?;
                        let written = self.text(TextRange::new(start, end));
                        let Some(mut text) = without_real_comments(written) else {
                            return self
                                .refuse(field.range, "a `#` in a t-string field with nested or triple-quoted strings");
                        };
                        if field.debug_text.is_some() {
                            let value = self.debug_text(written, raw, field.range)?.into_bytes();
                            flat.push(Piece::Const { value, start, end });
                            // The expression's text stops at the `=`; after it
                            // come only whitespace and line continuations.
                            let kept = before_debug_tail(&text);
                            if !text[..kept].ends_with('=') {
                                return Err(Refusal::internal("a self-documenting t-string field without `=`"));
                            }
                            text.truncate(kept - 1);
                        }
                        let value = self.interpolation(field, text, raw)?;
                        flat.push(Piece::Value(value));
                    }
                }
            }
        }
        let values = self.merge_pieces(flat);
        Ok(Expr { range: self.range(t.range), kind: ExprKind::TemplateStr(values) })
    }

    fn interpolation(&mut self, field: &rs::InterpolatedElement, text: String, raw: bool) -> Result<Expr> {
        let value = Box::new(self.expr(&field.expression)?);
        let mut conversion = match field.conversion {
            rs::ConversionFlag::None => -1,
            rs::ConversionFlag::Str => i32::from(b's'),
            rs::ConversionFlag::Repr => i32::from(b'r'),
            rs::ConversionFlag::Ascii => i32::from(b'a'),
        };
        if field.debug_text.is_some() && field.format_spec.is_none() && conversion == -1 {
            conversion = i32::from(b'r');
        }
        let format_spec = match &field.format_spec {
            Some(spec) => Some(Box::new(self.format_spec(field, spec, raw)?)),
            None => None,
        };
        Ok(Expr {
            range: self.range(field.range),
            kind: ExprKind::Interpolation { value, text: PyStr::new(&text), conversion, format_spec },
        })
    }

    /// Where the text of a field's expression ends: at the `!`, `:` or `}`
    /// after it (a self-documenting field's text runs on over the `=`).
    fn field_text_end(&self, field: &rs::InterpolatedElement) -> Result<TextSize> {
        let start = field.range.start() + TextSize::new(1);
        if let Some(debug) = &field.debug_text {
            return Ok(start + TextSize::new(debug.as_str().len() as u32));
        }
        // After the expression only closing brackets (ruff's ranges leave
        // them out), whitespace, line continuations and comments.
        let bytes = self.src.text.as_bytes();
        let mut at = field.expression.range().end().to_usize();
        let close = field.range.end().to_usize().saturating_sub(1);
        while at < close {
            match bytes[at] {
                b'!' | b':' | b'}' => break,
                b' ' | b'\t' | b'\x0c' | b'\r' | b'\n' | b'\\' | b')' => at += 1,
                b'#' => {
                    while at < close && bytes[at] != b'\n' {
                        at += 1;
                    }
                }
                _ => return self.refuse(field.range, "a t-string field whose expression text is not found"),
            }
        }
        Ok(TextSize::new(at as u32))
    }

    /// What a release before 3.14 says of the file's t-strings: the error
    /// [`error_before_3_14`] found for the first one, whichever one the
    /// walk meets first.
    fn tstring_before_3_14(&self, t: &rs::ExprTString) -> Refusal {
        self.tstring_error.clone().unwrap_or_else(|| {
            let (line, col) = self.src.position(t.range.start().to_u32());
            Refusal::syntax_at("invalid syntax (a t-string before 3.14)", line, col)
        })
    }
}

/// The error 3.12 and 3.13 give for the file's first t-string, and where it
/// is. Their tokenizer reads the prefix as a name and the rest as a plain
/// string, which the parser refuses after a name: "invalid syntax" at the
/// string. That is sure only where the second, error-hunting pass of their
/// parser finds nothing more particular around it; elsewhere the error is
/// left to the interpreter (a plain syntax refusal):
/// - ruff found a syntax error as well (it may be what the pass reports);
/// - earlier, a `print` or `exec` without `(`, brackets deep enough for the
///   second pass to overflow the parser's stack, or an int past the digit
///   limit;
/// - it is in the condition of what may be a conditional expression
///   (`x if c + t"a" else y`: "expected 'else' after 'if' expression"), or
///   after a `*` or `**` on its logical line (`[*(t"a")]`: "Invalid star
///   expression");
/// - a t-string from there on, read as a plain string, does not end where
///   it does (the interpreter tokenizes the rest of the file after a bare
///   "invalid syntax", and reports the tokenizer's errors instead);
/// - the t-string sits in an f-string's field, or after a string (the
///   error is then at the prefix, or "Perhaps you forgot a comma?");
/// - as a plain string its text ends elsewhere, does not end on its line,
///   or does not decode (a tokenizer or decoding error comes first);
/// - a string follows it, or inside brackets another t-string (the pass
///   reads a concatenation, or "Perhaps you forgot a comma?").
pub(super) fn error_before_3_14(
    source: &Source,
    tokens: &Tokens,
    limits: &crate::limits::Limits,
    ruff_failed: bool,
) -> Option<(TextSize, Refusal)> {
    let all: &[Token] = tokens;
    let mut brackets = 0usize;
    let mut fstrings = 0usize;
    let mut previous = None;
    // `if`s of the logical line that may be a conditional expression's,
    // not yet matched by an `else`.
    let mut open_ifs = 0usize;
    // A `*` or `**` on the logical line: in a starred display item the
    // second pass says "Invalid star expression" instead.
    let mut starred = false;
    for (i, token) in all.iter().enumerate() {
        match token.kind() {
            TokenKind::TStringStart => {
                let sure = !ruff_failed
                    && fstrings == 0
                    && open_ifs == 0
                    && !starred
                    && !matches!(previous, Some(TokenKind::String | TokenKind::FStringEnd | TokenKind::TStringEnd))
                    && !legacy_print_before(source, &all[..i])
                    && super::tokens::earlier_parser_failure(source, tokens, limits, token.start()).is_none()
                    && later_tstrings_tokenize(source, &all[i..]);
                return Some(tstring_error(source, all, i, brackets, sure));
            }
            TokenKind::If
                if !matches!(
                    previous,
                    None | Some(TokenKind::Newline | TokenKind::Indent | TokenKind::Dedent | TokenKind::Semi)
                ) =>
            {
                open_ifs += 1
            }
            TokenKind::Else => open_ifs = open_ifs.saturating_sub(1),
            TokenKind::Star | TokenKind::DoubleStar => starred = true,
            TokenKind::Newline => {
                open_ifs = 0;
                starred = false;
            }
            TokenKind::FStringStart => fstrings += 1,
            TokenKind::FStringEnd => fstrings = fstrings.saturating_sub(1),
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => brackets += 1,
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => brackets = brackets.saturating_sub(1),
            TokenKind::Comment | TokenKind::NonLogicalNewline => continue,
            _ => {}
        }
        previous = Some(token.kind());
    }
    None
}

fn tstring_error(source: &Source, all: &[Token], start: usize, brackets: usize, sure: bool) -> (TextSize, Refusal) {
    let text = source.text.as_bytes();
    let at = all[start].start().to_usize();
    let mut quote = at;
    while quote < text.len() && text[quote].is_ascii_alphabetic() {
        quote += 1;
    }
    // The t-string's own end, past any nested f- or t-strings.
    let mut depth = 0usize;
    let mut end = None;
    let mut next = None;
    for (k, token) in all.iter().enumerate().skip(start) {
        match token.kind() {
            TokenKind::TStringStart | TokenKind::FStringStart => depth += 1,
            TokenKind::TStringEnd | TokenKind::FStringEnd => {
                depth -= 1;
                if depth == 0 {
                    end = Some(token.end().to_usize());
                    next = all[k + 1..]
                        .iter()
                        .map(Token::kind)
                        .find(|kind| !matches!(kind, TokenKind::Comment | TokenKind::NonLogicalNewline));
                    break;
                }
            }
            _ => {}
        }
    }
    let plain = plain_string_end(text, quote);
    let decodes = plain.is_some_and(|e| {
        std::str::from_utf8(&text[quote..e]).is_ok_and(|s| {
            let q = if s.starts_with("\"\"\"") || s.starts_with("'''") { 3 } else { 1 };
            s.len() >= 2 * q && super::escapes::decode_body(&s[q..s.len() - q]).is_ok()
        })
    });
    let followed = match next {
        Some(TokenKind::String | TokenKind::FStringStart) => true,
        Some(TokenKind::TStringStart) => brackets > 0,
        _ => false,
    };
    let (line, col) = source.position(quote as u32);
    if sure && plain.is_some() && plain == end && decodes && !followed {
        let offset = source.char_column(quote as u32) + 1;
        (TextSize::new(at as u32), Refusal::cpython("SyntaxError", INVALID_SYNTAX, Some((line as u32, offset))))
    } else {
        (TextSize::new(at as u32), Refusal::syntax_at(UNSURE, line, col))
    }
}

/// Whether `refusal` is the exact error of a release before 3.14 for a
/// t-string ([`error_before_3_14`]): a plain "invalid syntax" at the quote
/// of a string whose prefix has a `t` (3.15 syntax, `lazy import`, gets
/// the same words elsewhere).
pub fn is_tstring_error(target: crate::target::Target, refusal: &Refusal, source: &Source) -> bool {
    if target.has(Feature::TemplateStrings)
        || refusal.exception != Some("SyntaxError")
        || refusal.message != INVALID_SYNTAX
    {
        return false;
    }
    let Some((line, offset)) = refusal.line else { return false };
    let Some(start) = source.offset(line as i32, 0) else { return false };
    // The offset counts characters from 1.
    let rest = &source.text[start..];
    let Some((quote, _)) = rest.char_indices().nth((offset as usize).saturating_sub(1)) else { return false };
    let prefix = rest.as_bytes()[..quote].iter().rev().take_while(|b| b.is_ascii_alphabetic());
    prefix.clone().any(|&b| b == b't' || b == b'T') && prefix.count() <= 2
}

/// The t-string's error, left to the interpreter to word.
pub fn tstring_error_unsure(refusal: &Refusal) -> Refusal {
    let mut unsure = Refusal::syntax(UNSURE);
    unsure.line = refusal.line;
    unsure
}

const INVALID_SYNTAX: &str = "invalid syntax";
const UNSURE: &str = "invalid syntax (a t-string before 3.14): which error CPython gives first is its to say";

/// Whether every t-string (not nested in another) from the first token on
/// reads, as a plain string after its prefix, to its own end: then the
/// tokens of releases before 3.14 are ruff's, and the rest of the file
/// tokenizes as ruff found.
fn later_tstrings_tokenize(source: &Source, tokens: &[Token]) -> bool {
    let text = source.text.as_bytes();
    let mut depth = 0usize;
    let mut expected = None;
    for token in tokens {
        match token.kind() {
            TokenKind::TStringStart => {
                if depth == 0 {
                    let mut quote = token.start().to_usize();
                    while quote < text.len() && text[quote].is_ascii_alphabetic() {
                        quote += 1;
                    }
                    expected = plain_string_end(text, quote);
                    if expected.is_none() {
                        return false;
                    }
                }
                depth += 1;
            }
            TokenKind::TStringEnd => {
                depth = depth.saturating_sub(1);
                if depth == 0 && expected != Some(token.end().to_usize()) {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}

/// Whether a `print` or `exec` name not followed by `(` comes before: the
/// second pass then reports "Missing parentheses in call to 'print'" there
/// (`print[x]` or `print -x` are valid, and still report it).
fn legacy_print_before(source: &Source, tokens: &[Token]) -> bool {
    let significant: Vec<&Token> =
        tokens.iter().filter(|t| !matches!(t.kind(), TokenKind::Comment | TokenKind::NonLogicalNewline)).collect();
    significant.iter().enumerate().any(|(k, token)| {
        token.kind() == TokenKind::Name
            && matches!(&source.text[token.start().to_usize()..token.end().to_usize()], "print" | "exec")
            && significant.get(k + 1).is_none_or(|next| next.kind() != TokenKind::Lpar)
    })
}

/// ruff's message for an implicit concatenation mixing t-strings with
/// other literals.
const RUFF_MIXED: &str = "Cannot mix t-string literals with string or bytes literals";

/// 3.14's error for a t-string concatenated with another kind of literal,
/// when that is ruff's only error: CPython names the first pair of
/// neighbours that do not mix, at the first of them, unless that pair is
/// bytes beside a plain string (then its bytes message, at a position not
/// reproduced). A literal whose decoding may fail first (`\N{...}`, `\x`,
/// `\u`, `\U` escapes) leaves the error to the interpreter.
pub(super) fn mixed_error(
    source: &Source,
    target: crate::target::Target,
    tokens: &Tokens,
    errors: &[ruff_python_parser::ParseError],
) -> Option<Refusal> {
    let [error] = errors else { return None };
    if !target.has(Feature::TemplateStrings) || error.error.to_string() != RUFF_MIXED {
        return None;
    }
    let range = error.location;
    let text = source.text.as_bytes();
    let written = &text[range.start().to_usize()..range.end().to_usize()];
    if written.windows(2).any(|w| w[0] == b'\\' && matches!(w[1], b'N' | b'x' | b'u' | b'U')) {
        return None;
    }
    // CPython's parser reports the mix from a rule's action, then parses
    // again for its error: a legacy `print x` before it is reported
    // instead, and a `{x=}` field in the mix has made it fail otherwise
    // ("field 'value' is required for Constant"). Both were found by the
    // fuzz test; there ruff's refusal stands, not claiming CPython's words.
    let all: &[Token] = tokens;
    let before = &all[..all.partition_point(|t| t.start() < range.start())];
    if written.contains(&b'=') || legacy_print_before(source, before) {
        return None;
    }
    #[derive(PartialEq, Clone, Copy)]
    enum Part {
        Template,
        Bytes,
        Str,
    }
    let mut parts: Vec<(TextSize, Part)> = Vec::new();
    let mut depth = 0usize;
    for token in tokens.iter().filter(|t| range.contains_range(t.range())) {
        match token.kind() {
            TokenKind::TStringStart | TokenKind::FStringStart => {
                if depth == 0 {
                    let part = if token.kind() == TokenKind::TStringStart { Part::Template } else { Part::Str };
                    parts.push((token.start(), part));
                }
                depth += 1;
            }
            TokenKind::TStringEnd | TokenKind::FStringEnd => depth = depth.saturating_sub(1),
            TokenKind::String if depth == 0 => {
                let prefix = &text[token.start().to_usize()..];
                let prefix = &prefix[..prefix.iter().position(|&b| b == b'\'' || b == b'"')?];
                let bytes = prefix.iter().any(|&b| b == b'b' || b == b'B');
                parts.push((token.start(), if bytes { Part::Bytes } else { Part::Str }));
            }
            _ => {}
        }
    }
    let pair = parts.windows(2).find(|w| {
        (w[0].1 == Part::Template) != (w[1].1 == Part::Template) || (w[0].1 == Part::Bytes) != (w[1].1 == Part::Bytes)
    })?;
    if pair[0].1 != Part::Template && pair[1].1 != Part::Template {
        return None;
    }
    let at = pair[0];
    let (line, _) = source.position(at.0.to_u32());
    let offset = source.char_column(at.0.to_u32()) + 1;
    Some(Refusal::cpython(
        "SyntaxError",
        "cannot mix t-string literals with string or bytes literals",
        Some((line as u32, offset)),
    ))
}

/// Where a plain string literal starting with the quote at `quote` ends,
/// read as the tokenizer of 3.12 and 3.13 reads a string without prefix;
/// `None` when it does not end (on its line, for one quote).
fn plain_string_end(text: &[u8], quote: usize) -> Option<usize> {
    let q = *text.get(quote)?;
    let triple = text.len() >= quote + 3 && text[quote + 1] == q && text[quote + 2] == q;
    let mut i = quote + if triple { 3 } else { 1 };
    while i < text.len() {
        match text[i] {
            b'\\' => i += 2,
            c if c == q && !triple => return Some(i + 1),
            c if c == q && text.len() >= i + 3 && text[i + 1] == q && text[i + 2] == q => return Some(i + 3),
            b'\n' | b'\r' if !triple => return None,
            _ => i += 1,
        }
    }
    None
}

/// The whitespace CPython's tokenizer skips between tokens.
fn is_python_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c' | '\r' | '\n')
}

/// The length of a self-documenting field's text without what follows its
/// `=`: whitespace and explicit line continuations (`{value =\`, newline,
/// `}`), which belong to the debug text but not to the expression's.
fn before_debug_tail(text: &str) -> usize {
    let mut kept = text.trim_end_matches(is_python_whitespace);
    while let Some(rest) = kept.strip_suffix('\\')
        && text[rest.len() + 1..].starts_with(['\n', '\r'])
    {
        kept = rest.trim_end_matches(is_python_whitespace);
    }
    kept.len()
}

#[cfg(test)]
mod tests {
    use super::before_debug_tail;

    #[test]
    fn the_debug_tail_is_whitespace_and_line_continuations() {
        assert_eq!(before_debug_tail("value="), 6);
        assert_eq!(before_debug_tail("value = "), 7);
        assert_eq!(before_debug_tail("value =\\\n"), 7);
        assert_eq!(before_debug_tail("value =\\\n\\\r\n  "), 7);
        // A backslash not before a line end is not a continuation.
        assert_eq!(before_debug_tail("a=\\"), 3);
    }
}
