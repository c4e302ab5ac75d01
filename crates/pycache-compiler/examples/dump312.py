"""Canonical dump of the code objects CPython 3.12 compiles, for comparing
with the native compiler (see examples/sweep.rs).

    python3.12 dump312.py OPTIMIZE < list-of-paths > dumps

Each file's dump ends with a line `@@END`; a file CPython refuses dumps
`@@ERROR <message>`.
"""
import sys

def const(c):
    t = type(c)
    if c is None: return 'None'
    if c is Ellipsis: return 'Ellipsis'
    if t is bool: return 'Bool(%s)' % c
    if t is int: return 'Int(%d)' % c
    if t is float: return 'Float(%s)' % c.hex()
    if t is complex: return 'Complex(%s,%s)' % (c.real.hex(), c.imag.hex())
    if t is str: return 'Str(%s)' % c.encode('utf-8', 'surrogatepass').hex()
    if t is bytes: return 'Bytes(%s)' % c.hex()
    if t is tuple: return 'Tuple(%s)' % ','.join(const(x) for x in c)
    if t is frozenset: return 'FrozenSet(%s)' % ','.join(sorted(const(x) for x in c))
    if t is slice: return 'Slice(%s)' % ','.join(const(x) for x in (c.start, c.stop, c.step))
    if hasattr(c, 'co_code'): return 'Code(%s)' % c.co_qualname
    return 'Other(%r)' % (c,)

def dump(co, out):
    out.append('code %s %s' % (co.co_qualname, co.co_name))
    out.append(' args %d %d %d stack %d flags %x first %d' % (co.co_argcount, co.co_posonlyargcount,
               co.co_kwonlyargcount, co.co_stacksize, co.co_flags, co.co_firstlineno))
    out.append(' code %s' % co.co_code.hex())
    out.append(' names %s' % ' '.join(n for n in co.co_names))
    out.append(' varnames %s' % ' '.join(co.co_varnames))
    out.append(' cellvars %s' % ' '.join(co.co_cellvars))
    out.append(' freevars %s' % ' '.join(co.co_freevars))
    out.append(' filename %s' % co.co_filename)
    out.append(' linetable %s' % co.co_linetable.hex())
    out.append(' exceptiontable %s' % co.co_exceptiontable.hex())
    for i, c in enumerate(co.co_consts):
        out.append(' const %d %s' % (i, const(c)))
    for c in co.co_consts:
        if hasattr(c, 'co_code'):
            dump(c, out)

optimize = int(sys.argv[1])
for line in sys.stdin:
    path = line.rstrip('\n')
    out = []
    try:
        with open(path, 'rb') as f:
            source = f.read()
        co = compile(source, path, 'exec', dont_inherit=True, optimize=optimize)
        dump(co, out)
    except BaseException as e:
        out = ['@@ERROR %s' % type(e).__name__]
    sys.stdout.write('\n'.join(out) + '\n@@END\n')
