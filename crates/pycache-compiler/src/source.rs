//! From source bytes to the text CPython's tokenizer sees: the encoding
//! (a UTF-8 byte order mark or a PEP 263 cookie on one of the first two
//! lines), then newlines translated to `\n`, as `compile()` does for source
//! given as bytes. Positions are then byte offsets into that UTF-8 text,
//! which is what CPython's columns count.

use crate::error::Refusal;
use crate::generated::codecs::{ALIASES as CODEC_ALIASES, CHARMAPS};

/// Decoded, newline-normalised source and its line starts.
pub struct Source {
    pub text: String,
    line_starts: Vec<u32>,
}

impl Source {
    pub fn decode(bytes: &[u8]) -> Result<Self, Refusal> {
        if memchr::memchr(0, bytes).is_some() {
            return Err(Refusal::syntax("source code cannot contain null bytes"));
        }
        let (bom, body) = match bytes.strip_prefix(b"\xef\xbb\xbf") {
            Some(rest) => (true, rest),
            None => (false, bytes),
        };
        let encoding = match cookie(body) {
            Some(name) => normal_name(&name),
            None => "utf-8".to_owned(),
        };
        if bom && encoding != "utf-8" {
            return Err(Refusal::syntax(format!("encoding problem: {encoding} with BOM")));
        }
        let text = match codec(&encoding) {
            Some(Codec::Utf8) => match std::str::from_utf8(body) {
                Ok(text) => text.to_owned(),
                Err(_) => return Err(Refusal::syntax("source is not valid UTF-8")),
            },
            Some(Codec::Latin1) => body.iter().map(|&b| char::from(b)).collect(),
            Some(Codec::Ascii) => match std::str::from_utf8(body) {
                Ok(text) if text.is_ascii() => text.to_owned(),
                _ => return Err(Refusal::syntax("source is not valid ASCII")),
            },
            Some(Codec::Charmap(name, table)) => {
                let mut text = String::with_capacity(body.len());
                for &b in body {
                    match char::from_u32(u32::from(table[usize::from(b)])).filter(|&c| c != '\u{fffe}') {
                        Some(c) => text.push(c),
                        None => return Err(Refusal::syntax(format!("byte {b:#04x} is undefined in {name}"))),
                    }
                }
                text
            }
            None => return Err(Refusal::unsupported(format!("source encoding `{encoding}`"))),
        };
        Ok(Self::from_text(translate_newlines(text)))
    }

    fn from_text(text: String) -> Self {
        let mut line_starts = Vec::with_capacity(text.len() / 32 + 1);
        line_starts.push(0u32);
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i as u32 + 1));
        Self { text, line_starts }
    }

    /// 1-based line and 0-based byte column of a byte offset.
    /// The byte offset of a 1-based line and a 0-based byte column.
    pub fn offset(&self, line: i32, col: i32) -> Option<usize> {
        let start = *self.line_starts.get(usize::try_from(line).ok()?.checked_sub(1)?)? as usize;
        let at = start + usize::try_from(col).ok()?;
        (at <= self.text.len()).then_some(at)
    }

    /// The 0-based column of `offset` in characters, as CPython gives a
    /// SyntaxError's offset (less one).
    pub fn char_column(&self, offset: u32) -> u32 {
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line] as usize;
        self.text[start..offset as usize].chars().count() as u32
    }

    /// The byte offset where each line starts, the first line's (0) first.
    pub fn line_starts(&self) -> &[u32] {
        &self.line_starts
    }

    pub fn position(&self, offset: u32) -> (i32, i32) {
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        (line as i32 + 1, (offset - self.line_starts[line]) as i32)
    }

    /// [`Source::position`], starting from the 0-based line `hint` of the
    /// last lookup, which it updates: a walk over the tree in source order
    /// asks about the same or a nearby line far more often than not, so
    /// the search gallops out from there (a step of 1, 2, 4, ... lines)
    /// before it bisects, instead of bisecting the whole file.
    pub fn position_near(&self, offset: u32, hint: &std::cell::Cell<usize>) -> (i32, i32) {
        let starts = &self.line_starts[..];
        let line = hint.get();
        let within = |line: usize| {
            starts.get(line).is_some_and(|&s| s <= offset) && starts.get(line + 1).is_none_or(|&next| offset < next)
        };
        if !within(line) {
            let next = if within(line + 1) { line + 1 } else { gallop(starts, line.min(starts.len() - 1), offset) };
            hint.set(next);
            return (next as i32 + 1, (offset - starts[next]) as i32);
        }
        (line as i32 + 1, (offset - starts[line]) as i32)
    }
}

/// The last line of `starts` that starts at or before `offset`, searched
/// out from line `from` by steps of 1, 2, 4, ... lines, then bisected: a
/// walk in source order mostly asks about a line near the last one.
fn gallop(starts: &[u32], from: usize, offset: u32) -> usize {
    let last = starts.len() - 1;
    let mut line = from;
    let mut step = 1;
    if starts[line] <= offset {
        // Forward: `starts[line] <= offset` holds throughout.
        loop {
            let probe = line + step;
            if probe > last || starts[probe] > offset {
                return line + starts[line + 1..probe.min(last + 1)].partition_point(|&start| start <= offset);
            }
            line = probe;
            step *= 2;
        }
    }
    // Backward: `starts[line] > offset` until the bisection (line 0 starts
    // at 0, at or before any offset).
    loop {
        let probe = line.saturating_sub(step);
        if starts[probe] <= offset {
            return probe + starts[probe + 1..line].partition_point(|&start| start <= offset);
        }
        line = probe;
        step *= 2;
    }
}

/// `\r\n` and lone `\r` become `\n`.
fn translate_newlines(text: String) -> String {
    if memchr::memchr(b'\r', text.as_bytes()).is_none() {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    out
}

/// The encoding named by a PEP 263 cookie on the first line, or on the
/// second when the first holds only a comment or nothing.
fn cookie(bytes: &[u8]) -> Option<String> {
    let mut lines = bytes.split(|&b| b == b'\n');
    let first = lines.next()?;
    if let Some(name) = cookie_in(first) {
        return Some(name);
    }
    let trimmed: Vec<u8> = first.iter().copied().skip_while(|b| matches!(b, b' ' | b'\t' | b'\x0c' | b'\r')).collect();
    if trimmed.is_empty() || trimmed[0] == b'#' {
        return cookie_in(lines.next()?);
    }
    None
}

/// Matches `^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)`.
fn cookie_in(line: &[u8]) -> Option<String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let start = line.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\x0c'))?;
    if line[start] != b'#' {
        return None;
    }
    let rest = &line[start..];
    let mut i = 0;
    while i + 7 <= rest.len() {
        if &rest[i..i + 6] == b"coding" && matches!(rest[i + 6], b':' | b'=') {
            let mut j = i + 7;
            while j < rest.len() && matches!(rest[j], b' ' | b'\t') {
                j += 1;
            }
            let name: Vec<u8> = rest[j..]
                .iter()
                .copied()
                .take_while(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                .collect();
            if !name.is_empty() {
                return Some(String::from_utf8_lossy(&name).into_owned());
            }
        }
        i += 1;
    }
    None
}

/// CPython's `get_normal_name`: the spellings it treats as UTF-8 or
/// Latin-1, otherwise the name lowercased.
fn normal_name(name: &str) -> String {
    let lower: String = name.chars().take(12).map(|c| if c == '_' { '-' } else { c.to_ascii_lowercase() }).collect();
    if lower == "utf-8" || lower.starts_with("utf-8-") {
        return "utf-8".into();
    }
    for latin in ["latin-1", "iso-8859-1", "iso-latin-1"] {
        if lower == latin || lower.starts_with(&format!("{latin}-")) {
            return "iso-8859-1".into();
        }
    }
    name.to_ascii_lowercase()
}

/// A codec this module decodes.
enum Codec {
    Utf8,
    Latin1,
    Ascii,
    /// A single-byte codec: its module name and table.
    Charmap(&'static str, &'static [u16; 256]),
}

/// The codec Python's codec registry finds for `name`: the name
/// normalised (lowercase; each run of characters other than letters,
/// digits and `.` becomes one `_` between words), the shortcuts
/// `PyUnicode_Decode` takes, then `encodings.aliases` (also with `.` as
/// `_`), else the normalised name as the module name. `None` for a codec
/// not decoded here (multi-byte ones) or unknown to Python.
fn codec(name: &str) -> Option<Codec> {
    let mut normal = String::with_capacity(name.len());
    let mut gap = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            if gap && !normal.is_empty() {
                normal.push('_');
            }
            gap = false;
            normal.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
    }
    match normal.as_str() {
        "utf8" | "utf_8" => return Some(Codec::Utf8),
        "ascii" | "us_ascii" => return Some(Codec::Ascii),
        "latin1" | "latin_1" | "iso_8859_1" | "iso8859_1" => return Some(Codec::Latin1),
        _ => {}
    }
    let alias = |key: &str| {
        CODEC_ALIASES
            .binary_search_by(|(alias, _)| alias.as_bytes().cmp(key.as_bytes()))
            .ok()
            .map(|i| CODEC_ALIASES[i].1)
    };
    let module = alias(&normal).or_else(|| alias(&normal.replace('.', "_"))).unwrap_or(&normal);
    match module {
        "utf_8" => Some(Codec::Utf8),
        "ascii" => Some(Codec::Ascii),
        "latin_1" => Some(Codec::Latin1),
        _ => CHARMAPS
            .binary_search_by(|(name, _)| name.as_bytes().cmp(module.as_bytes()))
            .ok()
            .map(|i| Codec::Charmap(CHARMAPS[i].0, &CHARMAPS[i].1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_found_from_any_hint_is_the_binary_search_one() {
        let source = Source::from_text("a = 1\n\n  bc\nd\n\n".to_owned());
        for hint in 0..8 {
            for offset in 0..=source.text.len() as u32 {
                let cell = std::cell::Cell::new(hint);
                assert_eq!(source.position_near(offset, &cell), source.position(offset), "{offset} from {hint}");
                assert_eq!(source.position_near(offset, &cell), source.position(offset), "{offset} again");
            }
        }
    }

    #[test]
    fn a_position_galloped_to_far_away_is_the_binary_search_one() {
        // Lines of varied lengths, blank ones among them, so that steps
        // of 1, 2, 4, ... lines overshoot and fall short.
        let text: String = (0..300).map(|i| format!("{}\n", "x".repeat(i % 7))).collect();
        let source = Source::from_text(text);
        let len = source.text.len() as u32;
        for hint in [0, 1, 2, 5, 63, 64, 150, 298, 299, 300, 301] {
            for offset in (0..=len).step_by(3) {
                let cell = std::cell::Cell::new(hint);
                assert_eq!(source.position_near(offset, &cell), source.position(offset), "{offset} from {hint}");
            }
        }
    }

    #[test]
    fn cookies_and_boms_pick_the_encoding() {
        assert_eq!(cookie(b"# -*- coding: latin-1 -*-\nx = 1\n"), Some("latin-1".into()));
        assert_eq!(cookie(b"#!/usr/bin/env python\n# vim: set fileencoding=utf-8 :\n"), Some("utf-8".into()));
        assert_eq!(cookie(b"x = 1\n# coding: latin-1\n"), None);
        assert_eq!(normal_name("Latin-1"), "iso-8859-1");
        assert_eq!(normal_name("utf_8"), "utf-8");
        let src = Source::decode(b"# coding: latin-1\ns = '\xe9'\n").unwrap();
        assert!(src.text.contains('\u{e9}'));
        assert!(Source::decode(b"\xef\xbb\xbf# coding: latin-1\n").is_err());
    }

    #[test]
    fn single_byte_codecs_decode_by_the_interpreters_tables() {
        let text = |bytes: &[u8]| Source::decode(bytes).map(|s| s.text);
        assert_eq!(text(b"# coding: koi8-r\ns = '\xc1'\n").ok().as_deref(), Some("# coding: koi8-r\ns = '\u{430}'\n"));
        assert_eq!(text(b"# coding: cp1252\ns = '\x80'\n").ok().as_deref(), Some("# coding: cp1252\ns = '\u{20ac}'\n"));
        assert_eq!(
            text(b"# coding: Windows-1252\ns = '\x80'\n").ok().as_deref(),
            Some("# coding: Windows-1252\ns = '\u{20ac}'\n")
        );
        // 0x81 is undefined in cp1252: a strict decode fails, so does compile().
        assert!(text(b"# coding: cp1252\ns = '\x81'\n").is_err_and(|r| r.kind == crate::RefusalKind::Syntax));
        assert!(text(b"# coding: latin\ns = '\xe9'\n").is_ok_and(|t| t.contains('\u{e9}')));
        assert!(text(b"# coding: utf8\n").is_ok());
        assert!(text(b"# coding: shift_jis\nx = 1\n").is_err_and(|r| r.kind == crate::RefusalKind::Unsupported));
        assert!(text(b"# coding: no-such-codec\nx = 1\n").is_err());
    }

    #[test]
    fn newlines_are_translated_and_positions_count_bytes() {
        let src = Source::decode("a = 1\r\nb = 'é'\rc\n".as_bytes()).unwrap();
        assert_eq!(src.text, "a = 1\nb = 'é'\nc\n");
        assert_eq!(src.position(0), (1, 0));
        assert_eq!(src.position(6), (2, 0));
        let c = src.text.find('c').unwrap() as u32;
        assert_eq!(src.position(c), (3, 0));
        assert_eq!(src.position(c - 2), (2, 7));
    }
}
