#!/usr/bin/env python3
"""Build the pinned corpus: download the wheels in wheels.txt (checking their
sha256), and unpack their Python sources into OUT/site-packages.

    python3 corpus/fetch.py [--cache DIR] [--out DIR]

Defaults: cache in .corpus/wheels, output in .corpus (both under the
repository root). Running it again only redoes what is missing.
"""
import argparse
import hashlib
import os
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def pins():
    with open(os.path.join(HERE, 'wheels.txt')) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                yield line.split()


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def download(name, version, wheel, cache):
    args = [sys.executable, '-m', 'pip', 'download', '--no-deps', '--only-binary=:all:',
            '--dest', cache, '--quiet', '%s==%s' % (name, version)]
    if '-cp312-' in wheel:
        args[4:4] = ['--python-version', '3.12', '--platform', 'manylinux_2_28_x86_64',
                     '--platform', 'manylinux_2_27_x86_64']
    subprocess.check_call(args)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cache', default=os.path.join(ROOT, '.corpus', 'wheels'))
    parser.add_argument('--out', default=os.path.join(ROOT, '.corpus'))
    args = parser.parse_args()
    os.makedirs(args.cache, exist_ok=True)
    site = os.path.join(args.out, 'site-packages')
    os.makedirs(site, exist_ok=True)
    total = 0
    for name, version, wheel, digest in pins():
        path = os.path.join(args.cache, wheel)
        if not os.path.exists(path) or sha256(path) != digest:
            download(name, version, wheel, args.cache)
        actual = sha256(path)
        if actual != digest:
            sys.exit('corpus: %s has sha256 %s, expected %s' % (wheel, actual, digest))
        stamp = os.path.join(site, '.%s-%s.done' % (name, version))
        with zipfile.ZipFile(path) as z:
            members = [m for m in z.namelist() if m.endswith('.py')]
            if not os.path.exists(stamp):
                for member in members:
                    z.extract(member, site)
                open(stamp, 'w').close()
        total += len(members)
        print('corpus: %s %s: %d files' % (name, version, len(members)))
    print('corpus: %d files in %s' % (total, site))


if __name__ == '__main__':
    main()
