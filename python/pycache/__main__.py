"""`python -m pycache ARGS`: runs the installed pycache binary with ARGS."""

import os
import sys

from pycache import find_pycache_bin


def main():
    try:
        binary = find_pycache_bin()
    except FileNotFoundError as err:
        sys.stderr.write("error: {}\n".format(err))
        return 2
    args = [binary] + sys.argv[1:]
    if sys.platform == "win32":
        import subprocess

        return subprocess.call(args)
    # Replacing this process keeps signals, the exit status and stdin as
    # if the binary had been started directly.
    os.execv(binary, args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
