#!/usr/bin/env bash
# Builds the deployments the README's `pycache doctor` examples come from:
# an Apache/mod_wsgi shop served as www-data, with every kind of cache
# problem, and a blog with no caches at all. Run as root (it sets owners,
# groups and an SELinux label); needs pycache on PATH and Python 3.12 and
# 3.6. Everything goes under $1 (default /tmp/pycache-demo).
set -euo pipefail
demo=${1:-/tmp/pycache-demo}
user=${DEMO_USER:-www-data}
rm -rf "$demo"
mkdir -p "$demo/shop/shop" "$demo/shop/cgi-bin" "$demo/blog/blog"
cd "$demo/shop"

# Entry scripts: a big .wsgi file and a CGI script, compiled on every load.
python3 - <<'PY'
body = ''.join("def view_%d(environ):\n    return [b'%d']\n\n" % (i, i) for i in range(120))
open('app.wsgi', 'w').write(body + "application = view_0\n")
open('cgi-bin/report.py', 'w').write('#!/usr/bin/python3\n' + body)
PY
chmod 755 cgi-bin/report.py
echo 'NAME = "shop"' > shop/__init__.py
echo 'def application(environ, start_response): return []' > shop/views.py
echo 'PRICES = {}' > shop/models.py
echo 'TAX = 0.2' > shop/tax.py
echo 'OLD = 1' > shop/legacy.py
printf '"""Usage: shop-cli <command>"""\nfrom docopt import docopt\nARGS = docopt(__doc__)\n' > shop/cli.py
pycache compile -qq --python 3.12 .
pycache compile -qq --python 3.6 shop
# A module deleted after compiling: orphans. Its bytecode kept as a module.
rm shop/legacy.py
cp shop/__pycache__/views.cpython-312.pyc shop/old_helpers.pyc
# A damaged body, a bad header, a source edited after compiling.
python3 - <<'PY'
p = 'shop/__pycache__/models.cpython-312.pyc'; b = open(p, 'rb').read(); open(p, 'wb').write(b[:22])
p = 'shop/__pycache__/tax.cpython-312.pyc'; b = bytearray(open(p, 'rb').read()); b[0:4] = b'JUNK'; open(p, 'wb').write(bytes(b))
PY
echo 'NAME = "shop, renamed"' > shop/__init__.py
touch -d '2 minutes' shop/__init__.py
# An interrupted write, a cache closed to others, and a cache directory
# the service group may write beside root's sources.
printf 'partial' > shop/__pycache__/views.cpython-312.pyc.140223
chmod 600 shop/__pycache__/views.cpython-312.pyc
chgrp "$user" shop/__pycache__ && chmod 775 shop/__pycache__
cat > "$demo/shop.conf" <<CONF
<VirtualHost *:80>
    WSGIDaemonProcess shop user=$user group=$user python-path=$demo/shop
    WSGIScriptAlias / $demo/shop/app.wsgi process-group=shop
    ScriptAlias /cgi-bin/ $demo/shop/cgi-bin/
</VirtualHost>
CONF
sed 's/^<VirtualHost/WSGIPythonOptimize 2\n<VirtualHost/' "$demo/shop.conf" > "$demo/shop-oo.conf"

# The blog: root's, no caches; httpd may only read it.
cd "$demo/blog"
echo 'TITLE = "blog"' > blog/__init__.py
echo 'ITEMS = []' > blog/feed.py
python3 -c "import os, sys; [os.setxattr(p, 'security.selinux', b'system_u:object_r:httpd_sys_content_t:s0\0') for p in sys.argv[1:]]" . blog \
    || echo "no SELinux label written: the selinux-label example will be missing" >&2
printf 'WSGIDaemonProcess blog user=%s python-path=%s\n' "$user" "$demo/blog" > "$demo/blog.conf"
printf '[uwsgi]\nuid = %s\nmaster-as-root = true\nmodule = blog.feed\npythonpath = %s\n' "$user" "$demo/blog" > "$demo/blog.ini"
echo "built $demo"
