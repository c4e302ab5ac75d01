//! Text as each version's `python -m dis` prints it, and `dis.code_info`.

use std::fmt::Write;

use pycache_marshal::RefTable;
use pycache_pyc::PyVersion;

use crate::decode::{Decoded, Instruction};
use crate::pyrepr::Repr;
use crate::view::{CodeView, pretty_flags};

#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// 3.13+: print offsets too (`python -m dis -O`); earlier versions
    /// always print them.
    pub show_offsets: bool,
}

const OPNAME_WIDTH: usize = 20;
const OPARG_WIDTH: usize = 5;

fn v(major: u8, minor: u8) -> PyVersion {
    PyVersion::new(major, minor)
}

/// The listing of one code object.
pub fn disassembly(decoded: &Decoded<'_>, options: TextOptions) -> String {
    let version = decoded.view.version;
    if version >= v(3, 13) { modern(decoded, options) } else { classic(decoded) }
}

/// Several code objects in [`crate::code_views`] order, each after the
/// first introduced as `dis` introduces nested code.
pub fn disassemble_all(decoded: &[Decoded<'_>], options: TextOptions) -> String {
    let mut out = String::new();
    for (i, code) in decoded.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            let _ = writeln!(out, "Disassembly of {}:", code_repr(&code.view));
        }
        out.push_str(&disassembly(code, options));
    }
    out
}

/// `repr(code)` without the address, which a cache does not have.
pub fn code_repr(view: &CodeView<'_>) -> String {
    format!("<code object {}, file \"{}\", line {}>", view.name, view.filename, view.firstlineno)
}

/// 2.7 to 3.12: line, current-instruction mark, `>>`, offset, opname,
/// argument, `(argrepr)`.
fn classic(decoded: &Decoded<'_>) -> String {
    let version = decoded.view.version;
    let python2 = version.major == 2;
    let code_len = decoded.view.bytecode.len();
    let max_line = decoded.line_starts.iter().filter_map(|(_, line)| *line).max();
    let show_lines = if version >= v(3, 10) { !decoded.line_starts.is_empty() } else { true };
    let line_width = match (show_lines, max_line) {
        (false, _) => 0,
        (true, Some(max)) if max >= 1000 && version >= v(3, 7) => max.to_string().len(),
        (true, _) => 3,
    };
    let max_offset = code_len.saturating_sub(2);
    let offset_width = if version >= v(3, 7) && max_offset >= 10000 { max_offset.to_string().len() } else { 4 };
    let mut out = String::new();
    for instr in &decoded.instructions {
        let starts = instr.starts_line && !instr.is_cache;
        if show_lines && starts && instr.offset > 0 {
            out.push('\n');
        }
        let mut fields: Vec<String> = Vec::new();
        if line_width > 0 {
            fields.push(match (starts, instr.line) {
                (true, Some(line)) => format!("{line:>line_width$}"),
                _ => " ".repeat(line_width),
            });
        }
        fields.push("   ".to_owned());
        fields.push(if instr.is_jump_target { ">>" } else { "  " }.to_owned());
        fields.push(format!("{:>offset_width$}", instr.offset));
        fields.push(format!("{:<OPNAME_WIDTH$}", instr.opname));
        if let Some(arg) = instr.arg {
            fields.push(format!("{arg:>OPARG_WIDTH$}"));
            if !instr.argrepr.is_empty() {
                fields.push(format!("({})", instr.argrepr));
            }
        }
        let line = fields.join(" ");
        // Python 2's print statement keeps the padding of a bare opname.
        let line = if python2 { line.trim_end_matches(|c| c == ' ' && instr.arg.is_some()) } else { line.trim_end() };
        out.push_str(line);
        out.push('\n');
    }
    if !decoded.exception_table.is_empty() {
        out.push_str("ExceptionTable:\n");
        for entry in &decoded.exception_table {
            let lasti = if entry.lasti { " lasti" } else { "" };
            let end = entry.end as i64 - 2;
            let _ = writeln!(out, "  {} to {end} -> {} [{}]{lasti}", entry.start, entry.target, entry.depth);
        }
    }
    out
}

/// 3.13+: labels instead of offsets and `>>`, `--` for lineless code.
fn modern(decoded: &Decoded<'_>, options: TextOptions) -> String {
    let max_line = decoded.line_starts.iter().filter_map(|(_, line)| *line).max();
    let line_width = match max_line {
        None => 0,
        Some(max) => {
            let width = max.to_string().len().max(3);
            if width < 4 && decoded.line_starts.iter().any(|(_, line)| line.is_none()) { 4 } else { width }
        }
    };
    let label_width = 4 + decoded.labels.len().to_string().len();
    let code_len = decoded.view.bytecode.len();
    let offset_width = if options.show_offsets { code_len.saturating_sub(2).max(9999).to_string().len() } else { 0 };
    let mut out = String::new();
    for instr in &decoded.instructions {
        instruction_line(&mut out, instr, line_width, label_width, offset_width);
    }
    if !decoded.exception_table.is_empty() {
        out.push_str("ExceptionTable:\n");
        let label = |at: u64| u32::try_from(at).ok().and_then(|a| decoded.labels.get(&a)).copied().unwrap_or(0);
        for entry in &decoded.exception_table {
            let lasti = if entry.lasti { " lasti" } else { "" };
            let _ = writeln!(
                out,
                "  L{} to L{} -> L{} [{}]{lasti}",
                label(entry.start),
                label(entry.end),
                label(entry.target),
                entry.depth
            );
        }
    }
    out
}

fn instruction_line(out: &mut String, instr: &Instruction, line_width: usize, label_width: usize, offset_width: usize) {
    if line_width > 0 && instr.starts_line && instr.offset > 0 {
        out.push('\n');
    }
    let mut fields: Vec<String> = Vec::new();
    if line_width > 0 {
        fields.push(match (instr.starts_line, instr.line) {
            (true, Some(line)) => format!("{line:>line_width$}"),
            (true, None) => format!("{:>line_width$}", "  --"),
            (false, _) => " ".repeat(line_width),
        });
    }
    match instr.label {
        Some(label) => fields.push(format!("{:>label_width$}", format!("L{label}:"))),
        None => fields.push(" ".repeat(label_width)),
    }
    if offset_width > 0 {
        fields.push(format!("{:>offset_width$}  ", instr.offset));
    }
    fields.push("   ".to_owned());
    fields.push(format!("{:<OPNAME_WIDTH$}", instr.opname));
    if let Some(arg) = instr.arg {
        let excess = instr.opname.chars().count().saturating_sub(OPNAME_WIDTH);
        let width = OPARG_WIDTH.saturating_sub(excess);
        fields.push(format!("{arg:>width$}"));
        if !instr.argrepr.is_empty() {
            fields.push(format!("({})", instr.argrepr));
        }
    }
    out.push_str(fields.join(" ").trim_end());
    out.push('\n');
}

/// `dis.code_info` of one code object.
pub fn code_info(view: &CodeView<'_>, refs: &RefTable<'_>) -> String {
    let repr = Repr { refs, version: view.version };
    let mut lines = vec![
        format!("Name:              {}", view.name),
        format!("Qualified name:    {}", view.qualname),
        format!("Filename:          {}", view.filename),
        format!("Argument count:    {}", view.argcount),
    ];
    if view.version >= v(3, 8) {
        lines.push(format!("Positional-only arguments: {}", view.posonlyargcount));
    }
    if view.version.major >= 3 {
        lines.push(format!("Kw-only arguments: {}", view.kwonlyargcount));
    }
    lines.push(format!("Number of locals:  {}", view.nlocals));
    lines.push(format!("Stack size:        {}", view.stacksize));
    lines.push(format!("Flags:             {}", pretty_flags(view.version, view.flags)));
    lines.push(format!("First line:        {}", view.firstlineno));
    let mut list = |title: &str, items: Vec<String>| {
        if !items.is_empty() {
            lines.push(format!("{title}:"));
            for (i, item) in items.into_iter().enumerate() {
                lines.push(format!("{i:>4}: {item}"));
            }
        }
    };
    list("Constants", view.consts.iter().map(|c| repr.repr(c)).collect());
    list("Names", view.names.clone());
    list("Variable names", view.varnames.clone());
    list("Free variables", view.freevars.clone());
    list("Cell variables", view.cellvars.clone());
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use pycache_marshal::{Builder, Format, RefTable};

    use super::*;
    use crate::decode::{DecodeOptions, decode};
    use crate::testutil::code;

    fn listing(version: PyVersion, bytecode: &[u8], lines: &[u8]) -> String {
        let b = Builder::new(Format::for_version(version).unwrap());
        let object = code(version, bytecode, vec![b.int(5)], &[], &[], lines, &[]);
        let refs = RefTable::new(&object).unwrap();
        let view = CodeView::new(object.as_code().unwrap(), &refs, version, None).unwrap();
        disassembly(&decode(view, &refs, DecodeOptions::default()).unwrap(), TextOptions::default())
    }

    #[test]
    fn python27_keeps_the_padding_of_bare_opnames() {
        // LOAD_CONST 0 on line 1, RETURN_VALUE on line 2.
        let text = listing(v(2, 7), &[100, 0, 0, 83], &[3, 1]);
        assert_eq!(text, "  1           0 LOAD_CONST               0 (5)\n\n  2           3 RETURN_VALUE        \n");
    }

    #[test]
    fn thirteen_marks_lineless_code() {
        let t = pycache_opcode::for_version(v(3, 13)).unwrap();
        let (nop, ret) = (t.number("NOP").unwrap() as u8, t.number("RETURN_VALUE").unwrap() as u8);
        // One unit on line 1 (no columns), one without a location.
        let text = listing(v(3, 13), &[nop, 0, ret, 0], &[0x80 | (13 << 3), 0, 0x80 | (15 << 3)]);
        assert_eq!(text, "   1           NOP\n\n  --           RETURN_VALUE\n");
    }
}
