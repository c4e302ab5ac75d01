use std::process::ExitCode;

use pycache_python::ProbeCache;

use crate::cli::{Format, InterpretersArgs};
use crate::output::Out;

pub fn run(args: InterpretersArgs) -> anyhow::Result<ExitCode> {
    let cache = ProbeCache::open_default();
    let found = pycache_python::discovery::find_all(&cache);
    let mut out = Out::new();
    match args.format {
        Format::Json => out.json(&found)?,
        Format::Text => {
            let rows: Vec<(String, &str, String)> = found
                .iter()
                .map(|p| (p.label(), p.cache_tag.as_deref().unwrap_or("(legacy .pyc)"), p.path.display().to_string()))
                .collect();
            for line in table(&rows) {
                out.line(line)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Rows as lines whose columns line up, whatever their widths (counted in
/// characters, as a terminal shows them); the last column is not padded.
fn table(rows: &[(String, &str, String)]) -> Vec<String> {
    let width = |text: &str| text.chars().count();
    let first = rows.iter().map(|r| width(&r.0)).max().unwrap_or(0);
    let second = rows.iter().map(|r| width(r.1)).max().unwrap_or(0);
    rows.iter()
        .map(|(label, tag, path)| {
            let pad1 = " ".repeat(first - width(label));
            let pad2 = " ".repeat(second - width(tag));
            format!("{label}{pad1}  {tag}{pad2}  {path}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn columns_line_up_for_any_width() {
        let rows = vec![
            ("3.12.1".to_owned(), "cpython-312", "/usr/bin/python3.12".to_owned()),
            ("2.7.18".to_owned(), "(legacy .pyc)", "/opt/py/2.7/bin/python".to_owned()),
            ("3.14.0rc1 (pypy)".to_owned(), "pypy314", "/p".to_owned()),
        ];
        let lines = table(&rows);
        assert_eq!(lines[0], "3.12.1            cpython-312    /usr/bin/python3.12");
        assert_eq!(lines[1], "2.7.18            (legacy .pyc)  /opt/py/2.7/bin/python");
        assert_eq!(lines[2], "3.14.0rc1 (pypy)  pypy314        /p");
        let starts: Vec<usize> = lines.iter().map(|l| l.find('/').unwrap()).collect();
        assert!(starts.iter().all(|s| *s == starts[0]), "{lines:#?}");
    }
}
