"""Render bench/run.py's results: the markdown table, the SVG chart (drawn by
hand, no plotting library), the README section, and issue 2's two ratios."""
import html
import re

PALETTE = ['#1f6feb', '#8250df', '#bf8700', '#1a7f37', '#cf222e', '#57606a']
README_BEGIN = '<!-- bench:begin (written by python3 bench/run.py --readme) -->'
README_END = '<!-- bench:end -->'


def _seconds(x):
    if x is None:
        return 'n/a'
    if x >= 10:
        return '%.1f s' % x
    if x >= 1:
        return '%.2f s' % x
    return '%.3f s' % x


def _ratio(x, base):
    if x is None or not base:
        return 'n/a'
    return '%.2f×' % (x / base)


def _mb(kb):
    return '%d MB' % round(kb / 1024) if kb else 'n/a'


def _pct(part, whole):
    return '%.2f%%' % (100.0 * part / whole) if whole else 'n/a'


def _load_range(section):
    """The 1-minute load averages seen during a section's runs: 'a–b'."""
    loads = [run['load'] for r in section.values() for phase in ('cold', 'noop') if r.get(phase)
             for run in r[phase].get('runs', [])]
    return '%.1f–%.1f' % (min(loads), max(loads)) if loads else 'n/a'


def _main(doc):
    return doc['results']['main']


def _base(doc):
    return _main(doc).get(doc['baseline'])


def issue2(doc):
    """Issue 2: cold within 1.1× of compileall -j0; no-op at least 20× faster."""
    main = _main(doc)
    ca = main.get('compileall')
    out = {}
    if not ca:
        return out
    for name, r in main.items():
        if not name.startswith('pycache'):
            continue
        cold = r['cold']['wall'] / ca['cold']['wall']
        noop = ca['noop']['wall'] / r['noop']['wall'] if r['noop']['wall'] else None
        out[name] = {'cold_ratio': cold, 'cold_target': 1.1, 'cold_met': cold <= 1.1,
                     'noop_speedup': noop, 'noop_target': 20, 'noop_met': bool(noop and noop >= 20)}
    return out


def _tree_line(doc):
    tree = doc['corpus']['trees']['1x']
    return '%s files, %.1f MB: %s plus %s' % (
        '{:,}'.format(tree['files']), tree['bytes'] / 1e6, doc['corpus']['stdlib'],
        ', '.join(doc['corpus']['wheels']))


def _machine_line(doc):
    m = doc['machine']
    return '%s, %s cores, %s GB, %s; load average %.2f at the start, %.2f at the end' % (
        m.get('cpu', m.get('machine')), m.get('cores'), m.get('memory_gb', '?'), m.get('platform'),
        m['load_start'][0], m['load_end'][0])


def markdown(doc):
    main = _main(doc)
    base = _base(doc)
    lines = []
    add = lines.append
    add('Measured %s with `%s`%s.' % (doc['date'], doc['command'],
                                     ' (quick smoke run: not figures to quote)' if doc['quick'] else ''))
    add('')
    add('- Tree: %s, compiled at level 0 in the site-packages of a virtual environment.' % _tree_line(doc))
    add('- Machine: %s. The machine is shared with other work: figures are noisy. Load average during the '
        'main runs: %s (the benchmark itself accounts for about 2).' % (_machine_line(doc), _load_range(main)))
    add('- Median of %d runs; every cold run compiles a fresh copy of the tree, the no-op run repeats '
        'the command on the compiled tree. CPU is user + system time of the whole process tree. Peak RSS: '
        'the largest single process / all processes at once (sampled every 50 ms). Ratios are against '
        '%s: above 1× is slower.' % (doc['runs'], doc['baseline']))
    add('- Correctness: each tool\'s caches from its first cold run against what `python%s -m compileall` '
        '(serial) writes for the same paths, as the share byte-identical and the share code-equal (same header, '
        'same code objects once loaded with marshal: marshal\'s reference flags may differ).'
        % '.'.join(doc['python']['version'].split('.')[:2]))
    add('')
    add('| tool | cold wall | cold CPU | peak RSS | files/s | MB/s | cold vs pycache | no-op wall | no-op CPU '
        '| no-op vs pycache | byte-identical | code-equal | wrong or missing |')
    add('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for name, r in main.items():
        c, n, k = r['cold'], r['noop'], r.get('correctness') or {}
        ref = k.get('reference', 0)
        bad = k.get('different', 0) + k.get('missing', 0)
        extra = k.get('extra', 0)
        add('| %s | %s | %s | %s / %s | %s | %.1f | %s | %s | %s | %s | %s | %s | %s |' % (
            name, _seconds(c['wall']), _seconds(c['cpu']), _mb(c['max_rss_kb']), _mb(c['tree_rss_kb']),
            '{:,.0f}'.format(c['files_per_s']), c['mb_per_s'], _ratio(c['wall'], base and base['cold']['wall']),
            _seconds(n['wall']), _seconds(n['cpu']), _ratio(n['wall'], base and base['noop']['wall']),
            _pct(k.get('identical', 0), ref), _pct(k.get('code_equal', 0), ref),
            '{:,} of {:,}'.format(bad, ref) + (', %d extra' % extra if extra else '') if k else 'n/a'))
    add('')
    i2 = doc.get('issue2') or {}
    if i2:
        add('**Issue 2** (a tree of at least 5,000 files): cold within 1.1× of `compileall -j0`, no-op at '
            'least 20× faster than compileall\'s no-op.')
        add('')
        for name, r in i2.items():
            add('- %s: cold %.2f× compileall\'s time (%s); no-op %.1f× faster than compileall (%s).' % (
                name, r['cold_ratio'], 'met' if r['cold_met'] else 'NOT met', r['noop_speedup'] or 0,
                'met' if r['noop_met'] else 'NOT met'))
        add('')
    scaling = doc['results'].get('scaling') or {}
    if len(scaling) > 1:
        trees = doc['corpus']['trees']
        labels = list(scaling)
        add('**Scaling with the tree size** (cold / no-op wall, median of %d runs; 2× is the whole tree plus '
            'a copy of it under `dup/`):' % doc['scale_runs'])
        add('')
        add('| tool | ' + ' | '.join('%s (%s files)' % (l, '{:,}'.format(trees[l]['files'])) for l in labels)
            + ' | files/s at 2× |')
        add('|---|' + '---:|' * (len(labels) + 1))
        for name in main:
            cells = []
            for label in labels:
                r = scaling[label].get(name)
                cells.append('%s / %s' % (_seconds(r['cold']['wall']), _seconds(r['noop']['wall'])) if r else 'n/a')
            top = scaling[labels[-1]].get(name)
            cells.append('{:,.0f}'.format(top['cold']['files_per_s']) if top else 'n/a')
            add('| %s | %s |' % (name, ' | '.join(cells)))
        add('| load average during the runs | %s | |' % ' | '.join(_load_range(scaling[l]) for l in labels))
        add('')
    jobs = doc['results'].get('jobs') or {}
    if '1' in jobs:
        add('**One job against all %s cores** (whole tree, cold and no-op wall; `-j 1`, for uv '
            '`UV_CONCURRENT_INSTALLS=1`; load average during the -j 1 runs %s):'
            % (doc['machine']['cores'], _load_range(jobs['1'])))
        add('')
        add('| tool | cold -j 1 | cold all cores | speed-up | no-op -j 1 | no-op all cores |')
        add('|---|---:|---:|---:|---:|---:|')
        for name in main:
            one, every = jobs['1'].get(name), jobs['all'].get(name)
            if not one or not every:
                continue
            add('| %s | %s | %s | %.2f× | %s | %s |' % (
                name, _seconds(one['cold']['wall']), _seconds(every['cold']['wall']),
                one['cold']['wall'] / every['cold']['wall'], _seconds(one['noop']['wall']),
                _seconds(every['noop']['wall'])))
        add('')
    add('Tools and methods:')
    add('')
    for name, t in doc['tools'].items():
        add('- %s (%s): %s.' % (name, t['version'], t['method']))
    for name, r in main.items():
        if r['cold'].get('reported_wall') is not None and r['noop'].get('reported_wall') is not None:
            add('- %s\'s own account of its compile phase (median): %s files in %s cold, %s no-op; the table uses '
                'the sync with it minus the sync without it (%s and %s without, %s and %s with).' % (
                    name, '{:,}'.format(r['cold']['reported_files']), _seconds(r['cold']['reported_wall']),
                    _seconds(r['noop']['reported_wall']), _seconds(r['cold']['baseline_wall']),
                    _seconds(r['noop']['baseline_wall']), _seconds(r['cold']['gross_wall']),
                    _seconds(r['noop']['gross_wall'])))
    for note in doc.get('notes') or []:
        add('- Note: %s.' % note)
    flagged = [(name, r['correctness']) for name, r in main.items() if r.get('correctness')
               and r['correctness']['code_equal'] > r['correctness']['identical']]
    if flagged:
        add('')
        add('Code-equal but not byte-identical (marshal flagged or shared different objects, as compileall '
            'itself does when the order of compilation changes): %s.' % '; '.join(
                '%s %d%s' % (name, k['code_equal'] - k['identical'],
                             ' (e.g. `%s`)' % k['code_equal_not_identical'][0]
                             if k.get('code_equal_not_identical') else '')
                for name, k in flagged))
    wrong = [(name, r['correctness']) for name, r in main.items()
             if r.get('correctness') and r['correctness'].get('kinds')]
    if wrong:
        add('')
        add('Caches that are not code-equal to the reference, by kind, with an example of each (more in '
            '`bench.json`):')
        add('')
        for name, k in wrong:
            for kind, n in sorted(k['kinds'].items(), key=lambda i: -i[1]):
                examples = k.get('examples') or {}
                example = (examples.get(kind) if isinstance(examples, dict) else examples) or [{}]
                add('- %s, %s: %d (e.g. `%s`: %s)' % (name, kind, n, example[0].get('path'), example[0].get('reason')))
    return '\n'.join(lines) + '\n'


# ---------------------------------------------------------------- SVG


def _esc(s):
    return html.escape(str(s), quote=True)


class _Svg:
    def __init__(self, width):
        self.width = width
        self.parts = []

    def text(self, x, y, s, size=12, anchor='start', weight='normal', fill='#24292f'):
        self.parts.append('<text x="%.1f" y="%.1f" font-size="%s" text-anchor="%s" font-weight="%s" fill="%s">%s</text>'
                          % (x, y, size, anchor, weight, fill, _esc(s)))

    def rect(self, x, y, w, h, fill):
        self.parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>' % (x, y, max(w, 0.5), h, fill))

    def line(self, x1, y1, x2, y2, stroke='#d0d7de', width=1, dash=None):
        self.parts.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%s"%s/>' % (
            x1, y1, x2, y2, stroke, width, ' stroke-dasharray="%s"' % dash if dash else ''))

    def polyline(self, points, stroke):
        self.parts.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (
            stroke, ' '.join('%.1f,%.1f' % p for p in points)))

    def circle(self, x, y, fill):
        self.parts.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>' % (x, y, fill))

    def render(self, height):
        return ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
                'font-family="Helvetica, Arial, sans-serif">\n<rect width="100%%" height="100%%" fill="white"/>\n%s\n</svg>\n'
                % (self.width, height, self.width, height, '\n'.join(self.parts)))


def _nice_max(v):
    """A round axis maximum at or above v (quarters of it print well)."""
    if v <= 0:
        return 1
    return min(s * 10 ** e for s in (1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8) for e in range(-4, 7) if s * 10 ** e >= v)


def _bars(svg, x, y, w, title, rows, colors, unit_fmt):
    """Horizontal bars: rows = [(name, value, label)]; returns the bottom y."""
    svg.text(x, y, title, 14, weight='bold')
    y += 10
    label_w = 130
    bar_w = w - label_w - 360
    top = _nice_max(max([v for _, v, _ in rows if v is not None] or [1]))
    for i in range(5):
        gx = x + label_w + bar_w * i / 4
        svg.line(gx, y, gx, y + 26 * len(rows) + 4)
        svg.text(gx, y + 26 * len(rows) + 18, unit_fmt(top * i / 4), 10, 'middle', fill='#57606a')
    for i, (name, value, label) in enumerate(rows):
        by = y + 6 + 26 * i
        svg.text(x + label_w - 8, by + 14, name, 12, 'end')
        if value is not None:
            svg.rect(x + label_w, by, bar_w * value / top, 18, colors[name])
            svg.text(x + label_w + bar_w * value / top + 6, by + 14, label, 11)
    return y + 26 * len(rows) + 34


def svg(doc):
    main = _main(doc)
    base = _base(doc)
    names = list(main)
    colors = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}
    width = 980
    s = _Svg(width)
    tree = doc['corpus']['trees']['1x']
    s.text(20, 30, 'Bytecode compile of %s files (%.0f MB), CPython %s, level 0: pycache, compileall, uv, serc' % (
        '{:,}'.format(tree['files']), tree['bytes'] / 1e6, doc['python']['version']), 17, weight='bold')
    s.text(20, 50, 'median wall time of %d runs; a fresh copy of the tree for every cold run%s' % (
        doc['runs'], '   [QUICK SMOKE RUN]' if doc['quick'] else ''), 12, fill='#57606a')
    y = 80

    def fmt(v):
        return '%g s' % round(v, 3)

    rows = []
    for n in names:
        r = main[n]
        k = r.get('correctness') or {}
        ref = k.get('reference') or 0
        label = '%s  %s  ·  %s identical, %s code-equal' % (
            _seconds(r['cold']['wall']), _ratio(r['cold']['wall'], base and base['cold']['wall']),
            _pct(k.get('identical', 0), ref), _pct(k.get('code_equal', 0), ref))
        rows.append((n, r['cold']['wall'], label))
    y = _bars(s, 20, y, width - 20, 'Cold compile (every file): wall time, and caches equal to the reference',
              rows, colors, fmt)
    rows = [(n, main[n]['noop']['wall'], '%s  %s' % (_seconds(main[n]['noop']['wall']),
                                                     _ratio(main[n]['noop']['wall'], base and base['noop']['wall'])))
            for n in names]
    y = _bars(s, 20, y, width - 20, 'No-op (second run, nothing to do): wall time', rows, colors, fmt)

    scaling = doc['results'].get('scaling') or {}
    jobs = doc['results'].get('jobs') or {}
    panel_top = y
    if len(scaling) > 1:
        trees = doc['corpus']['trees']
        labels = list(scaling)
        x0, x1, y0, y1 = 80, 470, panel_top + 20, panel_top + 240
        s.text(20, panel_top, 'Cold wall time against tree size', 14, weight='bold')
        xmax = max(trees[l]['files'] for l in labels)
        ymax = _nice_max(max(scaling[l][n]['cold']['wall'] for l in labels for n in names if n in scaling[l]))
        for i in range(5):
            gy = y1 - (y1 - y0) * i / 4
            s.line(x0, gy, x1, gy)
            s.text(x0 - 6, gy + 4, fmt(ymax * i / 4), 10, 'end', fill='#57606a')
        for l in labels:
            gx = x0 + (x1 - x0) * trees[l]['files'] / xmax
            s.line(gx, y0, gx, y1, dash='3,3')
            s.text(gx, y1 + 16, '%s' % '{:,}'.format(trees[l]['files']), 10, 'middle', fill='#57606a')
        s.text((x0 + x1) / 2, y1 + 32, 'files (¼, ½, 1 and 2× the tree)', 11, 'middle', fill='#57606a')
        for n in names:
            pts = [(x0 + (x1 - x0) * trees[l]['files'] / xmax, y1 - (y1 - y0) * scaling[l][n]['cold']['wall'] / ymax)
                   for l in labels if n in scaling[l]]
            s.polyline(pts, colors[n])
            for p in pts:
                s.circle(p[0], p[1], colors[n])
        for i, n in enumerate(names):
            s.rect(x0 + 10, y0 + 4 + 16 * i, 10, 10, colors[n])
            s.text(x0 + 26, y0 + 13 + 16 * i, n, 11)
        y = y1 + 50
    if '1' in jobs:
        x0, x1, y0, y1 = 560, width - 30, panel_top + 20, panel_top + 240
        s.text(520, panel_top, 'Cold wall time: -j 1 against all %s cores' % doc['machine']['cores'], 14, weight='bold')
        present = [n for n in names if n in jobs['1'] and n in jobs['all']]
        ymax = _nice_max(max([jobs[j][n]['cold']['wall'] for j in ('1', 'all') for n in present] or [1]))
        for i in range(5):
            gy = y1 - (y1 - y0) * i / 4
            s.line(x0, gy, x1, gy)
            s.text(x0 - 6, gy + 4, fmt(ymax * i / 4), 10, 'end', fill='#57606a')
        slot = (x1 - x0) / max(1, len(present))
        for i, n in enumerate(present):
            for j, (key, shade) in enumerate((('1', 0.45), ('all', 1.0))):
                v = jobs[key][n]['cold']['wall']
                h = (y1 - y0) * v / ymax
                bx = x0 + slot * i + slot * 0.15 + j * slot * 0.35
                s.parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" fill-opacity="%s"/>' % (
                    bx, y1 - h, slot * 0.33, h, colors[n], shade))
                s.text(bx + slot * 0.165, y1 - h - 4, '%.1f' % v, 9, 'middle')
            head, _, tail = n.partition(' (')
            s.text(x0 + slot * (i + 0.5), y1 + 14, head, 10, 'middle')
            if tail:
                s.text(x0 + slot * (i + 0.5), y1 + 26, '(' + tail, 10, 'middle')
        s.text((x0 + x1) / 2, y1 + 42, 'light: -j 1, dark: all cores', 11, 'middle', fill='#57606a')
        y = max(y, y1 + 60)

    m = doc['machine']
    versions = '; '.join(dict.fromkeys(t['version'] for t in doc['tools'].values()))
    for line in (
        '%s · %s · %s cores, %s GB · load %.2f → %.2f (shared machine: noisy)' % (
            doc['date'], m.get('cpu', m.get('machine')), m.get('cores'), m.get('memory_gb', '?'),
            m['load_start'][0], m['load_end'][0]),
        versions,
        'command: %s' % doc['command'],
    ):
        s.text(20, y, line, 11, fill='#57606a')
        y += 16
    return s.render(y + 10)


def update_readme(path, doc, markdown_text):
    with open(path) as f:
        text = f.read()
    block = '%s\n%s\n![Benchmark chart](../bench/results/bench.svg)\n\n%s%s' % (
        README_BEGIN, '', markdown_text, README_END)
    pattern = re.compile(re.escape(README_BEGIN) + '.*?' + re.escape(README_END), re.S)
    if not pattern.search(text):
        raise SystemExit('bench: %s has no %s ... %s block' % (path, README_BEGIN, README_END))
    text = pattern.sub(lambda _: block, text)
    with open(path, 'w') as f:
        f.write(text)
