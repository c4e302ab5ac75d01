use std::collections::HashSet;

use crate::code::Code;
use crate::error::RefError;
use crate::object::{Object, StrKind, Value};

/// The objects that back-references in a tree point at, in the order a
/// reader registers them, so that `r` (and Python 2's `R`) can be resolved
/// without copying.
///
/// Registration follows the reader: every object with FLAG_REF except the
/// singletons and references takes the next index when its type byte is
/// met, before its items; Python 2's `t` strings fill a table of their own.
#[derive(Debug, Clone)]
pub struct RefTable<'a> {
    refs: Vec<&'a Object>,
    interned: Vec<&'a Object>,
}

enum Visit<'a> {
    Enter(&'a Object),
    Leave(usize),
}

impl<'a> RefTable<'a> {
    /// Collects the table of a tree and checks each reference the way the
    /// reader does: it must point at an object met before it, and not at a
    /// frozenset, frozendict, code object or slice that contains it. Trees
    /// from the reader always pass; trees built by hand may not.
    pub fn new(root: &'a Object) -> Result<Self, RefError> {
        let mut refs: Vec<&'a Object> = Vec::new();
        let mut usable: Vec<bool> = Vec::new();
        let mut interned: Vec<&'a Object> = Vec::new();
        let mut stack = vec![Visit::Enter(root)];
        while let Some(visit) = stack.pop() {
            let object = match visit {
                Visit::Leave(index) => {
                    if let Some(slot) = usable.get_mut(index) {
                        *slot = true;
                    }
                    continue;
                }
                Visit::Enter(object) => object,
            };
            match &object.value {
                Value::Ref(index) => match usable.get(*index as usize) {
                    Some(true) => {}
                    Some(false) => return Err(RefError::RefToIncomplete { index: *index }),
                    None => return Err(RefError::InvalidRef { index: *index, table_len: refs.len() }),
                },
                Value::StringRef(index) if *index as usize >= interned.len() => {
                    return Err(RefError::InvalidStringRef { index: *index, table_len: interned.len() });
                }
                Value::Str(text) if text.kind == StrKind::Interned => interned.push(object),
                _ => {}
            }
            if object.flag_ref && object.value.registers_ref() {
                refs.push(object);
                let self_ref_ok = object.value.allows_self_ref();
                usable.push(self_ref_ok);
                if !self_ref_ok {
                    stack.push(Visit::Leave(refs.len() - 1));
                }
            }
            stack.extend(object.children().into_iter().rev().map(Visit::Enter));
        }
        Ok(Self { refs, interned })
    }

    /// How many flagged objects the tree registers.
    pub fn len(&self) -> usize {
        self.refs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }

    /// The object that `r index` points at.
    pub fn get(&self, index: u32) -> Option<&'a Object> {
        self.refs.get(index as usize).copied()
    }

    /// The `t` string that Python 2's `R index` points at.
    pub fn interned(&self, index: u32) -> Option<&'a Object> {
        self.interned.get(index as usize).copied()
    }

    /// The object itself, or the one it refers to if it is a reference.
    /// A reference never points at another reference, so one step suffices.
    pub fn resolve(&self, object: &'a Object) -> Result<&'a Object, RefError> {
        match object.value {
            Value::Ref(index) => self.get(index).ok_or(RefError::InvalidRef { index, table_len: self.refs.len() }),
            Value::StringRef(index) => {
                self.interned(index).ok_or(RefError::InvalidStringRef { index, table_len: self.interned.len() })
            }
            _ => Ok(object),
        }
    }

    /// [`Object::children`], each resolved.
    pub fn resolved_children(&self, object: &'a Object) -> Result<Vec<&'a Object>, RefError> {
        object.children().into_iter().map(|child| self.resolve(child)).collect()
    }

    /// Every code object reachable from `root` through resolved references,
    /// each once, in the order first met (the module first, then nested
    /// functions and classes depth first). Safe on cyclic trees.
    pub fn code_objects(&self, root: &'a Object) -> Result<Vec<&'a Code>, RefError> {
        let mut found = Vec::new();
        let mut seen: HashSet<*const Object> = HashSet::new();
        let mut stack = vec![self.resolve(root)?];
        while let Some(object) = stack.pop() {
            let children = object.children();
            if children.is_empty() || !seen.insert(object) {
                continue;
            }
            if let Value::Code(code) = &object.value {
                found.push(&**code);
            }
            for child in children.into_iter().rev() {
                stack.push(self.resolve(child)?);
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use pycache_pyc::PyVersion;

    use super::*;
    use crate::format::Format;
    use crate::reader::read;

    fn read_version(data: &[u8], major: u8, minor: u8) -> Object {
        read(data, Format::for_version(PyVersion::new(major, minor)).unwrap()).unwrap()
    }

    #[test]
    fn references_resolve_to_the_flagged_objects_in_order() {
        // [flagged 'a', None flagged (not registered), flagged 1, r 1, r 0]
        let root = read_version(
            b"[\x05\x00\x00\x00\xfa\x01a\xce\xe9\x01\x00\x00\x00r\x01\x00\x00\x00r\x00\x00\x00\x00",
            3,
            12,
        );
        let table = RefTable::new(&root).unwrap();
        assert_eq!(table.len(), 2);
        let items = root.as_sequence().unwrap();
        assert_eq!(table.resolve(&items[3]).unwrap().value, Value::Int(1));
        assert!(std::ptr::eq(table.resolve(&items[4]).unwrap(), &items[0]));
        assert!(std::ptr::eq(table.resolve(&items[1]).unwrap(), &items[1]));
        assert_eq!(table.resolved_children(&root).unwrap()[3].value, Value::Int(1));
    }

    #[test]
    fn containers_register_before_their_items() {
        // flagged tuple (index 0) holding flagged 'x' (index 1), then r 1.
        let root = read_version(b")\x02\xa9\x01\xfa\x01xr\x01\x00\x00\x00", 3, 12);
        let table = RefTable::new(&root).unwrap();
        let Value::Str(text) = &table.get(1).unwrap().value else { panic!() };
        assert_eq!(text.data, b"x");
    }

    #[test]
    fn python2_string_refs_use_the_interned_table() {
        let root = read_version(b"(\x03\x00\x00\x00t\x01\x00\x00\x00as\x01\x00\x00\x00bR\x00\x00\x00\x00", 2, 7);
        let table = RefTable::new(&root).unwrap();
        let items = root.as_sequence().unwrap();
        assert!(std::ptr::eq(table.resolve(&items[2]).unwrap(), &items[0]));
        assert!(table.is_empty());
    }

    #[test]
    fn hand_built_trees_are_checked_like_streams() {
        let forward = Object::list(vec![Object::reference(0), Object::none().flagged()]);
        assert_eq!(RefTable::new(&forward).unwrap_err(), RefError::InvalidRef { index: 0, table_len: 0 });
        let inside = Object::frozenset(vec![Object::reference(0)]).flagged();
        assert_eq!(RefTable::new(&inside).unwrap_err(), RefError::RefToIncomplete { index: 0 });
        let cyclic = Object::list(vec![Object::reference(0)]).flagged();
        assert!(RefTable::new(&cyclic).is_ok());
        let after = Object::list(vec![Object::frozenset(vec![]).flagged(), Object::reference(0)]);
        assert!(RefTable::new(&after).is_ok());
        let table = RefTable::new(&after).unwrap();
        assert!(table.resolve(&Object::reference(7)).is_err());
    }

    #[test]
    fn code_objects_are_found_once_even_in_cycles() {
        let inner = Object::code(crate::code::Code::from_parts(
            crate::code::CodeLayout::Py311,
            vec![0; 6],
            vec![Object::none(); 10],
        ))
        .flagged();
        let consts = Object::small_tuple(vec![inner, Object::reference(0), Object::reference(1)]).flagged();
        let mut objects = vec![Object::none(); 10];
        objects[1] = consts;
        let module = Object::code(crate::code::Code::from_parts(crate::code::CodeLayout::Py311, vec![0; 6], objects));
        let table = RefTable::new(&module).unwrap();
        // The consts tuple is index 0 and contains itself; the inner code is 1.
        let codes = table.code_objects(&module).unwrap();
        assert_eq!(codes.len(), 2);
        assert!(std::ptr::eq(codes[0], module.as_code().unwrap()));
    }
}
