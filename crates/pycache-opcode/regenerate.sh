#!/usr/bin/env bash
# Rewrites src/generated/ from each interpreter's own opcode and dis modules.
# Interpreters come from pyenv's versions directory, then, for the feature
# versions pyenv lacks (3.14, 3.15), the newest Debian build that
# corpus/pythons.py unpacked under $PYCACHE_PYTHONS (default
# /opt/pycache-pythons/<release>/usr/bin/python3.X).
set -euo pipefail
cd "$(dirname "$0")"
root="${PYENV_ROOT:-$(pyenv root)}"
declare -A done_minor=()
for python in "$root"/versions/*/bin/python; do
    "$python" -E -S generate.py src/generated
    minor=$("$python" -E -S -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    done_minor[$minor]=1
done
pythons="${PYCACHE_PYTHONS:-/opt/pycache-pythons}"
# Oldest release first, so that the newest of each feature version wins.
for dir in $(ls -d "$pythons"/3.* 2>/dev/null | sort -V); do
    release=$(basename "$dir")
    minor=${release%.*}
    python="$dir/usr/bin/python$minor"
    if [ -z "${done_minor[$minor]:-}" ] && [ -x "$python" ]; then
        "$python" -E -S generate.py src/generated
    fi
done
