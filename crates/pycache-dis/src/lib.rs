//! The contents of a CPython cache of any version, explained offline.
//!
//! Starting from the marshal tree of `pycache-marshal`, this crate finds
//! every code object ([`code_views`], the module first, then nested ones
//! depth first, as `dis` lists them), decodes its bytecode with that
//! version's opcode table from `pycache-opcode` ([`decode`]): EXTENDED_ARG
//! folding, inline caches (3.11+), arguments resolved as that version's
//! `dis` resolves them, line numbers from `co_lnotab` (up to 3.9), the 3.10
//! line table or the 3.11+ location table with columns, and the 3.11+
//! exception table. [`text`] prints what `python -m dis` prints; [`json`]
//! gives the same as data; [`diff`] explains how two caches differ.
//!
//! ```no_run
//! let bytes = std::fs::read("__pycache__/mod.cpython-312.pyc").unwrap();
//! let pyc = pycache_marshal::read_pyc(&bytes).unwrap();
//! let refs = pycache_marshal::RefTable::new(&pyc.code).unwrap();
//! let options = pycache_dis::DecodeOptions::default();
//! for code in pycache_dis::disassemble(&pyc.code, &refs, pyc.format.version(), options).unwrap() {
//!     println!("{}: {} instructions", code.view.qualname, code.instructions.len());
//! }
//! ```

mod decode;
pub mod diff;
mod error;
pub mod exceptions;
pub mod json;
pub mod lines;
mod printable;
pub mod pyrepr;
#[cfg(test)]
mod testutil;
pub mod text;
mod view;

use std::collections::HashSet;

use pycache_marshal::{Code, Object, RefTable};
use pycache_pyc::PyVersion;

pub use decode::{ArgVal, DecodeOptions, Decoded, Instruction, decode};
pub use error::DisError;
pub use view::{CodeView, pretty_flags};

/// Code objects deeper than this are not listed (real code nests a few
/// levels; a hostile cache could nest thousands).
pub const MAX_NESTING: usize = 200;

/// Every code object of a module, the module first, then each constant
/// that is a code object followed by its own, depth first (the order of
/// `dis.dis`). Before 3.11, which stores no qualified names, qualnames are
/// derived as the compiler makes them: `f.<locals>.g` inside functions,
/// `C.m` inside classes.
///
/// A code object reached a second time (through a marshal reference) is
/// listed once, where first met: `dis` would list it again, but compilers
/// never share code objects, and a crafted cache could otherwise make the
/// list exponentially long.
pub fn code_views<'a>(
    root: &'a Object,
    refs: &RefTable<'a>,
    version: PyVersion,
) -> Result<Vec<CodeView<'a>>, DisError> {
    let root = refs.resolve(root)?;
    let code = root.as_code().ok_or_else(|| DisError::NotCode(root.value.summary()))?;
    subtree_views(code, None, refs, version)
}

/// A code object and those nested in it, as [`code_views`] lists them;
/// `qualname` names the first (derived names of the nested ones start
/// from it).
pub fn subtree_views<'a>(
    code: &'a Code,
    qualname: Option<String>,
    refs: &RefTable<'a>,
    version: PyVersion,
) -> Result<Vec<CodeView<'a>>, DisError> {
    let mut out = Vec::new();
    let top_is_module = qualname.is_none();
    let mut stack = vec![(code, qualname, 0usize)];
    let mut seen: HashSet<*const Code> = HashSet::new();
    while let Some((code, qualname, depth)) = stack.pop() {
        if !seen.insert(code) {
            continue;
        }
        let view = CodeView::new(code, refs, version, qualname)?;
        if depth < MAX_NESTING {
            let parent = if depth == 0 && top_is_module { None } else { Some(view.qualname.clone()) };
            let function = view.is_function();
            let children: Vec<_> = view.nested().collect();
            for child in children.into_iter().rev() {
                let name = match refs.resolve(child.name()).map(|o| &o.value) {
                    Ok(pycache_marshal::Value::Str(s)) => s.to_string_lossy().into_owned(),
                    _ => "?".to_owned(),
                };
                let qualname = match &parent {
                    None => name,
                    Some(p) if function => format!("{p}.<locals>.{name}"),
                    Some(p) => format!("{p}.{name}"),
                };
                stack.push((child, Some(qualname), depth + 1));
            }
        }
        out.push(view);
    }
    Ok(out)
}

/// [`code_views`], each decoded.
pub fn disassemble<'a>(
    root: &'a Object,
    refs: &'a RefTable<'a>,
    version: PyVersion,
    options: DecodeOptions,
) -> Result<Vec<Decoded<'a>>, DisError> {
    code_views(root, refs, version)?.into_iter().map(|view| decode(view, refs, options)).collect()
}

#[cfg(test)]
mod tests {
    use pycache_marshal::{Object, RefTable};
    use pycache_pyc::PyVersion;

    use super::*;
    use crate::testutil::code;

    #[test]
    fn regression_shared_code_objects_are_listed_once() {
        // Found by the fuzz test: each level's constants hold the level
        // below twice, the second time as a reference, so that 40 levels
        // listed 2**40 code objects.
        let version = PyVersion::new(3, 12);
        let levels = 40;
        let mut tree = code(version, &[], vec![Object::none()], &[], &[], &[], &[]).flagged();
        for level in 1..=levels {
            // Flagged objects are numbered outermost first.
            let below = Object::reference(levels - level + 1);
            tree = code(version, &[], vec![Object::none(), tree, below], &[], &[], &[], &[]).flagged();
        }
        let refs = RefTable::new(&tree).unwrap();
        let views = code_views(&tree, &refs, version).unwrap();
        assert_eq!(views.len(), levels as usize + 1);
        assert!(diff::compare_code((&tree, &refs, version), (&tree, &refs, version)).unwrap().is_empty());
    }
}
