// Compiles Python sources with the CPython that Pyodide carries, as
// py_compile does, for pycache's golden digests (corpus/golden.py).
//
//     node corpus/pyodide/compile.mjs [--package pyodide-0.27.7] JOBS.json
//
// JOBS.json: {"root": DIR, "out": DIR, "files": [relative paths], "levels": [0, 1, 2]}.
// The host's ROOT is mounted (NODEFS) at /src and OUT at /out inside the
// interpreter; each file is compiled from /src with its relative path as the
// recorded file name, by py_compile.compile(path, cfile, doraise=True,
// optimize=level, invalidation_mode=CHECKED_HASH), into OUT/<level>/<path>c.
// OUT/results.json holds the CPython version and lists {file, level, cache,
// error} for each, where error is the exception's name when py_compile
// refuses the source.
//
// All files go through one interpreter: CPython 3.12's marshal output does
// not depend on what the process compiled before (its interned strings are
// immortal), which pyodide@0.26.4 (CPython 3.12.1) shows by matching a
// fresh py_compile of 3.12.1 (see docs/interpreters.md).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

function usage(message) {
  process.stderr.write(`pyodide-compile: ${message}\nusage: node compile.mjs [--package NAME] JOBS.json\n`);
  process.exit(2);
}

let pkg = "pyodide-0.27.7";
let jobsPath = null;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--package") pkg = args[++i];
  else if (jobsPath === null) jobsPath = args[i];
  else usage(`unexpected argument ${args[i]}`);
}
if (!jobsPath) usage("no jobs file");
if (!/^pyodide-[0-9.]+$/.test(pkg)) usage(`not a pyodide package: ${pkg}`);

const jobs = JSON.parse(fs.readFileSync(jobsPath, "utf8"));
const root = path.resolve(jobs.root);
const out = path.resolve(jobs.out);
fs.mkdirSync(out, { recursive: true });

const indexURL = path.join(here, "node_modules", pkg) + path.sep;
if (!fs.existsSync(indexURL)) usage(`${indexURL} is missing: run npm ci in ${here}`);
const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
const pyodide = await loadPyodide({
  indexURL,
  stdout: (line) => process.stderr.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});
for (const [mount, host] of [["/src", root], ["/out", out]]) {
  pyodide.FS.mkdirTree(mount);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: host }, mount);
}

pyodide.globals.set("files", pyodide.toPy(jobs.files));
pyodide.globals.set("levels", pyodide.toPy(jobs.levels));
const results = pyodide.runPython(`
import os, sys, json, py_compile
os.chdir('/src')
results = []
for file in files:
    for level in levels:
        cache = '/out/%d/%sc' % (level, file)
        error = None
        try:
            py_compile.compile(file, cfile=cache, doraise=True, optimize=level,
                               invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
        except py_compile.PyCompileError as e:
            error = e.exc_type_name
        results.append({'file': file, 'level': level, 'error': error})
json.dumps({'version': '%d.%d.%d' % sys.version_info[:3], 'results': results})
`);
const answer = JSON.parse(results);
for (const item of answer.results) {
  item.cache = item.error ? null : path.join(out, String(item.level), item.file + "c");
}
fs.writeFileSync(path.join(out, "results.json"), JSON.stringify(answer));
process.stderr.write(`pyodide-compile: CPython ${answer.version} (${pkg}): ${answer.results.length} compiles\n`);
