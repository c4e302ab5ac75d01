//! The marshal stage against CPython 3.12 and 3.13.0 themselves: for every
//! cache a fresh `python3.12` (or pyenv's `python3.13` 3.13.0) writes with `py_compile` (the standard library and the pinned
//! corpus, levels 0, 1 and 2), read it back, forget everything but the values
//! (references, FLAG_REF bits, interned marks, type-code choices), marshal
//! the values again with `pycache_compiler::marshal`, and require the same
//! bytes.
//!
//! By default a fixed sample of the files is checked; set
//! `PYCACHE_REMARSHAL_FULL=1` for all of them. Reference caches are kept
//! under the target directory, keyed by interpreter version, path, level and source
//! bytes, so a rerun compiles nothing.

use std::collections::BTreeMap;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use pycache_compiler::marshal::{REFERENCE_COMPILE, code_from_marshal, pyc_bytes};
use pycache_marshal::{Object, Value, read_pyc};
use pycache_python::Interpreter;
use pycache_python::testing;
use siphasher::sip128::{Hasher128, SipHasher13};

/// Files always checked, whatever the sample: ones that exercise rare rules
/// (frozensets rebuilt by interning, NaN constants, class qualified names,
/// non-ASCII identifiers).
const ALWAYS: &[&str] = &[
    "python3.12/difflib.py",
    "python3.12/typing.py",
    "python3.12/functools.py",
    "python3.12/test/test_float.py",
    "python3.12/test/test_signal.py",
    "python3.12/test/test_unicode_identifiers.py",
    "sympy/printing/tableform.py",
];

/// Caches no value tree can reproduce, with the reason (none since the
/// `%%` fold's new `'%'` is carried as `CodeObject::fresh_percent`).
const KNOWN_DIFFERENT: &[(&str, &str)] = &[];

/// One in this many files is in the default sample.
const SAMPLE_EVERY: u64 = 20;

struct Job {
    source: PathBuf,
    level: u8,
    cache: PathBuf,
}

enum Reference {
    Pyc(Vec<u8>),
    Refused,
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() && name != "__pycache__" && name != "site-packages" {
            collect(&entry.path(), out);
        } else if kind.is_file() && name.ends_with(".py") {
            out.push(entry.path());
        }
    }
}

fn hash64(data: &[u8]) -> u64 {
    let mut h = SipHasher13::new();
    h.write(data);
    h.finish()
}

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PYCACHE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.corpus/site-packages"));
    dir.is_dir().then_some(dir)
}

fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("remarshal312")
}

fn cache_dir_of(python: &Interpreter) -> PathBuf {
    match python.version.1 {
        12 => cache_dir(),
        minor => Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("remarshal3{minor}")),
    }
}

/// Where the reference cache of `source` at `level` lives: a hash of the
/// interpreter, the path (it is recorded in co_filename), the level and the
/// source bytes.
fn cache_path(python: &Interpreter, source: &Path, level: u8, bytes: &[u8]) -> PathBuf {
    let dir = cache_dir_of(python);
    let mut h = SipHasher13::new();
    h.write(format!("{:?}", python.version).as_bytes());
    h.write(REFERENCE_COMPILE.as_bytes());
    h.write(&[0xff]);
    h.write(source.as_os_str().as_encoded_bytes());
    h.write(&[0xff, level]);
    h.write(bytes);
    dir.join(format!("{:032x}", h.finish128().as_u128()))
}

fn load(job: &Job) -> Option<Reference> {
    if let Ok(bytes) = std::fs::read(job.cache.with_extension("pyc")) {
        return Some(Reference::Pyc(bytes));
    }
    job.cache.with_extension("err").exists().then_some(Reference::Refused)
}

/// Compiles `job` in a fresh interpreter, as the reference. The reference
/// writes a `__pycache__` beside the source, so it compiles a copy in the
/// worker's own directory (the file name recorded is the copy's, which
/// re-marshalling carries over as any other string).
fn compile(python: &Interpreter, job: &Job, worker: usize) {
    let tmp = job.cache.with_extension(format!("tmp{worker}"));
    let work = cache_dir_of(python).join(format!("work{worker}"));
    std::fs::create_dir_all(&work).unwrap();
    let copy = work.join(job.source.file_name().unwrap());
    std::fs::copy(&job.source, &copy).unwrap();
    let output = Command::new(&python.executable)
        .args(["-s", "-P", "-c", REFERENCE_COMPILE])
        .arg(&copy)
        .arg(&tmp)
        .arg(job.level.to_string())
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONSTARTUP")
        .env_remove("PYTHONOPTIMIZE")
        .env("PYTHONHASHSEED", "0")
        .current_dir(cache_dir_of(python))
        .output()
        .expect("run python");
    if output.status.success() {
        std::fs::rename(&tmp, job.cache.with_extension("pyc")).unwrap();
    } else {
        std::fs::write(job.cache.with_extension("err"), &output.stderr).unwrap();
    }
}

/// Makes the missing reference caches, a few interpreters at a time.
fn ensure_references(python: &Interpreter, jobs: &[Job]) {
    let missing: Vec<&Job> = jobs.iter().filter(|job| load(job).is_none()).collect();
    if missing.is_empty() {
        return;
    }
    eprintln!("compiling {} reference caches with {}", missing.len(), python.label());
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        for worker in 0..workers {
            let (next, missing) = (&next, &missing);
            scope.spawn(move || {
                while let Some(job) = missing.get(next.fetch_add(1, Ordering::Relaxed)) {
                    compile(python, job, worker);
                }
            });
        }
    });
}

/// Where two streams first differ, as a path through the trees (each read
/// as written: references are not followed, flags count).
fn first_difference(left: &Object, right: &Object, path: &mut String) -> Option<String> {
    if left.type_byte() != right.type_byte() || (left.children().is_empty() && left.value != right.value) {
        let describe = |o: &Object| format!("{}{}", o.value.summary(), if o.flag_ref { " +FLAG_REF" } else { "" });
        return Some(format!("{path}: {} != {}", describe(left), describe(right)));
    }
    let labels: Vec<String> = match &left.value {
        Value::Code(code) => code.objects().iter().map(|(name, _)| format!(".{name}")).collect(),
        _ => (0..left.children().len()).map(|i| format!("[{i}]")).collect(),
    };
    let (lc, rc) = (left.children(), right.children());
    if lc.len() != rc.len() {
        return Some(format!("{path}: {} items != {}", lc.len(), rc.len()));
    }
    for ((l, r), label) in lc.into_iter().zip(rc).zip(labels) {
        let len = path.len();
        path.push_str(&label);
        if let Some(found) = first_difference(l, r, path) {
            return Some(found);
        }
        path.truncate(len);
    }
    None
}

#[derive(Default)]
struct Figures {
    files: usize,
    identical: usize,
    refused: usize,
    different: Vec<String>,
    known: Vec<String>,
}

#[test]
fn remarshalled_caches_are_byte_identical() {
    let Some(python) = testing::reference(3, 12, "remarshalled_caches_are_byte_identical") else { return };
    // Marshal follows the release's profile, else the newest of its version.
    let target =
        pycache_compiler::Target::exact(python.version).or_else(|| pycache_compiler::Target::newest(3, 12)).unwrap();
    remarshal(python, target, &[]);
}

/// CPython 3.13.0 (pyenv's build): the code object interns its names
/// (`InternCodeNames`), and its fresh process's interned strings
/// (`tables313.rs`).
#[test]
fn remarshalled_3_13_0_caches_are_byte_identical() {
    let exe = testing::pyenv_root().map(|r| r.join("versions/3.13.0/bin/python3.13")).filter(|p| p.is_file());
    let python = exe.and_then(|exe| {
        let request = pycache_python::PythonRequest::Path(exe);
        let cache = pycache_python::ProbeCache::open(Some(std::env::temp_dir().join("pycache-test-interpreters.json")));
        pycache_python::find_interpreter(&request, &cache).ok()
    });
    let Some(python) = python else {
        eprintln!("SKIP remarshalled_3_13_0_caches_are_byte_identical: pyenv 3.13.0 is not installed");
        return;
    };
    let target = pycache_compiler::Target::candidate((3, 13, 0)).unwrap();
    remarshal(python, target, &["python3.13/difflib.py", "python3.13/typing.py", "python3.13/functools.py"]);
}

fn remarshal(python: Interpreter, target: pycache_compiler::Target, always: &[&str]) {
    let minor = python.version.1;
    let full = std::env::var_os("PYCACHE_REMARSHAL_FULL").is_some_and(|v| !v.is_empty() && v != "0");
    // For debugging: only the files whose path contains this text.
    let only = std::env::var("PYCACHE_REMARSHAL_ONLY").ok();
    let stdlib = python.base_prefix.join(format!("lib/python3.{minor}"));
    let mut trees = vec![("stdlib", stdlib)];
    match corpus() {
        Some(dir) => trees.push(("corpus", dir)),
        None => eprintln!("SKIP the corpus part: run `python3 corpus/fetch.py` to fetch it"),
    }
    std::fs::create_dir_all(cache_dir_of(&python)).unwrap();

    let mut jobs = Vec::new();
    let mut tree_of = Vec::new();
    for (tree, dir) in &trees {
        let mut files = Vec::new();
        collect(dir, &mut files);
        files.sort();
        for file in files {
            let relative = file.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if only.as_ref().is_some_and(|only| !relative.contains(only.as_str())) {
                continue;
            }
            let always = ALWAYS.iter().chain(always).any(|a| file.ends_with(a)) || only.is_some();
            if !full && !always && !hash64(relative.as_bytes()).is_multiple_of(SAMPLE_EVERY) {
                continue;
            }
            let Ok(bytes) = std::fs::read(&file) else { continue };
            for level in 0..=2 {
                let cache = cache_path(&python, &file, level, &bytes);
                jobs.push(Job { source: file.clone(), level, cache });
                tree_of.push(*tree);
            }
        }
    }
    ensure_references(&python, &jobs);

    let figures: Mutex<BTreeMap<(&str, u8), Figures>> = Mutex::new(BTreeMap::new());
    for (job, tree) in jobs.iter().zip(&tree_of) {
        let mut all = figures.lock().unwrap();
        let row = all.entry((tree, job.level)).or_default();
        row.files += 1;
        let reference = match load(job) {
            Some(Reference::Pyc(bytes)) => bytes,
            Some(Reference::Refused) => {
                row.refused += 1;
                continue;
            }
            None => panic!("no reference cache for `{}`", job.source.display()),
        };
        let pyc = read_pyc(&reference).unwrap_or_else(|e| panic!("`{}`: {e}", job.source.display()));
        let code = code_from_marshal(&pyc.code).unwrap_or_else(|e| panic!("`{}`: {e}", job.source.display()));
        let header: [u8; 16] = pyc.header_bytes.as_slice().try_into().unwrap();
        let ours = pyc_bytes(&header, &code, target).unwrap_or_else(|e| panic!("`{}`: {e}", job.source.display()));
        if ours == reference {
            row.identical += 1;
            continue;
        }
        let detail = match pycache_marshal::read_pyc(&ours) {
            Ok(back) => first_difference(&back.code, &pyc.code, &mut "root".to_owned())
                .unwrap_or_else(|| "same tree, different bytes".to_owned()),
            Err(e) => format!("ours does not read back: {e}"),
        };
        let line = format!("{} -O{}: {detail}", job.source.display(), job.level);
        match KNOWN_DIFFERENT.iter().find(|(path, _)| job.source.ends_with(path)) {
            Some((_, why)) => row.known.push(format!("{line}\n    known: {why}")),
            None => row.different.push(line),
        }
    }

    let figures = figures.into_inner().unwrap();
    eprintln!("{} caches re-marshalled ({}):", python.label(), if full { "full sweep" } else { "sample" });
    let mut total = Figures::default();
    for ((tree, level), row) in &figures {
        eprintln!(
            "  {tree:7} -O{level}: {:5} files, {:5} identical, {:3} known different, {:3} different, {:3} refused by CPython",
            row.files,
            row.identical,
            row.known.len(),
            row.different.len(),
            row.refused
        );
        total.files += row.files;
        total.identical += row.identical;
        total.refused += row.refused;
        total.different.extend(row.different.iter().cloned());
        total.known.extend(row.known.iter().cloned());
    }
    eprintln!(
        "  total:     {:5} files, {:5} identical, {:3} known different, {:3} different, {:3} refused by CPython",
        total.files,
        total.identical,
        total.known.len(),
        total.different.len(),
        total.refused
    );
    for line in &total.known {
        eprintln!("KNOWN DIFFERENT {line}");
    }
    for line in &total.different {
        eprintln!("DIFFERENT {line}");
    }
    assert!(total.different.is_empty(), "{} caches differ", total.different.len());
    assert!(total.identical > 0, "nothing was compared");
}
