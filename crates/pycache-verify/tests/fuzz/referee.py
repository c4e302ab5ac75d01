"""The interpreter's side of the native compiler's differential fuzz test.

Reads lines `LEVEL PATH` from stdin; for each, compiles the file with
py_compile itself (into a scratch cache, `PATH` recorded as the file name)
and prints one JSON line: `{"ok": HEX}` (the cache without its header) or
`{"exception": NAME, "message": MSG, "lineno": N, "offset": N}`.

py_compile itself, not `compile()` and `marshal.dumps()` here: marshal
flags an object it sees held more than once, and how many references
py_compile's frames hold on the module's code object while it is marshalled
differs between releases (3.15 borrows them: its caches write the module's
code object unflagged, 3.12 to 3.14 flagged). A copy of the call would
follow its own frames' references, not py_compile's.
Many files share one process; the test compares code objects where bytes
differ (marshal's reference flags can follow what the process did before,
see ARCHITECTURE.md), and counts those as code-equal.
"""
import json
import os
import py_compile
import sys
import tempfile
import warnings


def main():
    warnings.simplefilter("ignore")
    out = sys.stdout
    scratch = tempfile.mkdtemp(prefix="pycache-referee-")
    cache = os.path.join(scratch, "out.pyc")
    # py_compile's default: its own marshal call, as `python -m py_compile`
    # makes it.
    timestamp = py_compile.PycInvalidationMode.TIMESTAMP
    for line in sys.stdin:
        level, _, path = line.rstrip("\n").partition(" ")
        try:
            py_compile.compile(path, cfile=cache, dfile=path, doraise=True,
                               optimize=int(level), invalidation_mode=timestamp)
            with open(cache, "rb") as f:
                result = {"ok": f.read()[16:].hex()}
        except (py_compile.PyCompileError, ValueError, MemoryError, RecursionError) as wrapped:
            # Compilation errors come wrapped; marshal's own (a code object
            # too deeply nested) come as they are.
            err = getattr(wrapped, "exc_value", wrapped)
            message = err.msg if isinstance(err, SyntaxError) else str(err)
            result = {
                "exception": type(err).__name__,
                "message": message,
                "lineno": getattr(err, "lineno", None),
                "offset": getattr(err, "offset", None),
            }
            err = wrapped = None
        out.write(json.dumps(result) + "\n")
        out.flush()
    if os.path.exists(cache):
        os.unlink(cache)
    os.rmdir(scratch)


main()
