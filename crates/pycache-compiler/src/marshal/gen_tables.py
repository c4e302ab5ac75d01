"""Writes tables.rs (3.12), tables313.rs (3.13) or tables314.rs (3.14): what
a fresh CPython process of that version running py_compile has interned
before it compiles anything (the opcode numbers the marshal stage reads code
with come from the target's opcode table).

Run with the interpreter:  python3.12 gen_tables.py > tables.rs
                           python3.13 gen_tables.py > tables313.rs
                           python3.14 gen_tables.py > tables314.rs
(a 3.12/3.13 build without headers: `python gen_tables.py
pycore_global_strings.h`, that header from the release's source; 3.14 needs
no header: the static strings are found in `_PyRuntime` itself).

Two children are started the way the reference compiles are (`-s -P -c`,
PYTHONHASHSEED=0, after `import sys, py_compile`):

- the first lists candidates: the keys of the interpreter's interned-string
  dict (found by scanning `_PyRuntime` with ctypes: 3.12's runtime-wide
  dict, 3.13's main interpreter's, which `_PyRuntime` embeds), the strings
  of the frozen modules' code objects and the `_Py_ID` names of the headers
  (3.13 keeps those in a runtime hashtable of static strings, not the dict);
  from 3.14 the static strings are instead read from `_PyRuntime` (every
  word pair there whose second word is `str`'s type is a static string
  object), so no header is needed;
- the second, untouched by ctypes, says which candidates are really
  interned (`sys.intern(s) is not s` for a fresh copy `s`), and how
  marshal sees each one-character Latin-1 string (the static singleton
  may or may not be the interned object for its character).
"""
import os
import re
import subprocess
import sys
import sysconfig

ENUMERATE = r"""
import sys, py_compile
import ctypes, _imp
maps = []
for row in open('/proc/self/maps'):
    cols = row.split()
    lo, hi = (int(x, 16) for x in cols[0].split('-'))
    if cols[1].startswith('r'):
        maps.append((lo, hi))
def inside(p, size):
    return any(lo <= p and p + size <= hi for lo, hi in maps)
base = ctypes.addressof(ctypes.c_void_p.in_dll(ctypes.pythonapi, '_PyRuntime'))
end = next(hi for lo, hi in maps if lo <= base < hi)
found = None
statics = []
for off in range(0, end - base - 8, 8):
    p = ctypes.c_void_p.from_address(base + off).value
    if STATICS and ctypes.c_void_p.from_address(base + off + 8).value == id(str):
        s = ctypes.cast(base + off, ctypes.py_object).value
        if type(s) is str and s.isprintable():
            statics.append(s)
    if found is not None:
        continue
    if not p or p % 8 or not inside(p, 64):
        continue
    if ctypes.c_void_p.from_address(p + 8).value != id(dict):
        continue
    d = ctypes.cast(p, ctypes.py_object).value
    if len(d) > 1000 and 'py_compile' in d and all(type(k) is str and k is v for k, v in d.items()):
        found = list(d)
        if not STATICS:
            break
assert found, 'no interned dict in _PyRuntime'
out = set(found) | set(statics)
def walk(co):
    for group in (co.co_names, co.co_varnames, co.co_cellvars, co.co_freevars, (co.co_name,)):
        out.update(group)
    stack = list(co.co_consts)
    while stack:
        k = stack.pop()
        if type(k) is str:
            out.add(k)
        elif type(k) in (tuple, frozenset):
            stack.extend(k)
        elif hasattr(k, 'co_consts'):
            walk(k)
for name in _imp._frozen_module_names():
    walk(_imp.get_frozen_object(name))
sys.stdout.write('\n'.join(sorted(out)))
sys.stdout.flush()
# Objects seen through raw pointers may not survive an orderly shutdown.
import os
os._exit(0)
"""

PROBE = r"""
import sys, py_compile, marshal
name = sys.stdin.read().split('\n')
sys.stdout.write(' '.join([str(ord(item)) for item in map(chr, range(256)) if marshal.dumps(item)[0] & 0x7f in b'Zt']))
sys.stdout.write('\n#\n')
sys.stdout.write(' '.join([str(ord(item)) for item in map(chr, range(256)) if sys.intern(item) is not item]))
sys.stdout.write('\n#\n')
sys.stdout.write('\n'.join([item for item in name if sys.intern(item) is not item]))
"""

# 3.13: other strings the code object interns as a qualified name or file
# name (one line each, no backslash), asked the same way.
PROBE_OTHER = r"""
import sys, py_compile
name = sys.stdin.read().split('\n')
sys.stdout.write('\n'.join([item for item in name if sys.intern(item) is not item]))
"""
# The probe's own identifiers must be interned before it runs, or it would
# report them as interned: they are checked against the candidates below.
PROBE_NAMES = ['sys', 'py_compile', 'name', 'stdin', 'read', 'split', 'stdout', 'write', 'join', 'item',
               'intern', 'marshal', 'str', 'ord', 'map', 'chr', 'range', 'dumps']


PROBES = 8


def run(code, stdin=''):
    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTHON')}
    env['PYTHONHASHSEED'] = '0'
    return subprocess.run([sys.executable, '-s', '-P', '-c', code], env=env, check=True, input=stdin,
                          capture_output=True, text=True).stdout


def name_chars(text):
    return all(c.isascii() and (c.isalnum() or c == '_') for c in text)


def rust_bytes(text):
    return 'b"%s"' % ''.join('\\x%02x' % b for b in text.encode('utf-8'))


def main():
    if sys.version_info[:2] not in ((3, 12), (3, 13), (3, 14)):
        sys.exit('run this with CPython 3.12, 3.13 or 3.14')
    version = '%d.%d' % sys.version_info[:2]
    statics = sys.version_info[:2] >= (3, 14)
    if statics:
        ids = set()
    else:
        # Builds without headers (Debian's) take the release's source tree's
        # Include/internal/pycore_global_strings.h as the first argument.
        header = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
            sysconfig.get_path('include'), 'internal', 'pycore_global_strings.h')
        ids = set(re.findall(r'STRUCT_FOR_ID\((\w+)\)', open(header).read()))
    enumerate_code = 'STATICS = %r\n' % statics + ENUMERATE
    candidates = set(run(enumerate_code).split('\n')) | ids
    missing = [n for n in PROBE_NAMES if n not in candidates]
    if missing:
        sys.exit('probe identifiers not interned beforehand: %s' % missing)
    asked = sorted(c for c in candidates if len(c) > 1 and name_chars(c))
    # 3.13 interns most strings mortally: one that dies leaves the table, so
    # a few (enum's `_X__in_progress` names) are interned in some fresh
    # processes and not others. Only names interned in every one of several
    # probes are listed.
    runs = [run(PROBE, '\n'.join(asked)).split('\n#\n') for _ in range(PROBES)]
    marked, shadowed, _ = runs[0]
    stable = set.intersection(*(set(n for n in r[2].split('\n') if n) for r in runs))
    unstable = set.union(*(set(n for n in r[2].split('\n') if n) for r in runs)) - stable
    names = sorted(stable)
    others = []
    if version != '3.12':
        asked_other = sorted(c for c in candidates if len(c) > 1 and not name_chars(c) and c.isprintable()
                             and '\\' not in c and not c.startswith('/')
                             and any(x in c for x in './<'))
        found = [set(n for n in run(PROBE_OTHER, '\n'.join(asked_other)).split('\n') if n) for _ in range(PROBES)]
        others = sorted(set.intersection(*found))
    shadowed = [int(p) for p in shadowed.split()]
    marked = [int(p) for p in marked.split()]
    # The marshal stage assumes that only identifier characters can have an
    # interned object other than their singleton.
    odd = [chr(p) for p in shadowed if not name_chars(chr(p))]
    if odd:
        sys.exit('non-identifier characters with their own interned object: %r' % odd)

    print('// Generated by gen_tables.py from CPython %s, do not edit.' % sys.version.split()[0])
    print()
    print('/// One-character strings, other than letters, digits and `_`, whose static')
    print('/// singleton a fresh CPython %s process running `py_compile` has interned,' % version)
    print('/// as UTF-8.')
    items = ', '.join(rust_bytes(chr(p)) for p in marked if not name_chars(chr(p)))
    print('pub(crate) const FRESH_PROCESS_CHARS: &[&[u8]] = &[%s];' % items)
    print()
    print('/// Letters, digits and `_` whose interned object in such a process is not')
    print('/// the static singleton (a deep-frozen module brought its own).')
    print('pub(crate) const SHADOWED_CHARS: &[u8] = b"%s";' % ''.join(chr(p) for p in shadowed if name_chars(chr(p))))
    print()
    print('/// Identifier-like strings of two characters or more that such a process')
    print('/// has interned, sorted (%d more were interned in only some of %d probes).' % (len(unstable), PROBES))
    print('pub(crate) const FRESH_PROCESS_NAMES: &[&str] = &[')
    for name in names:
        print('    "%s",' % name)
    print('];')
    if version != '3.12':
        print()
        print('/// Other strings such a process has interned that a code object could')
        print('/// intern as its qualified name or file name (holding `.`, `/` or `<`;')
        print('/// absolute paths, which depend on the installation, left out), sorted.')
        print('pub(crate) const FRESH_PROCESS_OTHERS: &[&str] = &[')
        for name in others:
            print('    "%s",' % name.replace('"', '\\"'))
        print('];')


if __name__ == '__main__':
    main()
