//! CPython 3.15's own errors for misused unpacking in displays and
//! comprehensions (PEP 798 added them), recognised on the tokens where
//! ruff's parser reports its first error. Each shape below was measured on
//! 3.15.0 and 3.15.2 (`tests/py315_syntax.rs`); anything else keeps ruff's
//! refusal, which claims no CPython wording.

use ruff_python_ast::token::{Token, TokenKind, Tokens};
use ruff_python_parser::ParseError;
use ruff_text_size::Ranged;

use crate::error::Refusal;
use crate::source::Source;
use crate::target::{Feature, Target};

/// CPython's error for the parse error ruff reports first, when it is one
/// of the measured misuses of `*` and `**` and the only thing wrong: the
/// source with that misuse mended (the star blanked out, the elements
/// bracketed into one) must parse without error, else another error
/// (`[a, b for a in *c]`) may be what CPython reports.
pub(super) fn unpacking_error(
    source: &Source,
    target: Target,
    tokens: &Tokens,
    errors: &[ParseError],
) -> Option<Refusal> {
    if !target.has(Feature::ComprehensionUnpacking) {
        return None;
    }
    let at = errors.first()?.location.start();
    // ruff may stop at a newline inside the brackets (trivia here): the
    // token after it is the one that does not fit.
    let all: Vec<&Token> =
        tokens.iter().filter(|t| !t.kind().is_trivia() && t.kind() != TokenKind::NonLogicalNewline).collect();
    let i = all.iter().position(|t| t.start() >= at)?;
    let (message, star, mended) = match all[i].kind() {
        TokenKind::Star | TokenKind::DoubleStar => {
            let message = star_error(&all, i)?;
            let range = all[i].range();
            let mut text = source.text.clone();
            text.replace_range(range.start().to_usize()..range.end().to_usize(), &" ".repeat(range.len().to_usize()));
            (message, i, text)
        }
        TokenKind::For | TokenKind::Async => {
            let (message, star) = for_error(&all, i)?;
            let (start, end) = (all[star].start().to_usize(), all[i].start().to_usize());
            let text = &source.text;
            let mended = if all[star].kind() == TokenKind::DoubleStar {
                format!("{}  {}", &text[..start], &text[start + 2..])
            } else {
                format!("{}({}){}", &text[..start], &text[start..end], &text[end..])
            };
            (message, star, mended)
        }
        _ => return None,
    };
    let (major, minor) = target.version();
    let options = ruff_python_parser::ParseOptions::from(ruff_python_ast::PySourceType::Python)
        .with_target_version(ruff_python_ast::PythonVersion { major, minor });
    let reparsed = ruff_python_parser::parse_unchecked(&mended, options);
    if !reparsed.errors().is_empty() || !reparsed.unsupported_syntax_errors().is_empty() {
        return None;
    }
    let (line, col) = source.position(all[star].start().to_u32());
    Some(Refusal::cpython("SyntaxError", message, Some((line.max(0) as u32, col.max(0) as u32 + 1))))
}

/// ruff stops at the star itself: a starred key or value of a dict, or
/// `**` first in a list or parentheses.
fn star_error(all: &[&Token], star: usize) -> Option<&'static str> {
    let double = all[star].kind() == TokenKind::DoubleStar;
    let before = all.get(star.checked_sub(1)?)?.kind();
    let (stop, bitwise_or) = operand_end(all, star + 1);
    let stop = all.get(stop)?.kind();
    match before {
        TokenKind::Lbrace if stop == TokenKind::Colon && bitwise_or => Some(if double {
            "cannot use dict unpacking in a dictionary key"
        } else {
            "cannot use a starred expression in a dictionary key"
        }),
        TokenKind::Colon if dict_colon(all, star - 1) => Some(if double {
            "cannot use dict unpacking in a dictionary value"
        } else {
            "cannot use a starred expression in a dictionary value"
        }),
        TokenKind::Lsqb if double && matches!(stop, TokenKind::For | TokenKind::Async) => {
            Some("cannot use dict unpacking in list comprehension")
        }
        TokenKind::Lsqb if double && matches!(stop, TokenKind::Rsqb) && bitwise_or => {
            Some("cannot use dict unpacking here")
        }
        TokenKind::Lpar
            if double
                && bitwise_or
                && matches!(stop, TokenKind::For | TokenKind::Async)
                && !ends_a_primary(all, star - 1) =>
        {
            Some("cannot use dict unpacking in generator expression")
        }
        _ => None,
    }
}

/// ruff stops at the `for` of a comprehension: `f(**d for d in x)`, or
/// several elements before it (`[a, b for a in c]`). Returns the message
/// and the token it points at.
fn for_error(all: &[&Token], for_: usize) -> Option<(&'static str, usize)> {
    let open = enclosing_open(all, for_)?;
    match all[open].kind() {
        // `f(**d for d in x)`.
        TokenKind::Lpar => {
            let star = open + 1;
            let (stop, bitwise_or) = operand_end(all, star + 1);
            (all[star].kind() == TokenKind::DoubleStar && stop == for_ && bitwise_or && ends_a_primary(all, open))
                .then_some(("cannot use dict unpacking in generator expression", star))
        }
        TokenKind::Lsqb | TokenKind::Lbrace => {
            // Elements split at the commas of this level: at least two, or
            // one and a trailing comma; none with a colon, none starting
            // with a bracket (CPython points inside it), a starred one only
            // of a `bitwise_or`.
            let mut i = open + 1;
            let mut count = 0;
            let mut trailing = false;
            while i < for_ {
                let first = all[i].kind();
                let bracket = matches!(first, TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace);
                if first == TokenKind::DoubleStar || (bracket && i == open + 1) {
                    return None;
                }
                let end = if first == TokenKind::Star {
                    let (end, bitwise_or) = operand_end(all, i + 1);
                    if !bitwise_or {
                        return None;
                    }
                    end
                } else {
                    expression_end(all, i)?
                };
                count += 1;
                if end == for_ {
                    break;
                }
                if end > for_ || all[end].kind() != TokenKind::Comma {
                    return None;
                }
                i = end + 1;
                trailing = i == for_;
            }
            (count >= 2 || (count == 1 && trailing))
                .then_some(("did you forget parentheses around the comprehension target?", open + 1))
        }
        _ => None,
    }
}

/// Where the operand of a star starting at `start` ends (the first token
/// of this level that cannot continue a `bitwise_or` expression), and
/// whether every token before it could be part of one.
fn operand_end(all: &[&Token], start: usize) -> (usize, bool) {
    let mut depth = 0usize;
    let mut plain = true;
    let mut i = start;
    while let Some(t) = all.get(i) {
        let kind = t.kind();
        match kind {
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => depth += 1,
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace if depth == 0 => return (i, plain && i > start),
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => depth -= 1,
            TokenKind::Newline | TokenKind::EndOfFile => return (i, false),
            _ if depth > 0 => {}
            TokenKind::Colon | TokenKind::Comma | TokenKind::For | TokenKind::Async => return (i, plain && i > start),
            TokenKind::Name
            | TokenKind::Int
            | TokenKind::Float
            | TokenKind::Complex
            | TokenKind::String
            | TokenKind::Dot
            | TokenKind::None
            | TokenKind::True
            | TokenKind::False
            | TokenKind::Ellipsis
            | TokenKind::Await
            | TokenKind::Percent
            | TokenKind::Tilde
            | TokenKind::LeftShift
            | TokenKind::RightShift
            | TokenKind::Amper
            | TokenKind::Vbar
            | TokenKind::CircumFlex => {}
            _ if kind.is_arithmetic() => {}
            TokenKind::FStringStart
            | TokenKind::FStringMiddle
            | TokenKind::FStringEnd
            | TokenKind::TStringStart
            | TokenKind::TStringMiddle
            | TokenKind::TStringEnd => {}
            _ => plain = false,
        }
        i += 1;
    }
    (i, false)
}

/// Where an element (any expression but a lambda, a yield or a walrus)
/// starting at `start` ends: the first comma, colon, `for`/`async` or
/// closing bracket of its level. None for what is not measured.
fn expression_end(all: &[&Token], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while let Some(t) = all.get(i) {
        match t.kind() {
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => depth += 1,
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace if depth == 0 => return Some(i),
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => depth -= 1,
            TokenKind::Newline | TokenKind::EndOfFile => return None,
            _ if depth > 0 => {}
            TokenKind::Comma | TokenKind::For | TokenKind::Async | TokenKind::Colon => return Some(i),
            TokenKind::Lambda | TokenKind::Yield | TokenKind::ColonEqual => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The bracket that encloses the token at `at`.
fn enclosing_open(all: &[&Token], at: usize) -> Option<usize> {
    let mut depth = 0usize;
    for i in (0..at).rev() {
        match all[i].kind() {
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => depth += 1,
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace if depth == 0 => return Some(i),
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => depth -= 1,
            TokenKind::Newline => return None,
            _ => {}
        }
    }
    None
}

/// Whether the colon at `colon` separates a dict's key from its value: it
/// is at the level of a `{`, and the key before it (back to the `{` or a
/// comma) has no lambda or colon of that level.
fn dict_colon(all: &[&Token], colon: usize) -> bool {
    let Some(open) = enclosing_open(all, colon) else { return false };
    if all[open].kind() != TokenKind::Lbrace {
        return false;
    }
    let mut depth = 0usize;
    for i in (open + 1..colon).rev() {
        match all[i].kind() {
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => depth += 1,
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => depth -= 1,
            _ if depth > 0 => {}
            TokenKind::Comma => return i + 1 < colon,
            TokenKind::Lambda | TokenKind::Colon | TokenKind::Star | TokenKind::DoubleStar => return false,
            _ => {}
        }
    }
    open + 1 < colon
}

/// Whether the token before the bracket at `open` ends something it
/// would call (`f(`, `x[0](`, `g()(`), not a keyword or an operator.
fn ends_a_primary(all: &[&Token], open: usize) -> bool {
    open.checked_sub(1).is_some_and(|b| {
        matches!(
            all[b].kind(),
            TokenKind::Name | TokenKind::Rpar | TokenKind::Rsqb | TokenKind::String | TokenKind::FStringEnd
        )
    })
}
