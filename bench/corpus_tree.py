"""The benchmark tree: an interpreter's standard library plus the pinned
wheels' Python files (corpus/wheels.txt, downloaded with pip and checked
against their sha256 by corpus/fetch.py), laid out like a site-packages
directory: the packages at the top, the standard library under `stdlib/`.

A pristine copy is built once per interpreter version; every cold run gets a
fresh copy of it (modification times kept, so every tool sees the same
timestamps). Smaller trees take a stable subset of the files (by a hash of
their relative path, so a quarter is inside the half); the doubled tree is
the whole tree plus a second copy of it under `dup/`.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DUP = 'dup'


def copy_sources(src, dst, skip=()):
    count = 0
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d != '__pycache__' and d not in skip)
        rel = os.path.relpath(dirpath, src)
        for name in sorted(filenames):
            # A distribution's stdlib may hold dangling links (Debian's
            # sitecustomize.py points into /etc): no source to copy.
            if name.endswith('.py') and os.path.exists(os.path.join(dirpath, name)):
                target_dir = os.path.normpath(os.path.join(dst, rel))
                os.makedirs(target_dir, exist_ok=True)
                shutil.copy2(os.path.join(dirpath, name), os.path.join(target_dir, name))
                count += 1
    return count


def fetch_corpus(corpus_dir=None):
    """Run corpus/fetch.py (pip download into its cache, sha256 checked)."""
    out = corpus_dir or os.path.join(ROOT, '.corpus')
    subprocess.check_call([sys.executable, os.path.join(ROOT, 'corpus', 'fetch.py'), '--out', out],
                          stdout=sys.stderr)
    return os.path.join(out, 'site-packages')


def stdlib_dir(python):
    out = subprocess.check_output([python, '-c', 'import sysconfig; print(sysconfig.get_paths()["stdlib"])'])
    return out.decode().strip()


def _wheels_digest():
    with open(os.path.join(ROOT, 'corpus', 'wheels.txt'), 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def build_pristine(work, python, version, corpus_site):
    """The pristine tree for `python` (built once, then reused while the
    interpreter and corpus/wheels.txt stay the same)."""
    pristine = os.path.join(work, 'tree-%s' % version)
    stamp = pristine + '.json'
    want = {'python': python, 'stdlib': stdlib_dir(python), 'wheels': _wheels_digest(), 'layout': 1}
    if os.path.isdir(pristine) and read_json(stamp) == want:
        return pristine
    tmp = pristine + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(pristine, ignore_errors=True)
    copy_sources(want['stdlib'], os.path.join(tmp, 'stdlib'), skip=('site-packages',))
    copy_sources(corpus_site, tmp)
    os.rename(tmp, pristine)
    with open(stamp, 'w') as f:
        json.dump(want, f)
    return pristine


def list_sources(tree):
    """Relative paths of the .py files under tree, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = sorted(d for d in dirnames if d != '__pycache__')
        for name in sorted(filenames):
            if name.endswith('.py'):
                out.append(os.path.relpath(os.path.join(dirpath, name), tree))
    return out


def _bucket(rel):
    return int(hashlib.sha1(rel.encode('utf-8', 'surrogateescape')).hexdigest()[:8], 16) % 4096


def select(files, fraction):
    """A stable subset: the files whose path hash falls under `fraction`."""
    if fraction >= 1:
        return list(files)
    limit = int(round(fraction * 4096))
    return [f for f in files if _bucket(f) < limit]


class Tree:
    """One size of the benchmark tree: which files, how many copies."""

    def __init__(self, pristine, files, copies=1, label='1x'):
        self.pristine = pristine
        self.files = files
        self.copies = copies
        self.label = label
        self.bytes = copies * sum(os.path.getsize(os.path.join(pristine, f)) for f in files)

    @property
    def count(self):
        return self.copies * len(self.files)

    def describe(self):
        return {'label': self.label, 'files': self.count, 'bytes': self.bytes, 'copies': self.copies}

    def materialize(self, dest):
        """A fresh copy at dest (anything there before is removed)."""
        if os.path.lexists(dest):
            shutil.rmtree(dest)
        made = set()
        for copy in range(self.copies):
            base = dest if copy == 0 else os.path.join(dest, DUP if copy == 1 else '%s%d' % (DUP, copy))
            for rel in self.files:
                target = os.path.join(base, rel)
                parent = os.path.dirname(target)
                if parent not in made:
                    os.makedirs(parent, exist_ok=True)
                    made.add(parent)
                shutil.copy2(os.path.join(self.pristine, rel), target)


def remove_caches(tree):
    for dirpath, dirnames, _ in os.walk(tree):
        if '__pycache__' in dirnames:
            shutil.rmtree(os.path.join(dirpath, '__pycache__'))
            dirnames.remove('__pycache__')


def collect_caches(tree, dest):
    """Move every cache under tree to the same relative path under dest."""
    if os.path.lexists(dest):
        shutil.rmtree(dest)
    count = 0
    for dirpath, dirnames, filenames in os.walk(tree):
        if os.path.basename(dirpath) != '__pycache__':
            continue
        for name in filenames:
            if name.endswith('.pyc'):
                rel = os.path.relpath(os.path.join(dirpath, name), tree)
                os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
                shutil.copy2(os.path.join(dirpath, name), os.path.join(dest, rel))
                count += 1
    return count


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
