"""Print this interpreter's opcode table: name, number, cache entries, flags.

Usage: python opcodes.py   (run under two versions and diff; see the docs)
"""
import dis
import opcode

caches = getattr(opcode, "_inline_cache_entries", {})
rows = []
for name, num in sorted(opcode.opmap.items(), key=lambda kv: kv[1]):
    if hasattr(caches, "get"):  # dict in 3.13/3.14, frozendict in 3.15
        n = caches.get(name, caches.get(num, 0)) if caches else 0
    else:
        n = caches[num] if num < len(caches) else 0
    kinds = []
    for attr in ("hasarg", "hasconst", "hasname", "hasjrel", "hasjabs", "haslocal", "hasfree", "hascompare", "hasexc"):
        lst = getattr(dis, attr, None)
        if lst is not None and num in lst:
            kinds.append(attr[3:])
    rows.append(f"{name:32s} {num:4d} cache={n} {','.join(kinds)}")
print("\n".join(rows))
spec = getattr(opcode, "_specializations", None) or getattr(dis, "_specializations", {})
print("HAVE_ARGUMENT", opcode.HAVE_ARGUMENT, "MIN_INSTRUMENTED", getattr(opcode, "MIN_INSTRUMENTED_OPCODE", None))
