#!/usr/bin/env bash
# Rewrites src/generated/ from each interpreter's own opcode and dis modules.
# Interpreters come from pyenv's versions directory; PYCACHE_PYTHON314 may
# name a command that runs 3.14 (for example Debian's build through its own
# loader), since pyenv may not have it.
set -euo pipefail
cd "$(dirname "$0")"
root="${PYENV_ROOT:-$(pyenv root)}"
for python in "$root"/versions/*/bin/python; do
    "$python" -E -S generate.py src/generated
done
if [ -n "${PYCACHE_PYTHON314:-}" ]; then
    $PYCACHE_PYTHON314 -E -S generate.py src/generated
fi
