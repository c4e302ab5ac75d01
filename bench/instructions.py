#!/usr/bin/env python3
"""Instructions per source byte of the native compiler, by callgrind: the
figure the speed work is judged by, repeatable to the instruction on a
shared, noisy machine where wall time is not.

    python3 bench/instructions.py                 # the fixed sample, --target 3.12.1
    python3 bench/instructions.py --target 3.13   # another verified target
    python3 bench/instructions.py PATH...         # other files or trees

It builds the `instructions` example (cargo's `profiling` profile: release
with debug information), runs it under `valgrind --tool=callgrind` with
collection on only while it compiles and marshals (files are read before),
and prints the total, the count per source byte and the inclusive count of
each stage. The fixed sample is three packages of the pinned corpus
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
    args = parser.parse_args()
    paths = args.paths
    if not paths:
        site = os.path.join(ROOT, '.corpus', 'site-packages')
        if not os.path.isdir(os.path.join(site, 'requests')):
            subprocess.check_call([sys.executable, os.path.join(ROOT, 'corpus', 'fetch.py')], stdout=sys.stderr)
        paths = [os.path.join(site, p) for p in SAMPLE]
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
