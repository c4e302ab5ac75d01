"""What each interpreter says about syntax that only newer versions accept.

Usage: python3 refused.py PYTHON...        (prints a markdown table)

Each snippet below is compiled (compile() on the UTF-8 bytes, as py_compile
does) by every interpreter given; the cell is OK, or the exception class,
message, and (lineno, offset, end_lineno, end_offset). Offsets are 1-based,
as in SyntaxError. Warnings are turned into errors only where the row says so.

Written for docs/targets/3.14.md and 3.15.md (section E). Own code.
"""
import json
import subprocess
import sys

SNIPPETS = [
    # (name, source, warnings-as-errors?)
    ("t-string", 't"a{x}b"\n', False),
    ("t-string assigned", 'x = 1\ny = t"{x!r:>4}"\n', False),
    ("raw t-string tr", 'tr"a{x}"\n', False),
    ("raw t-string RT", 'RT"a{x}"\n', False),
    ("triple t-string", 't"""\n{x}\n"""\n', False),
    ("t-string concat f-string", 'x = t"a" f"b"\n', False),
    ("t-string concat str", 'x = t"a" "b"\n', False),
    ("empty t-string", "t''\n", False),
    ("except A, B", "try:\n    pass\nexcept A, B:\n    pass\n", False),
    ("except* A, B", "try:\n    pass\nexcept* A, B:\n    pass\n", False),
    ("except A, B as e", "try:\n    pass\nexcept A, B as e:\n    pass\n", False),
    ("return in finally (-W error)", "def f():\n    try:\n        pass\n    finally:\n        return 1\n", True),
    ("break in finally (-W error)", "for x in y:\n    try:\n        pass\n    finally:\n        break\n", True),
    ("lazy import", "lazy import os\n", False),
    ("lazy from import", "lazy from os import path\n", False),
    ("lazy import in function", "def f():\n    lazy import os\n", False),
    ("lazy import in try", "try:\n    lazy import os\nexcept ImportError:\n    pass\n", False),
    ("lazy from import *", "lazy from os import *\n", False),
    ("lazy from __future__", "lazy from __future__ import annotations\n", False),
    ("lazy import in class", "class C:\n    lazy import os\n", False),
    ("lazy as a name", "lazy = 1\nlazy.x = 2\nlazy[0]\n", False),
    ("unpacking in list comprehension", "x = [*a for a in b]\n", False),
    ("unpacking in set comprehension", "x = {*a for a in b}\n", False),
    ("unpacking in genexp", "x = (*a for a in b)\n", False),
    ("dict unpacking in dict comprehension", "x = {**d for d in ds}\n", False),
]

WORKER = r'''
import json, sys, warnings
res = []
for name, src, werror in json.load(sys.stdin):
    with warnings.catch_warnings():
        warnings.simplefilter("error" if werror else "ignore")
        try:
            compile(src.encode("utf-8"), "<snippet>", "exec", dont_inherit=True)
            res.append("OK")
        except SyntaxError as e:
            res.append("%s: %s (%s, %s, %s, %s)" % (type(e).__name__, e.msg, e.lineno,
                                                  e.offset, e.end_lineno, e.end_offset))
        except BaseException as e:
            res.append("%s: %s" % (type(e).__name__, e))
print(json.dumps([sys.version.split()[0], res]))
'''


def main():
    cols = []
    for py in sys.argv[1:]:
        out = subprocess.run([py, "-I", "-c", WORKER], input=json.dumps(SNIPPETS),
                             capture_output=True, text=True, check=True).stdout
        cols.append(json.loads(out))
    print("| snippet | " + " | ".join(v for v, _ in cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for i, (name, src, werror) in enumerate(SNIPPETS):
        cells = [c[1][i].replace("|", "\\|") for c in cols]
        print("| %s `%s` | %s |" % (name, src.replace("\n", "⏎").replace("|", "\\|"), " | ".join(cells)))


main()
