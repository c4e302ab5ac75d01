//! Opcodes: the symbolic [`Op`] that code generation and the flow graph
//! work with, and each version's [`OpTable`], which numbers them at
//! assembly and says which take an argument, index the constants or carry
//! an inline cache.
//!
//! `Op` is the union of the opcode names of every version from 3.12
//! (`generated/ops.rs`, from pycache-opcode's tables), so an opcode that a
//! version renumbers, adds or drops needs no change here: its number, or
//! its absence, is that version's table's, generated from the interpreter.

use std::sync::OnceLock;

pub use crate::generated::ops::Op;
use pycache_opcode::flags;

/// One version's numbers and classes for every [`Op`].
#[derive(Debug)]
pub struct OpTable {
    pub version: (u8, u8),
    /// The number of each op, `u16::MAX` when the version lacks it.
    numbers: [u16; Op::COUNT],
    /// `pycache_opcode::flags` bits of each op.
    flags: [u32; Op::COUNT],
    /// Inline cache entries after each op.
    caches: [u8; Op::COUNT],
}

const ABSENT: u16 = u16::MAX;

/// The feature versions the compiler has opcode tables for.
const VERSIONS: [(u8, u8); 4] = [(3, 12), (3, 13), (3, 14), (3, 15)];

static TABLES: [OnceLock<Option<OpTable>>; VERSIONS.len()] = [const { OnceLock::new() }; VERSIONS.len()];

impl OpTable {
    /// The table of a feature version, built once from pycache-opcode's.
    pub fn for_version(major: u8, minor: u8) -> Option<&'static OpTable> {
        let i = VERSIONS.iter().position(|&v| v == (major, minor))?;
        TABLES[i].get_or_init(|| OpTable::build(major, minor)).as_ref()
    }

    fn build(major: u8, minor: u8) -> Option<OpTable> {
        let table = pycache_opcode::for_version(pycache_pyc::PyVersion::new(major, minor))?;
        let mut out = OpTable {
            version: (major, minor),
            numbers: [ABSENT; Op::COUNT],
            flags: [0; Op::COUNT],
            caches: [0; Op::COUNT],
        };
        for opcode in table.opcodes {
            if opcode.has(flags::INSTRUMENTED) {
                continue;
            }
            let Some(op) = Op::from_name(opcode.name) else { continue };
            out.numbers[op as usize] = opcode.number;
            out.flags[op as usize] = opcode.flags;
            out.caches[op as usize] = opcode.cache_entries;
        }
        Some(out)
    }

    /// The number of `op` in this version (pseudo-ops numbered above 255).
    pub fn number(&self, op: Op) -> Option<u16> {
        let n = self.numbers[op as usize];
        (n != ABSENT).then_some(n)
    }

    /// The byte of a real instruction; `None` for a pseudo-op or an op the
    /// version lacks.
    pub fn byte(&self, op: Op) -> Option<u8> {
        u8::try_from(self.numbers[op as usize]).ok()
    }

    /// The op with this number, if the version has one.
    pub fn op(&self, number: u16) -> Option<Op> {
        self.numbers.iter().position(|&n| n == number).map(|i| Op::ALL[i])
    }

    pub fn exists(&self, op: Op) -> bool {
        self.numbers[op as usize] != ABSENT
    }

    pub fn has_arg(&self, op: Op) -> bool {
        self.flags[op as usize] & flags::HAS_ARG != 0
    }

    /// The argument indexes the constants.
    pub fn has_const(&self, op: Op) -> bool {
        self.flags[op as usize] & flags::CONST != 0
    }

    pub fn is_pseudo(&self, op: Op) -> bool {
        self.flags[op as usize] & flags::PSEUDO != 0
    }

    /// Inline cache entries (code units) after the instruction.
    pub fn cache_entries(&self, op: Op) -> u8 {
        self.caches[op as usize]
    }

    /// Code units the instruction takes: its `EXTENDED_ARG` prefixes,
    /// itself and its inline cache.
    pub fn instr_size(&self, op: Op, arg: i32) -> usize {
        let extended = usize::from(arg > 0xFF_FFFF) + usize::from(arg > 0xFFFF) + usize::from(arg > 0xFF);
        extended + 1 + usize::from(self.caches[op as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every opcode of every table from 3.12 has a symbolic op, so the
    /// generated enum is current.
    #[test]
    fn every_version_opcode_is_an_op() {
        for table in pycache_opcode::tables().iter().filter(|t| t.version >= (3, 12)) {
            for opcode in table.opcodes.iter().filter(|o| !o.has(flags::INSTRUMENTED)) {
                assert!(
                    Op::from_name(opcode.name).is_some(),
                    "{} of {:?}: rerun generate_ops.py",
                    opcode.name,
                    table.version
                );
            }
            assert!(VERSIONS.contains(&table.version), "no OpTable for {:?}", table.version);
        }
    }

    #[test]
    fn numbers_are_the_versions_own() {
        let t12 = OpTable::for_version(3, 12).unwrap();
        let t13 = OpTable::for_version(3, 13).unwrap();
        assert_eq!(t12.byte(Op::LOAD_CONST), Some(100));
        assert_eq!(t12.number(Op::JUMP), Some(260));
        assert_eq!(t12.byte(Op::JUMP), None);
        assert!(t12.is_pseudo(Op::JUMP) && !t12.is_pseudo(Op::LOAD_CLOSURE));
        assert!(t13.is_pseudo(Op::LOAD_CLOSURE));
        assert!(t12.exists(Op::KW_NAMES) && !t13.exists(Op::KW_NAMES));
        assert_eq!(t12.op(116), Some(Op::LOAD_GLOBAL));
        assert_eq!(t12.cache_entries(Op::LOAD_GLOBAL), 4);
        assert!(t12.has_const(Op::KW_NAMES) && t12.has_arg(Op::JUMP) && !t12.has_arg(Op::POP_TOP));
        assert_eq!(t12.instr_size(Op::NOP, 0), 1);
        assert_eq!(t12.instr_size(Op::LOAD_CONST, 300), 2);
        assert_eq!(t12.instr_size(Op::LOAD_ATTR, 0), 10);
        assert_eq!(t12.instr_size(Op::CALL, 0x1_0000), 6);
        assert!(OpTable::for_version(3, 11).is_none());
    }
}
