//! `pycache clean`: selective removal of caches, never of anything else.
//!
//! Only files the importer or `pycache compile` could have written are
//! candidates: `__pycache__/<stem>.<tag>[.opt-N].pyc`, a `.pyc`/`.pyo`
//! beside an existing `.py`, and the `<cache>.<digits>` temporary files of
//! interrupted writes. A `.pyc` without its `.py` may be the only copy of a
//! module (a sourceless distribution) and is kept. Every removal walks down
//! from the root one directory at a time with `O_NOFOLLOW`, so a symbolic
//! link swapped in after the scan is never followed out of the tree, and
//! the file must still be the regular file that was scanned.

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use pycache_pyc::{CacheName, Magic};
use pycache_python::Interpreter;
use rustix::fs::{AtFlags, Mode, OFlags};
use serde::Serialize;

use crate::checks::housekeeping::{has_source, magic_of};
use crate::scan::{WalkOptions, is_debris, mount_of, other_mount, scan};

const ANOTHER_FILE_SYSTEM: &str =
    "another file system (a mount point) than its root's: not entered (--cross-filesystems enters it)";
use crate::state::{CacheState, HashCheck, classify};

/// What to remove.
#[derive(Debug, Clone, Default)]
pub struct CleanOptions {
    pub paths: Vec<PathBuf>,
    /// Caches whose source is gone.
    pub orphans: bool,
    /// Caches of interpreters other than `keep`.
    pub foreign: bool,
    /// Caches the importer would reject or fail on: stale, wrong magic, bad
    /// header, damaged body.
    pub stale: bool,
    /// Temporary files of interrupted writes.
    pub debris: bool,
    /// Every cache and temporary file.
    pub all: bool,
    /// The interpreters that run the tree (for `foreign` and `stale`).
    pub keep: Vec<Interpreter>,
    /// Also clean this pycache prefix's mirror of the paths.
    pub cache_prefix: Option<PathBuf>,
    /// Enter directories on other file systems (bind mounts included)
    /// than the root's.
    pub cross_filesystems: bool,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    Orphan,
    Foreign,
    Stale,
    Debris,
    /// Removed by `--all` only.
    Cache,
}

#[derive(Debug, Clone, Serialize)]
pub struct Removal {
    #[serde(serialize_with = "pycache_json::path")]
    pub path: PathBuf,
    pub reason: Reason,
    pub bytes: u64,
    /// Why, in words (the stale check's verdict, the foreign tag).
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    #[serde(serialize_with = "pycache_json::path")]
    pub path: PathBuf,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    #[serde(serialize_with = "pycache_json::path")]
    pub path: PathBuf,
    pub error: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CleanSummary {
    pub files: usize,
    pub bytes: u64,
    pub dirs: usize,
    pub failed: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CleanReport {
    pub dry_run: bool,
    pub removed: Vec<Removal>,
    /// Empty `__pycache__` directories removed.
    #[serde(serialize_with = "pycache_json::paths")]
    pub dirs: Vec<PathBuf>,
    /// Cache-like files left alone on purpose.
    pub kept: Vec<Kept>,
    pub failed: Vec<Failure>,
    pub summary: CleanSummary,
}

#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    #[error("`{0}` is not a directory; clean works on directories")]
    NotADirectory(PathBuf),
    #[error("nothing selected: give --orphans, --foreign, --stale, --debris or --all")]
    NothingSelected,
    #[error("--foreign needs the interpreters to keep (--python)")]
    NoInterpreters,
}

/// A file found by the scan, with what it was when scanned.
struct Candidate {
    root: PathBuf,
    path: PathBuf,
    dev: u64,
    ino: u64,
    bytes: u64,
}

fn candidate(root: &Path, path: &Path, kept: &mut Vec<Kept>) -> Option<Candidate> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if meta.file_type().is_symlink() {
        kept.push(Kept { path: path.to_owned(), why: "a symbolic link: clean never removes or follows links".into() });
        return None;
    }
    if !meta.is_file() {
        kept.push(Kept { path: path.to_owned(), why: "not a regular file".into() });
        return None;
    }
    Some(Candidate {
        root: root.to_owned(),
        path: path.to_owned(),
        dev: meta.dev(),
        ino: meta.ino(),
        bytes: meta.len(),
    })
}

/// Names that can never be removed, whatever list they came from.
fn protected(name: &[u8]) -> bool {
    name.ends_with(b".py") || name.ends_with(b".pyw")
}

/// The magic numbers of the kept interpreters, by cache tag, and those of
/// legacy-layout (2.x) ones.
struct Keep {
    tags: BTreeMap<String, Magic>,
    legacy: BTreeSet<Magic>,
    checks: BTreeMap<Magic, HashCheck>,
}

impl Keep {
    fn new(keep: &[Interpreter]) -> Self {
        let mut tags = BTreeMap::new();
        let mut legacy = BTreeSet::new();
        let mut checks = BTreeMap::new();
        for python in keep {
            let Some(magic) = python.magic() else { continue };
            checks.insert(magic, HashCheck::from_probe(python.check_hash_based_pycs.as_deref()));
            match &python.cache_tag {
                Some(tag) if python.py_version().has_pycache_dirs() => {
                    tags.insert(tag.clone(), magic);
                }
                _ => {
                    legacy.insert(magic);
                }
            }
        }
        Self { tags, legacy, checks }
    }
}

/// Why the importer would not use this cache, if it would not.
fn stale_verdict(cache: &Path, source: &Path, magic: Magic, check: HashCheck) -> Option<String> {
    let meta = std::fs::metadata(source).ok()?;
    match classify(cache, source, &meta, magic, check) {
        CacheState::Fresh | CacheState::Missing | CacheState::Unreadable(_) => None,
        CacheState::Stale(kind) => Some(kind.to_string()),
        CacheState::WrongMagic(found) => Some(format!("magic {found}, not {magic}")),
        CacheState::BadHeader(why) => Some(format!("bad header: {why}")),
        CacheState::Corrupt(why) => Some(format!("damaged body: {why}")),
        CacheState::UncheckedMismatch => Some("unchecked hash cache that no longer matches its source".into()),
    }
}

/// The pycache prefix's mirror of `root`: `<prefix>/<root without its leading slash>`.
fn mirror(prefix: &Path, root: &Path) -> PathBuf {
    let relative: PathBuf = root.components().filter(|c| !matches!(c, Component::RootDir)).collect();
    prefix.join(relative)
}

/// Decides about one tagged cache whose source would be `source_dir/<stem>.py`.
fn judge_tagged(
    options: &CleanOptions,
    keep: &Keep,
    cache: &Path,
    source_dir: &Path,
    name: &CacheName,
) -> Option<(Reason, String)> {
    if !has_source(source_dir, name) {
        return (options.orphans || options.all)
            .then(|| (Reason::Orphan, format!("`{}` is gone", source_dir.join(name.source_name()).display())));
    }
    let kept_magic = keep.tags.get(&name.tag).copied();
    if kept_magic.is_none() && options.foreign {
        return Some((Reason::Foreign, format!("{} is not kept", name.tag)));
    }
    if options.stale {
        let magic = kept_magic.or_else(|| name.version().and_then(Magic::for_version));
        if let Some(magic) = magic {
            let check = keep.checks.get(&magic).copied().unwrap_or(HashCheck::Default);
            if let Some(verdict) = stale_verdict(cache, &source_dir.join(name.source_name()), magic, check) {
                return Some((Reason::Stale, verdict));
            }
        }
    }
    options.all.then(|| (Reason::Cache, String::new()))
}

/// Opens `dir` (relative to `root`) one component at a time, refusing
/// symbolic links.
fn open_beneath(root: &Path, dir: &Path) -> std::io::Result<OwnedFd> {
    let mut fd = rustix::fs::open(root, OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    for component in dir.components() {
        match component {
            Component::Normal(name) => {
                fd = rustix::fs::openat(
                    &fd,
                    name,
                    OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::RDONLY | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
            }
            Component::CurDir => {}
            _ => return Err(std::io::Error::other("the path leaves the tree")),
        }
    }
    Ok(fd)
}

/// What became of a candidate.
enum Outcome {
    Removed,
    /// Left in place, and why.
    Kept(&'static str),
}

/// Removes `candidate` if it is still the file that was scanned. A
/// temporary file (`debris_before` set to the clean's start) goes only if
/// it was last changed before the clean began and no writer holds its lock
/// (pycache's writers hold it until they rename), as `compile` decides.
fn remove(
    candidate: &Candidate,
    dry_run: bool,
    debris_before: Option<std::time::SystemTime>,
) -> std::io::Result<Outcome> {
    let relative =
        candidate.path.strip_prefix(&candidate.root).map_err(|_| std::io::Error::other("outside the tree"))?;
    let name = relative.file_name().ok_or_else(|| std::io::Error::other("no file name"))?;
    if protected(name.as_bytes()) {
        return Err(std::io::Error::other("a source file: never removed"));
    }
    let dir = open_beneath(&candidate.root, relative.parent().unwrap_or(Path::new("")))?;
    let stat = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    let regular = rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::RegularFile;
    if !regular || stat.st_dev as u64 != candidate.dev || stat.st_ino as u64 != candidate.ino {
        return Err(std::io::Error::other("the file changed since it was scanned"));
    }
    // Held until the unlink, so that no writer takes the lock meanwhile.
    let mut _lock = None;
    if let Some(started) = debris_before {
        let modified = std::time::UNIX_EPOCH
            + std::time::Duration::new(stat.st_mtime.max(0) as u64, stat.st_mtime_nsec.clamp(0, 999_999_999) as u32);
        if modified >= started {
            return Ok(Outcome::Kept("a temporary file changed since the clean began: being written"));
        }
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&dir, name, flags, Mode::empty())?;
        if rustix::fs::flock(&fd, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
            return Ok(Outcome::Kept("a temporary file a writer holds locked: being written"));
        }
        _lock = Some(fd);
    }
    if !dry_run {
        rustix::fs::unlinkat(&dir, name, AtFlags::empty())?;
    }
    Ok(Outcome::Removed)
}

/// Removes an empty directory beneath `root`; `Ok(false)` if it is not empty.
fn remove_empty_dir(root: &Path, dir: &Path, dry_run: bool, going: &BTreeSet<PathBuf>) -> std::io::Result<bool> {
    let relative = dir.strip_prefix(root).map_err(|_| std::io::Error::other("outside the tree"))?;
    let name = relative.file_name().ok_or_else(|| std::io::Error::other("no name"))?;
    let parent = open_beneath(root, relative.parent().unwrap_or(Path::new("")))?;
    if dry_run {
        let remaining = std::fs::read_dir(dir)?.filter_map(Result::ok).filter(|e| !going.contains(&e.path())).count();
        return Ok(remaining == 0);
    }
    match rustix::fs::unlinkat(&parent, name, AtFlags::REMOVEDIR) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::NOTEMPTY | rustix::io::Errno::EXIST) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

pub fn clean(options: &CleanOptions) -> Result<CleanReport, CleanError> {
    let started = std::time::SystemTime::now();
    if !(options.orphans || options.foreign || options.stale || options.debris || options.all) {
        return Err(CleanError::NothingSelected);
    }
    if options.foreign && options.keep.is_empty() {
        return Err(CleanError::NoInterpreters);
    }
    let roots: Vec<PathBuf> =
        options.paths.iter().map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())).collect();
    if let Some(bad) = roots.iter().find(|r| !r.is_dir()) {
        return Err(CleanError::NotADirectory(bad.clone()));
    }
    let keep = Keep::new(&options.keep);
    let mut report = CleanReport { dry_run: options.dry_run, ..CleanReport::default() };
    let mut chosen: Vec<(Candidate, Reason, String)> = Vec::new();
    let mut dirs: Vec<(PathBuf, PathBuf)> = Vec::new();
    for root in &roots {
        let tree = scan(std::slice::from_ref(root), WalkOptions { cross_filesystems: options.cross_filesystems });
        for mount in &tree.mounts {
            report.kept.push(Kept { path: mount.clone(), why: ANOTHER_FILE_SYSTEM.into() });
        }
        for link in &tree.links {
            report
                .kept
                .push(Kept { path: link.clone(), why: "a symbolic link: clean never removes or follows links".into() });
        }
        for cache in &tree.caches {
            let Some(name) = cache.file_name().and_then(|n| CacheName::parse(n.as_bytes())) else { continue };
            let Some(source_dir) = cache.parent().and_then(Path::parent) else { continue };
            if let Some((reason, detail)) = judge_tagged(options, &keep, cache, source_dir, &name)
                && let Some(c) = candidate(root, cache, &mut report.kept)
            {
                chosen.push((c, reason, detail));
            }
        }
        for pyc in &tree.legacy {
            let bytes = pyc.as_os_str().as_bytes();
            let source = PathBuf::from(std::ffi::OsStr::from_bytes(&bytes[..bytes.len() - 1]));
            if !source.exists() {
                report.kept.push(Kept {
                    path: pyc.clone(),
                    why: format!(
                        "no `{}`: this may be the only copy of the module (clean never removes it)",
                        source.display()
                    ),
                });
                continue;
            }
            let magic = magic_of(pyc);
            let ours = magic.is_some_and(|m| keep.legacy.contains(&m));
            let verdict = if !ours && options.foreign {
                Some((
                    Reason::Foreign,
                    format!("{} bytecode beside its source, which no kept interpreter reads", version_text(magic)),
                ))
            } else if options.stale {
                let expected = magic.filter(|m| m.version().is_some());
                expected
                    .and_then(|m| {
                        let check = keep.checks.get(&m).copied().unwrap_or(HashCheck::Default);
                        stale_verdict(pyc, &source, m, check)
                    })
                    .map(|v| (Reason::Stale, v))
            } else {
                None
            };
            let verdict = verdict.or_else(|| options.all.then(|| (Reason::Cache, String::new())));
            if let Some((reason, detail)) = verdict
                && let Some(c) = candidate(root, pyc, &mut report.kept)
            {
                chosen.push((c, reason, detail));
            }
        }
        if options.debris || options.all {
            for debris in &tree.debris {
                if let Some(c) = candidate(root, debris, &mut report.kept) {
                    chosen.push((c, Reason::Debris, String::new()));
                }
            }
        }
        dirs.extend(tree.pycache_dirs.iter().map(|d| (root.clone(), d.clone())));

        if let Some(prefix) = &options.cache_prefix {
            let prefix = std::path::absolute(prefix).unwrap_or_else(|_| prefix.clone());
            let mirrored = mirror(&prefix, root);
            if mirrored.is_dir() {
                clean_mirror(options, &keep, &prefix, root, &mirrored, &mut chosen, &mut dirs, &mut report.kept);
            }
        }
    }

    let mut going = BTreeSet::new();
    for (candidate, reason, detail) in chosen {
        let debris_before = (reason == Reason::Debris).then_some(started);
        match remove(&candidate, options.dry_run, debris_before) {
            Ok(Outcome::Kept(why)) => report.kept.push(Kept { path: candidate.path, why: why.into() }),
            Ok(Outcome::Removed) => {
                going.insert(candidate.path.clone());
                report.summary.files += 1;
                report.summary.bytes += candidate.bytes;
                report.removed.push(Removal { path: candidate.path, reason, bytes: candidate.bytes, detail });
            }
            Err(err) => report.failed.push(Failure { path: candidate.path, error: err.to_string() }),
        }
    }
    // Deepest first, so that a mirror directory emptied by its children goes too.
    dirs.sort_by(|a, b| b.1.components().count().cmp(&a.1.components().count()).then(a.1.cmp(&b.1)));
    dirs.dedup();
    for (root, dir) in dirs {
        match remove_empty_dir(&root, &dir, options.dry_run, &going) {
            Ok(true) => {
                going.insert(dir.clone());
                report.summary.dirs += 1;
                report.dirs.push(dir);
            }
            Ok(false) => {}
            Err(err) => report.failed.push(Failure { path: dir, error: err.to_string() }),
        }
    }
    report.summary.failed = report.failed.len();
    Ok(report)
}

fn version_text(magic: Option<Magic>) -> String {
    magic.and_then(Magic::version).map(|v| format!("Python {v}")).unwrap_or_else(|| "unknown".into())
}

/// The caches under a pycache prefix for the sources of `root`.
#[allow(clippy::too_many_arguments)]
fn clean_mirror(
    options: &CleanOptions,
    keep: &Keep,
    prefix: &Path,
    root: &Path,
    mirrored: &Path,
    chosen: &mut Vec<(Candidate, Reason, String)>,
    dirs: &mut Vec<(PathBuf, PathBuf)>,
    kept: &mut Vec<Kept>,
) {
    let home = mount_of(mirrored);
    let mounts = std::cell::RefCell::new(Vec::new());
    let walk = walkdir::WalkDir::new(mirrored).follow_links(false).into_iter().filter_entry(|e| {
        let elsewhere = !options.cross_filesystems
            && e.depth() > 0
            && e.file_type().is_dir()
            && home.is_some_and(|home| mount_of(e.path()).is_some_and(|here| other_mount(home, here)));
        if elsewhere {
            mounts.borrow_mut().push(Kept { path: e.path().to_owned(), why: ANOTHER_FILE_SYSTEM.into() });
        }
        !elsewhere
    });
    for entry in walk.filter_map(Result::ok) {
        let path = entry.path();
        if entry.file_type().is_dir() {
            if path != mirrored {
                dirs.push((prefix.to_owned(), path.to_owned()));
            }
            continue;
        }
        let Some(file) = path.file_name() else { continue };
        if is_debris(file.as_bytes()) {
            if (options.debris || options.all)
                && let Some(c) = candidate(prefix, path, kept)
            {
                chosen.push((c, Reason::Debris, String::new()));
            }
            continue;
        }
        let Some(name) = CacheName::parse(file.as_bytes()) else { continue };
        let Some(rel) = path.parent().and_then(|p| p.strip_prefix(mirrored).ok()) else { continue };
        let source_dir = root.join(rel);
        if let Some((reason, detail)) = judge_tagged(options, keep, path, &source_dir, &name)
            && let Some(c) = candidate(prefix, path, kept)
        {
            chosen.push((c, reason, detail));
        }
    }
    kept.extend(mounts.into_inner());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mirror_keeps_the_absolute_path() {
        assert_eq!(mirror(Path::new("/var/cache/py"), Path::new("/srv/app")), Path::new("/var/cache/py/srv/app"));
    }

    #[test]
    fn sources_are_protected_by_name() {
        assert!(protected(b"mod.py"));
        assert!(protected(b"mod.pyc.py"));
        assert!(!protected(b"mod.cpython-312.pyc"));
    }

    #[test]
    fn removal_refuses_a_symlinked_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(outside.join("__pycache__")).unwrap();
        let victim = outside.join("__pycache__/m.cpython-312.pyc");
        std::fs::write(&victim, b"x").unwrap();
        let meta = std::fs::metadata(&victim).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("pkg")).unwrap();
        let c = Candidate {
            root: root.clone(),
            path: root.join("pkg/__pycache__/m.cpython-312.pyc"),
            dev: meta.dev(),
            ino: meta.ino(),
            bytes: 1,
        };
        assert!(remove(&c, false, None).is_err());
        assert!(victim.exists());
    }
}
