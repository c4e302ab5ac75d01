//! Per-cache findings: missing, stale, corrupt, unwritable, unreadable, and
//! the prediction `--probe` checks.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::access::{Answer, Want};
use crate::checks::{Context, shell};
use crate::doctor::{Prediction, PredictionRow, needs_write, owner_of, write_point};
use crate::finding::{Code, Finding, Severity};
use crate::state::{CacheState, StaleKind};

/// Whether `dir` is on a read-only mount. The kernel reports `EROFS` only
/// to a user the permission bits let through, so this asks the mount too.
pub(crate) fn read_only(dir: &Path, answer: Answer) -> bool {
    answer.read_only_fs()
        || nix::sys::statvfs::statvfs(dir).is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
}

/// Why the service user cannot modify `dir`, in words.
pub(crate) fn denial(dir: &Path, answer: Answer, user: &str) -> String {
    if read_only(dir, answer) {
        return format!("`{}` is on a read-only file system", dir.display());
    }
    match std::fs::metadata(dir) {
        Ok(meta) => format!(
            "`{user}` cannot write in `{}` (owner `{}`, mode {:o}: {})",
            dir.display(),
            owner_of(dir),
            meta.mode() & 0o7777,
            answer.describe()
        ),
        Err(_) => format!("`{user}` cannot write in `{}` ({})", dir.display(), answer.describe()),
    }
}

pub(crate) fn run(context: &Context, findings: &mut Vec<Finding>, predictions: &mut Vec<PredictionRow>) {
    let user = &context.deployment.user.name;
    let links: HashSet<&Path> = context.tree.links.iter().map(PathBuf::as_path).collect();
    for entry in context.entries {
        if context.failures.contains_key(&(entry.target, entry.source.path.clone())) {
            // Reported as syntax-error: the import fails whatever the cache.
            continue;
        }
        // A cache reached through a link is reported once, as the link
        // (`links`): advice to compile through it would be refused.
        let through_link =
            links.contains(entry.cache.as_path()) || entry.cache.parent().is_some_and(|dir| links.contains(dir));
        let reported = findings.len();
        let target = &context.targets[entry.target];
        let root = context.root_of(&entry.source.path);
        let cache = entry.cache.display();
        let finding = |code, severity, message: String, fix: String| {
            Finding::new(code, severity, &entry.source.path, message, fix).for_python(target.label.clone())
        };
        let point = write_point(&entry.cache);
        let writable = context.questions.answer(&point, Want::Modify);
        let prediction = match &entry.state {
            CacheState::Fresh => {
                let readable = context.questions.answer(&entry.cache, Want::Read);
                if readable.allowed() {
                    Prediction::Hit
                } else if writable.allowed() {
                    // The importer treats it as missing and writes a new one.
                    findings.push(finding(
                        Code::CacheUnreadable,
                        Severity::Warning,
                        format!(
                            "`{user}` cannot read `{cache}` ({}): the first process compiles the module and replaces it",
                            readable.describe()
                        ),
                        format!("chmod a+r {}", shell(&entry.cache)),
                    ));
                    Prediction::Compiled
                } else {
                    findings.push(finding(
                        Code::CacheUnreadable,
                        Severity::Error,
                        format!(
                            "`{user}` cannot read `{cache}` ({}) and cannot replace it: every new process compiles the \
                             module again",
                            readable.describe()
                        ),
                        format!("chmod a+r {}", shell(&entry.cache)),
                    ));
                    Prediction::WriteFailed
                }
            }
            CacheState::Corrupt(reason) => {
                findings.push(finding(
                    Code::CacheCorrupt,
                    Severity::Error,
                    format!(
                        "`{cache}` has a valid header but a damaged body ({reason}): the header is accepted, so \
                         importing the module fails instead of compiling it"
                    ),
                    context.precompile(target, &entry.source.path, &["--force"]),
                ));
                Prediction::ImportFails
            }
            CacheState::UncheckedMismatch => {
                findings.push(finding(
                    Code::CacheStale,
                    Severity::Error,
                    format!(
                        "`{cache}` is an unchecked hash-based cache that no longer matches its source: the \
                         interpreter never checks it and runs the old code"
                    ),
                    context.precompile(target, &root, &["--invalidation-mode unchecked-hash"]),
                ));
                Prediction::StaleCodeRuns
            }
            CacheState::Unreadable(error) => {
                findings.push(finding(
                    Code::CacheUnreadable,
                    Severity::Warning,
                    format!("pycache cannot read `{cache}`: {error}"),
                    "run pycache as root or as the owner of the tree".into(),
                ));
                continue;
            }
            state if needs_write(state) => {
                let what = match state {
                    CacheState::Missing => format!("no cache at `{cache}`"),
                    CacheState::Stale(kind) => format!("`{cache}` is stale ({kind})"),
                    CacheState::WrongMagic(magic) => {
                        format!("`{cache}` has another interpreter's magic number ({magic})")
                    }
                    CacheState::BadHeader(why) => {
                        format!("`{cache}` has a header the interpreter rejects ({why}), which only costs a recompile")
                    }
                    _ => unreachable!("needs_write covers these"),
                };
                let flags: &[&str] = match state {
                    CacheState::Stale(StaleKind::Hash) => &["--invalidation-mode checked-hash"],
                    _ => &[],
                };
                if context.deployment.dont_write_bytecode() {
                    // One finding per tree, from the environment checks.
                    Prediction::NotWritten
                } else if writable.allowed() {
                    let code = match state {
                        CacheState::Missing => Code::CacheMissing,
                        CacheState::BadHeader(_) => Code::CacheCorrupt,
                        _ => Code::CacheStale,
                    };
                    findings.push(finding(
                        code,
                        Severity::Warning,
                        format!("{what}: the first process to import the module compiles it and writes the cache as `{user}`"),
                        context.precompile(target, &root, flags),
                    ));
                    Prediction::Compiled
                } else {
                    let fix = if read_only(&point, writable) {
                        format!(
                            "precompile where the tree is built, before it is mounted read-only: {}; or give the \
                             processes a writable PYTHONPYCACHEPREFIX (3.8+)",
                            context.precompile(target, &root, flags)
                        )
                    } else {
                        context.precompile(target, &root, flags)
                    };
                    findings.push(finding(
                        Code::CacheUnwritable,
                        Severity::Error,
                        format!(
                            "{what}, and {}: every new process compiles the module again",
                            denial(&point, writable, user)
                        ),
                        fix,
                    ));
                    Prediction::WriteFailed
                }
            }
            _ => continue,
        };
        if through_link {
            findings.truncate(reported);
        }
        predictions.push(PredictionRow {
            source: entry.source.path.clone(),
            cache: entry.cache.clone(),
            python: target.label.clone(),
            prediction,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denials_say_who_cannot_write_where() {
        let dir = tempfile::tempdir().unwrap();
        let eacces = Answer(nix::errno::Errno::EACCES as i32);
        let text = denial(dir.path(), eacces, "www-data");
        assert!(text.starts_with(&format!("`www-data` cannot write in `{}` (owner `", dir.path().display())), "{text}");
        assert!(text.ends_with("Permission denied)"), "{text}");
        let erofs = Answer(nix::errno::Errno::EROFS as i32);
        assert!(read_only(dir.path(), erofs));
        assert_eq!(denial(dir.path(), erofs, "x"), format!("`{}` is on a read-only file system", dir.path().display()));
    }
}
