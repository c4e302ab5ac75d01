use std::process::ExitCode;

use anyhow::{Context, bail};
use clap_mangen::Man;

use crate::cli::{ManArgs, command};
use crate::output::Out;

/// The pages: pycache's own, then one per command that has a page (not
/// `help`, which only repeats the others).
fn pages() -> Vec<Man> {
    let mut cmd = command();
    // Building names the subcommands `pycache-compile` and so on.
    cmd.build();
    let source = format!("pycache {}", env!("CARGO_PKG_VERSION"));
    let mut pages = vec![Man::new(cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        pages.push(Man::new(sub.clone()));
    }
    pages.into_iter().map(|page| page.source(source.clone())).collect()
}

pub fn run(args: ManArgs) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &args.out_dir {
        fs_err::create_dir_all(dir)?;
        for page in pages() {
            let path = dir.join(page.get_filename());
            let mut bytes = Vec::new();
            page.render(&mut bytes)?;
            fs_err::write(&path, bytes)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let name = args.command.as_deref().map_or_else(|| "pycache.1".to_owned(), |c| format!("pycache-{c}.1"));
    let pages = pages();
    let Some(page) = pages.iter().find(|p| p.get_filename() == name) else {
        let commands: Vec<String> = pages
            .iter()
            .filter_map(|p| p.get_filename().strip_prefix("pycache-")?.strip_suffix(".1").map(str::to_owned))
            .collect();
        bail!("no page for `{}` (pages: {})", args.command.unwrap_or_default(), commands.join(", "));
    };
    let mut bytes = Vec::new();
    page.render(&mut bytes).context("cannot render the manual page")?;
    let mut out = Out::new();
    out.write_bytes(&bytes)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
