"""Rewrite a dump.py listing so that the known mechanical 3.13 -> 3.14
changes disappear; what remains needs a rule of its own.

Usage: python3 norm314.py 313|314 < listing > normalized

Removed or unified (see 3.14.md): offsets, jump and constant-index
arguments, co_consts lines, stack sizes, exception tables, NOT_TAKEN,
LOAD_FAST_BORROW(_LOAD_FAST_BORROW), LOAD_SMALL_INT, RETURN_CONST,
POP_ITER, BINARY_SUBSCR, LOAD_ASSERTION_ERROR, CALL_FUNCTION_EX's argument
and PUSH_NULL, BEFORE_WITH/BEFORE_ASYNC_WITH and the exit CALL 2/3,
BUILD_CONST_KEY_MAP, the 3.13.1+ comprehension GET_ITER, and the
HAS_DOCSTRING/METHOD flags. Written for docs/targets/3.14.md.
"""
import re
import sys

side = sys.argv[1]
lines = sys.stdin.read().splitlines()
out = []
LINE = re.compile(r"\s*(\d+) (L\S+) (\S+)(?: (\S+))?(?: (.*))?$")


def emit(line, op, rep=""):
    out.append("  %s %s %s" % (line, op, rep) if rep else "  %s %s" % (line, op))


parsed = []
for l in lines:
    m = LINE.match(l)
    if not m or l.startswith("  EXC") or l.startswith("=="):
        parsed.append((None, l))
    else:
        parsed.append((m.groups(), l))

i = 0
while i < len(parsed):
    g, raw = parsed[i]
    if g is None:
        l = raw
        if l.startswith("  EXC") or l.startswith("  consts "):
            i += 1
            continue
        l = re.sub(r"stacksize \d+", "stacksize N", l)
        # 3.14 gives every class with a def a __classdict__ cell (3.14.md S2)
        l = l.replace("'__classdict__', ", "").replace(", '__classdict__'", "").replace("'__classdict__',", "")
        l = l.replace(", '__classdictcell__'", "")
        l = l.replace("|HAS_DOCSTRING", "").replace("|METHOD", "")
        out.append(l)
        i += 1
        continue
    off, line, op, arg, rep = g
    rep = rep or ""
    nxt = parsed[i + 1][0] if i + 1 < len(parsed) else None
    if op in ("MAKE_CELL", "STORE_DEREF", "LOAD_FAST", "STORE_NAME") and "__classdict" in rep:
        i += 1
        continue
    if op == "LOAD_LOCALS" and nxt and "__classdict__" in (nxt[4] or ""):
        i += 1
        continue
    if op in ("NOT_TAKEN", "EXTENDED_ARG", "NOP"):
        i += 1
        continue
    if op in ("IS_OP", "CONTAINS_OP"):
        emit(line, op, arg)
        i += 1
        continue
    if op.startswith(("JUMP", "POP_JUMP", "FOR_ITER", "SEND", "END_ASYNC_FOR")):
        emit(line, op.replace("JUMP_BACKWARD_NO_INTERRUPT", "JUMP_BACKWARD"))
        i += 1
        continue
    if op == "LOAD_FAST_BORROW":
        op = "LOAD_FAST"
    if op == "LOAD_FAST_BORROW_LOAD_FAST_BORROW":
        op = "LOAD_FAST_LOAD_FAST"
    if op == "LOAD_SMALL_INT":
        emit(line, "LOAD_CONST", arg)
        i += 1
        continue
    if op == "RETURN_CONST":
        emit(line, "LOAD_CONST", rep)
        emit(line, "RETURN_VALUE")
        i += 1
        continue
    if op == "POP_ITER":
        op = "POP_TOP"
    if op == "BINARY_SUBSCR":
        emit(line, "BINARY_OP", "[]")
        i += 1
        continue
    if op == "LOAD_ASSERTION_ERROR":
        emit(line, "LOAD_COMMON_CONSTANT", "AssertionError")
        i += 1
        continue
    if op == "LOAD_COMMON_CONSTANT":
        emit(line, op, rep.split(" ")[-1] if "AssertionError" in rep else rep)
        i += 1
        continue
    if op == "CALL_FUNCTION_EX":
        # 3.14 always has a kwargs slot; drop a PUSH_NULL just before it
        if side == "314" and out and out[-1].split()[-1] == "PUSH_NULL":
            out.pop()
        emit(line, op)
        i += 1
        continue
    if op in ("BEFORE_WITH", "BEFORE_ASYNC_WITH"):
        emit(line, "ENTER_WITH")
        i += 1
        continue
    if op == "COPY" and side == "314" and nxt and nxt[2] == "LOAD_SPECIAL":
        # COPY 1; LOAD_SPECIAL exit; SWAP 2; SWAP 3; LOAD_SPECIAL enter; CALL 0
        emit(line, "ENTER_WITH")
        i += 7 if parsed[i + 6][0] and parsed[i + 6][0][2] == "CALL" else 6
        continue
    if op == "CALL" and arg in ("2", "3") and i >= 3 and all(
            parsed[i - k][0] and parsed[i - k][0][2] == "LOAD_CONST" and "None" in (parsed[i - k][0][4] or "")
            for k in (1, 2, 3)):
        emit(line, "CALL_EXIT")
        i += 1
        continue
    if op == "BUILD_CONST_KEY_MAP":
        emit(line, "BUILD_MAP*")
        i += 1
        continue
    if op == "BUILD_MAP":
        emit(line, "BUILD_MAP*")
        i += 1
        continue
    if op == "GET_ITER" and side == "313" and nxt and nxt[2] == "FOR_ITER" and i > 0 and parsed[i - 1][0] and parsed[i - 1][0][2] in ("SWAP", "LOAD_FAST", "GET_ITER"):
        # the 3.13.1+ extra GET_ITER of comprehension loops
        prev = parsed[i - 1][0]
        if prev[2] != "LOAD_FAST" or ".0" in (prev[4] or ""):
            i += 1
            continue
    if op in ("LOAD_CONST",):
        emit(line, op, rep)
        i += 1
        continue
    if op in ("LOAD_FAST", "STORE_FAST", "LOAD_FAST_LOAD_FAST", "STORE_FAST_LOAD_FAST", "STORE_FAST_STORE_FAST", "LOAD_FAST_CHECK", "DELETE_FAST", "LOAD_FAST_AND_CLEAR"):
        emit(line, op, rep)
        i += 1
        continue
    emit(line, op, rep if rep else (arg or ""))
    i += 1
print("\n".join(out))
