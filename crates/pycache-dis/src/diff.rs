//! How two caches differ: the header fields, then for each code object the
//! first field that differs, in the order bytecode, constants, names,
//! variables, counts and flags, names of the code, line table, exception
//! table; or, when every field agrees,
//! whether only marshal's reference flags (and interning marks) differ.
//!
//! Caches of two Python versions are compared by meaning, not by number:
//! instructions by name and argument (opcode numbers, inline caches and so
//! offsets change between versions), jumps and exception table entries by
//! the instruction they reach, line tables by the line and position of each
//! instruction.
//!
//! `pycache diff` prints a [`Report`]; a check of a native compiler
//! against the interpreter can call [`compare_code`] on two trees.

use std::collections::{HashMap, HashSet};

use pycache_marshal::{CompareOptions, Pyc, RefTable, difference};
use pycache_pyc::{Header, PyVersion, Validation};
use serde::Serialize;

use crate::decode::{DecodeOptions, Decoded, Instruction, decode};
use crate::error::DisError;
use crate::pyrepr::Repr;
use crate::view::CodeView;
use crate::{code_views, exceptions};

/// A header field that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderDifference {
    pub field: &'static str,
    pub left: String,
    pub right: String,
}

/// The first difference found in one code object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeDifference {
    /// The qualified name (see [`crate::code_views`]); `#2` and so on
    /// when several code objects share it.
    pub qualname: String,
    /// `bytecode`, `consts`, `names`, `varnames`, `cellvars`, `freevars`,
    /// `line table`, `exception table`, a co_ field name, or `missing`.
    pub field: String,
    /// The bytecode offset the difference is at, where there is one.
    pub offset: Option<u32>,
    pub left: String,
    pub right: String,
}

/// What differs between two caches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The files are byte for byte the same.
    pub identical: bool,
    pub header: Vec<HeaderDifference>,
    pub code: Vec<CodeDifference>,
    /// Every field of every code object agrees and the bodies differ only
    /// in marshal's reference flags and interning marks (which follow
    /// reference counts in the writing process).
    pub flags_only: bool,
    /// A difference the fields above do not explain: where the marshal
    /// trees part, or trailing data.
    pub other: Option<String>,
}

impl Report {
    pub fn is_identical(&self) -> bool {
        self.identical
    }
}

fn header_fields(header: &Header) -> Vec<(&'static str, String)> {
    let version = header.magic.version().map_or_else(|| "unknown".to_owned(), |v| v.to_string());
    let mut fields =
        vec![("magic", format!("{} (Python {version})", header.magic.number())), ("flags", header.flags.to_string())];
    match header.validation {
        Validation::Timestamp { mtime, source_size } => {
            fields.push(("invalidation", "timestamp".to_owned()));
            fields.push(("mtime", mtime.to_string()));
            if let Some(size) = source_size {
                fields.push(("source size", size.to_string()));
            }
        }
        Validation::Hash { check_source, hash } => {
            fields.push(("invalidation", if check_source { "checked hash" } else { "unchecked hash" }.to_owned()));
            fields.push(("source hash", hash.iter().map(|b| format!("{b:02x}")).collect()));
        }
    }
    fields
}

/// The header fields that differ, by name.
pub fn compare_headers(left: &Header, right: &Header) -> Vec<HeaderDifference> {
    let (l, r) = (header_fields(left), header_fields(right));
    let mut out = Vec::new();
    for (field, value) in &l {
        let other = r.iter().find(|(f, _)| f == field).map_or("(none)", |(_, v)| v.as_str());
        if other != value {
            out.push(HeaderDifference { field, left: value.clone(), right: other.to_owned() });
        }
    }
    for (field, value) in &r {
        if !l.iter().any(|(f, _)| f == field) {
            out.push(HeaderDifference { field, left: "(none)".to_owned(), right: value.clone() });
        }
    }
    out
}

/// Compares two read caches. `left_bytes` and `right_bytes` are the files
/// they came from, for the byte comparison.
pub fn compare_pycs(left: &Pyc, left_bytes: &[u8], right: &Pyc, right_bytes: &[u8]) -> Result<Report, DisError> {
    let identical = left_bytes == right_bytes;
    let header = compare_headers(&left.header, &right.header);
    if identical {
        return Ok(Report { identical, header, code: Vec::new(), flags_only: false, other: None });
    }
    let left_refs = RefTable::new(&left.code)?;
    let right_refs = RefTable::new(&right.code)?;
    let code = compare_code(
        (&left.code, &left_refs, left.format.version()),
        (&right.code, &right_refs, right.format.version()),
    )?;
    let mut flags_only = false;
    let mut other = None;
    let left_body = left_bytes.get(left.header.len()..).unwrap_or_default();
    let right_body = right_bytes.get(right.header.len()..).unwrap_or_default();
    if left.trailing != right.trailing {
        other =
            Some(format!("{} trailing bytes after the code object vs {}", left.trailing.len(), right.trailing.len()));
    } else if code.is_empty() && left.format.version() != right.format.version() {
        other = Some(
            "the same code in each version's own encoding: every instruction, argument, line, position and \
             exception handler agrees"
                .to_owned(),
        );
    } else if code.is_empty() && left_body != right_body {
        let loose = CompareOptions { ignore_interning: true, ..CompareOptions::default() };
        match difference(&left.code, &right.code, loose)? {
            None => flags_only = true,
            Some(diff) => other = Some(format!("marshal trees differ at {diff}")),
        }
    }
    Ok(Report { identical, header, code, flags_only, other })
}

type Side<'a> = (&'a pycache_marshal::Object, &'a RefTable<'a>, PyVersion);

/// The first difference of each code object of two module trees, paired
/// by qualified name.
pub fn compare_code(left: Side<'_>, right: Side<'_>) -> Result<Vec<CodeDifference>, DisError> {
    let left_views = keyed(code_views(left.0, left.1, left.2)?);
    let right_views = keyed(code_views(right.0, right.1, right.2)?);
    // Keys are unique (repeats get `#n`); looked up by hash, since a cache
    // can hold a hundred thousand code objects.
    let left_keys: HashSet<&str> = left_views.iter().map(|(k, _)| k.as_str()).collect();
    let right_by_key: HashMap<&str, &CodeView<'_>> = right_views.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut out = Vec::new();
    for (key, view) in &left_views {
        match right_by_key.get(key.as_str()) {
            Some(other) => {
                if let Some(diff) = compare_one(key, view.clone(), left.1, (*other).clone(), right.1)? {
                    out.push(diff);
                }
            }
            None => out.push(CodeDifference {
                qualname: key.clone(),
                field: "missing".to_owned(),
                offset: None,
                left: "present".to_owned(),
                right: "absent".to_owned(),
            }),
        }
    }
    for (key, _) in &right_views {
        if !left_keys.contains(key.as_str()) {
            out.push(CodeDifference {
                qualname: key.clone(),
                field: "missing".to_owned(),
                offset: None,
                left: "absent".to_owned(),
                right: "present".to_owned(),
            });
        }
    }
    Ok(out)
}

/// Views keyed by qualname, with `#n` for repeats.
fn keyed(views: Vec<CodeView<'_>>) -> Vec<(String, CodeView<'_>)> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    views
        .into_iter()
        .map(|view| {
            let count = seen.entry(view.qualname.clone()).or_default();
            *count += 1;
            let key = if *count == 1 { view.qualname.clone() } else { format!("{}#{count}", view.qualname) };
            (key, view)
        })
        .collect()
}

fn instruction_text(instr: Option<&Instruction>) -> String {
    match instr {
        None => "(end of code)".to_owned(),
        Some(i) => {
            let mut text = i.opname.clone();
            if let Some(arg) = i.arg {
                text.push_str(&format!(" {arg}"));
            }
            if !i.argrepr.is_empty() {
                text.push_str(&format!(" ({})", i.argrepr));
            }
            text
        }
    }
}

fn compare_one<'a>(
    key: &str,
    left: CodeView<'a>,
    left_refs: &'a RefTable<'a>,
    right: CodeView<'a>,
    right_refs: &'a RefTable<'a>,
) -> Result<Option<CodeDifference>, DisError> {
    let found = |field: &str, offset: Option<u32>, l: String, r: String| {
        Ok(Some(CodeDifference { qualname: key.to_owned(), field: field.to_owned(), offset, left: l, right: r }))
    };
    let ints = |v: &CodeView<'_>| {
        [
            ("co_argcount", i64::from(v.argcount)),
            ("co_posonlyargcount", i64::from(v.posonlyargcount)),
            ("co_kwonlyargcount", i64::from(v.kwonlyargcount)),
            ("co_nlocals", i64::from(v.nlocals)),
            ("co_stacksize", i64::from(v.stacksize)),
            ("co_flags", i64::from(v.flags)),
        ]
    };
    let options = DecodeOptions::default();
    let l = decode(left, left_refs, options)?;
    let r = decode(right, right_refs, options)?;
    // One version: one opcode table, so the bytes themselves compare.
    let same_version = l.view.version == r.view.version;
    let difference = if same_version { bytecode_difference(&l, &r) } else { instruction_difference(&l, &r) };
    if let Some(diff) = difference {
        return found("bytecode", diff.0, diff.1, diff.2);
    }
    if same_version && l.view.bytecode != r.view.bytecode {
        let at = l.view.bytecode.iter().zip(r.view.bytecode).position(|(a, b)| a != b);
        return found(
            "bytecode",
            at.map(|a| a as u32),
            bytes(l.view.bytecode.len()),
            format!("{} (inline cache contents differ)", bytes(r.view.bytecode.len())),
        );
    }
    let (lrepr, rrepr) =
        (Repr { refs: left_refs, version: l.view.version }, Repr { refs: right_refs, version: r.view.version });
    let const_text = |repr: &Repr<'a>, c: Option<&&'a pycache_marshal::Object>| match c {
        None => "(none)".to_owned(),
        Some(c) if c.as_code().is_some() => "<code object>".to_owned(),
        Some(c) => repr.repr(c),
    };
    let count = l.view.consts.len().max(r.view.consts.len());
    for i in 0..count {
        let (a, b) = (const_text(&lrepr, l.view.consts.get(i)), const_text(&rrepr, r.view.consts.get(i)));
        let same_type = match (l.view.consts.get(i), r.view.consts.get(i)) {
            (Some(x), Some(y)) => std::mem::discriminant(&x.value) == std::mem::discriminant(&y.value),
            _ => false,
        };
        if a != b || !same_type {
            return found(&format!("consts[{i}]"), None, a, b);
        }
    }
    let lists = [
        ("names", &l.view.names, &r.view.names),
        ("varnames", &l.view.varnames, &r.view.varnames),
        ("cellvars", &l.view.cellvars, &r.view.cellvars),
        ("freevars", &l.view.freevars, &r.view.freevars),
    ];
    for (field, a, b) in lists {
        if a != b {
            return found(field, None, format!("{a:?}"), format!("{b:?}"));
        }
    }
    if l.view.localsplus != r.view.localsplus {
        return found("localspluskinds", None, format!("{:?}", l.view.localsplus), format!("{:?}", r.view.localsplus));
    }
    for ((field, l), (_, r)) in ints(&l.view).into_iter().zip(ints(&r.view)) {
        if l != r {
            return found(field, None, l.to_string(), r.to_string());
        }
    }
    let texts = [
        ("co_name", &l.view.name, &r.view.name),
        ("co_qualname", &l.view.qualname, &r.view.qualname),
        ("co_filename", &l.view.filename, &r.view.filename),
    ];
    for (field, a, b) in texts {
        if a != b {
            return found(field, None, a.clone(), b.clone());
        }
    }
    if l.view.firstlineno != r.view.firstlineno {
        return found("co_firstlineno", None, l.view.firstlineno.to_string(), r.view.firstlineno.to_string());
    }
    if l.view.linetable != r.view.linetable {
        for (a, b) in l.instructions.iter().zip(&r.instructions) {
            // From 3.13 a stretch without a line starts too; other versions
            // agree only on the starts of lines.
            let starts_differ = if same_version {
                a.starts_line != b.starts_line
            } else {
                a.line.is_some() && a.starts_line != b.starts_line
            };
            if a.line != b.line || starts_differ {
                return found("line table", Some(a.offset), line_text(a), line_text(b));
            }
            if a.positions != b.positions {
                return found("line table", Some(a.offset), positions_text(a), positions_text(b));
            }
        }
        // Other versions encode the same lines at other offsets.
        if !same_version {
            return Ok(exception_difference(&l, &r).map(|(field, l, r)| CodeDifference {
                qualname: key.to_owned(),
                field,
                offset: None,
                left: l,
                right: r,
            }));
        }
        return found(
            "line table",
            None,
            bytes(l.view.linetable.len()),
            format!("{} (same lines for every instruction)", bytes(r.view.linetable.len())),
        );
    }
    if !same_version {
        return Ok(exception_difference(&l, &r).map(|(field, l, r)| CodeDifference {
            qualname: key.to_owned(),
            field,
            offset: None,
            left: l,
            right: r,
        }));
    }
    if l.view.exceptiontable != r.view.exceptiontable {
        let entry = |e: Option<&exceptions::ExceptionEntry>| match e {
            None => "(none)".to_owned(),
            Some(e) => format!(
                "{} to {} -> {} [{}]{}",
                e.start,
                e.end as i64 - 2,
                e.target,
                e.depth,
                if e.lasti { " lasti" } else { "" }
            ),
        };
        let count = l.exception_table.len().max(r.exception_table.len());
        for i in 0..count {
            let (a, b) = (l.exception_table.get(i), r.exception_table.get(i));
            if a != b {
                return found(&format!("exception table entry {i}"), None, entry(a), entry(b));
            }
        }
        return found("exception table", None, "bytes differ".to_owned(), "bytes differ".to_owned());
    }
    Ok(None)
}

fn line_text(instr: &Instruction) -> String {
    let line = instr.line.map_or_else(|| "no line".to_owned(), |l| format!("line {l}"));
    format!("{line}{}", if instr.starts_line { " (starts)" } else { "" })
}

fn positions_text(instr: &Instruction) -> String {
    match instr.positions {
        None => "no positions".to_owned(),
        Some(p) => {
            let show = |v: Option<u32>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
            format!("{}:{} to {}:{}", show(p.lineno), show(p.col_offset), show(p.end_lineno), show(p.end_col_offset))
        }
    }
}

fn bytes(n: usize) -> String {
    format!("{n} {}", if n == 1 { "byte" } else { "bytes" })
}

/// Where each instruction starts, in bytes, in order.
fn starts(decoded: &Decoded<'_>) -> Vec<u64> {
    decoded.instructions.iter().map(|i| u64::from(i.offset)).collect()
}

/// An offset as the number of instructions before it: the same place in
/// two versions' code whose instructions have different sizes.
fn index_of(starts: &[u64], offset: u64) -> usize {
    starts.partition_point(|s| *s < offset)
}

/// What an instruction does, in terms that hold across versions: its name,
/// and for a jump the instruction it reaches, else its argument as `dis`
/// shows it (the raw number where `dis` shows none).
#[derive(PartialEq, Eq)]
enum Meaning<'a> {
    Jump(&'a str, Option<usize>),
    Shown(&'a str, &'a str),
    Raw(&'a str, Option<i64>),
}

fn meaning<'a>(instr: &'a Instruction, starts: &[u64]) -> Meaning<'a> {
    match instr.jump_target {
        Some(target) => {
            let index = u64::try_from(target).ok().and_then(|t| starts.binary_search(&t).ok());
            Meaning::Jump(&instr.opname, index)
        }
        None if !instr.argrepr.is_empty() => Meaning::Shown(&instr.opname, &instr.argrepr),
        None => Meaning::Raw(&instr.opname, instr.arg),
    }
}

/// The first instruction that differs between two versions' code, by name
/// and meaning; the offset is the left one's.
fn instruction_difference(l: &Decoded<'_>, r: &Decoded<'_>) -> Option<(Option<u32>, String, String)> {
    let (left_starts, right_starts) = (starts(l), starts(r));
    let count = l.instructions.len().max(r.instructions.len());
    for i in 0..count {
        let (a, b) = (l.instructions.get(i), r.instructions.get(i));
        let same = match (a, b) {
            (Some(a), Some(b)) => meaning(a, &left_starts) == meaning(b, &right_starts),
            _ => false,
        };
        if !same {
            let offset = a.or(b).map(|i| i.offset);
            return Some((offset, instruction_text(a), instruction_text(b)));
        }
    }
    None
}

/// The first exception table entry that differs between two versions'
/// code, with its bounds and target counted in instructions.
fn exception_difference(l: &Decoded<'_>, r: &Decoded<'_>) -> Option<(String, String, String)> {
    let (left_starts, right_starts) = (starts(l), starts(r));
    let entry = |e: Option<&exceptions::ExceptionEntry>, starts: &[u64]| {
        e.map(|e| (index_of(starts, e.start), index_of(starts, e.end), index_of(starts, e.target), e.depth, e.lasti))
    };
    let text = |e: Option<(usize, usize, usize, u64, bool)>| match e {
        None => "(none)".to_owned(),
        Some((start, end, target, depth, lasti)) => format!(
            "instructions {start} to {} -> instruction {target} [{depth}]{}",
            end.saturating_sub(1),
            if lasti { " lasti" } else { "" }
        ),
    };
    let count = l.exception_table.len().max(r.exception_table.len());
    (0..count).find_map(|i| {
        let a = entry(l.exception_table.get(i), &left_starts);
        let b = entry(r.exception_table.get(i), &right_starts);
        (a != b).then(|| (format!("exception table entry {i}"), text(a), text(b)))
    })
}

/// The first instruction whose opname or argument differs.
fn bytecode_difference(l: &Decoded<'_>, r: &Decoded<'_>) -> Option<(Option<u32>, String, String)> {
    let count = l.instructions.len().max(r.instructions.len());
    for i in 0..count {
        let (a, b) = (l.instructions.get(i), r.instructions.get(i));
        let same = match (a, b) {
            (Some(a), Some(b)) => a.offset == b.offset && a.opname == b.opname && a.arg == b.arg,
            _ => false,
        };
        if !same {
            let offset = a.or(b).map(|i| i.offset);
            return Some((offset, instruction_text(a), instruction_text(b)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use pycache_marshal::{Builder, Format, Object, RefTable};

    use super::*;
    use crate::testutil::code;

    fn compare(a: &Object, b: &Object, version: PyVersion) -> Vec<CodeDifference> {
        let (ra, rb) = (RefTable::new(a).unwrap(), RefTable::new(b).unwrap());
        compare_code((a, &ra, version), (b, &rb, version)).unwrap()
    }

    #[test]
    fn regression_many_code_objects_pair_by_hash() {
        // Found reading the code after fuzzing: pairing code objects by
        // name scanned the other side's list for each one, quadratic in
        // their number (this test took 33 s in a debug build, 3 s now).
        let version = PyVersion::new(3, 12);
        let function = code(version, &[], vec![Object::none()], &[], &[], &[], &[]);
        let module = |last: i64| {
            let mut consts = vec![function.clone(); 30_000];
            consts.push(code(
                version,
                &[],
                vec![Builder::new(Format::for_version(version).unwrap()).int(last)],
                &[],
                &[],
                &[],
                &[],
            ));
            code(version, &[], consts, &[], &[], &[], &[])
        };
        let (a, b) = (module(1), module(2));
        assert!(compare(&a, &a, version).is_empty());
        let differences = compare(&a, &b, version);
        // The module is `f` too (every test code object is), so the last
        // function is the 30002nd `f`.
        assert_eq!(differences.len(), 1);
        assert_eq!((differences[0].qualname.as_str(), differences[0].field.as_str()), ("f#30002", "consts[0]"));
    }

    #[test]
    fn first_difference_by_field() {
        let version = PyVersion::new(3, 12);
        let b = Builder::new(Format::for_version(version).unwrap());
        let t = pycache_opcode::for_version(version).unwrap();
        let (load, ret) = (t.number("LOAD_CONST").unwrap() as u8, t.number("RETURN_VALUE").unwrap() as u8);
        let base = code(version, &[load, 0, ret, 0], vec![b.int(1)], &["x"], &[], &[], &[]);
        assert!(compare(&base, &base, version).is_empty());
        let other_const = code(version, &[load, 0, ret, 0], vec![b.int(2)], &["x"], &[], &[], &[]);
        let diffs = compare(&base, &other_const, version);
        assert_eq!((diffs[0].field.as_str(), diffs[0].left.as_str(), diffs[0].right.as_str()), ("consts[0]", "1", "2"));
        let other_code = code(version, &[load, 0, load, 0, ret, 0], vec![b.int(1)], &["x"], &[], &[], &[]);
        let diffs = compare(&base, &other_code, version);
        assert_eq!((diffs[0].field.as_str(), diffs[0].offset), ("bytecode", Some(2)));
        assert_eq!(diffs[0].left, "RETURN_VALUE");
        let other_names = code(version, &[load, 0, ret, 0], vec![b.int(1)], &["y"], &[], &[], &[]);
        assert_eq!(compare(&base, &other_names, version)[0].field, "names");
        let other_lines =
            code(version, &[load, 0, ret, 0], vec![b.int(1)], &["x"], &[], &[0x80 | (13 << 3) | 1, 2], &[]);
        assert_eq!(compare(&base, &other_lines, version)[0].field, "line table");
    }

    /// `RESUME 0; LOAD_CONST 0; POP_JUMP_IF_FALSE jump; RETURN_CONST 0;
    /// RETURN_CONST 0` in `version`'s numbers, with its inline caches.
    fn branch(version: PyVersion, jump: u8) -> Object {
        let t = pycache_opcode::for_version(version).unwrap();
        let mut bytecode = Vec::new();
        for (name, arg) in
            [("RESUME", 0), ("LOAD_CONST", 0), ("POP_JUMP_IF_FALSE", jump), ("RETURN_CONST", 0), ("RETURN_CONST", 0)]
        {
            let op = t.by_name(name).unwrap();
            bytecode.extend([t.number(name).unwrap() as u8, arg]);
            bytecode.extend(std::iter::repeat_n(0, 2 * usize::from(op.cache_entries)));
        }
        code(version, &bytecode, vec![Object::none()], &[], &[], &[], &[])
    }

    #[test]
    fn regression_versions_compare_instructions_by_name_not_number() {
        // Caches of two versions differed in every byte of co_code ("4 bytes
        // vs 4 bytes (inline cache contents differ)") where the code was the
        // same: opcode numbers and inline caches are each version's own.
        let (v12, v13) = (PyVersion::new(3, 12), PyVersion::new(3, 13));
        let (a, b) = (branch(v12, 1), branch(v13, 1));
        let (ra, rb) = (RefTable::new(&a).unwrap(), RefTable::new(&b).unwrap());
        // 3.13 has a cache entry after the jump, so its target is 2 bytes on.
        assert!(compare_code((&a, &ra, v12), (&b, &rb, v13)).unwrap().is_empty());
        // A jump to another instruction is a difference, at the jump.
        let other = branch(v13, 0);
        let ro = RefTable::new(&other).unwrap();
        let diffs = compare_code((&a, &ra, v12), (&other, &ro, v13)).unwrap();
        assert_eq!(diffs.len(), 1, "{diffs:?}");
        assert_eq!((diffs[0].field.as_str(), diffs[0].offset), ("bytecode", Some(4)));
        assert_eq!(diffs[0].left, "POP_JUMP_IF_FALSE 1 (to 8)");
        assert_eq!(diffs[0].right, "POP_JUMP_IF_FALSE 0 (to L1)");
    }

    #[test]
    fn headers_compare_field_by_field() {
        let magic = pycache_pyc::Magic::new(3531);
        let a = Header::timestamp(magic, 10, 5);
        let b = Header::hash(magic, [1; 8], true);
        let fields: Vec<&str> = compare_headers(&a, &b).iter().map(|d| d.field).collect();
        assert_eq!(fields, ["flags", "invalidation", "mtime", "source size", "source hash"]);
        assert!(compare_headers(&a, &a).is_empty());
    }
}
