//! `--probe`: the interpreter's own answer, to hold the prediction against.
//!
//! Each target interpreter imports the tree's modules with `-v`, as the
//! service user, at the deployment's level, prefix and write setting. Its
//! verbose lines say, per module, whether the cache was used, or the source
//! compiled and the cache written, not written, or not even tried; a cache
//! header accepted over a damaged body shows as a failed import.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use pycache_python::Interpreter;
use serde::Serialize;

use crate::deployment::Deployment;
use crate::doctor::{Diagnosis, Prediction, PredictionRow};
use crate::launch::Purpose;
use crate::library::LibraryRow;

/// What the interpreter did with one module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Observed {
    /// `# code object from '<cache>'`.
    Hit,
    /// Compiled from source, and the cache written.
    Compiled,
    /// Compiled from source; writing the cache failed.
    WriteFailed,
    /// Compiled from source; no write was tried (writes disabled).
    NotWritten,
    /// The header was accepted and loading the body failed.
    ImportFailed,
    /// The module was never loaded (an earlier failure, or no name).
    NotImported,
}

impl Observed {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Compiled => "compiled",
            Self::WriteFailed => "write-failed",
            Self::NotWritten => "not-written",
            Self::ImportFailed => "import-failed",
            Self::NotImported => "not-imported",
        }
    }

    /// Whether this is what `prediction` said would happen.
    pub fn matches(self, prediction: Prediction) -> bool {
        matches!(
            (prediction, self),
            (Prediction::Hit | Prediction::StaleCodeRuns, Self::Hit)
                | (Prediction::Compiled, Self::Compiled)
                | (Prediction::WriteFailed, Self::WriteFailed)
                | (Prediction::NotWritten, Self::NotWritten)
                | (Prediction::ImportFails, Self::ImportFailed)
        )
    }
}

impl std::fmt::Display for Observed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ProbeRow {
    #[serde(serialize_with = "pycache_json::path")]
    pub source: PathBuf,
    pub module: String,
    pub python: String,
    pub observed: Observed,
    pub predicted: Prediction,
    pub agrees: bool,
    /// The exception the import raised, if it raised one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ProbeReport {
    /// The user the interpreters ran as.
    pub user: String,
    pub rows: Vec<ProbeRow>,
    pub agreed: usize,
    pub disagreed: usize,
    /// Modules the probe did not see loaded (not counted either way).
    pub unobserved: usize,
    /// The interpreters' own modules (standard library, site-packages)
    /// the processes loaded, against the library's predictions.
    pub library: Vec<ProbeRow>,
    pub library_agreed: usize,
    pub library_disagreed: usize,
    /// What compiling costs each new process, per interpreter.
    pub cost: Vec<crate::cost::Cost>,
    pub notes: Vec<String>,
}

impl ProbeReport {
    pub fn disagreements(&self) -> impl Iterator<Item = &ProbeRow> {
        self.rows.iter().chain(&self.library).filter(|r| !r.agrees && r.observed != Observed::NotImported)
    }
}

/// One source a process loaded: from its cache, or compiled (and whether
/// the cache was then written).
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    pub source: PathBuf,
    pub observed: Observed,
}

/// Every source file a process's `-v` lines show it loading, first loads
/// only, in order: the tree's, the library's and any other.
pub fn loads(lines: &[String]) -> Vec<Load> {
    let mut out: Vec<(PathBuf, Seen)> = Vec::new();
    let mut index: HashMap<PathBuf, usize> = HashMap::new();
    let mut matched: Option<(String, String)> = None;
    let mut current: Option<usize> = None;
    let mut load = |out: &mut Vec<(PathBuf, Seen)>, source: PathBuf, hit: bool| -> Option<usize> {
        if index.contains_key(&source) {
            return None;
        }
        index.insert(source.clone(), out.len());
        out.push((source, Seen { hit, compiled: !hit, ..Seen::default() }));
        (!hit).then_some(out.len() - 1)
    };
    for line in lines {
        if let Some(rest) = line.strip_prefix("import ") {
            current = None;
            matched = None;
            // 2.7 names the file on the import line.
            if let Some((_, from)) = rest.split_once(" # precompiled from ") {
                let cache = from.trim();
                if let Some(source) = cache.strip_suffix(['c', 'o']).filter(|s| s.ends_with(".py")) {
                    load(&mut out, PathBuf::from(source), true);
                }
            } else if let Some((_, from)) = rest.split_once(" # from ") {
                current = load(&mut out, PathBuf::from(from.trim()), false);
            }
            continue;
        }
        let Some(message) = line.strip_prefix("# ") else { continue };
        if let Some(from) = message.strip_prefix("code object from ") {
            let from = from.trim();
            current = None;
            if from.starts_with('\'') || from.starts_with('"') {
                let cache = unquote(from);
                if let Some((_, source)) = matched.take().filter(|(c, _)| *c == cache) {
                    load(&mut out, PathBuf::from(source), true);
                }
            } else {
                current = load(&mut out, PathBuf::from(from), false);
            }
        } else if let Some((cache, source)) = message.split_once(" matches ") {
            matched = Some((cache.trim().to_owned(), source.trim().to_owned()));
        } else if let Some(i) = current
            && (message.starts_with("created ") || message.starts_with("wrote /"))
        {
            out[i].1.written.get_or_insert(true);
        } else if let Some(i) = current
            && (message.starts_with("could not create ") || message.starts_with("can't create "))
        {
            out[i].1.written = Some(false);
        }
    }
    out.into_iter().map(|(source, seen)| Load { source, observed: seen.observed() }).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("the probe must run as `{user}`, and pycache runs as another user: run it as `{user}` or as root")]
    CannotBecome { user: String },
    #[error("cannot run `{python}`")]
    Spawn { python: PathBuf, source: std::io::Error },
}

/// How long one interpreter may take over its imports.
#[derive(Debug, Clone, Copy)]
pub struct ProbeOptions {
    pub timeout: Duration,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(120) }
    }
}

/// Reads module names on stdin (`entry<TAB>name` lines), puts the entries
/// on `sys.path`, then imports each name, marking the start and any failure
/// on stderr, where `-v` writes too. Runs on 2.7 and 3.x.
const DRIVER: &str = r#"
import os, sys
def _pycache_probe():
    data = sys.stdin.read()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    pairs = [line.split('\t', 1) for line in data.split('\n') if '\t' in line]
    for entry, _ in reversed(pairs):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    for _, name in pairs:
        if not name:
            continue
        sys.stderr.write('\n##pycache-probe import %s\n' % name)
        sys.stderr.flush()
        try:
            __import__(name)
        except BaseException as e:
            text = ('%s: %s' % (type(e).__name__, e)).replace('\n', ' ')[:300]
            sys.stderr.write('\n##pycache-probe failed %s %s\n' % (name, text))
        sys.stderr.flush()
    sys.stderr.write('\n##pycache-probe done\n')
    sys.stderr.flush()
_pycache_probe()
"#;

fn identifier(part: &str) -> bool {
    let mut chars = part.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The `sys.path` entry and dotted name under which `source` is imported.
/// The entry is the deepest of `entries` (the trees and the application's
/// path) holding it, moved up while it is itself a package; the name is
/// the path below it. Without namespace packages (`legacy`, 2.x) every
/// directory on the way needs an `__init__.py`. Directories that are not on
/// `sys.path` never become entries: a test-data directory holding
/// `logging.py` must not shadow the standard library.
pub fn module_name(source: &Path, entries: &[PathBuf], legacy: bool) -> Option<(PathBuf, String)> {
    let stem = source.file_name()?.to_str()?.strip_suffix(".py")?;
    if matches!(stem, "__main__" | "setup" | "conftest") {
        return None;
    }
    let mut entry = entries.iter().filter(|e| source.starts_with(e)).max_by_key(|e| e.as_os_str().len())?.clone();
    while entry.join("__init__.py").is_file() {
        entry = entry.parent()?.to_owned();
    }
    let dir = source.parent()?;
    let mut parts = Vec::new();
    for component in dir.strip_prefix(&entry).ok()?.components() {
        parts.push(component.as_os_str().to_str()?.to_owned());
    }
    if legacy {
        let mut package = entry.clone();
        for part in &parts {
            package.push(part);
            if !package.join("__init__.py").is_file() {
                return None;
            }
        }
    }
    if stem != "__init__" {
        parts.push(stem.to_owned());
    }
    if parts.is_empty() || !parts.iter().all(|p| identifier(p)) {
        return None;
    }
    Some((entry, parts.join(".")))
}

/// What one process saw of one module.
#[derive(Debug, Default, Clone)]
struct Seen {
    matched: bool,
    hit: bool,
    compiled: bool,
    written: Option<bool>,
    error: Option<String>,
}

impl Seen {
    fn observed(&self) -> Observed {
        if self.hit {
            Observed::Hit
        } else if self.compiled {
            match self.written {
                Some(true) => Observed::Compiled,
                Some(false) => Observed::WriteFailed,
                None => Observed::NotWritten,
            }
        } else if self.matched && self.error.is_some() {
            Observed::ImportFailed
        } else {
            Observed::NotImported
        }
    }
}

/// A Python repr of a path (`'/a/b'`), or a bare path, as text.
fn unquote(text: &str) -> String {
    let text = text.trim();
    let quoted = text.len() >= 2
        && ((text.starts_with('\'') && text.ends_with('\'')) || (text.starts_with('"') && text.ends_with('"')));
    if !quoted {
        return text.to_owned();
    }
    let inner = &text[1..text.len() - 1];
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(escaped) => out.push(escaped),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads `-v` output into per-module observations. `sources` and `caches`
/// map the paths as the interpreter prints them to module indices; `names`
/// maps dotted names.
struct Parser<'a> {
    sources: &'a HashMap<String, usize>,
    caches: &'a HashMap<String, usize>,
    names: &'a HashMap<String, usize>,
    seen: Vec<Seen>,
    current: Option<usize>,
}

impl Parser<'_> {
    /// The module was loaded, from its cache or compiled. Only the first
    /// load counts: a failed import leaves `sys.modules`, and a later import
    /// of the same module finds the cache the first one wrote.
    fn load(&mut self, i: usize, hit: bool) {
        let seen = &mut self.seen[i];
        if seen.hit || seen.compiled {
            self.current = None;
            return;
        }
        if hit {
            seen.hit = true;
        } else {
            seen.compiled = true;
            self.current = Some(i);
        }
    }

    fn line(&mut self, line: &str) {
        if let Some(rest) = line.strip_prefix("##pycache-probe failed ") {
            let (name, error) = rest.split_once(' ').unwrap_or((rest, ""));
            if let Some(&i) = self.names.get(name) {
                self.seen[i].error.get_or_insert_with(|| error.to_owned());
            }
            self.current = None;
            return;
        }
        if let Some(rest) = line.strip_prefix("import ") {
            // 2.7: `import pkg.mod # precompiled from X` / `# from X`; 3.x
            // ends each module with `import 'pkg.mod' # <loader>`.
            self.current = None;
            if let Some((_, from)) = rest.split_once(" # precompiled from ") {
                if let Some(&i) = self.caches.get(from.trim()) {
                    self.load(i, true);
                }
            } else if let Some((_, from)) = rest.split_once(" # from ")
                && let Some(&i) = self.sources.get(from.trim())
            {
                self.load(i, false);
            }
            return;
        }
        let Some(message) = line.strip_prefix("# ") else { return };
        if let Some(from) = message.strip_prefix("code object from ") {
            self.current = None;
            let from = from.trim();
            if from.starts_with('\'') || from.starts_with('"') {
                if let Some(&i) = self.caches.get(&unquote(from)) {
                    self.load(i, true);
                }
            } else if let Some(&i) = self.sources.get(from) {
                self.load(i, false);
            }
        } else if let Some((_, source)) = message.split_once(" matches ") {
            if let Some(&i) = self.sources.get(source.trim()) {
                let seen = &mut self.seen[i];
                seen.matched |= !(seen.hit || seen.compiled);
            }
        } else if message.starts_with("created ") {
            if let Some(i) = self.current {
                self.seen[i].written = Some(true);
            }
        } else if message.starts_with("could not create ") {
            if let Some(i) = self.current {
                self.seen[i].written = Some(false);
            }
        } else if let Some(path) = message.strip_prefix("wrote ") {
            // 2.7 names the file bare; 3.6 also says `wrote '<repr>'` after
            // a failed write, so only the bare form counts.
            if let Some(&i) = self.caches.get(path.trim()) {
                self.seen[i].written.get_or_insert(true);
            }
        } else if let Some(path) = message.strip_prefix("can't create ")
            && let Some(&i) = self.caches.get(path.trim())
        {
            self.seen[i].written = Some(false);
        }
    }
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// One interpreter's process: the modules it imports.
struct Batch {
    modules: Vec<usize>,
    tops: HashMap<String, PathBuf>,
}

fn batches(modules: &[(PathBuf, String)]) -> Vec<Batch> {
    let mut out: Vec<Batch> = Vec::new();
    for (i, (entry, name)) in modules.iter().enumerate() {
        let top = name.split('.').next().unwrap_or(name).to_owned();
        let slot = out.iter_mut().find(|b| b.tops.get(&top).is_none_or(|e| e == entry));
        let batch = match slot {
            Some(batch) => batch,
            None => {
                out.push(Batch { modules: Vec::new(), tops: HashMap::new() });
                out.last_mut().expect("just pushed")
            }
        };
        batch.tops.insert(top, entry.clone());
        batch.modules.push(i);
    }
    out
}

fn command(mut command: Command, python: &Interpreter, deployment: &Deployment) -> Command {
    command.args(["-v", "-E", "-s"]);
    command.args(deployment.optimize_flag());
    if deployment.dont_write_bytecode() {
        command.arg("-B");
    }
    if let Some(prefix) = &deployment.cache_prefix
        && python.py_version().has_pycache_prefix()
    {
        command.arg("-X").arg(format!("pycache_prefix={}", prefix.display()));
    }
    command.arg("-c").arg(DRIVER);
    command.env_remove("PYTHONDONTWRITEBYTECODE").current_dir("/");
    command
}

/// Runs one batch and returns the stderr lines, and whether it finished.
fn run_batch(
    mut command: Command,
    input: String,
    timeout: Duration,
    python: &Path,
) -> Result<(Vec<String>, Option<String>), ProbeError> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| ProbeError::Spawn { python: python.to_owned(), source })?;
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        BufReader::new(stderr)
            .split(b'\n')
            .map_while(Result::ok)
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .collect::<Vec<String>>()
    });
    let mut problem = crate::launch::wait_or_kill(&mut child, timeout);
    let _ = writer.join();
    let lines = reader.join().unwrap_or_default();
    if problem.is_none() && !lines.iter().any(|l| l == "##pycache-probe done") {
        problem = Some("the interpreter ended before importing every module".into());
    }
    Ok((lines, problem))
}

/// Imports the modules of `predictions` under each target interpreter and
/// holds what happened against what was predicted.
pub fn probe(deployment: &Deployment, diagnosis: &Diagnosis, options: ProbeOptions) -> Result<ProbeReport, ProbeError> {
    let predictions = &diagnosis.predictions;
    let user = &deployment.user;
    let switch = !user.is_current();
    if switch && !nix::unistd::geteuid().is_root() {
        return Err(ProbeError::CannotBecome { user: user.name.clone() });
    }
    let mut report = ProbeReport { user: user.name.clone(), ..ProbeReport::default() };
    let entries: Vec<PathBuf> = deployment
        .paths
        .iter()
        .chain(&deployment.python_path)
        .map(|p| if p.is_file() { p.parent().unwrap_or(p).to_owned() } else { p.clone() })
        .collect();
    let mut nameless = 0;
    for (index, python) in deployment.targets.iter().enumerate() {
        let label = python.label();
        // The service user when that is someone else; pycache's own user
        // only for an interpreter no other user can change.
        if let Err(why) = deployment.command(index, Purpose::Import) {
            report.notes.push(format!("Python {label}: not run: {why}"));
            continue;
        }
        let rows: Vec<&PredictionRow> = predictions.iter().filter(|r| r.python == label).collect();
        let mut modules: Vec<(PathBuf, String)> = Vec::new();
        let mut kept: Vec<&PredictionRow> = Vec::new();
        let legacy = !python.py_version().has_pycache_dirs();
        for row in rows {
            match module_name(&row.source, &entries, legacy) {
                Some(module) => {
                    modules.push(module);
                    kept.push(row);
                }
                None => nameless += 1,
            }
        }
        let sources: HashMap<String, usize> = kept.iter().enumerate().map(|(i, r)| (text(&r.source), i)).collect();
        let caches: HashMap<String, usize> = kept.iter().enumerate().map(|(i, r)| (text(&r.cache), i)).collect();
        let mut seen = vec![Seen::default(); kept.len()];
        let mut all_loads: Vec<Load> = Vec::new();
        let mut loaded: HashSet<PathBuf> = HashSet::new();
        let mut ran = true;
        for batch in batches(&modules) {
            let names: HashMap<String, usize> = batch.modules.iter().map(|&i| (modules[i].1.clone(), i)).collect();
            let mut input = String::new();
            let entries: BTreeSet<&PathBuf> = batch.modules.iter().map(|&i| &modules[i].0).collect();
            for &i in &batch.modules {
                input.push_str(&format!("{}\t{}\n", text(&modules[i].0), modules[i].1));
            }
            // The application's own path comes after the tree's entries.
            for extra in &deployment.python_path {
                if !entries.contains(extra) {
                    input.push_str(&format!("{}\t\n", text(extra)));
                }
            }
            let Ok(start) = deployment.command(index, Purpose::Import) else { break };
            let command = command(start, python, deployment);
            let (lines, problem) = match run_batch(command, input, options.timeout, &python.path) {
                Ok(done) => done,
                Err(err) => {
                    let cause = std::error::Error::source(&err).map(|c| format!(": {c}")).unwrap_or_default();
                    report.notes.push(format!("Python {label}: {err} as `{}`{cause}", user.name));
                    ran = false;
                    break;
                }
            };
            if let Some(problem) = problem {
                report.notes.push(format!("Python {label}: {problem}"));
            }
            // What any earlier process loaded first counts.
            for load in loads(&lines) {
                if loaded.insert(load.source.clone()) {
                    all_loads.push(load);
                }
            }
            let fresh = vec![Seen::default(); kept.len()];
            let mut parser = Parser { sources: &sources, caches: &caches, names: &names, seen: fresh, current: None };
            for line in &lines {
                parser.line(line);
            }
            // A later process finds what an earlier one wrote: the first
            // process to load a module is the one the prediction is about.
            for (old, new) in seen.iter_mut().zip(parser.seen) {
                if old.observed() == Observed::NotImported {
                    *old = new;
                }
            }
        }
        if !ran {
            continue;
        }
        let library: HashMap<&Path, &LibraryRow> =
            diagnosis.library.iter().filter(|r| r.python == label).map(|r| (r.source.as_path(), r)).collect();
        for load in &all_loads {
            let Some(row) = library.get(load.source.as_path()) else { continue };
            let module = row
                .source
                .strip_prefix(&row.root)
                .map(|p| p.with_extension("").display().to_string().replace('/', "."))
                .unwrap_or_default();
            report.library.push(ProbeRow {
                source: row.source.clone(),
                module: module.strip_suffix(".__init__").unwrap_or(&module).to_owned(),
                python: label.clone(),
                observed: load.observed,
                predicted: row.prediction,
                agrees: load.observed.matches(row.prediction),
                error: None,
            });
        }
        match crate::cost::cost(deployment, index, diagnosis, &all_loads) {
            Ok(cost) => report.cost.push(cost),
            Err(why) => report.notes.push(format!("Python {label}: the compile cost was not measured: {why}")),
        }
        for (i, row) in kept.iter().enumerate() {
            let observed = seen[i].observed();
            let agrees = observed.matches(row.prediction);
            report.rows.push(ProbeRow {
                source: row.source.clone(),
                module: modules[i].1.clone(),
                python: label.clone(),
                observed,
                predicted: row.prediction,
                agrees,
                error: seen[i].error.clone(),
            });
        }
    }
    for row in &report.rows {
        if row.observed == Observed::NotImported {
            report.unobserved += 1;
        } else if row.agrees {
            report.agreed += 1;
        } else {
            report.disagreed += 1;
        }
    }
    report.library_agreed = report.library.iter().filter(|r| r.agrees).count();
    report.library_disagreed = report.library.len() - report.library_agreed;
    if nameless > 0 {
        report.notes.push(format!(
            "{nameless} module(s) cannot be imported by name from the trees or the application's path (a \
             directory that is not a package, a name that is not an identifier, or __main__/setup/conftest) and were \
             not probed"
        ));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_follow_packages_from_the_entries() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("app");
        for file in [
            "top.py",
            "pkg/__init__.py",
            "pkg/sub/__init__.py",
            "pkg/sub/m.py",
            "loose/x.py",
            "bad-name/y.py",
            "src/lib/__init__.py",
            "src/lib/z.py",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let entries = [root.clone(), root.join("src")];
        let name = |f: &str, legacy| module_name(&root.join(f), &entries, legacy);
        assert_eq!(name("top.py", false), Some((root.clone(), "top".into())));
        assert_eq!(name("pkg/__init__.py", false), Some((root.clone(), "pkg".into())));
        assert_eq!(name("pkg/sub/m.py", true), Some((root.clone(), "pkg.sub.m".into())));
        // A namespace package on 3.x, nothing on 2.x.
        assert_eq!(name("loose/x.py", false), Some((root.clone(), "loose.x".into())));
        assert_eq!(name("loose/x.py", true), None);
        assert_eq!(name("bad-name/y.py", false), None);
        // The application's own path entry wins over the tree.
        assert_eq!(name("src/lib/z.py", false), Some((root.join("src"), "lib.z".into())));
        // A root that is a package is imported from its parent.
        let inner = [root.join("pkg")];
        assert_eq!(module_name(&root.join("pkg/sub/m.py"), &inner, true), Some((root.clone(), "pkg.sub.m".into())));
        assert_eq!(module_name(&dir.path().join("elsewhere.py"), &entries, false), None);
    }

    #[test]
    fn every_load_is_read_from_verbose_lines_first_loads_only() {
        let lines: Vec<String> = [
            "# /l/__pycache__/json.cpython-312.opt-2.pyc matches /l/json.py",
            "# code object from '/l/__pycache__/json.cpython-312.opt-2.pyc'",
            "import 'json' # <_frozen_importlib_external.SourceFileLoader object at 0x7f>",
            "# code object from /l/re.py",
            "# could not create '/l/__pycache__': PermissionError(13, 'Permission denied')",
            "import 're' # <_frozen_importlib_external.SourceFileLoader object at 0x7f>",
            "# code object from /t/app.py",
            "# created '/t/__pycache__/app.cpython-312.pyc'",
            "# code object from /t/b.py",
            "import 'b' # <_frozen_importlib_external.SourceFileLoader object at 0x7f>",
            "# code object from /l/re.py",
            "# created '/l/__pycache__/re.cpython-312.pyc'",
            // 2.7
            "import c # from /t/c.py",
            "# wrote /t/c.pyc",
            "import d # precompiled from /t/d.pyc",
            "import e # from /t/e.py",
            "# can't create /t/e.pyc",
            "# code object from '/x/__pycache__/sourceless.cpython-312.pyc'",
        ]
        .map(str::to_owned)
        .into();
        let seen: Vec<(String, Observed)> =
            loads(&lines).into_iter().map(|l| (l.source.display().to_string(), l.observed)).collect();
        assert_eq!(
            seen,
            [
                ("/l/json.py".to_owned(), Observed::Hit),
                ("/l/re.py".to_owned(), Observed::WriteFailed),
                ("/t/app.py".to_owned(), Observed::Compiled),
                ("/t/b.py".to_owned(), Observed::NotWritten),
                ("/t/c.py".to_owned(), Observed::Compiled),
                ("/t/d.py".to_owned(), Observed::Hit),
                ("/t/e.py".to_owned(), Observed::WriteFailed),
            ]
        );
    }

    #[test]
    fn same_top_level_names_go_to_separate_processes() {
        let modules = vec![
            (PathBuf::from("/a"), "utils".to_owned()),
            (PathBuf::from("/b"), "utils".to_owned()),
            (PathBuf::from("/a"), "pkg.x".to_owned()),
            (PathBuf::from("/a"), "pkg.y".to_owned()),
        ];
        let batches = batches(&modules);
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].modules, [0, 2, 3]);
        assert_eq!(batches[1].modules, [1]);
    }

    #[test]
    fn verbose_lines_of_2_7_and_3_x() {
        let sources: HashMap<String, usize> =
            [("/t/a.py", 0), ("/t/b.py", 1), ("/t/c.py", 2), ("/t/d.py", 3)].map(|(p, i)| (p.to_owned(), i)).into();
        let caches: HashMap<String, usize> = [
            ("/t/__pycache__/a.cpython-312.pyc", 0),
            ("/t/__pycache__/b.cpython-312.pyc", 1),
            ("/t/__pycache__/c.cpython-312.pyc", 2),
            ("/t/d.pyc", 3),
        ]
        .map(|(p, i)| (p.to_owned(), i))
        .into();
        let names: HashMap<String, usize> =
            [("a", 0), ("b", 1), ("c", 2), ("d", 3)].map(|(p, i)| (p.to_owned(), i)).into();
        let mut parser =
            Parser { sources: &sources, caches: &caches, names: &names, seen: vec![Seen::default(); 4], current: None };
        for line in [
            "# /t/__pycache__/a.cpython-312.pyc matches /t/a.py",
            "# code object from '/t/__pycache__/a.cpython-312.pyc'",
            "import 'a' # <_frozen_importlib_external.SourceFileLoader object at 0x7f>",
            "# code object from /t/b.py",
            "# could not create '/t/__pycache__': PermissionError(13, 'Permission denied')",
            "# wrote '/t/__pycache__/b.cpython-312.pyc'",
            "import 'b' # <_frozen_importlib_external.SourceFileLoader object at 0x7f>",
            "# /t/__pycache__/c.cpython-312.pyc matches /t/c.py",
            "##pycache-probe failed c EOFError: marshal data too short",
            "import d # from /t/d.py",
            "# wrote /t/d.pyc",
            // `b` imported again after its first import failed: still `b`'s first load counts.
            "# /t/__pycache__/b.cpython-312.pyc matches /t/b.py",
            "# code object from '/t/__pycache__/b.cpython-312.pyc'",
        ] {
            parser.line(line);
        }
        let observed: Vec<Observed> = parser.seen.iter().map(Seen::observed).collect();
        assert_eq!(observed, [Observed::Hit, Observed::WriteFailed, Observed::ImportFailed, Observed::Compiled]);
        assert_eq!(unquote(r"'/t/it\'s'"), "/t/it's");
    }
}
