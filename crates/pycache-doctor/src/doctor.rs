//! The diagnosis: one pass over the tree, one batch of access questions,
//! then the findings.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use pycache_progress::Progress;
use pycache_pyc::{CacheLayout, CacheScheme, Magic};
use pycache_python::Interpreter;
use rayon::prelude::*;
use serde::Serialize;

use crate::access::{Answer, Oracle, Want};
use crate::checks;
use crate::deployment::{Deployment, Libraries};
use crate::finding::{Code, Finding, Report};
use crate::library::LibraryRow;
use crate::scan::{Source, WalkOptions, scan};
use crate::state::{CacheState, HashCheck, classify};

/// What an importing process will do with one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Prediction {
    /// Loads the cache.
    Hit,
    /// Compiles the source and writes the cache (once).
    Compiled,
    /// Compiles the source and fails to write the cache (every process).
    WriteFailed,
    /// Compiles the source and does not try to write (writes disabled).
    NotWritten,
    /// The import fails on a damaged cache.
    ImportFails,
    /// Loads an unchecked hash cache that no longer matches the source.
    StaleCodeRuns,
}

impl Prediction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Compiled => "compiled",
            Self::WriteFailed => "write-failed",
            Self::NotWritten => "not-written",
            Self::ImportFails => "import-fails",
            Self::StaleCodeRuns => "stale-code-runs",
        }
    }
}

impl std::fmt::Display for Prediction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The prediction for one source and interpreter.
#[derive(Debug, Clone, Serialize)]
pub struct PredictionRow {
    #[serde(serialize_with = "pycache_json::path")]
    pub source: PathBuf,
    #[serde(serialize_with = "pycache_json::path")]
    pub cache: PathBuf,
    pub python: String,
    pub prediction: Prediction,
}

/// The findings and the per-module predictions `--probe` checks.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub report: Report,
    pub predictions: Vec<PredictionRow>,
    /// The predictions for the interpreters' own modules (thousands: not
    /// printed; their findings are).
    #[serde(skip)]
    pub library: Vec<LibraryRow>,
    /// The tree's entry scripts, and why each is one.
    #[serde(skip)]
    pub(crate) scripts: Vec<(PathBuf, ScriptOrigin)>,
}

impl Diagnosis {
    /// Takes in what `--probe` saw: the library's findings then concern
    /// only the modules the application was seen loading, and their fix
    /// names exactly the directories those are in.
    pub fn apply_probe(&mut self, deployment: &Deployment, probe: crate::probe::ProbeReport) {
        let loaded: HashSet<(&str, &Path)> =
            probe.library.iter().map(|r| (r.python.as_str(), r.source.as_path())).collect();
        let rows: Vec<&LibraryRow> =
            self.library.iter().filter(|r| loaded.contains(&(r.python.as_str(), r.source.as_path()))).collect();
        let sources: HashSet<&Path> = self.library.iter().map(|r| r.source.as_path()).collect();
        let mut findings: Vec<Finding> = self
            .report
            .findings
            .iter()
            .filter(|f| {
                f.code != Code::LibraryNotCached
                    && !(f.code == Code::DocstringsNeeded && sources.contains(f.path.as_path()))
            })
            .cloned()
            .collect();
        if deployment.libraries != Libraries::Off {
            findings.extend(crate::library::findings(deployment, &targets(deployment), &rows, true));
        }
        let mut probe = probe;
        for cost in &mut probe.cost {
            crate::cost::cover(cost, &findings);
        }
        let summary = &self.report.summary;
        let mut report = Report::new(findings, summary.sources, summary.caches, self.report.notes.clone());
        report.probe = Some(probe);
        self.report = report;
    }
}

/// One source for one interpreter.
pub(crate) struct Entry<'a> {
    pub source: &'a Source,
    pub target: usize,
    pub cache: PathBuf,
    pub state: CacheState,
}

pub(crate) struct Target<'a> {
    /// The index in the deployment's targets.
    pub index: usize,
    pub interpreter: &'a Interpreter,
    pub label: String,
    pub scheme: CacheScheme,
    pub magic: Magic,
    pub check: HashCheck,
}

impl Target<'_> {
    /// `3.12`, as `--python` takes it.
    pub fn request(&self) -> String {
        let (a, b, _) = self.interpreter.version;
        format!("{a}.{b}")
    }
}

/// Why a file counts as an entry script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScriptOrigin {
    /// Named by the server configuration or `--script`.
    Server,
    /// In a CGI directory.
    Cgi,
    /// A `*.wsgi` file.
    Wsgi,
    /// An executable with a Python `#!` line.
    Executable,
}

/// Access questions asked once, in one batch.
#[derive(Default)]
pub(crate) struct Questions {
    index: HashMap<(PathBuf, Want), usize>,
    list: Vec<(PathBuf, Want)>,
    answers: Vec<Answer>,
}

impl Questions {
    pub fn ask(&mut self, path: &Path, want: Want) {
        let key = (path.to_owned(), want);
        if !self.index.contains_key(&key) {
            self.index.insert(key.clone(), self.list.len());
            self.list.push(key);
        }
    }

    fn resolve(&mut self, oracle: &dyn Oracle) {
        self.answers = oracle.ask(&self.list);
    }

    pub fn answer(&self, path: &Path, want: Want) -> Answer {
        self.index
            .get(&(path.to_owned(), want))
            .and_then(|&i| self.answers.get(i).copied())
            .unwrap_or(Answer(nix::errno::Errno::EACCES as i32))
    }
}

/// The directory whose modification decides whether `cache` can be
/// written: its own directory, or the nearest existing ancestor that the
/// importer would have to create directories in.
pub(crate) fn write_point(cache: &Path) -> PathBuf {
    let mut dir = cache.parent().unwrap_or(Path::new("/")).to_path_buf();
    while !dir.is_dir() {
        match dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => dir = parent.to_path_buf(),
            _ => return PathBuf::from("."),
        }
    }
    dir
}

/// Whether the importer will try to write a cache in this state.
pub(crate) fn needs_write(state: &CacheState) -> bool {
    matches!(state, CacheState::Missing | CacheState::Stale(_) | CacheState::WrongMagic(_) | CacheState::BadHeader(_))
}

pub(crate) fn targets(deployment: &Deployment) -> Vec<Target<'_>> {
    deployment
        .targets
        .iter()
        .enumerate()
        .filter_map(|(index, interpreter)| {
            let magic = interpreter.magic()?;
            let layout = match &deployment.cache_prefix {
                Some(prefix) if interpreter.py_version().has_pycache_prefix() => CacheLayout::Prefix(prefix.clone()),
                _ => CacheLayout::Pep3147,
            };
            Some(Target {
                index,
                interpreter,
                label: interpreter.label(),
                scheme: CacheScheme { version: interpreter.py_version(), tag: interpreter.cache_tag.clone(), layout },
                magic,
                check: HashCheck::from_probe(interpreter.check_hash_based_pycs.as_deref()),
            })
        })
        .collect()
}

/// The tree's entry scripts, which no process imports.
fn entry_scripts(deployment: &Deployment, tree: &crate::scan::Tree) -> Vec<(PathBuf, ScriptOrigin)> {
    let mut scripts: Vec<(PathBuf, ScriptOrigin)> = Vec::new();
    let mut add = |path: &Path, origin| {
        if !scripts.iter().any(|(p, _)| p == path) {
            scripts.push((path.to_owned(), origin));
        }
    };
    for script in &deployment.scripts {
        if script.is_file() {
            add(script, ScriptOrigin::Server);
        }
    }
    for dir in &deployment.cgi_dirs {
        for source in &tree.sources {
            if source.path.parent() == Some(dir.as_path()) {
                add(&source.path, ScriptOrigin::Cgi);
            }
        }
        for exe in &tree.executables {
            if exe.parent() == Some(dir.as_path()) {
                add(exe, ScriptOrigin::Cgi);
            }
        }
    }
    for wsgi in &tree.wsgi_files {
        add(wsgi, ScriptOrigin::Wsgi);
    }
    for exe in &tree.executables {
        add(exe, ScriptOrigin::Executable);
    }
    scripts
}

/// Runs every check and returns the findings and the per-module predictions.
pub fn diagnose(deployment: &Deployment, oracle: &dyn Oracle, progress: &dyn Progress) -> Diagnosis {
    progress.start("scanning", None);
    let tree = scan(&deployment.paths, WalkOptions { cross_filesystems: deployment.cross_filesystems });
    progress.finish();
    let targets = targets(deployment);
    let scripts = entry_scripts(deployment, &tree);
    let script_paths: HashSet<&Path> = scripts.iter().map(|(p, _)| p.as_path()).collect();
    let modules: Vec<&Source> = tree.sources.iter().filter(|s| !script_paths.contains(s.path.as_path())).collect();

    // The interpreters' own libraries, judged the same way.
    let libraries: Vec<crate::library::Library> = if deployment.libraries != Libraries::Off {
        progress.start("reading the interpreters' libraries", None);
        let found = targets.iter().map(|t| crate::library::locate(deployment, t.index)).collect();
        progress.finish();
        found
    } else {
        Vec::new()
    };
    let library_work: Vec<(usize, &Source, &Path, bool)> = libraries
        .iter()
        .enumerate()
        .flat_map(|(t, library)| {
            library.sources.iter().map(move |(source, root)| {
                (t, source, root.as_path(), library.stdlib.as_deref() == Some(root.as_path()))
            })
        })
        .collect();
    let (library_entries, library_roots): (Vec<Entry>, Vec<(&Path, bool)>) = library_work
        .into_par_iter()
        .filter_map(|(t, source, root, stdlib)| {
            let target = &targets[t];
            let cache = target.scheme.cache_path(&source.path, deployment.optimize).ok()?;
            let state = crate::state::classify_header(&cache, &source.path, &source.meta, target.magic, target.check);
            Some((Entry { source, target: t, cache, state }, (root, stdlib)))
        })
        .unzip();

    progress.start("reading caches", Some((modules.len() * targets.len()) as u64));
    let work: Vec<(usize, &Source)> =
        (0..targets.len()).flat_map(|t| modules.iter().map(move |source| (t, *source))).collect();
    let entries: Vec<Entry> = work
        .into_par_iter()
        .filter_map(|(t, source)| {
            let target = &targets[t];
            let cache = target.scheme.cache_path(&source.path, deployment.optimize).ok()?;
            let state = classify(&cache, &source.path, &source.meta, target.magic, target.check);
            progress.advance(1);
            Some(Entry { source, target: t, cache, state })
        })
        .collect();
    progress.finish();

    // Advice to precompile a source the interpreter cannot compile would
    // be wrong: such sources get their own finding.
    progress.start("checking that sources compile", None);
    let verdicts = checks::syntax::check(&targets, &entries, deployment);
    // What does not compile is left out of a count of what compiles per
    // process; what a probe saw loaded compiled.
    let library_verdicts = if deployment.libraries == Libraries::SysPath {
        checks::syntax::check(&targets, &library_entries, deployment)
    } else {
        checks::syntax::Verdicts::default()
    };
    progress.finish();

    let mut questions = Questions::default();
    for entry in &entries {
        questions.ask(&write_point(&entry.cache), Want::Modify);
        if entry.state == CacheState::Fresh {
            questions.ask(&entry.cache, Want::Read);
        }
    }
    for entry in &library_entries {
        questions.ask(&write_point(&entry.cache), Want::Modify);
        if entry.state == CacheState::Fresh {
            questions.ask(&entry.cache, Want::Read);
        }
    }
    checks::poison::ask(&entries, &mut questions);
    for target in &targets {
        questions.ask(&target.interpreter.path, Want::Search);
    }
    progress.start("checking permissions", None);
    questions.resolve(oracle);
    progress.finish();

    let context = checks::Context {
        deployment,
        tree: &tree,
        targets: &targets,
        entries: &entries,
        scripts: &scripts,
        questions: &questions,
        failures: &verdicts.failures,
    };
    let mut findings = Vec::new();
    let mut predictions = Vec::new();
    checks::syntax::run(&context, &mut findings);
    checks::caches::run(&context, &mut findings, &mut predictions);
    checks::poison::run(&context, &mut findings);
    checks::housekeeping::run(&context, &mut findings);
    checks::links::run(&context, &mut findings);
    checks::environment::run(&context, &predictions, &mut findings);
    checks::scripts::run(&context, &mut findings);
    checks::docstrings::run(&context, &mut findings);
    let selinux_notes = checks::selinux::run(&context, &mut findings);

    let mut library = Vec::new();
    for (entry, (root, stdlib)) in library_entries.iter().zip(library_roots) {
        if library_verdicts.failures.contains_key(&(entry.target, entry.source.path.clone())) {
            continue;
        }
        let writable = questions.answer(&write_point(&entry.cache), Want::Modify);
        let readable = questions.answer(&entry.cache, Want::Read);
        let Some(prediction) =
            crate::library::predict(&entry.state, writable, readable, deployment.dont_write_bytecode())
        else {
            continue;
        };
        let target = &targets[entry.target];
        library.push(LibraryRow {
            source: entry.source.path.clone(),
            cache: entry.cache.clone(),
            python: target.label.clone(),
            root: root.to_owned(),
            prediction,
            stdlib,
            target: target.index,
        });
    }
    if deployment.libraries == Libraries::SysPath {
        let library_refs: Vec<&LibraryRow> = library.iter().collect();
        findings.extend(crate::library::findings(deployment, &targets, &library_refs, false));
    }

    let mut notes = deployment.notes.clone();
    notes.extend(selinux_notes);
    notes.extend(verdicts.notes);
    notes.extend(library_verdicts.notes);
    for (t, found) in libraries.iter().enumerate() {
        let label = &targets[t].label;
        if let Some(why) = &found.problem {
            notes.push(format!("the library of Python {label} was not judged: {why}"));
        }
        let failing = library_verdicts.failures.keys().filter(|(x, _)| *x == t).count();
        if failing > 0 {
            notes.push(format!(
                "{failing} module(s) in the library of Python {label} do not compile (test data, most likely) and \
                 were left out"
            ));
        }
    }
    if targets.len() < deployment.targets.len() {
        notes.push("an interpreter reported no usable magic number and was left out".into());
    }
    for target in &targets {
        let answer = questions.answer(&target.interpreter.path, Want::Search);
        if !answer.allowed() {
            notes.push(format!(
                "`{}` cannot run `{}` ({}): the deployment cannot be using it as is, and --probe cannot run it",
                deployment.user.name,
                target.interpreter.path.display(),
                answer.describe()
            ));
        }
    }
    if !oracle.exact() {
        notes.push(format!(
            "the permissions of `{}` were judged from permission bits and mount flags (ACLs unseen); run pycache \
             as root or as that user for the kernel's answer",
            deployment.user.name
        ));
    }
    for mount in &tree.mounts {
        notes.push(format!(
            "`{}` is another file system (a mount point) than its root's and was not examined; \
             --cross-filesystems examines it",
            mount.display()
        ));
    }
    for (path, error) in &tree.unlisted {
        notes.push(format!("`{}` could not be listed: {error}", path.display()));
    }
    let caches = tree.caches.len() + tree.legacy.len();
    Diagnosis { report: Report::new(findings, tree.sources.len(), caches, notes), predictions, library, scripts }
}

/// The name of a path's owner, for messages and `sudo -u`.
pub(crate) fn owner_of(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(meta) => user_name(meta.uid()),
        Err(_) => "?".into(),
    }
}

pub(crate) fn user_name(uid: u32) -> String {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string())
}

/// Counts per key, in order, for aggregated findings.
pub(crate) fn tally<K: Ord>(items: impl IntoIterator<Item = K>) -> BTreeMap<K, usize> {
    let mut out = BTreeMap::new();
    for item in items {
        *out.entry(item).or_default() += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_write_point_is_the_nearest_existing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("pkg/__pycache__/m.cpython-312.pyc");
        assert_eq!(write_point(&cache), dir.path());
        std::fs::create_dir_all(dir.path().join("pkg/__pycache__")).unwrap();
        assert_eq!(write_point(&cache), dir.path().join("pkg/__pycache__"));
    }

    #[test]
    fn only_rejected_or_missing_caches_are_rewritten() {
        assert!(needs_write(&CacheState::Missing));
        assert!(needs_write(&CacheState::BadHeader("x".into())));
        assert!(!needs_write(&CacheState::Fresh));
        assert!(!needs_write(&CacheState::Corrupt("x".into())));
        assert!(!needs_write(&CacheState::UncheckedMismatch));
    }
}
