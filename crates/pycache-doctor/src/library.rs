//! The interpreter's own library: the standard library and site-packages
//! on its `sys.path`, judged at the deployment's level and as its service
//! user like the tree's modules.
//!
//! A stdlib installed by root has caches at the levels its installer
//! compiled (often level 0 only) and a service user cannot write the
//! others, so a server at `-OO` compiles every standard module it imports
//! in every process. Which modules matter: those `--probe` saw the
//! application load, else every module on `sys.path`. `sys.path` is the
//! interpreter's own, as the deployment starts it (`-E -s`, from `/`);
//! modules the interpreter holds frozen (3.11+) never use a cache and are
//! left out, and so are the deployment's trees, judged on their own.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::Serialize;

use crate::access::Answer;
use crate::checks::docstrings::doc_use;
use crate::checks::{precompile, shell};
use crate::deployment::Deployment;
use crate::doctor::{Prediction, Target};
use crate::finding::{Code, Finding, Severity};
use crate::launch::{Launch, Purpose};
use crate::scan::{Source, Tree, WalkOptions, scan};
use crate::state::CacheState;

/// Prints `sys.path`, then the names of the modules the interpreter loads
/// frozen (3.11+: those `_imp.find_frozen` finds while frozen modules are
/// on), each as `p<path>` or `f<name>` and a NUL. Runs on 2.7 and 3.x.
const SCRIPT: &str = r#"
import os, sys
out = getattr(sys.stdout, 'buffer', sys.stdout)
encode = getattr(os, 'fsencode', lambda p: p)
frozen = []
try:
    import _imp
    frozen = [n for n in _imp._frozen_module_names() if _imp.find_frozen(n) is not None]
except Exception:
    pass
for entry in sys.path:
    out.write(b'p' + encode(entry) + b'\0')
for name in frozen:
    out.write(b'f' + name.encode('ascii') + b'\0')
out.flush()
"#;

/// One interpreter's library, as found.
#[derive(Debug, Default)]
pub(crate) struct Library {
    /// The `sys.path` directory holding `os.py`: the standard library.
    pub stdlib: Option<PathBuf>,
    /// The sources, each with the `sys.path` directory it is imported from
    /// (the deepest that holds it).
    pub sources: Vec<(Source, PathBuf)>,
    /// Why the library could not be read, when it could not.
    pub problem: Option<String>,
}

/// The interpreter's `sys.path` and frozen modules, as the deployment runs
/// it: as the service user where pycache may switch to it. An interpreter
/// another user can change is not run for this: the base interpreter it
/// was identified by answers, and its virtual environment's site-packages
/// is added (or it runs as the service user, as the syntax check runs it).
fn query(deployment: &Deployment, index: usize) -> Result<(Vec<PathBuf>, HashSet<String>), String> {
    let launch = deployment.launches.get(index).cloned().unwrap_or(Launch::Direct);
    let direct = launch == Launch::Direct;
    let import = if direct && (nix::unistd::geteuid().is_root() || deployment.user.is_current()) {
        deployment.command(index, Purpose::Import)
    } else {
        Err(String::new())
    };
    let mut command = import.or_else(|_| deployment.command(index, Purpose::Compile))?;
    let output = command
        .args(["-E", "-s", "-c", SCRIPT])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|err| format!("cannot run it: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "it failed to print its sys.path ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let (mut entries, frozen) = parse(&output.stdout);
    if let Launch::Base { .. } = launch {
        let python = &deployment.targets[index];
        let (a, b, _) = python.version;
        entries.push(python.prefix.join(format!("lib/python{a}.{b}/site-packages")));
    }
    Ok((entries, frozen))
}

fn parse(bytes: &[u8]) -> (Vec<PathBuf>, HashSet<String>) {
    let mut entries = Vec::new();
    let mut frozen = HashSet::new();
    for item in bytes.split(|&b| b == 0) {
        match item.split_first() {
            Some((b'p', path)) if !path.is_empty() => {
                entries.push(PathBuf::from(std::ffi::OsStr::from_bytes(path)));
            }
            Some((b'f', name)) => {
                frozen.insert(String::from_utf8_lossy(name).into_owned());
            }
            _ => {}
        }
    }
    (entries, frozen)
}

/// The dotted name of `source` below `root`, if every part is a name.
fn module_of(source: &Path, root: &Path) -> Option<String> {
    let rel = source.strip_prefix(root).ok()?;
    let mut parts: Vec<&str> = rel.iter().map(|p| p.to_str()).collect::<Option<_>>()?;
    let last = parts.pop()?.strip_suffix(".py")?;
    if last != "__init__" {
        parts.push(last);
    }
    (!parts.is_empty()).then(|| parts.join("."))
}

/// The sys.path roots to judge: existing directories, outside the
/// deployment's trees (which are judged as the tree), each once.
fn roots(entries: Vec<PathBuf>, trees: &[PathBuf]) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    entries
        .into_iter()
        .filter(|e| e.is_absolute() && e.is_dir())
        .filter(|e| !trees.iter().any(|t| e.starts_with(t)))
        .filter(|e| seen.insert(e.clone()))
        .collect()
}

/// Finds and scans the library of target `index`.
pub(crate) fn locate(deployment: &Deployment, index: usize) -> Library {
    let (entries, frozen) = match query(deployment, index) {
        Ok(found) => found,
        Err(why) => return Library { problem: Some(why), ..Library::default() },
    };
    let roots = roots(entries, &deployment.paths);
    let stdlib = roots.iter().find(|r| r.join("os.py").is_file()).cloned();
    let tree: Tree = scan(&roots, WalkOptions { cross_filesystems: deployment.cross_filesystems });
    let mut sources = Vec::new();
    let mut seen = HashSet::new();
    for source in tree.sources {
        if deployment.paths.iter().any(|t| source.path.starts_with(t)) || !seen.insert(source.path.clone()) {
            continue;
        }
        let Some(root) = roots.iter().filter(|r| source.path.starts_with(r)).max_by_key(|r| r.as_os_str().len()) else {
            continue;
        };
        if module_of(&source.path, root).is_some_and(|name| frozen.contains(&name)) {
            continue;
        }
        let root = root.clone();
        sources.push((source, root));
    }
    Library { stdlib, sources, problem: None }
}

/// What an importing process does with a library module's cache; `None`
/// where pycache could not read it.
pub(crate) fn predict(state: &CacheState, writable: Answer, readable: Answer, dont_write: bool) -> Option<Prediction> {
    Some(match state {
        CacheState::Fresh if readable.allowed() => Prediction::Hit,
        CacheState::Corrupt(_) => Prediction::ImportFails,
        CacheState::UncheckedMismatch => Prediction::StaleCodeRuns,
        CacheState::Unreadable(_) => return None,
        _ if dont_write => Prediction::NotWritten,
        _ if writable.allowed() => Prediction::Compiled,
        _ => Prediction::WriteFailed,
    })
}

/// What doctor predicts for one module of an interpreter's library.
#[derive(Debug, Clone, Serialize)]
pub struct LibraryRow {
    pub source: PathBuf,
    pub cache: PathBuf,
    pub python: String,
    /// The `sys.path` entry it is imported from.
    pub root: PathBuf,
    pub prediction: Prediction,
    /// In the standard library (not site-packages).
    pub stdlib: bool,
    #[serde(skip)]
    pub(crate) target: usize,
}

/// The library's findings for the modules in `rows`, all of them or (after
/// `--probe`) those that were seen loaded.
pub(crate) fn findings(
    deployment: &Deployment,
    targets: &[Target],
    rows: &[&LibraryRow],
    probed: bool,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let user = &deployment.user.name;
    let level = deployment.optimize;
    // Per interpreter and root: the modules each process compiles, and how
    // many were judged.
    let mut groups: BTreeMap<(usize, PathBuf), (Vec<&LibraryRow>, usize)> = BTreeMap::new();
    for row in rows {
        let slot = groups.entry((row.target, row.root.clone())).or_default();
        slot.1 += 1;
        if matches!(row.prediction, Prediction::WriteFailed | Prediction::NotWritten) {
            slot.0.push(row);
        }
    }
    for ((t, root), (compiled, judged)) in &groups {
        if compiled.is_empty() {
            continue;
        }
        let Some(target) = targets.iter().find(|x| x.index == *t) else { continue };
        let kind = if compiled.iter().all(|r| r.stdlib) { "standard library" } else { "library" };
        let scope = if probed {
            format!(
                "{} of the {judged} {kind} module(s) the application loaded from `{}`",
                compiled.len(),
                root.display()
            )
        } else {
            format!("{} of the {judged} {kind} module(s) under `{}`", compiled.len(), root.display())
        };
        let cache_name = target
            .scheme
            .cache_path(Path::new("/m.py"), level)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let why = if deployment.dont_write_bytecode() {
            format!("and writes are disabled ({})", deployment.writes_disabled_by.as_deref().unwrap_or_default())
        } else {
            format!("and `{user}` cannot write one")
        };
        let examples: Vec<String> = compiled
            .iter()
            .take(5)
            .map(|r| r.source.strip_prefix(root).unwrap_or(&r.source).display().to_string())
            .collect();
        let more = if compiled.len() > examples.len() { ", ..." } else { "" };
        let message = format!(
            "{scope} have no cache at level {level} that the processes can use (`{}`), {why}: every process \
             compiles each of them that it imports ({}{more})",
            cache_name.replacen("m.", "*.", 1),
            examples.join(", ")
        );
        // After a probe, exactly the directories the loaded modules are in;
        // else the whole root.
        let dirs: Vec<PathBuf> = if probed {
            let dirs: BTreeSet<PathBuf> =
                compiled.iter().filter_map(|r| r.source.parent().map(Path::to_path_buf)).collect();
            dirs.into_iter().collect()
        } else {
            vec![root.clone()]
        };
        let flags: &[&str] = if probed { &["-l"] } else { &[] };
        let fix = precompile(deployment, target, root, flags, &compile_words(&dirs, probed));
        out.push(
            Finding::new(Code::LibraryNotCached, Severity::Error, root, message, fix).for_python(target.label.clone()),
        );
    }
    // Under -OO, site-packages that read docstrings (the standard library
    // is tested under -OO).
    if level >= 2 {
        let mut seen = HashSet::new();
        let fix = format!("run at level 1 instead, which keeps docstrings: {}", deployment.optimize_setting(1));
        for row in rows.iter().filter(|r| !r.stdlib) {
            if !seen.insert(row.source.clone()) {
                continue;
            }
            let Ok(bytes) = std::fs::read(&row.source) else { continue };
            if let Some(usage) = doc_use(&String::from_utf8_lossy(&bytes)) {
                out.push(crate::checks::docstrings::finding_for(deployment, &row.source, usage, &fix));
            }
        }
    }
    out
}

/// The paths, as shell words, that cover `dirs`: each directory (compiled
/// alone, with `-l`), or each with what is below it, those inside another
/// left to it.
pub(crate) fn compile_words(dirs: &[PathBuf], flat: bool) -> Vec<String> {
    dirs.iter().filter(|d| flat || !dirs.iter().any(|o| o != *d && d.starts_with(o))).map(|d| shell(d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sys_path_and_frozen_names_are_read_from_nul_separated_items() {
        let (entries, frozen) = parse(b"p\0p/usr/lib/python3.12\0p/x\xff\0fos\0fos.path\0");
        assert_eq!(
            entries,
            [PathBuf::from("/usr/lib/python3.12"), PathBuf::from(std::ffi::OsStr::from_bytes(b"/x\xff"))]
        );
        assert_eq!(frozen, HashSet::from(["os".to_owned(), "os.path".to_owned()]));
    }

    #[test]
    fn module_names_below_a_root() {
        let root = Path::new("/lib/python3.12");
        assert_eq!(module_of(Path::new("/lib/python3.12/os.py"), root).as_deref(), Some("os"));
        assert_eq!(module_of(Path::new("/lib/python3.12/importlib/util.py"), root).as_deref(), Some("importlib.util"));
        assert_eq!(module_of(Path::new("/lib/python3.12/json/__init__.py"), root).as_deref(), Some("json"));
        assert_eq!(module_of(Path::new("/elsewhere/x.py"), root), None);
    }

    #[test]
    fn roots_skip_the_trees_and_repeats() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("lib");
        let app = dir.path().join("app");
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::create_dir_all(app.join("src")).unwrap();
        let entries = vec![
            PathBuf::from(""),
            lib.clone(),
            app.join("src"),
            lib.clone(),
            dir.path().join("missing"),
            PathBuf::from("relative"),
        ];
        assert_eq!(roots(entries, &[app]), [lib]);
    }

    #[test]
    fn compile_words_name_each_directory_or_each_outer_root() {
        let dirs = [PathBuf::from("/lib/py"), PathBuf::from("/lib/py/json"), PathBuf::from("/site")];
        assert_eq!(compile_words(&dirs, true), ["/lib/py", "/lib/py/json", "/site"]);
        assert_eq!(compile_words(&dirs, false), ["/lib/py", "/site"]);
    }
}
