"""Prints the module unit of each FILE as CPython's code generation leaves
it, before the flow graph, in the format of pycache_compiler::codegen_listing:
one line per instruction (NAME ARG LINENO END_LINENO COL END_COL), then the
constants, names and varnames. Needs `_testinternalcapi` (pyenv builds and
Debian's 3.13 packages have it).

Usage: python3.13 codegen_listing.py OPTIMIZE FILE...  (each listing ends
with a line `== FILE`)
"""
import ast
import opcode
import struct
import sys
import types

import _testinternalcapi as t

NAMES = {v: k for k, v in opcode.opmap.items()}


def text(s):
    return "".join(c if 33 <= ord(c) < 127 and c != "\\" else "\\u%x" % ord(c) for c in s)


def bits(f):
    return "%x" % struct.unpack("<Q", struct.pack("<d", f))[0]


def render(v):
    if v is None or v is Ellipsis or isinstance(v, bool):
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "f" + bits(v)
    if isinstance(v, complex):
        return "c%s,%s" % (bits(v.real), bits(v.imag))
    if isinstance(v, str):
        return "'%s'" % text(v)
    if isinstance(v, bytes):
        return "b" + v.hex()
    if isinstance(v, tuple):
        return "(%s)" % ",".join(render(x) for x in v)
    if isinstance(v, frozenset):
        return "{%s}" % ",".join(sorted(render(x) for x in v))
    if isinstance(v, types.CodeType):
        return "<code %s>" % text(v.co_name)
    return "?" + repr(v)


def value(key):
    """The constant of a key of the compiler's constant cache: `(type,
    value[, None])` for bools, bytes, floats and complex numbers, `(keys,
    value)` for tuples and frozensets, the object itself otherwise."""
    if isinstance(key, tuple) and len(key) >= 2:
        if isinstance(key[0], type):
            return key[1]
        if isinstance(key[1], (tuple, frozenset)):
            return key[1]
    return key


def ordered(d):
    """A metadata table in index order: a dict of key to index (3.13.0,
    3.13.5), or a list already (later releases)."""
    if isinstance(d, (list, tuple)):
        return list(d)
    return [k for k, _ in sorted(d.items(), key=lambda kv: kv[1])]


def listing(path, optimize):
    src = open(path, "rb").read()
    tree = ast.parse(src, path)
    seq, meta = t.compiler_codegen(tree, path, optimize)
    out = []
    for op, arg, *loc in seq.get_instructions():
        out.append("%s %s %s" % (NAMES.get(op, op), arg, " ".join(map(str, loc))))
    out.append("consts " + " ".join(render(value(k) if isinstance(meta["consts"], dict) else k) for k in ordered(meta["consts"])))
    out.append("names " + " ".join(text(n) for n in ordered(meta["names"])))
    out.append("varnames " + " ".join(text(n) for n in ordered(meta["varnames"])))
    return "\n".join(out) + "\n"


optimize = int(sys.argv[1])
for path in sys.argv[2:]:
    try:
        sys.stdout.write(listing(path, optimize))
    except Exception as e:
        sys.stdout.write("error %s: %s\n" % (type(e).__name__, e))
    sys.stdout.write("== %s\n" % path)
