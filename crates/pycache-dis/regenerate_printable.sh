#!/usr/bin/env bash
# Rewrites src/printable/ from each Python 3 interpreter's Unicode database.
# PYCACHE_PYTHON314 may name a command that runs 3.14 (see
# crates/pycache-opcode/regenerate.sh).
set -euo pipefail
cd "$(dirname "$0")"
root="${PYENV_ROOT:-$(pyenv root)}"
for python in "$root"/versions/3.*/bin/python; do
    "$python" -E -S generate_printable.py src/printable
done
if [ -n "${PYCACHE_PYTHON314:-}" ]; then
    $PYCACHE_PYTHON314 -E -S generate_printable.py src/printable
fi
