//! Decoded code objects as JSON values, for `pycache dis --format json`
//! and `pycache show --format json`.

use pycache_marshal::{Object, RefTable, Value};
use pycache_pyc::PyVersion;
use serde_json::{Value as Json, json};

use crate::decode::{ArgVal, Decoded, Instruction};
use crate::pyrepr::{Repr, float_repr};
use crate::view::{CodeView, pretty_flags};

/// A constant as JSON: None, bools, ints, floats and strings as
/// themselves; code objects as `{"code": name, "firstlineno": n}`;
/// everything else as `{"repr": text}`.
pub fn constant(object: &Object, refs: &RefTable<'_>, version: PyVersion) -> Json {
    let python2 = version.major == 2;
    let Ok(object) = refs.resolve(object) else { return Json::Null };
    let repr = || json!({ "repr": Repr { refs, version }.repr(object) });
    match &object.value {
        Value::None => Json::Null,
        Value::True => Json::Bool(true),
        Value::False => Json::Bool(false),
        Value::Int(v) => json!(v),
        Value::Int64(v) => json!(v),
        Value::Long(long) => match long.to_i128().and_then(|v| i64::try_from(v).ok()) {
            Some(v) => json!(v),
            None => repr(),
        },
        Value::BinaryFloat(bits) if f64::from_bits(*bits).is_finite() => json!(f64::from_bits(*bits)),
        Value::BinaryFloat(bits) => json!({ "repr": float_repr(f64::from_bits(*bits), true) }),
        Value::Str(s) if !python2 || s.kind == pycache_marshal::StrKind::Unicode => {
            Json::String(s.to_string_lossy().into_owned())
        }
        Value::Code(code) => {
            let name = match refs.resolve(code.name()).map(|o| &o.value) {
                Ok(Value::Str(s)) => s.to_string_lossy().into_owned(),
                _ => String::new(),
            };
            json!({ "code": name, "firstlineno": code.firstlineno() })
        }
        _ => repr(),
    }
}

pub fn argval(decoded: &Decoded<'_>, refs: &RefTable<'_>, value: &ArgVal) -> Json {
    match value {
        ArgVal::None | ArgVal::Unknown => Json::Null,
        ArgVal::Int(v) => json!(v),
        ArgVal::Text(t) => json!(t),
        ArgVal::Const(_) => match decoded.constant(value) {
            Some(object) => constant(object, refs, decoded.view.version),
            None => Json::Null,
        },
        ArgVal::Pair(a, b) => json!([a, b]),
        ArgVal::Common(i) => {
            let text = pycache_opcode::for_version(decoded.view.version)
                .and_then(|t| t.common_constants.get(*i))
                .copied()
                .unwrap_or_default();
            common_constant(text)
        }
        ArgVal::Conversion { conversion, with_format: Some(with_format) } => json!([conversion, with_format]),
        ArgVal::Conversion { conversion, with_format: None } => json!(conversion),
    }
}

/// A common constant (LOAD_COMMON_CONSTANT) as JSON: the literals
/// (`None`, `True`, `False`, `''`, numbers) as themselves, the builtins by
/// the name `dis` prints.
fn common_constant(text: &str) -> Json {
    match text {
        "None" => Json::Null,
        "True" => Json::Bool(true),
        "False" => Json::Bool(false),
        "''" => json!(""),
        _ => match text.parse::<i64>() {
            Ok(number) => json!(number),
            Err(_) => json!({ "name": text }),
        },
    }
}

pub fn instruction(decoded: &Decoded<'_>, refs: &RefTable<'_>, instr: &Instruction) -> Json {
    let mut value = json!({
        "offset": instr.offset,
        "start_offset": instr.start_offset,
        "opcode": instr.opcode,
        "opname": instr.opname,
        "arg": instr.arg,
        "argval": argval(decoded, refs, &instr.argval),
        "argrepr": instr.argrepr,
        "line": instr.line,
        "starts_line": instr.starts_line,
        "is_jump_target": instr.is_jump_target,
        "jump_target": instr.jump_target,
        "positions": instr.positions,
    });
    if let Some(label) = instr.label {
        value["label"] = json!(label);
    }
    if instr.is_cache {
        value["cache"] = json!(true);
    }
    value
}

/// The fields of a code object other than its bytecode.
pub fn code_info(view: &CodeView<'_>, refs: &RefTable<'_>) -> Json {
    json!({
        "name": view.name,
        "qualname": view.qualname,
        "filename": view.filename,
        "firstlineno": view.firstlineno,
        "argcount": view.argcount,
        "posonlyargcount": view.posonlyargcount,
        "kwonlyargcount": view.kwonlyargcount,
        "nlocals": view.nlocals,
        "stacksize": view.stacksize,
        "flags": view.flags,
        "flag_names": pretty_flags(view.version, view.flags),
        "consts": view.consts.iter().map(|c| constant(c, refs, view.version)).collect::<Vec<_>>(),
        "names": view.names,
        "varnames": view.varnames,
        "cellvars": view.cellvars,
        "freevars": view.freevars,
        "code_size": view.bytecode.len(),
    })
}

/// One code object for `dis --format json`.
pub fn disassembly(decoded: &Decoded<'_>, refs: &RefTable<'_>) -> Json {
    let view = &decoded.view;
    json!({
        "name": view.name,
        "qualname": view.qualname,
        "filename": view.filename,
        "firstlineno": view.firstlineno,
        "instructions": decoded.instructions.iter().map(|i| instruction(decoded, refs, i)).collect::<Vec<_>>(),
        "exception_table": decoded.exception_table,
    })
}
