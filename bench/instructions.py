#!/usr/bin/env python3
"""Instructions per source byte of the native compiler, by callgrind: the
figure the speed work is judged by, repeatable to the instruction on a
shared, noisy machine where wall time is not.

    python3 bench/instructions.py                 # the fixed sample, --target 3.12.1
    python3 bench/instructions.py --target 3.13   # another verified target
    python3 bench/instructions.py PATH...         # other files or trees
    python3 bench/instructions.py --vs-serc --target 3.14.10
                                                  # whole processes: pycache compile beside serc compile

It builds the `instructions` example (cargo's `profiling` profile: release
with debug information), runs it under `valgrind --tool=callgrind` with
collection on only while it compiles and marshals (files are read before),
and prints the total, the count per source byte and the inclusive count of
each stage. With --vs-serc it instead runs the whole `pycache compile
--target REL -j1` and `serc compile --python-version X.Y -j 1` (the peer
pinned in bench/peers.txt, installed as bench/run.py does) under callgrind,
each on a fresh copy of the same files, and prints both counts and serc's
count over pycache's: start-up, reading, compiling and writing included. The fixed sample is three packages of the pinned corpus
(corpus/wheels.txt, fetched by corpus/fetch.py): requests, urllib3 and
django/db, 177 files and 2,670,206 bytes.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SAMPLE = ('requests', 'urllib3', os.path.join('django', 'db'))

# The stages as the calls the driver and the example make, with the calls
# inside parsing and code generation that have stages of their own. Counted
# per call site (callgrind's caller-to-callee costs), which, unlike a
# function's own inclusive count, stays right through recursion.
CALLERS = [
    ('instructions::measure', ('pycache_compiler::compile ', 'pycache_compiler::marshal::marshal_code')),
    ('pycache_compiler::driver::compile_with', None),
    ('pycache_compiler::lower::parse', None),
    ('pycache_compiler::driver::finish_unit', None),
]


def target_dir():
    return os.environ.get('CARGO_TARGET_DIR', os.path.join(ROOT, 'target'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--target', default='3.12.1', help='native target (default 3.12.1, the release the history in docs/speed.md is measured on)')
    parser.add_argument('-O', dest='optimize', default='0', help='optimisation level (default 0)')
    parser.add_argument('paths', nargs='*', help='files or trees (default: the fixed sample)')
    parser.add_argument('--vs-serc', action='store_true', help='whole processes of pycache and serc, side by side')
    args = parser.parse_args()
    paths = args.paths
    if not paths:
        site = os.path.join(ROOT, '.corpus', 'site-packages')
        if not os.path.isdir(os.path.join(site, 'requests')):
            subprocess.check_call([sys.executable, os.path.join(ROOT, 'corpus', 'fetch.py')], stdout=sys.stderr)
        paths = [os.path.join(site, p) for p in SAMPLE]
    if args.vs_serc:
        return whole_runs(args, paths)
    subprocess.check_call(['cargo', 'build', '--quiet', '--profile', 'profiling', '-p', 'pycache-compiler',
                           '--example', 'instructions'], cwd=ROOT)
    exe = os.path.join(target_dir(), 'profiling', 'examples', 'instructions')
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'callgrind.out')
        run = subprocess.run(['valgrind', '--tool=callgrind', '--callgrind-out-file=' + out,
                              '--toggle-collect=*instructions::measure*', exe, '--target', args.target,
                              '-O', args.optimize] + paths, capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(run.stderr)
        summary = run.stdout.strip()
        annotate = ['callgrind_annotate', '--auto=no', '--inclusive=yes', '--threshold=100']
        annotated = subprocess.run(annotate + [out], capture_output=True, text=True, check=True).stdout
        tree = subprocess.run(annotate + ['--tree=calling', out], capture_output=True, text=True, check=True).stdout
    total = int(re.search(r'([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS', annotated).group(1).replace(',', ''))
    source_bytes = int(re.search(r'(\d+) bytes', summary).group(1))
    print(summary)
    print('%s instructions, %.1f per source byte' % (format(total, ','), total / source_bytes))
    for caller, only in CALLERS:
        print('%s calls:' % caller)
        for count, callee in callees(tree, caller):
            if count * 200 < total or (only and not any(o in callee + ' ' for o in only)):
                continue
            print('  %-60s %14s  %5.1f%%  %6.1f per byte' % (callee[:60], format(count, ','), 100 * count / total,
                                                              count / source_bytes))


def whole_runs(args, paths):
    """pycache compile and serc compile, each a whole process under callgrind."""
    import shutil
    sys.path.insert(0, HERE)
    import run as bench_run
    subprocess.check_call(['cargo', 'build', '--quiet', '--release', '-p', 'pycache'], cwd=ROOT)
    pycache = os.path.join(target_dir(), 'release', 'pycache')
    serc = bench_run.install_peers(os.path.join(target_dir(), 'bench'))['serc']
    short = '.'.join(args.target.split('.')[:2])
    tools = [
        ('pycache', lambda tree: [pycache, 'compile', '--target', args.target, '-O' * int(args.optimize), '-j1', '-q',
                                  tree]),
        ('serc', lambda tree: [serc, 'compile', '--python-version', short, '-O' * int(args.optimize), '-j', '1', '-q',
                               tree]),
    ]
    counts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, argv in tools:
            tree = os.path.join(tmp, name)
            for path in paths:
                dest = os.path.join(tree, os.path.basename(os.path.normpath(path)))
                if os.path.isdir(path):
                    shutil.copytree(path, dest, ignore=shutil.ignore_patterns('__pycache__'))
                else:
                    os.makedirs(tree, exist_ok=True)
                    shutil.copy(path, dest)
            cmd = [a for a in argv(tree) if a]
            run = subprocess.run(['valgrind', '--tool=callgrind', '--callgrind-out-file=' + os.path.join(tmp, name + '.out')]
                                 + cmd, capture_output=True, text=True)
            if run.returncode != 0:
                sys.exit('%s failed:\n%s' % (' '.join(cmd), run.stderr[-2000:]))
            counts[name] = int(re.search(r'refs:\s+([\d,]+)', run.stderr).group(1).replace(',', ''))
            caches = sum(len(files) for root, _, files in os.walk(tree) if os.path.basename(root) == '__pycache__')
            print('%-8s %16s instructions, %d caches: %s' % (name, format(counts[name], ','), caches,
                                                           ' '.join(cmd).replace(tree, 'TREE')))
    print('serc / pycache: %.2f' % (counts['serc'] / counts['pycache']))


def callees(tree, caller):
    """(count, callee) of each call `caller` makes, from --tree=calling."""
    found, inside = [], False
    for line in tree.splitlines():
        if re.search(r'\*  .*[:]' + re.escape(caller) + r' \[', line):
            inside = True
            continue
        if inside:
            m = re.match(r'\s*([\d,]+) \([ \d.]+%\)\s+>\s+\S*?:(.*?)(?: \(\d[\d,]*x\))?(?: \[.*)?$', line)
            if not m:
                break
            found.append((int(m.group(1).replace(',', '')), m.group(2)))
    return sorted(found, reverse=True)


if __name__ == '__main__':
    main()
