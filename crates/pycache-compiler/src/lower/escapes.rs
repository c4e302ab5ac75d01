//! Decoding of string literal escapes to code points, for the literals
//! ruff's decoded `str` cannot hold: those whose `\u`/`\U` escapes name
//! lone surrogates. Python keeps such code points as they are (a pair of
//! surrogate escapes stays two code points), so the value is rebuilt from
//! the token text here.

/// Whether a non-raw literal body names a surrogate through `\u` or `\U`.
pub fn names_surrogate(body: &[u8]) -> bool {
    let mut i = 0;
    while i + 1 < body.len() {
        // Most literals have no backslash at all: jump from one to the next.
        match memchr::memchr(b'\\', &body[i..]) {
            Some(skip) => i += skip,
            None => return false,
        }
        if i + 1 >= body.len() {
            return false;
        }
        let digits = match body[i + 1] {
            b'u' => 4,
            b'U' => 8,
            _ => 0,
        };
        if digits > 0 {
            if let Some(v) = body.get(i + 2..i + 2 + digits).and_then(hex_value) {
                if (0xD800..0xE000).contains(&v) {
                    return true;
                }
            }
        }
        // A backslash escapes the byte after it, so `\\u` is no escape.
        i += 2;
    }
    false
}

/// What CPython 3.12 warns about the escapes of one non-raw literal's
/// text: only the first invalid escape, an unknown letter or an octal
/// escape above `\377`.
pub fn first_invalid_escape(text: &str, bytes: bool) -> Option<String> {
    // Most literals have no escape: one memchr instead of a walk by char.
    let first = memchr::memchr(b'\\', text.as_bytes())?;
    let text = &text[first..];
    let mut chars = text.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '\\' {
            continue;
        }
        let Some((at, e)) = chars.next() else { return None };
        match e {
            '\n' | '\\' | '\'' | '"' | 'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | 'x' => {}
            'N' | 'u' | 'U' if !bytes => {}
            '0'..='7' => {
                let mut value = e as u32 - '0' as u32;
                let mut end = at + 1;
                for _ in 0..2 {
                    match chars.peek() {
                        Some(&(i, d @ '0'..='7')) => {
                            value = value * 8 + (d as u32 - '0' as u32);
                            end = i + 1;
                            chars.next();
                        }
                        _ => break,
                    }
                }
                if value > 0o377 {
                    return Some(format!("invalid octal escape sequence '\\{}'", &text[at..end]));
                }
            }
            // CPython's string parser turns a backslash before a non-ASCII
            // character into an escaped backslash, which is no warning.
            other if !other.is_ascii() => {}
            other => return Some(format!("invalid escape sequence '\\{other}'")),
        }
    }
    None
}

fn hex_value(digits: &[u8]) -> Option<u32> {
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// Why a literal could not be decoded here.
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// `\N{...}` needs the Unicode name database, which ruff's decoding
    /// has and this one does not.
    NamedEscape,
    /// The parser accepted something this decoder does not understand.
    Malformed,
}

/// Decodes one non-raw `str` literal token (prefix, quotes and body) to
/// code points. Line endings are expected already translated to `\n`.
pub fn decode_literal(token: &str) -> Result<Vec<u32>, DecodeError> {
    let body = strip_quotes(token).ok_or(DecodeError::Malformed)?;
    decode_body(body)
}

fn strip_quotes(token: &str) -> Option<&str> {
    let start = token.find(['\'', '"'])?;
    let rest = &token[start..];
    let quote = &rest[..1];
    let triple = quote.repeat(3);
    if rest.len() >= 6 && rest.starts_with(&triple) && rest.ends_with(&triple) {
        Some(&rest[3..rest.len() - 3])
    } else if rest.len() >= 2 && rest.ends_with(quote) {
        Some(&rest[1..rest.len() - 1])
    } else {
        None
    }
}

/// Decodes a literal body's escapes as Python's string parser does.
pub fn decode_body(body: &str) -> Result<Vec<u32>, DecodeError> {
    let mut out = Vec::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c as u32);
            continue;
        }
        let Some(e) = chars.next() else {
            return Err(DecodeError::Malformed);
        };
        match e {
            '\n' => {}
            '\\' | '\'' | '"' => out.push(e as u32),
            'a' => out.push(0x07),
            'b' => out.push(0x08),
            'f' => out.push(0x0C),
            'n' => out.push(0x0A),
            'r' => out.push(0x0D),
            't' => out.push(0x09),
            'v' => out.push(0x0B),
            '0'..='7' => {
                let mut value = e as u32 - '0' as u32;
                for _ in 0..2 {
                    match chars.peek() {
                        Some(&d @ '0'..='7') => {
                            value = value * 8 + (d as u32 - '0' as u32);
                            chars.next();
                        }
                        _ => break,
                    }
                }
                out.push(value);
            }
            'x' | 'u' | 'U' => {
                let count = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut value = 0u32;
                for _ in 0..count {
                    let d = chars.next().and_then(|d| d.to_digit(16)).ok_or(DecodeError::Malformed)?;
                    value = value.checked_mul(16).ok_or(DecodeError::Malformed)? + d;
                }
                if value > 0x10FFFF {
                    return Err(DecodeError::Malformed);
                }
                out.push(value);
            }
            'N' => return Err(DecodeError::NamedEscape),
            // Unknown escapes keep their backslash (with a warning in
            // CPython, which does not change the value).
            other => {
                out.push('\\' as u32);
                out.push(other as u32);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrogates_are_found_only_in_real_escapes() {
        assert!(names_surrogate(br"a\ud800b"));
        assert!(names_surrogate(br"\U0000dfff"));
        assert!(!names_surrogate(br"\\ud800"));
        assert!(!names_surrogate(br"\ue000"));
        assert!(!names_surrogate(br"\ud80"));
    }

    #[test]
    fn the_first_invalid_escape_is_named() {
        assert_eq!(first_invalid_escape(r"a\d\q", false).as_deref(), Some(r"invalid escape sequence '\d'"));
        assert_eq!(first_invalid_escape(r"\477", false).as_deref(), Some(r"invalid octal escape sequence '\477'"));
        assert_eq!(first_invalid_escape(r"\N{BULLET}\u1234\x41\\d\377", false), None);
        assert_eq!(first_invalid_escape(r"\u1234", true).as_deref(), Some(r"invalid escape sequence '\u'"));
        assert_eq!(first_invalid_escape("\\\u{41f}", false), None);
    }

    #[test]
    fn escapes_decode_as_python_does() {
        assert_eq!(decode_literal(r#"'\ud83d\ude00'"#).unwrap(), vec![0xD83D, 0xDE00]);
        assert_eq!(decode_literal(r#"u"a\x41\101\7\1234""#).unwrap(), vec![0x61, 0x41, 0x41, 7, 0o123, 0x34]);
        assert_eq!(decode_literal("'''a\\\nb\\q'''").unwrap(), vec![0x61, 0x62, 0x5C, 0x71]);
        assert_eq!(decode_literal(r"'\N{BULLET}'"), Err(DecodeError::NamedEscape));
        assert_eq!(decode_literal(r"'\777'").unwrap(), vec![0o777]);
    }

    #[test]
    fn surrogate_escapes_are_found_past_other_backslashes() {
        assert!(!names_surrogate(b"plain text, no escape"));
        assert!(names_surrogate(b"a \\udfff"));
        assert!(names_surrogate(b"\\n then \\U0000d800"));
        // An escaped backslash makes the `u` a plain letter.
        assert!(!names_surrogate(b"\\\\udfff"));
        assert!(!names_surrogate(b"\\ue000 is no surrogate"));
        assert!(!names_surrogate(b"ends with a backslash \\"));
    }

    #[test]
    fn the_first_invalid_escape_is_named_wherever_it_is() {
        assert_eq!(first_invalid_escape("no escape here", false), None);
        assert_eq!(first_invalid_escape("ok \\n then \\d", false).as_deref(), Some("invalid escape sequence '\\d'"));
        assert_eq!(
            first_invalid_escape("text \\777 after", false).as_deref(),
            Some("invalid octal escape sequence '\\777'")
        );
        assert_eq!(first_invalid_escape("\\N{DASH}", true).as_deref(), Some("invalid escape sequence '\\N'"));
        assert_eq!(first_invalid_escape("trailing \\", false), None);
    }
}
