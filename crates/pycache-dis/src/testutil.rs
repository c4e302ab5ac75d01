//! Hand-built code objects for the unit tests.

use pycache_marshal::{Builder, Code, Code27, Code30, Code311, CodeLayout, Format, Object};
use pycache_pyc::PyVersion;

/// A code object of `version` with the given bytecode, constants, names and
/// (3.11+: locals-plus) variable names; line table and exception table as
/// given.
pub fn code(
    version: PyVersion,
    bytecode: &[u8],
    consts: Vec<Object>,
    names: &[&str],
    varnames: &[&str],
    linetable: &[u8],
    exceptiontable: &[u8],
) -> Object {
    let format = Format::for_version(version).unwrap();
    let b = Builder::new(format);
    let strings = |items: &[&str]| b.tuple(items.iter().map(|s| b.str(s)).collect());
    let code: Code = match format.code_layout() {
        CodeLayout::Py27 => Code27 {
            argcount: 0,
            nlocals: varnames.len() as i32,
            stacksize: 1,
            flags: 3,
            code: Object::bytes(bytecode),
            consts: b.tuple(consts),
            names: strings(names),
            varnames: strings(varnames),
            freevars: strings(&[]),
            cellvars: strings(&[]),
            filename: b.str("t.py"),
            name: b.str("f"),
            firstlineno: 1,
            lnotab: Object::bytes(linetable),
        }
        .into(),
        CodeLayout::Py30 => Code30 {
            argcount: 0,
            kwonlyargcount: 0,
            nlocals: varnames.len() as i32,
            stacksize: 1,
            flags: 3,
            code: Object::bytes(bytecode),
            consts: b.tuple(consts),
            names: strings(names),
            varnames: strings(varnames),
            freevars: strings(&[]),
            cellvars: strings(&["cell"]),
            filename: b.str("t.py"),
            name: b.str("f"),
            firstlineno: 1,
            lnotab: Object::bytes(linetable),
        }
        .into(),
        CodeLayout::Py311 => Code311 {
            argcount: 0,
            posonlyargcount: 0,
            kwonlyargcount: 0,
            stacksize: 1,
            flags: 3,
            code: Object::bytes(bytecode),
            consts: b.tuple(consts),
            names: strings(names),
            localsplusnames: strings(varnames),
            localspluskinds: Object::bytes(vec![0x20; varnames.len()]),
            filename: b.str("t.py"),
            name: b.str("f"),
            qualname: b.str("f"),
            firstlineno: 1,
            linetable: Object::bytes(linetable),
            exceptiontable: Object::bytes(exceptiontable),
        }
        .into(),
        _ => panic!("no test layout for {version}"),
    };
    Object::code(code)
}
