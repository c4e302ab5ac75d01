//! The flow graph and assembly stages against CPython 3.13.0's own, on
//! their own: each fixture under `tests/fixtures/stages313/` goes through
//! 3.13.0's code generation (`_testinternalcapi.compiler_codegen`, in
//! pyenv builds), and every code unit of that output through
//! `pycache_compiler::stages::assemble_unit` for the 3.13.0 target. The
//! bytecode, line table, exception table, stack size, constants and names
//! must equal the code objects 3.13.0 makes of the same file. So the
//! flow-graph and assembly features of 3.13 are checked whatever the state
//! of code generation.

use std::path::{Path, PathBuf};
use std::process::Command;

use pycache_compiler::Target;
use pycache_compiler::code::{CodeObject, Constant, PyStr};
use pycache_compiler::stages::{UnitInput, assemble_unit};
use serde_json::Value;

/// pyenv's 3.13.0, which has `_testinternalcapi`.
fn python313() -> Option<PathBuf> {
    let root = pycache_python::testing::pyenv_root()?;
    let exe = root.join("versions/3.13.0/bin/python3.13");
    exe.is_file().then_some(exe)
}

fn target() -> Option<Target> {
    pycache_compiler::Target::candidate((3, 13, 0))
}

fn pystr(v: &Value) -> PyStr {
    PyStr::from_code_points(v.as_array().unwrap().iter().map(|p| p.as_u64().unwrap() as u32))
}

fn names(v: &Value) -> Vec<PyStr> {
    v.as_array().unwrap().iter().map(pystr).collect()
}

/// A constant from the dump; code objects come from `codes`, the units
/// already assembled (or expected), by index.
fn constant(v: &Value, codes: &mut dyn FnMut(usize) -> Constant) -> Constant {
    let items = v.as_array().unwrap();
    let list = |v: &Value, codes: &mut dyn FnMut(usize) -> Constant| {
        v.as_array().unwrap().iter().map(|x| constant(x, codes)).collect::<Vec<_>>()
    };
    match items[0].as_str().unwrap() {
        "none" => Constant::None,
        "ellipsis" => Constant::Ellipsis,
        "bool" => Constant::Bool(items[1].as_bool().unwrap()),
        "int" => Constant::Int(items[1].as_str().unwrap().parse().unwrap()),
        "float" => Constant::Float(f64::from_bits(items[1].as_u64().unwrap())),
        "complex" => Constant::Complex {
            real: f64::from_bits(items[1].as_u64().unwrap()),
            imag: f64::from_bits(items[2].as_u64().unwrap()),
        },
        "str" => Constant::Str(pystr(&items[1])),
        "bytes" => Constant::Bytes(hex(items[1].as_str().unwrap())),
        "tuple" => Constant::Tuple(list(&items[1], codes)),
        "frozenset" => Constant::FrozenSet(list(&items[1], codes)),
        "slice" => {
            let [start, stop, step]: [Constant; 3] = list(&items[1], codes).try_into().unwrap();
            Constant::Slice(Box::new([start, stop, step]))
        }
        "code" => codes(items[1].as_u64().unwrap() as usize),
        other => panic!("constant kind {other}"),
    }
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// A short description of a constant for comparison: code objects by
/// qualified name only (each is compared as a unit of its own).
fn describe(c: &Constant) -> String {
    match c {
        Constant::Code(code) => format!("<code {}>", code.qualname),
        Constant::Tuple(items) => format!("({})", items.iter().map(describe).collect::<Vec<_>>().join(", ")),
        Constant::FrozenSet(items) => {
            let mut parts: Vec<String> = items.iter().map(describe).collect();
            parts.sort();
            format!("frozenset({})", parts.join(", "))
        }
        other => format!("{other:?}"),
    }
}

/// Assembles `unit` and its nested units; returns the code object and
/// the differences from CPython's, each prefixed by the unit's name.
fn check_unit(target: Target, unit: &Value, filename: &PyStr, out: &mut Vec<String>) -> Option<CodeObject> {
    let nested: Option<Vec<CodeObject>> =
        unit["nested"].as_array().unwrap().iter().map(|u| check_unit(target, u, filename, out)).collect();
    // A unit whose nested unit was refused is not compared.
    let nested = nested?;
    let mut ours = |i: usize| Constant::Code(Box::new(nested[i].clone()));
    let input = UnitInput {
        instrs: unit["instrs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let loc: Vec<i32> = i[2].as_array().unwrap().iter().map(|x| x.as_i64().unwrap() as i32).collect();
                (i[0].as_str().unwrap().to_owned(), i[1].as_i64().unwrap() as i32, [loc[0], loc[1], loc[2], loc[3]])
            })
            .collect(),
        consts: unit["consts"].as_array().unwrap().iter().map(|c| constant(c, &mut ours)).collect(),
        names: names(&unit["names"]),
        varnames: names(&unit["varnames"]),
        cellvars: names(&unit["cellvars"]),
        freevars: names(&unit["freevars"]),
        argcount: unit["argcount"].as_u64().unwrap() as u32,
        posonlyargcount: unit["posonlyargcount"].as_u64().unwrap() as u32,
        kwonlyargcount: unit["kwonlyargcount"].as_u64().unwrap() as u32,
        firstlineno: unit["firstlineno"].as_i64().unwrap() as i32,
        name: pystr(&unit["name"]),
        qualname: pystr(&unit["qualname"]),
        code_flags: unit["flags"].as_u64().unwrap() as u32,
        nparams: unit["nparams"].as_u64().unwrap() as usize,
        filename: filename.clone(),
    };
    let who = input.qualname.to_string();
    let code = match assemble_unit(target, &input) {
        Ok(code) => code,
        Err(refusal) => {
            out.push(format!("{who}: refused: {refusal}"));
            return None;
        }
    };
    let expected = &unit["expected"];
    let mut differ = |what: &str, ours: String, theirs: String| {
        if ours != theirs {
            out.push(format!("{who}: {what}\n  ours   {ours}\n  theirs {theirs}"));
        }
    };
    let hexs = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    differ("co_code", hexs(&code.code), expected["code"].as_str().unwrap().to_owned());
    differ("co_linetable", hexs(&code.linetable), expected["linetable"].as_str().unwrap().to_owned());
    differ("co_exceptiontable", hexs(&code.exceptiontable), expected["exceptiontable"].as_str().unwrap().to_owned());
    differ("co_stacksize", code.stacksize.to_string(), expected["stacksize"].to_string());
    let mut theirs_code = |i: usize| Constant::Code(Box::new(nested[i].clone()));
    let their_consts: Vec<String> =
        expected["consts"].as_array().unwrap().iter().map(|c| describe(&constant(c, &mut theirs_code))).collect();
    differ(
        "co_consts",
        format!("{:?}", code.consts.iter().map(describe).collect::<Vec<_>>()),
        format!("{their_consts:?}"),
    );
    let show = |v: &[PyStr]| v.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(",");
    differ("co_names", show(&code.names), show(&names(&expected["names"])));
    differ("localsplusnames", show(&code.localsplusnames), show(&names(&expected["localsplusnames"])));
    Some(code)
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stages313");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    out.sort();
    out
}

#[test]
fn flowgraph_and_assembly_match_cpython_3_13_0_on_its_own_codegen() {
    let Some(python) = python313() else {
        eprintln!("SKIP flowgraph_and_assembly_match_cpython_3_13_0: pyenv 3.13.0 is not installed");
        return;
    };
    let target = target().expect("a 3.13.0 profile");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stages313/codegen.py");
    let only = std::env::var("PYCACHE_STAGES_ONLY").ok();
    let mut failures = Vec::new();
    let mut checked = 0;
    for fixture in fixtures() {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let output = Command::new(&python)
            .arg("-I")
            .arg(&script)
            .arg(&name)
            .current_dir(fixture.parent().unwrap())
            .output()
            .expect("run python3.13");
        assert!(output.status.success(), "{name}: {}", String::from_utf8_lossy(&output.stderr));
        let dump: Value = serde_json::from_slice(&output.stdout).unwrap();
        let mut out = Vec::new();
        check_unit(target, &dump, &PyStr::new(&name), &mut out);
        checked += 1;
        if !out.is_empty() {
            failures.push(format!("{name}:\n{}", out.join("\n")));
        }
    }
    eprintln!("{checked} fixtures, {} with differences", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
