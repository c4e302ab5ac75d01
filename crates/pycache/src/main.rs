//! `pycache`: owns the bytecode caches of Python deployments.
//!
//! This crate is the command line only: it parses arguments, finds the
//! interpreters, calls the libraries and renders their results. Exit codes:
//! 0 when everything is fine, 1 when files failed or findings were made,
//! 2 for usage and setup errors.

mod cli;
mod commands;
mod output;
mod progress;

use std::process::ExitCode;

// The native compiler allocates many small nodes; mimalloc serves them
// about twice as fast as the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout with status 0; errors exit 2.
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    init_logging(cli.global.verbose, cli.global.quiet);
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            if output::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(verbose: u8, quiet: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match (verbose, quiet) {
        (_, q) if q > 0 => "error",
        (0, _) => "warn",
        (1, _) => "info",
        (2, _) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("PYCACHE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    // From -vv on, the time since start, so that the phases can be timed.
    if verbose >= 2 {
        builder.with_timer(tracing_subscriber::fmt::time::uptime()).init();
    } else {
        builder.without_time().init();
    }
}
