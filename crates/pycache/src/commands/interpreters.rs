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
            for python in &found {
                let tag = python.cache_tag.as_deref().unwrap_or("(legacy .pyc)");
                out.line(format_args!("{:<10} {:<12} {}", python.label(), tag, python.path.display()))?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
