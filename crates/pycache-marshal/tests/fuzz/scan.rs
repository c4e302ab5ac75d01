//! Where each object of a valid stream sits, so that mutations can aim at
//! type bytes, size fields, references and code object fields instead of
//! random bytes. A scanner of its own rather than the crate's reader: the
//! point is to know byte positions, which the object tree does not keep.

use pycache_marshal::{CodeLayout, FLAG_REF, Field, Format};

/// How a size or count is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    One,
    Four,
}

/// One object of the stream.
#[derive(Debug, Clone)]
pub struct Span {
    /// The type byte.
    pub start: usize,
    /// One past the last byte of the object, nested objects included.
    pub end: usize,
    pub code: u8,
    /// The size, count or reference index after the type byte.
    pub field: Option<(usize, Width)>,
    /// The enclosing object, as an index into the span list.
    pub parent: Option<usize>,
    /// The code object field this object fills, if any.
    pub code_field: Option<&'static str>,
    /// How many flagged objects were registered before this one (what a
    /// reference here may point at).
    pub refs_before: usize,
    pub depth: usize,
}

/// The layout of a stream: every object, and the raw int fields of code
/// objects (position, name).
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub spans: Vec<Span>,
    pub code_ints: Vec<(usize, &'static str)>,
}

struct Scanner<'a> {
    data: &'a [u8],
    pos: usize,
    layout_of_code: CodeLayout,
    out: Layout,
    refs: usize,
}

/// Deeper than the reader accepts: the scanner recurses, and seeds it is
/// given were accepted by the reader already.
const MAX_SCAN_DEPTH: usize = 2100;

impl Scanner<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.pos.checked_add(n)?;
        let slice = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }

    fn i32(&mut self) -> Option<i32> {
        let b = self.take(4)?;
        Some(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn object(&mut self, parent: Option<usize>, code_field: Option<&'static str>, depth: usize) -> Option<()> {
        if depth > MAX_SCAN_DEPTH {
            return None;
        }
        let start = self.pos;
        let byte = self.u8()?;
        let code = byte & !FLAG_REF;
        let index = self.out.spans.len();
        self.out.spans.push(Span {
            start,
            end: start,
            code,
            field: None,
            parent,
            code_field,
            refs_before: self.refs,
            depth,
        });
        let registers = !matches!(code, b'N' | b'T' | b'F' | b'.' | b'S' | b'r' | b'R' | b'0');
        if byte & FLAG_REF != 0 && registers {
            self.refs += 1;
        }
        let four = |s: &mut Self| -> Option<usize> {
            let at = s.pos;
            let n = s.i32()?;
            s.out.spans[index].field = Some((at, Width::Four));
            usize::try_from(n).ok()
        };
        let one = |s: &mut Self| -> Option<usize> {
            let at = s.pos;
            let n = s.u8()?;
            s.out.spans[index].field = Some((at, Width::One));
            Some(usize::from(n))
        };
        match code {
            b'0' | b'N' | b'T' | b'F' | b'.' | b'S' => {}
            b'i' => {
                self.take(4)?;
            }
            b'I' | b'g' => {
                self.take(8)?;
            }
            b'y' => {
                self.take(16)?;
            }
            b'l' => {
                let at = self.pos;
                let n = self.i32()?;
                self.out.spans[index].field = Some((at, Width::Four));
                self.take((n.unsigned_abs() as usize).checked_mul(2)?)?;
            }
            b'f' => {
                let n = one(self)?;
                self.take(n)?;
            }
            b'x' => {
                let n = one(self)?;
                self.take(n)?;
                let n = usize::from(self.u8()?);
                self.take(n)?;
            }
            b's' | b'u' | b't' | b'a' | b'A' => {
                let n = four(self)?;
                self.take(n)?;
            }
            b'z' | b'Z' => {
                let n = one(self)?;
                self.take(n)?;
            }
            b'r' | b'R' => {
                let at = self.pos;
                self.i32()?;
                self.out.spans[index].field = Some((at, Width::Four));
            }
            b'(' | b'[' | b'<' | b'>' => {
                let n = four(self)?;
                for _ in 0..n {
                    self.object(Some(index), None, depth + 1)?;
                }
            }
            b')' => {
                let n = one(self)?;
                for _ in 0..n {
                    self.object(Some(index), None, depth + 1)?;
                }
            }
            b'{' | b'}' => loop {
                if self.data.get(self.pos).map(|b| b & !FLAG_REF) == Some(b'0') {
                    self.object(Some(index), None, depth + 1)?;
                    break;
                }
                self.object(Some(index), None, depth + 1)?;
                self.object(Some(index), None, depth + 1)?;
            },
            b':' => {
                for _ in 0..3 {
                    self.object(Some(index), None, depth + 1)?;
                }
            }
            b'c' => {
                for field in self.layout_of_code.fields() {
                    match *field {
                        Field::Int(name) => {
                            self.out.code_ints.push((self.pos, name));
                            self.i32()?;
                        }
                        Field::Object(name) => self.object(Some(index), Some(name), depth + 1)?,
                    }
                }
            }
            _ => return None,
        }
        self.out.spans[index].end = self.pos;
        Some(())
    }
}

/// The layout of the object at the start of `data`, read as `format`; `None`
/// when the scanner cannot follow the stream.
pub fn scan(data: &[u8], format: Format) -> Option<Layout> {
    let mut scanner = Scanner { data, pos: 0, layout_of_code: format.code_layout(), out: Layout::default(), refs: 0 };
    scanner.object(None, None, 1)?;
    Some(scanner.out)
}

#[cfg(test)]
mod tests {
    use pycache_pyc::PyVersion;

    use super::*;

    #[test]
    fn spans_nest() {
        let format = Format::for_version(PyVersion::new(3, 12)).unwrap();
        let layout = scan(b")\x02\xda\x01xr\x00\x00\x00\x00", format).unwrap();
        let spans: Vec<_> = layout.spans.iter().map(|s| (s.start, s.end, s.code, s.refs_before)).collect();
        assert_eq!(spans, [(0, 10, b')', 0), (2, 5, b'Z', 0), (5, 10, b'r', 1)]);
        assert_eq!(layout.spans[2].field, Some((6, Width::Four)));
    }
}
