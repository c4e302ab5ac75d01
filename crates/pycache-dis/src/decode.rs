//! Code objects to instructions, as each version's `dis` sees them.

use std::collections::{BTreeMap, BTreeSet};

use pycache_marshal::{Object, RefTable};
use pycache_opcode::{ArgKind, CONVERSIONS, NullMark, Opcode, Table};
use pycache_pyc::PyVersion;

use crate::error::DisError;
use crate::exceptions::{self, ExceptionEntry};
use crate::lines::{self, LineRange, Positions};
use crate::pyrepr::Repr;
use crate::view::CodeView;

/// What an argument resolved to (dis's `argval`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgVal {
    /// No argument.
    None,
    /// A number: the argument itself, or a jump target in bytes.
    Int(i64),
    /// A name, a comparison operator.
    Text(String),
    /// co_consts[index].
    Const(usize),
    /// Two local names (3.13+ superinstructions).
    Pair(String, String),
    /// LOAD_COMMON_CONSTANT's object (3.15+; 3.14's dis gives the number):
    /// the index into the table's `common_constants`.
    Common(usize),
    /// FORMAT_VALUE (conversion, with a format spec) and CONVERT_VALUE.
    Conversion { conversion: Option<&'static str>, with_format: Option<bool> },
    /// What `dis` cannot resolve (an index out of range, or a constant
    /// 3.11's dis does not look up).
    Unknown,
}

/// One instruction, or one inline cache entry when caches are shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Bytes from the start of co_code.
    pub offset: u32,
    /// Where its EXTENDED_ARG prefixes start (3.13's `start_offset`).
    pub start_offset: u32,
    pub opcode: u16,
    pub opname: String,
    /// With EXTENDED_ARG prefixes folded in; `None` for opcodes without one.
    pub arg: Option<i64>,
    pub argval: ArgVal,
    pub argrepr: String,
    /// The source line of this instruction (None where the table gives none).
    pub line: Option<u32>,
    /// Whether `dis` marks a line start here (`findlinestarts`).
    pub starts_line: bool,
    pub is_jump_target: bool,
    /// 3.13+: the label `dis` gives a jump target or exception boundary.
    pub label: Option<usize>,
    /// For jumps: the target offset in bytes.
    pub jump_target: Option<i64>,
    /// 3.11+.
    pub positions: Option<Positions>,
    /// An inline CACHE entry, listed only with `show_caches`.
    pub is_cache: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct DecodeOptions {
    /// List 3.11+ inline cache entries as CACHE instructions.
    pub show_caches: bool,
}

/// A decoded code object.
#[derive(Debug, Clone)]
pub struct Decoded<'a> {
    pub view: CodeView<'a>,
    pub instructions: Vec<Instruction>,
    /// `dis.findlinestarts`: offsets where a line starts, and the line
    /// (None only from 3.13, where lineless stretches start too).
    pub line_starts: Vec<(u32, Option<u32>)>,
    /// `co_lines()` (3.10+), or ranges between the line starts (older).
    pub line_ranges: Vec<LineRange>,
    pub exception_table: Vec<ExceptionEntry>,
    /// 3.13+: label numbers by offset, as `dis` prints them.
    pub labels: BTreeMap<u32, usize>,
}

fn v(major: u8, minor: u8) -> PyVersion {
    PyVersion::new(major, minor)
}

/// The lines of a code object: starts as dis finds them, ranges, and per
/// code unit positions (3.11+).
struct LineInfo {
    starts: Vec<(u32, Option<u32>)>,
    ranges: Vec<LineRange>,
    positions: Option<Vec<Positions>>,
}

fn line_info(view: &CodeView<'_>) -> Result<LineInfo, DisError> {
    let version = view.version;
    let code_len = view.bytecode.len();
    if version < v(3, 10) {
        let signed = version >= v(3, 0);
        let stop = version >= v(3, 8);
        let raw = lines::lnotab_line_starts(view.linetable, view.firstlineno, code_len, signed, stop);
        let starts: Vec<(u32, Option<u32>)> = raw.iter().map(|&(at, line)| (at, u32::try_from(line).ok())).collect();
        let mut ranges = Vec::new();
        for (i, &(start, line)) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(code_len as u32, |next| next.0);
            ranges.push(LineRange { start, end: end.max(start), line });
        }
        return Ok(LineInfo { starts, ranges, positions: None });
    }
    let (ranges, positions) = if version < v(3, 11) {
        (lines::linetable_310(view.linetable, view.firstlineno), None)
    } else {
        let entries = lines::location_table(view.linetable, view.firstlineno)
            .map_err(|source| DisError::LineTable { qualname: view.qualname.clone(), source })?;
        (lines::location_lines(&entries), Some(lines::positions_per_unit(&entries, code_len / 2)))
    };
    let mut starts = Vec::new();
    if version >= v(3, 13) {
        let mut last: Option<Option<u32>> = None;
        for range in &ranges {
            if last != Some(range.line) {
                starts.push((range.start, range.line));
                last = Some(range.line);
            }
        }
    } else {
        let mut last = None;
        for range in &ranges {
            if range.line.is_some() && range.line != last {
                starts.push((range.start, range.line));
                last = range.line;
            }
        }
    }
    Ok(LineInfo { starts, ranges, positions })
}

/// One instruction as unpacked: offset, EXTENDED_ARG start, opcode, arg.
struct Raw {
    offset: u32,
    start_offset: u32,
    op: u8,
    arg: Option<i64>,
}

/// `dis._unpack_opargs` of each version.
fn unpack(table: &Table, code: &[u8]) -> Vec<Raw> {
    let mut out = Vec::new();
    let mut extended: i64 = 0;
    let byte = |i: usize| i64::from(code.get(i).copied().unwrap_or(0));
    if !table.is_wordcode() {
        let mut i = 0usize;
        while i < code.len() {
            let op = code[i];
            let has_arg = op >= table.have_argument;
            let arg = has_arg.then(|| (byte(i + 1) + byte(i + 2) * 256).wrapping_add(extended));
            if has_arg {
                extended = if op == table.extended_arg { arg.unwrap_or(0).wrapping_mul(65536) } else { 0 };
            }
            out.push(Raw { offset: i as u32, start_offset: i as u32, op, arg });
            i += if has_arg { 3 } else { 1 };
        }
        return out;
    }
    let mut caches = 0usize;
    let mut prefixes = 0u32;
    let version = table.py_version();
    for i in (0..code.len()).step_by(2) {
        if caches > 0 {
            caches -= 1;
            continue;
        }
        let op = code[i];
        let deop = table.deopt(u16::from(op));
        caches = deop.map_or(0, |d| usize::from(d.cache_entries));
        let has_arg = match deop {
            Some(d) => d.has_arg(),
            None => version < v(3, 12) && op >= table.have_argument,
        };
        let is_extended = deop.is_some_and(|d| d.number == u16::from(table.extended_arg));
        let arg = if has_arg {
            let arg = byte(i + 1) | extended;
            extended = if is_extended { arg.wrapping_shl(8) } else { 0 };
            if table.wraps_extended_arg() && extended >= 1 << 31 {
                extended -= 1 << 32;
            }
            Some(arg)
        } else {
            if table.no_arg_resets_extended() {
                extended = 0;
            }
            None
        };
        let offset = i as u32;
        if is_extended {
            prefixes += 1;
            out.push(Raw { offset, start_offset: offset, op, arg });
        } else {
            out.push(Raw { offset, start_offset: offset - 2 * prefixes.min(offset / 2), op, arg });
            prefixes = 0;
        }
    }
    out
}

struct Resolver<'v, 'a> {
    view: &'v CodeView<'a>,
    table: &'static Table,
    repr: Repr<'a>,
}

impl<'a> Resolver<'_, 'a> {
    fn name(&self, index: i64) -> (ArgVal, String) {
        match usize::try_from(index).ok().and_then(|i| self.view.names.get(i)) {
            Some(name) => (ArgVal::Text(name.clone()), name.clone()),
            None => (ArgVal::Unknown, format!("<bad name index {index}>")),
        }
    }

    fn local(&self, index: i64, free: bool) -> (ArgVal, String) {
        let name = if free { self.view.free_name(index) } else { self.view.local_name(index) };
        match name {
            Some(name) => (ArgVal::Text(name.to_owned()), name.to_owned()),
            None => (ArgVal::Unknown, format!("<bad variable index {index}>")),
        }
    }

    fn constant(&self, op: &Opcode, index: i64) -> (ArgVal, String) {
        // 3.11's dis looks up LOAD_CONST's constant only (KW_NAMES is
        // hasconst too, and shows nothing).
        if self.view.version == v(3, 11) && op.name != "LOAD_CONST" {
            return (ArgVal::Unknown, String::new());
        }
        match usize::try_from(index).ok().filter(|&i| i < self.view.consts.len()) {
            Some(i) => (ArgVal::Const(i), self.repr.repr(self.view.consts[i])),
            None => (ArgVal::Unknown, format!("<bad constant index {index}>")),
        }
    }

    fn listed(list: &[&str], index: i64) -> String {
        usize::try_from(index).ok().and_then(|i| list.get(i)).map_or_else(|| format!("<{index}>"), |s| (*s).to_owned())
    }

    /// dis's argval and argrepr, less jump text (which needs the labels).
    fn resolve(&self, op: &Opcode, arg: i64) -> (ArgVal, String) {
        let table = self.table;
        match table.arg_kind(op) {
            ArgKind::Plain => (ArgVal::Int(arg), String::new()),
            ArgKind::Const => self.constant(op, arg),
            ArgKind::Name => self.name(arg),
            ArgKind::ShiftedName { shift, null } => {
                let (val, text) = self.name(arg >> shift);
                if arg & 1 == 0 || text.is_empty() {
                    return (val, text);
                }
                let text = match null {
                    NullMark::Before(mark) => format!("{mark} + {text}"),
                    NullMark::After(mark) => format!("{text} + {mark}"),
                };
                (val, text)
            }
            ArgKind::Jump { .. } => (ArgVal::Int(arg), String::new()),
            ArgKind::Local => self.local(arg, false),
            ArgKind::Free => self.local(arg, true),
            ArgKind::LocalPair => {
                let (a, b) = (self.local(arg >> 4, false).1, self.local(arg & 15, false).1);
                (ArgVal::Pair(a.clone(), b.clone()), format!("{a}, {b}"))
            }
            ArgKind::Compare { shift, bool_bit } => {
                let text = Self::listed(table.cmp_op, arg >> shift);
                let repr = if bool_bit && arg & 16 != 0 { format!("bool({text})") } else { text.clone() };
                (ArgVal::Text(text), repr)
            }
            ArgKind::FormatValue => {
                let index = (arg & 3) as usize;
                let with_format = arg & 4 != 0;
                let mut repr = CONVERSIONS[index].to_owned();
                if with_format {
                    if !repr.is_empty() {
                        repr.push_str(", ");
                    }
                    repr.push_str("with format");
                }
                let conversion = (index > 0).then_some(CONVERSIONS[index]);
                (ArgVal::Conversion { conversion, with_format: Some(with_format) }, repr)
            }
            ArgKind::ConvertValue => match usize::try_from(arg).ok().filter(|&i| i < 4) {
                Some(i) => (
                    ArgVal::Conversion { conversion: (i > 0).then_some(CONVERSIONS[i]), with_format: None },
                    CONVERSIONS[i].to_owned(),
                ),
                None => (ArgVal::Int(arg), String::new()),
            },
            ArgKind::FunctionFlags => {
                let names: Vec<&str> = table
                    .function_flags
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| arg & (1 << i) != 0)
                    .map(|(_, n)| *n)
                    .collect();
                (ArgVal::Int(arg), names.join(", "))
            }
            ArgKind::BinaryOp => {
                let text = usize::try_from(arg)
                    .ok()
                    .and_then(|i| table.nb_ops.get(i))
                    .map_or_else(|| format!("<{arg}>"), |(_, symbol)| (*symbol).to_owned());
                (ArgVal::Int(arg), text)
            }
            ArgKind::Intrinsic1 => (ArgVal::Int(arg), Self::listed(table.intrinsic_1, arg)),
            ArgKind::Intrinsic2 => (ArgVal::Int(arg), Self::listed(table.intrinsic_2, arg)),
            ArgKind::ImportName => {
                let (val, text) = self.name(arg >> 2);
                let mark = if arg & 1 != 0 {
                    " + lazy"
                } else if arg & 2 != 0 {
                    " + eager"
                } else {
                    ""
                };
                if text.is_empty() { (val, text) } else { (val, format!("{text}{mark}")) }
            }
            ArgKind::CommonConstant => {
                let text = Self::listed(table.common_constants, arg);
                match usize::try_from(arg).ok().filter(|&i| i < table.common_constants.len()) {
                    Some(i) if self.view.version >= v(3, 15) => (ArgVal::Common(i), text),
                    _ => (ArgVal::Int(arg), text),
                }
            }
            ArgKind::SpecialMethod => (ArgVal::Int(arg), Self::listed(table.special_method_names, arg)),
            ArgKind::IsOp => (ArgVal::Int(arg), if arg != 0 { "is not" } else { "is" }.to_owned()),
            ArgKind::ContainsOp => (ArgVal::Int(arg), if arg != 0 { "not in" } else { "in" }.to_owned()),
        }
    }
}

/// Decodes one code object.
pub fn decode<'a>(view: CodeView<'a>, refs: &'a RefTable<'a>, options: DecodeOptions) -> Result<Decoded<'a>, DisError> {
    let version = view.version;
    let table = pycache_opcode::for_version(version).ok_or(DisError::NoTable(version))?;
    let info = line_info(&view)?;
    let exception_table = if version >= v(3, 11) {
        exceptions::parse(view.exceptiontable)
            .map_err(|source| DisError::ExceptionTable { qualname: view.qualname.clone(), source })?
    } else {
        Vec::new()
    };
    let raws = unpack(table, view.bytecode);
    let resolver = Resolver { view: &view, table, repr: Repr { refs, version } };

    // Jump targets, then the label sets of each version.
    let targets: Vec<Option<i64>> = raws
        .iter()
        .map(|raw| {
            let op = table.deopt(u16::from(raw.op))?;
            table.jump_target(op, raw.arg?, i64::from(raw.offset))
        })
        .collect();
    let mut jump_labels: BTreeSet<i64> = targets.iter().flatten().copied().collect();
    let mut labels = BTreeMap::new();
    if version >= v(3, 13) {
        let mut all = jump_labels.clone();
        for entry in &exception_table {
            for at in [entry.start, entry.end, entry.target] {
                all.insert(at as i64);
            }
        }
        for (i, at) in all.iter().enumerate() {
            if let Ok(at) = u32::try_from(*at) {
                labels.insert(at, i + 1);
            }
        }
    } else if version >= v(3, 11) {
        for entry in exception_table.iter().filter(|e| e.start < e.end) {
            jump_labels.insert(entry.target as i64);
        }
    }

    let starts: BTreeMap<u32, Option<u32>> = info.starts.iter().copied().collect();
    let line_at = |offset: u32| -> Option<u32> {
        let index = info.ranges.partition_point(|r| r.end <= offset);
        info.ranges.get(index).filter(|r| r.start <= offset).and_then(|r| r.line)
    };
    let cache_op = table.number("CACHE").unwrap_or(0);
    let mut instructions = Vec::with_capacity(raws.len());
    for (raw, target) in raws.iter().zip(&targets) {
        let op = table.deopt(u16::from(raw.op));
        let (argval, mut argrepr) = match (op, raw.arg) {
            (Some(op), Some(arg)) => resolver.resolve(op, arg),
            (None, Some(arg)) => (ArgVal::Int(arg), String::new()),
            (_, None) => (ArgVal::None, String::new()),
        };
        let argval = match target {
            Some(target) => ArgVal::Int(*target),
            None => argval,
        };
        if let (Some(op), Some(target)) = (op, target)
            && let ArgKind::Jump { shown: true } = table.arg_kind(op)
        {
            argrepr = if version >= v(3, 13) {
                let word = if op.name == "END_ASYNC_FOR" { "from" } else { "to" };
                match u32::try_from(*target).ok().and_then(|t| labels.get(&t)) {
                    Some(label) => format!("{word} L{label}"),
                    None => format!("{word} {target}"),
                }
            } else {
                format!("to {target}")
            };
        }
        let unit = (raw.offset / 2) as usize;
        let positions = info.positions.as_ref().map(|p| p.get(unit).copied().unwrap_or_default());
        let label = labels.get(&raw.offset).copied();
        instructions.push(Instruction {
            offset: raw.offset,
            start_offset: raw.start_offset,
            opcode: u16::from(raw.op),
            opname: table.opname(u16::from(raw.op)),
            arg: raw.arg,
            argval,
            argrepr,
            line: line_at(raw.offset),
            starts_line: starts.contains_key(&raw.offset),
            is_jump_target: if version >= v(3, 13) {
                label.is_some()
            } else {
                jump_labels.contains(&i64::from(raw.offset))
            },
            label,
            jump_target: *target,
            positions,
            is_cache: false,
        });
        let Some(op) = op.filter(|op| op.cache_entries > 0 && options.show_caches) else { continue };
        let mut offset = raw.offset;
        for field in table.cache_format(op.name) {
            for i in 0..field.size {
                offset += 2;
                let at = offset as usize;
                let argrepr = if i == 0 && version >= v(3, 12) {
                    let data = view.bytecode.get(at..at + 2 * usize::from(field.size)).unwrap_or_default();
                    let value = data.iter().rev().fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
                    format!("{}: {value}", field.name)
                } else {
                    String::new()
                };
                let positions = if version >= v(3, 13) {
                    positions
                } else {
                    info.positions.as_ref().map(|p| p.get((offset / 2) as usize).copied().unwrap_or_default())
                };
                instructions.push(Instruction {
                    offset,
                    start_offset: offset,
                    opcode: cache_op,
                    opname: "CACHE".to_owned(),
                    arg: Some(0),
                    argval: ArgVal::None,
                    argrepr,
                    line: None,
                    starts_line: false,
                    is_jump_target: false,
                    label: None,
                    jump_target: None,
                    positions,
                    is_cache: true,
                });
            }
        }
    }
    Ok(Decoded { view, instructions, line_starts: info.starts, line_ranges: info.ranges, exception_table, labels })
}

impl Decoded<'_> {
    /// The constant an instruction's argval names, if any.
    pub fn constant(&self, argval: &ArgVal) -> Option<&Object> {
        match argval {
            ArgVal::Const(i) => self.view.consts.get(*i).copied(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use pycache_marshal::{Builder, Format, Object, RefTable};

    use super::*;
    use crate::testutil::code;

    fn decoded_ops(version: PyVersion, object: &Object, show_caches: bool) -> Vec<(u32, String, Option<i64>, String)> {
        let refs = RefTable::new(object).unwrap();
        let view = CodeView::new(object.as_code().unwrap(), &refs, version, None).unwrap();
        let d = decode(view, &refs, DecodeOptions { show_caches }).unwrap();
        d.instructions.into_iter().map(|i| (i.offset, i.opname, i.arg, i.argrepr)).collect()
    }

    #[test]
    fn python27_has_one_and_three_byte_instructions() {
        let version = v(2, 7);
        let b = Builder::new(Format::for_version(version).unwrap());
        // LOAD_CONST 0; EXTENDED_ARG 1; JUMP_ABSOLUTE 3 (folded: 0x10003); RETURN_VALUE
        let bytecode = [100, 0, 0, 145, 1, 0, 113, 3, 0, 83];
        let object = code(version, &bytecode, vec![b.int(7)], &[], &[], &[], &[]);
        let ops = decoded_ops(version, &object, false);
        assert_eq!(ops[0], (0, "LOAD_CONST".to_owned(), Some(0), "7".to_owned()));
        assert_eq!(ops[1].2, Some(1));
        assert_eq!(ops[2], (6, "JUMP_ABSOLUTE".to_owned(), Some(0x10003), String::new()));
        assert_eq!(ops[3].0, 9);
    }

    #[test]
    fn extended_arg_survives_argless_instructions_before_310() {
        // EXTENDED_ARG 1; NOP (no argument); LOAD_CONST 0.
        let make = |version: PyVersion| {
            let b = Builder::new(Format::for_version(version).unwrap());
            let (ext, nop, load_const) = {
                let t = pycache_opcode::for_version(version).unwrap();
                (t.extended_arg, t.number("NOP").unwrap() as u8, t.number("LOAD_CONST").unwrap() as u8)
            };
            let consts = (0..300).map(|i| b.int(i)).collect();
            let object = code(version, &[ext, 1, nop, 0, load_const, 0], consts, &[], &[], &[], &[]);
            decoded_ops(version, &object, false)[2].clone()
        };
        assert_eq!(make(v(3, 7)).2, Some(256));
        assert_eq!(make(v(3, 7)).3, "256");
        assert_eq!(make(v(3, 11)).2, Some(0));
    }

    #[test]
    fn caches_are_skipped_or_listed_and_jumps_land_after_them() {
        let version = v(3, 12);
        let t = pycache_opcode::for_version(version).unwrap();
        let op = |name: &str| t.number(name).unwrap() as u8;
        // LOAD_GLOBAL 1 (4 caches); POP_JUMP_IF_FALSE 0 (no cache in 3.12); RETURN_CONST 0.
        let bytecode =
            [op("LOAD_GLOBAL"), 1, 0, 0, 0, 0, 0, 0, 0, 0, op("POP_JUMP_IF_FALSE"), 0, op("RETURN_CONST"), 0];
        let b = Builder::new(Format::for_version(version).unwrap());
        let object = code(version, &bytecode, vec![Object::none()], &["print"], &[], &[], &[]);
        let ops = decoded_ops(version, &object, false);
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[0].3, "NULL + print");
        assert_eq!(ops[1], (10, "POP_JUMP_IF_FALSE".to_owned(), Some(0), "to 12".to_owned()));
        let with_caches = decoded_ops(version, &object, true);
        assert_eq!(with_caches.len(), 7);
        assert_eq!(with_caches[1], (2, "CACHE".to_owned(), Some(0), "counter: 0".to_owned()));
        let _ = b;
    }

    #[test]
    fn thirteen_labels_jumps_and_exception_ranges() {
        let version = v(3, 13);
        let t = pycache_opcode::for_version(version).unwrap();
        let op = |name: &str| t.number(name).unwrap() as u8;
        // NOP; JUMP_FORWARD 1 -> 6; NOP; RETURN_VALUE; handler range 0..2 -> 6.
        let bytecode = [op("NOP"), 0, op("JUMP_FORWARD"), 1, op("NOP"), 0, op("RETURN_VALUE"), 0];
        let object = code(version, &bytecode, vec![], &[], &[], &[], &[0x80, 1, 3, 0]);
        let refs = RefTable::new(&object).unwrap();
        let view = CodeView::new(object.as_code().unwrap(), &refs, version, None).unwrap();
        let d = decode(view, &refs, DecodeOptions::default()).unwrap();
        // Labels: 0 (range start), 2 (range end), 6 (jump and handler).
        assert_eq!(d.labels.keys().copied().collect::<Vec<_>>(), vec![0, 2, 6]);
        assert_eq!(d.instructions[1].argrepr, "to L3");
        assert_eq!(d.exception_table[0].target, 6);
    }

    #[test]
    fn fifteen_resume_cache_import_flags_and_common_constants() {
        let version = v(3, 15);
        let t = pycache_opcode::for_version(version).unwrap();
        let op = |name: &str| t.number(name).unwrap() as u8;
        // RESUME 0 (one cache entry); IMPORT_NAME os + lazy, sys + eager, re;
        // LOAD_COMMON_CONSTANT None, list, a number past the table; GET_ITER 3
        // (one cache entry); RETURN_VALUE.
        let bytecode = [
            op("RESUME"),
            0,
            0,
            0,
            op("IMPORT_NAME"),
            1,
            op("IMPORT_NAME"),
            (1 << 2) | 2,
            op("IMPORT_NAME"),
            2 << 2,
            op("LOAD_COMMON_CONSTANT"),
            7,
            op("LOAD_COMMON_CONSTANT"),
            5,
            op("LOAD_COMMON_CONSTANT"),
            40,
            op("GET_ITER"),
            3,
            0,
            0,
            op("RETURN_VALUE"),
            0,
        ];
        let object = code(version, &bytecode, vec![], &["os", "sys", "re"], &[], &[], &[]);
        let refs = RefTable::new(&object).unwrap();
        let view = CodeView::new(object.as_code().unwrap(), &refs, version, None).unwrap();
        let d = decode(view, &refs, DecodeOptions::default()).unwrap();
        let ops: Vec<(u32, &str, &str)> =
            d.instructions.iter().map(|i| (i.offset, i.opname.as_str(), i.argrepr.as_str())).collect();
        assert_eq!(
            ops,
            [
                (0, "RESUME", ""),
                (4, "IMPORT_NAME", "os + lazy"),
                (6, "IMPORT_NAME", "sys + eager"),
                (8, "IMPORT_NAME", "re"),
                (10, "LOAD_COMMON_CONSTANT", "None"),
                (12, "LOAD_COMMON_CONSTANT", "list"),
                (14, "LOAD_COMMON_CONSTANT", "<40>"),
                (16, "GET_ITER", ""),
                (20, "RETURN_VALUE", ""),
            ]
        );
        assert_eq!(d.instructions[1].argval, ArgVal::Text("os".to_owned()));
        assert_eq!(d.instructions[4].argval, ArgVal::Common(7));
        assert_eq!(d.instructions[6].argval, ArgVal::Int(40));
        let json = crate::json::argval(&d, &refs, &d.instructions[4].argval);
        assert_eq!(json, serde_json::Value::Null);
        assert_eq!(crate::json::argval(&d, &refs, &d.instructions[5].argval), serde_json::json!({ "name": "list" }));
        // With caches shown, RESUME's and GET_ITER's entries are listed.
        let shown = decode(
            CodeView::new(object.as_code().unwrap(), &refs, version, None).unwrap(),
            &refs,
            DecodeOptions { show_caches: true },
        )
        .unwrap();
        assert_eq!(shown.instructions[1].opname, "CACHE");
        assert_eq!(shown.instructions[1].argrepr, "counter: 0");
    }

    #[test]
    fn fourteen_common_constants_are_numbers_and_imports_plain() {
        let version = v(3, 14);
        let t = pycache_opcode::for_version(version).unwrap();
        let op = |name: &str| t.number(name).unwrap() as u8;
        let bytecode = [op("IMPORT_NAME"), 1, op("LOAD_COMMON_CONSTANT"), 2, op("RETURN_VALUE"), 0];
        let object = code(version, &bytecode, vec![], &["os", "sys"], &[], &[], &[]);
        let refs = RefTable::new(&object).unwrap();
        let view = CodeView::new(object.as_code().unwrap(), &refs, version, None).unwrap();
        let d = decode(view, &refs, DecodeOptions::default()).unwrap();
        assert_eq!(d.instructions[0].argrepr, "sys");
        assert_eq!((&d.instructions[1].argval, d.instructions[1].argrepr.as_str()), (&ArgVal::Int(2), "tuple"));
    }
}
