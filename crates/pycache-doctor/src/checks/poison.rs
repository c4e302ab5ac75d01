//! cache-poisonable: bytecode the service user can replace, beside sources
//! it cannot change. The importer trusts a cache whose header matches, so
//! whoever controls the service user can plant code that runs instead of
//! the source, under `-I -B` and `--check-hash-based-pycs always` alike.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::access::Want;
use crate::checks::{Context, shell};
use crate::doctor::{Entry, Questions, owner_of, write_point};
use crate::finding::{Code, Finding, Severity};
use crate::state::CacheState;

pub(crate) fn ask(entries: &[Entry], questions: &mut Questions) {
    for entry in entries {
        questions.ask(&entry.source.path, Want::Write);
        if let Some(dir) = entry.source.path.parent() {
            questions.ask(dir, Want::Modify);
        }
        questions.ask(&write_point(&entry.cache), Want::Modify);
        if entry.state != CacheState::Missing {
            questions.ask(&entry.cache, Want::Write);
        }
    }
}

pub(crate) fn run(context: &Context, findings: &mut Vec<Finding>) {
    let q = context.questions;
    let user = &context.deployment.user.name;
    // Per cache directory: the protected sources whose cache the user can
    // plant, and whether it can create files there or only overwrite some.
    let mut exposed: BTreeMap<PathBuf, (Vec<&Path>, bool, usize)> = BTreeMap::new();
    for entry in context.entries {
        let source = &entry.source.path;
        let source_dir = source.parent().unwrap_or(Path::new("/"));
        if q.answer(source, Want::Write).allowed() || q.answer(source_dir, Want::Modify).allowed() {
            // The user can change the source itself; the cache adds nothing.
            continue;
        }
        let point = write_point(&entry.cache);
        let dir_open = q.answer(&point, Want::Modify).allowed();
        let file_open = entry.state != CacheState::Missing && q.answer(&entry.cache, Want::Write).allowed();
        if !dir_open && !file_open {
            continue;
        }
        let dir = entry.cache.parent().unwrap_or(Path::new("/")).to_path_buf();
        let slot = exposed.entry(dir).or_insert_with(|| (Vec::new(), false, 0));
        if !slot.0.contains(&source.as_path()) {
            slot.0.push(source);
        }
        slot.1 |= dir_open;
        if file_open && !dir_open {
            slot.2 += 1;
        }
    }
    for (dir, (sources, dir_open, files)) in exposed {
        let how = if dir_open {
            if dir.is_dir() {
                format!("`{user}` can create and replace files in `{}`", dir.display())
            } else {
                format!("`{user}` can create `{}`", dir.display())
            }
        } else {
            format!("`{user}` can overwrite {files} cache file(s) in `{}`", dir.display())
        };
        let source_dir = sources[0].parent().unwrap_or(Path::new("/"));
        let owner = owner_of(source_dir);
        let fix = if dir.is_dir() {
            format!("chown -R {owner} {d} && chmod -R u=rwX,go=rX {d}", d = shell(&dir))
        } else {
            format!(
                "precompile as `{owner}` so that the directory exists, owned by `{owner}` and read-only to others: {}",
                context
                    .targets
                    .first()
                    .map(|t| context.precompile(t, &context.root_of(source_dir), &[]))
                    .unwrap_or_else(|| "pycache compile".into())
            )
        };
        findings.push(Finding::new(
            Code::CachePoisonable,
            Severity::Error,
            &dir,
            format!(
                "{how}, but cannot change the {} source(s) it caches: whoever acts as `{user}` can plant bytecode \
                 that runs in their place",
                sources.len()
            ),
            fix,
        ));
    }
}
