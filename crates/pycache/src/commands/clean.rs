use std::process::ExitCode;

use pycache_doctor::clean::{CleanOptions, Reason, clean};
use pycache_doctor::find_interpreter_safely;
use pycache_python::{ProbeCache, PythonRequest};

use crate::cli::{CleanArgs, Format, GlobalArgs};
use crate::output::{Out, count};

fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return count(n as usize, "byte", "bytes");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn reason(reason: Reason) -> &'static str {
    match reason {
        Reason::Orphan => "orphan",
        Reason::Foreign => "foreign",
        Reason::Stale => "stale",
        Reason::Debris => "debris",
        Reason::Cache => "cache",
    }
}

pub fn run(global: &GlobalArgs, args: CleanArgs) -> anyhow::Result<ExitCode> {
    let needs_pythons = args.foreign || args.stale;
    let mut keep = Vec::new();
    if needs_pythons {
        let probes = ProbeCache::open_default();
        let requests: Vec<PythonRequest> = if args.python.is_empty() {
            vec![PythonRequest::Default]
        } else {
            args.python.iter().map(|p| p.parse()).collect::<Result<_, _>>()?
        };
        for request in &requests {
            // Never run as root an interpreter another user can change.
            keep.push(find_interpreter_safely(request, &probes)?);
        }
        probes.save();
        if args.python.is_empty() && global.quiet == 0 {
            eprintln!(
                "keeping the caches of {} (the default interpreter; use --python to choose)",
                keep.iter().map(|p| p.label()).collect::<Vec<_>>().join(", ")
            );
        }
    }
    let options = CleanOptions {
        paths: args.paths.clone(),
        orphans: args.orphans,
        foreign: args.foreign,
        stale: args.stale,
        debris: args.debris,
        all: args.all,
        keep,
        cache_prefix: args.cache_prefix.clone(),
        cross_filesystems: args.cross_filesystems,
        dry_run: args.dry_run,
    };
    let report = clean(&options)?;
    let mut out = Out::new();
    match args.format {
        Format::Json => out.json(&report)?,
        Format::Text if global.quiet < 2 => {
            let verb = if args.dry_run { "would remove" } else { "removed" };
            if global.quiet == 0 {
                for removal in &report.removed {
                    let detail =
                        if removal.detail.is_empty() { String::new() } else { format!(": {}", removal.detail) };
                    out.line(format_args!(
                        "{verb} {} ({}{detail}, {})",
                        removal.path.display(),
                        reason(removal.reason),
                        bytes(removal.bytes)
                    ))?;
                }
                for dir in &report.dirs {
                    out.line(format_args!("{verb} empty {}", dir.display()))?;
                }
                for kept in &report.kept {
                    out.line(format_args!("kept {}: {}", kept.path.display(), kept.why))?;
                }
            }
            for failure in &report.failed {
                out.line(format_args!("error: cannot remove {}: {}", failure.path.display(), failure.error))?;
            }
            let s = &report.summary;
            out.line(format_args!(
                "{} {}, {} freed, {}{}",
                if args.dry_run { "would remove" } else { "removed" },
                count(s.files, "file", "files"),
                bytes(s.bytes),
                count(s.dirs, "empty __pycache__ directory", "empty __pycache__ directories"),
                if s.failed > 0 { format!("; {} failed", s.failed) } else { String::new() }
            ))?;
        }
        Format::Text => {}
    }
    out.flush()?;
    Ok(if report.summary.failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
