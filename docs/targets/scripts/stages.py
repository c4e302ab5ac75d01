"""Show one source through CPython's compiler stage by stage (3.12 / 3.13).

Usage: python stages.py FILE            (module code unit only)

Prints the code-generation output (pseudo-instructions, labels) and the
output of the CFG optimizer for the module's own code unit, using the
interpreter's _testinternalcapi test hooks (present in pyenv builds).
Nested code units are not shown; wrap the construct at module level.
"""
import ast
import dis
import sys

import _testinternalcapi as t


def name(op):
    if op < 256:
        return dis.opname[op]
    for k, v in dis.opmap.items():
        if v == op:
            return k
    return getattr(dis, "_all_opname", {}).get(op, str(op)) if isinstance(getattr(dis, "_all_opname", None), dict) else str(op)


def show(title, seq):
    print("==", title)
    items = seq.get_instructions() if hasattr(seq, "get_instructions") else seq
    for item in items:
        if isinstance(item, tuple):
            op, arg, *loc = item
            print("   ", name(op), arg, loc)
        else:
            print("  label", item)


def main():
    src = open(sys.argv[1]).read()
    tree = ast.parse(src, optimize=0) if sys.version_info >= (3, 13) else ast.parse(src)
    seq, meta = t.compiler_codegen(tree, sys.argv[1], 0)
    show("codegen", seq)
    consts = meta.get("consts", [])
    if isinstance(consts, dict):
        consts = [k for k, _ in sorted(consts.items(), key=lambda kv: kv[1])]
    print("   consts", consts)
    nlocals = len(meta.get("varnames", ()))
    out = t.optimize_cfg(seq, list(consts), nlocals)
    show("optimize_cfg", out)


main()
