use std::process::ExitCode;

use crate::cli::{CompletionsArgs, Shell, command};
use crate::output::Out;

pub fn run(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = command();
    let mut script = Vec::new();
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut cmd, "pycache", &mut script);
    let mut out = Out::new();
    out.write_bytes(&script)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
