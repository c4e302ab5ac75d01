"""Whole-tree comparison of two interpreters' compiler output, field by field.

Usage: python3 tree_diff.py PYTHON_A PYTHON_B ROOT [--opt N] [--list FIELD]

Each interpreter compiles every .py under ROOT (sorted walk) in one process
and prints, per file, a digest of the whole marshal stream and a digest of
each code-object field collected over all nested code objects in a fixed
order. The driver then prints: files in the tree, files that compile under
each side, files whose marshal differs, and for each field the number of
files where that field differs. With --list FIELD (e.g. exceptiontable,
code, marshal) it lists those files, one per line, on stdout.

Written for docs/targets/3.14.md and 3.15.md (patch-release figures).
Interpreter-neutral: runs on 3.12 and later. Marshal digests depend on the
process (interning, reference flags); the per-field digests do not.
"""
import subprocess
import sys

WORKER = r'''
import hashlib, marshal, os, sys, types
root, opt = sys.argv[1], int(sys.argv[2])
FIELDS = ["code", "consts", "names", "localsplus", "linetable",
          "exceptiontable", "header"]

def crepr(c):
    # hash-seed independent: frozenset order is sorted by item repr
    if isinstance(c, types.CodeType):
        return "<code>"
    if isinstance(c, frozenset):
        return "frozenset(%s)" % sorted(crepr(x) for x in c)
    if isinstance(c, tuple):
        return "(%s)" % ", ".join(crepr(x) for x in c)
    return "%s:%r" % (type(c).__name__, c)

def walk(co, acc):
    h = acc
    h["code"].update(co.co_code)
    h["consts"].update(repr([crepr(c) for c in co.co_consts]).encode("utf-8", "surrogatepass"))
    h["names"].update(repr(co.co_names).encode("utf-8", "surrogatepass"))
    h["localsplus"].update(repr((co.co_varnames, co.co_cellvars, co.co_freevars)).encode("utf-8", "surrogatepass"))
    h["linetable"].update(co.co_linetable)
    h["exceptiontable"].update(co.co_exceptiontable)
    h["header"].update(repr((co.co_argcount, co.co_posonlyargcount, co.co_kwonlyargcount,
                             co.co_stacksize, co.co_flags, co.co_firstlineno,
                             co.co_name, co.co_qualname)).encode("utf-8", "surrogatepass"))
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            walk(c, acc)

for dirpath, dirs, files in os.walk(root):
    dirs.sort()
    for name in sorted(files):
        if not name.endswith(".py"):
            continue
        path = os.path.join(dirpath, name)
        rel = os.path.relpath(path, root)
        try:
            src = open(path, "rb").read()
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                co = compile(src, path, "exec", dont_inherit=True, optimize=opt)
        except BaseException as e:
            print(rel, "ERR", type(e).__name__)
            continue
        acc = {f: hashlib.sha256() for f in FIELDS}
        walk(co, acc)
        m = hashlib.sha256(marshal.dumps(co)).hexdigest()[:16]
        print(rel, "OK", "marshal=" + m, *("%s=%s" % (f, acc[f].hexdigest()[:16]) for f in FIELDS))
'''


def run(py, root, opt):
    out = subprocess.run([py, "-I", "-c", WORKER, root, str(opt)],
                         capture_output=True, text=True, check=True).stdout
    res = {}
    for line in out.splitlines():
        parts = line.split(" ")
        # paths may contain spaces: the status word is the first "OK"/"ERR" from the right end
        for i in range(len(parts) - 1, 0, -1):
            if parts[i] in ("OK", "ERR"):
                break
        rel = " ".join(parts[:i])
        if parts[i] == "ERR":
            res[rel] = {"ERR": parts[i + 1]}
        else:
            res[rel] = dict(p.split("=", 1) for p in parts[i + 1:])
    return res


def main():
    args = sys.argv[1:]
    opt = 0
    lst = None
    if "--opt" in args:
        i = args.index("--opt")
        opt = int(args[i + 1])
        del args[i:i + 2]
    if "--list" in args:
        i = args.index("--list")
        lst = args[i + 1]
        del args[i:i + 2]
    a, b, root = args[:3]
    ra, rb = run(a, root, opt), run(b, root, opt)
    files = sorted(set(ra) | set(rb))
    ok_a = sum(1 for f in files if "ERR" not in ra.get(f, {"ERR": 1}))
    ok_b = sum(1 for f in files if "ERR" not in rb.get(f, {"ERR": 1}))
    both = [f for f in files if "ERR" not in ra.get(f, {"ERR": 1}) and "ERR" not in rb.get(f, {"ERR": 1})]
    counts = {}
    listed = []
    only_one = [f for f in files if f not in both and ("ERR" not in ra.get(f, {"ERR": 1}) or "ERR" not in rb.get(f, {"ERR": 1}))]
    for f in both:
        diff = [k for k in ra[f] if ra[f][k] != rb[f].get(k)]
        for k in diff:
            counts[k] = counts.get(k, 0) + 1
        if lst is not None and lst in diff:
            listed.append(f)
        if diff and diff != ["marshal"]:
            counts["any field"] = counts.get("any field", 0) + 1
        only = [k for k in diff if k != "marshal"]
        key = "only " + "+".join(only) if only else None
        if key:
            counts[key] = counts.get(key, 0) + 1
    print("tree %s: %d .py files; compile OK: A %d, B %d, both %d; OK on one side only: %d"
          % (root, len(files), ok_a, ok_b, len(both), len(only_one)), file=sys.stderr)
    for f in only_one:
        print("  one side only:", f, ra.get(f), rb.get(f), file=sys.stderr)
    for k in sorted(counts):
        print("  differ in %-40s %d" % (k, counts[k]), file=sys.stderr)
    if lst is not None:
        print("\n".join(listed))


main()
