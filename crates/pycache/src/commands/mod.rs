mod clean;
mod compile;
mod completions;
mod diff;
mod dis;
mod doctor;
mod interpreters;
mod man;
mod show;
mod stub;
mod sys_path;
mod verify;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Compile(args) => compile::run(&cli.global, args),
        Command::Interpreters(args) => interpreters::run(args),
        Command::Doctor(args) => doctor::run(&cli.global, args),
        Command::Clean(args) => clean::run(&cli.global, args),
        Command::Stub(args) => stub::run(&cli.global, args),
        Command::Show(args) => show::run(args),
        Command::Dis(args) => dis::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Verify(args) => verify::run(&cli.global, args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    }
}
