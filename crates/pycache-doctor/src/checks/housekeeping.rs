//! Caches nobody uses and leftovers: orphan-cache, foreign-version,
//! temp-debris, legacy-pyc.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use pycache_pyc::{CacheName, Magic};

use crate::checks::{Context, shell};
use crate::finding::{Code, Finding, Severity};

/// Whether the module a cache belongs to still has a source: `stem.py`
/// (or `stem.pyw`, which the importer also reads on Windows).
pub(crate) fn has_source(dir: &Path, name: &CacheName) -> bool {
    let py = dir.join(name.source_name());
    let mut pyw = py.clone().into_os_string();
    pyw.push("w");
    py.exists() || Path::new(&pyw).exists()
}

/// The magic number at the start of a file, if it has one.
pub(crate) fn magic_of(path: &Path) -> Option<Magic> {
    let mut head = [0u8; 4];
    let mut file = std::fs::File::open(path).ok()?;
    std::io::Read::read_exact(&mut file, &mut head).ok()?;
    Magic::from_bytes(&head).ok()
}

fn version_of(magic: Option<Magic>) -> String {
    match magic.and_then(Magic::version) {
        Some(version) => format!("Python {version}"),
        None => "unknown".into(),
    }
}

pub(crate) fn run(context: &Context, findings: &mut Vec<Finding>) {
    let tags: BTreeSet<String> = context.targets.iter().filter_map(|t| t.interpreter.cache_tag.clone()).collect();
    let running = context.targets.iter().map(|t| t.label.as_str()).collect::<Vec<_>>().join(", ");
    for cache in &context.tree.caches {
        let Some(name) = cache.file_name().and_then(|n| CacheName::parse(n.as_bytes())) else { continue };
        let Some(dir) = cache.parent().and_then(Path::parent) else { continue };
        let root = shell(&context.root_of(cache));
        if !has_source(dir, &name) {
            findings.push(Finding::new(
                Code::OrphanCache,
                Severity::Info,
                cache,
                format!(
                    "`{}` is gone: no interpreter imports this cache, it only takes space",
                    dir.join(name.source_name()).display()
                ),
                format!("pycache clean --orphans {root}"),
            ));
        } else if !context.targets.is_empty() && !tags.contains(&name.tag) {
            let python = name.version().map(|v| format!("Python {v}")).unwrap_or_else(|| name.tag.clone());
            findings.push(
                Finding::new(
                    Code::ForeignVersion,
                    Severity::Info,
                    cache,
                    format!("a cache for {python} ({}), which does not run this tree (it runs {running})", name.tag),
                    format!(
                        "pycache clean --foreign {} {root}",
                        context
                            .targets
                            .iter()
                            .map(|t| format!("--python {}", t.request()))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                )
                .for_python(name.tag.clone()),
            );
        }
    }
    for debris in &context.tree.debris {
        findings.push(Finding::new(
            Code::TempDebris,
            Severity::Info,
            debris,
            "a temporary file of a cache write that never finished (the writer was killed or the disk filled up)",
            format!("pycache clean --debris {}", shell(&context.root_of(debris))),
        ));
    }
    let legacy_targets: Vec<Magic> = context.targets.iter().filter(|t| t.scheme.is_legacy()).map(|t| t.magic).collect();
    for pyc in &context.tree.legacy {
        let bytes = pyc.as_os_str().as_bytes();
        let source = Path::new(std::ffi::OsStr::from_bytes(&bytes[..bytes.len() - 1])).to_path_buf();
        let magic = magic_of(pyc);
        let version = version_of(magic);
        if source.exists() {
            // Beside its source it is the cache slot of a legacy-layout
            // interpreter (2.x), whose per-cache check says what is wrong
            // with it; for any other interpreter it is dead weight.
            if !legacy_targets.is_empty() {
                continue;
            }
            findings.push(Finding::new(
                Code::LegacyPyc,
                Severity::Info,
                pyc,
                format!(
                    "{version} bytecode beside `{}`: ignored while that source exists, imported in its place if it is \
                     removed",
                    source.display()
                ),
                format!("rm {}", shell(pyc)),
            ));
        } else {
            let loads = magic.is_some_and(|m| context.targets.iter().any(|t| t.magic == m));
            let effect = if loads {
                "importing the module runs this bytecode, whose source is gone"
            } else {
                "importing the module fails here (bad magic number) for the interpreters that run the tree"
            };
            findings.push(Finding::new(
                Code::LegacyPyc,
                Severity::Warning,
                pyc,
                format!("{version} bytecode without `{}`: {effect}", source.display()),
                format!(
                    "restore `{}` if the module is still used, else remove the bytecode: rm {}",
                    source.display(),
                    shell(pyc)
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_knows_its_source_and_a_file_its_magic() {
        let dir = tempfile::tempdir().unwrap();
        let name = CacheName::parse(b"mod.cpython-312.opt-1.pyc").unwrap();
        assert!(!has_source(dir.path(), &name));
        std::fs::write(dir.path().join("mod.pyw"), "").unwrap();
        assert!(has_source(dir.path(), &name));
        let pyc = dir.path().join("x.pyc");
        std::fs::write(&pyc, b"\xcb\x0d\r\n\0\0\0\0").unwrap();
        assert_eq!(magic_of(&pyc), Some(Magic::new(3531)));
        std::fs::write(&pyc, b"JUNK").unwrap();
        assert_eq!(magic_of(&pyc), None);
        assert_eq!(version_of(Some(Magic::new(62211))), "Python 2.7");
    }
}
