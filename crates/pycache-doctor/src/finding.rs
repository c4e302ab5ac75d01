//! Findings: what doctor reports, with a stable code and the fix.

use std::path::PathBuf;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        })
    }
}

/// The stable codes. Scripts match on these, so they never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    CacheMissing,
    CacheStale,
    CacheCorrupt,
    CacheUnwritable,
    CacheUnreadable,
    CachePoisonable,
    CacheSymlink,
    SyntaxError,
    SelinuxLabel,
    ScriptNotCached,
    OptimizeMismatch,
    DocstringsNeeded,
    OrphanCache,
    ForeignVersion,
    TempDebris,
    LegacyPyc,
    PrefixMismatch,
    WritesDisabled,
    MtimeUnreliable,
    CachesOwnedByRoot,
    LibraryNotCached,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CacheMissing => "cache-missing",
            Self::CacheStale => "cache-stale",
            Self::CacheCorrupt => "cache-corrupt",
            Self::CacheUnwritable => "cache-unwritable",
            Self::CacheUnreadable => "cache-unreadable",
            Self::CachePoisonable => "cache-poisonable",
            Self::CacheSymlink => "cache-symlink",
            Self::SyntaxError => "syntax-error",
            Self::SelinuxLabel => "selinux-label",
            Self::ScriptNotCached => "script-not-cached",
            Self::OptimizeMismatch => "optimize-mismatch",
            Self::DocstringsNeeded => "docstrings-needed",
            Self::OrphanCache => "orphan-cache",
            Self::ForeignVersion => "foreign-version",
            Self::TempDebris => "temp-debris",
            Self::LegacyPyc => "legacy-pyc",
            Self::PrefixMismatch => "prefix-mismatch",
            Self::WritesDisabled => "writes-disabled",
            Self::MtimeUnreliable => "mtime-unreliable",
            Self::CachesOwnedByRoot => "caches-owned-by-root",
            Self::LibraryNotCached => "library-not-cached",
        }
    }

    /// Why the finding matters, in one sentence, shared by every instance.
    pub fn why(self) -> &'static str {
        match self {
            Self::CacheMissing => "no cache yet: the first process to import the module compiles it and writes one",
            Self::CacheStale => "the cache does not match its source, so importing processes compile again",
            Self::CacheCorrupt => {
                "the cache is damaged: a bad body makes the import fail, a bad header is ignored and the source compiled again"
            }
            Self::CacheUnwritable => {
                "the service user cannot write the cache, so every new process compiles the module again"
            }
            Self::CacheUnreadable => {
                "the service user cannot read the cache, so every new process compiles the module again"
            }
            Self::CachePoisonable => {
                "the service user can replace bytecode that runs in place of sources it cannot change"
            }
            Self::CacheSymlink => {
                "the importer reads and writes caches through this symbolic link: whoever controls where it points \
                 controls the code that runs, and pycache compile refuses to write through it"
            }
            Self::SyntaxError => {
                "the interpreter cannot compile the source, so importing the module fails and no cache can ever be \
                 written for it"
            }
            Self::SelinuxLabel => "the SELinux label keeps the web server from writing caches here",
            Self::ScriptNotCached => "an entry script is compiled every time it is loaded and never cached",
            Self::OptimizeMismatch => {
                "the process looks for caches of another optimisation level, so it compiles everything"
            }
            Self::DocstringsNeeded => "under -OO docstrings are None, and this module reads them",
            Self::OrphanCache => "the source is gone and the interpreter never imports an orphan from __pycache__",
            Self::ForeignVersion => "these caches belong to an interpreter that does not run this tree",
            Self::TempDebris => "an interrupted write left a temporary file behind",
            Self::LegacyPyc => "a .pyc beside the sources is imported when its .py is missing",
            Self::PrefixMismatch => "with a pycache prefix the interpreter ignores in-tree __pycache__ directories",
            Self::WritesDisabled => {
                "bytecode writes are disabled and these caches do not exist, so every process compiles"
            }
            Self::MtimeUnreliable => {
                "sources share normalised mtimes, so a changed file of the same size keeps its old timestamp cache"
            }
            Self::CachesOwnedByRoot => {
                "the application is loaded before privileges drop, so caches it writes belong to root"
            }
            Self::LibraryNotCached => {
                "the interpreter's own modules (standard library, site-packages) have no cache at the level the \
                 processes run and they cannot write one, so every process compiles those it imports"
            }
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing doctor found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    #[serde(serialize_with = "pycache_json::path")]
    pub path: PathBuf,
    /// What is wrong here, specifically.
    pub message: String,
    /// The exact command or change that fixes it.
    pub fix: String,
    /// The interpreter concerned, when one is (`3.12.1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
}

impl Finding {
    pub fn new(
        code: Code,
        severity: Severity,
        path: impl Into<PathBuf>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self { code, severity, path: path.into(), message: message.into(), fix: fix.into(), python: None }
    }

    pub fn for_python(mut self, python: impl Into<String>) -> Self {
        self.python = Some(python.into());
        self
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    /// Count per finding code.
    pub by_code: std::collections::BTreeMap<String, usize>,
    pub sources: usize,
    pub caches: usize,
}

/// Everything doctor found, most severe first.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// What the ground-truth probe saw, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<crate::probe::ProbeReport>,
    /// Limits of this run (approximate permission checks, unresolved settings).
    pub notes: Vec<String>,
}

impl Report {
    pub fn new(mut findings: Vec<Finding>, sources: usize, caches: usize, notes: Vec<String>) -> Self {
        findings
            .sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(&b.code)).then_with(|| a.path.cmp(&b.path)));
        findings.dedup();
        let mut summary = Summary { sources, caches, ..Summary::default() };
        for finding in &findings {
            match finding.severity {
                Severity::Error => summary.errors += 1,
                Severity::Warning => summary.warnings += 1,
                Severity::Info => summary.infos += 1,
            }
            *summary.by_code.entry(finding.code.to_string()).or_default() += 1;
        }
        Self { findings, summary, probe: None, notes }
    }

    /// Whether anything at warning or above was found (exit status 1).
    pub fn has_problems(&self) -> bool {
        self.summary.errors + self.summary.warnings > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_severe_first_and_counted() {
        let findings = vec![
            Finding::new(Code::OrphanCache, Severity::Info, "b", "m", "f"),
            Finding::new(Code::CacheCorrupt, Severity::Error, "a", "m", "f"),
            Finding::new(Code::CacheMissing, Severity::Warning, "c", "m", "f"),
        ];
        let report = Report::new(findings, 3, 2, vec![]);
        let codes: Vec<_> = report.findings.iter().map(|f| f.code).collect();
        assert_eq!(codes, [Code::CacheCorrupt, Code::CacheMissing, Code::OrphanCache]);
        assert_eq!((report.summary.errors, report.summary.warnings, report.summary.infos), (1, 1, 1));
        assert!(report.has_problems());
        assert_eq!(serde_json::to_value(Code::CachePoisonable).unwrap(), "cache-poisonable");
    }
}
