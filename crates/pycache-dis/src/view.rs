//! A code object's fields with references followed and strings decoded:
//! what decoding and printing need, the same for every layout.

use pycache_marshal::{Code, Object, RefTable, Value};
use pycache_pyc::PyVersion;

use crate::error::DisError;

/// Locals-plus kinds (3.11+), one byte per name.
pub const CO_FAST_LOCAL: u8 = 0x20;
pub const CO_FAST_CELL: u8 = 0x40;
pub const CO_FAST_FREE: u8 = 0x80;

/// `dis.pretty_flags` of `version`: the names its `dis` gives co_flags bits
/// (from the version's opcode table), hex for the rest. Versions without a
/// table (3.0 to 3.5) use the oldest Python 3 table, whose names they share.
pub fn pretty_flags(version: PyVersion, flags: u32) -> String {
    let table = pycache_opcode::for_version(version)
        .or_else(|| pycache_opcode::tables().iter().copied().find(|t| t.version.0 == version.major))
        .or_else(|| pycache_opcode::tables().first().copied());
    match table {
        Some(table) => table.pretty_flags(flags),
        None => format!("{flags:#x}"),
    }
}

/// One code object, resolved.
#[derive(Debug, Clone)]
pub struct CodeView<'a> {
    pub code: &'a Code,
    pub version: PyVersion,
    pub name: String,
    /// co_qualname from 3.11; before that, derived from the nesting (see
    /// [`crate::code_objects`]).
    pub qualname: String,
    pub filename: String,
    pub firstlineno: i32,
    pub argcount: i32,
    pub posonlyargcount: i32,
    pub kwonlyargcount: i32,
    pub nlocals: i32,
    pub stacksize: i32,
    pub flags: u32,
    pub bytecode: &'a [u8],
    pub consts: Vec<&'a Object>,
    pub names: Vec<String>,
    pub varnames: Vec<String>,
    pub cellvars: Vec<String>,
    pub freevars: Vec<String>,
    /// 3.11+: every local, cell and free variable with its kind byte.
    pub localsplus: Vec<(String, u8)>,
    pub linetable: &'a [u8],
    pub exceptiontable: &'a [u8],
}

fn text(refs: &RefTable<'_>, object: &Object) -> Option<String> {
    match &refs.resolve(object).ok()?.value {
        Value::Str(s) => Some(s.to_string_lossy().into_owned()),
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

fn bytes<'a>(refs: &RefTable<'a>, object: &'a Object, what: &'static str) -> Result<&'a [u8], DisError> {
    match &refs.resolve(object)?.value {
        Value::Bytes(b) => Ok(b),
        // Python 2 code strings are `s`, but an interned `t` is possible.
        Value::Str(s) => Ok(&s.data),
        Value::None => Ok(&[]),
        other => Err(DisError::FieldType { field: what, found: other.summary() }),
    }
}

fn sequence<'a>(refs: &RefTable<'a>, object: &'a Object, what: &'static str) -> Result<Vec<&'a Object>, DisError> {
    let resolved = refs.resolve(object)?;
    match resolved.as_sequence() {
        Some(items) => items.iter().map(|item| refs.resolve(item).map_err(DisError::from)).collect(),
        None if matches!(resolved.value, Value::None) => Ok(Vec::new()),
        None => Err(DisError::FieldType { field: what, found: resolved.value.summary() }),
    }
}

fn names(refs: &RefTable<'_>, object: &Object, what: &'static str) -> Result<Vec<String>, DisError> {
    sequence(refs, object, what)?
        .into_iter()
        .map(|item| text(refs, item).ok_or_else(|| DisError::FieldType { field: what, found: item.value.summary() }))
        .collect()
}

impl<'a> CodeView<'a> {
    pub fn new(
        code: &'a Code,
        refs: &RefTable<'a>,
        version: PyVersion,
        qualname: Option<String>,
    ) -> Result<Self, DisError> {
        let name = text(refs, code.name()).unwrap_or_default();
        let own_qualname = code.qualname().and_then(|q| text(refs, q));
        let filename = text(refs, code.filename()).unwrap_or_default();
        let (mut varnames, mut cellvars, mut freevars, mut localsplus) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        match code {
            Code::Py27(c) => {
                varnames = names(refs, &c.varnames, "co_varnames")?;
                cellvars = names(refs, &c.cellvars, "co_cellvars")?;
                freevars = names(refs, &c.freevars, "co_freevars")?;
            }
            Code::Py30(c) => {
                varnames = names(refs, &c.varnames, "co_varnames")?;
                cellvars = names(refs, &c.cellvars, "co_cellvars")?;
                freevars = names(refs, &c.freevars, "co_freevars")?;
            }
            Code::Py38(c) => {
                varnames = names(refs, &c.varnames, "co_varnames")?;
                cellvars = names(refs, &c.cellvars, "co_cellvars")?;
                freevars = names(refs, &c.freevars, "co_freevars")?;
            }
            Code::Py311(c) => {
                let all = names(refs, &c.localsplusnames, "co_localsplusnames")?;
                let kinds = bytes(refs, &c.localspluskinds, "co_localspluskinds")?;
                for (i, name) in all.into_iter().enumerate() {
                    let kind = kinds.get(i).copied().unwrap_or(0);
                    if kind & CO_FAST_LOCAL != 0 {
                        varnames.push(name.clone());
                    }
                    if kind & CO_FAST_CELL != 0 {
                        cellvars.push(name.clone());
                    }
                    if kind & CO_FAST_FREE != 0 {
                        freevars.push(name.clone());
                    }
                    localsplus.push((name, kind));
                }
            }
        }
        let nlocals = code.nlocals().unwrap_or(varnames.len() as i32);
        Ok(Self {
            code,
            version,
            qualname: own_qualname.or(qualname).unwrap_or_else(|| name.clone()),
            name,
            filename,
            firstlineno: code.firstlineno(),
            argcount: code.argcount(),
            posonlyargcount: code.posonlyargcount(),
            kwonlyargcount: code.kwonlyargcount(),
            nlocals,
            stacksize: code.stacksize(),
            flags: code.flags() as u32,
            bytecode: bytes(refs, code.code(), "co_code")?,
            consts: sequence(refs, code.consts(), "co_consts")?,
            names: names(refs, code.names(), "co_names")?,
            varnames,
            cellvars,
            freevars,
            localsplus,
            linetable: bytes(refs, code.linetable(), "co_linetable")?,
            exceptiontable: match code.exceptiontable() {
                Some(table) => bytes(refs, table, "co_exceptiontable")?,
                None => &[],
            },
        })
    }

    /// The name a local or free-variable argument stands for: 3.11+ index
    /// the locals-plus names; before, `haslocal` indexes co_varnames and
    /// `hasfree` co_cellvars + co_freevars.
    pub fn local_name(&self, index: i64) -> Option<&str> {
        let index = usize::try_from(index).ok()?;
        if self.version >= PyVersion::new(3, 11) {
            self.localsplus.get(index).map(|(name, _)| name.as_str())
        } else {
            self.varnames.get(index).map(String::as_str)
        }
    }

    pub fn free_name(&self, index: i64) -> Option<&str> {
        let index = usize::try_from(index).ok()?;
        if self.version >= PyVersion::new(3, 11) {
            return self.localsplus.get(index).map(|(name, _)| name.as_str());
        }
        match index.checked_sub(self.cellvars.len()) {
            None => self.cellvars.get(index).map(String::as_str),
            Some(free) => self.freevars.get(free).map(String::as_str),
        }
    }

    /// Code objects among the constants, in order.
    pub fn nested(&self) -> impl Iterator<Item = &'a Code> + '_ {
        self.consts.iter().filter_map(|c| c.as_code())
    }

    /// A function body rather than a module or class body: its children's
    /// qualnames go through `<locals>`.
    pub fn is_function(&self) -> bool {
        self.flags & 2 != 0
    }
}

#[cfg(test)]
mod tests {
    use pycache_marshal::RefTable;

    use super::*;
    use crate::testutil::code;

    #[test]
    fn flags_print_like_dis() {
        let v = PyVersion::new;
        assert_eq!(pretty_flags(v(3, 12), 0), "0x0");
        assert_eq!(pretty_flags(v(3, 12), 3), "OPTIMIZED, NEWLOCALS");
        assert_eq!(pretty_flags(v(3, 12), 0x4000_0020), "GENERATOR, 0x40000000");
        // 3.14 names two new bits.
        assert_eq!(pretty_flags(v(3, 13), 0x0400_0003), "OPTIMIZED, NEWLOCALS, 0x4000000");
        assert_eq!(pretty_flags(v(3, 14), 0x0400_0003), "OPTIMIZED, NEWLOCALS, HAS_DOCSTRING");
        assert_eq!(pretty_flags(v(3, 15), 0x0800_0000), "METHOD");
        // No table: the oldest of the major version.
        assert_eq!(pretty_flags(v(3, 4), 0x21), "OPTIMIZED, GENERATOR");
    }

    #[test]
    fn variables_by_version() {
        let old = code(PyVersion::new(3, 7), &[], vec![], &[], &["a", "b"], &[], &[]);
        let refs = RefTable::new(&old).unwrap();
        let view = CodeView::new(old.as_code().unwrap(), &refs, PyVersion::new(3, 7), None).unwrap();
        assert_eq!(view.local_name(1), Some("b"));
        // Before 3.11 free-variable arguments index cells, then free variables.
        assert_eq!(view.free_name(0), Some("cell"));
        assert_eq!(view.free_name(1), None);
        assert_eq!(view.local_name(-1), None);
        let new = code(PyVersion::new(3, 12), &[], vec![], &[], &["a", "b"], &[], &[]);
        let refs = RefTable::new(&new).unwrap();
        let view = CodeView::new(new.as_code().unwrap(), &refs, PyVersion::new(3, 12), None).unwrap();
        assert_eq!(view.varnames, ["a", "b"]);
        assert_eq!(view.free_name(1), Some("b"));
        assert_eq!(view.nlocals, 2);
    }
}
