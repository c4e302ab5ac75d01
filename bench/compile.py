#!/usr/bin/env python3
"""Cold and no-op compile times: pycache against `python -m compileall -j0`.

    python3 bench/compile.py [--python 3.12] [--runs 5] [--pycache PATH]

The tree is the target interpreter's standard library plus the pinned corpus
(corpus/wheels.txt, fetched if missing): over 5,000 files. Each cold run gets
a fresh copy of the sources (mtimes kept); the no-op runs repeat on a tree
that is already compiled. Prints a table and writes bench/results/compile.json.
"""
import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(ROOT, 'target', 'bench')


def find_python(version):
    out = subprocess.check_output([pycache_bin(), 'interpreters', '--format', 'json'])
    for found in json.loads(out):
        if '%d.%d' % tuple(found['version'][:2]) == version:
            return found['path'], found
    sys.exit('bench: no Python %s found' % version)


_PYCACHE = None


def pycache_bin():
    return _PYCACHE


def copy_sources(src, dst, skip=()):
    count = 0
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d != '__pycache__' and d not in skip)
        rel = os.path.relpath(dirpath, src)
        for name in filenames:
            if name.endswith('.py'):
                target_dir = os.path.join(dst, rel)
                os.makedirs(target_dir, exist_ok=True)
                shutil.copy2(os.path.join(dirpath, name), os.path.join(target_dir, name))
                count += 1
    return count


def build_tree(python_info):
    pristine = os.path.join(WORK, 'pristine-%s' % '.'.join(map(str, python_info['version'][:2])))
    if os.path.isdir(pristine):
        return pristine
    corpus = os.path.join(ROOT, '.corpus', 'site-packages')
    if not os.path.isdir(corpus):
        subprocess.check_call([sys.executable, os.path.join(ROOT, 'corpus', 'fetch.py')])
    a, b = python_info['version'][:2]
    stdlib = os.path.join(python_info['base_prefix'], 'lib', 'python%d.%d' % (a, b))
    tmp = pristine + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    n = copy_sources(stdlib, os.path.join(tmp, 'stdlib'), skip=('site-packages',))
    n += copy_sources(corpus, os.path.join(tmp, 'site-packages'))
    os.rename(tmp, pristine)
    return pristine


def tree_stats(tree):
    files = size = 0
    for dirpath, _, filenames in os.walk(tree):
        for name in filenames:
            if name.endswith('.py'):
                files += 1
                size += os.path.getsize(os.path.join(dirpath, name))
    return files, size


def timed(argv, env=None):
    """Wall time, CPU time of the children and their peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.exit('bench: %s failed (%d): %s' % (argv[0], proc.returncode, proc.stderr.decode()[-2000:]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {'wall': wall, 'cpu': cpu, 'maxrss_kb': after.ru_maxrss}


def tools(python, pycache, jobs):
    return {
        'pycache': lambda tree: [pycache, 'compile', '-q', '--no-progress', '--python', python, tree]
        + (['-j', str(jobs)] if jobs else []),
        'compileall -j0': lambda tree: [python, '-m', 'compileall', '-q', '-j', str(jobs or 0), tree],
    }


def main():
    global _PYCACHE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--python', default='3.12')
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--pycache', default=os.path.join(ROOT, 'target', 'release', 'pycache'))
    parser.add_argument('--jobs', type=int, default=0, help='parallel jobs for both tools (0: all cores)')
    args = parser.parse_args()
    if not os.path.exists(args.pycache):
        subprocess.check_call(['cargo', 'build', '--release', '-p', 'pycache'], cwd=ROOT)
    _PYCACHE = args.pycache
    python, info = find_python(args.python)
    pristine = build_tree(info)
    files, size = tree_stats(pristine)
    env = dict(os.environ)
    env.pop('PYTHONDONTWRITEBYTECODE', None)
    results = {}
    for name, argv in tools(python, args.pycache, args.jobs).items():
        cold, noop = [], []
        for run in range(args.runs):
            tree = os.path.join(WORK, 'run')
            shutil.rmtree(tree, ignore_errors=True)
            shutil.copytree(pristine, tree)
            cold.append(timed(argv(tree), env))
            noop.append(timed(argv(tree), env))
            print('bench: %s run %d: cold %.2fs, no-op %.3fs' % (name, run + 1, cold[-1]['wall'], noop[-1]['wall']),
                  file=sys.stderr)
        results[name] = {
            'cold_wall': statistics.median(r['wall'] for r in cold),
            'cold_cpu': statistics.median(r['cpu'] for r in cold),
            'noop_wall': statistics.median(r['wall'] for r in noop),
            'noop_cpu': statistics.median(r['cpu'] for r in noop),
            'runs': args.runs,
        }
    base = results['pycache']
    print('tree: %d files, %.1f MB (Python %s stdlib + corpus/wheels.txt); %d runs, median; %s, %d cores'
          % (files, size / 1e6, args.python, args.runs, platform.machine(), os.cpu_count()))
    print('| tool | cold wall | cold CPU | files/s | MB/s | no-op wall | cold vs pycache | no-op vs pycache |')
    print('|---|---|---|---|---|---|---|---|')
    for name, r in results.items():
        print('| %s | %.2f s | %.2f s | %.0f | %.1f | %.3f s | %.2f× | %.1f× |' % (
            name, r['cold_wall'], r['cold_cpu'], files / r['cold_wall'], size / 1e6 / r['cold_wall'],
            r['noop_wall'], r['cold_wall'] / base['cold_wall'], r['noop_wall'] / base['noop_wall']))
    os.makedirs(os.path.join(HERE, 'results'), exist_ok=True)
    with open(os.path.join(HERE, 'results', 'compile.json'), 'w') as f:
        json.dump({'files': files, 'bytes': size, 'python': args.python, 'date': time.strftime('%Y-%m-%d'),
                   'machine': platform.machine(), 'cores': os.cpu_count(), 'results': results}, f, indent=2)


if __name__ == '__main__':
    main()
