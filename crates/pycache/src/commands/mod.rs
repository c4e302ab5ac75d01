mod compile;
mod interpreters;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Compile(args) => compile::run(&cli.global, args),
        Command::Interpreters(args) => interpreters::run(args),
    }
}
