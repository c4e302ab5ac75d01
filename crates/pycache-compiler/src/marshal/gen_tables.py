"""Writes the marshal stage's table of one CPython release: what a fresh
`python -I [-O|-OO] -m py_compile FILE` process of that release (the
reference `pycache verify --reference fresh` and corpus/golden.py run) has
interned at the moment py_compile compiles FILE.

Run with each release's interpreter, from the crate's directory:

    ~/.pyenv/versions/3.12.1/bin/python3.12 src/marshal/gen_tables.py > src/marshal/tables.rs
    ~/.pyenv/versions/3.13.0/bin/python3.13 src/marshal/gen_tables.py --base src/marshal/tables.rs > src/marshal/tables313.rs
    /opt/pycache-pythons/3.13.5/usr/bin/python3.13 src/marshal/gen_tables.py --base src/marshal/tables313.rs > src/marshal/tables313_5.rs
    (and 3.13.15, 3.13.18 into tables313_15.rs, tables313_18.rs, on the same base)
    /opt/pycache-pythons/3.14.10/usr/bin/python3.14 src/marshal/gen_tables.py --base src/marshal/tables.rs > src/marshal/tables314.rs
    /opt/pycache-pythons/3.15.0/usr/bin/python3.15 src/marshal/gen_tables.py --base src/marshal/tables313.rs > src/marshal/tables315.rs
    /opt/pycache-pythons/3.15.2/usr/bin/python3.15 src/marshal/gen_tables.py --base src/marshal/tables315.rs > src/marshal/tables315_2.rs

The releases' lists of names share most of their entries, so a table made
with `--base` holds only what its lists add to the base table's and remove
from them (the base may itself be such a table); src/marshal.rs merges them
once per process. The test `the_fresh_process_table_is_up_to_date` knows
each table's base.

A previous revision of this script, which modelled a `-c` process, made
the first tables314.rs: it lacked the ~1,800 names and ~260 qualified names that `-m py_compile`'s
argparse and its imports intern (a nested class's qualified name constant in
argparse.py came out interned where CPython writes it plain). 3.14 needs its
own check of the child's own strings (`check_own_strings_314`).

The first line of the output names the release; src/marshal.rs lists the
tables and src/target.rs wires each profile to its own. A fresh process of
one release interns other strings than another's (3.13.5, 3.13.15 and
3.13.18 all differ, and pyenv's 3.13.0 from Debian's builds), so each release
has its table. The table holds the names interned at every level 0, 1 and 2
(3.13's `re` interns `AT_` and `CATEGORY_` only without -O; such names are
left out), in every one of several processes (enum's `_<class>__in_progress`
names, held by a cycle the collector frees at no fixed time, are left out).
The test `the_fresh_process_table_is_up_to_date` regenerates each table with
its release when installed.

The `_Py_ID` names of 3.13 are read from `_PyRuntime`; the optional first
argument is a `pycore_global_strings.h` (default: the interpreter's own, when
it has headers; Debian's builds have none) whose `STRUCT_FOR_ID` names must
all be found there, a check of the scan.

How the process is observed. The child is started with `-I` (and `-O`,
`-OO`), like the reference, but runs a small program with `-c` that replaces
`SourceFileLoader.source_to_code` (what `py_compile.compile` calls to
compile) and then runs py_compile as `__main__` through
`runpy._run_module_as_main`, with `sys.argv` as `-m` leaves it. So py_compile's
`main()` imports argparse and parses its arguments as in the reference, and
the replacement runs, for FILE only, where the compile would. Two kinds of
child:

- the first lists candidates: the keys of the interpreter's interned-string
  dict (found by scanning `_PyRuntime` with ctypes: 3.12's runtime-wide
  dict, 3.13's main interpreter's, which `_PyRuntime` embeds), the
  statically allocated ASCII strings embedded in `_PyRuntime` (3.13 keeps
  its `_Py_ID` names in a runtime hashtable, not the dict; when the
  release's `Include/internal/pycore_global_strings.h` is at hand, from its
  headers or as the first argument, every `_Py_ID` name it declares must be
  among them) and the strings of the frozen modules' code objects;
- the second, untouched by ctypes, says which candidates are really
  interned (`sys.intern(s) is not s` for a fresh copy `s`), and how
  marshal sees each one-character Latin-1 string (the static singleton
  may or may not be the interned object for its character).

The child's own program interns its identifiers when it is compiled, before
py_compile runs. Each of them must be interned in the reference process
anyway, which is checked from outside, on the reference's output: a real
`python -I -m py_compile` compiles a file in which two functions share a
frozenset holding the identifier as a string constant; the code objects
rebuild that frozenset in each function (two frozensets written) exactly
when the string was already interned before the compile.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import sysconfig
import tempfile

# Runs in the child as `python -I [-O] -c LAUNCH runpy py_compile FILE`.
# Only names the reference process interns anyway (checked by
# `check_own_names`), and no string constant that is not one of them: the
# module names come from the command line (the reference imports runpy
# from C and never interns its name).
LAUNCH = r"""
import sys, importlib.machinery
def source_to_code(self, data, path, *, _optimize=-1):
    if path != sys.argv[1]:
        return sys.exc_info.__self__.modules['importlib._bootstrap_external'].SourceLoader.source_to_code(self, data, path, _optimize=_optimize)
%s
    sys.stdout.flush()
    sys.modules['os']._exit(0)
importlib.machinery.SourceFileLoader.source_to_code = source_to_code
__import__(sys.argv.pop(1))._run_module_as_main(sys.argv.pop(1))
"""

ENUMERATE = r"""
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
    # A statically allocated compact ASCII string: its type is str and its
    # state (interned:2, kind:3 = 1, compact, ascii, statically_allocated)
    # says so; its text follows the 40-byte header.
    if base + off + 40 < end and ctypes.c_void_p.from_address(base + off + 8).value == id(str):
        length = ctypes.c_ssize_t.from_address(base + off + 16).value
        state = ctypes.c_uint8.from_address(base + off + 32).value
        if state & 0xfc == 0xe4 and 0 < length < 200 and base + off + 40 + length <= end:
            statics.append(ctypes.string_at(base + off + 40, length).decode('ascii', 'replace'))
    if found is not None or not p or p % 8 or not inside(p, 64):
        continue
    if ctypes.c_void_p.from_address(p + 8).value != id(dict) or ctypes.c_ssize_t.from_address(p + 16).value <= 1000:
        continue
    d = ctypes.cast(p, ctypes.py_object).value
    if len(d) > 1000 and 'found' in d and all(type(k) is str and k is v for k, v in d.items()):
        found = list(d)
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
sys.stdout.write('\n'.join(sorted(out)) + '\n\0statics\0\n' + '\n'.join(sorted(set(statics))))
"""

PROBE = r"""
import marshal
name = sys.stdin.read().split('\n')
sys.stdout.write(' '.join([str(ord(item)) for item in map(chr, range(256)) if marshal.dumps(item)[0] & 0x7f in b'Zt']))
sys.stdout.write('\n#\n')
sys.stdout.write(' '.join([str(ord(item)) for item in map(chr, range(256)) if sys.intern(item) is not item]))
sys.stdout.write('\n#\n')
sys.stdout.write('\n'.join([item for item in name if sys.intern(item) is not item]))
"""

PROBES = 8
LEVEL_FLAGS = {0: [], 1: ['-O'], 2: ['-OO']}


def launcher(body):
    launch = LAUNCH
    if sys.version_info[:2] >= (3, 15):
        # 3.15's loader passes the module's name too (py_compile: None).
        launch = launch.replace('path, *, _optimize=-1', 'path, fullname=None, *, _optimize=-1').replace(
            'source_to_code(self, data, path, _optimize', 'source_to_code(self, data, path, fullname, _optimize')
    return launch % '\n'.join('    ' + line for line in body.strip('\n').split('\n'))


def env():
    # -I ignores PYTHON* variables; they are dropped anyway, so that nothing
    # (PYTHONDONTWRITEBYTECODE among them) differs from the reference.
    return {k: v for k, v in os.environ.items() if not k.startswith('PYTHON')}


def run_launched(body, level, scratch, stdin=''):
    source = os.path.join(scratch, 'mod.py')
    out = subprocess.run([sys.executable, '-I'] + LEVEL_FLAGS[level] + ['-c', launcher(body), 'runpy', 'py_compile', source],
                         env=env(), cwd=scratch, input=stdin, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit('gen_tables: the child failed (%d):\n%s' % (out.returncode, out.stderr))
    return out.stdout


def py_compile(path, level, cwd):
    """The cache a real `python -I -m py_compile PATH` writes, as bytes."""
    out = subprocess.run([sys.executable, '-I'] + LEVEL_FLAGS[level] + ['-m', 'py_compile', path], env=env(),
                         cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit('gen_tables: py_compile failed (%d):\n%s' % (out.returncode, out.stderr))
    caches = os.path.join(os.path.dirname(path), '__pycache__')
    (cache,) = os.listdir(caches)
    with open(os.path.join(caches, cache), 'rb') as f:
        data = f.read()
    shutil.rmtree(caches)
    return data


def code_strings(source):
    """Identifier-like strings of two characters or more that compiling
    `source` interns (names and constants of every code object)."""
    out = set()
    stack = [compile(source, '<launch>', 'exec')]
    while stack:
        k = stack.pop()
        if hasattr(k, 'co_consts'):
            stack.extend(k.co_consts)
            out.update(k.co_names, k.co_varnames, k.co_cellvars, k.co_freevars, (k.co_name,))
        elif type(k) in (tuple, frozenset):
            stack.extend(k)
        elif type(k) is str:
            out.add(k)
    return sorted(s for s in out if len(s) > 1 and name_chars(s))


def interned_by_reference(names, level, scratch):
    """Which of `names` a real `python -I -m py_compile` process has interned
    before it compiles: observed on its output. Name i is put in a
    frozenset of i + 2 items that two functions share; the compile
    rebuilds it in each (two frozensets of that size written) exactly when
    the name met an interned twin."""
    lines = []
    for i, name in enumerate(names):
        items = ', '.join([repr(name)] + ["'q %d'" % j for j in range(i + 1)])
        lines.append('def qzqf%d(qzqx): return qzqx in {%s}' % (i, items))
        lines.append('def qzqg%d(qzqx): return qzqx in {%s}, 1' % (i, items))
    path = os.path.join(scratch, 'names.py')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    data = py_compile(path, level, scratch)
    out = []
    for i, name in enumerate(names):
        size = struct.pack('<I', i + 2)
        written = data.count(b'>' + size) + data.count(b'\xbe' + size)
        if written not in (1, 2):
            sys.exit('gen_tables: %d frozensets of %r in the reference output' % (written, name))
        if written == 2:
            out.append(name)
    return out


def name_chars(text):
    return all(c.isascii() and (c.isalnum() or c == '_') for c in text)


def rust_bytes(text):
    return 'b"%s"' % ''.join('\\x%02x' % b for b in text.encode('utf-8'))


def table(level, header_ids, scratch):
    """(marked chars, shadowed chars, names, others, unstable names) at `level`."""
    version = sys.version_info[:2]
    listed, statics = run_launched(ENUMERATE, level, scratch).split('\n\0statics\0\n')
    statics = set(statics.split('\n'))
    absent = sorted(header_ids - statics)
    if absent:
        sys.exit('gen_tables: _Py_ID names not found in _PyRuntime: %s' % absent[:20])
    candidates = set(listed.split('\n')) | statics
    asked = sorted(c for c in candidates if len(c) > 1 and name_chars(c))
    # 3.13 interns most strings mortally: one that dies leaves the table, so
    # a few (enum's `_X__in_progress` names) are interned in some fresh
    # processes and not others. Only names interned in every one of several
    # probes are listed.
    runs = [run_launched(PROBE, level, scratch, '\n'.join(asked)).split('\n#\n') for _ in range(PROBES)]
    marked, shadowed, _ = runs[0]
    stable = set.intersection(*(set(n for n in r[2].split('\n') if n) for r in runs))
    unstable = set.union(*(set(n for n in r[2].split('\n') if n) for r in runs)) - stable
    others = []
    if version != (3, 12):
        # Other strings the code object interns as a qualified name or file
        # name (one line each, no backslash), asked the same way.
        asked_other = sorted(c for c in candidates if len(c) > 1 and not name_chars(c) and c.isprintable()
                             and '\\' not in c and not c.startswith('/')
                             and any(x in c for x in './<'))
        found = [set(n for n in run_launched(PROBE, level, scratch, '\n'.join(asked_other)).split('\n#\n')[2]
                     .split('\n') if n) for _ in range(PROBES)]
        others = sorted(set.intersection(*found))
    shadowed = [int(p) for p in shadowed.split()]
    marked = [int(p) for p in marked.split()]
    return marked, shadowed, stable, others, unstable


def check_own_names(level, scratch):
    # The first child's program (ctypes and all) only adds candidates,
    # which the second, clean one rejects.
    own = code_strings(launcher(PROBE))
    if sys.version_info[:2] >= (3, 14):
        return check_own_strings_314(own, level, scratch)
    missing = sorted(set(own) - set(interned_by_reference(own, level, scratch)))
    if missing:
        sys.exit('gen_tables: the child program interns names the reference process does not: %s' % missing)
    return own


# Pyodide (`--pyodide`): CPython 3.12.7 exists here only as WebAssembly
# under Node.js (corpus/pyodide), without ctypes or /proc, and the golden
# digests come from one Pyodide interpreter that compile.mjs loads, imports
# py_compile into and then compiles every file in. What matters is what that
# interpreter has interned when it compiles. So:
# - candidates are listed by a program run in a Pyodide of the same package
#   (corpus/pyodide/python.mjs) after the imports compile.mjs makes: every
#   string reachable from the objects the collector tracks (containers,
#   functions, classes, modules) and the names and constants of every code
#   object among them, the strings of compile.mjs's own program, and the
#   names of the 3.12.1 table (tables.rs: its `_Py_ID` names among them);
# - which candidates are interned is observed on compile.mjs's own output,
#   as `interned_by_reference` does for a native process: each name sits in
#   a frozenset that two functions share, and the cache holds two frozensets
#   of its size exactly when the name was interned before the compile. The
#   names go in batches of BATCH files, all compiled by one compile.mjs run
#   (the first batch by a fresh interpreter; later ones differ only by the
#   earlier batches' names, none of which is asked again);
# - one-character strings are asked in that Pyodide: whether marshal writes
#   the singleton as interned, and whether the interned object for a letter
#   is another object than the singleton.
CANDIDATES = r"""
import gc, json, sys, types, marshal
import os, py_compile
out = set()
def add(x):
    if type(x) is str:
        out.add(x)
def walk_code(co):
    stack = [co]
    while stack:
        k = stack.pop()
        if isinstance(k, types.CodeType):
            for group in (k.co_names, k.co_varnames, k.co_cellvars, k.co_freevars, (k.co_name, k.co_qualname)):
                for n in group:
                    add(n)
            stack.extend(k.co_consts)
        elif type(k) in (tuple, frozenset):
            stack.extend(k)
        else:
            add(k)
for obj in gc.get_objects():
    if type(obj) is dict:
        for k, v in obj.items():
            add(k)
            add(v)
    elif type(obj) in (list, tuple, set, frozenset):
        for v in obj:
            add(v)
    elif isinstance(obj, types.FunctionType):
        walk_code(obj.__code__)
        add(obj.__name__)
        add(obj.__qualname__)
    elif isinstance(obj, types.CodeType):
        walk_code(obj)
    elif isinstance(obj, (type, types.ModuleType)):
        for n in dir(obj):
            add(n)
marked = [i for i in range(256) if marshal.dumps(chr(i))[0] & 0x7f in b'Zt']
shadowed = [i for i in range(256) if sys.intern(chr(i)) is not chr(i)]
sys.stdout.write(json.dumps({'names': sorted(out), 'marked': marked, 'shadowed': shadowed,
                             'version': '%d.%d.%d' % sys.version_info[:3]}))
"""

BATCH = 100


def pyodide_main(package):
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.normpath(os.path.join(here, '..', '..', '..', '..'))
    pyodide = os.path.join(repo, 'corpus', 'pyodide')
    out = subprocess.run(['node', os.path.join(pyodide, 'python.mjs'), '--package', package, '-c', CANDIDATES],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit('gen_tables: the Pyodide child failed (%d):\n%s' % (out.returncode, out.stderr))
    found = __import__('json').loads(out.stdout)
    release = found['version']
    if not release.startswith('3.12.'):
        sys.exit('gen_tables: --pyodide knows CPython 3.12 only, not %s' % release)
    candidates = set(found['names'])
    with open(os.path.join(pyodide, 'compile.mjs')) as f:
        launcher_program = f.read().split('runPython(`', 1)[1].split('`);', 1)[0]
    candidates.update(code_strings(launcher_program))
    with open(os.path.join(here, 'tables.rs')) as f:
        table_312 = f.read().split('FRESH_PROCESS_NAMES')[1].split('];')[0]
    candidates.update(re.findall(r'^\s*"(.*)",$', table_312, re.M))
    asked = sorted(c for c in candidates if len(c) > 1 and name_chars(c))
    batches = [asked[i:i + BATCH] for i in range(0, len(asked), BATCH)]
    with tempfile.TemporaryDirectory(prefix='gen_tables-') as scratch:
        src = os.path.join(scratch, 'src')
        os.makedirs(src)
        files = []
        for n, names in enumerate(batches):
            lines = []
            for i, name in enumerate(names):
                items = ', '.join([repr(name)] + ["'q %d'" % j for j in range(i + 1)])
                lines.append('def qzqf%d(qzqx): return qzqx in {%s}' % (i, items))
                lines.append('def qzqg%d(qzqx): return qzqx in {%s}, 1' % (i, items))
            files.append('names%03d.py' % n)
            with open(os.path.join(src, files[-1]), 'w') as f:
                f.write('\n'.join(lines) + '\n')
        jobs = os.path.join(scratch, 'jobs.json')
        with open(jobs, 'w') as f:
            __import__('json').dump({'root': src, 'out': os.path.join(scratch, 'out'), 'files': files,
                                     'levels': [0, 1, 2]}, f)
        run = subprocess.run(['node', os.path.join(pyodide, 'compile.mjs'), '--package', package, jobs],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit('gen_tables: compile.mjs failed (%d):\n%s' % (run.returncode, run.stderr))
        per_level = []
        for level in (0, 1, 2):
            interned = set()
            for file, names in zip(files, batches):
                with open(os.path.join(scratch, 'out', str(level), file + 'c'), 'rb') as f:
                    data = f.read()
                for i, name in enumerate(names):
                    # A frozenset's type byte (flagged or not), its size,
                    # then its first item: a string or a reference to one
                    # (so that bytecode happening to hold the same bytes is
                    # not counted).
                    size = re.escape(struct.pack('<I', i + 2))
                    written = len(re.findall(b'[>\\xbe]' + size + b'[zZuUtTaArR\\xda\\xfa\\xf5\\xd5\\xf4\\xd4\\xe1\\xc1\\xe4\\xc4\\xf2\\xd2]', data))
                    if written not in (1, 2):
                        sys.exit('gen_tables: %d frozensets of %r in the reference output' % (written, name))
                    if written == 2:
                        interned.add(name)
            per_level.append(interned)
    names = sorted(set.intersection(*per_level))
    # The table is read at every level: a name interned at some levels only
    # would be left out, as for native processes.
    print('// Generated by gen_tables.py --pyodide from CPython %s, do not edit: Pyodide\'s' % release)
    print('// WebAssembly build (npm %s), `python3 src/marshal/gen_tables.py --pyodide %s > src/marshal/FILE` in'
          % (package.replace('pyodide-', 'pyodide@'), package))
    print('// crates/pycache-compiler, after `npm ci` in corpus/pyodide. It describes the interpreter')
    print('// corpus/pyodide/compile.mjs compiles in (corpus/golden.py\'s 3.12.7 digests).')
    emit(found['marked'], found['shadowed'], names, [], '3.12', 'in compile.mjs\'s interpreter')


def base_lists(path):
    """The complete names and other strings of a table this script wrote,
    following its bases."""
    with open(path) as f:
        text = f.read()

    def items(const):
        found = re.search(r'^pub\(crate\) const %s: &\[&str\] = &\[\n(.*?)^\];' % const, text, re.M | re.S)
        if not found:
            return []
        return [line.strip()[1:-2].replace('\\"', '"') for line in found.group(1).splitlines()]

    base = re.search(r'^// Edits (\S+)\'s lists', text, re.M)
    if not base:
        return items('FRESH_PROCESS_NAMES'), items('FRESH_PROCESS_OTHERS')
    names, others = base_lists(os.path.join(os.path.dirname(path), base.group(1)))
    names = sorted((set(names) | set(items('ADDED_NAMES'))) - set(items('REMOVED_NAMES')))
    others = sorted((set(others) | set(items('ADDED_OTHERS'))) - set(items('REMOVED_OTHERS')))
    return names, others


def print_list(const, items):
    print('pub(crate) const %s: &[&str] = &[' % const)
    for item in items:
        print('    "%s",' % item.replace('"', '\\"'))
    print('];')


def emit(marked, shadowed, names, others, version, probes='in each of %d probes' % PROBES, base=None):
    odd = [chr(p) for p in shadowed if not name_chars(chr(p))]
    if odd:
        sys.exit('non-identifier characters with their own interned object: %r' % odd)
    print()
    print('/// One-character strings, other than letters, digits and `_`, whose static')
    print('/// singleton a fresh CPython %s `-m py_compile` process has interned,' % version)
    print('/// as UTF-8.')
    items = ', '.join(rust_bytes(chr(p)) for p in marked if not name_chars(chr(p)))
    print('pub(crate) const FRESH_PROCESS_CHARS: &[&[u8]] = &[%s];' % items)
    print()
    print('/// Letters, digits and `_` whose interned object in such a process is not')
    print('/// the static singleton (a deep-frozen module brought its own).')
    print('pub(crate) const SHADOWED_CHARS: &[u8] = b"%s";' % ''.join(chr(p) for p in shadowed if name_chars(chr(p))))
    print()
    if base:
        base_names, base_others = base_lists(base)
        print('/// Identifier-like strings of two characters or more that such a process')
        print('/// has interned at every level %s (a few more are interned' % probes)
        print('/// only at some levels or in only some processes): the base\'s, with these')
        print('/// added, sorted,')
        print_list('ADDED_NAMES', sorted(set(names) - set(base_names)))
        print()
        print('/// and these removed, sorted.')
        print_list('REMOVED_NAMES', sorted(set(base_names) - set(names)))
        print()
        print('/// Other strings such a process has interned that a code object could')
        print('/// intern as its qualified name or file name (holding `.`, `/` or `<`;')
        print('/// absolute paths, which depend on the installation, left out): the')
        print('/// base\'s, with these added, sorted,')
        print_list('ADDED_OTHERS', sorted(set(others) - set(base_others)))
        print()
        print('/// and these removed, sorted.')
        print_list('REMOVED_OTHERS', sorted(set(base_others) - set(others)))
        return
    print('/// Identifier-like strings of two characters or more that such a process')
    print('/// has interned at every level %s, sorted (a few more are' % probes)
    print('/// interned only at some levels or in only some processes).')
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


def check_own_strings_314(own, level, scratch):
    """3.14's compiler interns a string constant before it builds a
    frozenset of it, so no frozenset is ever rebuilt and the identifiers of
    the table (used for nothing else) leave no trace in the output: the
    child's own identifiers cannot make the table wrong. That is checked
    (a name every process has interned, in a frozenset two functions share,
    is written once). The strings of the child's program that are not
    identifiers could land in the table of other strings, which decides
    whether a class body's qualified name constant is interned: each must
    be interned by the reference process too, observed on the constant of
    a class body nested so that its qualified name is that string (written
    uninterned exactly when the process had interned the text)."""
    path = os.path.join(scratch, 'shared.py')
    with open(path, 'w') as f:
        f.write("def qzqf(qzqx): return qzqx in {'argv', 'q 0'}\n"
                "def qzqg(qzqx): return qzqx in {'argv', 'q 0'}, 1\n")
    written = py_compile(path, level, scratch).count(b'>' + struct.pack('<I', 2))
    if written != 1:
        sys.exit('gen_tables: 3.14 rebuilt a shared frozenset (%d written): the name table matters again' % written)
    dotted = sorted(s for s in code_constants(launcher(PROBE))
                    if not name_chars(s) and '.' in s and all(name_chars(p) and p for p in s.split('.')))
    others = [s for s in code_constants(launcher(PROBE)) if not name_chars(s) and s not in dotted]
    odd = [s for s in others if s.isprintable() and '\\' not in s and not s.startswith('/') and any(x in s for x in './<')]
    if odd:
        sys.exit('gen_tables: the child program has strings that cannot be checked: %s' % odd)
    missing = [s for s in dotted if not qualname_interned_by_reference(s, level, scratch)]
    if missing:
        sys.exit('gen_tables: the child program interns strings the reference process does not: %s' % missing)
    return own


def code_constants(source):
    """Every string constant of `source`'s code objects."""
    out = set()
    stack = [compile(source, '<launch>', 'exec')]
    while stack:
        k = stack.pop()
        if hasattr(k, 'co_consts'):
            stack.extend(k.co_consts)
        elif type(k) in (tuple, frozenset):
            stack.extend(k)
        elif type(k) is str:
            out.add(k)
    return out


def qualname_interned_by_reference(dotted, level, scratch):
    """Whether a real `python -I -m py_compile` process has interned the
    text `dotted` (`a.b.c`) before it compiles: the innermost of classes
    `a`, `b`, `c` nested in each other has it as qualified name, and its
    body's first constant is written uninterned (`z`/`a`) exactly then,
    beside the interned `co_qualname`."""
    parts = dotted.split('.')
    lines = ['%sclass %s:' % ('    ' * i, part) for i, part in enumerate(parts)]
    lines.append('%spass' % ('    ' * len(parts)))
    path = os.path.join(scratch, 'nested.py')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    data = py_compile(path, level, scratch)
    text = dotted.encode('ascii')
    short = len(text) < 256
    prefix = struct.pack('<B', len(text)) if short else struct.pack('<I', len(text))
    kinds = {'plain': b'za' if short else b'a', 'interned': b'ZA' if short else b'A'}
    seen = {k: any(data.count(bytes([c | flag]) + prefix + text) for c in v for flag in (0, 0x80))
            for k, v in kinds.items()}
    # `co_qualname` is always interned; the constant is that very object
    # (written once, interned) unless the process had an interned twin.
    if not seen['interned']:
        sys.exit('gen_tables: no qualified name %r in the reference output' % dotted)
    return seen['plain']


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--pyodide':
        return pyodide_main(sys.argv[2] if len(sys.argv) > 2 else 'pyodide-0.27.7')
    if sys.version_info[:2] not in ((3, 12), (3, 13), (3, 14), (3, 15)):
        sys.exit('run this with CPython 3.12, 3.13, 3.14 or 3.15')
    version = '%d.%d' % sys.version_info[:2]
    args = sys.argv[1:]
    base = None
    if args[:1] == ['--base']:
        base, args = args[1], args[2:]
    header = args[0] if args else os.path.join(
        sysconfig.get_path('include'), 'internal', 'pycore_global_strings.h')
    header_ids = set()
    if os.path.exists(header):
        with open(header) as f:
            header_ids = set(re.findall(r'^\s*STRUCT_FOR_ID\((\w+)\)', f.read(), re.M))
    with tempfile.TemporaryDirectory(prefix='gen_tables-') as scratch:
        with open(os.path.join(scratch, 'mod.py'), 'w') as f:
            f.write('pass\n')
        for level in LEVEL_FLAGS:
            # The first run may compile the standard library's own caches
            # (a build unpacked without them); later ones load them.
            py_compile(os.path.join(scratch, 'mod.py'), level, scratch)
            check_own_names(level, scratch)
        tables = [table(level, header_ids, scratch) for level in LEVEL_FLAGS]
    for level, other in enumerate(tables[1:], 1):
        if other[:2] != tables[0][:2] or other[3] != tables[0][3]:
            sys.exit('gen_tables: the one-character strings or other strings differ at level %d' % level)
    marked, shadowed, _, others, _ = tables[0]
    # A few names are interned at one level and not another (3.13's `re`
    # interns 'AT_' and 'CATEGORY_' only without -O): the table is for
    # every level, so they are left out and counted with the unstable ones.
    every = set.intersection(*(t[2] for t in tables))
    # enum's `_<class>__in_progress` names (3.13) live only while a cycle
    # the collector frees at no fixed time holds them: interned in most
    # processes, never in all, they are left out so the table is the same
    # from one run to the next.
    every = {n for n in every if not n.endswith('__in_progress')}
    unstable = set.union(*(t[2] | t[4] for t in tables)) - every
    names = sorted(every)
    print('// Generated by gen_tables.py from CPython %s, do not edit: that release\'s' % sys.version.split()[0])
    if base:
        print('// `python%s src/marshal/gen_tables.py --base src/marshal/%s > src/marshal/FILE` in'
              % (version, os.path.basename(base)))
        print('// crates/pycache-compiler.')
        print('// Edits %s\'s lists of names and other strings.' % os.path.basename(base))
    else:
        print('// `python%s src/marshal/gen_tables.py > src/marshal/FILE` in crates/pycache-compiler.' % version)
    # The marshal stage assumes that only identifier characters can have an
    # interned object other than their singleton (checked by `emit`).
    emit(marked, shadowed, names, others, version, base=base)


if __name__ == '__main__':
    main()
