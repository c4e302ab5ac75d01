//! syntax-error: sources the interpreter cannot compile. Importing such a
//! module fails every time, and no cache can ever be written for it, so
//! advice to precompile would be wrong: the finding names the file and the
//! interpreter's own error instead.
//!
//! Only sources the importer compiles are checked: those without a cache
//! it accepts (a fresh cache says the source compiled; a damaged body or an
//! unchecked hash cache means it does not compile at all). They are
//! compiled, never run,
//! by an interpreter of the deployment's release, started so that it hands
//! no privileges to anyone ([`crate::launch`]), as the importer does:
//! `compile(bytes, path, 'exec', dont_inherit=True)` at the deployment's
//! level, warnings ignored. The sources are opened without blocking and
//! must be regular files of at most [`SIZE_LIMIT`] bytes. A source that
//! compiled is remembered (`doctor-compiles.json` in pycache's state
//! directory) by its device, inode, size, mtime and ctime, and not compiled
//! again until one of them changes.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::checks::Context;
use crate::doctor::{Entry, Target};
use crate::finding::{Code, Finding, Severity};
use crate::launch::Purpose;
use crate::state::CacheState;

/// Sources larger than this are not checked (a sparse file could claim
/// any size).
pub(crate) const SIZE_LIMIT: u64 = 32 << 20;

/// How long one checking process may take.
const TIMEOUT: Duration = Duration::from_secs(600);

/// Reads NUL-separated paths on stdin; prints one JSON list per path:
/// `["ok"]`, `["skip", why]` or `["error", type, message, line, column]`.
/// Runs on 2.7 and 3.x.
const CHECK: &str = r#"
import json, os, stat, sys, warnings
def _pycache_check(limit):
    warnings.simplefilter('ignore')
    py3 = sys.version_info[0] >= 3
    data = (sys.stdin.buffer if py3 else sys.stdin).read()
    out = sys.stdout
    for raw in data.split(b'\0'):
        if not raw:
            continue
        path = raw.decode('utf-8', 'surrogateescape') if py3 else raw
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    answer = ['skip', 'not a regular file']
                elif st.st_size > limit:
                    answer = ['skip', 'larger than %d bytes' % limit]
                else:
                    chunks = []
                    while True:
                        chunk = os.read(fd, 1 << 20)
                        if not chunk:
                            break
                        chunks.append(chunk)
                    answer = None
            finally:
                os.close(fd)
        except (IOError, OSError) as e:
            answer = ['skip', '%s: %s' % (type(e).__name__, e)]
        if answer is None:
            source = b''.join(chunks)
            try:
                compile(source, path, 'exec', 0, True)
                answer = ['ok']
            except SyntaxError as e:
                answer = ['error', type(e).__name__, str(e.msg), e.lineno, e.offset]
            except Exception as e:
                answer = ['error', type(e).__name__, str(e), None, None]
        out.write(json.dumps(answer) + '\n')
    out.flush()
_pycache_check(int(sys.argv[1]))
"#;

/// Why the interpreter could not compile a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// `SyntaxError`, `IndentationError`, `TabError`, `ValueError`, ...
    pub kind: String,
    pub message: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        match (self.line, self.column) {
            (Some(line), Some(column)) if column > 0 => write!(f, " (line {line}, column {column})"),
            (Some(line), _) => write!(f, " (line {line})"),
            _ => Ok(()),
        }
    }
}

/// The sources each interpreter cannot compile, by target (its position
/// among the diagnosis' targets) and path.
#[derive(Debug, Default)]
pub(crate) struct Verdicts {
    pub failures: HashMap<(usize, PathBuf), Failure>,
    pub notes: Vec<String>,
}

/// Whether the importer compiles this source (so it matters whether it
/// can): a missing or rejected cache. A damaged body fails the import
/// before any compile, and an unchecked hash cache runs without one.
fn will_compile(state: &CacheState) -> bool {
    crate::doctor::needs_write(state)
}

/// One line of the checker's answer: `None` when the source was not checked.
fn answer(line: &[u8]) -> Option<Result<(), Failure>> {
    let items: Vec<serde_json::Value> = serde_json::from_slice(line).ok()?;
    let text = |i: usize| items.get(i).and_then(serde_json::Value::as_str).map(str::to_owned);
    let number = |i: usize| {
        items.get(i).and_then(serde_json::Value::as_u64).and_then(|n| u32::try_from(n).ok()).filter(|&n| n > 0)
    };
    match text(0)?.as_str() {
        "ok" => Some(Ok(())),
        "error" => Some(Err(Failure { kind: text(1)?, message: text(2)?, line: number(3), column: number(4) })),
        _ => None,
    }
}

/// Runs `command` with `input` on stdin, for at most `timeout`; its stdout.
fn run_helper(mut command: Command, input: Vec<u8>, timeout: Duration) -> Result<Vec<u8>, String> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|err| err.to_string())?;
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).map(|_| out)
    });
    let problem = crate::launch::wait_or_kill(&mut child, timeout);
    let _ = writer.join();
    let out = reader.join().map_err(|_| "the reader failed".to_owned())?.map_err(|e| e.to_string())?;
    match problem {
        // What was answered before the stop still counts.
        Some(problem) if out.is_empty() => Err(problem),
        _ => Ok(out),
    }
}

/// The identity of a source as the memory keeps it: device, inode, size,
/// mtime and ctime (seconds and nanoseconds). Any write changes the ctime.
type Identity = (u64, u64, u64, i64, i64, i64, i64);

fn identity(meta: &std::fs::Metadata) -> Identity {
    (meta.dev(), meta.ino(), meta.len(), meta.mtime(), meta.mtime_nsec(), meta.ctime(), meta.ctime_nsec())
}

/// Bump when what is remembered changes meaning.
const MEMORY_FORMAT: u32 = 1;
/// Past this many entries the memory starts again.
const MEMORY_LIMIT: usize = 500_000;

/// The sources each interpreter compiled without error, remembered between
/// runs by the file's identity, so that a later diagnosis compiles only
/// what changed. Failures are not remembered: their message is asked for
/// again.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Memory {
    format: u32,
    /// `<interpreter> <version>\0<source>` → the source's identity.
    entries: HashMap<String, Identity>,
}

impl Memory {
    fn file() -> Option<PathBuf> {
        pycache_python::default_cache_dir().map(|dir| dir.join("doctor-compiles.json"))
    }

    fn load() -> Self {
        Self::file()
            .and_then(|file| std::fs::read(file).ok())
            .and_then(|bytes| serde_json::from_slice::<Self>(&bytes).ok())
            .filter(|memory| memory.format == MEMORY_FORMAT)
            .unwrap_or(Self { format: MEMORY_FORMAT, entries: HashMap::new() })
    }

    fn key(target: &Target, path: &Path) -> String {
        format!("{} {}\0{}", target.interpreter.executable.display(), target.label, path.display())
    }

    /// Writes it back; failing only costs a compile next time.
    fn save(&mut self) {
        let Some(file) = Self::file() else { return };
        if self.entries.len() > MEMORY_LIMIT {
            self.entries.clear();
        }
        if let Ok(bytes) = serde_json::to_vec(self)
            && let Err(err) = pycache_python::write_state_file(&file, &bytes)
        {
            tracing::debug!("cannot save `{}`: {err}", file.display());
        }
    }
}

/// Compiles, for each target, the sources whose cache it would not use.
pub(crate) fn check(context_targets: &[Target], entries: &[Entry], deployment: &crate::Deployment) -> Verdicts {
    let mut verdicts = Verdicts::default();
    let jobs = std::thread::available_parallelism().map_or(1, usize::from).max(1);
    let mut memory: Option<Memory> = None;
    let mut learned = false;
    for (t, target) in context_targets.iter().enumerate() {
        let (candidates, too_big): (Vec<&Entry>, Vec<&Entry>) = entries
            .iter()
            .filter(|e| e.target == t && will_compile(&e.state))
            .partition(|e| e.source.meta.len() <= SIZE_LIMIT);
        if !too_big.is_empty() {
            verdicts.notes.push(format!(
                "{} source(s) over {} MiB were not checked for syntax errors under Python {}",
                too_big.len(),
                SIZE_LIMIT >> 20,
                target.label
            ));
        }
        if candidates.is_empty() {
            continue;
        }
        let by_path: HashMap<&Path, &Entry> = candidates.iter().map(|e| (e.source.path.as_path(), *e)).collect();
        let memory = memory.get_or_insert_with(Memory::load);
        let sizes: HashMap<&Path, u64> = candidates
            .iter()
            .filter(|e| memory.entries.get(&Memory::key(target, &e.source.path)) != Some(&identity(&e.source.meta)))
            .map(|e| (e.source.path.as_path(), e.source.meta.len()))
            .collect();
        let sources: Vec<&Path> = sizes.keys().copied().collect();
        if sources.is_empty() {
            continue;
        }
        if let Err(why) = deployment.command(target.index, Purpose::Compile) {
            verdicts.notes.push(format!(
                "whether {} source(s) compile under Python {} was not checked: {why}",
                sizes.len(),
                target.label
            ));
            continue;
        }
        // Balanced by size, biggest first, one process per core.
        let mut sized: Vec<&Path> = sources;
        let size = |p: &Path| sizes.get(p).copied().unwrap_or(0);
        sized.sort_by_key(|p| (std::cmp::Reverse(size(p)), *p));
        let mut chunks: Vec<(u64, Vec<&Path>)> = vec![(0, Vec::new()); jobs.min(sized.len())];
        for path in sized {
            let lightest = chunks.iter_mut().min_by_key(|c| c.0).expect("at least one chunk");
            lightest.0 += size(path).max(1);
            lightest.1.push(path);
        }
        // Each process's paths, and its output or why it gave none.
        type Answers<'p> = Vec<(Vec<&'p Path>, Result<Vec<u8>, String>)>;
        let answers: Answers = std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|(_, paths)| {
                    let command = deployment.command(target.index, Purpose::Compile);
                    scope.spawn(move || {
                        let mut command = match command {
                            Ok(command) => command,
                            Err(why) => return (paths, Err(why)),
                        };
                        command.arg("-E").arg("-S");
                        command.args(deployment.optimize_flag());
                        command.arg("-B").arg("-c").arg(CHECK).arg(SIZE_LIMIT.to_string());
                        let mut input = Vec::new();
                        for path in &paths {
                            input.extend_from_slice(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()));
                            input.push(0);
                        }
                        let out = run_helper(command, input, TIMEOUT);
                        (paths, out)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("the checking thread")).collect()
        });
        let mut unchecked = 0;
        let mut problems = Vec::new();
        for (paths, out) in answers {
            let out = match out {
                Ok(out) => out,
                Err(problem) => {
                    unchecked += paths.len();
                    problems.push(problem);
                    continue;
                }
            };
            let mut lines = out.split(|&b| b == b'\n');
            for path in paths {
                match lines.next().and_then(answer) {
                    Some(Ok(())) => {
                        if let Some(entry) = by_path.get(path) {
                            memory.entries.insert(Memory::key(target, path), identity(&entry.source.meta));
                            learned = true;
                        }
                    }
                    Some(Err(failure)) => {
                        verdicts.failures.insert((t, path.to_owned()), failure);
                    }
                    None => unchecked += 1,
                }
            }
        }
        if unchecked > 0 {
            let why = if problems.is_empty() { String::new() } else { format!(" ({})", problems.join("; ")) };
            verdicts.notes.push(format!(
                "whether {unchecked} source(s) compile under Python {} could not be checked{why}",
                target.label
            ));
        }
    }
    if learned && let Some(memory) = &mut memory {
        memory.save();
    }
    verdicts
}

/// The findings for the sources that do not compile.
pub(crate) fn run(context: &Context, findings: &mut Vec<Finding>) {
    let failures = context.failures;
    for entry in context.entries {
        let target = &context.targets[entry.target];
        let Some(failure) = failures.get(&(entry.target, entry.source.path.clone())) else { continue };
        let place = failure.line.map(|line| format!(" at line {line}")).unwrap_or_default();
        findings.push(
            Finding::new(
                Code::SyntaxError,
                Severity::Error,
                &entry.source.path,
                format!(
                    "Python {} cannot compile it: {failure}. Importing the module fails, and no cache can be \
                     written for it",
                    target.label
                ),
                format!(
                    "correct the source{place}, or remove the file if nothing imports it; compiling again cannot help"
                ),
            )
            .for_python(target.label.clone()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse() {
        assert_eq!(answer(br#"["ok"]"#), Some(Ok(())));
        assert_eq!(answer(br#"["skip", "not a regular file"]"#), None);
        assert_eq!(answer(b"garbage"), None);
        let failure =
            Failure { kind: "SyntaxError".into(), message: "invalid syntax".into(), line: Some(3), column: Some(5) };
        assert_eq!(answer(br#"["error", "SyntaxError", "invalid syntax", 3, 5]"#), Some(Err(failure)));
        let failure = Failure { kind: "ValueError".into(), message: "null bytes".into(), line: None, column: None };
        assert_eq!(answer(br#"["error", "ValueError", "null bytes", null, null]"#), Some(Err(failure)));
    }

    #[test]
    fn failures_read_as_the_interpreter_reports_them() {
        let failure =
            Failure { kind: "SyntaxError".into(), message: "invalid syntax".into(), line: Some(3), column: Some(5) };
        assert_eq!(failure.to_string(), "SyntaxError: invalid syntax (line 3, column 5)");
        let failure = Failure { kind: "ValueError".into(), message: "x".into(), line: None, column: None };
        assert_eq!(failure.to_string(), "ValueError: x");
    }
}
