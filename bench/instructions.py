#!/usr/bin/env python3
"""Instructions per source byte of the native compiler, by callgrind: the
figure the speed work is judged by, repeatable to the instruction on a
shared, noisy machine where wall time is not.

    python3 bench/instructions.py                 # the fixed sample, --target 3.12
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

# Inclusive counts of these functions, in pipeline order.
STAGES = [
    ('parse (ruff)', r'ruff_python_parser::parse_unchecked'),
    ('lower (incl. parse)', r'pycache_compiler::lower::parse'),
    ('nesting', r'pycache_compiler::nesting::check'),
    ('fold', r'pycache_compiler::fold::Folder::body'),
    ('symtable', r'pycache_compiler::symtable::build'),
    ('codegen (incl. below)', r'pycache_compiler::codegen::Compiler::module'),
    ('flowgraph', r'pycache_compiler::flowgraph::optimize'),
    ('assemble', r'pycache_compiler::assemble::make_code'),
    ('marshal', r'pycache_compiler::marshal::marshal_code'),
]


def target_dir():
    return os.environ.get('CARGO_TARGET_DIR', os.path.join(ROOT, 'target'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--target', default='3.12', help='native target (default 3.12)')
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
        annotated = subprocess.run(['callgrind_annotate', '--auto=no', '--inclusive=yes', '--threshold=100', out],
                                   capture_output=True, text=True, check=True).stdout
    total = int(re.search(r'([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS', annotated).group(1).replace(',', ''))
    source_bytes = int(re.search(r'(\d+) bytes', summary).group(1))
    print(summary)
    print('%s instructions, %.1f per source byte' % (format(total, ','), total / source_bytes))
    for name, pattern in STAGES:
        best = 0
        for line in annotated.splitlines():
            m = re.match(r'\s*([\d,]+) \(', line)
            # The outermost call: a recursive call's count ('2) is partial.
            if m and re.search(re.escape(pattern) + r' \[', line):
                best = max(best, int(m.group(1).replace(',', '')))
        print('  %-22s %14s  %5.1f%%  %6.1f per byte' % (name, format(best, ','), 100 * best / total,
                                                         best / source_bytes))


if __name__ == '__main__':
    main()
