use std::process::ExitCode;
use std::time::Duration;

use pycache_doctor::cost::{Cost, CostItem, CostKind, When};
use pycache_doctor::probe::{Observed, ProbeOptions, ProbeReport};
use pycache_doctor::{Code, Deployment, Diagnosis, Finding, Libraries, Report, Settings, Severity, access, diagnose};
use pycache_python::ProbeCache;
use serde::Serialize;

use crate::cli::{DoctorArgs, Format, GlobalArgs};
use crate::output::{Out, count};
use crate::progress::Bar;

/// Findings shown per code before "and N more" (all with -v).
const SHOWN: usize = 10;

#[derive(Serialize)]
struct Json<'a> {
    #[serde(flatten)]
    report: &'a Report,
    predictions: &'a [pycache_doctor::PredictionRow],
}

pub fn run(global: &GlobalArgs, args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings {
        paths: args.paths.clone(),
        python: args.python.clone(),
        user: args.user.clone(),
        group: args.group.clone(),
        optimize: args.optimize,
        server_config: args.server_config.clone(),
        cache_prefix: args.cache_prefix.clone(),
        dont_write_bytecode: args.dont_write_bytecode,
        scripts: args.script.clone(),
        cross_filesystems: args.cross_filesystems,
        libraries: if args.probe { Libraries::Probed } else { Libraries::SysPath },
    };
    let probes = ProbeCache::open_default();
    let deployment = Deployment::resolve(&settings, &probes)?;
    probes.save();
    let oracle = access::oracle_for(&deployment.user);
    let bar = Bar::new(global.quiet == 0 && !global.no_progress);
    let mut diagnosis = diagnose(&deployment, oracle.as_ref(), &bar);
    if args.probe {
        let options = ProbeOptions { timeout: Duration::from_secs(args.probe_timeout.max(1)) };
        let probe = pycache_doctor::probe::probe(&deployment, &diagnosis, options)?;
        diagnosis.apply_probe(&deployment, probe);
    }
    let Diagnosis { report, predictions, .. } = diagnosis;
    let mut out = Out::new();
    match args.format {
        Format::Json => out.json(&Json { report: &report, predictions: &predictions })?,
        Format::Text => print_text(&mut out, global, &deployment, &report)?,
    }
    out.flush()?;
    let disagreed = report.probe.as_ref().is_some_and(|p| p.disagreed + p.library_disagreed > 0);
    Ok(if report.has_problems() || disagreed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn print_text(out: &mut Out, global: &GlobalArgs, deployment: &Deployment, report: &Report) -> anyhow::Result<()> {
    if global.quiet >= 2 {
        return Ok(());
    }
    let pythons = deployment.targets.iter().map(|t| t.label()).collect::<Vec<_>>().join(", ");
    if global.quiet == 0 {
        out.line(format_args!(
            "{} and {}; Python {pythons} at level {} as `{}`{}",
            count(report.summary.sources, "source", "sources"),
            count(report.summary.caches, "cache", "caches"),
            deployment.optimize,
            deployment.user.name,
            deployment.cache_prefix.as_ref().map(|p| format!(", pycache prefix `{}`", p.display())).unwrap_or_default()
        ))?;
    }
    // Findings arrive most severe first, then by code: one group per code.
    let mut groups: Vec<(Severity, Code, Vec<&Finding>)> = Vec::new();
    for finding in &report.findings {
        match groups.last_mut() {
            Some((severity, code, items)) if *severity == finding.severity && *code == finding.code => {
                items.push(finding)
            }
            _ => groups.push((finding.severity, finding.code, vec![finding])),
        }
    }
    for (severity, code, items) in &groups {
        if global.quiet >= 1 && *severity == Severity::Info {
            continue;
        }
        out.line("")?;
        out.line(format_args!("{severity}: {code} ({}): {}", items.len(), code.why()))?;
        let shared_fix = items.iter().all(|f| f.fix == items[0].fix);
        let limit = if global.verbose > 0 { usize::MAX } else { SHOWN };
        for finding in items.iter().take(limit) {
            let python = finding.python.as_deref().map(|p| format!(" [{p}]")).unwrap_or_default();
            out.line(format_args!("  {}{python}", finding.path.display()))?;
            out.line(format_args!("      {}", finding.message))?;
            if !shared_fix {
                out.line(format_args!("      fix: {}", finding.fix))?;
            }
        }
        if items.len() > limit {
            out.line(format_args!("  ... and {} more (-v shows all; --format json lists all)", items.len() - limit))?;
        }
        if shared_fix {
            out.line(format_args!("  fix: {}", items[0].fix))?;
        }
    }
    if let Some(probe) = &report.probe {
        print_probe(out, global, probe)?;
    }
    if global.quiet == 0 && !report.notes.is_empty() {
        out.line("")?;
        out.line("notes:")?;
        for note in &report.notes {
            out.line(format_args!("  - {note}"))?;
        }
    }
    let s = &report.summary;
    out.line("")?;
    out.line(format_args!(
        "{}, {}, {} info",
        count(s.errors, "error", "errors"),
        count(s.warnings, "warning", "warnings"),
        s.infos
    ))?;
    Ok(())
}

fn print_probe(out: &mut Out, global: &GlobalArgs, probe: &ProbeReport) -> anyhow::Result<()> {
    out.line("")?;
    let agree = |n: usize| format!("{n} {}", if n == 1 { "agrees" } else { "agree" });
    out.line(format_args!(
        "probe (imports as `{}`): {} with the prediction, {}, {} not imported",
        probe.user,
        agree(probe.agreed),
        count(probe.disagreed, "disagrees", "disagree"),
        probe.unobserved
    ))?;
    let mut pythons: Vec<&str> = probe.rows.iter().map(|r| r.python.as_str()).collect();
    pythons.dedup();
    for python in pythons {
        let rows: Vec<_> = probe.rows.iter().filter(|r| r.python == python).collect();
        let counts: Vec<String> = [
            Observed::Hit,
            Observed::Compiled,
            Observed::WriteFailed,
            Observed::NotWritten,
            Observed::ImportFailed,
            Observed::NotImported,
        ]
        .iter()
        .filter_map(|o| {
            let n = rows.iter().filter(|r| r.observed == *o).count();
            (n > 0).then(|| format!("{n} {o}"))
        })
        .collect();
        out.line(format_args!("  Python {python}: {}", counts.join(", ")))?;
        if global.verbose > 0 {
            for row in &rows {
                out.line(format_args!("    {} {} ({})", row.observed, row.module, row.source.display()))?;
            }
        }
    }
    if !probe.library.is_empty() {
        out.line(format_args!(
            "  the interpreters' own modules loaded: {} ({} with the prediction, {})",
            probe.library.len(),
            agree(probe.library_agreed),
            count(probe.library_disagreed, "disagrees", "disagree"),
        ))?;
        let mut pythons: Vec<&str> = probe.library.iter().map(|r| r.python.as_str()).collect();
        pythons.dedup();
        for python in pythons {
            let rows: Vec<_> = probe.library.iter().filter(|r| r.python == python).collect();
            let counts: Vec<String> = [Observed::Hit, Observed::Compiled, Observed::WriteFailed, Observed::NotWritten]
                .iter()
                .filter_map(|o| {
                    let n = rows.iter().filter(|r| r.observed == *o).count();
                    (n > 0).then(|| format!("{n} {o}"))
                })
                .collect();
            out.line(format_args!("    Python {python}: {}", counts.join(", ")))?;
            if global.verbose > 0 {
                for row in &rows {
                    out.line(format_args!("      {} {} ({})", row.observed, row.module, row.source.display()))?;
                }
            }
        }
    }
    for cost in &probe.cost {
        print_cost(out, global, cost)?;
    }
    for row in probe.disagreements() {
        out.line(format_args!(
            "  disagreement: {} [{}]: predicted {}, observed {}",
            row.source.display(),
            row.python,
            row.predicted,
            row.observed
        ))?;
    }
    for row in probe.rows.iter().filter(|r| r.error.is_some()) {
        out.line(format_args!(
            "  import error: {} [{}]: {}",
            row.module,
            row.python,
            row.error.as_deref().unwrap_or_default()
        ))?;
    }
    for note in &probe.notes {
        out.line(format_args!("  note: {note}"))?;
    }
    Ok(())
}

fn ms(value: f64) -> String {
    if value >= 100.0 { format!("{value:.0} ms") } else { format!("{value:.1} ms") }
}

fn print_cost(out: &mut Out, global: &GlobalArgs, cost: &Cost) -> anyhow::Result<()> {
    let every: Vec<&CostItem> = cost.items.iter().filter(|i| i.when == When::EveryProcess).collect();
    let first: Vec<&CostItem> = cost.items.iter().filter(|i| i.when == When::FirstProcess).collect();
    let scripts = every.iter().filter(|i| i.kind == CostKind::Script).count();
    let modules = every.len() - scripts;
    let what = match (modules, scripts) {
        (0, 0) => "nothing is compiled in every new process".to_owned(),
        (_, 0) => format!("{} compiled in every new process", count(modules, "module", "modules")),
        (0, _) => format!("{} compiled in every new process", count(scripts, "entry script", "entry scripts")),
        _ => format!(
            "{} and {} compiled in every new process",
            count(modules, "module", "modules"),
            count(scripts, "entry script", "entry scripts")
        ),
    };
    out.line(format_args!(
        "  compile cost per process start, Python {} at level {}: {} ({what})",
        cost.python,
        cost.level,
        ms(cost.per_process_ms),
    ))?;
    let limit = if global.verbose > 0 { usize::MAX } else { SHOWN };
    for item in every.iter().take(limit) {
        let kind = if item.kind == CostKind::Script { " (entry script)" } else { "" };
        let after = if item.after_fix_ms > 0.0 {
            format!("; {} after the fix", ms(item.after_fix_ms))
        } else if item.fix.is_none() {
            "; no fix advised".to_owned()
        } else {
            String::new()
        };
        out.line(format_args!("    {:>9}  {}{kind}{after}", ms(item.ms), item.path.display()))?;
    }
    if every.len() > limit {
        out.line(format_args!("    ... and {} more (-v shows all)", every.len() - limit))?;
    }
    if !first.is_empty() {
        out.line(format_args!(
            "    first process only: {} compiling {} whose cache it then writes",
            ms(cost.first_process_ms),
            count(first.len(), "module", "modules")
        ))?;
    }
    out.line(format_args!("    after the advised fixes: {} per process start", ms(cost.after_fixes_ms)))?;
    Ok(())
}
