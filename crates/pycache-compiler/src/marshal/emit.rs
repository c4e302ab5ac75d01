//! CPython 3.12's `w_object`, replayed over the rebuilt object graph: which
//! objects get FLAG_REF, which occurrences become back-references, and the
//! type code of each object. It writes bytes as it goes; the format is
//! `pycache_marshal`'s, whose reader the tests check the stream with.

use rustc_hash::FxHashMap as HashMap;

use num_bigint::{BigInt, Sign};
use num_traits::ToPrimitive;
use pycache_marshal::{FLAG_REF, Long, MAX_DEPTH, StrKind, Value, WriteError};

use super::MarshalError;
use super::graph::{Graph, NodeId, NodeValue};
use crate::target::{Feature, Target};

pub(crate) struct Emitter<'g, 'a> {
    graph: &'g Graph<'a>,
    /// Flagged objects in the order marshal registered them.
    registered: Registered,
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
        let registered = Registered::dense(graph.nodes.len());
        Self { graph, registered, held: HashMap::default(), keys_flagged }
    }

    /// `w_ref`: an object is remembered when something besides its one
    /// container holds it, or when it is an interned string.
    fn shared(&self, id: NodeId) -> bool {
        let node = self.graph.node(id);
        node.interned
            || node.pinned
            || node.refs > 1
            || (!self.held.is_empty() && node.refs + self.held.get(&id).copied().unwrap_or(0) > 1)
    }

    /// Writes the object `id` at nesting level `depth` onto `out`, as
    /// `w_object` would: straight to bytes, with no object tree between.
    pub fn emit(&mut self, id: NodeId, depth: usize, out: &mut Vec<u8>) -> Result<(), MarshalError> {
        if depth > MAX_DEPTH {
            return Err(MarshalError::TooDeep { limit: MAX_DEPTH });
        }
        let node = self.graph.node(id);
        // The singletons are written before `w_ref` is consulted.
        match node.value {
            NodeValue::None => return Ok(out.push(b'N')),
            NodeValue::Bool(b) => return Ok(out.push(if b { b'T' } else { b'F' })),
            NodeValue::Ellipsis => return Ok(out.push(b'.')),
            _ => {}
        }
        let flag = self.shared(id);
        if flag {
            if let Some(index) = self.registered.get(id) {
                out.push(b'r');
                out.extend_from_slice(&index.to_le_bytes());
                return Ok(());
            }
            self.registered.insert(id)?;
        }
        let flag = if flag { FLAG_REF } else { 0 };
        match &node.value {
            NodeValue::None | NodeValue::Bool(_) | NodeValue::Ellipsis => unreachable!("handled above"),
            NodeValue::Int(value) => match int_value(value) {
                Value::Int(small) => {
                    out.push(b'i' | flag);
                    out.extend_from_slice(&small.to_le_bytes());
                }
                Value::Long(long) => {
                    out.push(b'l' | flag);
                    let count = i32::from_le_bytes(size32(long.digits.len(), "an int's digit list")?);
                    out.extend_from_slice(&(if long.negative { -count } else { count }).to_le_bytes());
                    for digit in &long.digits {
                        out.extend_from_slice(&digit.to_le_bytes());
                    }
                }
                _ => unreachable!("int_value gives i or l"),
            },
            NodeValue::Float(f) => {
                out.push(b'g' | flag);
                out.extend_from_slice(&f.to_bits().to_le_bytes());
            }
            NodeValue::Complex(re, im) => {
                out.push(b'y' | flag);
                out.extend_from_slice(&re.to_bits().to_le_bytes());
                out.extend_from_slice(&im.to_bits().to_le_bytes());
            }
            NodeValue::Bytes(data) => {
                out.push(b's' | flag);
                out.extend_from_slice(&size32(data.len(), "a bytes object")?);
                out.extend_from_slice(data);
            }
            NodeValue::Str(text) => {
                let data = text.as_bytes();
                let kind = match (data.is_ascii(), data.len() < 256, node.interned) {
                    (true, true, false) => StrKind::ShortAscii,
                    (true, true, true) => StrKind::ShortAsciiInterned,
                    (true, false, false) => StrKind::Ascii,
                    (true, false, true) => StrKind::AsciiInterned,
                    (false, _, false) => StrKind::Unicode,
                    (false, _, true) => StrKind::Interned,
                };
                out.push(kind.type_code() | flag);
                if matches!(kind, StrKind::ShortAscii | StrKind::ShortAsciiInterned) {
                    out.push(data.len() as u8);
                } else {
                    out.extend_from_slice(&size32(data.len(), "a string")?);
                }
                out.extend_from_slice(data);
            }
            NodeValue::Tuple(items) => {
                if items.len() < 256 {
                    out.push(b')' | flag);
                    out.push(items.len() as u8);
                } else {
                    out.push(b'(' | flag);
                    out.extend_from_slice(&size32(items.len(), "a tuple")?);
                }
                for &item in items {
                    self.emit(item, depth + 1, out)?;
                }
            }
            NodeValue::FrozenSet(items) => {
                out.push(b'>' | flag);
                out.extend_from_slice(&size32(items.len(), "a list or set")?);
                self.frozenset(items, depth, out)?;
            }
            NodeValue::Slice(parts) => {
                // Marshal 5's `:`, then start, stop and step.
                out.push(b':' | flag);
                for part in parts {
                    self.emit(*part, depth + 1, out)?;
                }
            }
            NodeValue::Code(code) => {
                let c = code.code;
                out.push(b'c' | flag);
                for field in [c.argcount, c.posonlyargcount, c.kwonlyargcount, c.stacksize, c.flags] {
                    out.extend_from_slice(&(field as i32).to_le_bytes());
                }
                for field in [
                    code.co_code,
                    code.consts,
                    code.names,
                    code.localsplusnames,
                    code.localspluskinds,
                    code.filename,
                    code.name,
                    code.qualname,
                ] {
                    self.emit(field, depth + 1, out)?;
                }
                out.extend_from_slice(&(c.firstlineno as i32).to_le_bytes());
                self.emit(code.linetable, depth + 1, out)?;
                self.emit(code.exceptiontable, depth + 1, out)?;
            }
        }
        Ok(())
    }

    /// Items in the order of their own marshal dumps (each made with a
    /// fresh reference table, as `marshal.dumps(item)` would; from 3.13 with
    /// the item itself held once more by the set's iterator), then written
    /// while the sorting pairs still hold them.
    fn frozenset(&mut self, items: &[NodeId], depth: usize, out: &mut Vec<u8>) -> Result<(), MarshalError> {
        let mut keyed = Vec::with_capacity(items.len());
        for &item in items {
            let mut alone = Emitter {
                graph: self.graph,
                registered: Registered::sparse(),
                held: HashMap::default(),
                keys_flagged: self.keys_flagged,
            };
            if self.keys_flagged {
                alone.held.insert(item, 1);
            }
            let mut dump = Vec::new();
            alone.emit(item, 1, &mut dump)?;
            keyed.push((dump, item));
        }
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        for &item in items {
            *self.held.entry(item).or_default() += 1;
        }
        for &(_, item) in &keyed {
            self.emit(item, depth + 1, out)?;
        }
        for &item in items {
            if let Some(count) = self.held.get_mut(&item) {
                *count -= 1;
            }
        }
        Ok(())
    }
}

/// No reference index yet.
const UNREGISTERED: u32 = u32::MAX;

/// Marshal's reference table: the index each flagged object was given,
/// and how many there are. A whole dump looks up every object of the
/// graph, so it indexes a vector by node; the dump of one frozenset item
/// (for its sort key) touches few, so it keeps a map rather than a vector
/// the size of the graph.
struct Registered {
    slots: Slots,
    count: u32,
}

enum Slots {
    /// One slot per node, [`UNREGISTERED`] until it is written.
    Dense(Vec<u32>),
    Sparse(HashMap<NodeId, u32>),
}

impl Registered {
    fn dense(nodes: usize) -> Self {
        Self { slots: Slots::Dense(vec![UNREGISTERED; nodes]), count: 0 }
    }

    fn sparse() -> Self {
        Self { slots: Slots::Sparse(HashMap::default()), count: 0 }
    }

    fn get(&self, id: NodeId) -> Option<u32> {
        match &self.slots {
            Slots::Dense(slots) => Some(slots[id]).filter(|&index| index != UNREGISTERED),
            Slots::Sparse(map) => map.get(&id).copied(),
        }
    }

    /// Gives `id` the next index.
    fn insert(&mut self, id: NodeId) -> Result<(), MarshalError> {
        let index = self.count;
        match &mut self.slots {
            Slots::Dense(slots) => slots[id] = index,
            Slots::Sparse(map) => {
                map.insert(id, index);
            }
        }
        self.count = index.checked_add(1).filter(|&n| n != UNREGISTERED).ok_or(MarshalError::TooManyObjects)?;
        Ok(())
    }
}

/// A count in marshal's 32-bit field.
fn size32(len: usize, what: &'static str) -> Result<[u8; 4], MarshalError> {
    match i32::try_from(len) {
        Ok(len) => Ok(len.to_le_bytes()),
        Err(_) => Err(WriteError::TooLong { what, len, max: i32::MAX as usize }.into()),
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
