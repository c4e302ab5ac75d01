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
use crate::target::{Feature, Target};
use crate::{
    Compiled, DEADLINE, assemble, check_deadline, codegen, flowgraph, fold, future, lower, nesting, source, symtable,
};

/// The stack the stages run on. They recurse over the tree, which the
/// limits checked first keep within a few thousand levels (a 64 MiB stack
/// holds ten times what the deepest file CPython accepts needs, in a debug
/// build); ruff's tree of a rejected file can be far deeper, and dropping
/// it takes a few dozen bytes of stack per level, hence the share per
/// source byte. The stack is reserved, not touched, so what is not used
/// costs nothing. A thread that already has that much stack left (the
/// workers of `pycache compile` are started with [`WORKER_STACK`]) runs
/// the stages in place: a fresh stack per file costs a map, an unmap and a
/// page fault for every page the file's recursion touches.
const STACK_BASE: usize = 64 << 20;
const STACK_PER_SOURCE_BYTE: usize = 64;

/// The stack a thread that compiles many files should be started with, so
/// that [`compile`] and marshal run in place for all but sources of several
/// megabytes (address space only: the pages are touched as the recursion
/// needs them, and reused from file to file).
pub const WORKER_STACK: usize = 512 << 20;

pub(crate) fn compile(source: &[u8], filename: PyStr, target: Target, optimize: u8) -> Result<Compiled, Refusal> {
    let deadline = DEADLINE.with(|d| d.get());
    let stack = STACK_BASE.saturating_add(source.len().saturating_mul(STACK_PER_SOURCE_BYTE));
    // stacker runs the closure on this thread, so the deadline carries over.
    let run = std::panic::AssertUnwindSafe(|| {
        stacker::maybe_grow(stack, stack, || {
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
    compile_with(source, filename, target, optimize, finish_unit)
}

fn compile_with(
    source: &[u8],
    filename: PyStr,
    target: Target,
    optimize: u8,
    backend: codegen::Backend,
) -> Result<Compiled, Refusal> {
    let raw = source;
    let source = source::Source::decode(source)?;
    let (mut module, mut warnings, shape) = match lower::parse(&source, target) {
        Err(refusal) if lower::is_tstring_error(target, &refusal, &source) => {
            // The second pass of the parser of 3.12 and 3.13 words errors
            // of its own wherever something else is wrong before: the
            // plain "invalid syntax" is sure only in a file that is
            // otherwise good Python 3.14.
            let later = Target::of(&crate::target::CPYTHON_3_14_8).expect("the 3.14 profile");
            return Err(match compile_with(raw, filename, later, optimize, backend) {
                Ok(_) => refusal,
                Err(_) => lower::tstring_error_unsure(&refusal),
            });
        }
        parsed => parsed?,
    };
    nesting::check(&module, &shape, &source, target.limits()).map_err(|refusal| {
        if target.has(Feature::StackMeasuredRecursion) && refusal.exception == Some("RecursionError") {
            Refusal::unsupported(format!(
                "nested beyond {} levels: CPython {} limits the compiler by its C stack, which the native compiler \
                 does not measure",
                target.limits().compiler_recursion,
                target.release()
            ))
        } else if target.has(Feature::UnmeasuredRecursionLimit) && refusal.exception == Some("RecursionError") {
            Refusal::unsupported(format!(
                "nested beyond {} levels: CPython {}'s compiler recursion limit is not measured (Pyodide's build \
                 overflows its stack first)",
                target.limits().compiler_recursion,
                target.release()
            ))
        } else {
            refusal
        }
    })?;
    check_deadline()?;
    let flags = future::features(&module)?;
    let folder = fold::Folder {
        limits: target.limits(),
        optimize,
        future_annotations: flags.annotations,
        cfg_folding: target.has(Feature::CfgFolding),
        mixed_complex: target.has(Feature::MixedModeComplex),
        warnings: Default::default(),
    };
    folder.module(&mut module)?;
    warnings.append(&mut folder.warnings.into_inner());
    check_deadline()?;
    let mut st = symtable::build(&module, flags.annotations, target)?;
    check_deadline()?;
    let mut compiler = codegen::Compiler::new(target, backend, &mut st, filename, optimize, flags);
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

thread_local! {
    /// The listing of the last unit [`listing_backend`] saw.
    static LISTING: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// The module unit as code generation leaves it, before the flow graph:
/// one line per instruction, `NAME ARG LINENO END_LINENO COL END_COL`
/// (jumps by the index of their target instruction, `None` for an op
/// without argument), then its constants, names and varnames. The format
/// of `tests/codegen.rs`' script for `_testinternalcapi.compiler_codegen`.
pub(crate) fn codegen_listing(source: &[u8], filename: PyStr, target: Target, optimize: u8) -> Result<String, Refusal> {
    let run = || stacker::grow(STACK_BASE, || compile_with(source, filename, target, optimize, listing_backend));
    let out = run();
    let listing = LISTING.with(|l| std::mem::take(&mut *l.borrow_mut()));
    out.map(|_| listing)
}

/// A back end that lists each unit before finishing it; the module is the
/// last unit finished, so its listing is what stays.
fn listing_backend(target: Target, unit: UnitIr<'_>) -> Result<CodeObject, Refusal> {
    use std::fmt::Write;
    let ops = target.ops();
    let mut out = String::new();
    for instr in &unit.seq.instrs {
        let arg = if crate::instr::has_target_in(target, instr.op) {
            unit.seq.labelmap.get(instr.arg as usize).copied().unwrap_or(-1).to_string()
        } else if ops.has_arg(instr.op) {
            instr.arg.to_string()
        } else {
            "None".to_owned()
        };
        let l = instr.loc;
        let _ = writeln!(
            out,
            "{} {arg} {} {} {} {}",
            instr.op.name(),
            l.lineno,
            l.end_lineno,
            l.col_offset,
            l.end_col_offset
        );
    }
    let consts: Vec<String> = unit.md.consts.iter().map(listing_const).collect();
    let _ = writeln!(out, "consts {}", consts.join(" "));
    let names: Vec<String> = unit.md.names.ordered().iter().map(|n| listing_str(n)).collect();
    let _ = writeln!(out, "names {}", names.join(" "));
    let varnames: Vec<String> = unit.md.varnames.ordered().iter().map(|n| listing_str(n)).collect();
    let _ = writeln!(out, "varnames {}", varnames.join(" "));
    LISTING.with(|l| *l.borrow_mut() = out);
    // The later stages are not what is listed: a stand-in code object with
    // the unit's name and free variables (what its parent's closure reads),
    // and a serial number so that no two stand-ins merge as constants.
    static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let freevars = unit.md.freevars.ordered();
    Ok(CodeObject {
        name: unit.md.name.clone(),
        qualname: unit.md.qualname.clone().unwrap_or_else(|| unit.md.name.clone()),
        localspluskinds: vec![crate::code::kind::FREE; freevars.len()],
        localsplusnames: freevars,
        code: serial.to_le_bytes().to_vec(),
        filename: unit.filename.clone(),
        ..CodeObject::default()
    })
}

fn listing_str(s: &PyStr) -> String {
    s.code_points()
        .iter()
        .map(|&c| match char::from_u32(c) {
            Some(ch) if ch.is_ascii_graphic() && ch != '\\' => ch.to_string(),
            _ => format!("\\u{c:x}"),
        })
        .collect()
}

fn listing_const(c: &crate::code::Constant) -> String {
    use crate::code::Constant as C;
    match c {
        C::None => "None".into(),
        C::Bool(b) => if *b { "True" } else { "False" }.into(),
        C::Ellipsis => "Ellipsis".into(),
        C::Int(i) => i.to_string(),
        C::Float(f) => format!("f{:x}", f.to_bits()),
        C::Complex { real, imag } => format!("c{:x},{:x}", real.to_bits(), imag.to_bits()),
        C::Str(s) => format!("'{}'", listing_str(s)),
        C::Bytes(b) => format!("b{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
        C::Tuple(items) => format!("({})", items.iter().map(listing_const).collect::<Vec<_>>().join(",")),
        C::FrozenSet(items) => {
            let mut v: Vec<String> = items.iter().map(listing_const).collect();
            v.sort();
            format!("{{{}}}", v.join(","))
        }
        C::Slice(parts) => format!("slice({})", parts.iter().map(listing_const).collect::<Vec<_>>().join(",")),
        C::Code(code) => format!("<code {}>", listing_str(&code.name)),
    }
}
