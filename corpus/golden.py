#!/usr/bin/env python3
"""Write the golden digests: what each real interpreter's py_compile writes.

    python3 corpus/golden.py [--release 3.12.1 ...] [--all] [-j N]

For each release, every source of the sample (below) is compiled at levels
0, 1 and 2 by the real interpreter, and corpus/golden/<release>.tsv records
the sha256 of each cache it wrote. The native compiler's golden test
(crates/pycache-verify/tests/golden.rs) compares its own caches with these
digests on machines that have none of the interpreters.

How a cache is made: a fresh process per file and level,
`python -I [-O|-OO] -m py_compile PATH`, as `pycache verify`'s fresh
reference runs it, with SOURCE_DATE_EPOCH set so that py_compile writes a
checked-hash cache (the header then holds the source's hash, not its mtime,
and the whole file is reproducible). PATH is the source's path in the table,
relative to the working directory of the process, and is what the cache
records as the code's file name: the file is copied into a scratch
directory at that relative path, so nothing is written into the tree.
CPython 3.12.7 comes from Pyodide (corpus/pyodide/compile.mjs), which runs
py_compile.compile in one WebAssembly interpreter for all files.

The sample: every `.py` under the repository's test fixtures
(crates/*/tests/fixtures), and the pinned corpus's files (corpus/fetch.py,
in .corpus/site-packages or $PYCACHE_CORPUS) whose path's sha256 is 0
modulo 6, about one in six, spread over every package; --all takes every
corpus file. Table columns: path, level, sha256 of the whole cache file (or
`error:<Exception>` when the interpreter refuses the source), and the first
16 hex digits of the source's sha256 (a changed source is then named as
stale, not as a wrong digest).

Releases: those given with --release, else 3.12.1 and 3.13.0 from pyenv,
every release corpus/pythons.py installed (its manifest), and 3.12.7 from
Pyodide when `npm ci` has run in corpus/pyodide.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GOLDEN = os.path.join(HERE, 'golden')
PYODIDE = os.path.join(HERE, 'pyodide')
SAMPLE_MODULUS = 6
LEVELS = (0, 1, 2)
TIMEOUT = 600
# Releases of pyodide's npm package, by the CPython release each carries.
PYODIDE_RELEASES = {'3.12.7': 'pyodide-0.27.7', '3.12.1': 'pyodide-0.26.4'}


def corpus_dir():
    return os.environ.get('PYCACHE_CORPUS') or os.path.join(ROOT, '.corpus', 'site-packages')


def sample(take_all):
    """(table path, file on disk) pairs, sorted by table path."""
    out = []
    crates = os.path.join(ROOT, 'crates')
    for crate in sorted(os.listdir(crates)):
        fixtures = os.path.join(crates, crate, 'tests', 'fixtures')
        for dirpath, dirnames, filenames in os.walk(fixtures):
            dirnames[:] = [d for d in dirnames if d != '__pycache__']
            for name in filenames:
                if name.endswith('.py'):
                    path = os.path.join(dirpath, name)
                    out.append((os.path.relpath(path, ROOT), path))
    site = corpus_dir()
    if not os.path.isdir(site):
        sys.exit('golden: no corpus in %s (run corpus/fetch.py)' % site)
    for dirpath, dirnames, filenames in os.walk(site):
        dirnames[:] = [d for d in dirnames if d != '__pycache__']
        for name in filenames:
            if not name.endswith('.py'):
                continue
            path = os.path.join(dirpath, name)
            rel = 'site-packages/' + os.path.relpath(path, site)
            if take_all or int(hashlib.sha256(rel.encode()).hexdigest(), 16) % SAMPLE_MODULUS == 0:
                out.append((rel, path))
    out.sort()
    return out


def find_release(release):
    """The interpreter of `release`: pyenv's build, else corpus/pythons.py's."""
    minor = '.'.join(release.split('.')[:2])
    pyenv = os.environ.get('PYENV_ROOT') or os.path.expanduser('~/.pyenv')
    candidates = [os.path.join(pyenv, 'versions', release, 'bin', 'python' + minor)]
    pythons = os.environ.get('PYCACHE_PYTHONS') or '/opt/pycache-pythons'
    candidates.append(os.path.join(pythons, release, 'usr', 'bin', 'python' + minor))
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    return None


def default_releases():
    out = ['3.12.1', '3.13.0']
    pythons = os.environ.get('PYCACHE_PYTHONS') or '/opt/pycache-pythons'
    try:
        with open(os.path.join(pythons, 'manifest.json')) as f:
            out += list(json.load(f)['releases'])
    except (OSError, ValueError, KeyError):
        print('golden: no %s/manifest.json: run corpus/pythons.py for the Debian releases' % pythons)
    if os.path.isdir(os.path.join(PYODIDE, 'node_modules', 'pyodide-0.27.7')):
        out.append('3.12.7')
    return sorted(set(out), key=version_key)


def version_key(release):
    return tuple(int(p) for p in release.split('.'))


def error_name(stderr):
    """The exception a failed py_compile printed last: `SyntaxError` from
    `SyntaxError: ...`, `IndentationError` from `Sorry: IndentationError: ...`."""
    for line in reversed(stderr.strip().splitlines()):
        m = re.match(r'^(?:Sorry: )?(?:[A-Za-z_][A-Za-z0-9_]*\.)*([A-Za-z_][A-Za-z0-9_]*(?:Error|Exception))\b',
                     line.strip())
        if m:
            return m.group(1)
    return 'unknown'


def env_for_compile():
    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTHON')}
    env['SOURCE_DATE_EPOCH'] = '0'
    return env


def fresh_py_compile(python, rel, source, level, scratch):
    """Compiles a copy of `source` at `scratch/rel` in a fresh process; the
    digest of the cache, or error:<Exception>."""
    work = tempfile.mkdtemp(dir=scratch)
    try:
        copy = os.path.join(work, rel)
        os.makedirs(os.path.dirname(copy), exist_ok=True)
        shutil.copyfile(source, copy)
        flags = {0: [], 1: ['-O'], 2: ['-OO']}[level]
        out = subprocess.run([python, '-I'] + flags + ['-m', 'py_compile', rel], cwd=work, env=env_for_compile(),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             timeout=TIMEOUT)
        cache_dir = os.path.join(os.path.dirname(copy), '__pycache__')
        caches = os.listdir(cache_dir) if os.path.isdir(cache_dir) else []
        if out.returncode != 0:
            if out.returncode == 1 and not caches:
                return 'error:' + error_name(out.stderr.decode('utf-8', 'replace'))
            raise RuntimeError('%s: py_compile of %s at level %d failed (%d): %s'
                               % (python, rel, level, out.returncode, out.stderr.decode('utf-8', 'replace')))
        if len(caches) != 1:
            raise RuntimeError('%s: py_compile of %s wrote %r' % (python, rel, caches))
        with open(os.path.join(cache_dir, caches[0]), 'rb') as f:
            return hashlib.sha256(f.read()).hexdigest()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def with_interpreter(python, files, jobs):
    """{(rel, level): digest} from fresh processes of `python`."""
    tasks = [(rel, path, level) for rel, path in files for level in LEVELS]
    with tempfile.TemporaryDirectory(prefix='pycache-golden-') as scratch, ThreadPoolExecutor(jobs) as pool:
        digests = pool.map(lambda t: fresh_py_compile(python, t[0], t[1], t[2], scratch), tasks)
        return {(rel, level): digest for (rel, _, level), digest in zip(tasks, digests)}


def with_pyodide(package, release, files):
    """{(rel, level): digest} from Pyodide's py_compile (corpus/pyodide)."""
    with tempfile.TemporaryDirectory(prefix='pycache-golden-') as scratch:
        for rel, path in files:
            copy = os.path.join(scratch, 'src', rel)
            os.makedirs(os.path.dirname(copy), exist_ok=True)
            shutil.copyfile(path, copy)
        jobs = os.path.join(scratch, 'jobs.json')
        with open(jobs, 'w') as f:
            json.dump({'root': os.path.join(scratch, 'src'), 'out': os.path.join(scratch, 'out'),
                       'files': [rel for rel, _ in files], 'levels': list(LEVELS)}, f)
        subprocess.run(['node', os.path.join(PYODIDE, 'compile.mjs'), '--package', package, jobs], check=True)
        with open(os.path.join(scratch, 'out', 'results.json')) as f:
            answer = json.load(f)
        if answer['version'] != release:
            sys.exit('golden: %s carries CPython %s, not %s' % (package, answer['version'], release))
        out = {}
        for item in answer['results']:
            if item['error']:
                out[(item['file'], item['level'])] = 'error:' + item['error']
            else:
                with open(item['cache'], 'rb') as f:
                    out[(item['file'], item['level'])] = hashlib.sha256(f.read()).hexdigest()
    return out


def magic_of(python):
    out = subprocess.run([python, '-I', '-c', 'import importlib.util as u; print(u.MAGIC_NUMBER.hex())'],
                         stdout=subprocess.PIPE, check=True, text=True)
    return out.stdout.strip()


def origin(python, release):
    """Where an interpreter comes from, for the table's header."""
    pythons = os.environ.get('PYCACHE_PYTHONS') or '/opt/pycache-pythons'
    if python.startswith(pythons + os.sep):
        try:
            with open(os.path.join(pythons, 'manifest.json')) as f:
                entry = json.load(f)['releases'][release]
            return 'Debian python%s-minimal %s (%s)' % (entry['minor'], entry['package_version'],
                                                       ', '.join(entry['suites']) or 'no longer offered')
        except (OSError, ValueError, KeyError):
            return 'Debian'
    return 'pyenv'


def write_table(release, how, files, digests, take_all):
    os.makedirs(GOLDEN, exist_ok=True)
    lines = [
        '# generated by corpus/golden.py, do not edit',
        '# CPython %s: %s' % (release, how),
        '# sample: %s' % ('every corpus file' if take_all else
                          'fixtures + corpus files whose path sha256 is 0 mod %d' % SAMPLE_MODULUS),
        '# path\tlevel\tsha256 of the cache (or error:<Exception>)\tsource sha256[:16]',
    ]
    for rel, path in files:
        with open(path, 'rb') as f:
            source = hashlib.sha256(f.read()).hexdigest()[:16]
        for level in LEVELS:
            lines.append('%s\t%d\t%s\t%s' % (rel, level, digests[(rel, level)], source))
    target = os.path.join(GOLDEN, release + '.tsv')
    with open(target + '.tmp', 'w') as f:
        f.write('\n'.join(lines) + '\n')
    os.replace(target + '.tmp', target)
    return target


def read_table(release):
    rows = {}
    with open(os.path.join(GOLDEN, release + '.tsv')) as f:
        for line in f:
            if line.startswith('#') or not line.strip():
                continue
            rel, level, digest, _ = line.rstrip('\n').split('\t')
            rows[(rel, int(level))] = digest
    return rows


def check_pyodide(release, files, fresh):
    """How many of Pyodide's caches equal the table's (made by the real
    interpreter of the same release, or by Pyodide in one process). With
    `fresh`, that many files spread over the sample, each compiled in a
    process of its own: whether one process for all files changes a byte."""
    table = read_table(release)
    files = [(rel, path) for rel, path in files if (rel, 0) in table]
    package = PYODIDE_RELEASES[release]
    if fresh:
        step = max(1, len(files) // fresh)
        digests = {}
        for item in files[::step][:fresh]:
            digests.update(with_pyodide(package, release, [item]))
        how = 'a new process per file'
    else:
        digests = with_pyodide(package, release, files)
        how = 'one process'
    same = sum(1 for key, digest in digests.items() if table[key] == digest)
    print('golden: %s: Pyodide (%s, %s) equals the table on %d of %d caches'
          % (release, package, how, same, len(digests)))
    for key, digest in sorted(digests.items()):
        if table[key] != digest:
            print('  differs: %s at level %d: %s, table %s' % (key[0], key[1], digest, table[key]))
    return 0 if same == len(digests) else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--release', action='append', help='a release such as 3.12.1 (repeatable)')
    parser.add_argument('--all', action='store_true', help='every corpus file, not the sample')
    parser.add_argument('-j', '--jobs', type=int, default=os.cpu_count() or 1)
    parser.add_argument('--check-pyodide', metavar='RELEASE',
                        help='compile the sample with the Pyodide that carries RELEASE (3.12.1) and compare '
                             'with corpus/golden/RELEASE.tsv; writes nothing')
    parser.add_argument('--fresh', type=int, metavar='N',
                        help='with --check-pyodide: N files of the sample, each in a new Pyodide process')
    args = parser.parse_args()
    files = sample(args.all)
    if args.check_pyodide:
        return check_pyodide(args.check_pyodide, files, args.fresh)
    print('golden: %d files, %d caches per release' % (len(files), len(files) * len(LEVELS)))
    for release in args.release or default_releases():
        started = time.time()
        python = find_release(release)
        if python is not None:
            how = ('`python -I [-O|-OO] -m py_compile PATH`, a fresh process per file and level, '
                   'SOURCE_DATE_EPOCH=0; magic %s; %s' % (magic_of(python), origin(python, release)))
            digests = with_interpreter(python, files, args.jobs)
        elif release in PYODIDE_RELEASES:
            package = PYODIDE_RELEASES[release]
            how = ('Pyodide (npm %s): py_compile.compile(PATH, optimize=LEVEL, CHECKED_HASH) '
                   'in one interpreter for all files' % package.replace('pyodide-', 'pyodide@'))
            digests = with_pyodide(package, release, files)
        else:
            print('golden: %s: no interpreter found, skipped' % release)
            continue
        target = write_table(release, how, files, digests, args.all)
        errors = sum(1 for d in digests.values() if d.startswith('error:'))
        print('golden: %s: %d caches, %d refused, in %.0f s -> %s'
              % (release, len(digests) - errors, errors, time.time() - started, os.path.relpath(target, ROOT)))


if __name__ == '__main__':
    sys.exit(main())
