# pycache interpreter probe: prints one JSON object. Runs on 2.7 and 3.x,
# with -E -S so that neither the environment nor site changes the answers.
import sys, json
try:
    from importlib.util import MAGIC_NUMBER as magic
except ImportError:
    import imp
    magic = imp.get_magic()
implementation = getattr(sys, 'implementation', None)
if implementation is not None:
    name = implementation.name
    tag = implementation.cache_tag
else:
    import platform
    name = platform.python_implementation().lower()
    tag = None
try:
    import _imp
    check = getattr(_imp, 'check_hash_based_pycs', None)
except ImportError:
    check = None
out = {
    'executable': sys.executable,
    'version': list(sys.version_info[:3]),
    'release': sys.version_info[3],
    'implementation': name,
    'cache_tag': tag,
    'magic': ''.join('%02x' % c for c in bytearray(magic)),
    'optimize': sys.flags.optimize,
    'dont_write_bytecode': bool(sys.dont_write_bytecode),
    'pycache_prefix': getattr(sys, 'pycache_prefix', None),
    'check_hash_based_pycs': check,
    'prefix': sys.prefix,
    'base_prefix': getattr(sys, 'base_prefix', sys.prefix),
    'fs_encoding': sys.getfilesystemencoding(),
    'byteorder': sys.byteorder,
}
sys.stdout.write(json.dumps(out))
