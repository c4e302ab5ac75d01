# pycache compile worker for CPython 2.7 (worker3.py serves 3.x).
#
# The process must look like `python -m compileall` at the moment compileall
# hands a file to py_compile, because marshal's reference flags depend on which
# interned strings are alive in the process (CPython issue 129724). So this
# script replaces py_compile.compile (keeping the original alive), starts
# compileall as __main__ on a placeholder file, and serves requests from inside
# that first call.
#
# Every identifier and identifier-like constant below must already be alive in
# such a compileall process on every version, or the worker would change the
# flags it is meant to reproduce; a test checks this against each interpreter.
#
# Frames (integers little-endian):
#   request:  u32 size, u8 count, count x i8 optimize levels,
#             u32 size + filename (file system bytes), u32 size + source
#   response: u32 size, u8 status, then
#             status 0: for each level, u32 size + marshal data
#             status 1: u32 size + exception name, u32 size + message,
#                       i32 lineno, i32 offset (0 when absent)
#   Once ready, and before each response, the worker ends what it printed on
#   stderr (warnings) with the line "\0pycache-end".
import sys, os, struct, marshal, py_compile


def main(*args, **kwargs):
    read = os.read
    write = os.write
    unpack = struct.unpack
    pack = struct.pack

    def get_data(size):
        data = b''
        while len(data) < size:
            value = read(0, size - len(data))
            if not value:
                os._exit(0)
            data += value
        return data

    # Tells pycache that startup went well.
    write(2, b'\x00pycache-end\n')
    while True:
        data = get_data(unpack('<I', get_data(4))[0])
        size = unpack('<B', data[:1])[0]
        optimize = unpack('<%db' % size, data[1:1 + size])
        offset = 1 + size
        size = unpack('<I', data[offset:offset + 4])[0]
        name = data[offset + 4:offset + 4 + size]
        offset += 4 + size
        size = unpack('<I', data[offset:offset + 4])[0]
        source = data[offset + 4:offset + 4 + size]
        data = None
        # py_compile of 2.7 reads the source in universal-newline mode.
        source = source.replace(b'\r\n', b'\n').replace(b'\r', b'\n')
        result = [b'\x00']
        for level in optimize:
            try:
                # The level is the process's own -O flag on 2.7.
                code = compile(source, name, 'exec')
            except Exception:
                err = sys.exc_info()[1]
                result = [b'\x01']
                for value in (err.__class__.__name__,
                              py_compile.PyCompileError(
                                  err.__class__, err, name).msg):
                    if not isinstance(value, bytes):
                        value = value.encode('utf-8', 'backslashreplace')
                    result.append(pack('<I', len(value)))
                    result.append(value)
                result.append(pack('<ii', getattr(err, 'lineno', 0) or 0,
                                   getattr(err, 'offset', 0) or 0))
                err = None
                break
            data = marshal.dumps(code)
            code = None
            result.append(pack('<I', len(data)))
            result.append(data)
        sys.stderr.flush()
        write(2, b'\x00pycache-end\n')
        data = b''.join(result)
        data = pack('<I', len(data)) + data
        while data:
            data = data[write(1, data):]


main.__defaults__ = (py_compile.compile,)
py_compile.compile = main
sys.argv[1:] = ['-q', '-f', sys.argv[1]]
# Importing runpy by name would intern the string 'runpy', which a real
# `python -m` process never does.
__import__('runpy '.strip())._run_module_as_main('compileall')
