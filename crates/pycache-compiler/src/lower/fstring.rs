//! f-strings, as CPython 3.12's parser builds them: a `JoinedStr` of
//! constants and `FormattedValue`s.
//!
//! The parts of an implicit concatenation are flattened and adjacent
//! constants merged into one spanning from the first to the last; empty
//! constants are dropped. A literal run keeps the span of its source text.
//! A `{x=}` field adds a constant holding its source text, spanning from
//! after the `{` to the `!`, `:` or `}` that ends it. A format spec is a
//! `JoinedStr` from its colon to the closing brace, and when it ends with a
//! nested field CPython 3.12.1 appends an empty constant there.

use ruff_python_ast as rs;
use ruff_text_size::{TextRange, TextSize};

use super::Lower;
use crate::ast::{Expr, ExprKind};
use crate::code::{Constant, PyStr};
use crate::error::Result;

pub(super) enum Piece {
    /// Text in [`PyStr`]'s encoding: a literal part may hold lone surrogates.
    Const {
        value: Vec<u8>,
        start: TextSize,
        end: TextSize,
    },
    Value(Expr),
}

impl Lower<'_> {
    pub fn fstring(&mut self, f: &rs::ExprFString) -> Result<Expr> {
        let mut flat = Vec::new();
        for part in f.value.as_slice() {
            match part {
                rs::FStringPart::Literal(lit) => {
                    flat.push(Piece::Const {
                        value: self.literal_text(
                            lit.range,
                            lit.flags.prefix().is_raw(),
                            &lit.value,
                            true,
                            "an f-string",
                        )?,
                        start: lit.range.start(),
                        end: lit.range.end(),
                    });
                }
                rs::FStringPart::FString(fs) => {
                    let raw = fs.flags.prefix().is_raw();
                    self.fstring_elements(&fs.elements, raw, &mut flat)?;
                }
            }
        }
        let values = self.merge_pieces(flat);
        Ok(Expr { range: self.range(f.range), kind: ExprKind::JoinedStr(values) })
    }

    /// The values of a joined or template string: runs of constants
    /// merged into one spanning the run, empty ones dropped.
    pub(super) fn merge_pieces(&self, flat: Vec<Piece>) -> Vec<Expr> {
        let mut values = Vec::new();
        let mut pieces = flat.into_iter().peekable();
        while let Some(piece) = pieces.next() {
            match piece {
                Piece::Value(e) => values.push(e),
                Piece::Const { mut value, start, mut end } => {
                    while let Some(Piece::Const { .. }) = pieces.peek() {
                        if let Some(Piece::Const { value: v, end: e, .. }) = pieces.next() {
                            value.extend_from_slice(&v);
                            end = e;
                        }
                    }
                    if !value.is_empty() {
                        values.push(self.str_const(&value, start, end));
                    }
                }
            }
        }
        values
    }

    pub(super) fn str_const(&self, value: &[u8], start: TextSize, end: TextSize) -> Expr {
        Expr {
            range: self.span(start, end),
            kind: ExprKind::Constant { value: Constant::Str(PyStr::from_encoded_slice(value)), kind_u: false },
        }
    }

    fn fstring_elements(
        &mut self,
        elements: &rs::InterpolatedStringElements,
        raw: bool,
        out: &mut Vec<Piece>,
    ) -> Result<()> {
        for element in elements.iter() {
            match element {
                rs::InterpolatedStringElement::Literal(lit) => {
                    let value = self.literal_text(lit.range, raw, &lit.value, false, "an f-string")?;
                    if !value.is_empty() {
                        out.push(Piece::Const { value, start: lit.range.start(), end: lit.range.end() });
                    }
                }
                rs::InterpolatedStringElement::Interpolation(field) => {
                    if let Some(debug) = &field.debug_text {
                        let start = field.range.start() + TextSize::new(1);
                        let end = start + TextSize::new(debug.as_str().len() as u32);
                        let value = self.debug_text(debug.as_str(), raw, field.range)?.into_bytes();
                        out.push(Piece::Const { value, start, end });
                    }
                    let value = self.formatted_value(field, raw)?;
                    out.push(Piece::Value(value));
                }
            }
        }
        Ok(())
    }

    /// The constant a self-documenting field (`{expr=}`) puts before its
    /// value: the source text of `expr=`, as each release reads it.
    pub(super) fn debug_text(&self, written: &str, raw: bool, range: ruff_text_size::TextRange) -> Result<String> {
        use crate::target::Feature;
        if self.target.version() == (3, 13)
            && !self.target.has(Feature::FstringLambdaColon)
            && written.contains("lambda")
        {
            // Found by the fuzz test on 3.13.0 and 3.13.5, not modelled.
            return self.refuse(range, "a lambda in a self-documenting f-string field, whose text this release cuts");
        }
        if self.target.version() == (3, 13)
            && !self.target.has(Feature::FstringDebugRaw)
            && written.contains([':', '{', '}', '!'])
        {
            // 3.13.0 also cut the text at a slice's `:`, or started it at
            // a set display's `{` (the fuzz test): not modelled.
            return self.refuse(
                range,
                "a `:`, `!` or brace in a self-documenting f-string field, which this release misreads",
            );
        }
        if self.target.version() == (3, 13) && !self.target.has(Feature::FstringDebugFull) && written.contains('#') {
            // 3.13.5 started such a text at a later brace (the fuzz test).
            return self.refuse(range, "a `#` in a self-documenting f-string field, which this release misreads");
        }
        if self.target.has(Feature::FstringDebugFull) {
            // 3.13.6 on: real comments are dropped, `#` in strings kept.
            return match without_real_comments(written) {
                Some(text) => Ok(text),
                None => self.refuse(range, "a `#` in a self-documenting field with nested or triple-quoted strings"),
            };
        }
        let mut text = without_hash_comments(written);
        if self.target.has(Feature::FstringDebugRaw) {
            return Ok(text);
        }
        // Up to 3.13.1 the tokenizer ends the text at a top-level `!` (of
        // `!=`), the `=` with it: `{x != y=}` gives `x `.
        if text.contains('!') {
            match top_level_bang(&text) {
                Ok(Some(at)) => text.truncate(at),
                Ok(None) => {}
                Err(()) => return self.refuse(range, "a `!` in a self-documenting field with triple-quoted strings"),
            }
        }
        if raw { Ok(text) } else { self.decoded_debug_text(text, range) }
    }

    /// 3.12.1 reads a self-documenting field's text as part of the
    /// f-string's literal text, so the escapes in it are decoded with the
    /// f-string's rules (and warned about), whatever string literal they
    /// belong to inside the expression: `f"{'\u0394'=}"` holds `'Δ'=`.
    fn decoded_debug_text(&self, text: String, range: ruff_text_size::TextRange) -> Result<String> {
        if !text.contains('\\') {
            return Ok(text);
        }
        if let Some(message) = super::escapes::first_invalid_escape(&text, false) {
            self.warn(range.start(), message);
        }
        let points = match super::escapes::decode_body(&text) {
            Ok(points) => points,
            Err(super::escapes::DecodeError::NamedEscape) => {
                return self.refuse(range, "a `\\N{...}` escape in a self-documenting f-string field");
            }
            Err(_) => return self.refuse(range, "a self-documenting f-string field whose escapes do not decode"),
        };
        points
            .into_iter()
            .map(char::from_u32)
            .collect::<Option<String>>()
            .map_or_else(|| self.refuse(range, "an f-string with a lone surrogate"), Ok)
    }

    fn formatted_value(&mut self, field: &rs::InterpolatedElement, raw: bool) -> Result<Expr> {
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
        Ok(Expr { range: self.range(field.range), kind: ExprKind::FormattedValue { value, conversion, format_spec } })
    }

    pub(super) fn format_spec(
        &mut self,
        field: &rs::InterpolatedElement,
        spec: &rs::InterpolatedStringFormatSpec,
        raw: bool,
    ) -> Result<Expr> {
        // 3.12.1 builds a self-documenting field nested in a spec with no
        // value, and the AST constructor refuses it (ValueError: field
        // 'value' is required for Constant); where the parse stops then is
        // the interpreter's to say.
        for element in spec.elements.iter() {
            if let rs::InterpolatedStringElement::Interpolation(inner) = element {
                if inner.debug_text.is_some() {
                    return self
                        .refuse(inner.range, "a self-documenting field in a format spec, which 3.12.1 fails on");
                }
            }
        }
        // 3.12.1 reads escapes in a raw f-string's format spec in ways not
        // reproduced here (the fuzz test found `\n` kept as a newline);
        // 3.13.6 on keeps them as written.
        if raw && self.text(spec.range).contains('\\') && !self.target.has(crate::target::Feature::FstringDebugFull) {
            return self.refuse(spec.range, "a backslash in a raw f-string's format spec");
        }
        // A spec holding `{{` is a nested field holding a dict or set to
        // 3.12.1, with empty constants around it that are not reproduced.
        if self.text(spec.range).contains("{{") {
            return self.refuse(spec.range, "`{{` in an f-string format spec");
        }
        let text = self.src.text.as_bytes();
        // The spec's node starts at the colon that opens it, which ruff's
        // range may leave out; the spec's own text may start with another
        // colon (`{a::x}`, found by the fuzz test).
        let mut colon = spec.range.start().to_usize();
        if colon > 0 && text[colon - 1] == b':' {
            colon -= 1;
        }
        while colon > field.range.start().to_usize() && text[colon] != b':' {
            colon -= 1;
        }
        let close = field.range.end() - TextSize::new(1);
        // Doubled braces among the literal characters of a spec are not
        // reproduced; the `}}` that closes a nested field is not one of them,
        // so the nested fields are masked out before looking.
        let start = spec.range.start().to_usize();
        let mut literal = self.text(TextRange::new(spec.range.start(), close)).as_bytes().to_vec();
        for element in spec.elements.iter() {
            if let rs::InterpolatedStringElement::Interpolation(inner) = element {
                let end = literal.len();
                let (from, to) = (inner.range.start().to_usize() - start, inner.range.end().to_usize() - start);
                literal[from.min(end)..to.min(end)].fill(b' ');
            }
        }
        if literal.windows(2).any(|pair| pair == b"{{" || pair == b"}}") {
            return self.refuse(spec.range, "doubled braces in an f-string format spec");
        }
        let mut items: Vec<Expr> = Vec::new();
        let mut pending: Option<(String, TextSize, TextSize)> = None;
        for element in spec.elements.iter() {
            match element {
                rs::InterpolatedStringElement::Literal(lit) => {
                    self.check_string_part(lit.range, raw)?;
                    match &mut pending {
                        Some((v, _, end)) => {
                            v.push_str(&lit.value);
                            *end = lit.range.end();
                        }
                        None => pending = Some((lit.value.to_string(), lit.range.start(), lit.range.end())),
                    }
                }
                rs::InterpolatedStringElement::Interpolation(inner) => {
                    if inner.debug_text.is_some() {
                        return self.refuse(inner.range, "a self-documenting field inside a format spec");
                    }
                    if let Some((v, s, e)) = pending.take() {
                        items.push(self.str_const(v.as_bytes(), s, e));
                    }
                    items.push(self.formatted_value(inner, raw)?);
                }
            }
        }
        if let Some((v, s, e)) = pending.take() {
            items.push(self.str_const(v.as_bytes(), s, e));
        }
        // 3.13 and 3.12.7 build a spec of its parts alone.
        if !self.target.has(crate::target::Feature::SpecNoTrailingEmpty)
            && matches!(items.last().map(|e| &e.kind), Some(ExprKind::FormattedValue { .. }))
        {
            items.push(self.str_const(b"", close, close));
        }
        Ok(Expr { range: self.span(TextSize::new(colon as u32), close), kind: ExprKind::JoinedStr(items) })
    }
}

/// Where the first `!` outside brackets and string literals is, in a
/// self-documenting field's text; `Err` when triple-quoted strings make the
/// scan unsure.
fn top_level_bang(text: &str) -> Result<Option<usize>, ()> {
    if text.contains("'''") || text.contains("\"\"\"") {
        return Err(());
    }
    let mut depth = 0usize;
    let mut literal = Literal::default();
    for (i, c) in text.char_indices() {
        if literal.inside(c) {
            continue;
        }
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            '!' if depth == 0 => return Ok(Some(i)),
            _ => {}
        }
    }
    Ok(None)
}

/// A self-documenting field's text as 3.13.6's tokenizer records it: each
/// comment (a `#` outside string literals, to the end of its line) dropped,
/// the newline kept. `None` when nested f-strings or triple quotes make
/// the strings' extent unsure and a `#` is present.
pub(super) fn without_real_comments(text: &str) -> Option<String> {
    if !text.contains('#') {
        return Some(text.to_owned());
    }
    if text.contains("'''") || text.contains("\"\"\"") || text.contains('{') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut literal = Literal::default();
    let mut in_comment = false;
    for c in text.chars() {
        if in_comment {
            if c == '\n' {
                in_comment = false;
                out.push(c);
            }
            continue;
        }
        if !literal.inside(c) && c == '#' {
            in_comment = true;
            continue;
        }
        out.push(c);
    }
    Some(out)
}

/// Where a scan of an expression's text stands with string literals (one
/// quote character, backslash escapes; no triple quotes).
#[derive(Default)]
struct Literal {
    quote: Option<char>,
    escaped: bool,
}

impl Literal {
    /// Takes the next character: whether it belongs to a literal (its
    /// quotes included).
    fn inside(&mut self, c: char) -> bool {
        match self.quote {
            Some(q) => {
                match c {
                    _ if self.escaped => self.escaped = false,
                    '\\' => self.escaped = true,
                    _ if c == q => self.quote = None,
                    _ => {}
                }
                true
            }
            None if c == '\'' || c == '"' => {
                self.quote = Some(c);
                true
            }
            None => false,
        }
    }
}

/// A self-documenting field's text as CPython 3.12.1's tokenizer records
/// it: from each `#` to the next newline (kept) or the end is dropped, as a
/// comment would be, even where the `#` sits inside a string literal.
fn without_hash_comments(text: &str) -> String {
    if !text.contains('#') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut in_comment = false;
    for c in text.chars() {
        match c {
            '#' => in_comment = true,
            '\n' => {
                in_comment = false;
                out.push(c);
            }
            _ if !in_comment => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{top_level_bang, without_hash_comments, without_real_comments};

    #[test]
    fn the_first_bang_outside_brackets_and_strings_ends_an_old_debug_text() {
        assert_eq!(top_level_bang("x  !=  y = "), Ok(Some(3)));
        assert_eq!(top_level_bang("(x!=y)="), Ok(None));
        assert_eq!(top_level_bang("'!' != x="), Ok(Some(4)));
        assert_eq!(top_level_bang("'\\'!' != x="), Ok(Some(6)));
        assert_eq!(top_level_bang("'''!''' != x="), Err(()));
    }

    #[test]
    fn comments_go_and_hashes_in_strings_stay_from_3_13_6() {
        assert_eq!(without_real_comments("'a#b' # c\n= ").as_deref(), Some("'a#b' \n= "));
        assert_eq!(without_real_comments("\"#\"=").as_deref(), Some("\"#\"="));
        assert_eq!(without_real_comments("'\\'#' # c\n=").as_deref(), Some("'\\'#' \n="));
        assert_eq!(without_real_comments("{'#'}="), None);
        assert_eq!(without_real_comments("x ="), Some("x =".to_owned()));
    }

    // Regression: `{1+2 = # my comment\n  }` in test_fstring.py kept its
    // comment in the constant.
    #[test]
    fn regression_debug_text_drops_comments_like_the_3_12_1_tokenizer() {
        assert_eq!(without_hash_comments("1+2 = # my comment\n  "), "1+2 = \n  ");
        assert_eq!(without_hash_comments("'a#b' = "), "'a");
        assert_eq!(without_hash_comments("1 # c\n + 2 # d\n = "), "1 \n + 2 \n = ");
        assert_eq!(without_hash_comments("x = "), "x = ");
    }
}
