#!/usr/bin/env bash
# Rewrites src/printable/ from each Python 3 interpreter's Unicode database:
# pyenv's, then for the feature versions pyenv lacks (3.14, 3.15) the newest
# Debian build under $PYCACHE_PYTHONS (see crates/pycache-opcode/regenerate.sh).
set -euo pipefail
cd "$(dirname "$0")"
root="${PYENV_ROOT:-$(pyenv root)}"
declare -A done_minor=()
for python in "$root"/versions/3.*/bin/python; do
    "$python" -E -S generate_printable.py src/printable
    minor=$("$python" -E -S -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    done_minor[$minor]=1
done
pythons="${PYCACHE_PYTHONS:-/opt/pycache-pythons}"
for dir in $(ls -d "$pythons"/3.* 2>/dev/null | sort -V); do
    release=$(basename "$dir")
    minor=${release%.*}
    python="$dir/usr/bin/python$minor"
    if [ -z "${done_minor[$minor]:-}" ] && [ -x "$python" ]; then
        "$python" -E -S generate_printable.py src/printable
    fi
done
