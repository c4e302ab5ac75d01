//! Code objects with random bytecode, line tables and exception tables, in
//! every layout: decoding, printing and comparing must never panic.

use pycache_dis::text::{TextOptions, disassemble_all};
use pycache_dis::{DecodeOptions, disassemble};
use pycache_marshal::{Builder, Code, Code27, Code30, Code38, Code311, Format, Object, RefTable};
use pycache_pyc::PyVersion;

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = (self.next() % (max as u64 + 1)) as usize;
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn code_object(format: Format, rng: &mut Rng, nested: Option<Object>) -> Object {
    let b = Builder::new(format);
    let names = |rng: &mut Rng| b.tuple((0..rng.next() % 4).map(|i| b.str(&format!("n{i}"))).collect());
    let mut consts = vec![Object::none(), b.int(rng.next() as i64 % 1000), b.str("é\u{0}"), Object::float(0.1)];
    consts.extend(nested);
    let consts = b.tuple(consts);
    let code = Object::bytes(rng.bytes(64));
    let lines = Object::bytes(rng.bytes(24));
    let firstlineno = (rng.next() % 5) as i32 - 1;
    let flags = (rng.next() % 1024) as i32;
    let code: Code = match format.code_layout() {
        pycache_marshal::CodeLayout::Py27 => Code27 {
            argcount: 0,
            nlocals: 1,
            stacksize: 1,
            flags,
            code,
            consts,
            names: names(rng),
            varnames: names(rng),
            freevars: names(rng),
            cellvars: names(rng),
            filename: b.str("x.py"),
            name: b.str("f"),
            firstlineno,
            lnotab: lines,
        }
        .into(),
        pycache_marshal::CodeLayout::Py30 => Code30 {
            argcount: 0,
            kwonlyargcount: 0,
            nlocals: 1,
            stacksize: 1,
            flags,
            code,
            consts,
            names: names(rng),
            varnames: names(rng),
            freevars: names(rng),
            cellvars: names(rng),
            filename: b.str("x.py"),
            name: b.str("f"),
            firstlineno,
            lnotab: lines,
        }
        .into(),
        pycache_marshal::CodeLayout::Py38 => Code38 {
            argcount: 0,
            posonlyargcount: 0,
            kwonlyargcount: 0,
            nlocals: 1,
            stacksize: 1,
            flags,
            code,
            consts,
            names: names(rng),
            varnames: names(rng),
            freevars: names(rng),
            cellvars: names(rng),
            filename: b.str("x.py"),
            name: b.str("f"),
            firstlineno,
            linetable: lines,
        }
        .into(),
        pycache_marshal::CodeLayout::Py311 => Code311 {
            argcount: 0,
            posonlyargcount: 0,
            kwonlyargcount: 0,
            stacksize: 1,
            flags,
            code,
            consts,
            names: names(rng),
            localsplusnames: names(rng),
            localspluskinds: Object::bytes(rng.bytes(4)),
            filename: b.str("x.py"),
            name: b.str("f"),
            qualname: b.str("f"),
            firstlineno,
            linetable: lines,
            exceptiontable: Object::bytes(rng.bytes(12)),
        }
        .into(),
    };
    Object::code(code)
}

#[test]
fn random_code_never_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let versions = [(2, 7), (3, 6), (3, 7), (3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13), (3, 14), (3, 15)];
    let mut decoded_ok = 0;
    for round in 0..3000 {
        let (major, minor) = versions[round % versions.len()];
        let version = PyVersion::new(major, minor);
        let format = Format::for_version(version).unwrap();
        let inner = code_object(format, &mut rng, None);
        let module = code_object(format, &mut rng, Some(inner));
        let refs = RefTable::new(&module).unwrap();
        for show_caches in [false, true] {
            if let Ok(decoded) = disassemble(&module, &refs, version, DecodeOptions { show_caches }) {
                decoded_ok += 1;
                let text = disassemble_all(&decoded, TextOptions { show_offsets: true });
                assert!(!text.is_empty() || decoded.iter().all(|d| d.instructions.is_empty()));
                for code in &decoded {
                    let _ = pycache_dis::json::disassembly(code, &refs);
                }
            }
        }
        let other = code_object(format, &mut rng, None);
        let other_refs = RefTable::new(&other).unwrap();
        let _ = pycache_dis::diff::compare_code((&module, &refs, version), (&other, &other_refs, version));
    }
    // Most random tables are malformed somewhere; some must decode.
    assert!(decoded_ok > 100, "only {decoded_ok} decoded");
}
