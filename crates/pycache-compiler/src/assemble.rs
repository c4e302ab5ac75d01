//! Assembly: the final instruction sequence to the bytes of `co_code`
//! (with `EXTENDED_ARG` prefixes and zeroed inline caches), the 3.11+
//! location table, the exception table, and the code object's names.

use crate::code::{CodeObject, PyStr, kind};
use crate::error::{Refusal, Result};
use crate::instr::*;
use crate::ir::{Assembly, FinalInstr, Metadata};
use crate::ops::OpTable;
use crate::target::{Feature, Target};

/// The bytes of one instruction in the version's numbering: its
/// `EXTENDED_ARG` prefixes, itself, its zeroed inline cache.
fn write_instr(ops: &OpTable, out: &mut Vec<u8>, op: Op, arg: i32, size: usize) -> Result<()> {
    let byte = |op: Op| {
        ops.byte(op).ok_or_else(|| {
            Refusal::internal(format!("{} is not an instruction of {}.{}", op.name(), ops.version.0, ops.version.1))
        })
    };
    let caches = usize::from(ops.cache_entries(op));
    let words = size - caches;
    for shift in (1..words).rev() {
        out.push(byte(EXTENDED_ARG)?);
        out.push(((arg >> (8 * shift)) & 0xFF) as u8);
    }
    out.extend_from_slice(&[byte(op)?, (arg & 0xFF) as u8]);
    if caches > 0 {
        let cache = byte(CACHE)?;
        if cache == 0 {
            // One fill for the whole cache instead of a push per byte.
            out.resize(out.len() + 2 * caches, 0);
        } else {
            for _ in 0..caches {
                out.extend_from_slice(&[cache, 0]);
            }
        }
    }
    Ok(())
}

fn write_varint(out: &mut Vec<u8>, mut val: u32) {
    while val >= 64 {
        out.push(0x40 | (val & 63) as u8);
        val >>= 6;
    }
    out.push(val as u8);
}

fn write_signed_varint(out: &mut Vec<u8>, val: i32) {
    let v = if val < 0 { ((0u32.wrapping_sub(val as u32)) << 1) | 1 } else { (val as u32) << 1 };
    write_varint(out, v);
}

const NONE: u8 = 15;
const NO_COLUMNS: u8 = 13;
const LONG: u8 = 14;
const ONE_LINE0: u8 = 10;
const SHORT0: u8 = 0;

struct Locations {
    out: Vec<u8>,
    lineno: i32,
}

impl Locations {
    fn first_byte(&mut self, code: u8, length: usize) {
        self.out.push(0x80 | (code << 3) | (length as u8 - 1));
    }

    fn entry(&mut self, loc: Loc, isize: usize) {
        if loc.lineno < 0 {
            self.first_byte(NONE, isize);
            return;
        }
        let line_delta = loc.lineno - self.lineno;
        let column = loc.col_offset;
        let end_column = loc.end_col_offset;
        if column < 0 || end_column < 0 {
            if loc.end_lineno == loc.lineno || loc.end_lineno == -1 {
                self.first_byte(NO_COLUMNS, isize);
                write_signed_varint(&mut self.out, line_delta);
                self.lineno = loc.lineno;
                return;
            }
        } else if loc.end_lineno == loc.lineno {
            if line_delta == 0 && column < 80 && end_column - column < 16 && end_column >= column {
                let group = (column >> 3) as u8;
                self.first_byte(SHORT0 + group, isize);
                self.out.push((((column & 7) << 4) | (end_column - column)) as u8);
                return;
            }
            if (0..3).contains(&line_delta) && column < 128 && end_column < 128 {
                self.first_byte(ONE_LINE0 + line_delta as u8, isize);
                self.out.push(column as u8);
                self.out.push(end_column as u8);
                self.lineno = loc.lineno;
                return;
            }
        }
        self.first_byte(LONG, isize);
        write_signed_varint(&mut self.out, line_delta);
        write_varint(&mut self.out, (loc.end_lineno - loc.lineno) as u32);
        write_varint(&mut self.out, (loc.col_offset + 1) as u32);
        write_varint(&mut self.out, (loc.end_col_offset + 1) as u32);
        self.lineno = loc.lineno;
    }

    fn emit(&mut self, loc: Loc, mut isize: usize) {
        if isize == 0 {
            return;
        }
        while isize > 8 {
            self.entry(loc, 8);
            isize -= 8;
        }
        self.entry(loc, isize);
    }
}

fn location_table(instrs: &[FinalInstr], sizes: &[u8], firstlineno: i32) -> Vec<u8> {
    // About two bytes per instruction: one reservation instead of a
    // dozen doublings for a long function.
    let mut table = Locations { out: Vec::with_capacity(2 * instrs.len()), lineno: firstlineno };
    let mut loc = NO_LOCATION;
    let mut size = 0;
    for (instr, &isize) in instrs.iter().zip(sizes) {
        if loc != instr.loc {
            table.emit(loc, size);
            loc = instr.loc;
            size = 0;
        }
        size += usize::from(isize);
    }
    table.emit(loc, size);
    table.out
}

fn except_item(out: &mut Vec<u8>, value: u32, mut msb: u8) {
    for shift in [24, 18, 12, 6] {
        if value >= 1 << shift {
            out.push((((value >> shift) & 0x3F) as u8) | 0x40 | msb);
            msb = 0;
        }
    }
    out.push((value & 0x3F) as u8 | msb);
}

fn exception_table(instrs: &[FinalInstr], sizes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let emit = |out: &mut Vec<u8>, start: usize, end: usize, handler: (i32, i32, bool)| {
        let (target, startdepth, lasti) = handler;
        let mut depth = startdepth - 1;
        if lasti {
            depth -= 1;
        }
        let depth_lasti = ((depth as u32) << 1) | u32::from(lasti);
        except_item(out, start as u32, 0x80);
        except_item(out, (end - start) as u32, 0);
        except_item(out, target as u32, 0);
        except_item(out, depth_lasti, 0);
    };
    let mut offset = 0;
    let mut handler: (i32, i32, bool) = (-1, 0, false);
    let mut start = 0;
    for (instr, &size) in instrs.iter().zip(sizes) {
        if instr.handler.0 != handler.0 {
            if handler.0 >= 0 {
                emit(&mut out, start, offset, handler);
            }
            start = offset;
            handler = instr.handler;
        }
        offset += usize::from(size);
    }
    if handler.0 >= 0 {
        emit(&mut out, start, offset, handler);
    }
    out
}

/// 3.14's bits saying how a parameter is passed (`Feature::ArgKinds`):
/// positionally (0x02), by keyword (0x04), collecting the rest (0x08).
fn arg_kind(md: &Metadata, code_flags: u32, offset: usize) -> u8 {
    const POS: u8 = 0x02;
    const KW: u8 = 0x04;
    const VAR: u8 = 0x08;
    let posonly = md.posonlyargcount as usize;
    let positional = posonly + md.argcount as usize;
    let named = positional + md.kwonlyargcount as usize;
    let varargs = code_flags & crate::codegen::CO_VARARGS != 0;
    let varkeywords = code_flags & crate::codegen::CO_VARKEYWORDS != 0;
    if offset < posonly {
        POS
    } else if offset < positional {
        POS | KW
    } else if offset < named {
        KW
    } else if varargs && offset == named {
        VAR | POS
    } else if varkeywords && offset == named + usize::from(varargs) {
        VAR | KW
    } else {
        0
    }
}

/// Builds the code object from the unit's metadata and final instructions,
/// numbered as the target's version numbers them.
pub fn make_code(
    target: Target,
    md: &Metadata,
    assembly: Assembly,
    code_flags: u32,
    filename: PyStr,
) -> Result<CodeObject> {
    let ops = target.ops();
    let Assembly { consts, mut maxdepth, mut instrs, nlocalsplus } = assembly;
    // `NEXT_LOCATION`: the location of the instruction after (resolved
    // from the end, so a run of them takes the first real one); none for
    // an instruction that leaves the straight line.
    for i in (0..instrs.len()).rev() {
        if instrs[i].loc == NEXT_LOCATION {
            instrs[i].loc = match instrs.get(i + 1) {
                Some(next) if !is_terminator_in(target, instrs[i].op) => next.loc,
                _ => NO_LOCATION,
            };
        }
    }
    if target.has(Feature::StackDepthBeforePrefix) {
        // 3.13's code object stores a stack size of at least 1.
        maxdepth = maxdepth.max(1);
    }
    // Each instruction's size once, for the code and both tables (an
    // instruction takes at most 4 prefixes, itself and its cache: a byte
    // holds it).
    let sizes: Vec<u8> = instrs.iter().map(|i| ops.instr_size(i.op, i.arg) as u8).collect();
    let units: usize = sizes.iter().map(|&s| usize::from(s)).sum();
    let mut code = Vec::with_capacity(units * 2);
    for (instr, &size) in instrs.iter().zip(&sizes) {
        write_instr(ops, &mut code, instr.op, instr.arg, usize::from(size))?;
    }
    let linetable = location_table(&instrs, &sizes, md.firstlineno);
    let exceptiontable = exception_table(&instrs, &sizes);

    let mut names = vec![PyStr::default(); nlocalsplus];
    let mut kinds = vec![0u8; nlocalsplus];
    for (k, &offset) in &md.varnames.0 {
        let mut kind = kind::LOCAL;
        if md.fasthidden.contains_key(k) {
            kind |= kind::HIDDEN;
        }
        if md.cellvars.get(k).is_some() {
            kind |= kind::CELL;
        }
        if target.has(Feature::ArgKinds) {
            kind |= arg_kind(md, code_flags, offset);
        }
        names[offset] = k.clone();
        kinds[offset] = kind;
    }
    let nlocals = md.varnames.len();
    let mut numdropped = 0;
    for (k, &offset) in &md.cellvars.0 {
        if md.varnames.get(k).is_some() {
            numdropped += 1;
            continue;
        }
        let i = offset + nlocals - numdropped;
        names[i] = k.clone();
        kinds[i] = kind::CELL;
    }
    for (k, &offset) in &md.freevars.0 {
        let i = offset + nlocals - numdropped;
        names[i] = k.clone();
        kinds[i] = kind::FREE;
    }
    let argcount = md.posonlyargcount + md.argcount;
    Ok(CodeObject {
        argcount,
        posonlyargcount: md.posonlyargcount,
        kwonlyargcount: md.kwonlyargcount,
        stacksize: maxdepth as u32,
        flags: code_flags,
        code,
        consts,
        names: md.names.ordered(),
        localsplusnames: names,
        localspluskinds: kinds,
        filename,
        name: md.name.clone(),
        qualname: md.qualname.clone().unwrap_or_else(|| md.name.clone()),
        firstlineno: md.firstlineno as u32,
        linetable,
        exceptiontable,
        renamed_locals: false,
        fresh_percent: false,
        identifier_strs: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_use_six_bit_chunks() {
        let mut out = Vec::new();
        write_varint(&mut out, 63);
        write_varint(&mut out, 64);
        assert_eq!(out, vec![63, 0x40, 1]);
        let mut out = Vec::new();
        write_signed_varint(&mut out, -1);
        assert_eq!(out, vec![3]);
    }

    #[test]
    fn extended_args_come_first() {
        let ops = OpTable::for_version(3, 12).unwrap();
        let mut out = Vec::new();
        write_instr(ops, &mut out, LOAD_CONST, 0x1234, 2).unwrap();
        assert_eq!(out, vec![144, 0x12, 100, 0x34]);
        let mut out = Vec::new();
        write_instr(ops, &mut out, LOAD_GLOBAL, 1, 5).unwrap();
        assert_eq!(out, vec![116, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(write_instr(ops, &mut Vec::new(), JUMP, 1, 1).is_err());
    }
}
