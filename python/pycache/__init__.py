"""The pycache command, installed from a wheel.

The wheel carries the `pycache` binary in its scripts; this package only
finds it, so that `python -m pycache` works where the scripts directory is
not on PATH.
"""

import os
import sys
import sysconfig

__all__ = ["find_pycache_bin"]


def _executable_name():
    return "pycache" + (sysconfig.get_config_var("EXE") or "")


def _candidates():
    name = _executable_name()
    scripts = "Scripts" if sys.platform == "win32" else "bin"
    # The directories above this package first: the binary was installed
    # with it, into the scripts directory of the same prefix (a virtual
    # environment, `--user`, `--prefix`) or, with `pip install --target`,
    # into `<target>/bin`.
    site = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    here = site
    for _ in range(4):
        yield os.path.join(here, scripts, name)
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    # Then the scripts directories this interpreter knows.
    yield os.path.join(sysconfig.get_path("scripts"), name)
    try:
        user = sysconfig.get_preferred_scheme("user")
    except AttributeError:  # before 3.10
        user = "nt_user" if os.name == "nt" else "posix_user"
    try:
        yield os.path.join(sysconfig.get_path("scripts", scheme=user), name)
    except KeyError:
        pass


def find_pycache_bin():
    """The path of the installed `pycache` binary."""
    seen = []
    for path in _candidates():
        if path in seen:
            continue
        seen.append(path)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(
        "the pycache binary is not installed beside this package; looked for: " + ", ".join(seen)
    )
