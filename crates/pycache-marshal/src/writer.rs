use crate::code::FieldRef;
use crate::error::WriteError;
use crate::format::Format;
use crate::object::{Object, Value};
use crate::reader::{MAX_DEPTH, read_prefix};

/// Encodes an object tree exactly as it describes itself: each object with
/// its own type code and FLAG_REF bit, references as given. For a tree the
/// reader produced, the result is the bytes that were read.
///
/// Fails only for what the format cannot express (a count too large for its
/// field, nesting deeper than [`MAX_DEPTH`], a negative zero); whether the
/// stream suits a given interpreter is [`write_for`]'s question.
pub fn write(object: &Object) -> Result<Vec<u8>, WriteError> {
    let mut out = Vec::new();
    write_into(object, &mut out)?;
    Ok(out)
}

/// [`write()`], appending to `out`. On error, `out` holds a partial stream.
pub fn write_into(object: &Object, out: &mut Vec<u8>) -> Result<(), WriteError> {
    let mut tasks = vec![Task::Object(object, 1)];
    while let Some(task) = tasks.pop() {
        match task {
            Task::Object(object, depth) => emit(object, depth, out, &mut tasks)?,
            Task::Int(value) => out.extend_from_slice(&value.to_le_bytes()),
            Task::DictEnd { flag_ref, depth } => {
                check_depth(depth)?;
                out.push(b'0' | if flag_ref { crate::object::FLAG_REF } else { 0 });
            }
        }
    }
    Ok(())
}

/// Writes the tree and checks, by reading the result back as `format`, that
/// the interpreter of that format would accept it and read the same tree:
/// type codes its version knows, code objects in its layout, valid
/// references, normalized ints, valid text.
pub fn write_for(object: &Object, format: Format) -> Result<Vec<u8>, WriteError> {
    let bytes = write(object)?;
    match read_prefix(&bytes, format) {
        Ok((back, used)) if used == bytes.len() && back == *object => Ok(bytes),
        Ok(_) => Err(WriteError::NotRoundTrip),
        Err(source) => Err(WriteError::NotReadable { version: format.version(), source }),
    }
}

/// Work left to do, innermost last, so that popping writes in stream order.
enum Task<'a> {
    Object(&'a Object, usize),
    Int(i32),
    DictEnd { flag_ref: bool, depth: usize },
}

fn check_depth(depth: usize) -> Result<(), WriteError> {
    if depth > MAX_DEPTH { Err(WriteError::TooDeep { limit: MAX_DEPTH }) } else { Ok(()) }
}

fn size32(len: usize, what: &'static str) -> Result<[u8; 4], WriteError> {
    match i32::try_from(len) {
        Ok(len) => Ok(len.to_le_bytes()),
        Err(_) => Err(WriteError::TooLong { what, len, max: i32::MAX as usize }),
    }
}

fn size8(len: usize, what: &'static str) -> Result<u8, WriteError> {
    u8::try_from(len).map_err(|_| WriteError::TooLong { what, len, max: 255 })
}

fn push_items<'a>(items: &'a [Object], depth: usize, tasks: &mut Vec<Task<'a>>) {
    tasks.extend(items.iter().rev().map(|item| Task::Object(item, depth + 1)));
}

fn emit<'a>(object: &'a Object, depth: usize, out: &mut Vec<u8>, tasks: &mut Vec<Task<'a>>) -> Result<(), WriteError> {
    check_depth(depth)?;
    out.push(object.type_byte());
    match &object.value {
        Value::None | Value::True | Value::False | Value::Ellipsis | Value::StopIteration => {}
        Value::Int(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::Int64(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::Long(long) => {
            if long.negative && long.digits.is_empty() {
                return Err(WriteError::InvalidLong("a negative sign on zero cannot be encoded"));
            }
            let count = size32(long.digits.len(), "an int's digit list")?;
            let count = i32::from_le_bytes(count);
            out.extend_from_slice(&(if long.negative { -count } else { count }).to_le_bytes());
            for digit in &long.digits {
                out.extend_from_slice(&digit.to_le_bytes());
            }
        }
        Value::Float(text) => {
            out.push(size8(text.len(), "a float text")?);
            out.extend_from_slice(text);
        }
        Value::BinaryFloat(bits) => out.extend_from_slice(&bits.to_le_bytes()),
        Value::Complex { real, imag } => {
            for text in [real, imag] {
                out.push(size8(text.len(), "a complex text")?);
                out.extend_from_slice(text);
            }
        }
        Value::BinaryComplex { real, imag } => {
            out.extend_from_slice(&real.to_le_bytes());
            out.extend_from_slice(&imag.to_le_bytes());
        }
        Value::Bytes(data) => {
            out.extend_from_slice(&size32(data.len(), "a bytes object")?);
            out.extend_from_slice(data);
        }
        Value::Str(text) => {
            if matches!(text.kind, crate::StrKind::ShortAscii | crate::StrKind::ShortAsciiInterned) {
                out.push(size8(text.data.len(), "a short ASCII string")?);
            } else {
                out.extend_from_slice(&size32(text.data.len(), "a string")?);
            }
            out.extend_from_slice(&text.data);
        }
        Value::StringRef(index) | Value::Ref(index) => out.extend_from_slice(&index.to_le_bytes()),
        Value::Tuple(tuple) => {
            if tuple.small {
                out.push(size8(tuple.items.len(), "a small tuple")?);
            } else {
                out.extend_from_slice(&size32(tuple.items.len(), "a tuple")?);
            }
            push_items(&tuple.items, depth, tasks);
        }
        Value::List(items) | Value::Set(items) | Value::FrozenSet(items) => {
            out.extend_from_slice(&size32(items.len(), "a list or set")?);
            push_items(items, depth, tasks);
        }
        Value::Dict(dict) | Value::FrozenDict(dict) => {
            tasks.push(Task::DictEnd { flag_ref: dict.end_flag_ref, depth: depth + 1 });
            for (key, value) in dict.entries.iter().rev() {
                tasks.push(Task::Object(value, depth + 1));
                tasks.push(Task::Object(key, depth + 1));
            }
        }
        Value::Slice(parts) => push_items(parts.as_slice(), depth, tasks),
        Value::Code(code) => {
            for (_, field) in code.fields().into_iter().rev() {
                tasks.push(match field {
                    FieldRef::Int(value) => Task::Int(value),
                    FieldRef::Object(object) => Task::Object(object, depth + 1),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use pycache_pyc::PyVersion;

    use super::*;
    use crate::error::ReadError;
    use crate::object::{Long, StrKind};
    use crate::reader::read;
    use crate::testdata::samples;

    fn fmt(major: u8, minor: u8) -> Format {
        Format::for_version(PyVersion::new(major, minor)).unwrap()
    }

    #[test]
    fn every_sample_round_trips() {
        for ((major, minor), bytes) in samples() {
            let object = read(&bytes, fmt(major, minor)).unwrap_or_else(|e| panic!("{bytes:?}: {e}"));
            assert_eq!(write(&object).unwrap(), bytes, "{object:?}");
            assert_eq!(write_for(&object, fmt(major, minor)).unwrap(), bytes);
        }
    }

    #[test]
    fn built_objects_write_as_cpython_would() {
        let object = Object::small_tuple(vec![
            Object::none(),
            Object::bool(true),
            Object::float(0.5),
            Object::bytes(*b"ab"),
            Object::str_with(StrKind::ShortAscii, "x").flagged(),
            Object::reference(0),
        ]);
        let bytes = write_for(&object, fmt(3, 12)).unwrap();
        assert_eq!(bytes, b")\x06NTg\x00\x00\x00\x00\x00\x00\xe0\x3fs\x02\x00\x00\x00ab\xfa\x01xr\x00\x00\x00\x00");
    }

    #[test]
    fn what_the_format_cannot_express_is_refused() {
        let big = Object::small_tuple(vec![Object::none(); 256]);
        assert_eq!(write(&big), Err(WriteError::TooLong { what: "a small tuple", len: 256, max: 255 }));
        let long_name = Object::str_with(StrKind::ShortAscii, vec![b'a'; 256]);
        assert!(matches!(write(&long_name), Err(WriteError::TooLong { .. })));
        let float = Object::new(Value::Float(vec![b'1'; 256]));
        assert!(matches!(write(&float), Err(WriteError::TooLong { .. })));
        let zero = Object::new(Value::Long(Long { negative: true, digits: vec![] }));
        assert!(matches!(write(&zero), Err(WriteError::InvalidLong(_))));
    }

    #[test]
    fn depth_is_bounded_like_cpython() {
        let mut object = Object::none();
        for _ in 1..MAX_DEPTH {
            object = Object::small_tuple(vec![object]);
        }
        assert!(write(&object).is_ok());
        let deeper = Object::small_tuple(vec![object]);
        assert_eq!(write(&deeper), Err(WriteError::TooDeep { limit: MAX_DEPTH }));
        // The dict's NULL counts as a level, as it does when reading.
        let mut dict = Object::dict(vec![]);
        for _ in 1..MAX_DEPTH {
            dict = Object::small_tuple(vec![dict]);
        }
        assert_eq!(write(&dict), Err(WriteError::TooDeep { limit: MAX_DEPTH }));
    }

    #[test]
    fn write_for_checks_the_version() {
        let short = Object::str_with(StrKind::ShortAscii, "x");
        assert!(matches!(
            write_for(&short, fmt(3, 3)),
            Err(WriteError::NotReadable { source: ReadError::UnknownType { .. }, .. })
        ));
        let dangling = Object::list(vec![Object::reference(0)]);
        assert!(write(&dangling).is_ok());
        assert!(matches!(
            write_for(&dangling, fmt(3, 12)),
            Err(WriteError::NotReadable { source: ReadError::InvalidRef { .. }, .. })
        ));
        let bad_long = Object::new(Value::Long(Long { negative: false, digits: vec![1, 0] }));
        assert!(write_for(&bad_long, fmt(3, 12)).is_err());
    }
}
