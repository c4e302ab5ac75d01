"""Rewrite a dump.py listing so that 3.13's systematic changes disappear.

Usage: python3 norm.py 312|313 < listing > normalized

Used to find the differences that are NOT one of the known mechanical ones
(TO_BOOL, superinstructions, MAKE_FUNCTION/SET_FUNCTION_ATTRIBUTE, CALL_KW,
END_FOR+POP_TOP, COMPARE_OP encoding, operand order in LOAD_GLOBAL's repr,
offsets and jump distances, YIELD_VALUE/RESUME arguments). Diff the two
normalized listings; what remains needs a rule of its own.
"""
import re
import sys

side = sys.argv[1]
lines = sys.stdin.read().splitlines()
out = []
pending_flags = None
i = 0
CMP = ["<", "<=", "==", "!=", ">", ">="]
while i < len(lines):
    l = lines[i]
    m = re.match(r"\s*(\d+) (L\S+) (\S+)(?: (\S+))?(?: (.*))?$", l)
    if not m or l.startswith("  EXC") or l.startswith("=="):
        if l.startswith("  EXC"):
            l = "  EXC"  # offsets differ
        if "stacksize" in l:
            l = re.sub(r"stacksize \d+", "stacksize N", l)
        out.append(l)
        i += 1
        continue
    off, line, op, arg, rep = m.groups()
    rep = rep or ""
    if op.startswith(("JUMP", "POP_JUMP", "FOR_ITER", "SEND")):
        arg = ""
        rep = ""
    if op in ("YIELD_VALUE", "RESUME"):
        arg = ""
    if op == "LOAD_GLOBAL" or op == "LOAD_ATTR":
        rep = rep.replace("NULL + ", "").replace("NULL|self + ", "").replace(" + NULL|self", "").replace(" + NULL", "")
    if op == "COMPARE_OP":
        a = int(arg)
        arg = CMP[a >> (5 if side == "313" else 4)]
        rep = ""
    if op == "LOAD_CLOSURE":
        op = "LOAD_FAST"
    if op in ("LOAD_FAST", "STORE_FAST"):
        arg = ""
    if op == "TO_BOOL":
        i += 1
        continue
    if op == "KW_NAMES":
        op = "LOAD_CONST"
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    if op == "CALL" and side == "312" and i > 0 and " KW_NAMES " in lines[i - 1]:
        op = "CALL_KW"
    if op == "LOAD_CONST" and side == "312" and lines[i].split()[2] == "KW_NAMES":
        pass
    if op in ("LOAD_FAST_LOAD_FAST", "STORE_FAST_LOAD_FAST", "STORE_FAST_STORE_FAST"):
        a, b = [x.strip() for x in rep.split(",")]
        o1, o2 = op.split("_FAST_")
        out.append(f"  {line} {o1}_FAST {a}")
        out.append(f"  {line} {o2 if o2.endswith('FAST') else o2 + '_FAST'} {b}")
        i += 1
        continue
    if op == "MAKE_FUNCTION":
        flags = 0
        if side == "312":
            flags = int(arg)
        else:
            j = i + 1
            while j < len(lines) and " SET_FUNCTION_ATTRIBUTE " in lines[j]:
                flags |= int(lines[j].split()[3])
                j += 1
            i = j - 1
        out.append(f"  {line} MAKE_FUNCTION {flags}")
        i += 1
        continue
    if op == "END_FOR" and side == "313" and " POP_TOP" in nxt:
        out.append(f"  {line} END_FOR")
        i += 2
        continue
    if op in ("FORMAT_VALUE", "CONVERT_VALUE", "FORMAT_SIMPLE", "FORMAT_WITH_SPEC"):
        out.append(f"  {line} FORMAT*")
        i += 1
        continue
    out.append("  " + " ".join(x for x in (line, op, arg, rep) if x))
    i += 1
print("\n".join(out))
