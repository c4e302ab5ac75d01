"""The interpreter's side of the native compiler's differential fuzz test.

Reads lines `LEVEL PATH` from stdin; for each, compiles the file as
py_compile does (`compile(bytes, path, 'exec', dont_inherit=True,
optimize=LEVEL)`, then marshal) and prints one JSON line: `{"ok": HEX}` or
`{"exception": NAME, "message": MSG, "lineno": N, "offset": N}`.
Many files share one process; the test compares code objects (marshal's
reference flags can follow what the process did before, see
ARCHITECTURE.md), never only bytes.
"""
import json
import marshal
import sys
import warnings


def main():
    warnings.simplefilter("ignore")
    out = sys.stdout
    for line in sys.stdin:
        level, _, path = line.rstrip("\n").partition(" ")
        with open(path, "rb") as f:
            source = f.read()
        try:
            # A local, as in py_compile: 3.15 loads it without a new
            # reference, so marshal sees the module's code object held once
            # and writes it without FLAG_REF, as py_compile does (a
            # module-level global was held twice: flagged, unlike the cache).
            code = compile(source, path, "exec", dont_inherit=True, optimize=int(level))
            data = marshal.dumps(code)
            code = None
            result = {"ok": data.hex()}
        except (SyntaxError, ValueError, MemoryError, RecursionError, OverflowError, UnicodeError) as err:
            message = err.msg if isinstance(err, SyntaxError) else str(err)
            result = {
                "exception": type(err).__name__,
                "message": message,
                "lineno": getattr(err, "lineno", None),
                "offset": getattr(err, "offset", None),
            }
            err = None
        out.write(json.dumps(result) + "\n")
        out.flush()


main()
