//! Marshal writing: a [`CodeObject`] value tree to the exact bytes CPython
//! 3.12's `py_compile` writes for it in a fresh process.
//!
//! The values decide most of the stream. What they do not carry is object
//! identity, and marshal's output depends on it: `w_ref` gives an object
//! FLAG_REF when its reference count is above one or it is an interned
//! string, registers it, and writes later occurrences of the same object as
//! `r` back-references; a string's type code says whether it is interned.
//! So this stage first rebuilds the objects CPython would hold when
//! `compile()` returns, then replays `w_object`
//! over them. The rules, learned from CPython 3.12's `marshal.c`,
//! `codeobject.c`, `compile.c`, `assemble.c` and `unicodeobject.c` and
//! checked against the interpreter:
//!
//! **One object per value, for the whole module.** The compiler passes
//! every constant through one cache for the whole compilation
//! (`_PyCode_ConstantKey`: same type and value, floats by their bits so that
//! `0.0` and `-0.0` stay apart, tuples and frozensets by their items), so
//! equal constants of different functions are one object, items of constant
//! tuples and frozensets included. The same cache receives each code
//! object's `co_consts`, `co_names` and `co_localsplusnames` tuples and its
//! line and exception tables (bytes), so those are shared with equal
//! constants and with each other too. NaN never equals anything in that
//! cache, so each NaN constant is an object of its own. Code objects are
//! never merged; nothing else holds a nested one, so it is never flagged,
//! while the module's code object is held by its caller and always is.
//!
//! **References outside the tree.** Objects also held elsewhere are flagged
//! even when they occur once: immortal singletons (small ints -5..=256, the
//! empty tuple, empty and one-byte bytes, the empty string, one-character
//! Latin-1 strings), the static strings CPython names code objects with
//! (`<module>`, `<lambda>`, `<genexpr>`, ...; flagged, not interned), the
//! file name (one object the caller passed, shared by every code object),
//! and `co_code`, which marshal takes from the code object's own cache (the
//! bytecode is rebuilt into a new bytes object that the code object keeps).
//! `None`, `True`, `False` and `...` are written before `w_ref` is asked, so
//! they never carry the flag. `co_localspluskinds` is a fresh bytes object
//! per code object (empty: the singleton).
//!
//! **Interning.** In 3.12 interned strings are immortal, so an interned
//! string is one object per text and always flagged. Interned are: every
//! name in `co_names` and `co_localsplusnames`; string constants made only
//! of ASCII letters, digits and `_` (the empty string too), inside constant
//! tuples and frozensets as well; and the identifiers the parser made, when
//! such an identifier is the first constant with its text the compiler
//! cached (keyword-name tuples of calls, import from-lists, class names,
//! the qualified name of a top-level class). Other constants are the
//! literal's own uninterned object. `co_filename`, `co_name` and
//! `co_qualname` are not interned by the code object: a function's name is
//! the parser's identifier (interned), a top-level qualified name is the
//! name object itself, a nested one (`A.f`, `f.<locals>.g`) a new object
//! unless a class body loaded it as its `__qualname__` constant first.
//!
//! **Tuples whose items the cache never saw.** Names tuples enter the cache
//! as whole tuples: an equal constant tuple becomes that tuple (interned
//! items), but a string constant equal to one of its names does not become
//! the name.
//!
//! **What the process brings.** A fresh `py_compile` process has already
//! interned thousands of strings (its modules' names, the runtime's static
//! identifiers). That matters twice: a one-character Latin-1 string is a
//! static singleton whose interned mark is process-wide (`*` is interned in
//! every such process, `.` is not, `é` becomes interned when the module
//! uses it as a name); and when the code object interns its constants,
//! `intern_string_constants` swaps an uninterned identifier-like literal for
//! an already interned twin, which inside a frozenset means building a new
//! frozenset in every tuple that holds it, so a frozenset shared by two
//! functions is written twice. The process's interned strings are a table
//! generated from the interpreter (`gen_tables.py`), checked by a test. The
//! process is the reference, `python -I [-O|-OO] -m py_compile FILE`, at
//! the moment it compiles: runpy has run py_compile as `__main__`, whose
//! `main()` has imported argparse and parsed its arguments, so argparse's
//! names (and `locale`'s, which it imports) are interned, and
//! `py_compile` itself is not. A table is per release (builds of one
//! release differ too: Debian's 3.13 imports `_colorize`), the same at
//! every level (the few names interned only at some are left out).
//!
//! **3.13** code objects intern their names, file name and qualified name:
//! a class body's `__qualname__` constant stays an object of its own when
//! an earlier code object (a `def _` before `class _`) or the process
//! interned the text first. Keyword names are the constant loaded before
//! `CALL_KW` (no `KW_NAMES`), a tuple of the parser's identifiers.
//!
//! **Frozensets** are written sorted by each item's own `marshal.dumps`
//! bytes (a fresh reference table per item, so an item's dump starts with a
//! flagged type byte when something else shares it; from 3.13 the set's
//! iterator holds each item while its key is made, so every key starts
//! flagged), and while they are written the sorting pairs hold a reference
//! to every item, so each item of a frozenset is flagged.
//!
//! **Type codes**: ints `i` when they fit in 32 bits, else `l` in 15-bit
//! digits; floats `g` and complex numbers `y` (binary); bytes `s`; tuples
//! `)` below 256 items, else `(`; frozensets `>`; strings `z`/`Z` when
//! ASCII and under 256 characters, `a`/`A` for longer ASCII, `u`/`t`
//! otherwise (UTF-8 with surrogates passed through), the capital or `t`
//! form when interned; code objects `c` with 3.12's field order.
//!
//! The order in which the compiler filled its cache decides a few of these
//! (which object is first with a text); it is replayed from the values in
//! code-generation order (a nested code object's constants where the
//! parent loads it). One identity is not in the values and comes with the
//! module's code object: a `'%'` that folding `'%%%s' % x` made is a new
//! string, not the singleton, and when it was the first `'%'` the cache
//! received every `'%'` constant is that object (`fresh_percent`, followed
//! by code generation, dead code included). What values cannot tell: an
//! identifier reaching the constants
//! another way than the ones above, or one the parser interned but no code
//! object names (a local annotation), changes whether a frozenset holding
//! it is rebuilt. The re-marshalling test measures all this on the standard
//! library and the corpus (see the README).

mod emit;
mod graph;
pub(crate) use graph::all_name_chars;
#[rustfmt::skip]
mod tables;
#[rustfmt::skip]
mod tables312_7;
#[rustfmt::skip]
mod tables313;
#[rustfmt::skip]
mod tables313_15;
#[rustfmt::skip]
mod tables313_18;
#[rustfmt::skip]
mod tables313_5;
#[rustfmt::skip]
mod tables314;
#[rustfmt::skip]
mod tables315;
#[rustfmt::skip]
mod tables315_2;
mod unmarshal;

use crate::code::CodeObject;
use crate::target::Target;

/// What a fresh `py_compile` process of one release has interned before it
/// compiles anything (generated from the interpreter by `gen_tables.py`).
#[derive(Debug)]
pub struct ProcessStrings {
    /// One-character strings, other than letters, digits and `_`, whose
    /// static singleton is interned, as UTF-8.
    pub(crate) chars: &'static [&'static [u8]],
    /// Letters, digits and `_` whose interned object is not the static
    /// singleton.
    pub(crate) shadowed_chars: &'static [u8],
    /// Identifier-like strings of two characters or more.
    pub(crate) names: StringList,
    /// Other strings a code object may intern as its qualified name or file
    /// name (3.13 on, where code objects intern them).
    pub(crate) others: StringList,
}

/// A sorted list of strings: written out, or another table's list with
/// some strings added and some removed (the releases' lists share most of
/// their entries; `gen_tables.py --base`), merged at its first use.
#[derive(Debug)]
pub(crate) struct StringList {
    base: Option<&'static StringList>,
    added: &'static [&'static str],
    removed: &'static [&'static str],
    merged: std::sync::OnceLock<Box<[&'static str]>>,
}

impl StringList {
    const fn full(items: &'static [&'static str]) -> Self {
        Self { base: None, added: items, removed: &[], merged: std::sync::OnceLock::new() }
    }

    const fn edit(base: &'static StringList, added: &'static [&'static str], removed: &'static [&'static str]) -> Self {
        Self { base: Some(base), added, removed, merged: std::sync::OnceLock::new() }
    }

    /// The strings, sorted.
    pub(crate) fn items(&self) -> &[&'static str] {
        let Some(base) = self.base else { return self.added };
        self.merged.get_or_init(|| merge_edit(base.items(), self.added, self.removed))
    }

    pub(crate) fn contains(&self, text: &str) -> bool {
        self.items().binary_search(&text).is_ok()
    }
}

/// `base` without `removed`, with `added`, sorted and without duplicates.
/// All three lists come sorted from `gen_tables.py` (as a full list must,
/// for [`StringList::contains`]'s binary search; a test holds every table
/// to it), so one merging walk does it: the lists hold thousands of
/// strings, and sorting them again cost the first compilation of a process
/// about as much as marshalling a dozen files.
fn merge_edit(base: &[&'static str], added: &[&'static str], removed: &[&'static str]) -> Box<[&'static str]> {
    let mut out: Vec<&'static str> = Vec::with_capacity(base.len() + added.len());
    let mut removed = removed.iter().peekable();
    let mut added = added.iter().copied().peekable();
    for &item in base.iter() {
        while removed.next_if(|r| **r < item).is_some() {}
        if removed.peek().is_some_and(|r| **r == item) {
            continue;
        }
        while let Some(new) = added.next_if(|new| *new <= item) {
            out.push(new);
        }
        out.push(item);
    }
    out.extend(added);
    out.dedup();
    out.into_boxed_slice()
}

/// CPython 3.12.1's.
pub(crate) static PROCESS_STRINGS_3_12_1: ProcessStrings = ProcessStrings {
    chars: tables::FRESH_PROCESS_CHARS,
    shadowed_chars: tables::SHADOWED_CHARS,
    names: StringList::full(tables::FRESH_PROCESS_NAMES),
    others: StringList::full(&[]),
};

/// CPython 3.12.7's, as Pyodide 0.27.7 has it (`tables312_7.rs`, made by
/// `gen_tables.py --pyodide` in the interpreter the golden digests come
/// from): every one-character Latin-1 string is interned, and none is
/// shadowed.
pub(crate) static PROCESS_STRINGS_3_12_7: ProcessStrings = ProcessStrings {
    chars: tables312_7::FRESH_PROCESS_CHARS,
    shadowed_chars: tables312_7::SHADOWED_CHARS,
    names: StringList::full(tables312_7::FRESH_PROCESS_NAMES),
    others: StringList::full(&[]),
};

/// CPython 3.13.0's (`tables313.rs`, pyenv's build): every one-character
/// Latin-1 string is interned, and none is shadowed.
pub(crate) static PROCESS_STRINGS_3_13_0: ProcessStrings = ProcessStrings {
    chars: tables313::FRESH_PROCESS_CHARS,
    shadowed_chars: tables313::SHADOWED_CHARS,
    names: StringList::edit(&PROCESS_STRINGS_3_12_1.names, tables313::ADDED_NAMES, tables313::REMOVED_NAMES),
    others: StringList::edit(&PROCESS_STRINGS_3_12_1.others, tables313::ADDED_OTHERS, tables313::REMOVED_OTHERS),
};

/// Debian's CPython 3.13.5 (`tables313_5.rs`): its standard library and
/// startup differ from 3.13.0's (`_colorize`, argparse's new names).
pub(crate) static PROCESS_STRINGS_3_13_5: ProcessStrings = ProcessStrings {
    chars: tables313_5::FRESH_PROCESS_CHARS,
    shadowed_chars: tables313_5::SHADOWED_CHARS,
    names: StringList::edit(&PROCESS_STRINGS_3_13_0.names, tables313_5::ADDED_NAMES, tables313_5::REMOVED_NAMES),
    others: StringList::edit(&PROCESS_STRINGS_3_13_0.others, tables313_5::ADDED_OTHERS, tables313_5::REMOVED_OTHERS),
};

/// Debian's CPython 3.13.15 (`tables313_15.rs`).
pub(crate) static PROCESS_STRINGS_3_13_15: ProcessStrings = ProcessStrings {
    chars: tables313_15::FRESH_PROCESS_CHARS,
    shadowed_chars: tables313_15::SHADOWED_CHARS,
    names: StringList::edit(&PROCESS_STRINGS_3_13_0.names, tables313_15::ADDED_NAMES, tables313_15::REMOVED_NAMES),
    others: StringList::edit(&PROCESS_STRINGS_3_13_0.others, tables313_15::ADDED_OTHERS, tables313_15::REMOVED_OTHERS),
};

/// Debian's CPython 3.13.18 (`tables313_18.rs`).
pub(crate) static PROCESS_STRINGS_3_13_18: ProcessStrings = ProcessStrings {
    chars: tables313_18::FRESH_PROCESS_CHARS,
    shadowed_chars: tables313_18::SHADOWED_CHARS,
    names: StringList::edit(&PROCESS_STRINGS_3_13_0.names, tables313_18::ADDED_NAMES, tables313_18::REMOVED_NAMES),
    others: StringList::edit(&PROCESS_STRINGS_3_13_0.others, tables313_18::ADDED_OTHERS, tables313_18::REMOVED_OTHERS),
};

/// CPython 3.14.10's (`tables314.rs`): every one-character Latin-1 string
/// is interned, and none is shadowed.
pub(crate) static PROCESS_STRINGS_3_14_10: ProcessStrings = ProcessStrings {
    chars: tables314::FRESH_PROCESS_CHARS,
    shadowed_chars: tables314::SHADOWED_CHARS,
    names: StringList::edit(&PROCESS_STRINGS_3_12_1.names, tables314::ADDED_NAMES, tables314::REMOVED_NAMES),
    others: StringList::edit(&PROCESS_STRINGS_3_12_1.others, tables314::ADDED_OTHERS, tables314::REMOVED_OTHERS),
};

/// CPython 3.15.0's (`tables315.rs`).
pub(crate) static PROCESS_STRINGS_3_15_0: ProcessStrings = ProcessStrings {
    chars: tables315::FRESH_PROCESS_CHARS,
    shadowed_chars: tables315::SHADOWED_CHARS,
    names: StringList::edit(&PROCESS_STRINGS_3_13_0.names, tables315::ADDED_NAMES, tables315::REMOVED_NAMES),
    others: StringList::edit(&PROCESS_STRINGS_3_13_0.others, tables315::ADDED_OTHERS, tables315::REMOVED_OTHERS),
};

/// CPython 3.15.2's (`tables315_2.rs`): its importlib interns a few names
/// 3.15.0's does not, and the reverse.
pub(crate) static PROCESS_STRINGS_3_15_2: ProcessStrings = ProcessStrings {
    chars: tables315_2::FRESH_PROCESS_CHARS,
    shadowed_chars: tables315_2::SHADOWED_CHARS,
    names: StringList::edit(&PROCESS_STRINGS_3_15_0.names, tables315_2::ADDED_NAMES, tables315_2::REMOVED_NAMES),
    others: StringList::edit(&PROCESS_STRINGS_3_15_0.others, tables315_2::ADDED_OTHERS, tables315_2::REMOVED_OTHERS),
};

#[doc(hidden)]
pub use unmarshal::{UnmarshalError, code_from_marshal};

/// How the reference caches are made: `python -c` with this program, then
/// `SOURCE CACHE LEVEL`, runs the reference itself, a fresh
/// `python -I [-O|-OO] -m py_compile SOURCE` (what `pycache verify
/// --reference fresh` and `corpus/golden.py` run, and what the process
/// tables model: py_compile's `main()` imports argparse before it
/// compiles), with `SOURCE_DATE_EPOCH` unset (a timestamp header), then
/// moves the cache it wrote beside SOURCE to CACHE. SOURCE's directory
/// must be the caller's own (a `__pycache__` is made there); the source
/// path is the recorded file name. A refusal exits as py_compile did, with
/// its message on stderr. Tests use it to compare with CPython.
#[doc(hidden)]
pub const REFERENCE_COMPILE: &str = "import os, subprocess, sys\n\
source, cache, level = sys.argv[1], sys.argv[2], int(sys.argv[3])\n\
env = {k: v for k, v in os.environ.items() if k != 'SOURCE_DATE_EPOCH'}\n\
flags = [[], ['-O'], ['-OO']][level]\n\
done = subprocess.run([sys.executable, '-I'] + flags + ['-m', 'py_compile', source], env=env)\n\
if done.returncode:\n    sys.exit(done.returncode)\n\
head, tail = os.path.split(source)\n\
name = '%s.%s%s.pyc' % (tail.rpartition('.')[0], sys.implementation.cache_tag, '.opt-%d' % level if level else '')\n\
os.replace(os.path.join(head, '__pycache__', name), cache)\n";

/// Why a code object cannot be marshalled (CPython would refuse it too).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarshalError {
    #[error("objects nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("more flagged objects than marshal can index")]
    TooManyObjects,
    #[error(transparent)]
    Write(#[from] pycache_marshal::WriteError),
}

/// The marshal stream the target's `py_compile` writes for `code` as the
/// module code object of a `.pyc`.
pub fn marshal_code(code: &CodeObject, target: Target) -> Result<Vec<u8>, MarshalError> {
    let mut out = Vec::new();
    marshal_into(code, target, &mut out)?;
    Ok(out)
}

/// A whole `.pyc`: the caller's 16-byte header, then [`marshal_code`].
pub fn pyc_bytes(header: &[u8; 16], code: &CodeObject, target: Target) -> Result<Vec<u8>, MarshalError> {
    let mut out = header.to_vec();
    marshal_into(code, target, &mut out)?;
    Ok(out)
}

/// The stack the object graph is built and emitted on: both recurse once
/// per nested object, which [`check_depth`] keeps within marshal's limit.
/// A thread with that much stack left runs in place (see
/// [`crate::driver::WORKER_STACK`]).
const STACK: usize = 256 << 20;

fn marshal_into(code: &CodeObject, target: Target, out: &mut Vec<u8>) -> Result<(), MarshalError> {
    check_depth(code)?;
    stacker::maybe_grow(STACK, STACK, || {
        let graph = graph::Graph::build(code, target);
        emit::Emitter::new(&graph, target).emit(graph.root, 1, out)
    })
}

/// Refuses, before anything recurses over it, a tree nested deeper than
/// marshal writes (CPython raises ValueError there too). The module's code
/// object is level 1, its fields level 2, constants level 3.
fn check_depth(code: &CodeObject) -> Result<(), MarshalError> {
    use crate::code::Constant;
    let limit = pycache_marshal::MAX_DEPTH;
    let mut stack: Vec<(&Constant, usize)> = code.consts.iter().map(|c| (c, 3)).collect();
    while let Some((constant, depth)) = stack.pop() {
        if depth > limit {
            return Err(MarshalError::TooDeep { limit });
        }
        match constant {
            Constant::Tuple(items) | Constant::FrozenSet(items) => stack.extend(items.iter().map(|c| (c, depth + 1))),
            Constant::Slice(parts) => stack.extend(parts.iter().map(|c| (c, depth + 1))),
            Constant::Code(inner) => stack.extend(inner.consts.iter().map(|c| (c, depth + 2))),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use pycache_marshal::read_pyc;
    use pycache_python::testing;

    use super::*;

    /// What a fresh CPython 3.12 writes for `source` at `level` (the whole
    /// `.pyc`), or `None` after a SKIP line when 3.12 is not installed.
    fn reference(source: &str, level: u8) -> Option<Vec<u8>> {
        let python = testing::reference(3, 12, "pycache-compiler marshal tests")?;
        reference_of(&python, source, level)
    }

    fn reference_of(python: &pycache_python::Interpreter, source: &str, level: u8) -> Option<Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mod.py");
        std::fs::write(&path, source).unwrap();
        let cache = dir.path().join("mod.pyc");
        let output = Command::new(&python.executable)
            .args(["-s", "-P", "-c", REFERENCE_COMPILE])
            .arg(&path)
            .arg(&cache)
            .arg(level.to_string())
            .env_remove("PYTHONDONTWRITEBYTECODE")
            .env("PYTHONHASHSEED", "0")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        Some(std::fs::read(cache).unwrap())
    }

    /// Compiles `source` with CPython, rebuilds the cache from its values
    /// and requires the same bytes. Returns CPython's marshal stream.
    fn same_as_cpython(source: &str) -> Option<Vec<u8>> {
        same_as_cpython_at(source, 0)
    }

    fn same_as_cpython_at(source: &str, level: u8) -> Option<Vec<u8>> {
        let bytes = reference(source, level)?;
        Some(same_bytes(bytes, crate::Target::exact((3, 12, 1)).unwrap()))
    }

    /// Rebuilds the cache CPython wrote from its values for `target` and
    /// requires the same bytes; returns the marshal stream.
    fn same_bytes(bytes: Vec<u8>, target: crate::Target) -> Vec<u8> {
        let pyc = read_pyc(&bytes).unwrap();
        let code = code_from_marshal(&pyc.code).unwrap();
        let header: [u8; 16] = pyc.header_bytes.as_slice().try_into().unwrap();
        let ours = pyc_bytes(&header, &code, target).unwrap();
        if ours != bytes {
            let at = ours.iter().zip(&bytes).position(|(a, b)| a != b).unwrap_or(ours.len().min(bytes.len()));
            let window = |b: &[u8]| b[at.saturating_sub(24)..(at + 24).min(b.len())].to_vec();
            panic!(
                "differs at byte {at}:\n ours    {:?}\n cpython {:?}",
                String::from_utf8_lossy(&window(&ours)),
                String::from_utf8_lossy(&window(&bytes))
            );
        }
        bytes[16..].to_vec()
    }

    fn count(haystack: &[u8], needle: &[u8]) -> usize {
        haystack.windows(needle.len()).filter(|w| *w == needle).count()
    }

    /// Where `needle` first occurs.
    fn find(haystack: &[u8], needle: &[u8]) -> usize {
        haystack.windows(needle.len()).position(|w| w == needle).unwrap_or_else(|| panic!("{needle:?} not found"))
    }

    #[test]
    fn names_and_identifier_like_constants_are_interned_and_shared() {
        let Some(body) = same_as_cpython("def f(alpha):\n    return 'alpha', 'beta gamma'\n") else { return };
        // Interned: `Z` with FLAG_REF the first time, references after.
        assert_eq!(count(&body, b"\x05alpha"), 1);
        assert_eq!(count(&body, b"\xda\x05alpha"), 1);
        // Not identifier-like: a plain `z`, unflagged as nothing shares it.
        assert_eq!(count(&body, b"z\x0abeta gamma"), 1);
    }

    #[test]
    fn equal_constants_are_one_object_for_the_whole_module() {
        let source = "def f():\n    return 'x y', 1000, 2.5\ndef g():\n    return 'x y', 1000, 2.5, 1\n";
        let Some(body) = same_as_cpython(source) else { return };
        assert_eq!(count(&body, b"\xfa\x03x y"), 1);
        assert_eq!(count(&body, b"\x03x y"), 1);
        assert_eq!(count(&body, b"\xe9\xe8\x03\x00\x00"), 1);
        assert_eq!(count(&body, &2.5f64.to_le_bytes()), 1);
    }

    #[test]
    fn objects_held_once_carry_no_flag() {
        let Some(body) = same_as_cpython("x = 'x y'\ny = 1000\nz = 2.5\nw = b'ab'\n") else { return };
        assert_eq!(count(&body, b"z\x03x y"), 1);
        assert_eq!(count(&body, b"i\xe8\x03\x00\x00"), 1);
        assert_eq!(count(&body, &[&b"g"[..], &2.5f64.to_le_bytes()].concat()), 1);
        assert_eq!(count(&body, b"s\x02\x00\x00\x00ab"), 1);
    }

    #[test]
    fn immortal_objects_are_flagged_even_when_used_once() {
        let Some(body) = same_as_cpython("x = 7\ny = ()\nw = b'q'\nv = '.'\nu = ''\n") else { return };
        // Small ints, the empty tuple, one-byte bytes, one-character
        // strings and the empty string are static singletons.
        for flagged in [&b"\xe9\x07\x00\x00\x00"[..], b"\xa9\x00", b"\xf3\x01\x00\x00\x00q", b"\xfa\x01.", b"\xda\x00"]
        {
            assert_eq!(count(&body, flagged), 1, "{flagged:?}");
        }
    }

    #[test]
    fn single_characters_keep_the_interned_mark_of_the_process() {
        // `*` is interned in every py_compile process, `.` is not; `é`
        // becomes interned as a name of this very module.
        let Some(body) = same_as_cpython("x = '*'\ny = '.'\né = 1\nz = 'é'\n") else { return };
        assert_eq!(count(&body, b"\xda\x01*"), 1);
        assert_eq!(count(&body, b"\xfa\x01."), 1);
        assert_eq!(count(&body, b"\xf4\x02\x00\x00\x00\xc3\xa9"), 1);
    }

    #[test]
    fn frozenset_items_are_sorted_by_their_own_dumps_and_flagged() {
        // In f, 1000 is shared with the tuple, so its own dump starts with
        // a flagged `i` (0xe9) and sorts after the unflagged `z` (0x7a) of
        // 'ab cd'; in g neither is shared and 1001 (`i`, 0x69) comes first.
        // Every item is flagged: the sorting pairs hold a reference.
        let source = "def f(x):\n    return x in {1000, 'ab cd'}, 1000\ndef g(x):\n    return x in {'ab ce', 1001}\n";
        let Some(body) = same_as_cpython(source) else { return };
        assert!(find(&body, b"\xfa\x05ab cd") < find(&body, b"\xe9\xe8\x03\x00\x00"));
        assert!(find(&body, b"\xe9\xe9\x03\x00\x00") < find(&body, b"\xfa\x05ab ce"));
    }

    #[test]
    fn regression_frozenset_items_held_only_by_the_set_sort_flagged_from_3_13() {
        // tomllib's parse_basic_str_escape: from 3.13 the set's iterator
        // holds each item while its sort key is dumped, so 1001 (held only
        // by the set) sorts by a flagged `i` (0xe9), after 'ab ce' (0xfa is
        // larger, but 66 and 1001 compare as e9 42 < e9 e9 < fa); in 3.12
        // it sorts by its unflagged `i` (0x69), first.
        let source = "def g(x):\n    return x in {'ab ce', 1001, 66}\n";
        let Some(python) = testing::release((3, 13, 0), "frozenset keys of 3.13") else { return };
        let body = same_bytes(reference_of(&python, source, 0).unwrap(), crate::Target::candidate((3, 13, 0)).unwrap());
        let (small, large, text) =
            (find(&body, b"\xe9\x42\x00"), find(&body, b"\xe9\xe9\x03\x00\x00"), find(&body, b"\xfa\x05ab ce"));
        assert!(small < large && large < text, "{small} {large} {text}");
        let Some(body) = same_as_cpython(source) else { return };
        assert!(find(&body, b"\xe9\xe9\x03\x00\x00") < find(&body, b"\xe9\x42\x00"));
    }

    #[test]
    fn interning_rebuilds_a_frozenset_in_each_tuple_that_holds_it() {
        // The literals '__name__' and '__qualname__' meet interned twins
        // when the code objects are made, so each consts tuple gets its own
        // new frozenset; 'zzqqa' and 'zzqqb' are interned in place and the
        // frozenset stays one shared object.
        let source = "def f(x):\n    return x in {'__name__', '__qualname__'}, x in {'zzqqa', 'zzqqb'}\n\
                      def g(x):\n    return x in {'__name__', '__qualname__'}, x in {'zzqqa', 'zzqqb'}, 1\n";
        let Some(body) = same_as_cpython(source) else { return };
        assert_eq!(count(&body, b">\x02\x00\x00\x00"), 2);
        assert_eq!(count(&body, b"\xbe\x02\x00\x00\x00"), 1);
    }

    #[test]
    fn line_tables_and_bytes_constants_share_the_constant_cache() {
        // f's line table is b'\x81\x00', like the constant; g's equals f's.
        let Some(body) = same_as_cpython("x = b'\\x81\\x00'\ndef f(): pass\ndef g(): pass\n") else { return };
        assert_eq!(count(&body, b"\xf3\x02\x00\x00\x00\x81\x00"), 1);
        assert_eq!(count(&body, b"\x81\x00"), 1);
    }

    #[test]
    fn name_tuples_and_constant_tuples_are_merged() {
        // ('ab',) is g's co_names and the keyword names of the call.
        let Some(body) = same_as_cpython("def g(): return ab\nh(ab=1)\n") else { return };
        assert_eq!(count(&body, b"\xa9\x01\xda\x02ab"), 1);
        assert_eq!(count(&body, b"\x02ab"), 1);
    }

    #[test]
    fn a_class_qualname_is_its_qualname_constant_when_first() {
        let Some(body) = same_as_cpython("class A:\n    class B: pass\n") else { return };
        assert_eq!(count(&body, b"\xfa\x03A.B"), 1);
        assert_eq!(count(&body, b"\x03A.B"), 1);
        // An equal literal compiled earlier takes the cache's place: the
        // class keeps a qualified name of its own.
        let Some(body) = same_as_cpython("x = 'A.B'\nclass A:\n    class B: pass\n") else { return };
        assert_eq!(count(&body, b"\xfa\x03A.B"), 1);
        assert_eq!(count(&body, b"z\x03A.B"), 1);
    }

    #[test]
    fn qualified_names_of_nested_functions_are_objects_of_their_own() {
        let source = "class A:\n    def f(self): pass\ndef h():\n    return lambda: 0, lambda: 1\n";
        let Some(body) = same_as_cpython(source) else { return };
        assert_eq!(count(&body, b"z\x03A.f"), 1);
        assert_eq!(count(&body, b"z\x13h.<locals>.<lambda>"), 2);
    }

    #[test]
    fn static_code_names_are_flagged_but_not_interned() {
        let Some(body) = same_as_cpython("f = lambda: 0\ng = (x for x in y)\n") else { return };
        for name in [&b"\xfa\x08<module>"[..], b"\xfa\x08<lambda>", b"\xfa\x09<genexpr>"] {
            assert_eq!(count(&body, name), 1, "{name:?}");
        }
    }

    /// From 3.12.7 (`StaticNamesInterned`) the interpreter's start interns
    /// the static code names, so they are written as interned strings; the
    /// file name stays a plain flagged string. Pyodide's 3.12.7 checks the
    /// whole cache (`pyodide_3_12_7_agrees_on_the_fixtures`,
    /// `static_code_names.py`).
    #[test]
    fn regression_static_code_names_are_interned_from_3_12_7() {
        let source = b"f = lambda: 0\ng = (x for x in y)\n";
        let body = |release: (u8, u8, u8)| {
            let target = crate::Target::exact(release).unwrap();
            marshal_code(&crate::compile(source, "m.py", target, 0).unwrap(), target).unwrap()
        };
        let (old, new) = (body((3, 12, 1)), body((3, 12, 7)));
        for name in [&b"<module>"[..], b"<lambda>", b"<genexpr>"] {
            let with = |kind: u8| [&[kind, name.len() as u8][..], name].concat();
            assert_eq!((count(&old, &with(0xfa)), count(&old, &with(0xda))), (1, 0), "{name:?}");
            assert_eq!((count(&new, &with(0xfa)), count(&new, &with(0xda))), (0, 1), "{name:?}");
        }
        assert_eq!(count(&new, b"\xfa\x04m.py"), 1);
    }

    #[test]
    fn the_file_name_is_one_flagged_object() {
        let Some(body) = same_as_cpython("def f(): pass\nclass C: pass\n") else { return };
        assert_eq!(count(&body, b"/mod.py"), 1);
        let end = find(&body, b"/mod.py") + 7;
        let start = body[..end].iter().rposition(|&b| b == 0xfa).unwrap();
        assert_eq!(usize::from(body[start + 1]), end - start - 2);
    }

    #[test]
    fn numbers_take_the_type_codes_of_their_size() {
        let source = "x = (2**40, -(2**31), 2**31 - 1, 2**31, 1j, 0.0, 1e400 * 0, 1e400 * 0)\n";
        let Some(body) = same_as_cpython(source) else { return };
        assert_eq!(count(&body, b"l\x03\x00\x00\x00\x00\x00\x00\x00\x00\x04"), 1);
        assert_eq!(count(&body, b"i\x00\x00\x00\x80"), 1);
        assert_eq!(count(&body, b"i\xff\xff\xff\x7f"), 1);
        assert_eq!(count(&body, b"l\x03\x00\x00\x00\x00\x00\x00\x00\x02\x00"), 1);
        assert_eq!(count(&body, &[&b"y"[..], &0f64.to_le_bytes(), &1f64.to_le_bytes()].concat()), 1);
        // Two NaNs are two objects: the cache never finds a NaN equal.
        let nans =
            count(&body, b"g\x00\x00\x00\x00\x00\x00\xf8\x7f") + count(&body, b"g\x00\x00\x00\x00\x00\x00\xf8\xff");
        assert_eq!(nans, 2);
    }

    #[test]
    fn long_strings_and_tuples_take_their_long_type_codes() {
        let source = format!(
            "x = '{}'\ny = {}\nz = ({})\nélan_vital = 'élan vital'\ns = '\\ud800'\n",
            "a b ".repeat(75),
            "'_' * 300",
            "1,".repeat(300)
        );
        let Some(body) = same_as_cpython(&source) else { return };
        assert_eq!(count(&body, b"a\x2c\x01\x00\x00a b a"), 1);
        assert_eq!(count(&body, b"\xc1\x2c\x01\x00\x00___"), 1);
        assert_eq!(count(&body, b"(\x2c\x01\x00\x00"), 1);
        assert_eq!(count(&body, b"\xf4\x0b\x00\x00\x00\xc3\xa9lan_vital"), 1);
        assert_eq!(count(&body, b"u\x0b\x00\x00\x00\xc3\xa9lan vital"), 1);
        assert_eq!(count(&body, b"u\x03\x00\x00\x00\xed\xa0\x80"), 1);
    }

    #[test]
    fn other_constructs_round_trip() {
        let sources = [
            "def f(größe=1): pass\nf(größe=2)\nx = 'größe'\n",
            "f(größe=2)\nx = 'größe'\n",
            "x = 'größe'\nf(größe=2)\n",
            "f(größe=2)\nx = ('größe',)\n",
            "class Ü:\n    pass\nx = 'Ü'\ny = 'Üb'\nclass Üb: pass\n",
            "x = 'größe'\ndef f(größe=1): pass\nf(größe=2)\n",
            "import a.b\nx = 'a.b'\ndef f(): import a.b\ny = ('a.b',)\n",
            "y = ('a.b',)\ndef f(): import a.b\n",
            "def f[T](x: T) -> T: return x\nclass C[T]: pass\ntype X = int\ntype Y[T] = list[T]\n",
            "class C:\n    x = [i for i in range(3)]\n    y = {i: i for i in range(3)}\n",
            "class C:\n    def f(self): return super().f(), __class__\n",
            "x = ('a b', 'a b', 1000, 1000)\n",
            "lambda: 0\nf = lambda: (lambda: 1)\n",
            "def f():\n    \"doc\"\ndef g():\n    \"doc\"\nclass D:\n    \"doc\"\n",
            "x = {1, 1.0, True, 2} if a else 0\nfor i in {3, 'a', b'b', (1, 2), None, 2.5, 1j}: pass\n",
            "async def f():\n    async for x in y: yield x\n    await z\n",
            "try:\n    pass\nexcept* ValueError:\n    pass\n",
            "def f(x):\n    return x in {'a', 'b'}\ndef g(x):\n    return x in {'a', 'b'}, 2\n",
            "def f(x):\n    return x in {('a', 1), ('b', 2)}\ndef g(x):\n    return x in {('a', 1), ('b', 2)}, 2\n",
            "class A:\n    if x:\n        class B: pass\n    else:\n        class B: pass\n",
            "def f():\n    class B: pass\n    return B\n",
            "def f(x):\n    g(replace=1)\n    return x in {'replace', 'qq'}\ndef h(x):\n    return x in {'replace', 'qq'}, 1\n",
            "def f(x):\n    return x in {'replace', 'qq'}\ndef h(x):\n    g(replace=1)\n    return x in {'replace', 'qq'}, 1\n",
            "from m import name\ndef f(x): return x in {'name', 'qq'}\ndef g(x): return x in {'name', 'qq'}, 1\n",
            "class Spam: pass\ndef f(x): return x in {'Spam', 'qq'}\ndef g(x): return x in {'Spam', 'qq'}, 1\n",
            "def f(x): return x in {'Spam', 'qq'}\nclass Spam: pass\ndef g(x): return x in {'Spam', 'qq'}, 1\n",
            "def f(Spam): return 1\ndef g(x): return x in {'Spam', 'qq'}\ndef h(x): return x in {'Spam', 'qq'}, 1\n",
            "def f(): return x.Spam\nclass C:\n    def g(x): return x in {'Spam', 'qq'}\n    def h(x): return x in {'Spam', 'qq'}, 1\n",
        ];
        for source in sources {
            for level in 0..=2 {
                eprintln!("--- -O{level}\n{source}");
                same_as_cpython_at(source, level);
            }
        }
    }

    #[test]
    fn an_edited_string_list_merges_as_a_sort_would() {
        // The merging walk against the plain way: filter, chain, sort, dedup.
        let plain = |base: &[&'static str], added: &[&'static str], removed: &[&'static str]| {
            let mut items: Vec<&'static str> =
                base.iter().copied().filter(|i| !removed.contains(i)).chain(added.iter().copied()).collect();
            items.sort_unstable();
            items.dedup();
            items
        };
        let cases: &[(&[&str], &[&str], &[&str])] = &[
            (&["b", "d", "f"], &["a", "c", "d", "g"], &["d", "f", "z"]),
            (&[], &["a"], &[]),
            (&["a", "b"], &[], &["a", "b"]),
            (&["ab", "b"], &["aa", "b"], &["ab"]),
        ];
        for &(base, added, removed) in cases {
            assert_eq!(&*merge_edit(base, added, removed), plain(base, added, removed).as_slice());
        }
        for &(release, ..) in TABLES {
            let strings = crate::Target::candidate(release).unwrap().profile().strings;
            for list in [&strings.names, &strings.others] {
                assert!(list.added.is_sorted() && list.removed.is_sorted(), "{release:?}: a list out of order");
                assert!(list.items().is_sorted(), "{release:?}");
            }
        }
    }

    #[test]
    fn trees_deeper_than_marshal_writes_are_refused() {
        use crate::code::Constant;
        let mut constant = Constant::None;
        for _ in 0..pycache_marshal::MAX_DEPTH {
            constant = Constant::Tuple(vec![constant]);
        }
        let code = CodeObject { consts: vec![constant], ..CodeObject::default() };
        assert_eq!(
            marshal_code(&code, crate::Target::latest()),
            Err(MarshalError::TooDeep { limit: pycache_marshal::MAX_DEPTH })
        );
        let shallow = CodeObject { consts: vec![Constant::Tuple(vec![Constant::None])], ..CodeObject::default() };
        assert!(marshal_code(&shallow, crate::Target::latest()).is_ok());
    }

    /// Each generated table, with the release it was generated from.
    /// Each release's table, and the table it edits (`gen_tables.py --base`).
    const TABLES: &[((u8, u8, u8), &str, Option<&str>, &str)] = &[
        ((3, 12, 1), "tables.rs", None, include_str!("marshal/tables.rs")),
        ((3, 12, 7), "tables312_7.rs", None, include_str!("marshal/tables312_7.rs")),
        ((3, 13, 0), "tables313.rs", Some("tables.rs"), include_str!("marshal/tables313.rs")),
        ((3, 13, 5), "tables313_5.rs", Some("tables313.rs"), include_str!("marshal/tables313_5.rs")),
        ((3, 13, 15), "tables313_15.rs", Some("tables313.rs"), include_str!("marshal/tables313_15.rs")),
        ((3, 13, 18), "tables313_18.rs", Some("tables313.rs"), include_str!("marshal/tables313_18.rs")),
        ((3, 14, 10), "tables314.rs", Some("tables.rs"), include_str!("marshal/tables314.rs")),
        ((3, 15, 0), "tables315.rs", Some("tables313.rs"), include_str!("marshal/tables315.rs")),
        ((3, 15, 2), "tables315_2.rs", Some("tables315.rs"), include_str!("marshal/tables315_2.rs")),
    ];

    /// The strings of list `name` in a checked-in table's text.
    fn listed<'t>(text: &'t str, name: &str) -> Vec<&'t str> {
        let Some(list) = text.split(&format!("const {name}: &[&str] = &[")).nth(1) else { return Vec::new() };
        let list = list.split("\n];").next().unwrap();
        list.lines().filter_map(|l| l.trim().strip_prefix('"')?.strip_suffix("\",")).collect()
    }

    /// The complete names of a checked-in table, through its bases.
    fn complete_names(file: &str) -> Vec<&'static str> {
        let &(_, _, base, text) = TABLES.iter().find(|t| t.1 == file).unwrap();
        let Some(base) = base else { return listed(text, "FRESH_PROCESS_NAMES") };
        assert!(text.contains(&format!("// Edits {base}'s lists")), "{file}");
        let removed = listed(text, "REMOVED_NAMES");
        let mut names: Vec<&str> = complete_names(base).into_iter().filter(|n| !removed.contains(n)).collect();
        names.extend(listed(text, "ADDED_NAMES"));
        names.sort_unstable();
        names
    }

    #[test]
    fn the_fresh_process_table_is_up_to_date() {
        // What a fresh process interns can change between patch releases
        // and builds: each table belongs to the release named on its first
        // line, and each profile of that release uses it.
        for &(release, file, base, checked_in) in TABLES {
            let (major, minor, micro) = release;
            let target = crate::Target::candidate(release).unwrap();
            // The profile of the release is wired to this table.
            assert_eq!(target.profile().strings.names.items(), complete_names(file).as_slice(), "{file}");
            assert!(
                checked_in.lines().next().unwrap().contains(&format!("CPython {major}.{minor}.{micro},")),
                "{file}"
            );
            if release == (3, 12, 7) {
                // Pyodide's table: regenerated on demand (two minutes).
                if std::env::var_os("PYCACHE_PYODIDE_TABLES").is_none() {
                    eprintln!("SKIP the_fresh_process_table_is_up_to_date: {file} (set PYCACHE_PYODIDE_TABLES=1)");
                    continue;
                }
                if testing::pyodide(release, "the_fresh_process_table_is_up_to_date").is_none() {
                    continue;
                }
                let generator = concat!(env!("CARGO_MANIFEST_DIR"), "/src/marshal/gen_tables.py");
                let output = Command::new("python3").args([generator, "--pyodide"]).output().unwrap();
                assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
                assert!(output.stdout == checked_in.as_bytes(), "regenerate {file} with gen_tables.py --pyodide");
                continue;
            }
            let Some(python) = testing::release(release, "the_fresh_process_table_is_up_to_date") else { continue };
            let generator = concat!(env!("CARGO_MANIFEST_DIR"), "/src/marshal/gen_tables.py");
            let mut command = Command::new(&python.executable);
            command.arg(generator);
            if let Some(base) = base {
                command.args(["--base", &format!("{}/src/marshal/{base}", env!("CARGO_MANIFEST_DIR"))]);
            }
            let output = command.output().unwrap();
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            let generated = String::from_utf8(output.stdout).unwrap();
            let how = base.map(|base| format!(" --base src/marshal/{base}")).unwrap_or_default();
            assert!(generated == checked_in, "regenerate {file} with gen_tables.py{how} and {}", python.label());
        }
    }

    /// The cache `python -I -m py_compile mod.py` writes for `source`.
    fn py_compile_m(python: &pycache_python::Interpreter, dir: &std::path::Path, source: &str) -> Vec<u8> {
        std::fs::write(dir.join("mod.py"), source).unwrap();
        let output = Command::new(&python.executable)
            .args(["-I", "-m", "py_compile", "mod.py"])
            .env_remove("SOURCE_DATE_EPOCH")
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let (major, minor) = (python.version.0, python.version.1);
        std::fs::read(dir.join(format!("__pycache__/mod.cpython-{major}{minor}.pyc"))).unwrap()
    }

    #[test]
    fn regression_argparse_strings_are_interned_in_a_py_compile_process() {
        // `python -m py_compile` parses its arguments with argparse, which
        // interns its own names before the file is compiled: a literal
        // equal to one of them meets an interned twin, so the frozenset
        // two functions share is rebuilt in each (written twice). The
        // tables once modelled a `-c "import py_compile"` process, where
        // these names were not interned (one frozenset written).
        let source = "def f(x):\n    return x in {'BooleanOptionalAction', 'ArgumentDefaultsHelpFormatter'}\n\
                      def g(x):\n    return x in {'BooleanOptionalAction', 'ArgumentDefaultsHelpFormatter'}, 1\n";
        for release in [(3, 12, 1), (3, 13, 0), (3, 13, 5), (3, 13, 15), (3, 13, 18)] {
            let Some(python) = testing::release(release, "argparse strings") else { continue };
            let dir = tempfile::tempdir().unwrap();
            let reference = py_compile_m(&python, dir.path(), source);
            assert_eq!(count(&reference, b">\x02\x00\x00\x00"), 2, "{}", python.label());
            let target = crate::Target::candidate(release).unwrap();
            let code = crate::compile(source.as_bytes(), "mod.py", target, 0).unwrap();
            assert!(marshal_code(&code, target).unwrap() == reference[16..], "{}", python.label());
        }
    }

    #[test]
    fn regression_keyword_names_of_a_3_13_call_are_the_parsers_identifiers() {
        // test/pickletester.py: `SimpleNamespace(glöbal=42)`. From 3.13 the
        // keyword names are the constant loaded before CALL_KW (no
        // KW_NAMES), a tuple of the parser's interned identifiers: `t`,
        // not the literal `u` a non-ASCII string constant would be.
        let source = "f(glöbal=1)\ndef g():\n    return f(glöbal=2)\n";
        let Some(python) = testing::release((3, 13, 0), "keyword names of 3.13") else { return };
        let dir = tempfile::tempdir().unwrap();
        let reference = py_compile_m(&python, dir.path(), source);
        assert_eq!(count(&reference, b"\xf4\x07\x00\x00\x00gl\xc3\xb6bal"), 1);
        let target = crate::Target::candidate((3, 13, 0)).unwrap();
        let code = crate::compile(source.as_bytes(), "mod.py", target, 0).unwrap();
        assert!(marshal_code(&code, target).unwrap() == reference[16..]);
    }

    #[test]
    fn regression_a_class_qualname_meets_a_function_qualname_interned_before_in_3_13() {
        // test/test_functools.py: `def _` twice, then `class _`, in one
        // method. From 3.13 each code object interns its qualified name,
        // so the class body's code object takes the functions' interned
        // `T.m.<locals>._` and its `__qualname__` constant stays an object
        // of its own, held once (`z`, unflagged).
        let source = "class T:\n    def m(self):\n        def _(arg): return 1\n        def _(arg): return 2\n\
                      \x20       class _:\n            def f(self): pass\n";
        let Some(python) = testing::release((3, 13, 0), "class qualnames of 3.13") else { return };
        let dir = tempfile::tempdir().unwrap();
        let reference = py_compile_m(&python, dir.path(), source);
        assert_eq!(count(&reference, b"z\x0eT.m.<locals>._"), 1);
        let target = crate::Target::candidate((3, 13, 0)).unwrap();
        let code = crate::compile(source.as_bytes(), "mod.py", target, 0).unwrap();
        assert!(marshal_code(&code, target).unwrap() == reference[16..]);
    }
}
