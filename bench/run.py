#!/usr/bin/env python3
"""pycache against compileall, uv and serc: cold compile, no-op, scaling and
correctness on a pinned real corpus, in one command.

    python3 bench/run.py            # everything; writes bench/results/bench.{json,md,svg}
    python3 bench/run.py --quick    # a smoke run on a small tree (results under the work dir)
    python3 bench/run.py --readme   # also put the table into docs/speed.md

On a fresh machine it builds pycache (cargo build --profile dist: fat LTO, as releases ship), installs the
peers (bench/peers.txt: uv and serc, pinned with hashes) into a private
virtual environment, downloads and checks the pinned wheels (corpus/fetch.py),
builds the tree (the target interpreter's standard library plus the wheels'
Python files, over 5,000 files), compiles a reference with the interpreter's
own compileall, then measures every tool. It needs CPython 3.12 (or the
--python asked for) somewhere pycache can find it, Rust, and network access
to PyPI for the first run.

Every cold run compiles a fresh copy of the tree at the same absolute path
(so the file names recorded in the caches agree), and every tool runs with
PYTHONHASHSEED=0 (frozenset constants are marshalled in hash order; a fixed
seed makes byte comparison meaningful). Runs are interleaved: run 1 of every
tool, then run 2 of every tool, so background load is spread evenly.
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import corpus_tree  # noqa: E402
import measure  # noqa: E402
import report  # noqa: E402

SCALES = (0.25, 0.5, 1, 2)
BASES = ('pycache (auto)', 'pycache (cpython)')  # the ratios' reference: what `pycache compile` does by default


def log(msg):
    print('bench: ' + msg, file=sys.stderr, flush=True)


def target_dir():
    return os.environ.get('CARGO_TARGET_DIR') or os.path.join(ROOT, 'target')


def build_pycache():
    subprocess.check_call(['cargo', 'build', '--profile', 'dist', '-p', 'pycache'], cwd=ROOT)
    return os.path.join(target_dir(), 'dist', 'pycache')


def source_commit():
    """The commit pycache was built from, marked when the crates have changes."""
    try:
        commit = subprocess.check_output(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT).decode().strip()
        dirty = subprocess.call(['git', 'diff', '--quiet', 'HEAD', '--', 'crates', 'Cargo.toml'], cwd=ROOT)
    except (OSError, subprocess.CalledProcessError):
        return ''
    return 'commit %s%s' % (commit, ' with changes' if dirty else '')


def find_python(pycache, want):
    if os.path.sep in want:
        return os.path.abspath(want)
    out = subprocess.check_output([pycache, 'interpreters', '--format', 'json'])
    found = json.loads(out)
    for info in found:
        if '%d.%d' % tuple(info['version'][:2]) == want and info.get('implementation') == 'cpython':
            return info['executable']
    sys.exit('bench: no CPython %s found (found: %s)' % (
        want, ', '.join('%d.%d.%d' % tuple(i['version'][:3]) for i in found)))


def python_version(python):
    out = subprocess.check_output([python, '-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'])
    return out.decode().strip()


def file_digest(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def install_peers(work):
    """The private venv with uv and serc, (re)built when bench/peers.txt changes.

    It is made by the Python that runs this script, not the target interpreter:
    the peers are binaries, and a distribution's target interpreter may have no
    ensurepip (Debian's python3.X-minimal)."""
    venv = os.path.join(work, 'peers')
    stamp = os.path.join(venv, 'peers.sha256')
    want = file_digest(os.path.join(HERE, 'peers.txt'))
    if not (os.path.exists(stamp) and open(stamp).read() == want):
        log('installing the peers into %s' % venv)
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.check_call([sys.executable, '-m', 'venv', venv])
        subprocess.check_call([os.path.join(venv, 'bin', 'python'), '-m', 'pip', 'install', '--quiet',
                               '--disable-pip-version-check', '--require-hashes', '-r',
                               os.path.join(HERE, 'peers.txt')], stdout=sys.stderr)
        with open(stamp, 'w') as f:
            f.write(want)
    return {name: os.path.join(venv, 'bin', name) for name in ('uv', 'serc')}


def tool_version(argv):
    try:
        return subprocess.check_output(argv, stderr=subprocess.STDOUT).decode().strip().splitlines()[0]
    except (OSError, subprocess.CalledProcessError) as e:
        return 'unknown (%s)' % e


def engine_works(pycache, python, engine, env):
    """Does `pycache compile --engine ENGINE` compile a one-file tree? (ok, message)"""
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, 'probe.py'), 'w') as f:
            f.write('def probe(x):\n    return [x * 2 for _ in range(3)]\n')
        proc = subprocess.run([pycache, 'compile', '--engine', engine, '--python', python, '-qq',
                               '--no-progress', tmp], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        caches = [n for _, _, names in os.walk(tmp) for n in names if n.endswith('.pyc')]
        if proc.returncode == 0 and caches:
            return True, ''
        message = (proc.stderr or proc.stdout).decode('utf-8', 'replace').strip().splitlines()
        return False, 'exit %d: %s' % (proc.returncode, message[0] if message else 'no cache written')


def make_tools(pycache, python, version, peers, venv_python, work, env):
    """Each tool: how to run it at a given -j (None: all cores), and what it is."""
    short = '.'.join(version.split('.')[:2])
    tools, notes = [], []
    pycache_version = tool_version([pycache, '--version'])
    engines = []
    for engine in ('native', 'cpython'):
        ok, why = engine_works(pycache, python, engine, env)
        if ok:
            engines.append(engine)
        else:
            notes.append('pycache --engine %s skipped: %s' % (engine, why))
            log(notes[-1])
    # With a native engine, the default (auto: native, and the interpreter for
    # the files native declines) is a third way to run, and the one users get.
    if 'native' in engines:
        engines.insert(0, 'auto')
    what = {'auto': 'the default: the native compiler, the interpreter for each file it declines',
            'native': 'the native compiler only: a file it declines fails',
            'cpython': 'interpreter workers for every file'}
    for engine in engines:
        tools.append({
            'name': 'pycache (%s)' % engine,
            'version': pycache_version,
            'cmd': lambda jobs, engine=engine: [pycache, 'compile', '--engine', engine, '--python', python,
                                                '-q', '--no-progress', '-j', str(jobs or 0), '{tree}'],
            'method': '`pycache compile --engine %s --python %s -j N TREE`: %s' % (engine, short, what[engine]),
        })
    tools.append({
        'name': 'compileall',
        'version': 'CPython %s' % version,
        'cmd': lambda jobs: [python, '-m', 'compileall', '-q', '-j', str(jobs or 0), '{tree}'],
        'method': '`python%s -m compileall -q -j N TREE` (-j0: one process per core)' % short,
    })
    empty = os.path.join(work, 'empty-requirements.txt')
    open(empty, 'w').close()
    uv_sync = [peers['uv'], 'pip', 'sync', '--allow-empty-requirements', '--offline', '--no-index',
               '--python', venv_python, empty]
    tools.append({
        'name': 'uv',
        'version': tool_version([peers['uv'], '--version']),
        'cmd': lambda jobs: uv_sync[:3] + ['--compile-bytecode'] + uv_sync[3:],
        'baseline': lambda jobs: list(uv_sync),
        'reported': uv_reported,
        'env': lambda jobs: {'UV_CONCURRENT_INSTALLS': str(jobs)} if jobs else {},
        'method': ('`uv pip sync --compile-bytecode` on the virtual environment whose site-packages is the '
                   'tree, minus the same sync without it. Since uv 0.12, `uv pip install --compile-bytecode` '
                   'compiles only the files of the distributions it installs; `uv pip sync` still hands '
                   'every .py in site-packages to its pool of interpreters (compileall.compile_file, one '
                   'per core; -j 1 is UV_CONCURRENT_INSTALLS=1)'),
    })
    tools.append({
        'name': 'serc',
        'version': tool_version([peers['serc'], '--version']),
        'cmd': lambda jobs: [peers['serc'], 'compile', '--python-version', short, '-q']
        + (['-j', str(jobs)] if jobs else []) + ['{tree}'],
        'method': '`serc compile --python-version %s -q [-j N] TREE` (its own compiler, no interpreter)' % short,
    })
    return tools, notes


def uv_reported(stderr):
    """uv's own account of its compile phase: 'Bytecode compiled N files in X'."""
    found = re.search(r'Bytecode compiled (\d+) files? in ([\d.]+)(ms|s)\b', stderr)
    if not found:
        return None
    seconds = float(found.group(2)) / (1000 if found.group(3) == 'ms' else 1)
    return {'files': int(found.group(1)), 'seconds': seconds}


def expand(argv, tree):
    return [tree if a == '{tree}' else a for a in argv]


def summarize(samples, tree):
    if not samples:
        return None
    wall = statistics.median(s['wall'] for s in samples)
    out = {
        'wall': wall,
        'cpu': statistics.median(s['cpu'] for s in samples),
        'max_rss_kb': max(s['max_rss_kb'] for s in samples),
        'tree_rss_kb': max(s['tree_rss_kb'] for s in samples),
        'files_per_s': tree.count / wall if wall > 0 else None,
        'mb_per_s': tree.bytes / 1e6 / wall if wall > 0 else None,
        'load': statistics.median(s['load'] for s in samples),
        'runs': [{k: s[k] for k in ('wall', 'cpu', 'max_rss_kb', 'tree_rss_kb', 'exit', 'load')} for s in samples],
    }
    reported = [s['reported'] for s in samples if s.get('reported')]
    if reported:
        out['reported_files'] = reported[0]['files']
        out['reported_wall'] = statistics.median(r['seconds'] for r in reported)
    if 'gross_wall' in samples[0]:
        out['gross_wall'] = statistics.median(s['gross_wall'] for s in samples)
        out['baseline_wall'] = statistics.median(s['baseline_wall'] for s in samples)
    return out


class Bench:
    def __init__(self, args, tools, env, tree_dir, pycache_cache):
        self.args = args
        self.tools = tools
        self.env = env
        self.tree_dir = tree_dir
        self.pycache_cache = pycache_cache

    def _env(self, tool, jobs):
        env = dict(self.env)
        if 'env' in tool:
            env.update(tool['env'](jobs))
        return env

    def _one(self, tool, jobs):
        env = self._env(tool, jobs)
        sample = measure.run(expand(tool['cmd'](jobs), self.tree_dir), env=env)
        if 'reported' in tool:
            sample['reported'] = tool['reported'](sample['stderr_tail'])
        if 'baseline' in tool:
            base = measure.run(expand(tool['baseline'](jobs), self.tree_dir), env=env)
            sample['gross_wall'], sample['baseline_wall'] = sample['wall'], base['wall']
            sample['wall'] = max(0.0, sample['wall'] - base['wall'])
            sample['cpu'] = max(0.0, sample['cpu'] - base['cpu'])
        return sample

    def measure_all(self, configs):
        """Cold and no-op runs of every tool in every configuration.

        configs: key -> (tree, jobs, runs, check). Round r runs every tool in
        every configuration that wants more than r runs, so load from other
        work on the machine falls on all tools and all sizes alike. Each
        cold run starts from a fresh copy of the tree; check (when given)
        inspects the caches of the first round.
        """
        names = [t['name'] for t in self.tools]
        cold = {key: {n: [] for n in names} for key in configs}
        noop = {key: {n: [] for n in names} for key in configs}
        checks = {key: {} for key in configs}
        for run in range(max(c[2] for c in configs.values())):
            for key, (tree, jobs, runs, check) in configs.items():
                if run >= runs:
                    continue
                for tool in self.tools:
                    tree.materialize(self.tree_dir)
                    # pycache remembers refused sources and the headers of caches; a cold
                    # run starts without either memory.
                    failures = os.path.join(self.pycache_cache, 'failures.json')
                    if os.path.exists(failures):
                        os.unlink(failures)
                    shutil.rmtree(os.path.join(self.pycache_cache, 'headers'), ignore_errors=True)
                    c = self._one(tool, jobs)
                    n = self._one(tool, jobs)
                    cold[key][tool['name']].append(c)
                    noop[key][tool['name']].append(n)
                    log('%-18s %-5s -j%s run %d/%d: cold %6.2fs (cpu %6.2fs), no-op %6.3fs (cpu %6.3fs), '
                        'load %.1f' % (tool['name'], tree.label, jobs or 0, run + 1, runs, c['wall'], c['cpu'],
                                       n['wall'], n['cpu'], c['load']))
                    if check and run == 0:
                        checks[key][tool['name']] = check()
        return {key: {n: {'cold': summarize(cold[key][n], tree), 'noop': summarize(noop[key][n], tree),
                          'correctness': checks[key].get(n)} for n in names}
                for key, (tree, _, _, _) in configs.items()}


def compare(python, reference, tree_dir):
    out = subprocess.check_output([python, os.path.join(HERE, 'compare_pycs.py'), reference, tree_dir])
    return json.loads(out)


def make_reference(python, tree, tree_dir, work, env):
    """What the interpreter's own compileall writes (serially, sorted order) at the same paths."""
    ref = os.path.join(work, 'reference-%d' % tree.count)
    stamp = ref + '.json'
    want = {'python': python, 'version': python_version(python), 'tree': tree_dir, 'files': tree.count,
            'bytes': tree.bytes, 'hashseed': env.get('PYTHONHASHSEED')}
    if corpus_tree.read_json(stamp) == want and os.path.isdir(ref):
        return ref
    log('compiling the reference: %s -m compileall on %d files (serial)' % (python, tree.count))
    tree.materialize(tree_dir)
    subprocess.run([python, '-m', 'compileall', '-q', tree_dir], env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    count = corpus_tree.collect_caches(tree_dir, ref)
    log('reference: %d caches' % count)
    with open(stamp, 'w') as f:
        json.dump(want, f)
    return ref


def machine_info():
    info = {'platform': platform.platform(), 'machine': platform.machine(), 'cores': os.cpu_count()}
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    info['cpu'] = line.split(':', 1)[1].strip()
                    break
        with open('/proc/meminfo') as f:
            info['memory_gb'] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return info


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: 1/16 of the tree, one run each (results go to WORK/quick-results)')
    parser.add_argument('--python', default='3.12', help='target interpreter: a version or a path (default 3.12)')
    parser.add_argument('--runs', type=int, help='runs per tool for the main figures (default 5)')
    parser.add_argument('--scale-runs', type=int, help='runs per tool for scaling and -j 1 (default 3)')
    parser.add_argument('--pycache', help='a pycache binary (default: cargo build --profile dist)')
    parser.add_argument('--pycache-source', help='what --pycache was built from, for the record (e.g. a commit)')
    parser.add_argument('--work', default=os.path.join(target_dir(), 'bench'), help='scratch directory')
    parser.add_argument('--out', help='results directory (default bench/results)')
    parser.add_argument('--no-scaling', action='store_true', help='skip the corpus-size and -j 1 runs')
    parser.add_argument('--readme', action='store_true', help='write the table into docs/speed.md')
    parser.add_argument('--render', action='store_true',
                        help='measure nothing: redraw the table and chart from the results directory\'s bench.json')
    args = parser.parse_args()
    if args.render:
        out_dir = args.out or os.path.join(HERE, 'results')
        with open(os.path.join(out_dir, 'bench.json')) as f:
            write_outputs(json.load(f), out_dir, args.readme)
        return
    runs = args.runs or (1 if args.quick else 5)
    scale_runs = args.scale_runs or (1 if args.quick else 3)
    fraction = 1 / 16 if args.quick else 1
    work = os.path.abspath(args.work)
    out_dir = args.out or (os.path.join(work, 'quick-results') if args.quick else os.path.join(HERE, 'results'))
    os.makedirs(work, exist_ok=True)
    started = time.time()
    load_start = os.getloadavg()

    if args.quick:
        measure.self_test()
    pycache = os.path.abspath(args.pycache) if args.pycache else build_pycache()
    source = args.pycache_source or ('' if args.pycache else source_commit())
    python = find_python(pycache, args.python)
    version = python_version(python)
    short = '.'.join(version.split('.')[:2])
    peers = install_peers(work)
    corpus_site = corpus_tree.fetch_corpus()
    pristine = corpus_tree.build_pristine(work, python, short, corpus_site)
    files = corpus_tree.list_sources(pristine)

    # The tree lives in a virtual environment's site-packages, so uv can compile
    # it; every tool compiles it at that same path.
    venv = os.path.join(work, 'venv-%s' % short)
    venv_python = os.path.join(venv, 'bin', 'python')
    if not os.path.exists(venv_python):
        subprocess.check_call([python, '-m', 'venv', '--without-pip', venv])
    tree_dir = subprocess.check_output(
        [venv_python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])']).decode().strip()

    pycache_cache = os.path.join(work, 'pycache-cache')
    env = dict(os.environ)
    for name in ('PYTHONDONTWRITEBYTECODE', 'SOURCE_DATE_EPOCH', 'PYTHONPYCACHEPREFIX', 'VIRTUAL_ENV',
                 'PYTHONOPTIMIZE', 'UV_COMPILE_BYTECODE', 'UV_CONCURRENT_INSTALLS'):
        env.pop(name, None)
    env.update({'PYTHONHASHSEED': '0', 'PYCACHE_CACHE_DIR': pycache_cache,
                'UV_CACHE_DIR': os.path.join(work, 'uv-cache'), 'UV_NO_PROGRESS': '1'})

    tools, notes = make_tools(pycache, python, version, peers, venv_python, work, env)
    for tool in tools:
        if tool['name'].startswith('pycache') and source:
            tool['version'] += ' (%s)' % source
    main_tree = corpus_tree.Tree(pristine, corpus_tree.select(files, fraction), 1, '1x')
    log('tree: %d files, %.1f MB; %d runs (%d for scaling); tools: %s' % (
        main_tree.count, main_tree.bytes / 1e6, runs, scale_runs, ', '.join(t['name'] for t in tools)))
    reference = make_reference(python, main_tree, tree_dir, work, env)

    configs = {'main': (main_tree, None, runs, lambda: compare(python, reference, tree_dir))}
    trees = {'1x': main_tree.describe()}
    if not args.no_scaling:
        for scale in SCALES:
            if scale == 1:
                continue
            label = '%gx' % scale
            tree = corpus_tree.Tree(pristine, corpus_tree.select(files, fraction * min(scale, 1)),
                                    2 if scale == 2 else 1, label)
            trees[label] = tree.describe()
            configs[label] = (tree, None, scale_runs, None)
        configs['j1'] = (main_tree, 1, scale_runs, None)
    measured = Bench(args, tools, env, tree_dir, pycache_cache).measure_all(configs)
    results = {'main': measured['main']}
    scaling = dict(measured, **{'1x': measured['main']})
    jobs = {'1': measured['j1'], 'all': measured['main']} if 'j1' in measured else {}
    results['scaling'] = {label: scaling[label] for label in ('0.25x', '0.5x', '1x', '2x') if label in scaling}
    results['jobs'] = jobs

    command = 'python3 bench/run.py' + (' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else '')
    doc = {
        'schema': 1,
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'command': command,
        'quick': args.quick,
        'duration_s': round(time.time() - started),
        'machine': dict(machine_info(), load_start=load_start, load_end=os.getloadavg()),
        'python': {'path': python, 'version': version},
        'corpus': {'stdlib': 'CPython %s standard library' % version,
                   'wheels': [' '.join(p[:2]) for p in corpus_tree_pins()],
                   'trees': trees},
        'runs': runs,
        'scale_runs': scale_runs,
        'baseline': next((b for b in BASES if any(t['name'] == b for t in tools)), tools[0]['name']),
        'tools': {t['name']: {'version': t['version'], 'method': t['method']} for t in tools},
        'notes': notes,
        'results': results,
    }
    doc['issue2'] = report.issue2(doc)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'bench.json'), 'w') as f:
        json.dump(doc, f, indent=1)
    write_outputs(doc, out_dir, args.readme)
    log('results in %s (%d s)' % (out_dir, doc['duration_s']))


def write_outputs(doc, out_dir, readme):
    doc['issue2'] = report.issue2(doc)
    markdown = report.markdown(doc)
    with open(os.path.join(out_dir, 'bench.md'), 'w') as f:
        f.write(markdown)
    with open(os.path.join(out_dir, 'bench.svg'), 'w') as f:
        f.write(report.svg(doc))
    if readme:
        report.update_readme(os.path.join(ROOT, 'docs', 'speed.md'), doc, markdown)
    print(markdown)


def corpus_tree_pins():
    with open(os.path.join(ROOT, 'corpus', 'wheels.txt')) as f:
        return [line.split() for line in f if line.strip() and not line.startswith('#')]


if __name__ == '__main__':
    main()
