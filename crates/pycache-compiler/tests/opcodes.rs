//! The stack effects written in `instr.rs` against each profiled version's
//! own `dis.stack_effect`, for every opcode and a range of arguments.

use pycache_compiler::Target;
use pycache_compiler::instr::stack_effect;
use pycache_python::testing::reference;

const SCRIPT: &str = r#"
import dis, opcode, sys
for name, op in sorted(opcode.opmap.items(), key=lambda kv: kv[1]):
    if name.startswith('INSTRUMENTED') or name in ('CACHE', 'RESERVED', 'ENTER_EXECUTOR'):
        continue
    if op in opcode._specialized_instructions if hasattr(opcode, '_specialized_instructions') else False:
        continue
    args = range(0, 600, 7) if op in opcode.hasarg else [None]
    for arg in args:
        for jump in (False, True):
            try:
                effect = dis.stack_effect(op, arg, jump=jump) if arg is not None else dis.stack_effect(op, jump=jump)
            except ValueError:
                continue
            print(op, -1 if arg is None else arg, int(jump), effect)
"#;

/// For each feature version with a profile (verified or not): the interpreter of
/// that version found by discovery, against the newest profile of it.
#[test]
fn stack_effects_match_the_interpreter() {
    use pycache_compiler::target::{UNVERIFIED, VERIFIED};
    let mut versions: Vec<(u8, u8)> = VERIFIED.iter().chain(UNVERIFIED).map(|p| p.version()).collect();
    versions.sort();
    versions.dedup();
    for (major, minor) in versions {
        let Some(python) = reference(major, minor, "stack_effects_match_the_interpreter") else { continue };
        // The interpreter's own profile, else any of its version (the
        // effects are the version's).
        let target = Target::candidate(python.version)
            .or_else(|| {
                VERIFIED.iter().chain(UNVERIFIED).find(|p| p.version() == (major, minor)).and_then(|p| Target::of(p))
            })
            .unwrap();
        check(&python.path, target, &python.label());
    }
}

fn check(python: &std::path::Path, target: Target, label: &str) {
    let out = std::process::Command::new(python).arg("-c").arg(SCRIPT).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let ops = target.ops();
    let mut checked = 0;
    let mut problems = Vec::new();
    for line in text.lines() {
        let f: Vec<i64> = line.split_whitespace().map(|x| x.parse().unwrap()).collect();
        let (number, arg, jump, effect) = (f[0] as u16, f[1].max(0) as i32, f[2] == 1, f[3] as i32);
        let op = ops.op(number).unwrap_or_else(|| panic!("no Op numbered {number}"));
        assert_eq!(ops.has_arg(op), f[1] >= 0, "has_arg({op:?})");
        match stack_effect(target, op, arg, jump) {
            Some(ours) if ours == effect => checked += 1,
            ours => problems.push(format!("op {op:?} arg {arg} jump {jump}: ours {ours:?}, CPython {effect}")),
        }
    }
    eprintln!("{checked} stack effects of {target:?} agree with CPython {label}");
    assert!(problems.is_empty(), "{target:?}:\n{}", problems.join("\n"));
    assert!(checked > 1000);
}
