use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use pycache_compile::{CompileOptions, InvalidationMode, Layout, Report, Status, Target};
use pycache_packaging::record::{Cache, RecordReport};
use pycache_python::{ProbeCache, PythonRequest, find_interpreter};

use super::sys_path;
use crate::cli::{CompileArgs, Engine, Format, GlobalArgs, Mode};
use crate::output::{Out, count, thousands};
use crate::progress::Bar;

/// `-x`: the pattern of paths to skip.
pub(crate) fn exclude_pattern(pattern: Option<&str>) -> anyhow::Result<Option<regex::Regex>> {
    pattern
        .map(regex::Regex::new)
        .transpose()
        .context("the -x pattern is not a regular expression this tool understands")
}

/// `-j`: 0 means one per core.
/// `-j`: 0 is one job per core; more than `max_jobs` is cut down to it,
/// with a word on stderr.
pub(crate) fn jobs(requested: usize) -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let limit = pycache_compile::max_jobs();
    match requested {
        0 => cores,
        n if n > limit => {
            tracing::warn!(
                "-j {n} is more than {limit} ({} per core on {cores} core(s), at least 16): running {limit} jobs",
                pycache_compile::JOBS_PER_CORE
            );
            limit
        }
        n => n,
    }
}

pub(crate) fn read_list(file: &PathBuf) -> anyhow::Result<Vec<PathBuf>> {
    let lines: Vec<String> = if file.as_os_str() == "-" {
        std::io::stdin().lock().lines().collect::<Result<_, _>>().context("cannot read the list from stdin")?
    } else {
        fs_err_read_lines(file)?
    };
    Ok(lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()).map(PathBuf::from).collect())
}

fn fs_err_read_lines(file: &PathBuf) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read the list `{}`", file.display()))?;
    Ok(text.lines().map(str::to_owned).collect())
}

pub fn run(global: &GlobalArgs, args: CompileArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    if args.manifest.as_deref() == Some(Path::new("-")) {
        bail!("--manifest needs a file: stdout carries the report");
    }
    let mut paths = args.paths.clone();
    if let Some(list) = &args.files_from {
        paths.extend(read_list(list)?);
    }
    let exclude = exclude_pattern(args.exclude.as_deref())?;

    let cache = ProbeCache::open_default();
    let requests: Vec<PythonRequest> = if args.python.is_empty() {
        vec![PythonRequest::Default]
    } else {
        args.python.iter().map(|p| p.parse()).collect::<Result<_, _>>()?
    };
    let mut targets: Vec<Target> = Vec::new();
    if let Some(spec) = &args.target {
        if args.engine == Engine::Cpython {
            bail!("--target compiles without an interpreter, so with the native engine: drop --engine cpython");
        }
        let interpreter =
            pycache_compile::native::target_interpreter(spec).map_err(|e| anyhow::anyhow!("--target {spec}: {e}"))?;
        targets.push(Target { interpreter });
    }
    for request in requests.iter().filter(|_| args.target.is_none()) {
        let interpreter = find_interpreter(request, &cache)?;
        if !interpreter.is_cpython() {
            bail!("{interpreter} is {}, and pycache compiles for CPython only", interpreter.implementation);
        }
        if !targets.iter().any(|t| t.interpreter.path == interpreter.path) {
            targets.push(Target { interpreter });
        }
    }
    cache.save();

    // No paths: what `python -m compileall` does with none.
    let mut max_depth = args.max_depth.or(args.no_recurse.then_some(0));
    if paths.is_empty() && args.files_from.is_none() {
        let [target] = targets.as_slice() else {
            bail!(
                "with no paths, pycache compiles the sys.path of one interpreter, as `python -m compileall` does; \
                 give one --python at a time, or name the directories to compile"
            );
        };
        let interpreter = &target.interpreter;
        paths = sys_path::directories(interpreter)?;
        if paths.is_empty() {
            bail!("the sys.path of {interpreter} has no directory to compile: give files or directories");
        }
        max_depth = max_depth.or(Some(0));
        if global.quiet == 0 {
            eprintln!(
                "no paths given: compiling the top level of each directory on the sys.path of {interpreter}, as \
                 `python -m compileall` does with none:"
            );
            for path in &paths {
                eprintln!("    {}", path.display());
            }
        }
    }
    if paths.is_empty() {
        bail!(
            "no files or directories to compile: the list `{}` is empty",
            args.files_from.unwrap_or_default().display()
        );
    }

    let jobs = jobs(args.jobs);
    let header_memory = pycache_python::default_cache_dir().map(|dir| pycache_compile::memory_file(&dir, &paths));
    let options = CompileOptions {
        paths,
        max_depth,
        force: args.force,
        exclude,
        levels: if args.optimize.is_empty() { vec![0] } else { args.optimize.clone() },
        invalidation: args.invalidation_mode.map(|m| match m {
            Mode::Timestamp => InvalidationMode::Timestamp,
            Mode::CheckedHash => InvalidationMode::CheckedHash,
            Mode::UncheckedHash => InvalidationMode::UncheckedHash,
        }),
        ddir: args.ddir.clone(),
        strip: args.strip_prefix.clone(),
        prepend: args.prepend_prefix.clone(),
        limit_symlinks: args.limit_symlinks.clone(),
        hardlink_dupes: args.hardlink_dupes,
        layout: match (&args.cache_prefix, args.legacy) {
            (Some(prefix), _) => Layout::Prefix(std::path::absolute(prefix).unwrap_or_else(|_| prefix.clone())),
            (None, true) => Layout::Legacy,
            (None, false) => Layout::Pep3147,
        },
        jobs,
        timeout: (args.timeout > 0).then(|| Duration::from_secs(args.timeout)),
        failure_memory: pycache_python::default_cache_dir().map(|dir| dir.join("failures.json")),
        header_memory,
        engine: match args.engine {
            _ if args.target.is_some() => pycache_compile::Engine::Native,
            Engine::Auto => pycache_compile::Engine::Auto,
            Engine::Cpython => pycache_compile::Engine::Cpython,
            Engine::Native => pycache_compile::Engine::Native,
        },
    };
    let bar = Bar::new(global.quiet == 0 && !global.no_progress);
    tracing::debug!("interpreters ready at {:.1?}", started.elapsed());
    let report = pycache_compile::run(&options, &targets, &bar)?;
    tracing::debug!("run finished at {:.1?}", started.elapsed());
    let packaging = packaging(&args, &report)?;
    let mut out = Out::new();
    match args.format {
        Format::Json => {
            let manifest = packaging
                .manifest
                .map(|caches| Manifest { file: args.manifest.as_ref().map(pycache_json::Fs::new), caches });
            out.json(&Json {
                files: &report.files,
                manifest,
                record: packaging.record.as_ref(),
                summary: &report.summary,
            })?;
        }
        Format::Text => {
            print_text(&mut out, global, &report, started.elapsed())?;
            print_packaging(&mut out, global, &args, &packaging)?;
        }
    }
    out.flush()?;
    let record_failed = packaging.record.as_ref().is_some_and(|r| !r.failed.is_empty());
    Ok(if report.failed() || record_failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// `--format json`: the report, and what `--manifest` and `--record` did.
#[derive(serde::Serialize)]
struct Json<'a> {
    files: &'a [pycache_compile::FileReport],
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest: Option<Manifest<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<&'a RecordReport>,
    summary: &'a pycache_compile::Summary,
}

#[derive(serde::Serialize)]
struct Manifest<'a> {
    file: Option<pycache_json::Fs<'a>>,
    caches: usize,
}

/// What `--manifest` and `--record` did.
struct Packaging {
    /// Lines written to the manifest.
    manifest: Option<usize>,
    record: Option<RecordReport>,
}

/// The caches the run leaves in place (written, or found fresh), with
/// their sources.
fn caches(report: &Report) -> impl Iterator<Item = (&Path, &Path)> {
    report
        .files
        .iter()
        .filter(|f| matches!(f.status, Status::Compiled | Status::Fresh))
        .filter_map(|f| Some((f.path.as_path(), f.cache.as_deref()?)))
}

fn packaging(args: &CompileArgs, report: &Report) -> anyhow::Result<Packaging> {
    let manifest = match &args.manifest {
        Some(file) => Some(pycache_packaging::manifest::write(file, caches(report).map(|(_, cache)| cache))?),
        None => None,
    };
    let record = args.record.then(|| {
        let entries: Vec<Cache<'_>> = caches(report).map(|(source, cache)| Cache { source, cache }).collect();
        pycache_packaging::record::add_caches(&entries)
    });
    Ok(Packaging { manifest, record })
}

fn print_packaging(
    out: &mut Out,
    global: &GlobalArgs,
    args: &CompileArgs,
    packaging: &Packaging,
) -> anyhow::Result<()> {
    if let Some(record) = &packaging.record {
        for failed in &record.failed {
            if global.quiet < 2 {
                out.line(format_args!("error: {}", failed.error))?;
            }
        }
        if global.quiet == 0 {
            let added: usize = record.updated.iter().map(|u| u.added.len()).sum();
            out.line(format_args!(
                "RECORD: added {} to {}; {} already listed, {} of no installed distribution{}",
                count(added, "cache", "caches"),
                count(record.updated.len(), "distribution", "distributions"),
                thousands(record.already_listed as u64),
                thousands(record.not_in_a_distribution as u64),
                if record.outside > 0 {
                    format!(", {} outside the site-packages of their source", thousands(record.outside as u64))
                } else {
                    String::new()
                }
            ))?;
            if global.verbose > 0 {
                for updated in &record.updated {
                    out.line(format_args!("    `{}`: {}", updated.record.display(), updated.added.join(", ")))?;
                }
            }
        }
    }
    if let (Some(lines), Some(file)) = (packaging.manifest, &args.manifest)
        && global.quiet == 0
    {
        out.line(format_args!("manifest: {} listed in `{}`", count(lines, "cache", "caches"), file.display()))?;
    }
    Ok(())
}

fn print_text(out: &mut Out, global: &GlobalArgs, report: &Report, elapsed: Duration) -> anyhow::Result<()> {
    if global.quiet >= 2 {
        return Ok(());
    }
    // One block per source and interpreter, whatever the number of levels.
    let mut last: Option<(&PathBuf, &Option<String>, &Option<String>)> = None;
    for file in &report.files {
        let key = (&file.path, &file.python, &file.error);
        let repeated = last == Some(key);
        last = Some(key);
        match file.status {
            Status::Failed if !repeated => {
                let python = file.python.as_deref().map(|p| format!(" for {p}")).unwrap_or_default();
                let error = file.error.as_deref().unwrap_or("failed");
                if error.contains('\n') {
                    out.line(format_args!("error: `{}`{python}:", file.path.display()))?;
                    for line in error.lines() {
                        out.line(format_args!("    {line}"))?;
                    }
                } else {
                    out.line(format_args!("error: `{}`{python}: {error}", file.path.display()))?;
                }
            }
            Status::Compiled if global.verbose > 0 => {
                let cache = file.cache.as_ref().map(|c| c.display().to_string()).unwrap_or_default();
                let by = match file.engine {
                    Some(pycache_compile::Engine::Native) => " (native)",
                    _ => "",
                };
                out.line(format_args!("compiled `{}` -> `{cache}`{by}", file.path.display()))?;
                if let Some(reason) = file.native_declined.as_deref().filter(|_| global.verbose > 1 && !repeated) {
                    out.line(format_args!("    the native compiler declined: {reason}"))?;
                }
            }
            _ => {}
        }
        if let Some(warnings) = &file.warnings
            && !repeated
            && global.quiet == 0
        {
            let python = file.python.as_deref().unwrap_or("?");
            eprintln!("warning: `{}` ({python}):\n{}", file.path.display(), warnings.trim_end());
        }
    }
    if global.quiet >= 1 {
        return Ok(());
    }
    let summary = &report.summary;
    if summary.rows.len() > 1 {
        for row in &summary.rows {
            out.line(format_args!(
                "{} level {}: {} compiled, {} fresh, {} failed",
                row.python, row.optimize, row.compiled, row.fresh, row.failed
            ))?;
        }
    }
    let only = (summary.rows.len() == 1).then(|| &summary.rows[0]);
    let label = only.map(|r| format!(" ({} level {})", r.python, r.optimize)).unwrap_or_default();
    let native = match summary.compiled_native {
        0 => String::new(),
        n if n == summary.compiled => "; all by the native compiler".to_owned(),
        n => format!("; {n} by the native compiler, {} by the interpreters", summary.compiled - n),
    };
    out.line(format_args!(
        "{} compiled, {} fresh, {} failed{label} in {:.2}s{native}",
        summary.compiled,
        summary.fresh,
        summary.failed,
        elapsed.as_secs_f64()
    ))?;
    if summary.debris_removed > 0 {
        out.line(format_args!(
            "removed {} of cache writes that never finished",
            count(summary.debris_removed, "temporary file", "temporary files")
        ))?;
    }
    Ok(())
}
