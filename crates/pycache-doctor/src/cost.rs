//! What compiling costs each new process: the sources `--probe` saw
//! compiled without a cache written (so every process compiles them
//! again), the entry scripts the server compiles at every load, and what
//! is left of it once the advised fixes are applied.
//!
//! Each source is compiled by an interpreter of the deployment's release
//! at its level, as the importer compiles it (the file read, then
//! `compile(bytes, path, 'exec', dont_inherit=True)`), three times; the
//! median counts. Nothing is run.

use std::collections::HashSet;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::checks::scripts::{STUB_MARKER, STUB_SIZE};
use crate::deployment::Deployment;
use crate::doctor::{Diagnosis, ScriptOrigin};
use crate::finding::Code;
use crate::launch::Purpose;
use crate::probe::{Load, Observed};

/// Reads records (`p<path>` or `t<text>`, each ending in NUL), compiles
/// each three times and prints the median in seconds, or `error NAME`.
/// Runs on 2.7 and 3.x.
const MEASURE: &str = r#"
import sys, time
clock = getattr(time, 'perf_counter', time.time)
data = getattr(sys.stdin, 'buffer', sys.stdin).read()
for record in data.split(b'\0'):
    if not record:
        continue
    kind, rest = record[:1], record[1:]
    if kind == b'p':
        path = rest.decode('utf-8', 'surrogateescape') if sys.version_info[0] >= 3 else rest
    else:
        path = '<stub>'
    try:
        times = []
        for _ in range(3):
            start = clock()
            if kind == b'p':
                with open(path, 'rb') as f:
                    source = f.read()
            else:
                source = rest
            compile(source, path, 'exec', 0, True)
            times.append(clock() - start)
        times.sort()
        sys.stdout.write('%.9f\n' % times[1])
    except Exception as e:
        sys.stdout.write('error %s\n' % type(e).__name__)
sys.stdout.flush()
"#;

/// What is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CostKind {
    Module,
    /// An entry script: compiled at every load, never cached.
    Script,
}

/// How often.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum When {
    /// In every new process: no cache can be written.
    EveryProcess,
    /// In the first process only, which writes the cache.
    FirstProcess,
}

#[derive(Debug, Clone, Serialize)]
pub struct CostItem {
    pub path: PathBuf,
    pub kind: CostKind,
    pub when: When,
    /// Milliseconds to compile it once.
    pub ms: f64,
    /// Milliseconds each process still spends on it once the advised fix
    /// is applied (a stub's own compile, or all of it with no fix).
    pub after_fix_ms: f64,
    /// The advised fix, when doctor gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// For an entry script: milliseconds to compile the stub `pycache
    /// stub` would put in its place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stub_ms: Option<f64>,
}

/// One interpreter's compile cost.
#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    pub python: String,
    pub level: u8,
    /// Milliseconds each process start spends compiling.
    pub per_process_ms: f64,
    /// Milliseconds the first process spends compiling what it then caches.
    pub first_process_ms: f64,
    /// Milliseconds each process start would spend once the advised fixes
    /// are applied.
    pub after_fixes_ms: f64,
    /// Every process's items first, most costly first.
    pub items: Vec<CostItem>,
}

/// Findings whose fix gives a module a cache the processes use.
fn cache_fix(code: Code) -> bool {
    matches!(
        code,
        Code::CacheMissing
            | Code::CacheStale
            | Code::CacheCorrupt
            | Code::CacheUnwritable
            | Code::CacheUnreadable
            | Code::SelinuxLabel
            | Code::OptimizeMismatch
            | Code::PrefixMismatch
            | Code::WritesDisabled
            | Code::MtimeUnreliable
            | Code::LibraryNotCached
    )
}

/// Compiles each record in `command` and returns the seconds each took.
fn measure(mut command: Command, records: &[Vec<u8>]) -> Result<Vec<Option<f64>>, String> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|err| format!("cannot run the interpreter: {err}"))?;
    let mut input = Vec::new();
    for record in records {
        input.extend_from_slice(record);
        input.push(0);
    }
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().map_err(|err| err.to_string())?;
    let _ = writer.join();
    let text = String::from_utf8_lossy(&output.stdout);
    let mut times: Vec<Option<f64>> = text.lines().map(|l| l.trim().parse::<f64>().ok()).collect();
    times.resize(records.len(), None);
    Ok(times)
}

/// The entry scripts each process start compiles (not executables run by
/// hand), and whether each is a stub already.
fn entry_scripts(diagnosis: &Diagnosis) -> Vec<&Path> {
    diagnosis
        .scripts
        .iter()
        .filter(|(_, origin)| !matches!(origin, ScriptOrigin::Executable))
        .map(|(p, _)| p.as_path())
        .collect()
}

fn is_stub(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() < STUB_SIZE)
        || std::fs::read(path).is_ok_and(|b| b.windows(STUB_MARKER.len()).any(|w| w == STUB_MARKER.as_bytes()))
}

/// The cost for target `index`, from what its probe processes loaded.
pub(crate) fn cost(
    deployment: &Deployment,
    index: usize,
    diagnosis: &Diagnosis,
    loads: &[Load],
) -> Result<Cost, String> {
    let python = &deployment.targets[index];
    let label = python.label();
    let mut items: Vec<CostItem> = Vec::new();
    let mut seen = HashSet::new();
    for load in loads {
        let when = match load.observed {
            Observed::WriteFailed | Observed::NotWritten => When::EveryProcess,
            Observed::Compiled => When::FirstProcess,
            _ => continue,
        };
        if seen.insert(load.source.clone()) {
            items.push(CostItem {
                path: load.source.clone(),
                kind: CostKind::Module,
                when,
                ms: 0.0,
                after_fix_ms: 0.0,
                fix: None,
                stub_ms: None,
            });
        }
    }
    for script in entry_scripts(diagnosis) {
        if seen.insert(script.to_owned()) {
            items.push(CostItem {
                path: script.to_owned(),
                kind: CostKind::Script,
                when: When::EveryProcess,
                ms: 0.0,
                after_fix_ms: 0.0,
                fix: None,
                stub_ms: None,
            });
        }
    }
    // The stub that `pycache stub` would put in place of each script.
    let mut records: Vec<Vec<u8>> = items
        .iter()
        .map(|item| {
            let mut record = b"p".to_vec();
            record.extend_from_slice(item.path.as_os_str().as_bytes());
            record
        })
        .collect();
    let mut stubs: Vec<(usize, usize)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if item.kind == CostKind::Script && !is_stub(&item.path) {
            let shebang = std::fs::read(&item.path).ok().and_then(|bytes| {
                let first = bytes.split(|&b| b == b'\n').next()?.to_vec();
                first.starts_with(b"#!").then(|| String::from_utf8_lossy(&first).trim_end().to_owned())
            });
            let text = crate::stub::stub_text(shebang.as_deref(), &crate::stub::default_body_name(&item.path));
            let mut record = b"t".to_vec();
            record.extend_from_slice(text.as_bytes());
            stubs.push((i, records.len()));
            records.push(record);
        }
    }
    let times = if records.is_empty() {
        Vec::new()
    } else {
        let mut command = deployment.command(index, Purpose::Compile)?;
        command.args(["-E", "-S", "-B"]);
        command.args(deployment.optimize_flag());
        command.arg("-c").arg(MEASURE);
        measure(command, &records)?
    };
    let ms = |i: usize| times.get(i).copied().flatten().map_or(0.0, |s| s * 1000.0);
    for (i, item) in items.iter_mut().enumerate() {
        item.ms = ms(i);
    }
    for &(item, record) in &stubs {
        items[item].stub_ms = Some(ms(record));
    }
    let mut cost = Cost {
        python: label,
        level: deployment.optimize,
        per_process_ms: 0.0,
        first_process_ms: 0.0,
        after_fixes_ms: 0.0,
        items,
    };
    cover(&mut cost, &diagnosis.report.findings);
    Ok(cost)
}

/// What the fixes of `findings` leave of `cost`, and the totals.
pub(crate) fn cover(cost: &mut Cost, findings: &[crate::finding::Finding]) {
    for item in &mut cost.items {
        let covering = findings.iter().find(|f| {
            f.python.as_deref().is_none_or(|p| p == cost.python)
                && match item.kind {
                    CostKind::Script => f.code == Code::ScriptNotCached && f.path == item.path,
                    CostKind::Module => cache_fix(f.code) && item.path.starts_with(&f.path),
                }
        });
        item.fix = covering.map(|f| f.fix.clone());
        item.after_fix_ms = match (item.kind, covering) {
            (CostKind::Script, Some(_)) => item.stub_ms.unwrap_or(item.ms),
            (CostKind::Module, Some(_)) => 0.0,
            (_, None) => item.ms,
        };
    }
    cost.items.sort_by(|a, b| {
        (a.when != When::EveryProcess)
            .cmp(&(b.when != When::EveryProcess))
            .then(b.ms.total_cmp(&a.ms))
            .then_with(|| a.path.cmp(&b.path))
    });
    let every = cost.items.iter().filter(|i| i.when == When::EveryProcess);
    // Folded from +0.0: an empty sum of floats is -0.0.
    cost.per_process_ms = every.clone().fold(0.0, |sum, i| sum + i.ms);
    cost.after_fixes_ms = every.fold(0.0, |sum, i| sum + i.after_fix_ms);
    cost.first_process_ms = cost.items.iter().filter(|i| i.when == When::FirstProcess).fold(0.0, |sum, i| sum + i.ms);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_finding_that_precompiles_fixes_a_module() {
        assert!(cache_fix(Code::CacheUnwritable));
        assert!(cache_fix(Code::LibraryNotCached));
        assert!(!cache_fix(Code::ScriptNotCached));
        assert!(!cache_fix(Code::OrphanCache));
    }
}
