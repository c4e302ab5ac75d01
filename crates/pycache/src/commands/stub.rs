use std::process::ExitCode;

use pycache_doctor::stub;
use serde::Serialize;

use crate::cli::{Format, GlobalArgs, StubArgs};
use crate::output::{Out, count};

#[derive(Serialize)]
struct Json<'a> {
    #[serde(flatten)]
    plan: &'a stub::StubPlan,
    dry_run: bool,
}

pub fn run(global: &GlobalArgs, args: StubArgs) -> anyhow::Result<ExitCode> {
    let plan = stub::plan(&args.script, args.body.as_deref())?;
    if !args.dry_run {
        stub::apply(&plan)?;
    }
    let mut out = Out::new();
    match args.format {
        Format::Json => out.json(&Json { plan: &plan, dry_run: args.dry_run })?,
        Format::Text if global.quiet < 2 => {
            let (script, body) = (plan.script.display(), plan.body.display());
            if args.dry_run {
                let size = count(plan.body_bytes as usize, "byte", "bytes");
                out.line(format_args!("would move the body of `{script}` ({size}) to `{body}`"))?;
                out.line(format_args!("and replace `{script}` with:"))?;
                out.line("")?;
                for line in plan.stub.lines() {
                    out.line(format_args!("    {line}"))?;
                }
            } else {
                if plan.resume == stub::Resume::BodyInPlace {
                    out.line(format_args!("`{body}` was left by an interrupted run: kept"))?;
                }
                let size = count(plan.body_bytes as usize, "byte", "bytes");
                out.line(format_args!("moved the body of `{script}` ({size}) to `{body}`"))?;
                out.line(format_args!("`{script}` is now a stub that runs the cached body"))?;
                if global.quiet == 0 {
                    out.line(format_args!(
                        "precompile the body as the owner of the tree, at the level the server runs: pycache compile {body}"
                    ))?;
                }
            }
        }
        Format::Text => {}
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
