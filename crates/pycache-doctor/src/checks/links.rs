//! cache-symlink: a `__pycache__` or a cache file that is a symbolic link.
//! The importer follows it: it loads bytecode from where the link points
//! and, through a linked `__pycache__`, writes new caches there. Whoever
//! controls either end can plant code for the other, and a root process
//! compiling the tree writes its caches into a directory someone else
//! chose. Neither the interpreter nor pycache ever makes such a link.

use std::os::unix::ffi::OsStrExt;

use crate::checks::{Context, shell};
use crate::finding::{Code, Finding, Severity};
use crate::scan::is_debris;

pub(crate) fn run(context: &Context, findings: &mut Vec<Finding>) {
    for link in &context.tree.links {
        let Some(name) = link.file_name() else { continue };
        let target = match std::fs::read_link(link) {
            Ok(target) => format!("`{}`", target.display()),
            Err(err) => format!("(unreadable: {err})"),
        };
        let dir = link.parent().unwrap_or(link);
        let (severity, message) = if name == "__pycache__" {
            (
                Severity::Error,
                format!(
                    "`{}` is a symbolic link to {target}: the modules of `{}` load their caches from there and \
                     write new ones there, so whoever can write there decides the code they run; if nobody here \
                     made this link, someone may be planting bytecode",
                    link.display(),
                    dir.display()
                ),
            )
        } else if is_debris(name.as_bytes()) {
            (
                Severity::Warning,
                format!("`{}`, named like a temporary cache file, is a symbolic link to {target}", link.display()),
            )
        } else {
            (
                Severity::Error,
                format!(
                    "`{}` is a symbolic link to {target}: the importer loads the bytecode it points to as this \
                     module's cache when the header matches",
                    link.display()
                ),
            )
        };
        let root = context.root_of(link);
        let compile = match context.targets.first() {
            Some(target) => context.precompile(target, &root, &[]),
            None => format!("pycache compile {}", shell(&root)),
        };
        findings.push(Finding::new(
            Code::CacheSymlink,
            severity,
            link,
            message,
            format!("rm {} (removes the link, not what it points to), then {compile}", shell(link)),
        ));
    }
}
