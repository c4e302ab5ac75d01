"""Compare the caches in a tree with reference caches, file by file.

    python3.12 bench/compare_pycs.py REFERENCE_DIR TREE [--examples N]

Run it with the interpreter the caches are for: the bodies are loaded with its
own marshal. REFERENCE_DIR holds reference caches at the same relative paths
as TREE's caches. Prints JSON: how many reference caches the tree has
byte-identical, how many code-equal, how many differ, are missing, and how
many caches the tree has that the reference lacks; the caches that are not
code-equal counted by kind, with a few examples of each.

Code-equal: the same 16-byte header, and once loaded, the same code objects,
walked recursively: bytecode, constants (by type and exact value: -0.0 is not
0.0, 1 is not True; a frozenset by its members, in any order), names, local
and free variable names, file name, name, qualified name, first line, flags,
argument counts, stack size, line table and exception table. Marshal's
reference flags and its sharing of equal objects are invisible once loaded;
they differ legitimately between processes (CPython issue 129724), so they do
not count against a tool. A byte-identical cache is code-equal too.
"""
import json
import marshal
import os
import struct
import sys

CODE_FIELDS = (
    'co_argcount', 'co_posonlyargcount', 'co_kwonlyargcount', 'co_stacksize', 'co_flags',
    'co_code', 'co_consts', 'co_names', 'co_varnames', 'co_freevars', 'co_cellvars',
    'co_filename', 'co_name', 'co_qualname', 'co_firstlineno', 'co_linetable',
    'co_exceptiontable',
)
CodeType = type(compile('', '', 'exec'))


def key(value, depth=0, skip=()):
    """A hashable, exactly comparable stand-in for a marshalled constant
    (code objects without the fields in skip)."""
    if depth > 200:
        raise ValueError('constants nested too deep')
    kind = type(value)
    if kind is float:
        return ('float', struct.pack('<d', value))
    if kind is complex:
        return ('complex', struct.pack('<dd', value.real, value.imag))
    if kind is tuple or kind is list:
        return (kind.__name__, tuple(key(v, depth + 1, skip) for v in value))
    if kind is frozenset or kind is set:
        return (kind.__name__, tuple(sorted((key(v, depth + 1, skip) for v in value), key=repr)))
    if kind is dict:
        return ('dict', tuple(sorted(((key(k, depth + 1, skip), key(v, depth + 1, skip)) for k, v in value.items()), key=repr)))
    if kind is CodeType:
        return ('code',) + tuple((f, key(getattr(value, f, None), depth + 1, skip))
                                 for f in CODE_FIELDS if f not in skip)
    if kind is slice:
        return ('slice',) + tuple(key(v, depth + 1, skip) for v in (value.start, value.stop, value.step))
    return (kind.__name__, value)


def first_difference(a, b, path='module', skip=()):
    """Where two loaded objects first differ (for the report), or None."""
    if type(a) is not type(b):
        return '%s: %s vs %s' % (path, type(a).__name__, type(b).__name__)
    if isinstance(a, CodeType):
        for field in CODE_FIELDS:
            if field in skip:
                continue
            x, y = getattr(a, field, None), getattr(b, field, None)
            if field == 'co_consts':
                if len(x) != len(y):
                    return '%s.co_consts: %d vs %d constants' % (path, len(x), len(y))
                for i, (cx, cy) in enumerate(zip(x, y)):
                    found = first_difference(cx, cy, '%s.co_consts[%d]' % (path, i), skip)
                    if found:
                        return found
            elif key(x, skip=skip) != key(y, skip=skip):
                return '%s.%s' % (path, field)
        return None
    if key(a, skip=skip) != key(b, skip=skip):
        return path
    return None


def lines(code):
    """Every instruction's line number, nested code included (positions without columns)."""
    out = [tuple(code.co_lines())]
    for const in code.co_consts:
        if isinstance(const, CodeType):
            out.append(lines(const))
    return tuple(out)


def kind_of_difference(got, want):
    """Why two loaded modules are not code-equal, in broad terms."""
    if key(got, skip=('co_linetable',)) != key(want, skip=('co_linetable',)):
        return 'code (bytecode, constants, names or other fields)'
    if lines(got) != lines(want):
        return 'line numbers'
    return 'positions only (columns and end lines; same bytecode and line numbers)'


def compare(reference, tree, examples=5):
    out = {'reference': 0, 'identical': 0, 'code_equal': 0, 'different': 0, 'missing': 0,
           'extra': 0, 'kinds': {}, 'examples': {}, 'code_equal_not_identical': []}

    def note(rel, reason, kind):
        out['kinds'][kind] = out['kinds'].get(kind, 0) + 1
        shown = out['examples'].setdefault(kind, [])
        if len(shown) < examples:
            shown.append({'path': rel, 'reason': reason})

    wanted = set()
    for dirpath, _, names in os.walk(reference):
        for name in names:
            if not name.endswith('.pyc'):
                continue
            ref_path = os.path.join(dirpath, name)
            rel = os.path.relpath(ref_path, reference)
            wanted.add(rel)
            out['reference'] += 1
            with open(ref_path, 'rb') as f:
                want = f.read()
            try:
                with open(os.path.join(tree, rel), 'rb') as f:
                    got = f.read()
            except FileNotFoundError:
                out['missing'] += 1
                note(rel, 'no cache written', 'missing')
                continue
            if got == want:
                out['identical'] += 1
                out['code_equal'] += 1
                continue
            if got[:16] != want[:16]:
                out['different'] += 1
                note(rel, 'header %s vs %s' % (got[:16].hex(), want[:16].hex()), 'header')
                continue
            try:
                got_code = marshal.loads(got[16:])
            except Exception as e:  # a broken body is a wrong cache, whatever the error
                out['different'] += 1
                note(rel, 'body does not load: %s' % e, 'unloadable body')
                continue
            want_code = marshal.loads(want[16:])
            found = first_difference(got_code, want_code)
            if found:
                out['different'] += 1
                kind = kind_of_difference(got_code, want_code)
                if kind.startswith('code'):
                    found = first_difference(got_code, want_code, skip=('co_linetable',)) or found
                note(rel, found, kind)
            else:
                out['code_equal'] += 1
                if len(out['code_equal_not_identical']) < examples:
                    out['code_equal_not_identical'].append(rel)
    for dirpath, _, names in os.walk(tree):
        for name in names:
            if name.endswith('.pyc'):
                rel = os.path.relpath(os.path.join(dirpath, name), tree)
                if rel not in wanted:
                    out['extra'] += 1
                    note(rel, 'the reference has no cache here', 'extra')
    return out


def main():
    args = sys.argv[1:]
    examples = 5
    if '--examples' in args:
        i = args.index('--examples')
        examples = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    json.dump(compare(args[0], args[1], examples), sys.stdout, indent=1)
    print()


if __name__ == '__main__':
    main()
