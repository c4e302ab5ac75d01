//! Findings about how the processes run rather than about one file:
//! optimize-mismatch, prefix-mismatch, writes-disabled, mtime-unreliable,
//! caches-owned-by-root. Each is reported once per tree and interpreter.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use pycache_pyc::{CacheLayout, CacheScheme, Header, Validation};

use crate::checks::Context;
use crate::doctor::{Prediction, PredictionRow, tally};
use crate::finding::{Code, Finding, Severity};
use crate::state::CacheState;

/// 1980-01-01 00:00 UTC, the earliest date a zip entry can hold, give or
/// take the time zones it is written in.
const ZIP_EPOCH: i64 = 315_532_800;

/// Why a source's mtime looks normalised, if it does.
fn normalised(mtime: i64, now: i64) -> Option<&'static str> {
    if (0..=86_400).contains(&mtime) {
        Some("near 1970-01-01 (0 or 1, as ostree and Nix set them)")
    } else if (ZIP_EPOCH - 86_400..=ZIP_EPOCH + 86_400).contains(&mtime) {
        Some("1980-01-01 (a zip or wheel's earliest date)")
    } else if mtime > now + 86_400 {
        Some("in the future")
    } else {
        None
    }
}

fn levels_present(entry_source: &std::path::Path, scheme: &CacheScheme, skip: u8) -> Vec<u8> {
    (0..=2u8)
        .filter(|&level| level != skip)
        .filter(|&level| {
            // 2.x and 3.2-3.4 share one file between -O and -OO.
            let same = scheme.cache_path(entry_source, level).ok() == scheme.cache_path(entry_source, skip).ok();
            !same && scheme.cache_path(entry_source, level).is_ok_and(|p| p.is_file())
        })
        .collect()
}

fn list(levels: &[u8]) -> String {
    levels.iter().map(u8::to_string).collect::<Vec<_>>().join(" and ")
}

pub(crate) fn run(context: &Context, predictions: &[PredictionRow], findings: &mut Vec<Finding>) {
    let deployment = context.deployment;
    let level = deployment.optimize;
    // Per root and interpreter: modules without a usable cache whose cache
    // exists at other levels, or in `__pycache__` while a prefix is used.
    let mut other_levels: BTreeMap<(PathBuf, usize), (usize, BTreeMap<u8, usize>)> = BTreeMap::new();
    let mut in_tree: BTreeMap<(PathBuf, usize), usize> = BTreeMap::new();
    for entry in context.entries {
        if !matches!(entry.state, CacheState::Missing) {
            continue;
        }
        let target = &context.targets[entry.target];
        let key = (context.root_of(&entry.source.path), entry.target);
        let present = levels_present(&entry.source.path, &target.scheme, level);
        if !present.is_empty() {
            let slot = other_levels.entry(key.clone()).or_default();
            slot.0 += 1;
            for l in present {
                *slot.1.entry(l).or_default() += 1;
            }
        }
        if let CacheLayout::Prefix(_) = target.scheme.layout {
            let local = CacheScheme { layout: CacheLayout::Pep3147, ..target.scheme.clone() };
            if local.cache_path(&entry.source.path, level).is_ok_and(|p| p.is_file()) {
                *in_tree.entry(key).or_default() += 1;
            }
        }
    }
    for ((root, t), (count, levels)) in other_levels {
        let target = &context.targets[t];
        let present: Vec<u8> = levels.keys().copied().collect();
        findings.push(
            Finding::new(
                Code::OptimizeMismatch,
                Severity::Warning,
                &root,
                format!(
                    "{count} module(s) have caches at level {} but none at level {level}, which the processes run \
                     ({}): they compile everything",
                    list(&present),
                    deployment.optimize_from
                ),
                format!(
                    "{}; or run the processes at level {} with {}",
                    context.precompile(target, &root, &[]),
                    present[0],
                    deployment.optimize_setting(present[0])
                ),
            )
            .for_python(target.label.clone()),
        );
    }
    if let Some(prefix) = &deployment.cache_prefix {
        for ((root, t), count) in in_tree {
            let target = &context.targets[t];
            findings.push(
                Finding::new(
                    Code::PrefixMismatch,
                    Severity::Warning,
                    &root,
                    format!(
                        "{count} module(s) have caches in `__pycache__` but none under the pycache prefix `{}`, the \
                         only place the processes look",
                        prefix.display()
                    ),
                    context.precompile(target, &root, &[]),
                )
                .for_python(target.label.clone()),
            );
        }
        for target in context.targets.iter().filter(|t| !t.scheme.version.has_pycache_prefix()) {
            for root in &deployment.paths {
                findings.push(
                    Finding::new(
                        Code::PrefixMismatch,
                        Severity::Warning,
                        root,
                        format!(
                            "Python {} has no pycache prefix (it came in 3.8): it ignores `{}` and reads and writes \
                             caches beside the sources",
                            target.scheme.version,
                            prefix.display()
                        ),
                        format!(
                            "precompile in the tree for this interpreter: {}",
                            context.precompile(target, root, &[])
                        ),
                    )
                    .for_python(target.label.clone()),
                );
            }
        }
    }

    if let Some(why) = &deployment.writes_disabled_by {
        let mut per: BTreeMap<(PathBuf, String), (usize, usize)> = BTreeMap::new();
        for row in predictions {
            let slot = per.entry((context.root_of(&row.source), row.python.clone())).or_default();
            slot.1 += 1;
            if row.prediction == Prediction::NotWritten {
                slot.0 += 1;
            }
        }
        for ((root, python), (missing, total)) in per {
            if missing == 0 {
                continue;
            }
            let Some(target) = context.targets.iter().find(|t| t.label == python) else { continue };
            findings.push(
                Finding::new(
                    Code::WritesDisabled,
                    Severity::Error,
                    &root,
                    format!(
                        "bytecode writes are disabled ({why}) and {missing} of {total} module(s) have no usable cache: \
                         every process compiles them"
                    ),
                    format!("precompile them, since no process will: {}", context.precompile(target, &root, &[])),
                )
                .for_python(python),
            );
        }
    }

    mtime_unreliable(context, findings);

    if let Some(setting) = &deployment.loads_as_root
        && !deployment.user.is_root()
    {
        let path = deployment.server_file.clone().unwrap_or_else(|| deployment.paths[0].clone());
        findings.push(Finding::new(
            Code::CachesOwnedByRoot,
            Severity::Warning,
            path,
            format!(
                "the application is imported as root before privileges drop to `{}` ({setting}): the caches it \
                     writes and the `__pycache__` directories it creates belong to root, so later writes by `{}` fail",
                deployment.user.name, deployment.user.name
            ),
            format!(
                "precompile at deploy time so that the root process writes nothing: {}",
                context
                    .targets
                    .first()
                    .map(|t| context.precompile(t, &deployment.paths[0], &[]))
                    .unwrap_or_else(|| "pycache compile".into())
            ),
        ));
    }
}

fn mtime_unreliable(context: &Context, findings: &mut Vec<Finding>) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(i64::MAX / 2);
    // Sources whose caches (for any interpreter) are or would be timestamp
    // caches: hash caches do not care about mtimes.
    let mut timestamp_sources: HashMap<&std::path::Path, bool> = HashMap::new();
    for entry in context.entries {
        let timestamp = match &entry.state {
            CacheState::Missing => true,
            _ => match std::fs::read(&entry.cache).ok().and_then(|b| Header::parse(&b).ok()) {
                Some(header) => matches!(header.validation, Validation::Timestamp { .. }),
                None => true,
            },
        };
        *timestamp_sources.entry(entry.source.path.as_path()).or_default() |= timestamp;
    }
    let mut per_root: BTreeMap<PathBuf, Vec<(&'static str, &std::path::Path)>> = BTreeMap::new();
    let mut mtimes_per_root: BTreeMap<PathBuf, Vec<(i64, i64)>> = BTreeMap::new();
    for source in &context.tree.sources {
        if !timestamp_sources.get(source.path.as_path()).copied().unwrap_or(false) {
            continue;
        }
        let root = context.root_of(&source.path);
        mtimes_per_root.entry(root.clone()).or_default().push((source.meta.mtime(), source.meta.ctime()));
        if let Some(why) = normalised(source.meta.mtime(), now) {
            per_root.entry(root).or_default().push((why, &source.path));
        }
    }
    // Clamped mtimes (SOURCE_DATE_EPOCH): most of a sizeable tree shares
    // one second that lies well before the files were written (their
    // ctime). A tree just copied or unpacked shares a second too, but that
    // second is its ctime.
    for (root, mtimes) in mtimes_per_root {
        if mtimes.len() < 10 {
            continue;
        }
        let counts = tally(mtimes.iter().map(|(mtime, _)| *mtime));
        let Some((&mtime, &count)) = counts.iter().max_by_key(|(_, c)| **c) else { continue };
        let set_back = mtimes.iter().filter(|(m, ctime)| *m == mtime && *ctime - *m > 86_400).count();
        if count * 2 < mtimes.len() || set_back * 2 < count || normalised(mtime, now).is_some() {
            continue;
        }
        let shared: Vec<&std::path::Path> = context
            .tree
            .sources
            .iter()
            .filter(|s| s.meta.mtime() == mtime && context.root_of(&s.path) == root)
            .map(|s| s.path.as_path())
            .collect();
        let slot = per_root.entry(root).or_default();
        slot.extend(shared.into_iter().map(|p| ("one shared (clamped) second", p)));
    }
    for (root, sources) in per_root {
        let reasons = tally(sources.iter().map(|(why, _)| *why));
        let described = reasons.iter().map(|(why, n)| format!("{n} {why}")).collect::<Vec<_>>().join(", ");
        let hash_capable = context.targets.iter().find(|t| t.scheme.version.has_hash_pycs());
        let fix = match hash_capable {
            Some(target) => context.precompile(target, &root, &["--invalidation-mode checked-hash"]),
            None => {
                "keep the sources' real modification times when packaging (hash-based caches need Python 3.7+)".into()
            }
        };
        findings.push(Finding::new(
            Code::MtimeUnreliable,
            Severity::Warning,
            &root,
            format!(
                "{} source(s) have normalised modification times ({described}): a timestamp cache cannot see an \
                 edit that keeps the size, and caches built before the times were rewritten are stale on arrival",
                sources.len()
            ),
            fix,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_times() {
        let now = 1_750_000_000;
        assert!(normalised(0, now).is_some());
        assert!(normalised(1, now).is_some());
        assert!(normalised(ZIP_EPOCH, now).is_some());
        assert!(normalised(ZIP_EPOCH + 3600, now).is_some());
        assert!(normalised(now + 10 * 86_400, now).is_some());
        assert!(normalised(now - 86_400, now).is_none());
    }
}
