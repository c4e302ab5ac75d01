//! The driver: runs the stages in order for one target, each handing the
//! next its output.
//!
//! ```text
//! source ─▶ lower ─▶ nesting ─▶ future ─▶ fold ─▶ symtable ─▶ codegen
//!                                        per finished code unit: ─▶ flowgraph ─▶ assemble
//! (then, on the module's code object, marshal: `Compiled::marshal`)
//! ```
//!
//! Code generation does not know the stages after it: it hands each
//! finished unit to [`finish_unit`], which the driver gives it as its
//! back end, and receives the unit's code object (a nested one becomes a
//! constant of its parent).

use crate::code::{CodeObject, PyStr};
use crate::error::Refusal;
use crate::ir::UnitIr;
use crate::target::Target;
use crate::{
    Compiled, DEADLINE, assemble, check_deadline, codegen, flowgraph, fold, future, lower, nesting, source, symtable,
};

/// The stack the stages run on. They recurse over the tree, which the
/// limits checked first keep within a few thousand levels (a 64 MiB stack
/// holds ten times what the deepest file CPython accepts needs, in a debug
/// build); ruff's tree of a rejected file can be far deeper, and dropping
/// it takes a few dozen bytes of stack per level, hence the share per
/// source byte. The stack is reserved, not touched, so what is not used
/// costs nothing.
const STACK_BASE: usize = 64 << 20;
const STACK_PER_SOURCE_BYTE: usize = 64;

pub(crate) fn compile(source: &[u8], filename: PyStr, target: Target, optimize: u8) -> Result<Compiled, Refusal> {
    let deadline = DEADLINE.with(|d| d.get());
    let stack = STACK_BASE.saturating_add(source.len().saturating_mul(STACK_PER_SOURCE_BYTE));
    // stacker runs the closure on this thread, so the deadline carries over.
    let run = std::panic::AssertUnwindSafe(|| {
        stacker::grow(stack, || {
            DEADLINE.with(|d| d.set(deadline));
            compile_on_stack(source, filename, target, optimize)
        })
    });
    // A panic is a bug of ours: the file is declined, and the run goes on.
    std::panic::catch_unwind(run).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Refusal::internal(format!("the native compiler panicked: {what}")))
    })
}

fn compile_on_stack(source: &[u8], filename: PyStr, target: Target, optimize: u8) -> Result<Compiled, Refusal> {
    let source = source::Source::decode(source)?;
    let (mut module, mut warnings, shape) = lower::parse(&source, target)?;
    nesting::check(&module, &shape, &source, target.limits())?;
    check_deadline()?;
    let flags = future::features(&module)?;
    let folder = fold::Folder { optimize, future_annotations: flags.annotations, warnings: Default::default() };
    folder.module(&mut module)?;
    warnings.append(&mut folder.warnings.into_inner());
    check_deadline()?;
    let mut st = symtable::build(&module, flags.annotations)?;
    check_deadline()?;
    let mut compiler = codegen::Compiler::new(target, finish_unit, &mut st, filename, optimize, flags);
    let code = compiler.module(&module)?;
    warnings.append(&mut compiler.warnings);
    Ok(Compiled { code, warnings, target })
}

/// The back end of code generation: one finished unit through the flow
/// graph and assembly.
pub(crate) fn finish_unit(target: Target, unit: UnitIr<'_>) -> Result<CodeObject, Refusal> {
    let assembly = flowgraph::optimize(target, unit.md, unit.seq, unit.code_flags, unit.nparams)?;
    assemble::make_code(target, unit.md, assembly, unit.code_flags, unit.filename)
}
