// Runs a Python program in the CPython that Pyodide carries, as a command
// would: a development aid for comparing Pyodide's 3.12.7 with a native
// interpreter (docs/targets/scripts/ tools, crates/pycache-compiler's
// src/marshal/gen_tables.py --pyodide).
//
//     node corpus/pyodide/python.mjs [--package pyodide-0.27.7] [-I] (-c CODE | SCRIPT) [ARGS...]
//
// The host's working directory, /tmp and every top-level directory an
// absolute argument names are mounted (NODEFS) at the same paths, and the
// program starts in the same working directory. sys.argv is [SCRIPT or
// '-c', ARGS...]; stdin is the host's, read whole; stdout and stderr are
// the host's. The exit status is SystemExit's code (1 for an uncaught
// exception, printed to stderr).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

function usage(message) {
  process.stderr.write(`pyodide-python: ${message}\nusage: node python.mjs [--package NAME] (-c CODE | SCRIPT) [ARGS...]\n`);
  process.exit(2);
}

let pkg = "pyodide-0.27.7";
const args = process.argv.slice(2);
if (args[0] === "--package") {
  pkg = args[1];
  args.splice(0, 2);
}
if (!/^pyodide-[0-9.]+$/.test(pkg)) usage(`not a pyodide package: ${pkg}`);
// -I is accepted for tools that pass it: Pyodide reads no PYTHON*
// variables, user site or script directory of the host anyway.
while (args[0] === "-I") args.shift();
if (args.length === 0) usage("no program");
let code;
let argv;
if (args[0] === "-c") {
  if (args.length < 2) usage("-c needs CODE");
  code = args[1];
  argv = ["-c", ...args.slice(2)];
} else {
  code = null;
  argv = [path.resolve(args[0]), ...args.slice(1)];
}

const indexURL = path.join(here, "node_modules", pkg) + path.sep;
if (!fs.existsSync(indexURL)) usage(`${indexURL} is missing: run npm ci in ${here}`);
const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
// Pipes may take part of a write (or none, EAGAIN): write until all is out.
function writeAll(fd, bytes) {
  let done = 0;
  while (done < bytes.length) {
    try {
      done += fs.writeSync(fd, bytes, done, bytes.length - done);
    } catch (err) {
      if (err.code !== "EAGAIN") throw err;
    }
  }
}
const raw = (fd) => ({ write: (bytes) => { writeAll(fd, bytes); return bytes.length; } });
const pyodide = await loadPyodide({ indexURL });
pyodide.setStdout(raw(1));
pyodide.setStderr(raw(2));
let input = "";
try {
  input = fs.readFileSync(0);
} catch {
  input = new Uint8Array();
}
let offset = 0;
pyodide.setStdin({
  read: (buffer) => {
    const n = Math.min(buffer.length, input.length - offset);
    buffer.set(input.subarray(offset, offset + n));
    offset += n;
    return n;
  },
});

// Pyodide's own tree (/lib, /home, /dev, /proc) is left alone.
const own = new Set(["lib", "home", "dev", "proc", "sys", ""]);
const tops = new Set([process.cwd().split(path.sep)[1], "tmp"]);
for (const arg of argv) {
  if (path.isAbsolute(arg) && fs.existsSync(arg)) tops.add(arg.split(path.sep)[1]);
}
for (const top of tops) {
  if (own.has(top)) continue;
  const mount = "/" + top;
  pyodide.FS.mkdirTree(mount);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: mount }, mount);
}
pyodide.FS.chdir(process.cwd());

pyodide.globals.set("__pyodide_argv", pyodide.toPy(argv));
pyodide.globals.set("__pyodide_code", code);
let status = 0;
try {
  pyodide.runPython(`
import sys as __sys
__sys.argv = list(__pyodide_argv)
del __pyodide_argv
if __pyodide_code is None:
    __path = __sys.argv[0]
    __sys.path[0:0] = [__import__('os').path.dirname(__path)]
    with open(__path, 'rb') as __f:
        __pyodide_code = compile(__f.read(), __path, 'exec')
    __name__ = '__main__'
    __file__ = __path
else:
    __pyodide_code = compile(__pyodide_code, '<string>', 'exec')
    __name__ = '__main__'
exec(__pyodide_code, globals())
`);
} catch (err) {
  const text = String(err.message ?? err);
  const exit = text.match(/SystemExit: (.*)\n?$/s);
  if (text.includes("SystemExit")) {
    const value = exit ? exit[1].trim() : "";
    if (/^-?\d+$/.test(value)) status = Number(value);
    else if (value === "" || value === "None") status = 0;
    else {
      process.stderr.write(value + "\n");
      status = 1;
    }
  } else {
    process.stderr.write(text + "\n");
    status = 1;
  }
}
try {
  pyodide.runPython("import sys; sys.stdout.flush(); sys.stderr.flush()");
} catch {}
process.exitCode = status;
