//! The inputs mutations start from: caches the installed interpreters
//! write for small sources, and streams built by hand for what compilers
//! never write (every type code, references bombs, nesting at the limit,
//! absurd sizes).

use std::path::Path;
use std::process::Command;

use pycache_marshal::{CodeLayout, FLAG_REF, Field, Format, MAX_DEPTH, read_prefix, read_pyc};
use pycache_pyc::{Magic, PyVersion};

use crate::check::all_formats;
use crate::scan::{Layout, scan};

/// One starting input.
#[derive(Debug, Clone)]
pub struct Seed {
    pub name: String,
    pub bytes: Vec<u8>,
    /// The format the body is read with.
    pub format: Format,
    /// Where the marshal body starts (the header length of a pyc, else 0).
    pub body: usize,
    /// The objects of the body, offsets relative to `body`.
    pub layout: Layout,
    /// Slow to check (reference bombs, nesting at the depth limit).
    pub heavy: bool,
}

impl Seed {
    /// A seed from a whole `.pyc`, or `None` if the reader or the scanner
    /// cannot follow it (a seed must be valid to be aimed at).
    pub fn pyc(name: String, bytes: Vec<u8>) -> Option<Self> {
        let pyc = read_pyc(&bytes).ok()?;
        let body = pyc.header_bytes.len();
        let layout = scan(&bytes[body..], pyc.format)?;
        Some(Self { name, bytes, format: pyc.format, body, layout, heavy: false })
    }

    /// A seed from a bare marshal stream of `format`.
    pub fn stream(name: String, bytes: Vec<u8>, format: Format) -> Option<Self> {
        read_prefix(&bytes, format).ok()?;
        let layout = scan(&bytes, format)?;
        Some(Self { name, bytes, format, body: 0, layout, heavy: false })
    }

    pub fn is_pyc(&self) -> bool {
        self.body > 0
    }
}

pub fn format(major: u8, minor: u8) -> Format {
    Format::for_version(PyVersion::new(major, minor)).expect("a supported version")
}

/// `.pyc` bytes: the release magic of the format's version, a zeroed
/// header of the right length, then `body`.
pub fn with_header(format: Format, body: &[u8]) -> Option<Vec<u8>> {
    let magic = Magic::for_version(format.version())?;
    let mut bytes = magic.to_bytes().to_vec();
    bytes.resize(magic.header_layout().len(), 0);
    bytes.extend_from_slice(body);
    Some(bytes)
}

// ---------------------------------------------------------------------------
// Caches written by the interpreters.

const COMMON: &str = r#""""Runs on 2.7 and every 3.x."""
import os.path as osp
from sys import version_info
X = 1
Y = -2 ** 40
Z = 2 ** 100
F = 1.5
C = 3 + 4j
NEG = -0.0
S = 'text'
U = u'caf\xe9 \u20ac \U0001d11e'
B = b'\x00\xff'
T = (1, 'a', None, True, 2.5, -7)
FS = frozenset([1, 2])
L = [1, 2]
D = {'a': 1, 'b': (2, 3)}


def f(a, b=2, *args, **kw):
    """Doc."""
    global X
    x = [i * 2 for i in range(a) if i]
    y = dict((k, v) for k, v in kw.items())
    s = set(args)
    try:
        return a / b, x, y, s
    except ZeroDivisionError as e:
        raise ValueError(str(e))
    finally:
        X += 1


def outer():
    v = 1

    def inner(w):
        return v + w
    return inner


class K(object):
    attr = 3

    def method(self, n):
        while n > 0:
            n -= 1
            if n in (3, 4, 5):
                continue
            elif n == 7:
                break
        else:
            pass
        with open(__file__) as fh:
            return fh.read()[1:n:2]

    @staticmethod
    def gen(n):
        for i in range(n):
            yield i


lam = lambda q, r=1: q if q else r
assert X, 'message'
del L[0]
choice = X and Y or Z
if X in {1, 2, 3} and X not in (4, 5):
    X = X << 2 | 1 ^ 3 & ~4
"#;

const PY36: &str = r#"
async def co(x, *, key=None):
    async with x as y:
        async for z in y:
            await z
    return [i async for i in x]


def gen():
    v = 0

    def inc():
        nonlocal v
        v += 1
        return v
    x = yield from range(3)
    return f"{v!r:>{x}} {inc()}"


def annotated(a: int, *rest: str, b: 'x' = 1, **kw) -> None:
    t: int = 1
    return {**kw, 'a': a}, [*rest], {*rest}, t


class M(metaclass=type):
    def m(self):
        return super().__class__


big = 0x7fffffffffffffffffffffffffffffff
"#;

const PY38: &str = r#"
def po(a, b, /, c, *, d):
    if (n := a + b) > c:
        return n
    return f"{d=}"
"#;

const PY310: &str = r#"
def m(v):
    match v:
        case [1, 2, *rest]:
            return rest
        case {"k": x, **others}:
            return x, others
        case complex(real=0) | None:
            return 0
        case str() as s if s:
            return s
        case _:
            return None
"#;

const PY311: &str = r#"
def eg():
    try:
        pass
    except* ValueError as e:
        raise TypeError from e
"#;

const PY312: &str = r#"
type Alias[T] = list[T]


def ident[T](x: T) -> T:
    return x


class Box[T]:
    def get(self) -> T: ...
"#;

/// Compiles each (source, output, mode) triple with py_compile; the same
/// script runs on 2.7 and 3.x.
const COMPILE: &str = r#"
import os, sys, py_compile
args = sys.argv[1:]
for i in range(0, len(args), 3):
    src, out, mode = args[i:i + 3]
    if src == 'stdlib':
        src = os.path.join(os.path.dirname(os.__file__), 'colorsys.py')
    kw = {}
    if mode == 'opt2':
        kw['optimize'] = 2
    if mode == 'hash':
        kw['invalidation_mode'] = py_compile.PycInvalidationMode.CHECKED_HASH
    py_compile.compile(src, cfile=out, doraise=True, **kw)
"#;

/// Caches of the snippets above (those a version can compile) and of its
/// own `colorsys.py`, from every installed reference interpreter; a
/// missing interpreter prints a `SKIP` line.
pub fn interpreter_seeds(dir: &Path) -> Vec<Seed> {
    let sources: [(&str, &str, (u8, u8)); 6] = [
        ("common", COMMON, (2, 7)),
        ("py36", PY36, (3, 6)),
        ("py38", PY38, (3, 8)),
        ("py310", PY310, (3, 10)),
        ("py311", PY311, (3, 11)),
        ("py312", PY312, (3, 12)),
    ];
    for (name, text, _) in &sources {
        fs_err::write(dir.join(format!("{name}.py")), text).expect("write a source");
    }
    let mut seeds = Vec::new();
    for python in pycache_python::testing::references("fuzz seeds") {
        let (major, minor, _) = python.version;
        let version = (major, minor);
        let mut jobs: Vec<(String, String)> = Vec::new();
        for (name, _, since) in &sources {
            if version >= *since && (version.0 == 3 || *since == (2, 7)) {
                jobs.push((dir.join(format!("{name}.py")).display().to_string(), "plain".to_owned()));
            }
        }
        jobs.push(("stdlib".to_owned(), "plain".to_owned()));
        if major == 3 {
            jobs.push(("stdlib".to_owned(), "opt2".to_owned()));
        }
        if version >= (3, 7) {
            jobs.push(("stdlib".to_owned(), "hash".to_owned()));
        }
        let mut args = Vec::new();
        let mut outputs = Vec::new();
        for (i, (src, mode)) in jobs.iter().enumerate() {
            let out = dir.join(format!("{major}{minor}-{i}.pyc"));
            args.extend([src.clone(), out.display().to_string(), mode.clone()]);
            let label = Path::new(src).file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            outputs.push((out, format!("{major}.{minor} {label} {mode}")));
        }
        let status = Command::new(&python.path)
            .args(["-E", "-c", COMPILE])
            .args(&args)
            .status()
            .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", python.path.display()));
        assert!(status.success(), "`{}` could not compile the seeds", python.path.display());
        for (out, label) in outputs {
            let bytes = fs_err::read(&out).expect("a compiled seed");
            let seed = Seed::pyc(label.clone(), bytes);
            assert!(seed.is_some(), "the reader or the scanner rejects {label}, which the interpreter wrote");
            seeds.extend(seed);
        }
    }
    seeds
}

// ---------------------------------------------------------------------------
// Streams built by hand.

/// Writes marshal bytes and counts the flagged objects, so that hand-built
/// references point where intended.
struct Enc {
    out: Vec<u8>,
    format: Format,
    flagged: u32,
}

impl Enc {
    fn new(format: Format) -> Self {
        Self { out: Vec::new(), format, flagged: 0 }
    }

    fn modern(&self) -> bool {
        self.format.version() >= PyVersion::new(3, 4)
    }

    /// A type byte, flagged if asked; returns the reference index it takes.
    fn ty(&mut self, code: u8, flag: bool) -> u32 {
        if flag {
            self.out.push(code | FLAG_REF);
            self.flagged += 1;
            self.flagged - 1
        } else {
            self.out.push(code);
            u32::MAX
        }
    }

    fn i32(&mut self, v: i32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    fn bytes(&mut self, data: &[u8]) {
        self.ty(b's', false);
        self.i32(data.len() as i32);
        self.out.extend_from_slice(data);
    }

    /// A name as each version writes identifiers.
    fn name(&mut self, text: &str) {
        if self.format.version().major == 2 {
            self.ty(b't', false);
            self.i32(text.len() as i32);
        } else if self.modern() {
            self.ty(b'Z', false);
            self.out.push(text.len() as u8);
        } else {
            self.ty(b'u', false);
            self.i32(text.len() as i32);
        }
        self.out.extend_from_slice(text.as_bytes());
    }

    fn tuple_head(&mut self, len: usize, flag: bool) -> u32 {
        if self.modern() && len < 256 {
            let index = self.ty(b')', flag);
            self.out.push(len as u8);
            index
        } else {
            let index = self.ty(b'(', flag);
            self.i32(len as i32);
            index
        }
    }

    fn names(&mut self, names: &[&str]) {
        self.tuple_head(names.len(), false);
        for name in names {
            self.name(name);
        }
    }

    fn reference(&mut self, index: u32) {
        self.ty(b'r', false);
        self.i32(index as i32);
    }

    /// A code object; `consts` writes the constants tuple.
    fn code(&mut self, flag: bool, name: &str, bytecode: &[u8], consts: &mut dyn FnMut(&mut Self)) -> u32 {
        let index = self.ty(b'c', flag);
        let layout = self.format.code_layout();
        for field in layout.fields() {
            match *field {
                Field::Int("co_flags") => self.i32(if name == "<module>" { 0x40 } else { 0x3 }),
                Field::Int("co_stacksize") => self.i32(4),
                Field::Int("co_firstlineno") => self.i32(1),
                Field::Int("co_nlocals") => self.i32(1),
                Field::Int(_) => self.i32(0),
                Field::Object("co_code") => self.bytes(bytecode),
                Field::Object("co_consts") => consts(self),
                Field::Object("co_names") => self.names(&["a", "b"]),
                Field::Object("co_varnames") | Field::Object("co_localsplusnames") => self.names(&["x"]),
                Field::Object("co_localspluskinds") => self.bytes(&[0x20]),
                Field::Object("co_freevars") | Field::Object("co_cellvars") => self.names(&[]),
                Field::Object("co_filename") => self.name("hand.py"),
                Field::Object("co_name") | Field::Object("co_qualname") => self.name(name),
                Field::Object("co_exceptiontable") => self.bytes(b""),
                // co_lnotab and co_linetable: one line step, plausible in
                // every encoding.
                Field::Object(_) => self.bytes(if layout == CodeLayout::Py311 { b"\x80\x00" } else { b"\x02\x01" }),
            }
        }
        index
    }
}

/// Bytecode that loads `consts` constants and names and returns, in the
/// version's own opcode numbers (random bytes where there is no table).
fn bytecode(format: Format, consts: usize) -> Vec<u8> {
    let Some(table) = pycache_opcode::for_version(format.version()) else {
        return b"d\x00\x00S".to_vec();
    };
    let mut ops: Vec<(&str, u32)> = vec![("RESUME", 0)];
    for i in 0..consts {
        ops.push(("LOAD_CONST", i as u32));
        ops.push(("STORE_NAME", (i % 2) as u32));
    }
    ops.extend([("LOAD_NAME", 1), ("EXTENDED_ARG", 1), ("LOAD_CONST", 0), ("POP_TOP", 0)]);
    ops.extend([("LOAD_CONST", 0), ("RETURN_VALUE", 0)]);
    let mut out = Vec::new();
    for (name, arg) in ops {
        let (Some(number), Some(op)) = (table.number(name), table.by_name(name)) else { continue };
        out.push(number as u8);
        if table.is_wordcode() {
            out.push(arg as u8);
            out.extend(std::iter::repeat_n(0, 2 * usize::from(op.cache_entries)));
        } else if op.has_arg() {
            out.extend_from_slice(&(arg as u16).to_le_bytes());
        }
    }
    out
}

/// A module with constants of every kind the version reads, and a nested
/// function.
fn module(format: Format) -> Vec<u8> {
    let v = format.version();
    let mut e = Enc::new(format);
    let consts = 12;
    let module_code = bytecode(format, consts);
    let function_code = bytecode(format, 1);
    e.code(false, "<module>", &module_code, &mut |e| {
        e.tuple_head(consts, false);
        e.ty(b'N', false);
        e.ty(b'i', false);
        e.i32(-7);
        e.ty(b'l', false);
        e.i32(-3);
        e.out.extend_from_slice(&[1, 0, 2, 0, 3, 0]);
        e.ty(b'g', false);
        e.out.extend_from_slice(&0.1f64.to_le_bytes());
        e.ty(b'y', false);
        e.out.extend_from_slice(&1f64.to_le_bytes());
        e.out.extend_from_slice(&(-0f64).to_le_bytes());
        e.ty(b'u', false);
        e.i32(5);
        e.out.extend_from_slice("é\u{0}x\u{7f}".as_bytes());
        e.bytes(b"\x00\xffb'\"\\");
        // A frozenset of a tuple and a float text, as `x in {...}` stores.
        e.ty(b'>', false);
        e.i32(2);
        e.tuple_head(1, false);
        e.ty(b'T', false);
        e.ty(b'f', false);
        e.out.extend_from_slice(b"\x04-inf");
        e.ty(b'x', false);
        e.out.extend_from_slice(b"\x011\x04-nan");
        if v >= PyVersion::new(3, 14) {
            e.ty(b':', false);
            e.ty(b'N', false);
            e.ty(b'i', false);
            e.i32(3);
            e.ty(b'.', false);
        } else {
            e.ty(b'S', false);
        }
        if v >= PyVersion::new(3, 15) {
            e.ty(b'}', false);
            e.name("k");
            e.ty(b'F', false);
            e.ty(b'0', false);
        } else {
            e.ty(b'I', false);
            e.out.extend_from_slice(&(1i64 << 40).to_le_bytes());
        }
        e.code(false, "f", &function_code, &mut |e| {
            e.tuple_head(1, false);
            e.ty(b'N', false);
        });
    });
    e.out
}

/// A constant that is a tuple of two references to the previous level,
/// `levels` deep: a few hundred bytes whose naive repr is 2**levels long.
fn tuple_bomb(format: Format, levels: usize) -> Vec<u8> {
    fn level(e: &mut Enc, n: usize) -> u32 {
        let index = e.tuple_head(2, true);
        if n == 0 {
            e.ty(b'N', false);
            e.ty(b'N', false);
        } else {
            let child = level(e, n - 1);
            e.reference(child);
        }
        index
    }
    let mut e = Enc::new(format);
    let code = bytecode(format, 2);
    e.code(false, "<module>", &code, &mut |e| {
        e.tuple_head(2, false);
        e.ty(b'N', false);
        level(e, levels);
    });
    e.out
}

/// Code objects whose constants hold the previous level twice (the second
/// time as a reference): a naive walk of nested code visits 2**levels.
fn code_bomb(format: Format, levels: usize) -> Vec<u8> {
    fn level(e: &mut Enc, n: usize, code: &[u8]) -> u32 {
        e.code(true, &format!("f{n}"), code, &mut |e| {
            e.tuple_head(3, false);
            e.ty(b'N', false);
            if n == 0 {
                e.ty(b'N', false);
                e.ty(b'N', false);
            } else {
                let child = level(e, n - 1, code);
                e.reference(child);
            }
        })
    }
    let mut e = Enc::new(format);
    let code = bytecode(format, 3);
    level(&mut e, levels, &code);
    e.out
}

/// Code objects nested `levels` deep through their constants.
fn deep_code(format: Format, levels: usize) -> Vec<u8> {
    fn level(e: &mut Enc, n: usize, code: &[u8]) {
        e.code(false, "g", code, &mut |e| {
            e.tuple_head(2, false);
            e.ty(b'N', false);
            if n == 0 {
                e.ty(b'N', false);
            } else {
                level(e, n - 1, code);
            }
        });
    }
    let mut e = Enc::new(format);
    let code = bytecode(format, 2);
    level(&mut e, levels, &code);
    e.out
}

/// One big string constant loaded by every instruction: the decoder must
/// not copy its repr once per instruction.
fn repeated_big_constant(format: Format, text_len: usize, loads: usize) -> Vec<u8> {
    let table = pycache_opcode::for_version(format.version()).expect("a table");
    let load = table.by_name("LOAD_CONST").expect("LOAD_CONST");
    let pop = table.by_name("POP_TOP").expect("POP_TOP");
    let mut code = Vec::new();
    for _ in 0..loads {
        for op in [load, pop] {
            code.push(op.number as u8);
            code.push(0);
            code.extend(std::iter::repeat_n(0, 2 * usize::from(op.cache_entries)));
        }
    }
    let mut e = Enc::new(format);
    e.code(false, "<module>", &code, &mut |e| {
        e.tuple_head(1, false);
        e.ty(b'a', false);
        e.i32(text_len as i32);
        e.out.extend(std::iter::repeat_n(b'\'', text_len));
    });
    e.out
}

/// A module whose one constant is an int of `digits` 15-bit digits.
fn huge_int(format: Format, digits: usize) -> Vec<u8> {
    let mut e = Enc::new(format);
    let code = bytecode(format, 1);
    e.code(false, "<module>", &code, &mut |e| {
        e.tuple_head(1, false);
        e.ty(b'l', false);
        e.i32(-(digits as i32));
        for i in 0..digits {
            e.out.extend_from_slice(&(0x7fff - (i % 7) as u16).to_le_bytes());
        }
    });
    e.out
}

pub fn handmade_seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let mut add = |name: String, bytes: Vec<u8>, format: Format, as_pyc: bool| {
        let heavy = ["bomb", "deep", "nested", "often", "huge"].iter().any(|word| name.contains(word));
        let seed = match as_pyc.then(|| with_header(format, &bytes)).flatten() {
            Some(pyc) => Seed::pyc(name.clone(), pyc),
            None => Seed::stream(name.clone(), bytes, format),
        };
        let seed = seed.unwrap_or_else(|| panic!("hand-built seed {name} is not readable"));
        seeds.push(Seed { heavy, ..seed });
    };
    for format in all_formats() {
        let v = format.version();
        add(format!("{v} module"), module(format), format, true);
    }
    let samples: &[((u8, u8), &[u8])] = &[
        ((3, 13), b"\xce"),
        ((3, 13), b")\x05TFS.N"),
        ((2, 7), b"(\x03\x00\x00\x00t\x01\x00\x00\x00\xffR\x00\x00\x00\x00u\x00\x00\x00\x00"),
        ((3, 13), b"(\x04\x00\x00\x00u\x01\x00\x00\x00xt\x01\x00\x00\x00ya\x01\x00\x00\x00zA\x00\x00\x00\x00"),
        ((3, 13), b")\x03z\x01\xe9\xda\x02abr\x00\x00\x00\x00"),
        ((3, 13), b"[\x02\x00\x00\x00{i\x01\x00\x00\x00N\xb0<\x01\x00\x00\x00N"),
        ((3, 13), b"\xdb\x01\x00\x00\x00r\x00\x00\x00\x00"),
        ((3, 13), b"\xfbi\x01\x00\x00\x00r\x00\x00\x00\x000"),
        ((3, 13), b"l\x03\x00\x00\x00\xff\x7f\xff\x7f\x01\x00"),
        ((3, 14), b"\xba\xe9\x01\x00\x00\x00r\x01\x00\x00\x00N"),
        ((3, 15), b"\xfdz\x01a\xe9\x01\x00\x00\x00z\x01br\x01\x00\x00\x000"),
    ];
    for ((major, minor), bytes) in samples {
        add(format!("{major}.{minor} sample"), bytes.to_vec(), format(*major, *minor), false);
    }
    for (major, minor) in [(3, 4), (3, 8), (3, 11), (3, 13)] {
        let f = format(major, minor);
        add(format!("{major}.{minor} tuple bomb"), tuple_bomb(f, 48), f, true);
        add(format!("{major}.{minor} code bomb"), code_bomb(f, 48), f, true);
    }
    for (major, minor) in [(2, 7), (3, 12)] {
        let f = format(major, minor);
        // Two levels per code object (the object, its constants tuple).
        add(format!("{major}.{minor} deep code"), deep_code(f, MAX_DEPTH / 2 - 2), f, true);
    }
    for (major, minor) in [(2, 7), (3, 10)] {
        let f = format(major, minor);
        add(format!("{major}.{minor} huge int"), huge_int(f, 30_000), f, true);
    }
    let f = format(3, 12);
    add("3.12 big constant loaded often".to_owned(), repeated_big_constant(f, 4 << 10, 256), f, true);
    // Containers at the depth limit: every kind, as deep as the reader
    // allows.
    let nests: [(&[u8], &[u8]); 5] = [
        (b")\x01", b""),
        (b"[\x01\x00\x00\x00", b""),
        (b"<\x01\x00\x00\x00", b""),
        (b"{N", b"0"),
        (b"\xdb\x01\x00\x00\x00r\x00\x00\x00\x00", b""),
    ];
    for (i, (open, close)) in nests.iter().enumerate() {
        let depth = if close.is_empty() { MAX_DEPTH - 1 } else { MAX_DEPTH / 2 - 1 };
        // The self-referencing list: only the first level holds the
        // reference; the rest are plain one-item lists.
        let mut bytes = Vec::new();
        for level in 0..depth {
            if i == 4 && level > 0 {
                bytes.extend_from_slice(b"[\x01\x00\x00\x00");
            } else if i == 4 {
                bytes.extend_from_slice(b"\xdb\x02\x00\x00\x00r\x00\x00\x00\x00");
            } else {
                bytes.extend_from_slice(open);
            }
        }
        bytes.push(b'N');
        for _ in 0..depth {
            bytes.extend_from_slice(close);
        }
        add(format!("3.13 nested {i}"), bytes, format(3, 13), false);
    }
    seeds
}
