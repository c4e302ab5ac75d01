//! CPython 3.12's `w_object`, replayed over the rebuilt object graph: which
//! objects get FLAG_REF, which occurrences become back-references, and the
//! type code of each object.

use rustc_hash::FxHashMap as HashMap;

use num_bigint::{BigInt, Sign};
use num_traits::ToPrimitive;
use pycache_marshal::{Code311, Long, MAX_DEPTH, Object, StrKind, Value};

use super::MarshalError;
use super::graph::{Graph, NodeId, NodeValue};
use crate::target::{Feature, Target};

pub(crate) struct Emitter<'g, 'a> {
    graph: &'g Graph<'a>,
    /// Flagged objects in the order marshal registered them.
    registered: HashMap<NodeId, u32>,
    /// References held only while a frozenset is written: the (dump, item)
    /// pairs marshal sorts the items with.
    held: HashMap<NodeId, u32>,
    /// Whether a frozenset item's sort key is dumped with the item flagged
    /// ([`Feature::FrozenSetKeysFlagged`]).
    keys_flagged: bool,
}

impl<'g, 'a> Emitter<'g, 'a> {
    pub fn new(graph: &'g Graph<'a>, target: Target) -> Self {
        let keys_flagged = target.has(Feature::FrozenSetKeysFlagged);
        Self { graph, registered: HashMap::default(), held: HashMap::default(), keys_flagged }
    }

    /// `w_ref`: an object is remembered when something besides its one
    /// container holds it, or when it is an interned string.
    fn shared(&self, id: NodeId) -> bool {
        let node = self.graph.node(id);
        node.interned || node.pinned || node.refs + self.held.get(&id).copied().unwrap_or(0) > 1
    }

    pub fn emit(&mut self, id: NodeId, depth: usize) -> Result<Object, MarshalError> {
        if depth > MAX_DEPTH {
            return Err(MarshalError::TooDeep { limit: MAX_DEPTH });
        }
        let node = self.graph.node(id);
        // The singletons are written before `w_ref` is consulted.
        match node.value {
            NodeValue::None => return Ok(Object::none()),
            NodeValue::Bool(b) => return Ok(Object::bool(b)),
            NodeValue::Ellipsis => return Ok(Object::ellipsis()),
            _ => {}
        }
        let flag = self.shared(id);
        if flag {
            if let Some(&index) = self.registered.get(&id) {
                return Ok(Object::reference(index));
            }
            let index = u32::try_from(self.registered.len()).map_err(|_| MarshalError::TooManyObjects)?;
            self.registered.insert(id, index);
        }
        let value = match &node.value {
            NodeValue::None | NodeValue::Bool(_) | NodeValue::Ellipsis => unreachable!("handled above"),
            NodeValue::Int(value) => int_value(value),
            NodeValue::Float(f) => Value::BinaryFloat(f.to_bits()),
            NodeValue::Complex(re, im) => Value::BinaryComplex { real: re.to_bits(), imag: im.to_bits() },
            NodeValue::Bytes(data) => Value::Bytes(data.to_vec()),
            NodeValue::Str(text) => {
                let kind = match (text.is_ascii(), text.as_bytes().len() < 256, node.interned) {
                    (true, true, false) => StrKind::ShortAscii,
                    (true, true, true) => StrKind::ShortAsciiInterned,
                    (true, false, false) => StrKind::Ascii,
                    (true, false, true) => StrKind::AsciiInterned,
                    (false, _, false) => StrKind::Unicode,
                    (false, _, true) => StrKind::Interned,
                };
                Value::Str(pycache_marshal::Str { kind, data: text.as_bytes().to_vec() })
            }
            NodeValue::Tuple(items) => {
                let small = items.len() < 256;
                let items = items.iter().map(|&item| self.emit(item, depth + 1)).collect::<Result<_, _>>()?;
                Value::Tuple(pycache_marshal::Tuple { small, items })
            }
            NodeValue::FrozenSet(items) => Value::FrozenSet(self.frozenset(items, depth)?),
            NodeValue::Slice(parts) => {
                let [start, stop, step] = parts.map(|part| self.emit(part, depth + 1));
                Value::Slice(Box::new([start?, stop?, step?]))
            }
            NodeValue::Code(code) => {
                let c = code.code;
                let int = |v: u32| v as i32;
                let mut emit = |id| self.emit(id, depth + 1);
                let code = Code311 {
                    argcount: int(c.argcount),
                    posonlyargcount: int(c.posonlyargcount),
                    kwonlyargcount: int(c.kwonlyargcount),
                    stacksize: int(c.stacksize),
                    flags: int(c.flags),
                    code: emit(code.co_code)?,
                    consts: emit(code.consts)?,
                    names: emit(code.names)?,
                    localsplusnames: emit(code.localsplusnames)?,
                    localspluskinds: emit(code.localspluskinds)?,
                    filename: emit(code.filename)?,
                    name: emit(code.name)?,
                    qualname: emit(code.qualname)?,
                    firstlineno: int(c.firstlineno),
                    linetable: emit(code.linetable)?,
                    exceptiontable: emit(code.exceptiontable)?,
                };
                Value::Code(Box::new(code.into()))
            }
        };
        Ok(Object { flag_ref: flag, value })
    }

    /// Items in the order of their own marshal dumps (each made with a
    /// fresh reference table, as `marshal.dumps(item)` would; from 3.13 with
    /// the item itself held once more by the set's iterator), then written
    /// while the sorting pairs still hold them.
    fn frozenset(&mut self, items: &[NodeId], depth: usize) -> Result<Vec<Object>, MarshalError> {
        let mut keyed = Vec::with_capacity(items.len());
        for &item in items {
            let mut alone = Emitter {
                graph: self.graph,
                registered: HashMap::default(),
                held: HashMap::default(),
                keys_flagged: self.keys_flagged,
            };
            if self.keys_flagged {
                alone.held.insert(item, 1);
            }
            let dump = pycache_marshal::write(&alone.emit(item, depth + 1)?)?;
            keyed.push((dump, item));
        }
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        for &item in items {
            *self.held.entry(item).or_default() += 1;
        }
        let written = keyed.iter().map(|&(_, item)| self.emit(item, depth + 1)).collect();
        for &item in items {
            if let Some(count) = self.held.get_mut(&item) {
                *count -= 1;
            }
        }
        written
    }
}

/// `i` when the value fits in 32 bits, else `l` in 15-bit digits.
fn int_value(value: &BigInt) -> Value {
    if let Some(small) = value.to_i32() {
        return Value::Int(small);
    }
    let (sign, bytes) = value.to_bytes_le();
    let mut digits = Vec::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for byte in bytes {
        acc |= u32::from(byte) << bits;
        bits += 8;
        while bits >= 15 {
            digits.push((acc & 0x7fff) as u16);
            acc >>= 15;
            bits -= 15;
        }
    }
    if bits > 0 {
        digits.push(acc as u16);
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    Value::Long(Long { negative: sign == Sign::Minus, digits })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_beyond_32_bits_use_15_bit_digits() {
        assert_eq!(int_value(&BigInt::from(-7)), Value::Int(-7));
        assert_eq!(int_value(&BigInt::from(i32::MIN)), Value::Int(i32::MIN));
        let big = BigInt::from(1u64 << 31);
        assert_eq!(int_value(&big), Value::Long(Long { negative: false, digits: vec![0, 0, 2] }));
        let negative = -(BigInt::from(1) << 100u32) - 5;
        let Value::Long(long) = int_value(&negative) else { panic!() };
        assert!(long.negative && long.is_normalized());
        assert_eq!(long.to_decimal(), negative.to_string());
    }
}
