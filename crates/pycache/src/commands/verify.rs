use std::process::ExitCode;
use std::time::{Duration, Instant};

use pycache_python::{ProbeCache, PythonRequest, find_interpreter};
use pycache_verify::{Reference, Verdict, VerifyOptions, VerifyReport};

use super::compile::{exclude_pattern, jobs, read_list};
use crate::cli::{Format, GlobalArgs, ReferenceArg, VerifyArgs};
use crate::output::{Out, count};
use crate::progress::Bar;

pub fn run(global: &GlobalArgs, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut paths = args.paths.clone();
    if let Some(list) = &args.files_from {
        paths.extend(read_list(list)?);
    }
    let exclude = exclude_pattern(args.exclude.as_deref())?;
    let cache = ProbeCache::open_default();
    let request: PythonRequest = args.python.parse()?;
    let interpreter = find_interpreter(&request, &cache)?;
    cache.save();
    let jobs = jobs(args.jobs);
    let options = VerifyOptions {
        paths,
        exclude,
        max_depth: args.max_depth.or(args.no_recurse.then_some(0)),
        levels: if args.optimize.is_empty() { vec![0] } else { args.optimize.clone() },
        reference: match args.reference {
            ReferenceArg::Fresh => Reference::Fresh,
            ReferenceArg::Compileall => Reference::Compileall,
        },
        jobs,
        timeout: (args.timeout > 0).then(|| Duration::from_secs(args.timeout)),
    };
    let bar = Bar::new(global.quiet == 0 && !global.no_progress);
    let report = pycache_verify::verify(&options, &interpreter, &bar)?;
    let mut out = Out::new();
    match args.format {
        Format::Json => out.json(&report)?,
        Format::Text => print_text(&mut out, global, &report, started.elapsed())?,
    }
    out.flush()?;
    Ok(if report.has_wrong() || report.has_errors() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn print_text(out: &mut Out, global: &GlobalArgs, report: &VerifyReport, elapsed: Duration) -> anyhow::Result<()> {
    if global.quiet >= 2 {
        return Ok(());
    }
    for file in &report.files {
        let level = file.optimize.map(|l| format!(" (level {l})")).unwrap_or_default();
        let path = file.path.display();
        match &file.verdict {
            Verdict::Identical | Verdict::RejectedByBoth { .. } if global.verbose == 0 => {}
            Verdict::Identical => out.line(format_args!("identical `{path}`{level}"))?,
            Verdict::RejectedByBoth { interpreter, .. } => {
                let last = interpreter.lines().last().unwrap_or_default();
                out.line(format_args!("rejected by both `{path}`{level}: {last}"))?;
            }
            Verdict::CodeEqual { detail } => out.line(format_args!("code-equal `{path}`{level}: {detail}"))?,
            Verdict::Different { differences, other } => {
                out.line(format_args!("DIFFERENT `{path}`{level}:"))?;
                for diff in differences {
                    let at = diff.offset.map(|o| format!(" at offset {o}")).unwrap_or_default();
                    out.line(format_args!(
                        "    {}: {}{at}: native {} vs interpreter {}",
                        diff.qualname, diff.field, diff.left, diff.right
                    ))?;
                }
                if let Some(other) = other {
                    out.line(format_args!("    {other}"))?;
                }
            }
            Verdict::Declined { reason } => out.line(format_args!("declined `{path}`{level}: {reason}"))?,
            Verdict::InterpreterRejected { interpreter } => {
                let last = interpreter.lines().last().unwrap_or_default();
                out.line(format_args!("WRONGLY ACCEPTED `{path}`{level}: the interpreter says {last}"))?;
            }
            Verdict::WronglyRejected { native } => out.line(format_args!(
                "WRONGLY REJECTED `{path}`{level}: native says {native}, the interpreter compiles it"
            ))?,
            Verdict::RejectedDifferently { native, interpreter } => {
                let last = interpreter.lines().last().unwrap_or_default();
                out.line(format_args!(
                    "REJECTED DIFFERENTLY `{path}`{level}: native says {native}, the interpreter {last}"
                ))?;
            }
            Verdict::Error { message } => out.line(format_args!("error: `{path}`{level}: {message}"))?,
        }
    }
    if global.quiet >= 1 {
        return Ok(());
    }
    let reference = match report.reference {
        Reference::Fresh => "fresh py_compile",
        Reference::Compileall => "compileall workers",
    };
    for row in &report.summary {
        out.line(format_args!(
            "{} level {} against {reference}: {}, {} byte-identical ({:.1}%), {} code-equal ({:.1}% with the identical), \
             {} different, {} declined, {} rejected by both{}{}{}",
            report.python,
            row.optimize,
            count(row.files, "file", "files"),
            row.identical,
            row.identical_share(),
            row.code_equal,
            row.code_equal_share(),
            row.different,
            row.declined,
            row.rejected_by_both,
            if row.interpreter_rejected > 0 { format!(", {} wrongly accepted", row.interpreter_rejected) } else { String::new() },
            if row.wrongly_rejected > 0 { format!(", {} wrongly rejected", row.wrongly_rejected) } else { String::new() },
            if row.errors > 0 { format!(", {} errors", row.errors) } else { String::new() },
        ))?;
    }
    out.line(format_args!("checked in {:.2}s", elapsed.as_secs_f64()))?;
    Ok(())
}
