"""Dump CPython's code generation output for a source file, with what the
interpreter then makes of each code unit, as JSON on stdout.

Run by tests/stages313.rs under an interpreter built with _testinternalcapi
(pyenv builds): `python codegen.py FILE`. Each unit: its instructions from
`_testinternalcapi.compiler_codegen` (opcode names, jump arguments as
instruction indices), the metadata the flow graph needs, the code object
CPython assembled from them, and its nested units in the order their code
objects appear among its constants.
"""
import ast
import dis
import json
import struct
import sys

import _testinternalcapi

NAMES = {number: name for name, number in dis.opmap.items()}
for number, name in enumerate(dis.opname):
    NAMES.setdefault(number, name)


def points(s):
    return [ord(c) for c in s]


def const(c, codes):
    if c is None:
        return ["none"]
    if c is Ellipsis:
        return ["ellipsis"]
    if isinstance(c, bool):
        return ["bool", c]
    if isinstance(c, int):
        return ["int", str(c)]
    if isinstance(c, float):
        return ["float", struct.unpack("<Q", struct.pack("<d", c))[0]]
    if isinstance(c, complex):
        bits = struct.unpack("<QQ", struct.pack("<dd", c.real, c.imag))
        return ["complex", bits[0], bits[1]]
    if isinstance(c, str):
        return ["str", points(c)]
    if isinstance(c, bytes):
        return ["bytes", c.hex()]
    if isinstance(c, tuple):
        return ["tuple", [const(x, codes) for x in c]]
    if isinstance(c, frozenset):
        return ["frozenset", [const(x, codes) for x in c]]
    if hasattr(c, "co_code"):
        codes.append(c)
        return ["code", len(codes) - 1]
    raise TypeError(type(c))


def code_fields(co):
    return {
        "code": co.co_code.hex(),
        "linetable": co.co_linetable.hex(),
        "exceptiontable": co.co_exceptiontable.hex(),
        "stacksize": co.co_stacksize,
        "names": [points(n) for n in co.co_names],
        "localsplusnames": [points(n) for n in co.co_varnames + co.co_cellvars + co.co_freevars],
    }


def unit(seq, consts, meta, co):
    """One unit: `consts` is the list the instructions index, `co` the code
    object CPython made of it."""
    codes = []
    encoded = [const(c, codes) for c in consts]
    nested = seq.get_nested()
    if len(nested) != len(codes):
        raise SystemExit(f"{co.co_qualname}: {len(nested)} nested units, {len(codes)} code constants")
    expected_codes = []
    expected = code_fields(co)
    expected["consts"] = [const(c, expected_codes) for c in co.co_consts]
    instrs = []
    for op, arg, *loc in seq.get_instructions():
        instrs.append([NAMES[op], 0 if arg is None else arg, loc])
    nparams = co.co_argcount + co.co_kwonlyargcount + bool(co.co_flags & 4) + bool(co.co_flags & 8)
    return {
        "instrs": instrs,
        "consts": encoded,
        "names": [points(n) for n in meta["names"]],
        "varnames": [points(n) for n in meta["varnames"]],
        "cellvars": [points(n) for n in meta["cellvars"]],
        "freevars": [points(n) for n in meta["freevars"]],
        "argcount": meta["argcount"],
        "posonlyargcount": meta["posonlyargcount"],
        "kwonlyargcount": meta["kwonlyargcount"],
        "firstlineno": co.co_firstlineno,
        "name": points(co.co_name),
        "qualname": points(co.co_qualname),
        "flags": co.co_flags,
        "nparams": nparams,
        "expected": expected,
        "nested": [nested_unit(s, c) for s, c in zip(nested, codes)],
    }


def nested_unit(seq, co):
    # compiler_codegen gives a nested unit's instructions but not its
    # metadata: the code object's fields stand in for it (the fixtures keep
    # every constant used, cells off the parameters).
    meta = {
        "names": co.co_names,
        "varnames": co.co_varnames,
        "cellvars": co.co_cellvars,
        "freevars": co.co_freevars,
        "argcount": co.co_argcount,
        "posonlyargcount": co.co_posonlyargcount,
        "kwonlyargcount": co.co_kwonlyargcount,
    }
    return unit(seq, list(co.co_consts), meta, co)


def main():
    path = sys.argv[1]
    source = open(path, "rb").read()
    tree = ast.parse(source, path, optimize=0)
    seq, meta = _testinternalcapi.compiler_codegen(tree, path, 0)
    module = compile(source, path, "exec", dont_inherit=True)
    # Keys that are tuples wrap the constant, second (as the compiler's
    # consts_dict_keys_inorder reads them).
    consts = [k[1] if type(k) is tuple else k for k, _ in sorted(meta["consts"].items(), key=lambda kv: kv[1])]
    meta = {k: (list(v) if isinstance(v, dict) else v) for k, v in meta.items()}
    json.dump(unit(seq, consts, meta, module), sys.stdout)


main()
