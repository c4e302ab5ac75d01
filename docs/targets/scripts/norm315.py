"""Rewrite a dump.py listing so that the known mechanical 3.14 -> 3.15
changes disappear; what remains needs a rule of its own.

Usage: python3 norm315.py < listing > normalized      (same for both sides)

Unified (see 3.15.md): offsets, jump / constant-index / IMPORT_NAME /
LIST_APPEND-like arguments, co_consts lines, stack sizes, exception tables,
LOAD_COMMON_CONSTANT of None/''/True/False/-1 (-> LOAD_CONST), GET_ITER's
argument and GET_YIELD_FROM_ITER, the PUSH_NULL of the SEND protocol,
LOAD_FAST_BORROW, NOT_TAKEN, EXTENDED_ARG, NOP. Written for
docs/targets/3.15.md.
"""
import re
import sys

LINE = re.compile(r"\s*(\d+) (L\S+) (\S+)(?: (\S+))?(?: (.*))?$")
rows = []
for l in sys.stdin.read().splitlines():
    m = LINE.match(l)
    if not m or l.startswith("  EXC") or l.startswith("=="):
        if l.startswith("  EXC") or l.startswith("  consts "):
            continue
        rows.append(re.sub(r"stacksize \d+", "stacksize N", l))
        continue
    off, line, op, arg, rep = m.groups()
    rep = rep or ""
    if op in ("NOT_TAKEN", "EXTENDED_ARG", "NOP"):
        continue
    if op.startswith(("JUMP", "POP_JUMP", "FOR_ITER", "SEND", "END_ASYNC_FOR")):
        rows.append("  %s %s" % (line, op))
        continue
    if op == "LOAD_COMMON_CONSTANT" and rep in ("None", "''", "True", "False", "-1"):
        op, arg = "LOAD_CONST", ""
    if op == "GET_YIELD_FROM_ITER" or op == "GET_ITER":
        op, arg, rep = "GET_ITER", "", ""
    if op in ("LOAD_FAST_BORROW", "LOAD_FAST_BORROW_LOAD_FAST_BORROW"):
        op = op.replace("_BORROW", "")
    if op in ("IMPORT_NAME",):
        rep = rep.replace(" + lazy", "").replace(" + eager", "")
        arg = ""
    if op in ("LIST_APPEND", "SET_ADD", "MAP_ADD", "LIST_EXTEND", "SET_UPDATE", "DICT_UPDATE"):
        arg = ""
    if op in ("LOAD_CONST", "LOAD_FAST", "STORE_FAST", "LOAD_FAST_LOAD_FAST", "STORE_FAST_LOAD_FAST",
              "STORE_FAST_STORE_FAST", "LOAD_NAME", "STORE_NAME", "LOAD_GLOBAL", "LOAD_ATTR",
              "LOAD_DEREF", "STORE_DEREF", "LOAD_FAST_AND_CLEAR", "IMPORT_NAME", "IMPORT_FROM"):
        arg = ""
    rows.append("  %s %s %s %s" % (line, op, arg or "", rep))
# the SEND protocol's PUSH_NULL: PUSH_NULL; LOAD_CONST None; SEND
out = []
for i, r in enumerate(rows):
    if r.split()[-1:] == ["PUSH_NULL"] and i + 2 < len(rows) and "LOAD_CONST" in rows[i + 1] \
            and rows[i + 2].split()[-1:] == ["SEND"]:
        continue
    out.append(r.rstrip())
print("\n".join(out))
