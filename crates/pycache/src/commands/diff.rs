use std::process::ExitCode;

use pycache_dis::diff::compare_pycs;

use super::dis::read_cache;
use crate::cli::{DiffArgs, Format};
use crate::output::Out;

pub fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let (left_bytes, left) = read_cache(&args.left)?;
    let (right_bytes, right) = read_cache(&args.right)?;
    let report = compare_pycs(&left, &left_bytes, &right, &right_bytes)?;
    let mut out = Out::new();
    match args.format {
        Format::Json => out.json(&report)?,
        Format::Text => {
            if report.identical {
                out.line("identical")?;
            }
            if !report.header.is_empty() {
                out.line("header:")?;
                for field in &report.header {
                    out.line(format_args!("  {}: {} vs {}", field.field, field.left, field.right))?;
                }
            }
            if !report.code.is_empty() {
                out.line("code objects:")?;
                for diff in &report.code {
                    let at = diff.offset.map(|o| format!(" at offset {o}")).unwrap_or_default();
                    out.line(format_args!("  {}: {}{at}: {} vs {}", diff.qualname, diff.field, diff.left, diff.right))?;
                }
            }
            if report.flags_only {
                out.line("bodies: marshal reference flags only (the same objects, shared or interned differently)")?;
            }
            if let Some(other) = &report.other {
                out.line(format_args!("bodies: {other}"))?;
            }
        }
    }
    out.flush()?;
    Ok(if report.identical { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
