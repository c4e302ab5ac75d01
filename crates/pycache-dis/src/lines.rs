//! The three line-number encodings CPython has stored in code objects:
//! `co_lnotab` (2.7 to 3.9), the 3.10 `co_linetable` (PEP 626), and the
//! 3.11+ location table with end lines and columns (PEP 657).

use serde::Serialize;

/// A range of bytecode (in bytes, end exclusive) and its line, as
/// `co_lines()` yields them; `None` for instructions without a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineRange {
    pub start: u32,
    pub end: u32,
    pub line: Option<u32>,
}

/// Where an instruction's source is, as `co_positions()` gives it (3.11+).
/// Columns count UTF-8 bytes from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Positions {
    pub lineno: Option<u32>,
    pub end_lineno: Option<u32>,
    pub col_offset: Option<u32>,
    pub end_col_offset: Option<u32>,
}

/// How a line table was found to be malformed. Offsets count bytes into
/// the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineTableError {
    #[error("line table entry at byte {offset} is cut short")]
    Truncated { offset: usize },
    #[error("line table byte {offset} does not start an entry (0x{byte:02x})")]
    NotAnEntry { offset: usize, byte: u8 },
    #[error("line number out of range in the line table at byte {offset}")]
    Overflow { offset: usize },
}

fn to_line(value: i64) -> Option<u32> {
    u32::try_from(value).ok()
}

/// `dis.findlinestarts` of 2.7 and 3.6 to 3.9: (offset, line) pairs from
/// `co_lnotab`. 2.7 reads line increments as unsigned; 3.6+ as signed
/// bytes; 3.8+ stops at entries past the end of the bytecode.
pub fn lnotab_line_starts(
    lnotab: &[u8],
    firstlineno: i32,
    code_len: usize,
    signed: bool,
    stop_past_end: bool,
) -> Vec<(u32, i64)> {
    let mut starts = Vec::new();
    let mut last: Option<i64> = None;
    let mut line = i64::from(firstlineno);
    let mut addr: u64 = 0;
    for pair in lnotab.chunks_exact(2) {
        let (byte_incr, line_incr) = (pair[0], pair[1]);
        if byte_incr != 0 {
            if last != Some(line) {
                starts.push((addr as u32, line));
                last = Some(line);
            }
            addr += u64::from(byte_incr);
            if stop_past_end && addr >= code_len as u64 {
                return starts;
            }
        }
        line += if signed { i64::from(line_incr as i8) } else { i64::from(line_incr) };
    }
    if last != Some(line) {
        starts.push((addr.min(u64::from(u32::MAX)) as u32, line));
    }
    starts
}

/// `co_lines()` of 3.10: byte-delta and signed line-delta pairs, -128
/// meaning no line; empty ranges are skipped.
pub fn linetable_310(table: &[u8], firstlineno: i32) -> Vec<LineRange> {
    let mut ranges = Vec::new();
    let mut computed = i64::from(firstlineno);
    let mut end: u32 = 0;
    for pair in table.chunks_exact(2) {
        let start = end;
        end = end.saturating_add(u32::from(pair[0]));
        let delta = pair[1] as i8;
        let line = if delta == -128 {
            None
        } else {
            computed += i64::from(delta);
            Some(computed)
        };
        if start != end {
            ranges.push(LineRange { start, end, line: line.and_then(to_line) });
        }
    }
    ranges
}

/// One entry of a 3.11+ location table: how many code units it covers and
/// their positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocationEntry {
    pub units: u32,
    pub positions: Positions,
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
    entry: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, LineTableError> {
        let byte = *self.data.get(self.at).ok_or(LineTableError::Truncated { offset: self.entry })?;
        self.at += 1;
        Ok(byte)
    }

    /// Six bits per byte, least significant first, bit 6 continuing.
    fn varint(&mut self) -> Result<u64, LineTableError> {
        let mut byte = self.byte()?;
        let mut value = u64::from(byte & 63);
        let mut shift = 0u32;
        while byte & 64 != 0 {
            byte = self.byte()?;
            shift += 6;
            if shift > 60 {
                return Err(LineTableError::Overflow { offset: self.entry });
            }
            value |= u64::from(byte & 63) << shift;
        }
        Ok(value)
    }

    fn svarint(&mut self) -> Result<i64, LineTableError> {
        let raw = self.varint()?;
        let magnitude = (raw >> 1) as i64;
        Ok(if raw & 1 != 0 { -magnitude } else { magnitude })
    }
}

/// Decodes a 3.11+ location table (`co_linetable`) entry by entry.
pub fn location_table(table: &[u8], firstlineno: i32) -> Result<Vec<LocationEntry>, LineTableError> {
    let mut entries = Vec::new();
    let mut line = i64::from(firstlineno);
    let mut reader = Reader { data: table, at: 0, entry: 0 };
    while reader.at < table.len() {
        reader.entry = reader.at;
        let first = reader.byte()?;
        if first & 0x80 == 0 {
            return Err(LineTableError::NotAnEntry { offset: reader.entry, byte: first });
        }
        let code = (first >> 3) & 15;
        let units = u32::from(first & 7) + 1;
        let positions = match code {
            15 => Positions::default(),
            14 => {
                line = line.checked_add(reader.svarint()?).ok_or(LineTableError::Overflow { offset: reader.entry })?;
                let end_line = line.saturating_add(reader.varint()? as i64);
                let col = reader.varint()?;
                let end_col = reader.varint()?;
                Positions {
                    lineno: to_line(line),
                    end_lineno: to_line(end_line),
                    col_offset: col.checked_sub(1).and_then(|c| u32::try_from(c).ok()),
                    end_col_offset: end_col.checked_sub(1).and_then(|c| u32::try_from(c).ok()),
                }
            }
            13 => {
                line = line.checked_add(reader.svarint()?).ok_or(LineTableError::Overflow { offset: reader.entry })?;
                Positions { lineno: to_line(line), end_lineno: to_line(line), col_offset: None, end_col_offset: None }
            }
            10..=12 => {
                line =
                    line.checked_add(i64::from(code - 10)).ok_or(LineTableError::Overflow { offset: reader.entry })?;
                let col = reader.byte()?;
                let end_col = reader.byte()?;
                Positions {
                    lineno: to_line(line),
                    end_lineno: to_line(line),
                    col_offset: Some(u32::from(col)),
                    end_col_offset: Some(u32::from(end_col)),
                }
            }
            _ => {
                let second = reader.byte()?;
                let col = u32::from(code) * 8 + u32::from((second >> 4) & 7);
                Positions {
                    lineno: to_line(line),
                    end_lineno: to_line(line),
                    col_offset: Some(col),
                    end_col_offset: Some(col + u32::from(second & 15)),
                }
            }
        };
        entries.push(LocationEntry { units, positions });
    }
    Ok(entries)
}

/// `co_positions()`: one entry per code unit, for `units` code units (units
/// the table does not cover have no position).
pub fn positions_per_unit(entries: &[LocationEntry], units: usize) -> Vec<Positions> {
    let mut out = Vec::with_capacity(units);
    'outer: for entry in entries {
        for _ in 0..entry.units {
            if out.len() == units {
                break 'outer;
            }
            out.push(entry.positions);
        }
    }
    out.resize(units, Positions::default());
    out
}

/// `co_lines()` of 3.11+: the location table's lines, with neighbouring
/// entries of the same line merged as the interpreter does.
pub fn location_lines(entries: &[LocationEntry]) -> Vec<LineRange> {
    let mut ranges: Vec<LineRange> = Vec::new();
    let mut at: u32 = 0;
    for entry in entries {
        let start = at;
        at = at.saturating_add(entry.units * 2);
        let line = entry.positions.lineno;
        match ranges.last_mut() {
            Some(last) if last.line == line && last.end == start => last.end = at,
            _ => ranges.push(LineRange { start, end: at, line }),
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lnotab_of_a_small_function() {
        // Line 1 at 0, line 2 at 4, line 5 at 10 (a jump of 3 lines split
        // across two pairs), then back to line 3 at 16 (signed).
        let lnotab = [4, 1, 6, 2, 0, 1, 6, 0xfe];
        assert_eq!(lnotab_line_starts(&lnotab, 1, 20, true, true), vec![(0, 1), (4, 2), (10, 5), (16, 3)]);
        // 2.7 reads 0xfe as 254.
        assert_eq!(lnotab_line_starts(&lnotab, 1, 20, false, false).last(), Some(&(16, 259)));
        // 3.8+ stops at entries past the end of the bytecode.
        assert_eq!(lnotab_line_starts(&[4, 1, 250, 1], 1, 6, true, true), vec![(0, 1), (4, 2)]);
        assert_eq!(lnotab_line_starts(&[4, 1, 250, 1], 1, 6, true, false).len(), 3);
        assert_eq!(lnotab_line_starts(&[], 7, 6, true, true), vec![(0, 7)]);
    }

    #[test]
    fn linetable_310_skips_empty_ranges_and_marks_missing_lines() {
        // 6 bytes on line +0, 0 bytes on +1, 4 bytes with no line, 2 bytes on +2.
        let table = [6, 0, 0, 1, 4, 0x80, 2, 2];
        assert_eq!(
            linetable_310(&table, 10),
            vec![
                LineRange { start: 0, end: 6, line: Some(10) },
                LineRange { start: 6, end: 10, line: None },
                LineRange { start: 10, end: 12, line: Some(13) },
            ]
        );
    }

    #[test]
    fn location_table_forms() {
        let table = [
            0x80 | (15 << 3),     // 1 unit, no location
            0x80 | (13 << 3) | 1, // 2 units, no columns, line +2
            4,                    // svarint +2
            0x80 | (11 << 3),     // one-line form, line +1, cols 4..9
            4,
            9,
            0x80 | (3 << 3), // short form: col 3*8+2, end col +5
            0x25,
            0x80 | (14 << 3), // long form: line -1, end +2, cols 0..120
            3,                // svarint -1
            2,                // end line delta 2
            1,                // col + 1
            0x40 | 57,
            1, // end col + 1 = 121 as two chunks
        ];
        let entries = location_table(&table, 100).unwrap();
        let positions: Vec<Positions> = entries.iter().map(|e| e.positions).collect();
        let p = |l, el, c, ec| Positions { lineno: l, end_lineno: el, col_offset: c, end_col_offset: ec };
        assert_eq!(
            positions,
            vec![
                p(None, None, None, None),
                p(Some(102), Some(102), None, None),
                p(Some(103), Some(103), Some(4), Some(9)),
                p(Some(103), Some(103), Some(26), Some(31)),
                p(Some(102), Some(104), Some(0), Some(120)),
            ]
        );
        assert_eq!(entries[1].units, 2);
        let lines = location_lines(&entries);
        assert_eq!(lines[0], LineRange { start: 0, end: 2, line: None });
        assert_eq!(lines[2], LineRange { start: 6, end: 10, line: Some(103) });
        let per_unit = positions_per_unit(&entries, 8);
        assert_eq!(per_unit.len(), 8);
        assert_eq!(per_unit[2].lineno, Some(102));
        assert_eq!(per_unit[7], Positions::default());
    }

    #[test]
    fn regression_one_line_forms_past_the_largest_line() {
        // A long-form entry that moves to line i64::MAX - 1, then a
        // one-line-form entry two lines further.
        let mut table = vec![0x80 | 13 << 3, 0x40 | 0x3c];
        table.extend([0x40 | 63; 9]);
        table.push(0x0f);
        table.extend([0x80 | 12 << 3, 0, 0]);
        // Found reading the code after fuzzing: the addition overflowed (a
        // panic in debug builds) where the long forms report an error.
        assert_eq!(location_table(&table, 0), Err(LineTableError::Overflow { offset: 12 }));
        assert_eq!(location_table(&table[..12], 0).unwrap()[0].positions.lineno, None);
    }

    #[test]
    fn broken_location_tables_are_errors() {
        assert_eq!(location_table(&[0x10], 1), Err(LineTableError::NotAnEntry { offset: 0, byte: 0x10 }));
        assert_eq!(location_table(&[0xf8 - 8, 0x40], 1), Err(LineTableError::Truncated { offset: 0 }));
        let endless = [&[0x80 | (13 << 3)][..], &[0x7f; 20]].concat();
        assert_eq!(location_table(&endless, 1), Err(LineTableError::Overflow { offset: 0 }));
    }
}
