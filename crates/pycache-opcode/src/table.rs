use pycache_pyc::PyVersion;

/// What the `opcode` module's lists say about an opcode, as bits.
pub mod flags {
    pub const NONE: u32 = 0;
    /// Takes an argument: `op >= HAVE_ARGUMENT`, or in `opcode.hasarg` (3.12+).
    pub const HAS_ARG: u32 = 1 << 0;
    /// `hasconst`: the argument indexes co_consts.
    pub const CONST: u32 = 1 << 1;
    /// `hasname`: the argument indexes co_names (shifted for some, see
    /// [`crate::ArgKind`]).
    pub const NAME: u32 = 1 << 2;
    /// `hasjrel`: a jump relative to the next instruction.
    pub const JREL: u32 = 1 << 3;
    /// `hasjabs`: a jump to an absolute position.
    pub const JABS: u32 = 1 << 4;
    /// `hasjump` (3.13+): any jump.
    pub const JUMP: u32 = 1 << 5;
    /// `haslocal`: the argument indexes the fast locals.
    pub const LOCAL: u32 = 1 << 6;
    /// `hasfree`: the argument indexes cells and free variables.
    pub const FREE: u32 = 1 << 7;
    /// `hascompare`: the argument selects a `cmp_op`.
    pub const COMPARE: u32 = 1 << 8;
    /// `hasexc` (3.12+): pseudo-ops that set up an exception handler.
    pub const EXC: u32 = 1 << 9;
    /// `hasnargs` (3.6 to 3.11).
    pub const NARGS: u32 = 1 << 10;
    /// A relative jump whose argument counts backwards (`dis._is_backward_jump`).
    pub const BACKWARD: u32 = 1 << 11;
    /// A pseudo-op of the compiler (3.12+), never in a code object.
    pub const PSEUDO: u32 = 1 << 12;
    /// An instrumented form (3.12+), only in live code, never in a cache.
    pub const INSTRUMENTED: u32 = 1 << 13;
}

/// One opcode of a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opcode {
    pub name: &'static str,
    /// Below 256 for real instructions; pseudo-ops (3.12+) are numbered above.
    pub number: u16,
    /// Bits from [`flags`].
    pub flags: u32,
    /// Inline cache entries (code units) after the instruction (3.11+).
    pub cache_entries: u8,
}

/// A specialised instruction (3.11+): only in live code, never in a cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Specialized {
    pub name: &'static str,
    pub number: u16,
    /// The instruction it specialises (`dis.deoptmap`).
    pub base: &'static str,
}

/// One named field of an instruction's inline cache (3.11+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheField {
    pub name: &'static str,
    /// In code units.
    pub size: u8,
}

/// The opcodes of one CPython feature version, and the side tables its
/// `dis` uses to explain arguments. Generated from the interpreter itself.
#[derive(Debug)]
pub struct Table {
    pub version: (u8, u8),
    /// The interpreter the table was generated from, such as `3.12.1`.
    pub generated_from: &'static str,
    pub have_argument: u8,
    pub extended_arg: u8,
    /// Every opcode of `opcode.opmap`, pseudo-ops included, by number.
    pub opcodes: &'static [Opcode],
    pub specialized: &'static [Specialized],
    pub cmp_op: &'static [&'static str],
    /// `opcode._nb_ops` (3.11+): BINARY_OP's argument to (name, symbol).
    pub nb_ops: &'static [(&'static str, &'static str)],
    /// CALL_INTRINSIC_1's argument to its name (3.12+).
    pub intrinsic_1: &'static [&'static str],
    /// CALL_INTRINSIC_2's argument to its name (3.12+).
    pub intrinsic_2: &'static [&'static str],
    /// LOAD_COMMON_CONSTANT's argument to what dis prints (3.14+).
    pub common_constants: &'static [&'static str],
    /// LOAD_SPECIAL's argument to a method name (3.14+).
    pub special_method_names: &'static [&'static str],
    /// What `dis` calls the flag bits of MAKE_FUNCTION (3.8 to 3.12) and
    /// SET_FUNCTION_ATTRIBUTE (3.13+), lowest bit first.
    pub function_flags: &'static [&'static str],
    /// The co_flags bits `dis.pretty_flags` names (`dis.COMPILER_FLAG_NAMES`;
    /// 2.7's `inspect.CO_*`), lowest bit first.
    pub code_flags: &'static [(u32, &'static str)],
    /// `opcode._cache_format`: the named fields of each cache (3.11+).
    pub cache_format: &'static [(&'static str, &'static [CacheField])],
    /// `opcode._pseudo_ops` (3.12 only exposes it): what each pseudo-op may become.
    pub pseudo_targets: &'static [(&'static str, &'static [&'static str])],
}

/// How the argument of an instruction is explained, following that
/// version's `dis`: which table it indexes, and how it is packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// No explanation: argval is the argument itself.
    Plain,
    /// co_consts[arg].
    Const,
    /// co_names[arg].
    Name,
    /// co_names[arg >> shift]; when the low bit is set, `dis` adds `null`
    /// to the text (LOAD_GLOBAL 3.11+, LOAD_ATTR 3.12+, LOAD_SUPER_ATTR).
    ShiftedName {
        shift: u8,
        null: NullMark,
    },
    /// A jump; the target comes from [`Table::jump_target`]. `shown` is
    /// false where `dis` gives no text (absolute jumps before 3.10).
    Jump {
        shown: bool,
    },
    /// A fast local: co_varnames[arg] before 3.11, the combined
    /// locals-plus names from 3.11.
    Local,
    /// Two fast locals packed in four bits each (3.13+).
    LocalPair,
    /// A cell or free variable: (co_cellvars + co_freevars)[arg] before
    /// 3.11, the locals-plus names from 3.11.
    Free,
    /// cmp_op[arg >> shift]; from 3.13 bit 4 asks for a bool result.
    Compare {
        shift: u8,
        bool_bit: bool,
    },
    /// FORMAT_VALUE (3.6 to 3.12): conversion in bits 0-1, format spec in bit 2.
    FormatValue,
    /// CONVERT_VALUE (3.13+): the conversion alone.
    ConvertValue,
    /// MAKE_FUNCTION (3.8 to 3.12) and SET_FUNCTION_ATTRIBUTE (3.13+):
    /// which of defaults, kwdefaults, annotations, closure are there.
    FunctionFlags,
    /// BINARY_OP (3.11+): `nb_ops[arg]`.
    BinaryOp,
    Intrinsic1,
    Intrinsic2,
    /// LOAD_COMMON_CONSTANT (3.14+).
    CommonConstant,
    /// LOAD_SPECIAL (3.14+).
    SpecialMethod,
    /// IMPORT_NAME (3.15+): co_names[arg >> 2]; bit 0 marks `lazy`, else
    /// bit 1 `eager` in the text.
    ImportName,
    /// IS_OP with text (3.14+): `is` or `is not`.
    IsOp,
    /// CONTAINS_OP with text (3.14+): `in` or `not in`.
    ContainsOp,
}

/// Where `dis` puts the mark of a pushed NULL in the text of a shifted name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullMark {
    /// `NULL + name` (3.11, 3.12).
    Before(&'static str),
    /// `name + NULL` (3.13+).
    After(&'static str),
}

/// FORMAT_VALUE's and CONVERT_VALUE's conversions as `dis` shows them.
pub const CONVERSIONS: [&str; 4] = ["", "str", "repr", "ascii"];

impl Opcode {
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    pub fn has_arg(&self) -> bool {
        self.has(flags::HAS_ARG)
    }

    pub fn is_jump(&self) -> bool {
        self.has(flags::JREL | flags::JABS)
    }
}

impl Table {
    pub fn py_version(&self) -> PyVersion {
        PyVersion::new(self.version.0, self.version.1)
    }

    fn at_least(&self, minor: u8) -> bool {
        self.version.0 == 3 && self.version.1 >= minor
    }

    /// The opcode with this number (specialised forms not included).
    pub fn by_number(&self, number: u16) -> Option<&'static Opcode> {
        let opcodes = self.opcodes;
        opcodes.binary_search_by_key(&number, |op| op.number).ok().map(|i| &opcodes[i])
    }

    pub fn by_name(&self, name: &str) -> Option<&'static Opcode> {
        self.opcodes.iter().find(|op| op.name == name)
    }

    /// The number of an opcode by name; pseudo-ops included.
    pub fn number(&self, name: &str) -> Option<u16> {
        self.by_name(name).map(|op| op.number)
    }

    pub fn specialized_by_number(&self, number: u16) -> Option<&'static Specialized> {
        self.specialized.iter().find(|s| s.number == number)
    }

    /// The instruction a number stands for once de-specialised, as `dis`
    /// does before explaining it.
    pub fn deopt(&self, number: u16) -> Option<&'static Opcode> {
        match self.by_number(number) {
            Some(op) => Some(op),
            None => self.specialized_by_number(number).and_then(|s| self.by_name(s.base)),
        }
    }

    /// The name `dis` prints for a number: the opcode, a specialised form,
    /// or `<N>` for an unused number.
    pub fn opname(&self, number: u16) -> String {
        if let Some(op) = self.by_number(number) {
            op.name.to_owned()
        } else if let Some(s) = self.specialized_by_number(number) {
            s.name.to_owned()
        } else {
            format!("<{number}>")
        }
    }

    pub fn extended_arg(&self) -> u8 {
        self.extended_arg
    }

    /// Code units of 16 bits (3.6+) rather than 1 or 3 bytes (2.7).
    pub fn is_wordcode(&self) -> bool {
        self.version.0 >= 3
    }

    /// Whether an instruction without an argument resets a pending
    /// EXTENDED_ARG, as `dis` decodes (3.10+); before that it carries over.
    pub fn no_arg_resets_extended(&self) -> bool {
        self.at_least(10)
    }

    /// Whether `dis` wraps an EXTENDED_ARG prefix above 2**31 to a negative
    /// number, as a C int would (3.11+).
    pub fn wraps_extended_arg(&self) -> bool {
        self.at_least(11)
    }

    /// `dis.pretty_flags` of this version: the names of known co_flags
    /// bits, lowest first, then the others in hex (`0x0` for none).
    pub fn pretty_flags(&self, flags: u32) -> String {
        let mut names = Vec::new();
        for bit in 0..32 {
            let flag = 1u32 << bit;
            if flags & flag != 0 {
                match self.code_flags.iter().find(|(f, _)| *f == flag) {
                    Some((_, name)) => names.push((*name).to_owned()),
                    None => names.push(format!("{flag:#x}")),
                }
            }
        }
        if names.is_empty() {
            names.push("0x0".to_owned());
        }
        names.join(", ")
    }

    /// The cache fields of an instruction, by its (base) name.
    pub fn cache_format(&self, name: &str) -> &'static [CacheField] {
        self.cache_format.iter().find(|(n, _)| *n == name).map(|(_, fields)| *fields).unwrap_or(&[])
    }

    /// How `dis` explains this opcode's argument.
    pub fn arg_kind(&self, op: &Opcode) -> ArgKind {
        use flags::*;
        let name = op.name;
        if op.has(CONST) {
            return ArgKind::Const;
        }
        if op.has(NAME) {
            return match name {
                "LOAD_GLOBAL" if self.at_least(13) => ArgKind::ShiftedName { shift: 1, null: NullMark::After("NULL") },
                "LOAD_GLOBAL" if self.at_least(11) => ArgKind::ShiftedName { shift: 1, null: NullMark::Before("NULL") },
                "LOAD_ATTR" if self.at_least(13) => {
                    ArgKind::ShiftedName { shift: 1, null: NullMark::After("NULL|self") }
                }
                "LOAD_ATTR" if self.at_least(12) => {
                    ArgKind::ShiftedName { shift: 1, null: NullMark::Before("NULL|self") }
                }
                "LOAD_SUPER_ATTR" if self.at_least(13) => {
                    ArgKind::ShiftedName { shift: 2, null: NullMark::After("NULL|self") }
                }
                "LOAD_SUPER_ATTR" => ArgKind::ShiftedName { shift: 2, null: NullMark::Before("NULL|self") },
                "IMPORT_NAME" if self.at_least(15) => ArgKind::ImportName,
                _ => ArgKind::Name,
            };
        }
        // Before 3.10, dis explained relative jumps only; 2.7 likewise.
        if op.has(JREL) || (op.has(JUMP | EXC) && self.at_least(13)) {
            return ArgKind::Jump { shown: true };
        }
        if op.has(JABS) {
            return ArgKind::Jump { shown: self.at_least(10) };
        }
        if self.at_least(13)
            && matches!(
                name,
                "LOAD_FAST_LOAD_FAST"
                    | "STORE_FAST_LOAD_FAST"
                    | "STORE_FAST_STORE_FAST"
                    | "LOAD_FAST_BORROW_LOAD_FAST_BORROW"
            )
        {
            return ArgKind::LocalPair;
        }
        if op.has(LOCAL) {
            return ArgKind::Local;
        }
        // 2.7 to 3.10 test hascompare before hasfree; no opcode is in both.
        if op.has(FREE) {
            return ArgKind::Free;
        }
        if op.has(COMPARE) {
            return match self.version {
                (3, 12) => ArgKind::Compare { shift: 4, bool_bit: false },
                (3, m) if m >= 13 => ArgKind::Compare { shift: 5, bool_bit: true },
                _ => ArgKind::Compare { shift: 0, bool_bit: false },
            };
        }
        match name {
            "FORMAT_VALUE" if self.at_least(6) => ArgKind::FormatValue,
            "CONVERT_VALUE" => ArgKind::ConvertValue,
            "MAKE_FUNCTION" if self.at_least(8) => ArgKind::FunctionFlags,
            "SET_FUNCTION_ATTRIBUTE" => ArgKind::FunctionFlags,
            "BINARY_OP" => ArgKind::BinaryOp,
            "CALL_INTRINSIC_1" => ArgKind::Intrinsic1,
            "CALL_INTRINSIC_2" => ArgKind::Intrinsic2,
            "LOAD_COMMON_CONSTANT" => ArgKind::CommonConstant,
            "LOAD_SPECIAL" => ArgKind::SpecialMethod,
            "IS_OP" if self.at_least(14) => ArgKind::IsOp,
            "CONTAINS_OP" if self.at_least(14) => ArgKind::ContainsOp,
            _ => ArgKind::Plain,
        }
    }

    /// The bytes an instruction takes, inline caches included: 1 or 3 in
    /// 2.7, 2 plus 2 per cache entry from 3.6.
    pub fn instruction_size(&self, op: &Opcode) -> usize {
        if self.is_wordcode() {
            2 + 2 * usize::from(op.cache_entries)
        } else if op.has_arg() {
            3
        } else {
            1
        }
    }

    /// Where a jump at byte `offset` with (EXTENDED_ARG-folded) argument
    /// `arg` lands, in bytes, by this version's rules: 2.7 and 3.6 to 3.9
    /// count bytes, 3.10+ code units; relative jumps start after the
    /// instruction (after its caches from 3.12); some count backwards
    /// (3.11+). `None` if the opcode is not a jump.
    pub fn jump_target(&self, op: &Opcode, arg: i64, offset: i64) -> Option<i64> {
        // Hostile EXTENDED_ARG chains can make any argument: wrap rather
        // than overflow.
        let unit: i64 = if self.at_least(10) { 2 } else { 1 };
        if op.has(flags::JABS) {
            return Some(arg.wrapping_mul(unit));
        }
        if !op.has(flags::JREL) {
            return None;
        }
        let next = if self.is_wordcode() { offset + 2 } else { offset + 3 };
        let caches = if self.at_least(12) { 2 * i64::from(op.cache_entries) } else { 0 };
        let signed = if op.has(flags::BACKWARD) { arg.wrapping_neg() } else { arg };
        Some(next.wrapping_add(signed.wrapping_mul(unit)).wrapping_add(caches))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{for_version, tables};

    fn table(major: u8, minor: u8) -> &'static Table {
        for_version(PyVersion::new(major, minor)).unwrap()
    }

    #[test]
    fn lookups_agree_both_ways() {
        for table in tables() {
            for op in table.opcodes {
                assert_eq!(table.by_name(op.name).unwrap().number, op.number, "{}", op.name);
                assert_eq!(table.by_number(op.number).unwrap().name, op.name);
            }
            assert!(table.opcodes.windows(2).all(|w| w[0].number < w[1].number), "{:?}", table.version);
            assert_eq!(table.by_number(u16::from(table.extended_arg)).unwrap().name, "EXTENDED_ARG");
        }
    }

    #[test]
    fn known_numbers() {
        assert_eq!(table(2, 7).number("LOAD_CONST"), Some(100));
        assert_eq!(table(3, 12).number("LOAD_CONST"), Some(100));
        assert_eq!(table(3, 13).number("LOAD_CONST"), Some(83));
        assert_eq!(table(3, 12).by_name("LOAD_GLOBAL").unwrap().cache_entries, 4);
        assert_eq!(table(3, 11).by_name("LOAD_GLOBAL").unwrap().cache_entries, 5);
        assert_eq!(table(3, 12).opname(230), "<230>");
        assert_eq!(table(3, 12).deopt(table(3, 12).number("LOAD_ATTR").unwrap()).unwrap().name, "LOAD_ATTR");
    }

    #[test]
    fn jump_arithmetic_per_version() {
        let t = table(2, 7);
        assert_eq!(t.jump_target(t.by_name("JUMP_FORWARD").unwrap(), 10, 4), Some(17));
        assert_eq!(t.jump_target(t.by_name("JUMP_ABSOLUTE").unwrap(), 10, 4), Some(10));
        let t = table(3, 9);
        assert_eq!(t.jump_target(t.by_name("JUMP_FORWARD").unwrap(), 10, 4), Some(16));
        let t = table(3, 10);
        assert_eq!(t.jump_target(t.by_name("JUMP_FORWARD").unwrap(), 10, 4), Some(26));
        assert_eq!(t.jump_target(t.by_name("JUMP_ABSOLUTE").unwrap(), 10, 4), Some(20));
        let t = table(3, 11);
        assert_eq!(t.jump_target(t.by_name("JUMP_BACKWARD").unwrap(), 2, 10), Some(8));
        let t = table(3, 12);
        // FOR_ITER has one cache entry, skipped before counting.
        assert_eq!(t.jump_target(t.by_name("FOR_ITER").unwrap(), 3, 10), Some(20));
        let t = table(3, 13);
        // JUMP_BACKWARD has a cache entry from 3.13.
        assert_eq!(t.jump_target(t.by_name("JUMP_BACKWARD").unwrap(), 5, 20), Some(14));
        assert_eq!(t.jump_target(t.by_name("LOAD_CONST").unwrap(), 5, 20), None);
        let t = table(3, 15);
        // FOR_ITER keeps its one cache entry; JUMP_BACKWARD counts back
        // from after its cache.
        assert_eq!(t.jump_target(t.by_name("FOR_ITER").unwrap(), 3, 10), Some(20));
        assert_eq!(t.jump_target(t.by_name("JUMP_BACKWARD").unwrap(), 5, 20), Some(14));
    }

    #[test]
    fn fifteen_caches_and_numbers() {
        let t = table(3, 15);
        // RESUME, GET_ITER and CALL_FUNCTION_EX gained a cache entry in 3.15.
        for name in ["RESUME", "GET_ITER", "CALL_FUNCTION_EX"] {
            assert_eq!(t.by_name(name).unwrap().cache_entries, 1, "{name}");
            assert_eq!(table(3, 14).by_name(name).unwrap().cache_entries, 0, "{name}");
        }
        assert_eq!(t.instruction_size(t.by_name("RESUME").unwrap()), 4);
        assert!(t.by_name("GET_ITER").unwrap().has_arg());
        assert!(!table(3, 14).by_name("GET_ITER").unwrap().has_arg());
        assert!(t.by_name("GET_YIELD_FROM_ITER").is_none());
        assert!(table(3, 14).by_name("GET_YIELD_FROM_ITER").is_some());
        assert_eq!(t.have_argument, 41);
        assert_eq!(&t.common_constants[7..], ["None", "''", "True", "False", "-1"]);
        assert_eq!(table(3, 14).common_constants.len(), 5);
        // The specialised forms de-specialise to their base.
        let resume_check = t.specialized.iter().find(|s| s.name == "RESUME_CHECK").unwrap();
        assert_eq!(t.deopt(resume_check.number).unwrap().name, "RESUME");
    }

    #[test]
    fn code_flag_names_per_version() {
        let docstring_method = 0x0400_0000 | 0x0800_0000;
        assert_eq!(table(3, 13).pretty_flags(docstring_method | 3), "OPTIMIZED, NEWLOCALS, 0x4000000, 0x8000000");
        assert_eq!(table(3, 14).pretty_flags(docstring_method | 3), "OPTIMIZED, NEWLOCALS, HAS_DOCSTRING, METHOD");
        assert_eq!(table(3, 15).pretty_flags(docstring_method), "HAS_DOCSTRING, METHOD");
        assert_eq!(table(3, 12).pretty_flags(0), "0x0");
        assert_eq!(table(3, 12).pretty_flags(0x4000_0020), "GENERATOR, 0x40000000");
        assert_eq!(table(3, 12).pretty_flags(0x8000_0000), "0x80000000");
        // 2.7 knows no coroutines.
        assert_eq!(table(2, 7).pretty_flags(0x80 | 0x40), "NOFREE, 0x80");
    }

    #[test]
    fn argument_kinds_follow_each_dis() {
        let kind = |t: &Table, name: &str| t.arg_kind(t.by_name(name).unwrap());
        assert_eq!(kind(table(3, 10), "LOAD_GLOBAL"), ArgKind::Name);
        assert_eq!(
            kind(table(3, 11), "LOAD_GLOBAL"),
            ArgKind::ShiftedName { shift: 1, null: NullMark::Before("NULL") }
        );
        assert_eq!(
            kind(table(3, 13), "LOAD_ATTR"),
            ArgKind::ShiftedName { shift: 1, null: NullMark::After("NULL|self") }
        );
        assert_eq!(kind(table(3, 9), "JUMP_ABSOLUTE"), ArgKind::Jump { shown: false });
        assert_eq!(kind(table(3, 10), "JUMP_ABSOLUTE"), ArgKind::Jump { shown: true });
        assert_eq!(kind(table(3, 12), "COMPARE_OP"), ArgKind::Compare { shift: 4, bool_bit: false });
        assert_eq!(kind(table(3, 13), "COMPARE_OP"), ArgKind::Compare { shift: 5, bool_bit: true });
        assert_eq!(kind(table(3, 7), "MAKE_FUNCTION"), ArgKind::Plain);
        assert_eq!(kind(table(3, 8), "MAKE_FUNCTION"), ArgKind::FunctionFlags);
        assert_eq!(kind(table(3, 13), "LOAD_FAST_LOAD_FAST"), ArgKind::LocalPair);
        assert_eq!(kind(table(3, 12), "CALL_INTRINSIC_1"), ArgKind::Intrinsic1);
        assert_eq!(kind(table(3, 14), "LOAD_SPECIAL"), ArgKind::SpecialMethod);
        assert_eq!(kind(table(2, 7), "LOAD_DEREF"), ArgKind::Free);
        assert_eq!(kind(table(3, 14), "IMPORT_NAME"), ArgKind::Name);
        assert_eq!(kind(table(3, 15), "IMPORT_NAME"), ArgKind::ImportName);
        assert_eq!(kind(table(3, 15), "LOAD_COMMON_CONSTANT"), ArgKind::CommonConstant);
        assert_eq!(kind(table(3, 15), "GET_ITER"), ArgKind::Plain);
        assert_eq!(
            kind(table(3, 15), "LOAD_SUPER_ATTR"),
            ArgKind::ShiftedName { shift: 2, null: NullMark::After("NULL|self") }
        );
    }
}
