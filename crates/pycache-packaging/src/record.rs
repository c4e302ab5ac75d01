//! Adding caches to the `RECORD` of installed distributions.
//!
//! pip compiles a distribution's sources at install time and lists each
//! cache in the distribution's `*.dist-info/RECORD` with an empty hash and
//! size (`pkg/__pycache__/mod.cpython-312.pyc,,`), by its path relative to
//! the directory that holds the `.dist-info` (the site-packages), with `/`
//! between names. `pip uninstall` removes what RECORD lists, and of the
//! caches only those it can name itself: the level-0 cache of the
//! interpreter running pip. Caches at other levels (`.opt-1.pyc`,
//! `.opt-2.pyc`), or of other interpreters, stay behind unless RECORD lists
//! them; [`add_caches`] lists them as pip would.
//!
//! A cache is added to the RECORD that lists its source. Each RECORD is
//! rewritten atomically, keeping its bytes, mode and owner and appending
//! the new rows with its own line ending, under an advisory lock on its
//! `.dist-info` directory so that two runs do not lose each other's rows.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot read `{}`: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("`{}` is not a CSV file as RECORD must be: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("will not rewrite `{}`: it is not a regular file", path.display())]
    NotRegular { path: PathBuf },
    #[error("cannot rewrite `{}`: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// A cache and the source it caches, as the run spelled them.
#[derive(Debug, Clone)]
pub struct Cache<'a> {
    pub source: &'a Path,
    pub cache: &'a Path,
}

/// What [`add_caches`] did.
#[derive(Debug, Default, Serialize)]
pub struct RecordReport {
    /// Each RECORD that got rows, with the rows' paths.
    pub updated: Vec<Updated>,
    /// Caches already listed in their distribution's RECORD.
    pub already_listed: usize,
    /// Caches whose source no RECORD lists (not installed as part of a
    /// distribution, or not in a site-packages).
    pub not_in_a_distribution: usize,
    /// Caches outside the directory of the RECORD that lists their source
    /// (a pycache prefix elsewhere): pip would not list them.
    pub outside: usize,
    /// RECORDs that could not be read or rewritten; their caches are not
    /// listed.
    pub failed: Vec<Failed>,
}

#[derive(Debug, Serialize)]
pub struct Updated {
    #[serde(serialize_with = "pycache_json::path")]
    pub record: PathBuf,
    pub added: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Failed {
    #[serde(serialize_with = "pycache_json::path")]
    pub record: PathBuf,
    pub error: String,
}

/// One `.dist-info` with a RECORD, and the paths RECORD lists.
struct Distribution {
    record: PathBuf,
    listed: HashSet<String>,
}

/// A directory holding `.dist-info` directories: its distributions, and
/// which of them lists each path.
struct Site {
    dir: PathBuf,
    distributions: Vec<Distribution>,
    owner: HashMap<String, usize>,
}

/// Lists each cache in the RECORD that lists its source.
pub fn add_caches(caches: &[Cache<'_>]) -> RecordReport {
    let mut report = RecordReport::default();
    let mut finder = SiteFinder::default();
    // Per site, per distribution: the rows to add, in the order met.
    let mut pending: HashMap<(usize, usize), Vec<String>> = HashMap::new();
    for entry in caches {
        let (Ok(source), Ok(cache)) = (std::path::absolute(entry.source), std::path::absolute(entry.cache)) else {
            report.not_in_a_distribution += 1;
            continue;
        };
        let (source, cache) = (normal(&source), normal(&cache));
        let Some(site_index) = finder.site_for(&source, &mut report) else {
            report.not_in_a_distribution += 1;
            continue;
        };
        let site = &finder.sites[site_index];
        let Some(owner) = record_path(&source, &site.dir).and_then(|p| site.owner.get(&p).copied()) else {
            report.not_in_a_distribution += 1;
            continue;
        };
        let Some(row) = record_path(&cache, &site.dir) else {
            report.outside += 1;
            continue;
        };
        if site.distributions[owner].listed.contains(&row) {
            report.already_listed += 1;
            continue;
        }
        let rows = pending.entry((site_index, owner)).or_default();
        if !rows.contains(&row) {
            rows.push(row);
        }
    }
    let mut work: Vec<_> = pending.into_iter().collect();
    work.sort_by_key(|(key, _)| *key);
    for ((site, owner), rows) in work {
        let record = &finder.sites[site].distributions[owner].record;
        match append_rows(record, &rows) {
            Ok(added) if added.is_empty() => report.already_listed += rows.len(),
            Ok(added) => {
                report.already_listed += rows.len() - added.len();
                report.updated.push(Updated { record: record.clone(), added });
            }
            Err(err) => report.failed.push(Failed { record: record.clone(), error: err.to_string() }),
        }
    }
    report
}

/// `path` without `.` components and with `..` taken lexically, as pip
/// joins RECORD paths; symbolic links are not resolved, so a path through a
/// link (`lib64` in a virtual environment) keeps the spelling it was given.
fn normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` as RECORD spells it for a distribution in `site`: relative, with
/// `/`; `None` when it is not below `site` or not UTF-8 (RECORD is UTF-8).
fn record_path(path: &Path, site: &Path) -> Option<String> {
    let relative = path.strip_prefix(site).ok()?;
    let parts: Option<Vec<&str>> = relative.components().map(|c| c.as_os_str().to_str()).collect();
    let parts = parts?;
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[derive(Default)]
struct SiteFinder {
    sites: Vec<Site>,
    /// For each directory looked at: the site it belongs to, if any.
    known: HashMap<PathBuf, Option<usize>>,
}

impl SiteFinder {
    /// The nearest directory above `source` that holds `.dist-info`
    /// directories with a RECORD.
    fn site_for(&mut self, source: &Path, report: &mut RecordReport) -> Option<usize> {
        let mut visited = Vec::new();
        let mut found = None;
        for dir in source.ancestors().skip(1) {
            if let Some(known) = self.known.get(dir) {
                found = *known;
                break;
            }
            visited.push(dir.to_owned());
            let records = records_in(dir);
            if !records.is_empty() {
                found = Some(self.load(dir, records, report));
                break;
            }
        }
        for dir in visited {
            self.known.insert(dir, found);
        }
        found
    }

    fn load(&mut self, dir: &Path, records: Vec<PathBuf>, report: &mut RecordReport) -> usize {
        let mut site = Site { dir: dir.to_owned(), distributions: Vec::new(), owner: HashMap::new() };
        for record in records {
            let listed = match fs_err::read(&record)
                .map_err(|source| RecordError::Read { path: record.clone(), source })
                .and_then(|bytes| listed_paths(&record, &bytes))
            {
                Ok(listed) => listed,
                Err(err) => {
                    report.failed.push(Failed { record, error: err.to_string() });
                    continue;
                }
            };
            let index = site.distributions.len();
            for path in &listed {
                site.owner.entry(path.clone()).or_insert(index);
            }
            site.distributions.push(Distribution { record, listed });
        }
        self.sites.push(site);
        self.sites.len() - 1
    }
}

/// The RECORD files of the `.dist-info` directories in `dir`, sorted.
fn records_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut records: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().as_encoded_bytes().ends_with(b".dist-info"))
        .map(|e| e.path().join("RECORD"))
        .filter(|record| record.is_file())
        .collect();
    records.sort();
    records
}

/// The first field of every row.
fn listed_paths(record: &Path, bytes: &[u8]) -> Result<HashSet<String>, RecordError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut listed = HashSet::new();
    for row in reader.records() {
        let row = row.map_err(|err| RecordError::Parse { path: record.to_owned(), message: err.to_string() })?;
        if let Some(path) = row.get(0) {
            listed.insert(path.to_owned());
        }
    }
    Ok(listed)
}

/// Appends a `path,,` row for each of `rows` that RECORD does not list yet;
/// returns those it added.
fn append_rows(record: &Path, rows: &[String]) -> Result<Vec<String>, RecordError> {
    let dir = record.parent().unwrap_or(Path::new("."));
    let write_error = |source| RecordError::Write { path: record.to_owned(), source };
    // Held until the new file is in place.
    let lock = fs_err::File::open(dir).map_err(write_error)?;
    rustix::fs::flock(lock.file(), rustix::fs::FlockOperation::LockExclusive).map_err(|err| write_error(err.into()))?;
    let meta =
        fs_err::symlink_metadata(record).map_err(|err| RecordError::Read { path: record.into(), source: err })?;
    if !meta.file_type().is_file() {
        return Err(RecordError::NotRegular { path: record.to_owned() });
    }
    let mut bytes = fs_err::read(record).map_err(|source| RecordError::Read { path: record.to_owned(), source })?;
    let listed = listed_paths(record, &bytes)?;
    let added: Vec<String> = rows.iter().filter(|row| !listed.contains(*row)).cloned().collect();
    if added.is_empty() {
        return Ok(added);
    }
    // pip writes RECORD with Python's csv module, which ends rows with \r\n;
    // other installers use \n. New rows follow the file.
    let crlf = !bytes.contains(&b'\n') || bytes.windows(2).any(|w| w == b"\r\n");
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    }
    let mut writer = csv::WriterBuilder::new()
        .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
        .from_writer(&mut bytes);
    for row in &added {
        writer.write_record([row.as_str(), "", ""]).map_err(|err| write_error(err.into()))?;
    }
    writer.flush().map_err(write_error)?;
    drop(writer);

    let mut temp = tempfile::Builder::new().prefix(".RECORD.").tempfile_in(dir).map_err(write_error)?;
    temp.write_all(&bytes).map_err(write_error)?;
    let file = temp.as_file();
    file.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777)).map_err(write_error)?;
    if (file.metadata().map_err(write_error)?.uid(), file.metadata().map_err(write_error)?.gid())
        != (meta.uid(), meta.gid())
    {
        std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid())).map_err(write_error)?;
        // chown clears set-id bits; RECORD has none, but keep the mode exact.
        file.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777)).map_err(write_error)?;
    }
    file.sync_all().map_err(write_error)?;
    temp.persist(record).map_err(|err| write_error(err.error))?;
    drop(lock);
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site_with(record: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let info = dir.path().join("demo-1.0.dist-info");
        std::fs::create_dir_all(&info).unwrap();
        std::fs::create_dir_all(dir.path().join("demo/__pycache__")).unwrap();
        std::fs::write(dir.path().join("demo/__init__.py"), "").unwrap();
        std::fs::write(info.join("RECORD"), record).unwrap();
        let record = info.join("RECORD");
        (dir, record)
    }

    #[test]
    fn caches_are_appended_as_pip_lists_them_keeping_the_file() {
        let original: &[u8] =
            b"demo/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\r\ndemo-1.0.dist-info/RECORD,,\r\n";
        let (dir, record) = site_with(original);
        std::fs::set_permissions(&record, std::fs::Permissions::from_mode(0o640)).unwrap();
        let source = dir.path().join("demo/__init__.py");
        let caches: Vec<PathBuf> = ["", ".opt-1", ".opt-2"]
            .iter()
            .map(|opt| dir.path().join(format!("demo/__pycache__/__init__.cpython-312{opt}.pyc")))
            .collect();
        let entries: Vec<Cache<'_>> = caches.iter().map(|c| Cache { source: &source, cache: c }).collect();
        let report = add_caches(&entries);
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        assert_eq!(report.updated.len(), 1);
        let text = std::fs::read(&record).unwrap();
        let mut expected = original.to_vec();
        expected.extend_from_slice(
            b"demo/__pycache__/__init__.cpython-312.pyc,,\r\ndemo/__pycache__/__init__.cpython-312.opt-1.pyc,,\r\n\
              demo/__pycache__/__init__.cpython-312.opt-2.pyc,,\r\n",
        );
        assert_eq!(String::from_utf8_lossy(&text), String::from_utf8_lossy(&expected));
        assert_eq!(std::fs::metadata(&record).unwrap().permissions().mode() & 0o777, 0o640);
        // Again: nothing to add, the file is untouched.
        let again = add_caches(&entries);
        assert!(again.updated.is_empty());
        assert_eq!(again.already_listed, 3);
        assert_eq!(std::fs::read(&record).unwrap(), expected);
        // No temporary file left beside it.
        assert_eq!(std::fs::read_dir(record.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn newline_endings_and_a_missing_last_newline_are_followed() {
        let (dir, record) = site_with(b"demo/__init__.py,,\n\"demo/a,b.py\",,");
        std::fs::write(dir.path().join("demo/a,b.py"), "").unwrap();
        let (source, cache) = (dir.path().join("demo/a,b.py"), dir.path().join("demo/__pycache__/a,b.cpython-312.pyc"));
        let report = add_caches(&[Cache { source: &source, cache: &cache }]);
        assert_eq!(report.updated.len(), 1, "{report:?}");
        assert_eq!(
            std::fs::read_to_string(&record).unwrap(),
            "demo/__init__.py,,\n\"demo/a,b.py\",,\n\"demo/__pycache__/a,b.cpython-312.pyc\",,\n"
        );
    }

    #[test]
    fn caches_of_sources_no_record_lists_or_outside_the_site_are_left_out() {
        let (dir, record) = site_with(b"demo/__init__.py,,\r\n");
        let before = std::fs::read(&record).unwrap();
        std::fs::write(dir.path().join("loose.py"), "").unwrap();
        let loose = dir.path().join("loose.py");
        let loose_cache = dir.path().join("__pycache__/loose.cpython-312.pyc");
        let source = dir.path().join("demo/__init__.py");
        let prefixed = Path::new("/var/cache/pycache/x/__init__.cpython-312.pyc");
        let elsewhere = Path::new("/nonexistent/tree/mod.py");
        let report = add_caches(&[
            Cache { source: &loose, cache: &loose_cache },
            Cache { source: &source, cache: prefixed },
            Cache { source: elsewhere, cache: Path::new("/nonexistent/tree/__pycache__/mod.cpython-312.pyc") },
        ]);
        assert!(report.updated.is_empty());
        assert_eq!((report.not_in_a_distribution, report.outside), (2, 1));
        assert_eq!(std::fs::read(&record).unwrap(), before);
    }

    #[test]
    fn relative_and_dotted_spellings_find_the_same_row() {
        let (dir, record) = site_with(b"demo/__init__.py,,\r\n");
        let source = dir.path().join("demo/./sub/../__init__.py");
        let cache = dir.path().join("demo/__pycache__/__init__.cpython-312.opt-1.pyc");
        add_caches(&[Cache { source: &source, cache: &cache }]);
        assert!(
            std::fs::read_to_string(&record)
                .unwrap()
                .ends_with("demo/__pycache__/__init__.cpython-312.opt-1.pyc,,\r\n")
        );
    }

    #[test]
    fn a_symlinked_record_is_refused_and_named() {
        let (dir, record) = site_with(b"demo/__init__.py,,\r\n");
        let real = dir.path().join("real-RECORD");
        std::fs::rename(&record, &real).unwrap();
        std::os::unix::fs::symlink(&real, &record).unwrap();
        let source = dir.path().join("demo/__init__.py");
        let cache = dir.path().join("demo/__pycache__/__init__.cpython-312.pyc");
        let report = add_caches(&[Cache { source: &source, cache: &cache }]);
        assert_eq!(report.failed.len(), 1, "{report:?}");
        assert!(report.failed[0].error.contains("not a regular file"), "{}", report.failed[0].error);
        assert!(report.failed[0].error.contains(&record.display().to_string()));
        assert_eq!(std::fs::read(&real).unwrap(), b"demo/__init__.py,,\r\n");
    }
}
