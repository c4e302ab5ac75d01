//! CPython's opcode tables, one per feature version: 2.7 and 3.6 to 3.15.
//!
//! Each table is generated from that interpreter's own `opcode` and `dis`
//! modules by `generate.py` (run by `regenerate.sh`), so numbers, names,
//! argument classes (`hasconst`, `hasjrel`, ...), inline cache sizes,
//! `cmp_op`, BINARY_OP's `nb_ops`, the intrinsics, the common constants,
//! the pseudo-ops and the names of the code flags are the interpreter's.
//! What the data cannot say, how a version's `dis` unpacks an argument
//! (LOAD_GLOBAL's low bit from 3.11, COMPARE_OP's shift from 3.12,
//! IMPORT_NAME's lazy and eager bits from 3.15, jumps counted in code units
//! from 3.10, backwards from 3.11, after the caches from 3.12), is in
//! [`Table::arg_kind`] and [`Table::jump_target`].
//!
//! ```
//! use pycache_opcode::{ArgKind, for_version};
//! use pycache_pyc::PyVersion;
//!
//! let table = for_version(PyVersion::new(3, 12)).unwrap();
//! let load_global = table.by_name("LOAD_GLOBAL").unwrap();
//! assert_eq!(load_global.number, 116);
//! assert_eq!(load_global.cache_entries, 4);
//! assert!(matches!(table.arg_kind(load_global), ArgKind::ShiftedName { shift: 1, .. }));
//! assert_eq!(table.by_number(116).unwrap().name, "LOAD_GLOBAL");
//! ```

#[rustfmt::skip]
#[allow(unused_imports)]
mod generated {
    pub mod v2_7;
    pub mod v3_10;
    pub mod v3_11;
    pub mod v3_12;
    pub mod v3_13;
    pub mod v3_14;
    pub mod v3_15;
    pub mod v3_6;
    pub mod v3_7;
    pub mod v3_8;
    pub mod v3_9;
}
mod table;

use pycache_pyc::PyVersion;

pub use table::{ArgKind, CONVERSIONS, CacheField, NullMark, Opcode, Specialized, Table, flags};

static TABLES: [&Table; 11] = [
    &generated::v2_7::TABLE,
    &generated::v3_6::TABLE,
    &generated::v3_7::TABLE,
    &generated::v3_8::TABLE,
    &generated::v3_9::TABLE,
    &generated::v3_10::TABLE,
    &generated::v3_11::TABLE,
    &generated::v3_12::TABLE,
    &generated::v3_13::TABLE,
    &generated::v3_14::TABLE,
    &generated::v3_15::TABLE,
];

/// The table of a feature version, if this crate has one.
pub fn for_version(version: PyVersion) -> Option<&'static Table> {
    TABLES.iter().copied().find(|table| table.version == (version.major, version.minor))
}

/// Every table, oldest version first.
pub fn tables() -> &'static [&'static Table] {
    &TABLES
}
