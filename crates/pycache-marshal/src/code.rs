use crate::object::Object;

/// The field layouts code objects have had in marshal streams. Ints are
/// written raw (4 bytes, little-endian); the other fields are objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeLayout {
    /// 2.7: argcount, nlocals, stacksize, flags, code, consts, names,
    /// varnames, freevars, cellvars, filename, name, firstlineno, lnotab.
    Py27,
    /// 3.0 to 3.7: 2.7's with kwonlyargcount after argcount.
    Py30,
    /// 3.8 to 3.10: 3.7's with posonlyargcount after argcount. 3.10 stores
    /// co_linetable in the slot of co_lnotab.
    Py38,
    /// 3.11 and later: no nlocals; localsplusnames and localspluskinds
    /// replace varnames, freevars and cellvars; qualname after name; the
    /// exception table last.
    Py311,
}

/// One field of a layout, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Int(&'static str),
    Object(&'static str),
}

/// A field's value, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRef<'a> {
    Int(i32),
    Object(&'a Object),
}

use Field::{Int as I, Object as O};

const PY27: &[Field] = &[
    I("co_argcount"),
    I("co_nlocals"),
    I("co_stacksize"),
    I("co_flags"),
    O("co_code"),
    O("co_consts"),
    O("co_names"),
    O("co_varnames"),
    O("co_freevars"),
    O("co_cellvars"),
    O("co_filename"),
    O("co_name"),
    I("co_firstlineno"),
    O("co_lnotab"),
];

const PY30: &[Field] = &[
    I("co_argcount"),
    I("co_kwonlyargcount"),
    I("co_nlocals"),
    I("co_stacksize"),
    I("co_flags"),
    O("co_code"),
    O("co_consts"),
    O("co_names"),
    O("co_varnames"),
    O("co_freevars"),
    O("co_cellvars"),
    O("co_filename"),
    O("co_name"),
    I("co_firstlineno"),
    O("co_lnotab"),
];

const PY38: &[Field] = &[
    I("co_argcount"),
    I("co_posonlyargcount"),
    I("co_kwonlyargcount"),
    I("co_nlocals"),
    I("co_stacksize"),
    I("co_flags"),
    O("co_code"),
    O("co_consts"),
    O("co_names"),
    O("co_varnames"),
    O("co_freevars"),
    O("co_cellvars"),
    O("co_filename"),
    O("co_name"),
    I("co_firstlineno"),
    O("co_linetable"),
];

const PY311: &[Field] = &[
    I("co_argcount"),
    I("co_posonlyargcount"),
    I("co_kwonlyargcount"),
    I("co_stacksize"),
    I("co_flags"),
    O("co_code"),
    O("co_consts"),
    O("co_names"),
    O("co_localsplusnames"),
    O("co_localspluskinds"),
    O("co_filename"),
    O("co_name"),
    O("co_qualname"),
    I("co_firstlineno"),
    O("co_linetable"),
    O("co_exceptiontable"),
];

impl CodeLayout {
    /// The fields in the order they are written.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Self::Py27 => PY27,
            Self::Py30 => PY30,
            Self::Py38 => PY38,
            Self::Py311 => PY311,
        }
    }
}

/// A 2.7 code object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code27 {
    pub argcount: i32,
    pub nlocals: i32,
    pub stacksize: i32,
    pub flags: i32,
    pub code: Object,
    pub consts: Object,
    pub names: Object,
    pub varnames: Object,
    pub freevars: Object,
    pub cellvars: Object,
    pub filename: Object,
    pub name: Object,
    pub firstlineno: i32,
    pub lnotab: Object,
}

/// A 3.0 to 3.7 code object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code30 {
    pub argcount: i32,
    pub kwonlyargcount: i32,
    pub nlocals: i32,
    pub stacksize: i32,
    pub flags: i32,
    pub code: Object,
    pub consts: Object,
    pub names: Object,
    pub varnames: Object,
    pub freevars: Object,
    pub cellvars: Object,
    pub filename: Object,
    pub name: Object,
    pub firstlineno: i32,
    pub lnotab: Object,
}

/// A 3.8 to 3.10 code object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code38 {
    pub argcount: i32,
    pub posonlyargcount: i32,
    pub kwonlyargcount: i32,
    pub nlocals: i32,
    pub stacksize: i32,
    pub flags: i32,
    pub code: Object,
    pub consts: Object,
    pub names: Object,
    pub varnames: Object,
    pub freevars: Object,
    pub cellvars: Object,
    pub filename: Object,
    pub name: Object,
    pub firstlineno: i32,
    /// co_lnotab in 3.8 and 3.9, co_linetable (PEP 626) in 3.10.
    pub linetable: Object,
}

/// A code object of 3.11 and later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code311 {
    pub argcount: i32,
    pub posonlyargcount: i32,
    pub kwonlyargcount: i32,
    pub stacksize: i32,
    pub flags: i32,
    pub code: Object,
    pub consts: Object,
    pub names: Object,
    pub localsplusnames: Object,
    /// A bytes object, one kind byte per name (local, cell, free, ...).
    pub localspluskinds: Object,
    pub filename: Object,
    pub name: Object,
    pub qualname: Object,
    pub firstlineno: i32,
    pub linetable: Object,
    pub exceptiontable: Object,
}

/// A code object in one of the layouts. Build the variant of the target
/// version; the reader produces the variant of the format it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    Py27(Code27),
    Py30(Code30),
    Py38(Code38),
    Py311(Code311),
}

impl From<Code27> for Code {
    fn from(code: Code27) -> Self {
        Self::Py27(code)
    }
}

impl From<Code30> for Code {
    fn from(code: Code30) -> Self {
        Self::Py30(code)
    }
}

impl From<Code38> for Code {
    fn from(code: Code38) -> Self {
        Self::Py38(code)
    }
}

impl From<Code311> for Code {
    fn from(code: Code311) -> Self {
        Self::Py311(code)
    }
}

impl Code {
    pub fn layout(&self) -> CodeLayout {
        match self {
            Self::Py27(_) => CodeLayout::Py27,
            Self::Py30(_) => CodeLayout::Py30,
            Self::Py38(_) => CodeLayout::Py38,
            Self::Py311(_) => CodeLayout::Py311,
        }
    }

    /// Every field with its value, in stream order (names from
    /// [`CodeLayout::fields`]).
    pub fn fields(&self) -> Vec<(&'static str, FieldRef<'_>)> {
        use FieldRef::{Int, Object as Obj};
        let values: Vec<FieldRef<'_>> = match self {
            Self::Py27(c) => vec![
                Int(c.argcount),
                Int(c.nlocals),
                Int(c.stacksize),
                Int(c.flags),
                Obj(&c.code),
                Obj(&c.consts),
                Obj(&c.names),
                Obj(&c.varnames),
                Obj(&c.freevars),
                Obj(&c.cellvars),
                Obj(&c.filename),
                Obj(&c.name),
                Int(c.firstlineno),
                Obj(&c.lnotab),
            ],
            Self::Py30(c) => vec![
                Int(c.argcount),
                Int(c.kwonlyargcount),
                Int(c.nlocals),
                Int(c.stacksize),
                Int(c.flags),
                Obj(&c.code),
                Obj(&c.consts),
                Obj(&c.names),
                Obj(&c.varnames),
                Obj(&c.freevars),
                Obj(&c.cellvars),
                Obj(&c.filename),
                Obj(&c.name),
                Int(c.firstlineno),
                Obj(&c.lnotab),
            ],
            Self::Py38(c) => vec![
                Int(c.argcount),
                Int(c.posonlyargcount),
                Int(c.kwonlyargcount),
                Int(c.nlocals),
                Int(c.stacksize),
                Int(c.flags),
                Obj(&c.code),
                Obj(&c.consts),
                Obj(&c.names),
                Obj(&c.varnames),
                Obj(&c.freevars),
                Obj(&c.cellvars),
                Obj(&c.filename),
                Obj(&c.name),
                Int(c.firstlineno),
                Obj(&c.linetable),
            ],
            Self::Py311(c) => vec![
                Int(c.argcount),
                Int(c.posonlyargcount),
                Int(c.kwonlyargcount),
                Int(c.stacksize),
                Int(c.flags),
                Obj(&c.code),
                Obj(&c.consts),
                Obj(&c.names),
                Obj(&c.localsplusnames),
                Obj(&c.localspluskinds),
                Obj(&c.filename),
                Obj(&c.name),
                Obj(&c.qualname),
                Int(c.firstlineno),
                Obj(&c.linetable),
                Obj(&c.exceptiontable),
            ],
        };
        self.layout()
            .fields()
            .iter()
            .map(|field| match field {
                Field::Int(name) | Field::Object(name) => *name,
            })
            .zip(values)
            .collect()
    }

    /// The object fields alone, in stream order.
    pub fn objects(&self) -> Vec<(&'static str, &Object)> {
        self.fields()
            .into_iter()
            .filter_map(|(name, value)| match value {
                FieldRef::Object(object) => Some((name, object)),
                FieldRef::Int(_) => None,
            })
            .collect()
    }

    /// Assembles a code object from its ints and objects in stream order.
    /// The reader calls this with exactly the counts of the layout; missing
    /// values (impossible there) would become 0 and None rather than a panic.
    pub(crate) fn from_parts(layout: CodeLayout, ints: Vec<i32>, objects: Vec<Object>) -> Self {
        let mut ints = ints.into_iter();
        let mut objects = objects.into_iter();
        let mut i = || ints.next().unwrap_or(0);
        let mut o = || objects.next().unwrap_or_else(Object::none);
        match layout {
            CodeLayout::Py27 => Self::Py27(Code27 {
                argcount: i(),
                nlocals: i(),
                stacksize: i(),
                flags: i(),
                code: o(),
                consts: o(),
                names: o(),
                varnames: o(),
                freevars: o(),
                cellvars: o(),
                filename: o(),
                name: o(),
                firstlineno: i(),
                lnotab: o(),
            }),
            CodeLayout::Py30 => Self::Py30(Code30 {
                argcount: i(),
                kwonlyargcount: i(),
                nlocals: i(),
                stacksize: i(),
                flags: i(),
                code: o(),
                consts: o(),
                names: o(),
                varnames: o(),
                freevars: o(),
                cellvars: o(),
                filename: o(),
                name: o(),
                firstlineno: i(),
                lnotab: o(),
            }),
            CodeLayout::Py38 => Self::Py38(Code38 {
                argcount: i(),
                posonlyargcount: i(),
                kwonlyargcount: i(),
                nlocals: i(),
                stacksize: i(),
                flags: i(),
                code: o(),
                consts: o(),
                names: o(),
                varnames: o(),
                freevars: o(),
                cellvars: o(),
                filename: o(),
                name: o(),
                firstlineno: i(),
                linetable: o(),
            }),
            CodeLayout::Py311 => Self::Py311(Code311 {
                argcount: i(),
                posonlyargcount: i(),
                kwonlyargcount: i(),
                stacksize: i(),
                flags: i(),
                code: o(),
                consts: o(),
                names: o(),
                localsplusnames: o(),
                localspluskinds: o(),
                filename: o(),
                name: o(),
                qualname: o(),
                firstlineno: i(),
                linetable: o(),
                exceptiontable: o(),
            }),
        }
    }

    fn int_field(&self, wanted: &str) -> i32 {
        self.fields()
            .into_iter()
            .find_map(|(name, value)| match value {
                FieldRef::Int(v) if name == wanted => Some(v),
                _ => None,
            })
            .unwrap_or(0)
    }

    fn object_field(&self, wanted: &str) -> Option<&Object> {
        self.objects().into_iter().find_map(|(name, object)| (name == wanted).then_some(object))
    }

    pub fn argcount(&self) -> i32 {
        self.int_field("co_argcount")
    }

    /// 0 before 3.8, which had no positional-only parameters.
    pub fn posonlyargcount(&self) -> i32 {
        self.int_field("co_posonlyargcount")
    }

    /// 0 in 2.7.
    pub fn kwonlyargcount(&self) -> i32 {
        self.int_field("co_kwonlyargcount")
    }

    /// Not stored from 3.11 on (the interpreter derives it).
    pub fn nlocals(&self) -> Option<i32> {
        match self {
            Self::Py27(c) => Some(c.nlocals),
            Self::Py30(c) => Some(c.nlocals),
            Self::Py38(c) => Some(c.nlocals),
            Self::Py311(_) => None,
        }
    }

    pub fn stacksize(&self) -> i32 {
        self.int_field("co_stacksize")
    }

    pub fn flags(&self) -> i32 {
        self.int_field("co_flags")
    }

    pub fn firstlineno(&self) -> i32 {
        self.int_field("co_firstlineno")
    }

    /// co_code: the bytecode (a bytes object, or a reference to one).
    pub fn code(&self) -> &Object {
        match self {
            Self::Py27(c) => &c.code,
            Self::Py30(c) => &c.code,
            Self::Py38(c) => &c.code,
            Self::Py311(c) => &c.code,
        }
    }

    pub fn consts(&self) -> &Object {
        match self {
            Self::Py27(c) => &c.consts,
            Self::Py30(c) => &c.consts,
            Self::Py38(c) => &c.consts,
            Self::Py311(c) => &c.consts,
        }
    }

    pub fn names(&self) -> &Object {
        match self {
            Self::Py27(c) => &c.names,
            Self::Py30(c) => &c.names,
            Self::Py38(c) => &c.names,
            Self::Py311(c) => &c.names,
        }
    }

    pub fn filename(&self) -> &Object {
        match self {
            Self::Py27(c) => &c.filename,
            Self::Py30(c) => &c.filename,
            Self::Py38(c) => &c.filename,
            Self::Py311(c) => &c.filename,
        }
    }

    pub fn name(&self) -> &Object {
        match self {
            Self::Py27(c) => &c.name,
            Self::Py30(c) => &c.name,
            Self::Py38(c) => &c.name,
            Self::Py311(c) => &c.name,
        }
    }

    /// 3.11+ only.
    pub fn qualname(&self) -> Option<&Object> {
        self.object_field("co_qualname")
    }

    /// co_lnotab up to 3.9, co_linetable from 3.10 (same slot until 3.11).
    pub fn linetable(&self) -> &Object {
        match self {
            Self::Py27(c) => &c.lnotab,
            Self::Py30(c) => &c.lnotab,
            Self::Py38(c) => &c.linetable,
            Self::Py311(c) => &c.linetable,
        }
    }

    /// 3.11+ only.
    pub fn exceptiontable(&self) -> Option<&Object> {
        self.object_field("co_exceptiontable")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout_counts(layout: CodeLayout) -> (usize, usize) {
        let ints = layout.fields().iter().filter(|f| matches!(f, Field::Int(_))).count();
        (ints, layout.fields().len() - ints)
    }

    #[test]
    fn layouts_have_the_documented_shapes() {
        assert_eq!(layout_counts(CodeLayout::Py27), (5, 9));
        assert_eq!(layout_counts(CodeLayout::Py30), (6, 9));
        assert_eq!(layout_counts(CodeLayout::Py38), (7, 9));
        assert_eq!(layout_counts(CodeLayout::Py311), (6, 10));
        // firstlineno sits between the name and the line table in every layout.
        for layout in [CodeLayout::Py27, CodeLayout::Py30, CodeLayout::Py38, CodeLayout::Py311] {
            let names: Vec<_> = layout
                .fields()
                .iter()
                .map(|f| match f {
                    Field::Int(n) | Field::Object(n) => *n,
                })
                .collect();
            let at = names.iter().position(|n| *n == "co_firstlineno").unwrap();
            assert!(names[at - 1] == "co_name" || names[at - 1] == "co_qualname", "{layout:?}");
        }
    }

    #[test]
    fn parts_fill_the_fields_in_stream_order() {
        for layout in [CodeLayout::Py27, CodeLayout::Py30, CodeLayout::Py38, CodeLayout::Py311] {
            let (ints, objects) = layout_counts(layout);
            let int_values: Vec<i32> = (1..=ints as i32).collect();
            let object_values: Vec<Object> = (0..objects).map(|i| Object::bytes(vec![i as u8])).collect();
            let code = Code::from_parts(layout, int_values.clone(), object_values.clone());
            assert_eq!(code.layout(), layout);
            let fields = code.fields();
            assert_eq!(fields.len(), layout.fields().len());
            let got_ints: Vec<i32> = fields
                .iter()
                .filter_map(|(_, f)| match f {
                    FieldRef::Int(v) => Some(*v),
                    FieldRef::Object(_) => None,
                })
                .collect();
            assert_eq!(got_ints, int_values, "{layout:?}");
            let got_objects: Vec<Object> = code.objects().into_iter().map(|(_, o)| o.clone()).collect();
            assert_eq!(got_objects, object_values, "{layout:?}");
            assert_eq!(code.argcount(), 1);
            assert_eq!(code.code(), &Object::bytes(vec![0]));
        }
    }

    #[test]
    fn accessors_know_which_layouts_lack_a_field() {
        let code = Code::from_parts(CodeLayout::Py311, vec![1, 2, 3, 4, 5, 6], vec![Object::none(); 10]);
        assert_eq!(code.posonlyargcount(), 2);
        assert_eq!(code.nlocals(), None);
        assert!(code.qualname().is_some() && code.exceptiontable().is_some());
        assert_eq!(code.firstlineno(), 6);
        let old = Code::from_parts(CodeLayout::Py27, vec![1, 2, 3, 4, 5], vec![Object::none(); 9]);
        assert_eq!(old.kwonlyargcount(), 0);
        assert_eq!(old.nlocals(), Some(2));
        assert_eq!(old.firstlineno(), 5);
        assert!(old.qualname().is_none());
    }
}
