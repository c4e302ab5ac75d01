#!/usr/bin/env python3
"""Does compileall agree with itself? Compiles the same tree twice with
`python -m compileall`, in sorted order and in reverse order (`-i`), and
counts the caches whose bytes differ.

    python3 bench/compileall_reproducibility.py [--python 3.10|PATH]

The tree: the interpreter's standard library plus the pinned corpus (the
same tree as bench/run.py). Same paths, same sources, same
PYTHONHASHSEED; only the order of compilation changes.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import corpus_tree  # noqa: E402
import run as bench  # noqa: E402


def caches(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith('.pyc'):
                path = os.path.join(dirpath, name)
                with open(path, 'rb') as f:
                    out[os.path.relpath(path, root)] = f.read()
    return out


def run(python, tree, files, env):
    with tempfile.NamedTemporaryFile('w', delete=False) as f:
        f.write('\n'.join(files))
    subprocess.run([python, '-m', 'compileall', '-q', '-f', '-i', f.name], env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.unlink(f.name)
    result = caches(tree)
    for dirpath, dirnames, _ in os.walk(tree):
        if '__pycache__' in dirnames:
            shutil.rmtree(os.path.join(dirpath, '__pycache__'))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--python', default='3.12')
    parser.add_argument('--pycache', help='a pycache binary (default: cargo build --release)')
    parser.add_argument('--work', default=os.path.join(bench.target_dir(), 'bench'), help='scratch directory')
    args = parser.parse_args()
    pycache = os.path.abspath(args.pycache) if args.pycache else bench.build_pycache()
    python = bench.find_python(pycache, args.python)
    version = '.'.join(bench.python_version(python).split('.')[:2])
    pristine = corpus_tree.build_pristine(args.work, python, version, corpus_tree.fetch_corpus())
    tree = os.path.join(args.work, 'order')
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(pristine, tree)
    files = []
    for dirpath, dirnames, names in os.walk(tree):
        dirnames.sort()
        files.extend(os.path.join(dirpath, n) for n in sorted(names) if n.endswith('.py'))
    env = dict(os.environ, PYTHONHASHSEED='0')
    env.pop('PYTHONDONTWRITEBYTECODE', None)
    forward = run(python, tree, files, env)
    backward = run(python, tree, list(reversed(files)), env)
    differ = sorted(k for k in forward if backward.get(k) != forward[k])
    print('Python %s: %d caches, %d differ between sorted and reverse order (%.2f%%)'
          % (args.python, len(forward), len(differ), 100.0 * len(differ) / max(1, len(forward))))
    for name in differ[:10]:
        print('  ' + name)


if __name__ == '__main__':
    main()
