//! The text `examples/dump312.py` prints for a CPython 3.12 code object,
//! made from a native one, so that the two compilers can be compared field
//! by field (marshal aside). Shared by `examples/sweep.rs` and
//! `tests/pep695.rs`.

use pycache_compiler::code::{CodeObject, Constant, kind};

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `float.hex()`.
pub fn float_hex(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0x0.0p+0");
    }
    let bits = f.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let mantissa = bits & ((1 << 52) - 1);
    let (lead, exp) = if biased == 0 { (0, -1022) } else { (1, biased - 1023) };
    format!("{sign}0x{lead}.{mantissa:013x}p{}{}", if exp >= 0 { "+" } else { "-" }, exp.abs())
}

pub fn constant(c: &Constant) -> String {
    match c {
        Constant::None => "None".into(),
        Constant::Ellipsis => "Ellipsis".into(),
        Constant::Bool(b) => format!("Bool({})", if *b { "True" } else { "False" }),
        Constant::Int(i) => format!("Int({i})"),
        Constant::Float(f) => format!("Float({})", float_hex(*f)),
        Constant::Complex { real, imag } => format!("Complex({},{})", float_hex(*real), float_hex(*imag)),
        Constant::Str(s) => format!("Str({})", hex(s.as_bytes())),
        Constant::Bytes(b) => format!("Bytes({})", hex(b)),
        Constant::Tuple(items) => format!("Tuple({})", items.iter().map(constant).collect::<Vec<_>>().join(",")),
        Constant::FrozenSet(items) => {
            let mut items: Vec<String> = items.iter().map(constant).collect();
            items.sort();
            items.dedup();
            format!("FrozenSet({})", items.join(","))
        }
        Constant::Slice(parts) => format!("Slice({})", parts.iter().map(constant).collect::<Vec<_>>().join(",")),
        Constant::Code(c) => format!("Code({})", c.qualname),
    }
}

/// The same text `dump312.py` prints for a code object and its children.
pub fn dump(co: &CodeObject, out: &mut Vec<String>) {
    out.push(format!("code {} {}", co.qualname, co.name));
    out.push(format!(
        " args {} {} {} stack {} flags {:x} first {}",
        co.argcount, co.posonlyargcount, co.kwonlyargcount, co.stacksize, co.flags, co.firstlineno
    ));
    out.push(format!(" code {}", hex(&co.code)));
    out.push(format!(" names {}", co.names.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" ")));
    let pick = |mask: u8| {
        co.localsplusnames
            .iter()
            .zip(&co.localspluskinds)
            .filter(|(_, k)| *k & mask != 0)
            .map(|(n, _)| n.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    out.push(format!(" varnames {}", pick(kind::LOCAL)));
    out.push(format!(" cellvars {}", pick(kind::CELL)));
    out.push(format!(" freevars {}", pick(kind::FREE)));
    out.push(format!(" filename {}", co.filename));
    out.push(format!(" linetable {}", hex(&co.linetable)));
    out.push(format!(" exceptiontable {}", hex(&co.exceptiontable)));
    for (i, c) in co.consts.iter().enumerate() {
        out.push(format!(" const {i} {}", constant(c)));
    }
    for c in &co.consts {
        if let Constant::Code(inner) = c {
            dump(inner, out);
        }
    }
}
