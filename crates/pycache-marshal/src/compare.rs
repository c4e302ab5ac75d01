use std::collections::HashSet;
use std::fmt;

use crate::code::FieldRef;
use crate::error::{ReadError, RefError};
use crate::format::Format;
use crate::object::{Object, Value};
use crate::reader::read;
use crate::refs::RefTable;

/// How loosely two trees are compared. FLAG_REF bits are always ignored and
/// references always followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompareOptions {
    /// Compare sets and frozensets as unordered. Their stream order follows
    /// string hashes, which vary between processes (PYTHONHASHSEED) in the
    /// versions that do not sort them (before 3.11).
    pub ignore_set_order: bool,
    /// Treat an interned string and a plain one with the same text as equal
    /// (`t`/`u`, `A`/`a`, `Z`/`z`). Whether the writer saw a string as
    /// interned can depend on what the process interned earlier: 3.12 keeps
    /// every interned string, single characters included, for good.
    pub ignore_interning: bool,
}

/// Where two trees first differ: a path such as `root.co_consts[2].co_name`
/// and the two values there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub path: String,
    pub left: String,
    pub right: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} != {}", self.path, self.left, self.right)
    }
}

/// Whether two trees are the same once references are resolved, whatever
/// objects carried FLAG_REF: the question for two caches of the same source,
/// whose flags depend on refcounts in the processes that wrote them. Type
/// codes must match (`z` is not `a`, `)` is not `(`, `i` is not `l`).
pub fn equivalent(left: &Object, right: &Object) -> Result<bool, RefError> {
    Ok(difference(left, right, CompareOptions::default())?.is_none())
}

/// [`equivalent`] for two streams of the same format.
pub fn streams_equivalent(left: &[u8], right: &[u8], format: Format) -> Result<bool, ReadError> {
    let (left, right) = (read(left, format)?, read(right, format)?);
    // Trees from the reader have valid references.
    Ok(equivalent(&left, &right).unwrap_or(false))
}

/// The first difference between two trees in stream order, or `None` when
/// they are equivalent. Handles shared and cyclic references: each pair of
/// containers is compared once.
pub fn difference(left: &Object, right: &Object, options: CompareOptions) -> Result<Option<Difference>, RefError> {
    let tables = (RefTable::new(left)?, RefTable::new(right)?);
    let comparison = Comparison { tables, options, labels: Vec::new(), seen: HashSet::new(), budget: SET_BUDGET };
    comparison.run(left, right)
}

#[derive(Debug, Clone, Copy)]
enum Label {
    Root,
    Item(usize),
    Key(usize),
    Value(usize),
    Field(&'static str),
}

struct Comparison<'a> {
    tables: (RefTable<'a>, RefTable<'a>),
    options: CompareOptions,
    /// Every pair queued so far: its parent's position here and its label,
    /// so that a path is rebuilt only when a difference is found.
    labels: Vec<(usize, Label)>,
    seen: HashSet<(*const Object, *const Object)>,
    /// Bytes of canonical set items left to build (see [`SET_BUDGET`]).
    budget: usize,
}

/// How many bytes of canonical encodings unordered set comparison may build
/// in one call. Real sets are small constants; a hostile stream could make
/// every set hold a huge shared structure, and past this budget the
/// remaining sets are compared in stream order instead.
const SET_BUDGET: usize = 1 << 20;

/// The parts of a value that do not involve other objects, as text for the
/// report, or `None` when equal.
fn shallow_difference(left: &Value, right: &Value, options: CompareOptions) -> Option<(String, String)> {
    let different = || Some((left.summary(), right.summary()));
    if let (Value::Str(a), Value::Str(b), true) = (left, right, options.ignore_interning) {
        return if a.kind.uninterned() == b.kind.uninterned() && a.data == b.data { None } else { different() };
    }
    if left.type_code() != right.type_code() {
        return different();
    }
    let same = match (left, right) {
        (Value::Int(a), Value::Int(b)) => a == b,
        (Value::Int64(a), Value::Int64(b)) => a == b,
        (Value::Long(a), Value::Long(b)) => a == b,
        (Value::Float(a), Value::Float(b)) => a == b,
        (Value::BinaryFloat(a), Value::BinaryFloat(b)) => a == b,
        (Value::Complex { real: ar, imag: ai }, Value::Complex { real: br, imag: bi }) => ar == br && ai == bi,
        (Value::BinaryComplex { real: ar, imag: ai }, Value::BinaryComplex { real: br, imag: bi }) => {
            ar == br && ai == bi
        }
        (Value::Bytes(a), Value::Bytes(b)) => a == b,
        (Value::Str(a), Value::Str(b)) => a == b,
        (Value::Tuple(a), Value::Tuple(b)) => a.items.len() == b.items.len(),
        (Value::List(a), Value::List(b))
        | (Value::Set(a), Value::Set(b))
        | (Value::FrozenSet(a), Value::FrozenSet(b)) => a.len() == b.len(),
        (Value::Dict(a), Value::Dict(b)) | (Value::FrozenDict(a), Value::FrozenDict(b)) => {
            a.entries.len() == b.entries.len()
        }
        (Value::Code(a), Value::Code(b)) => {
            if a.layout() != b.layout() {
                return different();
            }
            for ((name, a), (_, b)) in a.fields().into_iter().zip(b.fields()) {
                if let (FieldRef::Int(a), FieldRef::Int(b)) = (a, b)
                    && a != b
                {
                    return Some((format!("{name} = {a}"), format!("{name} = {b}")));
                }
            }
            true
        }
        // Same type code and no payload: the singletons and slices.
        _ => true,
    };
    if same { None } else { different() }
}

/// Labels for the children of a value, matching [`Object::children`].
fn child_labels(value: &Value) -> Vec<Label> {
    match value {
        Value::Dict(d) | Value::FrozenDict(d) => {
            (0..d.entries.len()).flat_map(|i| [Label::Key(i), Label::Value(i)]).collect()
        }
        Value::Slice(_) => ["start", "stop", "step"].into_iter().map(Label::Field).collect(),
        Value::Code(code) => code.objects().into_iter().map(|(name, _)| Label::Field(name)).collect(),
        Value::Tuple(t) => (0..t.items.len()).map(Label::Item).collect(),
        Value::List(items) | Value::Set(items) | Value::FrozenSet(items) => (0..items.len()).map(Label::Item).collect(),
        _ => Vec::new(),
    }
}

/// A comparable encoding of a resolved subtree with flags dropped and set
/// items sorted, or `None` past the budget (such sets are then compared in
/// order instead).
fn canonical(object: &Object, table: &RefTable<'_>, budget: &mut usize, depth: usize) -> Option<Vec<u8>> {
    const MAX_CANONICAL_DEPTH: usize = 50;
    let object = table.resolve(object).ok()?;
    if depth > MAX_CANONICAL_DEPTH {
        return None;
    }
    let children = object.children();
    let mut out = if children.is_empty() {
        // A scalar or an empty container: its own encoding, without the flag.
        crate::writer::write(&Object::new(object.value.clone())).ok()?
    } else {
        let mut head = vec![object.value.type_code()];
        if let Value::Code(code) = &object.value {
            for (_, field) in code.fields() {
                if let FieldRef::Int(value) = field {
                    head.extend_from_slice(&value.to_le_bytes());
                }
            }
        }
        head
    };
    out.extend_from_slice(&(children.len() as u64).to_le_bytes());
    *budget = budget.checked_sub(out.len())?;
    let mut parts = Vec::with_capacity(children.len());
    for child in children {
        parts.push(canonical(child, table, budget, depth + 1)?);
    }
    if matches!(object.value, Value::Set(_) | Value::FrozenSet(_)) {
        parts.sort();
    }
    for part in parts {
        out.extend_from_slice(&(part.len() as u64).to_le_bytes());
        out.extend_from_slice(&part);
    }
    Some(out)
}

impl<'a> Comparison<'a> {
    fn path(&self, mut at: usize) -> String {
        let mut labels = Vec::new();
        while let Some(&(parent, label)) = self.labels.get(at) {
            labels.push(label);
            if at == parent {
                break;
            }
            at = parent;
        }
        let mut path = String::new();
        for label in labels.into_iter().rev() {
            match label {
                Label::Root => path.push_str("root"),
                Label::Item(i) => path.push_str(&format!("[{i}]")),
                Label::Key(i) => path.push_str(&format!(".key[{i}]")),
                Label::Value(i) => path.push_str(&format!(".value[{i}]")),
                Label::Field(name) => {
                    path.push('.');
                    path.push_str(name);
                }
            }
        }
        path
    }

    /// Whether two sets hold different items regardless of order, or `None`
    /// when the budget ran out.
    fn sets_differ(&mut self, left: &'a Object, right: &'a Object) -> Option<bool> {
        let budget = &mut self.budget;
        let mut keys = |object: &'a Object, table: &RefTable<'a>| -> Option<Vec<Vec<u8>>> {
            let mut keys = Vec::new();
            for child in object.children() {
                keys.push(canonical(child, table, budget, 0)?);
            }
            keys.sort();
            Some(keys)
        };
        let left_keys = keys(left, &self.tables.0)?;
        let right_keys = keys(right, &self.tables.1)?;
        Some(left_keys != right_keys)
    }

    fn run(mut self, left: &'a Object, right: &'a Object) -> Result<Option<Difference>, RefError> {
        self.labels.push((0, Label::Root));
        let mut stack: Vec<(&'a Object, &'a Object, usize)> = vec![(left, right, 0)];
        while let Some((left, right, at)) = stack.pop() {
            let left = self.tables.0.resolve(left)?;
            let right = self.tables.1.resolve(right)?;
            let (left_children, right_children) = (left.children(), right.children());
            if !left_children.is_empty() && !self.seen.insert((left, right)) {
                continue;
            }
            if let Some((l, r)) = shallow_difference(&left.value, &right.value, self.options) {
                return Ok(Some(Difference { path: self.path(at), left: l, right: r }));
            }
            let is_set = matches!(left.value, Value::Set(_) | Value::FrozenSet(_));
            if is_set && self.options.ignore_set_order {
                match self.sets_differ(left, right) {
                    Some(true) => {
                        let (l, r) = (left.value.summary(), right.value.summary());
                        return Ok(Some(Difference {
                            path: self.path(at),
                            left: format!("{l} (elements differ)"),
                            right: r,
                        }));
                    }
                    Some(false) => continue,
                    None => {}
                }
            }
            let labels = child_labels(&left.value);
            let pairs: Vec<_> = left_children.into_iter().zip(right_children).zip(labels).collect();
            for ((l, r), label) in pairs.into_iter().rev() {
                self.labels.push((at, label));
                stack.push((l, r, self.labels.len() - 1));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use pycache_pyc::PyVersion;

    use super::*;
    use crate::code::{Code, CodeLayout};
    use crate::object::StrKind;

    fn fmt() -> Format {
        Format::for_version(PyVersion::new(3, 12)).unwrap()
    }

    #[test]
    fn flags_and_refs_do_not_matter() {
        // ('ab', 'ab') written with and without sharing.
        let shared = b")\x02\xda\x02abr\x00\x00\x00\x00";
        let copied = b")\x02Z\x02abZ\x02ab";
        let flagged_twice = b"\xa9\x02\xda\x02ab\xda\x02ab";
        assert!(streams_equivalent(shared, copied, fmt()).unwrap());
        assert!(streams_equivalent(copied, flagged_twice, fmt()).unwrap());
        // The reference table shifts when the tuple itself is flagged.
        let outer_flagged = b"\xa9\x02\xda\x02abr\x01\x00\x00\x00";
        assert!(streams_equivalent(shared, outer_flagged, fmt()).unwrap());
    }

    #[test]
    fn type_codes_and_values_do() {
        let cases: [(&[u8], &[u8], &str); 5] = [
            (b"Z\x02ab", b"z\x02ab", "root"),
            (b")\x02NN", b")\x02NT", "root[1]"),
            (b"{z\x01ai\x01\x00\x00\x000", b"{z\x01ai\x02\x00\x00\x000", "root.value[0]"),
            (b")\x01N", b"(\x01\x00\x00\x00N", "root"),
            (b"[\x01\x00\x00\x00N", b"[\x02\x00\x00\x00NN", "root"),
        ];
        for (left, right, path) in cases {
            let (l, r) = (read(left, fmt()).unwrap(), read(right, fmt()).unwrap());
            let diff = difference(&l, &r, CompareOptions::default()).unwrap().unwrap();
            assert_eq!(diff.path, path, "{diff}");
        }
    }

    #[test]
    fn code_fields_are_named_in_the_path() {
        let make = |flags: i32, name: &str| {
            let mut objects = vec![Object::none(); 10];
            objects[6] = Object::str_with(StrKind::ShortAsciiInterned, name);
            Object::code(Code::from_parts(CodeLayout::Py311, vec![0, 0, 0, 1, flags, 1], objects))
        };
        let diff = difference(&make(3, "f"), &make(3, "g"), CompareOptions::default()).unwrap().unwrap();
        assert_eq!(diff.path, "root.co_name");
        let diff = difference(&make(3, "f"), &make(4, "f"), CompareOptions::default()).unwrap().unwrap();
        assert_eq!((diff.path.as_str(), diff.left.as_str()), ("root", "co_flags = 3"));
        assert!(equivalent(&make(3, "f"), &make(3, "f").flagged()).unwrap());
    }

    #[test]
    fn cycles_and_heavy_sharing_terminate() {
        let cyclic = b"\xdb\x01\x00\x00\x00r\x00\x00\x00\x00";
        let cyclic_twice = b"\xdb\x01\x00\x00\x00\xdb\x01\x00\x00\x00r\x00\x00\x00\x00";
        assert!(streams_equivalent(cyclic, cyclic, fmt()).unwrap());
        assert!(!streams_equivalent(cyclic, b"[\x01\x00\x00\x00[\x00\x00\x00\x00", fmt()).unwrap());
        assert!(streams_equivalent(cyclic_twice, cyclic_twice, fmt()).unwrap());
        // Each tuple holds the previous one twice: 2**60 paths, 60 pairs.
        let mut data = b"[\x3c\x00\x00\x00\xa9\x00".to_vec();
        for i in 0..59u32 {
            data.extend_from_slice(b"\xa9\x02r");
            data.extend_from_slice(&i.to_le_bytes());
            data.push(b'r');
            data.extend_from_slice(&i.to_le_bytes());
        }
        assert!(streams_equivalent(&data, &data, fmt()).unwrap());
    }

    #[test]
    fn set_order_can_be_ignored() {
        let ab = read(b">\x02\x00\x00\x00z\x01az\x01b", fmt()).unwrap();
        let ba = read(b">\x02\x00\x00\x00z\x01bz\x01a", fmt()).unwrap();
        let ac = read(b">\x02\x00\x00\x00z\x01az\x01c", fmt()).unwrap();
        assert!(!equivalent(&ab, &ba).unwrap());
        let loose = CompareOptions { ignore_set_order: true, ..CompareOptions::default() };
        assert_eq!(difference(&ab, &ba, loose).unwrap(), None);
        assert!(difference(&ab, &ac, loose).unwrap().is_some());
        // Elements behind references count by value.
        let shared = read(b")\x02\xfa\x01a>\x02\x00\x00\x00z\x01br\x00\x00\x00\x00", fmt()).unwrap();
        let plain = read(b")\x02z\x01a>\x02\x00\x00\x00z\x01az\x01b", fmt()).unwrap();
        assert_eq!(difference(&shared, &plain, loose).unwrap(), None);
    }

    #[test]
    fn unordered_sets_of_huge_shared_items_fall_back_to_order() {
        // A frozenset whose item expands to 2**60 leaves once references
        // are followed: the budget runs out, and order decides.
        let mut data = b"[\x3d\x00\x00\x00\xa9\x00".to_vec();
        for i in 0..59u32 {
            data.extend_from_slice(b"\xa9\x02r");
            data.extend_from_slice(&i.to_le_bytes());
            data.push(b'r');
            data.extend_from_slice(&i.to_le_bytes());
        }
        data.extend_from_slice(b">\x02\x00\x00\x00r\x3b\x00\x00\x00N");
        let object = read(&data, fmt()).unwrap();
        let loose = CompareOptions { ignore_set_order: true, ..CompareOptions::default() };
        assert_eq!(difference(&object, &object, loose).unwrap(), None);
    }

    #[test]
    fn invalid_hand_built_references_are_errors() {
        let bad = Object::list(vec![Object::reference(3)]);
        assert!(equivalent(&bad, &bad).is_err());
    }

    #[test]
    fn interning_can_be_ignored() {
        let interned = Object::str_with(StrKind::Interned, "\u{e4}");
        let plain = Object::str_with(StrKind::Unicode, "\u{e4}");
        assert!(difference(&interned, &plain, CompareOptions::default()).unwrap().is_some());
        let loose = CompareOptions { ignore_interning: true, ..CompareOptions::default() };
        assert!(difference(&interned, &plain, loose).unwrap().is_none());
        let other = Object::str_with(StrKind::Unicode, "\u{e5}");
        assert!(difference(&interned, &other, loose).unwrap().is_some());
    }
}
