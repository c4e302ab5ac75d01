//! The 3.11+ exception table (`co_exceptiontable`): which ranges of
//! bytecode have a handler, at what stack depth, and whether the offset of
//! the raising instruction is pushed.

use serde::Serialize;

/// One entry, in bytes as `dis` shows them: `start` inclusive, `end`
/// exclusive (dis prints `end - 2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExceptionEntry {
    pub start: u64,
    pub end: u64,
    pub target: u64,
    pub depth: u64,
    pub lasti: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExceptionTableError {
    #[error("exception table entry at byte {offset} is cut short")]
    Truncated { offset: usize },
    #[error("exception table number too large at byte {offset}")]
    Overflow { offset: usize },
}

/// Reads the table. Numbers are big-endian groups of six bits, bit 6 set
/// on all but the last; the first byte of an entry also carries bit 7,
/// which (like `dis`) this reader does not need.
pub fn parse(table: &[u8]) -> Result<Vec<ExceptionEntry>, ExceptionTableError> {
    let mut entries = Vec::new();
    let mut at = 0usize;
    let varint = |at: &mut usize, entry: usize| -> Result<u64, ExceptionTableError> {
        let mut byte = *table.get(*at).ok_or(ExceptionTableError::Truncated { offset: entry })?;
        *at += 1;
        let mut value = u64::from(byte & 63);
        while byte & 64 != 0 {
            byte = *table.get(*at).ok_or(ExceptionTableError::Truncated { offset: entry })?;
            *at += 1;
            if value >> 50 != 0 {
                return Err(ExceptionTableError::Overflow { offset: entry });
            }
            value = (value << 6) | u64::from(byte & 63);
        }
        Ok(value)
    };
    while at < table.len() {
        let entry = at;
        let start = varint(&mut at, entry)? * 2;
        let length = varint(&mut at, entry)? * 2;
        let target = varint(&mut at, entry)? * 2;
        let depth_lasti = varint(&mut at, entry)?;
        entries.push(ExceptionEntry {
            start,
            end: start + length,
            target,
            depth: depth_lasti >> 1,
            lasti: depth_lasti & 1 != 0,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_decode() {
        // start 2, length 5, target 20, depth 1 with lasti; then a
        // two-byte start (65 = 1 << 6 | 1).
        let table = [0x82, 5, 20, 3, 0x80 | 0x40 | 1, 1, 2, 30, 4];
        let entries = parse(&table).unwrap();
        assert_eq!(entries[0], ExceptionEntry { start: 4, end: 14, target: 40, depth: 1, lasti: true });
        assert_eq!(entries[1], ExceptionEntry { start: 130, end: 134, target: 60, depth: 2, lasti: false });
    }

    #[test]
    fn truncated_tables_are_errors() {
        assert_eq!(parse(&[0x82, 5, 20]), Err(ExceptionTableError::Truncated { offset: 0 }));
        assert_eq!(parse(&[0x82, 5, 20, 0x40]), Err(ExceptionTableError::Truncated { offset: 0 }));
        assert_eq!(parse(&[0xff; 30]), Err(ExceptionTableError::Overflow { offset: 0 }));
    }
}
