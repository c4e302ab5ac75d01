#!/bin/sh
# Diff the listings of FILE under 3.12.1 and 3.13.0 (or PY_A / PY_B).
# Usage: cmp.sh FILE [dump.py options]
here=$(dirname "$0")
R=$(pyenv root)/versions
A=${PY_A:-$R/3.12.1/bin/python}
B=${PY_B:-$R/3.13.0/bin/python}
f=$1; shift
$A -I "$here/dump.py" "$f" "$@" > /tmp/cmp_a.$$ 2>&1
$B -I "$here/dump.py" "$f" "$@" > /tmp/cmp_b.$$ 2>&1
diff -u --label "$($A -c 'import sys;print(sys.version.split()[0])')" --label "$($B -c 'import sys;print(sys.version.split()[0])')" /tmp/cmp_a.$$ /tmp/cmp_b.$$
rm -f /tmp/cmp_a.$$ /tmp/cmp_b.$$
