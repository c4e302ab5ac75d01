//! The way back: a 3.12 marshal tree (as `pycache-marshal` reads it) to a
//! [`CodeObject`] value, dropping everything the value model does not keep:
//! references are followed, FLAG_REF bits, interned marks and the choice
//! between type codes are forgotten. Tests use it to check that
//! [`super::marshal_code`] rebuilds exactly what CPython wrote.

use num_bigint::BigInt;
use pycache_marshal::{Code, Object, RefTable, Value};

use crate::code::{CodeObject, Constant, PyStr};

/// Why a marshal tree is not a 3.12 code object the value model can hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnmarshalError {
    #[error("unresolvable back-reference: {0}")]
    Ref(#[from] pycache_marshal::RefError),
    #[error("expected {expected} in {context}, found {found}")]
    Unexpected { expected: &'static str, context: &'static str, found: String },
    #[error("field {field} out of range: {value}")]
    OutOfRange { field: &'static str, value: i32 },
    #[error("objects nested deeper than {0} levels")]
    TooDeep(usize),
}

/// Converts the module code object of a 3.12 stream into a value tree.
#[doc(hidden)]
pub fn code_from_marshal(root: &Object) -> Result<CodeObject, UnmarshalError> {
    let table = RefTable::new(root)?;
    let converter = Converter { table, fresh_percent: std::cell::Cell::new(false) };
    let mut code = converter.code(root, 0)?;
    code.fresh_percent = converter.fresh_percent.get();
    Ok(code)
}

struct Converter<'a> {
    table: RefTable<'a>,
    /// A `'%'` constant was written without FLAG_REF: not the singleton
    /// (always flagged) but the new string of a `%%` fold, held once. A
    /// shared one is flagged like the singleton and not told apart.
    fresh_percent: std::cell::Cell<bool>,
}

fn unexpected(expected: &'static str, context: &'static str, found: &Object) -> UnmarshalError {
    UnmarshalError::Unexpected { expected, context, found: found.value.summary() }
}

impl<'a> Converter<'a> {
    fn resolve(&self, object: &'a Object) -> Result<&'a Object, UnmarshalError> {
        Ok(self.table.resolve(object)?)
    }

    fn code(&self, object: &'a Object, depth: usize) -> Result<CodeObject, UnmarshalError> {
        let object = self.resolve(object)?;
        let Value::Code(code) = &object.value else {
            return Err(unexpected("a code object", "the stream", object));
        };
        let Code::Py311(c) = code.as_ref() else {
            return Err(unexpected("a 3.11+ code object", "the stream", object));
        };
        let uint = |field: &'static str, value: i32| {
            u32::try_from(value).map_err(|_| UnmarshalError::OutOfRange { field, value })
        };
        Ok(CodeObject {
            argcount: uint("co_argcount", c.argcount)?,
            posonlyargcount: uint("co_posonlyargcount", c.posonlyargcount)?,
            kwonlyargcount: uint("co_kwonlyargcount", c.kwonlyargcount)?,
            stacksize: uint("co_stacksize", c.stacksize)?,
            flags: uint("co_flags", c.flags)?,
            code: self.bytes(&c.code, "co_code")?,
            consts: self
                .tuple(&c.consts, "co_consts")?
                .iter()
                .map(|item| self.constant(item, depth + 1))
                .collect::<Result<_, _>>()?,
            names: self.names(&c.names, "co_names")?,
            localsplusnames: self.names(&c.localsplusnames, "co_localsplusnames")?,
            localspluskinds: self.bytes(&c.localspluskinds, "co_localspluskinds")?,
            // A stream cannot tell (see the field).
            renamed_locals: false,
            fresh_percent: false,
            identifier_strs: Vec::new(),
            filename: self.str(&c.filename, "co_filename")?,
            name: self.str(&c.name, "co_name")?,
            qualname: self.str(&c.qualname, "co_qualname")?,
            firstlineno: uint("co_firstlineno", c.firstlineno)?,
            linetable: self.bytes(&c.linetable, "co_linetable")?,
            exceptiontable: self.bytes(&c.exceptiontable, "co_exceptiontable")?,
        })
    }

    fn bytes(&self, object: &'a Object, context: &'static str) -> Result<Vec<u8>, UnmarshalError> {
        let object = self.resolve(object)?;
        object.as_bytes().map(<[u8]>::to_vec).ok_or_else(|| unexpected("bytes", context, object))
    }

    fn tuple(&self, object: &'a Object, context: &'static str) -> Result<&'a [Object], UnmarshalError> {
        let object = self.resolve(object)?;
        match &object.value {
            Value::Tuple(t) => Ok(&t.items),
            _ => Err(unexpected("a tuple", context, object)),
        }
    }

    fn names(&self, object: &'a Object, context: &'static str) -> Result<Vec<PyStr>, UnmarshalError> {
        self.tuple(object, context)?.iter().map(|item| self.str(item, context)).collect()
    }

    fn str(&self, object: &'a Object, context: &'static str) -> Result<PyStr, UnmarshalError> {
        let object = self.resolve(object)?;
        let text = object.as_str().ok_or_else(|| unexpected("a string", context, object))?;
        Ok(if text.kind.is_one_byte() {
            PyStr::from_code_points(text.data.iter().map(|&b| u32::from(b)))
        } else {
            // Marshal's UTF-8 with surrogates is PyStr's own encoding; decoding
            // and encoding again keeps a malformed stream from passing through.
            PyStr::from_code_points(PyStr::from_encoded(text.data.clone()).code_points())
        })
    }

    fn constant(&self, object: &'a Object, depth: usize) -> Result<Constant, UnmarshalError> {
        if depth > pycache_marshal::MAX_DEPTH {
            return Err(UnmarshalError::TooDeep(pycache_marshal::MAX_DEPTH));
        }
        let object = self.resolve(object)?;
        Ok(match &object.value {
            Value::None => Constant::None,
            Value::True => Constant::Bool(true),
            Value::False => Constant::Bool(false),
            Value::Ellipsis => Constant::Ellipsis,
            Value::Int(v) => Constant::Int(BigInt::from(*v)),
            Value::Int64(v) => Constant::Int(BigInt::from(*v)),
            Value::Long(long) => {
                let mut value = BigInt::from(0);
                for &digit in long.digits.iter().rev() {
                    value = (value << 15u32) + BigInt::from(digit);
                }
                Constant::Int(if long.negative { -value } else { value })
            }
            Value::BinaryFloat(bits) => Constant::Float(f64::from_bits(*bits)),
            Value::BinaryComplex { real, imag } => {
                Constant::Complex { real: f64::from_bits(*real), imag: f64::from_bits(*imag) }
            }
            Value::Bytes(data) => Constant::Bytes(data.clone()),
            Value::Str(_) => {
                let text = self.str(object, "co_consts")?;
                if !object.flag_ref && text.as_bytes() == b"%" {
                    self.fresh_percent.set(true);
                }
                Constant::Str(text)
            }
            Value::Tuple(t) => {
                Constant::Tuple(t.items.iter().map(|item| self.constant(item, depth + 1)).collect::<Result<_, _>>()?)
            }
            // Marshal sorted the items; hand them over in another order so
            // that the writer has to sort them again.
            Value::FrozenSet(items) => Constant::FrozenSet(
                items.iter().rev().map(|item| self.constant(item, depth + 1)).collect::<Result<_, _>>()?,
            ),
            Value::Slice(parts) => {
                let [start, stop, step] = &**parts;
                let part = |p| self.constant(p, depth + 1);
                Constant::Slice(Box::new([part(start)?, part(stop)?, part(step)?]))
            }
            Value::Code(_) => Constant::Code(Box::new(self.code(object, depth + 1)?)),
            _ => return Err(unexpected("a constant", "co_consts", object)),
        })
    }
}

#[cfg(test)]
mod tests {
    use pycache_marshal::StrKind;

    use super::*;

    #[test]
    fn surrogates_survive_the_way_back() {
        let points = PyStr::from_encoded("a\u{e9}\u{1f600}".as_bytes().to_vec()).code_points();
        assert_eq!(points, vec![0x61, 0xe9, 0x1f600]);
        assert_eq!(PyStr::from_encoded(vec![0xed, 0xa0, 0x80]).code_points(), vec![0xd800]);
    }

    #[test]
    fn a_stream_that_is_not_code_is_refused() {
        let err = code_from_marshal(&Object::none()).unwrap_err();
        assert!(matches!(err, UnmarshalError::Unexpected { .. }), "{err}");
        let kind = StrKind::ShortAscii;
        assert!(code_from_marshal(&Object::str_with(kind, "x")).is_err());
    }
}
