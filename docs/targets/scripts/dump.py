"""Print a version-neutral listing of the code objects compile() makes.

Usage: python dump.py FILE [--opt N] [--positions]

Written for docs/targets/3.13.md: run it under two interpreters and diff the
outputs (see cmp.sh). Jumps are printed as "to OFFSET", never as dis's labels,
so that 3.12 and 3.13 listings line up.
"""
import dis
import sys
import types


def const_repr(c):
    if isinstance(c, types.CodeType):
        return f"<code {c.co_qualname}>"
    if isinstance(c, (tuple, frozenset)):
        inner = ", ".join(const_repr(x) for x in c)
        return f"{type(c).__name__}({inner})"
    return repr(c)


FLAG_NAMES = dis.COMPILER_FLAG_NAMES


def flags(f):
    out = [name for bit, name in sorted(FLAG_NAMES.items()) if f & bit]
    rest = f & ~sum(FLAG_NAMES)
    if rest:
        out.append(hex(rest))
    return "|".join(out)


def dump(co, positions, out):
    out.append(f"== code {co.co_qualname} (name {co.co_name})")
    out.append(f"  firstlineno {co.co_firstlineno} flags {flags(co.co_flags)}")
    out.append(f"  argcount {co.co_argcount} posonly {co.co_posonlyargcount} kwonly {co.co_kwonlyargcount} stacksize {co.co_stacksize}")
    out.append(f"  varnames {co.co_varnames} cellvars {co.co_cellvars} freevars {co.co_freevars}")
    out.append(f"  names {co.co_names}")
    out.append(f"  consts [{', '.join(const_repr(c) for c in co.co_consts)}]")
    for ins in dis.get_instructions(co):
        arg = "" if ins.arg is None else str(ins.arg)
        if ins.opcode in dis.hasjrel or ins.opcode in getattr(dis, "hasjabs", []) or ins.opname.startswith(("JUMP", "POP_JUMP", "FOR_ITER", "SEND", "END_ASYNC_FOR")):
            rep = f"to {ins.argval}"
        elif isinstance(ins.argval, types.CodeType):
            rep = const_repr(ins.argval)
        else:
            rep = ins.argrepr
        pos = ""
        if positions and ins.positions is not None:
            p = ins.positions
            pos = f" @{p.lineno}:{p.col_offset}-{p.end_lineno}:{p.end_col_offset}"
        line = ins.positions.lineno if ins.positions else None
        out.append(f"  {ins.offset:4d} L{line} {ins.opname} {arg} {rep}{pos}".rstrip())
    table = dis._parse_exception_table(co)
    for e in table:
        out.append(f"  EXC {e.start}-{e.end} -> {e.target} depth {e.depth}{' lasti' if e.lasti else ''}")
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            dump(c, positions, out)


def main():
    args = sys.argv[1:]
    opt = 0
    positions = False
    if "--opt" in args:
        i = args.index("--opt")
        opt = int(args[i + 1])
        del args[i : i + 2]
    if "--positions" in args:
        args.remove("--positions")
        positions = True
    path = args[0]
    with open(path, "rb") as f:
        src = f.read()
    co = compile(src, path, "exec", optimize=opt, dont_inherit=True)
    out = []
    dump(co, positions, out)
    print("\n".join(out))


main()
