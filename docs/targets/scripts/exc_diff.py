"""Which instructions get a different exception handler between two releases.

Usage: python3 exc_diff.py PYTHON_A PYTHON_B PATH...  [--examples N]

For patch releases whose compilers differ only in co_exceptiontable (3.15.0
vs 3.15.2). Each interpreter compiles every .py file under the PATHs (files or
folders) and prints, per code object and instruction, the handler the
exception table gives it (target, depth, lasti) or '-'. The driver checks that
both sides have the same instructions, then counts the instructions whose
handler differs, keyed by (opname, previous opname, how it differs), and
shows up to N examples of each key (file, code object, offset).

Written for docs/targets/3.15.md. Own code; runs on 3.13 and later.
"""
import collections
import json
import subprocess
import sys

WORKER = r'''
import dis, json, os, sys, types, warnings

def handlers(co):
    table = dis._parse_exception_table(co)
    out = {}
    for e in table:
        for off in range(e.start, e.end, 2):
            out[off] = (e.target, e.depth, bool(e.lasti))
    return out

def walk(co, path, res):
    h = handlers(co)
    rows = []
    for ins in dis.get_instructions(co):
        rows.append((ins.offset, ins.opname, h.get(ins.offset)))
    res.append((path, co.co_qualname, co.co_firstlineno, rows))
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            walk(c, path, res)

def files(paths):
    for p in paths:
        if os.path.isdir(p):
            for d, dirs, names in os.walk(p):
                dirs.sort()
                for n in sorted(names):
                    if n.endswith(".py"):
                        yield os.path.join(d, n)
        else:
            yield p

res = []
for path in files(sys.argv[1:]):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            co = compile(open(path, "rb").read(), path, "exec", dont_inherit=True)
    except BaseException:
        continue
    walk(co, path, res)
json.dump(res, sys.stdout)
'''


def run(py, paths):
    out = subprocess.run([py, "-I", "-c", WORKER, *paths], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def fmt(h):
    if h is None:
        return "none"
    return "->%d d%d%s" % (h[0], h[1], " lasti" if h[2] else "")


def main():
    args = sys.argv[1:]
    nex = 3
    if "--examples" in args:
        i = args.index("--examples")
        nex = int(args[i + 1])
        del args[i:i + 2]
    a, b, *paths = args
    ra, rb = run(a, paths), run(b, paths)
    if len(ra) != len(rb):
        sys.exit("different numbers of code objects: %d vs %d" % (len(ra), len(rb)))
    keys = collections.Counter()
    examples = collections.defaultdict(list)
    changed_code = 0
    total_ins = 0
    for (pa, qa, fa, rowsa), (pb, qb, fb, rowsb) in zip(ra, rb):
        if (pa, qa, [r[:2] for r in rowsa]) != (pb, qb, [r[:2] for r in rowsb]):
            sys.exit("instructions differ in %s %s: not an exception-table-only change" % (pa, qa))
        total_ins += len(rowsa)
        any_change = False
        for i, ((off, op, ha), (_, _, hb)) in enumerate(zip(rowsa, rowsb)):
            ha = tuple(ha) if ha else None
            hb = tuple(hb) if hb else None
            if ha != hb:
                any_change = True
                prev = rowsa[i - 1][1] if i else "-"
                kind = "A %s / B %s" % ("none" if ha is None else "set", "none" if hb is None else "set")
                if hb is not None:
                    # where does B's handler come from: the previous / next instruction's?
                    hprev = tuple(rowsb[i - 1][2]) if i and rowsb[i - 1][2] else None
                    hnext = tuple(rowsb[i + 1][2]) if i + 1 < len(rowsb) and rowsb[i + 1][2] else None
                    kind += " (=prev %s, =next %s)" % ("yes" if hb == hprev else "no",
                                                       "yes" if hb == hnext else "no")
                if ha is not None and hb is not None:
                    kind = "A and B set, different"
                key = (op, prev, kind)
                keys[key] += 1
                if len(examples[key]) < nex:
                    examples[key].append("%s %s @%d (A %s, B %s)" % (pa, qa, off, fmt(ha), fmt(hb)))
        changed_code += any_change
    print("code objects: %d, with a changed handler: %d; instructions: %d, changed: %d"
          % (len(ra), changed_code, total_ins, sum(keys.values())))
    for key, n in keys.most_common():
        print("%6d  %-22s after %-24s %s" % (n, key[0], key[1], key[2]))
        for e in examples[key]:
            print("          e.g.", e)


main()
