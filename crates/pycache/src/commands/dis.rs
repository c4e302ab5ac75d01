use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use pycache_dis::text::{TextOptions, disassemble_all};
use pycache_dis::{CodeView, DecodeOptions, decode, subtree_views};
use pycache_marshal::{Pyc, RefTable, read_pyc};
use serde_json::json;

use crate::cli::{DisArgs, Format};
use crate::output::{Out, WithPaths};

/// Reads a cache file; errors name the file and, for a bad body, the byte.
pub fn read_cache(path: &Path) -> anyhow::Result<(Vec<u8>, Pyc)> {
    let bytes = fs_err::read(path)?;
    // The error's own text already includes its cause; a context chain
    // would print it twice.
    let pyc = read_pyc(&bytes).map_err(|err| anyhow!("`{}` is not a readable cache: {err}", path.display()))?;
    Ok((bytes, pyc))
}

/// The code objects to list: all, or the one named by `--func` with those
/// nested in it.
pub fn select<'a>(
    pyc: &'a Pyc,
    refs: &RefTable<'a>,
    func: Option<&str>,
    path: &Path,
) -> anyhow::Result<Vec<CodeView<'a>>> {
    let version = pyc.format.version();
    let all = pycache_dis::code_views(&pyc.code, refs, version).with_context(|| format!("`{}`", path.display()))?;
    let Some(func) = func else { return Ok(all) };
    let Some(found) = all.iter().find(|view| view.qualname == func) else {
        let names: Vec<&str> = all.iter().map(|v| v.qualname.as_str()).collect();
        bail!("no code object `{func}` in `{}` (it has: {})", path.display(), names.join(", "));
    };
    Ok(subtree_views(found.code, Some(found.qualname.clone()), refs, version)?)
}

pub fn run(args: DisArgs) -> anyhow::Result<ExitCode> {
    let (_, pyc) = read_cache(&args.file)?;
    let refs = RefTable::new(&pyc.code).with_context(|| format!("`{}`", args.file.display()))?;
    let views = select(&pyc, &refs, args.func.as_deref(), &args.file)?;
    let options = DecodeOptions { show_caches: args.show_caches };
    let decoded = views
        .into_iter()
        .map(|view| decode(view, &refs, options))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("`{}`", args.file.display()))?;
    let mut out = Out::new();
    match args.format {
        Format::Text => {
            let text = disassemble_all(&decoded, TextOptions { show_offsets: args.show_offsets });
            out.write_str(&text)?;
        }
        Format::Json => {
            let codes: Vec<_> = decoded.iter().map(|d| pycache_dis::json::disassembly(d, &refs)).collect();
            let fields = json!({
                "python": pyc.format.version().to_string(),
                "code_objects": codes,
            });
            out.json(&WithPaths { fields, paths: vec![("file", Some(args.file.as_path()))] })?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
