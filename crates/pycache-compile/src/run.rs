//! One `pycache compile` run: walk, plan, compile, write, report.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use pycache_progress::Progress;
use pycache_python::{PoolOptions, WorkerPool};
use rayon::prelude::*;

use crate::dfile::display_name;
use crate::failures::{FailureMemory, Refusal, Subject};
use crate::headers::HeaderMemory;
use crate::native;
use crate::options::{CompileOptions, Engine, InvalidationMode, Layout, Target};
use crate::plan::{Expectation, is_fresh};
use crate::report::{FileError, FileReport, Report, Status};
use crate::source;
use crate::walk::{SourceFile, walk};
use crate::write::{CacheDir, WriteError, Written, split};

/// A run that cannot start: the options contradict each other or an
/// interpreter cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Setup(String),
}

/// Per interpreter: how to name and validate its caches.
struct TargetPlan<'a> {
    target: &'a Target,
    label: String,
    scheme: pycache_pyc::CacheScheme,
    expect: Expectation,
    /// The native compiler's profile of this interpreter's release, when
    /// the native compiler serves it.
    native: Option<pycache_compiler::Target>,
}

/// The levels of one source that one interpreter must compile.
struct Task {
    source: usize,
    target: usize,
    levels: Vec<(u8, PathBuf)>,
}

fn plans<'a>(options: &CompileOptions, targets: &'a [Target]) -> Result<Vec<TargetPlan<'a>>, RunError> {
    if targets.is_empty() {
        return Err(RunError::Usage("no interpreter to compile for".into()));
    }
    if let Some(level) = options.levels.iter().find(|&&l| l > 2) {
        return Err(RunError::Usage(format!("optimisation level {level} does not exist (0, 1 or 2)")));
    }
    if options.ddir.is_some() && (options.strip.is_some() || options.prepend.is_some()) {
        return Err(RunError::Usage("-d cannot be combined with -s or -p".into()));
    }
    let mut out = Vec::new();
    for target in targets {
        let python = &target.interpreter;
        let version = python.py_version();
        let magic = python.magic().ok_or_else(|| {
            RunError::Setup(format!("{python} reported magic `{}`, which is not a magic number", python.magic))
        })?;
        let mode = options.invalidation.unwrap_or_else(|| InvalidationMode::py_compile_default(python));
        if mode != InvalidationMode::Timestamp && !version.has_hash_pycs() {
            return Err(RunError::Usage(format!(
                "Python {version} has no hash-based caches (PEP 552 came in 3.7): use --invalidation-mode timestamp for {python}"
            )));
        }
        if matches!(options.layout, Layout::Prefix(_)) && !version.has_pycache_prefix() {
            return Err(RunError::Usage(format!(
                "Python {version} has no pycache prefix (it came in 3.8), so --cache-prefix cannot serve {python}"
            )));
        }
        let native = native::serves(options.engine, python).map_err(RunError::Usage)?;
        out.push(TargetPlan {
            native,
            target,
            label: python.label(),
            scheme: target.scheme(&options.layout),
            expect: Expectation { magic, mode },
        });
    }
    Ok(out)
}

/// Two interpreters (or levels) that would write the same cache file, named
/// by the cache of `sample`, the first source of the run; with no source, by
/// the pattern every cache of theirs follows.
fn conflict(plans: &[TargetPlan], levels: &[u8], sample: Option<&Path>) -> Result<(), RunError> {
    let probe = sample.unwrap_or(Path::new("NAME.py"));
    let mut owners: HashMap<PathBuf, String> = HashMap::new();
    for plan in plans {
        for &level in levels {
            let path = plan.scheme.cache_path(probe, level).map_err(|e| RunError::Usage(e.to_string()))?;
            let who = format!("{} at level {level}", plan.label);
            if let Some(other) = owners.insert(path.clone(), who.clone()) {
                let what = match sample {
                    Some(_) => format!("`{}` and the cache of every other source", path.display()),
                    None => format!("the same caches (`{}` for a source `NAME.py`)", path.display()),
                };
                return Err(RunError::Usage(format!(
                    "{other} and {who} would both write {what}; compile them in separate runs or drop one"
                )));
            }
        }
    }
    Ok(())
}

/// The directory a source's caches are written from: the directory
/// argument it was found under (or its own directory, when named alone),
/// or the pycache prefix. Everything below it is opened without following
/// symbolic links.
fn anchor<'a>(options: &'a CompileOptions, source: &'a SourceFile) -> &'a Path {
    use std::os::unix::ffi::OsStrExt;
    match &options.layout {
        Layout::Prefix(prefix) => prefix,
        _ => match &source.root {
            // The walk spells every path as the root joined with names, so
            // comparing bytes is enough (and cheaper than components).
            Some(root) if source.path.as_os_str().as_bytes().starts_with(root.as_os_str().as_bytes()) => root,
            _ => source.path.parent().unwrap_or(Path::new("")),
        },
    }
}

/// What the planner knows of the directories caches go into: the first
/// symbolic link on the way from the anchor, per directory, found with one
/// `lstat` per directory of the run. Keyed by the path's bytes: hashing a
/// `Path` walks its components, which a no-op run would feel.
#[derive(Default)]
struct LinkedDirs {
    known: Mutex<rustc_hash::FxHashMap<Box<[u8]>, Linked>>,
}

/// The first symbolic link on the way to a directory, if any.
type Linked = Option<Arc<WriteError>>;

impl LinkedDirs {
    fn check(&self, anchor: &Path, dir: &Path) -> Linked {
        use std::os::unix::ffi::OsStrExt;
        let key = dir.as_os_str().as_bytes();
        if let Some(known) = self.known.lock().expect("link check lock").get(key) {
            return known.clone();
        }
        if dir == anchor || !dir.starts_with(anchor) || dir.as_os_str().is_empty() {
            return None;
        }
        let found = match dir.parent().and_then(|parent| self.check(anchor, parent)) {
            Some(above) => Some(above),
            None => match dir.symlink_metadata() {
                Ok(meta) if meta.file_type().is_symlink() => Some(Arc::new(WriteError::LinkedDirectory {
                    link: dir.to_owned(),
                    target: std::fs::read_link(dir).ok(),
                })),
                _ => None,
            },
        };
        self.known.lock().expect("link check lock").insert(key.into(), found.clone());
        found
    }
}

/// The symbolic link on the way to `cache`, if there is one. The walk
/// entered no linked directory and saw whether `__pycache__` is one, so
/// only the directories a pycache prefix mirrors need a look.
fn linked_directory(
    options: &CompileOptions,
    links: &LinkedDirs,
    source: &SourceFile,
    cache: &Path,
) -> Option<Arc<WriteError>> {
    match &options.layout {
        Layout::Prefix(prefix) => links.check(prefix, directory_of(cache)),
        Layout::Pep3147 if source.pycache_link => {
            let link = directory_of(cache).to_owned();
            let target = std::fs::read_link(&link).ok();
            Some(Arc::new(WriteError::LinkedDirectory { link, target }))
        }
        _ => None,
    }
}

/// The directory part of a cache path as `cache_path` spells it, found
/// in its bytes (`Path::parent` parses components, which a no-op run over
/// thousands of caches would feel).
fn directory_of(cache: &Path) -> &Path {
    use std::os::unix::ffi::OsStrExt;
    let bytes = cache.as_os_str().as_bytes();
    match bytes.iter().rposition(|&b| b == b'/') {
        Some(0) => Path::new("/"),
        Some(slash) => Path::new(std::ffi::OsStr::from_bytes(&bytes[..slash])),
        None => Path::new(""),
    }
}

/// The directories this run wrote into and cleaned, and what it removed.
struct Debris {
    started: std::time::SystemTime,
    cleaned: Mutex<rustc_hash::FxHashSet<PathBuf>>,
    removed: Mutex<Vec<PathBuf>>,
}

impl Debris {
    /// Removes the stale temporary files of `dir`, once per run.
    fn clean(&self, dir: &CacheDir) {
        if !self.cleaned.lock().expect("debris lock").insert(dir.path().to_owned()) {
            return;
        }
        let removed = dir.remove_debris(self.started);
        for path in &removed {
            tracing::info!("removed `{}`, the temporary file of a cache write that never finished", path.display());
        }
        self.removed.lock().expect("debris lock").extend(removed);
    }
}

fn write_error(cache: &Path, err: WriteError) -> FileError {
    match err {
        WriteError::Symlink(_) => FileError::Refused { cache: cache.to_owned(), reason: "it is a symlink".into() },
        err @ WriteError::LinkedDirectory { .. } => {
            FileError::Refused { cache: cache.to_owned(), reason: err.to_string() }
        }
        WriteError::NotRegular(_) => {
            FileError::Refused { cache: cache.to_owned(), reason: "it is not a regular file".into() }
        }
        WriteError::Io { source, .. } => {
            let hint = match source.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    " (hint: run pycache as the owner of the tree, or write the caches elsewhere with --cache-prefix)"
                }
                std::io::ErrorKind::ReadOnlyFilesystem => {
                    " (hint: the file system is read-only; precompile at build time or use --cache-prefix)"
                }
                _ => "",
            };
            FileError::Write { cache: cache.to_owned(), error: source.to_string(), hint: hint.into() }
        }
    }
}

fn report(path: &Path, plan: &TargetPlan, level: u8, cache: &Path, status: Status) -> FileReport {
    FileReport {
        path: path.to_owned(),
        cache: Some(cache.to_owned()),
        python: Some(plan.label.clone()),
        optimize: Some(level),
        status,
        error: None,
        exception: None,
        line: None,
        warnings: None,
        engine: None,
        native_declined: None,
    }
}

/// The name recorded in `co_filename` for `source`.
fn recorded_name(options: &CompileOptions, plan: &TargetPlan, source: &SourceFile) -> PathBuf {
    display_name(
        plan.target.interpreter.py_version(),
        &source.path,
        source.root.as_deref(),
        options.ddir.as_deref(),
        options.strip.as_deref(),
        options.prepend.as_deref(),
    )
    .unwrap_or_else(|| source.path.clone())
}

fn subject<'a>(plan: &'a TargetPlan, level: u8, filename: &'a Path, source: &'a SourceFile) -> Subject<'a> {
    Subject {
        interpreter: &plan.target.interpreter.path,
        magic: &plan.target.interpreter.magic,
        level,
        filename,
        source: &source.path,
    }
}

fn refusal_error(refusal: &Refusal) -> FileError {
    FileError::Compile {
        exception: refusal.exception.clone(),
        message: refusal.message.trim_end().to_owned(),
        lineno: refusal.lineno,
    }
}

fn failed(mut file: FileReport, error: &FileError) -> FileReport {
    file.status = Status::Failed;
    file.error = Some(error.to_string());
    if let FileError::Compile { exception, lineno, .. } = error {
        file.exception = Some(exception.clone());
        file.line = *lineno;
    }
    file
}

/// Compiles what is stale under `options.paths` for every target.
pub fn run(options: &CompileOptions, targets: &[Target], progress: &dyn Progress) -> Result<Report, RunError> {
    let plans = plans(options, targets)?;
    let pool = |stack: Option<usize>| {
        let builder = rayon::ThreadPoolBuilder::new()
            .num_threads(options.jobs.clamp(1, crate::options::max_jobs()))
            .thread_name(|i| format!("pycache-{i}"));
        match stack {
            Some(bytes) => builder.stack_size(bytes).build(),
            None => builder.build(),
        }
    };
    // Workers with the compiler's stack reserved compile each file in
    // place; where the system will not reserve that much address space
    // (strict overcommit), the compiler maps a stack per file instead.
    let threads = pool(Some(pycache_compiler::WORKER_STACK))
        .or_else(|_| pool(None))
        .map_err(|e| RunError::Setup(format!("cannot start threads: {e}")))?;
    let memory = FailureMemory::open(options.failure_memory.clone());
    let report = threads.install(|| run_in_pool(options, &plans, &memory, progress));
    memory.save();
    report
}

fn run_in_pool(
    options: &CompileOptions,
    plans: &[TargetPlan],
    memory: &FailureMemory,
    progress: &dyn Progress,
) -> Result<Report, RunError> {
    let started = std::time::Instant::now();
    let debris = Debris { started: std::time::SystemTime::now(), cleaned: Mutex::default(), removed: Mutex::default() };
    let links = LinkedDirs::default();
    progress.start("scanning", None);
    // The header memory is needed only once the walk is done.
    let (mut headers, (sources, problems)) =
        rayon::join(|| HeaderMemory::open(options.header_memory.clone()), || walk(options));
    progress.finish();
    tracing::debug!("walk: {} sources in {:.1?}", sources.len(), started.elapsed());

    let mut files: Vec<FileReport> = Vec::new();
    let mut notices = 0;
    for problem in problems {
        if problem.error.is_notice() {
            tracing::warn!("`{}` {}", problem.path.display(), problem.error);
            notices += 1;
            continue;
        }
        files.push(FileReport {
            path: problem.path,
            cache: None,
            python: None,
            optimize: None,
            status: Status::Failed,
            error: Some(problem.error.to_string()),
            exception: None,
            line: None,
            warnings: None,
            engine: None,
            native_declined: None,
        });
    }

    // Plan: which caches are stale.
    let mut levels = options.levels.clone();
    let mut seen = std::collections::HashSet::new();
    levels.retain(|l| seen.insert(*l));
    conflict(plans, &levels, sources.first().map(|s| s.path.as_path()))?;
    progress.start("checking", Some(sources.len() as u64));
    let checked: Vec<(Vec<FileReport>, Vec<Task>)> = sources
        .par_iter()
        .enumerate()
        .map(|(index, source)| {
            let mut fresh = Vec::new();
            let mut tasks = Vec::new();
            let mut bytes: Option<Option<Arc<Vec<u8>>>> = None;
            let mut load =
                || bytes.get_or_insert_with(|| source::read(&source.path).ok().map(|(b, _)| Arc::new(b))).clone();
            for (target, plan) in plans.iter().enumerate() {
                let filename = recorded_name(options, plan, source);
                let mut stale = Vec::new();
                for &level in &levels {
                    let cache = match plan.scheme.cache_path(&source.path, level) {
                        Ok(cache) => cache,
                        Err(err) => {
                            let base = report(&source.path, plan, level, Path::new(""), Status::Failed);
                            fresh.push(failed(FileReport { cache: None, ..base }, &FileError::Path(err.to_string())));
                            continue;
                        }
                    };
                    // A cache reached through a symbolic link is neither
                    // trusted nor written: the link decides what it is.
                    if let Some(err) = linked_directory(options, &links, source, &cache) {
                        let base = report(&source.path, plan, level, &cache, Status::Failed);
                        let refused = FileError::Refused { cache: cache.clone(), reason: err.to_string() };
                        fresh.push(failed(base, &refused));
                    } else if !options.force && is_fresh(&cache, &plan.expect, &source.meta, &mut load, &headers) {
                        fresh.push(report(&source.path, plan, level, &cache, Status::Fresh));
                    } else if let Some(refusal) = (!options.force)
                        .then(|| memory.lookup(&subject(plan, level, &filename, source), &source.meta, &mut load))
                        .flatten()
                    {
                        let base = report(&source.path, plan, level, &cache, Status::Failed);
                        fresh.push(failed(base, &refusal_error(&refusal)));
                    } else if cache.symlink_metadata().is_ok_and(|meta| meta.file_type().is_symlink()) {
                        let base = report(&source.path, plan, level, &cache, Status::Failed);
                        fresh.push(failed(base, &write_error(&cache, WriteError::Symlink(cache.clone()))));
                    } else {
                        stale.push((level, cache));
                    }
                }
                if !stale.is_empty() {
                    tasks.push(Task { source: index, target, levels: stale });
                }
            }
            progress.advance(1);
            (fresh, tasks)
        })
        .collect();
    progress.finish();
    tracing::debug!("check: done at {:.1?}", started.elapsed());
    let mut tasks = Vec::new();
    files.reserve(checked.iter().map(|(fresh, _)| fresh.len()).sum());
    for (fresh, stale) in checked {
        files.extend(fresh);
        tasks.extend(stale);
    }

    // Compile: a pool per interpreter, and per level on 2.x, whose compile()
    // has no level argument. Nothing starts when nothing is stale.
    let mut work = Vec::new();
    for task in tasks {
        if plans[task.target].target.interpreter.version.0 < 3 {
            for level in task.levels {
                work.push((level.0, Task { levels: vec![level], ..task }));
            }
        } else {
            work.push((0, task));
        }
    }
    let mut pools: HashMap<(usize, u8), WorkerPool> = HashMap::new();
    for (process_level, task) in &work {
        let key = (task.target, *process_level);
        if !pools.contains_key(&key) {
            let interpreter = plans[task.target].target.interpreter.clone();
            let pool = WorkerPool::new(
                interpreter,
                *process_level,
                PoolOptions { jobs: options.jobs.clamp(1, crate::options::max_jobs()), timeout: options.timeout },
            )
            .map_err(|e| RunError::Setup(format!("cannot prepare the interpreter workers: {e}")))?;
            pools.insert(key, pool);
        }
    }
    // Big files first, so that the last ones to finish are small.
    work.sort_by_key(|(_, task)| std::cmp::Reverse(sources[task.source].meta.size()));
    progress.start("compiling", Some(work.len() as u64));
    let compiled = Mutex::new(Vec::new());
    work.par_iter().with_max_len(1).for_each(|(process_level, task)| {
        let pool = &pools[&(task.target, *process_level)];
        let out = compile_one(options, &plans[task.target], pool, memory, &debris, &sources[task.source], &task.levels);
        compiled.lock().expect("results lock").extend(out);
        progress.advance(1);
    });
    progress.finish();
    let compiled = compiled.into_inner().expect("results lock");
    // What was written is read back once, so that the next run can
    // trust it from a stat.
    compiled.par_iter().filter(|file| file.status == Status::Compiled).for_each(|file| {
        if let Some(cache) = &file.cache {
            headers.learn(cache);
        }
    });
    files.extend(compiled);
    tracing::debug!("compile: done at {:.1?}", started.elapsed());
    let mut report = Report::finish(files, notices);
    headers.save();
    tracing::debug!("report and memory: done at {:.1?}", started.elapsed());
    report.summary.workers_started = pools.values().map(WorkerPool::started_workers).sum();
    report.summary.debris_removed = debris.removed.into_inner().expect("debris lock").len();
    Ok(report)
}

fn compile_one(
    options: &CompileOptions,
    plan: &TargetPlan,
    pool: &WorkerPool,
    memory: &FailureMemory,
    debris: &Debris,
    source: &SourceFile,
    levels: &[(u8, PathBuf)],
) -> Vec<FileReport> {
    let reports = || levels.iter().map(|(level, cache)| report(&source.path, plan, *level, cache, Status::Compiled));
    let fail_all = |error: FileError| reports().map(|r| failed(r, &error)).collect::<Vec<_>>();
    let (bytes, meta) = match source::read(&source.path) {
        Ok(read) => read,
        Err(err) => return fail_all(FileError::Source(err.to_string())),
    };
    let filename = recorded_name(options, plan, source);
    let mut declined = None;
    if let Some(native_target) = plan.native {
        // --timeout bounds the native compiles of one file as it bounds a
        // worker's: all its levels together.
        let deadline = options.timeout.map(|t| std::time::Instant::now() + t);
        let outputs: Result<Vec<native::NativeOutput>, native::Declined> = levels
            .iter()
            .map(|(level, _)| native::compile_body(&bytes, &filename, native_target, *level, deadline))
            .collect();
        // The interpreter prints its warnings with the source line and in
        // its own words; under `auto` it compiles the (few) files that
        // warn, so that what the user sees is exactly what compileall shows.
        let outputs = match outputs {
            Ok(outputs) if options.engine == Engine::Auto && outputs.iter().any(|o| !o.warnings.is_empty()) => {
                Err(native::Declined {
                    reason: "the interpreter has warnings to print for it".into(),
                    syntax: false,
                    cpython: None,
                    timed_out: false,
                })
            }
            other => other,
        };
        match outputs {
            Ok(outputs) => {
                let mut warnings: Vec<String> = Vec::new();
                for line in outputs.iter().flat_map(|o| &o.warnings) {
                    if !warnings.contains(line) {
                        warnings.push(line.clone());
                    }
                }
                // Each ends with a newline, as the interpreter prints them.
                let warnings = (!warnings.is_empty()).then(|| warnings.iter().map(|w| format!("{w}\n")).collect());
                let bodies = outputs.into_iter().map(|o| o.body).collect();
                let output = Compiled { bodies, warnings, engine: Engine::Native, declined: None };
                return write_levels(options, plan, memory, debris, source, levels, &filename, &meta, &bytes, output);
            }
            // Past its time the file fails, under `auto` too: the
            // interpreter would only spend another timeout on it.
            Err(declined) if declined.timed_out => {
                let seconds = options.timeout.map(|t| t.as_secs_f64()).unwrap_or_default();
                let error = FileError::Worker(format!("the native compile took longer than {seconds}s, the --timeout"));
                return reports().map(|r| failed(r, &error)).collect();
            }
            Err(declined) if options.engine == Engine::Native => {
                // The interpreter's own error, where the native compiler
                // knows it is that, reads as the interpreter's would.
                let error = match declined.cpython {
                    Some(e) => FileError::Compile {
                        exception: e.exception.clone(),
                        message: format!("{}: {}", e.exception, e.message),
                        lineno: e.lineno,
                    },
                    None => FileError::Native(declined.reason),
                };
                return reports().map(|r| failed(r, &error)).collect();
            }
            Err(why) => {
                tracing::debug!("`{}`: the native compiler declined: {}", source.path.display(), why.reason);
                declined = Some(why.reason);
            }
        }
    }
    let wanted: Vec<i8> = levels.iter().map(|(level, _)| *level as i8).collect();
    let output = match pool.compile(&filename, &bytes, &wanted) {
        Ok(Ok(output)) => output,
        Ok(Err(failure)) => {
            let refusal = Refusal { exception: failure.exception, message: failure.message, lineno: failure.lineno };
            for (level, _) in levels {
                memory.record(&subject(plan, *level, &filename, source), &meta, &bytes, refusal.clone());
            }
            let error = refusal_error(&refusal);
            let warnings = Some(failure.stderr).filter(|s| !s.is_empty());
            return reports().map(|r| FileReport { warnings: warnings.clone(), ..failed(r, &error) }).collect();
        }
        Err(err) => return fail_all(FileError::Worker(err.to_string())),
    };
    let warnings = Some(output.stderr).filter(|s| !s.is_empty());
    let output = Compiled { bodies: output.bodies, warnings, engine: Engine::Cpython, declined };
    write_levels(options, plan, memory, debris, source, levels, &filename, &meta, &bytes, output)
}

/// One source's compiled bodies, one per level, and where they came from.
struct Compiled {
    bodies: Vec<Vec<u8>>,
    warnings: Option<String>,
    engine: Engine,
    declined: Option<String>,
}

#[allow(clippy::too_many_arguments)]
fn write_levels(
    options: &CompileOptions,
    plan: &TargetPlan,
    memory: &FailureMemory,
    debris: &Debris,
    source: &SourceFile,
    levels: &[(u8, PathBuf)],
    filename: &Path,
    meta: &std::fs::Metadata,
    bytes: &[u8],
    output: Compiled,
) -> Vec<FileReport> {
    let base = |level: u8, cache: &Path| FileReport {
        warnings: output.warnings.clone(),
        engine: Some(output.engine),
        native_declined: output.declined.clone(),
        ..report(&source.path, plan, level, cache, Status::Compiled)
    };
    let fail_all = |error: FileError| levels.iter().map(|(level, cache)| failed(base(*level, cache), &error)).collect();
    let Some(header) = plan.expect.header(meta, bytes) else {
        return fail_all(FileError::Worker("no source hash for this interpreter".into()));
    };
    let header = match header.to_bytes() {
        Ok(header) => header,
        Err(err) => return fail_all(FileError::Worker(err.to_string())),
    };
    for (level, _) in levels {
        memory.forget(&subject(plan, *level, filename, source));
    }
    // Each level's file is written, or with --hardlink-dupes linked to the
    // file an earlier level of this run wrote with the same bytes: the very
    // inode, checked after linking (a concurrent writer may have replaced
    // it by then, and its bytes are not ours), else written anew.
    let mut dir: Option<CacheDir> = None;
    let mut previous: Option<(Written, &[u8])> = None;
    let mut out = Vec::new();
    for ((level, cache), body) in levels.iter().zip(&output.bodies) {
        let mut file = Vec::with_capacity(header.len() + body.len());
        file.extend_from_slice(&header);
        file.extend_from_slice(body);
        let result = (|| {
            let (parent, name) = split(cache)?;
            let dir = match &mut dir {
                Some(open) if open.path() == parent => open,
                slot => slot.insert(CacheDir::open(anchor(options, source), parent)?),
            };
            if let Some((written, prev_body)) = &previous
                && options.hardlink_dupes
                && *prev_body == body.as_slice()
                && dir.link(written, name)?
            {
                return Ok(written.clone());
            }
            let written = dir.write(name, &file, meta.mode())?;
            debris.clean(dir);
            Ok(written)
        })();
        let base = base(*level, cache);
        match result {
            Ok(written) => {
                previous = Some((written, body));
                out.push(base);
            }
            Err(err) => {
                previous = None;
                out.push(failed(base, &write_error(cache, err)));
            }
        }
    }
    out
}
