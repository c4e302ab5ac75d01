//! docstrings-needed: under `-OO` every docstring is `None`, and modules
//! that read them at import or run time break.

use std::path::Path;

use crate::checks::Context;
use crate::finding::{Code, Finding, Severity};

/// What a source does with docstrings, if anything.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DocUse {
    /// docopt parses the usage text from the docstring.
    Docopt(usize),
    /// PLY reads grammar rules from the docstrings of `p_`/`t_` functions.
    Ply(usize),
    /// Reads or edits `__doc__` (the lines).
    Reads(Vec<usize>),
}

pub(crate) fn doc_use(text: &str) -> Option<DocUse> {
    let mut reads = Vec::new();
    let mut ply = None;
    let mut grammar = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let code = line.trim_start();
        if code.starts_with('#') {
            continue;
        }
        if code.contains("docopt(") {
            return Some(DocUse::Docopt(number));
        }
        if code.starts_with("import ply") || code.starts_with("from ply") || code.contains("yacc.yacc(") {
            ply.get_or_insert(number);
        }
        if code.starts_with("def p_") || code.starts_with("def t_") {
            grammar.get_or_insert(number);
        }
        if code.contains("__doc__") {
            reads.push(number);
        }
    }
    if let (Some(line), Some(_)) = (ply, grammar) {
        return Some(DocUse::Ply(line));
    }
    (!reads.is_empty()).then_some(DocUse::Reads(reads))
}

pub(crate) fn run(context: &Context, findings: &mut Vec<Finding>) {
    if context.deployment.optimize < 2 {
        return;
    }
    let files =
        context.tree.sources.iter().map(|s| s.path.as_path()).chain(
            context.scripts.iter().map(|(p, _)| p.as_path()).filter(|p| p.extension().is_none_or(|e| e != "py")),
        );
    let fix = format!("run at level 1 instead, which keeps docstrings: {}", context.deployment.optimize_setting(1));
    for path in files {
        let Ok(bytes) = std::fs::read(path) else { continue };
        let Some(usage) = doc_use(&String::from_utf8_lossy(&bytes)) else { continue };
        findings.push(finding_for(context.deployment, path, usage, &fix));
    }
}

pub(crate) fn finding_for(deployment: &crate::Deployment, path: &Path, usage: DocUse, fix: &str) -> Finding {
    let level = &deployment.optimize_from;
    let (severity, message) = match usage {
        DocUse::Docopt(line) => (
            Severity::Error,
            format!(
                "calls docopt (line {line}), which parses its usage from the docstring; under {level} it is None and the program fails"
            ),
        ),
        DocUse::Ply(line) => (
            Severity::Error,
            format!(
                "uses PLY (line {line}), which reads grammar rules from docstrings; under {level} they are None and building the parser fails"
            ),
        ),
        DocUse::Reads(lines) => {
            let shown: Vec<String> = lines.iter().take(5).map(usize::to_string).collect();
            let more = if lines.len() > 5 { ", ..." } else { "" };
            (
                Severity::Warning,
                format!("reads or edits `__doc__` (line {}{more}), which is None under {level}", shown.join(", ")),
            )
        }
    };
    Finding::new(Code::DocstringsNeeded, severity, path, message, fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_docopt_ply_and_doc_reads() {
        assert_eq!(
            doc_use("\"\"\"Usage: x\"\"\"\nfrom docopt import docopt\nargs = docopt(__doc__)\n"),
            Some(DocUse::Docopt(3))
        );
        let ply = "import ply.yacc as yacc\ndef p_expr(p):\n    'expr : NUMBER'\n";
        assert_eq!(doc_use(ply), Some(DocUse::Ply(1)));
        assert_eq!(
            doc_use("f.__doc__ += 'more'\n# __doc__ in a comment\nx = __doc__\n"),
            Some(DocUse::Reads(vec![1, 3]))
        );
        assert_eq!(doc_use("def f():\n    'doc'\n"), None);
    }
}
