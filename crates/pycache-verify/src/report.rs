use std::path::PathBuf;

use pycache_dis::diff::CodeDifference;
use serde::Serialize;

use crate::reference::Reference;

/// The outcome for one source at one level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// The native body is byte for byte the interpreter's.
    Identical,
    /// Every code object agrees in every field; the bytes still differ.
    CodeEqual { detail: String },
    /// A code object differs: the first difference in each.
    Different {
        differences: Vec<CodeDifference>,
        #[serde(skip_serializing_if = "Option::is_none")]
        other: Option<String>,
    },
    /// The native compiler refused the file (the interpreter would be
    /// used instead).
    Declined { reason: String },
    /// Neither compiler accepts the source.
    RejectedByBoth { native: String, interpreter: String },
    /// The native compiler accepted a source the interpreter refuses.
    InterpreterRejected { interpreter: String },
    /// The native compiler said the interpreter refuses a source with an
    /// error, and the interpreter compiled it.
    WronglyRejected { native: String },
    /// Both refuse, and the native compiler named the interpreter's error
    /// wrongly.
    RejectedDifferently { native: String, interpreter: String },
    /// The check itself could not be made.
    Error { message: String },
}

impl Verdict {
    /// The native compiler got it wrong.
    pub fn is_wrong(&self) -> bool {
        matches!(
            self,
            Self::Different { .. }
                | Self::InterpreterRejected { .. }
                | Self::WronglyRejected { .. }
                | Self::RejectedDifferently { .. }
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FileVerdict {
    #[serde(serialize_with = "pycache_json::path")]
    pub path: PathBuf,
    /// `None` for a path that failed before any level was tried.
    pub optimize: Option<u8>,
    /// Source size in bytes.
    pub size: Option<u64>,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// Counts at one level. The shares are of the files both compilers
/// accept or the native one declines (what the interpreter compiles).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct LevelSummary {
    pub optimize: u8,
    pub files: usize,
    pub identical: usize,
    pub code_equal: usize,
    pub different: usize,
    pub declined: usize,
    pub rejected_by_both: usize,
    pub interpreter_rejected: usize,
    /// Refused natively with an error the interpreter does not raise.
    pub wrongly_rejected: usize,
    pub errors: usize,
}

impl LevelSummary {
    /// Files the interpreter compiles, which the shares are of.
    pub fn compiled_by_interpreter(&self) -> usize {
        self.identical + self.code_equal + self.different + self.declined
    }

    /// Byte-identical share, in percent.
    pub fn identical_share(&self) -> f64 {
        share(self.identical, self.compiled_by_interpreter())
    }

    /// Code-equal share (identical included), in percent.
    pub fn code_equal_share(&self) -> f64 {
        share(self.identical + self.code_equal, self.compiled_by_interpreter())
    }
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 { 100.0 } else { part as f64 * 100.0 / whole as f64 }
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The interpreter, as `3.12.1`.
    pub python: String,
    pub reference: Reference,
    pub files: Vec<FileVerdict>,
    pub summary: Vec<LevelSummary>,
    /// Paths that failed before any level was tried.
    pub path_errors: usize,
}

impl VerifyReport {
    pub(crate) fn finish(python: String, reference: Reference, mut files: Vec<FileVerdict>) -> Self {
        files.sort_by(|a, b| (&a.path, a.optimize).cmp(&(&b.path, b.optimize)));
        let mut summary: Vec<LevelSummary> = Vec::new();
        let mut path_errors = 0;
        for file in &files {
            let Some(optimize) = file.optimize else {
                path_errors += 1;
                continue;
            };
            let row = match summary.iter_mut().position(|r| r.optimize == optimize) {
                Some(i) => &mut summary[i],
                None => {
                    summary.push(LevelSummary { optimize, ..LevelSummary::default() });
                    summary.last_mut().expect("just pushed")
                }
            };
            row.files += 1;
            match file.verdict {
                Verdict::Identical => row.identical += 1,
                Verdict::CodeEqual { .. } => row.code_equal += 1,
                Verdict::Different { .. } => row.different += 1,
                Verdict::Declined { .. } => row.declined += 1,
                Verdict::RejectedByBoth { .. } => row.rejected_by_both += 1,
                Verdict::InterpreterRejected { .. } => row.interpreter_rejected += 1,
                Verdict::WronglyRejected { .. } | Verdict::RejectedDifferently { .. } => row.wrongly_rejected += 1,
                Verdict::Error { .. } => row.errors += 1,
            }
        }
        summary.sort_by_key(|r| r.optimize);
        Self { python, reference, files, summary, path_errors }
    }

    /// Some file came out wrong (different, or accepted when the
    /// interpreter refuses it).
    pub fn has_wrong(&self) -> bool {
        self.files.iter().any(|f| f.verdict.is_wrong())
    }

    /// Some check could not be made.
    pub fn has_errors(&self) -> bool {
        self.path_errors > 0 || self.files.iter().any(|f| matches!(f.verdict, Verdict::Error { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, optimize: u8, verdict: Verdict) -> FileVerdict {
        FileVerdict { path: path.into(), optimize: Some(optimize), size: Some(1), verdict }
    }

    #[test]
    fn shares_count_what_the_interpreter_compiles() {
        let report = VerifyReport::finish(
            "3.12.1".into(),
            Reference::Fresh,
            vec![
                file("a.py", 0, Verdict::Identical),
                file("b.py", 0, Verdict::CodeEqual { detail: String::new() }),
                file("c.py", 0, Verdict::Declined { reason: "x".into() }),
                file("d.py", 0, Verdict::RejectedByBoth { native: "x".into(), interpreter: "y".into() }),
                file("a.py", 1, Verdict::Identical),
            ],
        );
        let level0 = &report.summary[0];
        assert_eq!((level0.files, level0.compiled_by_interpreter()), (4, 3));
        assert!((level0.identical_share() - 100.0 / 3.0).abs() < 1e-9);
        assert!((level0.code_equal_share() - 200.0 / 3.0).abs() < 1e-9);
        assert_eq!(report.summary[1].identical_share(), 100.0);
        assert!(!report.has_wrong());
    }

    #[test]
    fn a_difference_or_a_wrongly_accepted_file_is_wrong() {
        let different = Verdict::Different { differences: Vec::new(), other: Some("x".into()) };
        assert!(different.is_wrong());
        assert!(Verdict::InterpreterRejected { interpreter: "SyntaxError".into() }.is_wrong());
        assert!(!Verdict::Declined { reason: "x".into() }.is_wrong());
    }
}
