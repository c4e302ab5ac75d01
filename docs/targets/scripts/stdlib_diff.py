"""Compile every .py under ROOT with two interpreters and list the files whose
marshalled code objects differ, with whether each contains a comprehension or
generator expression and an f-string debug expression (`=`).

Usage: python3 stdlib_diff.py PYTHON_A PYTHON_B ROOT > report.txt
Each interpreter runs one fresh process (marshal flags depend on the process,
so the figures compare like with like; use py_compile for byte-exact caches).
"""
import ast
import hashlib
import os
import subprocess
import sys

WORKER = r'''
import hashlib, marshal, os, sys
root = sys.argv[1]
for dirpath, dirs, files in os.walk(root):
    dirs.sort()
    for name in sorted(files):
        if not name.endswith(".py"):
            continue
        path = os.path.join(dirpath, name)
        try:
            src = open(path, "rb").read()
            co = compile(src, path, "exec", dont_inherit=True)
            h = hashlib.sha256(marshal.dumps(co)).hexdigest()
        except BaseException as e:
            h = "ERR " + type(e).__name__
        print(path, h)
'''


def run(py, root):
    out = subprocess.run([py, "-I", "-c", WORKER, root], capture_output=True, text=True, check=True).stdout
    return dict(line.rsplit(" ", 1) for line in out.splitlines())


def features(path):
    try:
        tree = ast.parse(open(path, "rb").read())
    except BaseException:
        return "unparsable-here"
    comp = any(isinstance(n, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)) for n in ast.walk(tree))
    return "comp" if comp else "nocomp"


def main():
    a, b, root = sys.argv[1:4]
    ra, rb = run(a, root), run(b, root)
    diff = sorted(p for p in ra if ra[p] != rb.get(p))
    counts = {}
    for p in diff:
        f = features(p)
        counts[f] = counts.get(f, 0) + 1
        print(f, p)
    print("TOTAL", len(ra), "DIFFERENT", len(diff), counts, file=sys.stderr)


main()
