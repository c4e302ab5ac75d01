"""Prints what this interpreter's own `dis` finds in the caches named on
stdin, one JSON line per code object, for tests/interpreters.rs.

Each line: [file index, qualname path, instructions, exception table,
dis.pretty_flags(co_flags) or null (2.7 has none)].
An instruction: [offset, opname, arg, starts_line, line, argrepr,
positions or null]. `starts_line` is dis's own field (a line or null up to
3.12, a bool from 3.13); `line` is the line of the instruction (3.13's
line_number; earlier, from findlinestarts or co_lines). Runs on 2.7 and 3.x.
"""

import sys
import re
import json
import marshal
import dis
import opcode

V = sys.version_info[:2]
HEADER = 8 if V < (3, 3) else (12 if V < (3, 7) else 16)
ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def clean(text):
    return ADDRESS.sub("", text)


def lines_by_offset(co, offsets):
    """The line of each offset: the last line start at or before it (up to
    3.9), or the co_lines() range holding it (3.10+)."""
    result = {}
    if hasattr(co, "co_lines"):
        ranges = list(co.co_lines())
        for offset in offsets:
            line = None
            for start, end, lineno in ranges:
                if start <= offset < end:
                    line = lineno
                    break
            result[offset] = line
        return result
    starts = sorted(dis.findlinestarts(co))
    for offset in offsets:
        line = None
        for start, lineno in starts:
            if start <= offset:
                line = lineno
            else:
                break
        result[offset] = line
    return result


def instructions_27(co):
    code = co.co_code
    starts = dict(dis.findlinestarts(co))
    free = co.co_cellvars + co.co_freevars
    out = []
    i = 0
    extended = 0
    current = None
    while i < len(code):
        op = ord(code[i])
        offset = i
        if offset in starts:
            current = starts[offset]
        i += 1
        arg = None
        argrepr = ""
        if op >= opcode.HAVE_ARGUMENT:
            arg = ord(code[i]) + ord(code[i + 1]) * 256 + extended
            extended = 0
            i += 2
            if op == opcode.EXTENDED_ARG:
                extended = arg * 65536
            if op in opcode.hasconst:
                argrepr = repr(co.co_consts[arg])
            elif op in opcode.hasname:
                argrepr = co.co_names[arg]
            elif op in opcode.hasjrel:
                argrepr = "to " + repr(i + arg)
            elif op in opcode.haslocal:
                argrepr = co.co_varnames[arg]
            elif op in opcode.hascompare:
                argrepr = opcode.cmp_op[arg]
            elif op in opcode.hasfree:
                argrepr = free[arg]
        out.append([offset, opcode.opname[op], arg, starts.get(offset), current, clean(argrepr), None])
    return out


def instructions_3(co):
    instrs = list(dis.Bytecode(co))
    if V >= (3, 13):
        lines = dict((i.offset, i.line_number) for i in instrs)
    else:
        lines = lines_by_offset(co, [i.offset for i in instrs])
    out = []
    for i in instrs:
        positions = None
        if V >= (3, 11):
            p = i.positions
            positions = [p.lineno, p.end_lineno, p.col_offset, p.end_col_offset]
        out.append([i.offset, i.opname, i.arg, i.starts_line, lines[i.offset], clean(i.argrepr), positions])
    return out


def exception_table(co):
    if V < (3, 11):
        return []
    return [[e.start, e.end, e.target, e.depth, bool(e.lasti)] for e in dis._parse_exception_table(co)]


def main():
    for index, line in enumerate(sys.stdin):
        path = line.rstrip("\n")
        with open(path, "rb") as f:
            data = f.read()
        stack = [(marshal.loads(data[HEADER:]), [])]
        while stack:
            co, path_names = stack.pop()
            names = path_names + [co.co_name]
            if V < (3, 0):
                instrs = instructions_27(co)
            else:
                instrs = instructions_3(co)
            flags = dis.pretty_flags(co.co_flags) if hasattr(dis, "pretty_flags") else None
            record = [index, ".".join(names), instrs, exception_table(co), flags]
            sys.stdout.write(json.dumps(record) + "\n")
            children = [c for c in co.co_consts if hasattr(c, "co_code")]
            for child in reversed(children):
                stack.append((child, names))
    sys.stdout.flush()


main()
