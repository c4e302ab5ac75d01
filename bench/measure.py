"""Run one command and measure its whole process tree: wall time, CPU time
(user + system of every process it started), the peak RSS of its largest
process, and the peak of the summed RSS of all its processes at once.

CPU time comes from wait4(): the kernel adds to a process's rusage the usage
of every descendant it waited for. The harness makes itself a child subreaper,
so a descendant orphaned by its parent is re-parented to the harness, and is
reaped and counted here too. The summed RSS is sampled from /proc every
SAMPLE_SECONDS, so it can miss a short peak; the largest-process peak is exact.
The first sample waits SAMPLE_SECONDS too: a scan of /proc costs about a
millisecond of CPU, which on a two-core machine would be taken from a run
that lasts twenty. A run shorter than that reports its largest process as
its summed RSS.
"""
import ctypes
import os
import subprocess
import sys
import threading
import time

SAMPLE_SECONDS = 0.05
PR_SET_CHILD_SUBREAPER = 36
_PAGE = os.sysconf('SC_PAGE_SIZE')
_subreaper = False


def _become_subreaper():
    global _subreaper
    if _subreaper:
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    _subreaper = True


def _processes():
    """pid -> (ppid, rss bytes) for every process we can see."""
    out = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name, 'rb') as f:
                fields = f.read().rsplit(b')', 1)[1].split()
        except OSError:
            continue
        out[int(name)] = (int(fields[1]), int(fields[21]) * _PAGE)
    return out


def _tree_rss(root, me):
    procs = _processes()
    children = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    # Orphans re-parented to the harness belong to the measured tree too.
    todo = [root] + [p for p in children.get(me, []) if p != root]
    total, seen = 0, set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in procs:
            continue
        seen.add(pid)
        total += procs[pid][1]
        todo.extend(children.get(pid, []))
    return total


class _Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.stop = threading.Event()

    def run(self):
        me = os.getpid()
        while not self.stop.wait(SAMPLE_SECONDS):
            try:
                self.peak = max(self.peak, _tree_rss(self.pid, me))
            except OSError:
                pass


def _add(a, b):
    return (a[0] + b.ru_utime + b.ru_stime, max(a[1], b.ru_maxrss))


def run(argv, env=None, cwd=None, ok_codes=(0, 1)):
    """Run argv to completion; return a dict of measurements.

    Raises RuntimeError when the exit code is not in ok_codes.
    """
    _become_subreaper()
    err_path = '/tmp/pycache-bench-stderr.%d' % os.getpid()
    with open(err_path, 'w+b') as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
        sampler = _Sampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop.set()
        sampler.join()
        cpu, maxrss = _add((0.0, 0), usage)
        # Descendants that outlived their parents: reap them and count them.
        deadline = time.monotonic() + 30
        while True:
            try:
                pid, _, more = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
                continue
            cpu, maxrss = _add((cpu, maxrss), more)
        err.seek(0)
        stderr = err.read().decode('utf-8', 'replace')
    os.unlink(err_path)
    if proc.returncode not in ok_codes:
        raise RuntimeError('%s exited with %d:\n%s' % (' '.join(map(str, argv)), proc.returncode, stderr[-3000:]))
    return {
        'wall': wall,
        'cpu': cpu,
        'max_rss_kb': maxrss,
        'tree_rss_kb': max(sampler.peak // 1024, maxrss),
        'exit': proc.returncode,
        'load': os.getloadavg()[0],
        'stderr_tail': stderr[-400:],
    }


def self_test():
    """The tree accounting counts grandchildren (run.py --quick checks it)."""
    burn = 'import time\nt=time.process_time()\nwhile time.process_time()-t<0.3: pass\n'
    spawn = ('import subprocess,sys\n'
             'ps=[subprocess.Popen([sys.executable,"-c",%r]) for _ in range(2)]\n'
             '[p.wait() for p in ps]\n' % burn)
    r = run([sys.executable, '-c', spawn])
    if r['cpu'] < 0.55:
        raise RuntimeError('the CPU time of grandchildren is not counted: %r' % r)
    return r
