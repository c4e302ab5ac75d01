#!/usr/bin/env python3
"""Install Debian's newer CPython builds beside the system, as references.

    python3 corpus/pythons.py [--root DIR] [--refresh] [--suites trixie,forky,sid]

For every CPython release that Debian's trixie, forky and sid suites offer
today, this unpacks `python3.X-minimal`, `libpython3.X-minimal` and
`libpython3.X-stdlib` into ROOT/<release>/ (for example
/opt/pycache-pythons/3.13.5/usr/bin/python3.13), unpacks sid's `libc6` into
ROOT/libc6-<version>/ (these builds need glibc >= 2.38, bookworm has 2.36),
and points each interpreter at that C library with patchelf, so that the
interpreter and every subprocess it starts (`compileall -j`) run directly.
Nothing is installed into the system but patchelf (a bookworm package): the
suites are known only to a private apt configuration in ROOT/.apt/ (its own
sources list, a priority-100 pin, its own package lists), which the system's
apt never reads.

Suites drop a release when a newer one arrives, so the script takes what each
suite offers today, prints it, keeps releases it installed earlier, and
writes ROOT/manifest.json. Each new interpreter is checked (`py_compile`,
`compileall -j 2`, `dis`) before it is kept. A rerun only refreshes the
package lists when they are older than a day (or with --refresh) and installs
what is new. ROOT defaults to $PYCACHE_PYTHONS, else /opt/pycache-pythons;
pycache's discovery (`pycache_python::discovery`) looks in the same place.
"""
import argparse
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

DEFAULT_ROOT = '/opt/pycache-pythons'
SUITES = ('trixie', 'forky', 'sid')
# The suite whose C library every interpreter runs on: the newest.
LIBC_SUITE = 'sid'
MIRROR = 'http://deb.debian.org/debian'
KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg'
LISTS_MAX_AGE = 24 * 3600
MANIFEST_FORMAT = 1


def log(message):
    print('pythons: ' + message, flush=True)


class Apt:
    """apt-get and apt-cache with a configuration of their own under `base`."""

    def __init__(self, base, suites):
        self.base = base
        self.suites = suites
        etc = os.path.join(base, 'etc')
        for sub in ('etc/sources.list.d', 'etc/preferences.d', 'lists/partial', 'cache/archives/partial'):
            os.makedirs(os.path.join(base, sub), exist_ok=True)
        write_if_changed(os.path.join(etc, 'sources.list.d', 'pycache-pythons.sources'),
                         'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nArchitectures: amd64\n'
                         'Signed-By: %s\n' % (MIRROR, ' '.join(suites), KEYRING))
        # Never the candidate for anything: packages are fetched by exact version.
        write_if_changed(os.path.join(etc, 'preferences.d', 'pycache-pythons.pref'),
                         ''.join('Package: *\nPin: release n=%s\nPin-Priority: 100\n\n' % s for s in suites))
        self.options = [
            '-o', 'Dir::Etc::SourceList=/dev/null',
            '-o', 'Dir::Etc::SourceParts=' + os.path.join(etc, 'sources.list.d'),
            '-o', 'Dir::Etc::Preferences=/dev/null',
            '-o', 'Dir::Etc::PreferencesParts=' + os.path.join(etc, 'preferences.d'),
            '-o', 'Dir::State::Lists=' + os.path.join(base, 'lists'),
            '-o', 'Dir::State::status=/dev/null',
            '-o', 'Dir::Cache=' + os.path.join(base, 'cache'),
            # Kept between runs (Docker images turn these off), so a rerun
            # reads the lists without parsing them again.
            '-o', 'Dir::Cache::pkgcache=pkgcache.bin',
            '-o', 'Dir::Cache::srcpkgcache=srcpkgcache.bin',
            '-o', 'APT::Architectures=amd64',
            '-o', 'Acquire::Languages=none',
            # Only the Packages indexes: no AppStream metadata, icons or contents.
            '-o', 'Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false',
            '-o', 'Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false',
            '-o', 'Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false',
            '-o', 'Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false',
            '-o', 'Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false',
            '-o', 'Acquire::IndexTargets::deb::CNF::DefaultEnabled=false',
        ]
        self.stamp = os.path.join(base, 'updated')

    def run(self, tool, *args, cwd=None):
        return subprocess.run([tool] + self.options + list(args), cwd=cwd, check=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True).stdout

    def update(self, force):
        fresh = os.path.exists(self.stamp) and time.time() - os.path.getmtime(self.stamp) < LISTS_MAX_AGE
        if fresh and not force:
            return False
        started = time.time()
        try:
            self.run('apt-get', '-q', 'update')
        except subprocess.CalledProcessError as err:
            sys.exit('pythons: apt-get update failed:\n%s' % err.stderr)
        with open(self.stamp, 'w'):
            pass
        log('package lists of %s refreshed in %.0f s' % (' '.join(self.suites), time.time() - started))
        return True

    def offers(self, packages):
        """(package, version, suite) for each version the suites carry."""
        if not packages:
            return []
        out = []
        for line in self.run('apt-cache', 'madison', *packages).splitlines():
            fields = [f.strip() for f in line.split('|')]
            if len(fields) < 3:
                continue
            suite = fields[2].split()[1].split('/')[0] if len(fields[2].split()) > 1 else ''
            if suite in self.suites:
                out.append((fields[0], fields[1], suite))
        return out

    def names(self, prefix):
        return self.run('apt-cache', 'pkgnames', prefix).split()

    def download(self, specs, dest):
        try:
            self.run('apt-get', '-q', 'download', *specs, cwd=dest)
        except subprocess.CalledProcessError as err:
            sys.exit('pythons: apt-get download %s failed:\n%s' % (' '.join(specs), err.stderr))
        return sorted(os.path.join(dest, f) for f in os.listdir(dest) if f.endswith('.deb'))


def write_if_changed(path, text):
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    write_atomic(path, text)


def write_atomic(path, text):
    fd, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.tmp-')
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.chmod(temp, 0o644)
    os.replace(temp, path)


def upstream(debian_version):
    """`3.13.5-2+deb13u5` -> `3.13.5`; None for pre-releases such as `3.15.0~b1-1`."""
    m = re.match(r'^(?:\d+:)?(\d+\.\d+\.\d+)(?:-|$)', debian_version)
    return m.group(1) if m else None


def newer(a, b):
    return subprocess.run(['dpkg', '--compare-versions', a, 'gt', b]).returncode == 0


def ensure_patchelf():
    if shutil.which('patchelf'):
        return
    if os.geteuid() != 0:
        sys.exit('pythons: patchelf is missing; install it (apt-get install patchelf) and rerun')
    log('installing patchelf (bookworm)')
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    install = ['apt-get', '-q', '-y', '--no-install-recommends', 'install', 'patchelf']
    if subprocess.run(install, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(['apt-get', '-q', 'update'], env=env, stdout=subprocess.DEVNULL, check=True)
        subprocess.run(install, env=env, stdout=subprocess.DEVNULL, check=True)


def extract(debs, into):
    for deb in debs:
        subprocess.run(['dpkg-deb', '-x', deb, into], check=True)


def find_loader(libc_dir):
    for rel in ('usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu', 'usr/lib64', 'lib64'):
        loader = os.path.join(libc_dir, rel, 'ld-linux-x86-64.so.2')
        if os.path.exists(loader):
            return os.path.realpath(loader), os.path.join(libc_dir, rel)
    sys.exit('pythons: no ld-linux-x86-64.so.2 in %s' % libc_dir)


def install_libc(apt, root, version):
    target = os.path.join(root, 'libc6-' + version)
    if not os.path.isdir(target):
        log('unpacking libc6 %s' % version)
        with tempfile.TemporaryDirectory(dir=root, prefix='.download-') as temp:
            debs = apt.download(['libc6=' + version], temp)
            staging = os.path.join(temp, 'root')
            extract(debs, staging)
            os.rename(staging, target)
    return target


def check(python, release):
    """Runs py_compile, compileall -j 2 and dis in the new interpreter; the
    reason it fails, or None."""
    minor = '.'.join(release.split('.')[:2])
    tag = 'cpython-' + minor.replace('.', '')
    with tempfile.TemporaryDirectory() as temp:
        for name in ('a', 'b', 'c'):
            with open(os.path.join(temp, name + '.py'), 'w') as f:
                f.write('def %s(x):\n    return [x * i for i in range(3)]\n' % name)
        env = {k: v for k, v in os.environ.items() if not k.startswith('PYTHON')}
        steps = [
            ('version', ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], release),
            ('py_compile', ['-m', 'py_compile', os.path.join(temp, 'a.py')], None),
            ('compileall -j 2', ['-m', 'compileall', '-q', '-j', '2', temp], None),
            ('dis', ['-m', 'dis', os.path.join(temp, 'a.py')], 'BINARY_OP'),
        ]
        for name, args, expect in steps:
            out = subprocess.run([python, '-I'] + args, env=env, cwd=temp,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if out.returncode != 0 or (expect is not None and expect not in out.stdout):
                return '%s: exit %d: %s' % (name, out.returncode, out.stdout.strip()[-400:])
        for name in ('a', 'b', 'c'):
            if not os.path.exists(os.path.join(temp, '__pycache__', '%s.%s.pyc' % (name, tag))):
                return 'compileall -j 2 wrote no %s.%s.pyc' % (name, tag)
    return None


def install_release(apt, root, release, minor, version, libc_dir):
    """Unpacks one release into ROOT/<release>, patched and checked."""
    target = os.path.join(root, release)
    packages = ['python%s-minimal' % minor, 'libpython%s-minimal' % minor, 'libpython%s-stdlib' % minor]
    with tempfile.TemporaryDirectory(dir=root, prefix='.download-') as temp:
        debs = apt.download(['%s=%s' % (p, version) for p in packages], temp)
        staging = os.path.join(temp, 'root')
        extract(debs, staging)
        python = os.path.join(staging, 'usr', 'bin', 'python' + minor)
        loader, libdir = find_loader(libc_dir)
        subprocess.run(['patchelf', '--set-interpreter', loader, '--set-rpath', libdir, python], check=True)
        # The checks run the interpreter where it will stay: its prefix is
        # computed from its own path.
        if os.path.isdir(target):
            shutil.rmtree(target)
        os.rename(staging, target)
    python = os.path.join(target, 'usr', 'bin', 'python' + minor)
    problem = check(python, release)
    if problem:
        shutil.rmtree(target)
        sys.exit('pythons: %s (%s) does not work: %s' % (release, version, problem))
    return python


def runs(python, release):
    try:
        out = subprocess.run([python, '-I', '-S', '-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == release


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--root', default=os.environ.get('PYCACHE_PYTHONS') or DEFAULT_ROOT)
    parser.add_argument('--refresh', action='store_true', help='refresh the package lists even if recent')
    parser.add_argument('--suites', default=','.join(SUITES))
    args = parser.parse_args()
    suites = [s for s in args.suites.split(',') if s]
    root = os.path.abspath(args.root)
    started = time.time()
    try:
        os.makedirs(root, exist_ok=True)
    except PermissionError:
        sys.exit('pythons: cannot create %s; run as root, or pass --root DIR and set PYCACHE_PYTHONS=DIR '
                 'for the tests' % root)
    lock = open(os.path.join(root, '.lock'), 'w')
    fcntl.flock(lock, fcntl.LOCK_EX)

    ensure_patchelf()
    manifest_path = os.path.join(root, 'manifest.json')
    try:
        with open(manifest_path) as f:
            manifest = json.load(f)
        if manifest.get('format') != MANIFEST_FORMAT:
            raise ValueError
    except (OSError, ValueError):
        manifest = {'format': MANIFEST_FORMAT, 'releases': {}}
    apt = Apt(os.path.join(root, '.apt'), suites)
    refreshed = apt.update(args.refresh)

    minors = sorted({m.group(1) for name in apt.names('python3.')
                     for m in [re.match(r'^python(3\.\d+)-minimal$', name)] if m},
                    key=lambda v: tuple(map(int, v.split('.'))))
    offers = apt.offers(['python%s-minimal' % m for m in minors])
    libc = [v for (_, v, s) in apt.offers(['libc6']) if s == LIBC_SUITE]
    if not libc:
        sys.exit('pythons: %s offers no libc6' % LIBC_SUITE)
    today = {}
    for suite in suites:
        found = [(p, v) for (p, v, s) in offers if s == suite]
        log('%s offers %s' % (suite, ', '.join('%s %s' % (p.replace('-minimal', ''), v) for p, v in found)
                              or 'nothing'))
        for package, version in found:
            release = upstream(version)
            if release is None:
                log('  %s %s: not a final release, left out' % (package, version))
                continue
            minor = package[len('python'):-len('-minimal')]
            seen = today.get(release)
            if seen is None or newer(version, seen['package_version']):
                today[release] = {'minor': minor, 'package_version': version, 'suites': [suite]}
            elif seen['package_version'] == version:
                seen['suites'].append(suite)

    libc_dir = None
    for release, offer in sorted(today.items(), key=lambda kv: tuple(map(int, kv[0].split('.')))):
        entry = manifest['releases'].get(release)
        python = os.path.join(root, release, 'usr', 'bin', 'python' + offer['minor'])
        if entry and entry.get('package_version') == offer['package_version'] and runs(python, release):
            entry['suites'] = offer['suites']
            entry['offered'] = True
            continue
        if libc_dir is None:
            libc_dir = install_libc(apt, root, libc[0])
        log('installing %s (%s from %s)' % (release, offer['package_version'], ', '.join(offer['suites'])))
        python = install_release(apt, root, release, offer['minor'], offer['package_version'], libc_dir)
        manifest['releases'][release] = {
            'executable': python,
            'minor': offer['minor'],
            'package_version': offer['package_version'],
            'suites': offer['suites'],
            'libc6': os.path.basename(libc_dir)[len('libc6-'):],
            'checked': ['py_compile', 'compileall -j 2', 'dis'],
            'installed': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
            'offered': True,
        }
    for release, entry in manifest['releases'].items():
        if release not in today:
            entry['offered'] = False
            entry['suites'] = []
    if refreshed:
        manifest['lists_refreshed'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
    write_atomic(manifest_path, json.dumps(manifest, indent=2, sort_keys=True) + '\n')

    for release, entry in sorted(manifest['releases'].items(), key=lambda kv: tuple(map(int, kv[0].split('.')))):
        where = ', '.join(entry['suites']) if entry['offered'] else 'no longer offered, kept'
        log('%-8s %-20s %s  (%s)' % (release, entry['package_version'], entry['executable'], where))
    log('%d interpreters in %s (%.0f s)' % (len(manifest['releases']), root, time.time() - started))


if __name__ == '__main__':
    try:
        main()
    except BrokenPipeError:
        # `corpus/pythons.py | head`: the reader has what it wanted.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
