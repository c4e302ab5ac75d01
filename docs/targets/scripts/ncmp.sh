#!/bin/sh
# Like cmp.sh, but diff the listings after norm.py removed the known
# mechanical 3.13 changes: what remains is a structural difference.
here=$(dirname "$0")
R=$(pyenv root)/versions
A=${PY_A:-$R/3.12.1/bin/python}
B=${PY_B:-$R/3.13.0/bin/python}
f=$1; shift
$A -I "$here/dump.py" "$f" "$@" 2>&1 | python3 "$here/norm.py" 312 > /tmp/ncmp_a.$$
$B -I "$here/dump.py" "$f" "$@" 2>&1 | python3 "$here/norm.py" 313 > /tmp/ncmp_b.$$
diff -u --label 3.12 --label 3.13 /tmp/ncmp_a.$$ /tmp/ncmp_b.$$
rm -f /tmp/ncmp_a.$$ /tmp/ncmp_b.$$
