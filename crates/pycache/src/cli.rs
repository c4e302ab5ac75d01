use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "pycache", version, about = "Owns the bytecode caches of Python deployments.", long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts, before or after its name. Their help is
/// general here; [`command`] words it for each command, and hides it where
/// it changes nothing.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// More output (repeatable): what each command adds is in its help; -vv and beyond also print debug
    /// logs on stderr.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Less output (repeatable): -q prints only problems, -qq nothing (the exit status tells).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub quiet: u8,
    /// Never draw a progress bar (one is drawn only when stderr is a terminal).
    #[arg(long, global = true)]
    pub no_progress: bool,
}

/// How the global options read in one command's help; `None` hides the
/// option there, since it changes nothing in that command (it is still
/// accepted, so that a script can pass it everywhere).
struct Tailoring {
    command: &'static str,
    verbose: Option<&'static str>,
    quiet: Option<&'static str>,
    progress: bool,
}

const TAILORING: &[Tailoring] = &[
    Tailoring {
        command: "compile",
        verbose: Some(
            "List each cache written (repeatable): -vv also says why the native compiler declined a file, and prints \
             debug logs with the time since start on stderr",
        ),
        quiet: Some(
            "Less output (repeatable): -q prints only the files that failed, -qq nothing (the exit status tells)",
        ),
        progress: true,
    },
    Tailoring {
        command: "interpreters",
        verbose: Some("With -vv, debug logs of the search on stderr"),
        quiet: None,
        progress: false,
    },
    Tailoring {
        command: "doctor",
        verbose: Some(
            "Every finding of each code (text shows 10 per code), and each module the probe imported (repeatable: \
             -vv also prints debug logs on stderr)",
        ),
        quiet: Some(
            "Less output (repeatable): -q leaves out info findings and notes, -qq prints nothing (the exit \
             status tells)",
        ),
        progress: true,
    },
    Tailoring {
        command: "clean",
        verbose: Some("With -vv, debug logs of the interpreter search on stderr"),
        quiet: Some(
            "Less output (repeatable): -q prints only failures and the total, -qq nothing (the exit status tells)",
        ),
        progress: false,
    },
    Tailoring {
        command: "stub",
        verbose: None,
        quiet: Some("Less output (repeatable): -q leaves out the advice to precompile, -qq prints nothing"),
        progress: false,
    },
    Tailoring { command: "show", verbose: None, quiet: None, progress: false },
    Tailoring { command: "dis", verbose: None, quiet: None, progress: false },
    Tailoring { command: "diff", verbose: None, quiet: None, progress: false },
    Tailoring {
        command: "verify",
        verbose: Some(
            "Also list the identical files and those both compilers reject (repeatable: -vv also prints debug logs \
             on stderr)",
        ),
        quiet: Some(
            "Less output (repeatable): -q lists only the files that are not identical, without the summary; \
             -qq prints nothing (the exit status tells)",
        ),
        progress: true,
    },
    Tailoring { command: "completions", verbose: None, quiet: None, progress: false },
    Tailoring { command: "man", verbose: None, quiet: None, progress: false },
];

/// The command line as parsed, completed and documented: the derived
/// definitions with the global options worded for each command.
pub fn command() -> clap::Command {
    let cmd = Cli::command();
    let globals: Vec<clap::Arg> = cmd.get_arguments().filter(|arg| arg.is_global_set()).cloned().collect();
    // clap copies a global option into each subcommand that does not define
    // one with the same id; the copy made here carries that command's words.
    // Its value still lands in `GlobalArgs`, whose ids it shares.
    cmd.mut_subcommands(|sub| {
        let Some(t) = TAILORING.iter().find(|t| t.command == sub.get_name()) else { return sub };
        globals.iter().fold(sub, |sub, arg| {
            let arg = arg.clone().global(false);
            let arg = match arg.get_id().as_str() {
                "verbose" => match t.verbose {
                    Some(help) => arg.help(help),
                    None => arg.hide(true),
                },
                "quiet" => match t.quiet {
                    Some(help) => arg.help(help),
                    None => arg.hide(true),
                },
                _ => arg.hide(!t.progress),
            };
            sub.arg(arg)
        })
    })
}

/// Parses the process's arguments.
pub fn parse() -> Result<Cli, clap::Error> {
    let mut cmd = command();
    let matches = cmd.try_get_matches_from_mut(std::env::args_os())?;
    Cli::from_arg_matches(&matches).map_err(|err| err.format(&mut cmd))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Precompile sources into bytecode caches, exactly as each interpreter would.
    Compile(CompileArgs),
    /// List the interpreters pycache can find.
    Interpreters(InterpretersArgs),
    /// Predict what the interpreters will do with every cache of a deployment.
    Doctor(DoctorArgs),
    /// Remove caches selectively: orphans, foreign versions, stale caches, debris.
    Clean(CleanArgs),
    /// Turn an entry script that is compiled on every load into a stub that runs a cached body.
    Stub(StubArgs),
    /// Show a cache of any Python version: header, freshness, code objects.
    Show(ShowArgs),
    /// Disassemble a cache of any Python version, as that version's `python -m dis` would.
    Dis(DisArgs),
    /// Explain how two caches differ (exit 0 when identical, 1 when not).
    Diff(DiffArgs),
    /// Compile sources natively and with the interpreter, and prove the caches equal or show how they differ.
    Verify(VerifyArgs),
    /// Print a shell completion script (bash, zsh or fish).
    #[command(after_help = "Install it where your shell looks, for example:\n  \
        pycache completions bash > /etc/bash_completion.d/pycache\n  \
        pycache completions zsh > \"${fpath[1]}/_pycache\"\n  \
        pycache completions fish > ~/.config/fish/completions/pycache.fish")]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one page per command into a directory.
    #[command(after_help = "Read it with `pycache man | man -l -`.")]
    Man(ManArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines for people to read.
    Text,
    /// One JSON document on stdout, for programs (its fields are in the README).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// The native compiler for the releases it reproduces (CPython 3.12.1, 3.12.7, 3.13.0, 3.13.5, 3.13.15, 3.13.18, 3.14.8 and 3.14.10),
    /// falling back to the interpreter for any file it declines; the interpreters themselves for every other
    /// release.
    Auto,
    /// The real interpreters as workers, for every file.
    Cpython,
    /// pycache's own compiler only (the releases above): a file it declines fails.
    Native,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// The cache records the source's mtime and size; imports compare them.
    Timestamp,
    /// The cache records a hash of the source; imports hash the source and compare.
    CheckedHash,
    /// The cache records a hash of the source; imports use the cache without checking.
    UncheckedHash,
}

#[derive(Debug, Args)]
#[command(after_help = "Options follow compileall where compileall has them. Unlike compileall, a cache is \
fresh only if its header matches the source exactly (magic, flags, mtime and size, or the source hash).")]
pub struct CompileArgs {
    /// Files and directories to compile. None: what `python -m compileall` compiles with none, the top level
    /// of each directory on the interpreter's sys.path.
    pub paths: Vec<PathBuf>,
    /// Do not recurse into subdirectories (depth 0).
    #[arg(short = 'l')]
    pub no_recurse: bool,
    /// How deep to recurse; wins over -l.
    #[arg(short = 'r', long = "max-depth", value_name = "N")]
    pub max_depth: Option<usize>,
    /// Compile even when the cache is fresh.
    #[arg(short, long)]
    pub force: bool,
    /// Skip files whose path matches this regular expression.
    #[arg(short = 'x', long, value_name = "REGEX")]
    pub exclude: Option<String>,
    /// Also compile the files and directories listed in FILE, one per line ("-" for stdin).
    #[arg(short = 'i', long = "files-from", value_name = "FILE")]
    pub files_from: Option<PathBuf>,
    /// Parallel compiles (0: one per core; the default; at most 16 or 4 per core).
    #[arg(short, long, value_name = "N", default_value_t = 0)]
    pub jobs: usize,
    /// Optimisation level: 0, 1 (-O) or 2 (-OO). Repeat for several.
    #[arg(short = 'o', long = "optimize", value_name = "LEVEL", value_parser = clap::value_parser!(u8).range(0..=2))]
    pub optimize: Vec<u8>,
    /// How imports validate the caches (default: as py_compile, checked-hash
    /// when SOURCE_DATE_EPOCH is set).
    #[arg(long, value_enum, value_name = "MODE")]
    pub invalidation_mode: Option<Mode>,
    /// Directory to record in tracebacks instead of the real one.
    #[arg(short = 'd', long, value_name = "DIR")]
    pub ddir: Option<PathBuf>,
    /// Prefix to remove from the recorded paths.
    #[arg(short = 's', long = "strip-prefix", value_name = "DIR")]
    pub strip_prefix: Option<PathBuf>,
    /// Prefix to add to the recorded paths.
    #[arg(short = 'p', long = "prepend-prefix", value_name = "DIR")]
    pub prepend_prefix: Option<PathBuf>,
    /// Skip symlinks that point outside DIR.
    #[arg(short = 'e', long = "limit-symlinks", value_name = "DIR")]
    pub limit_symlinks: Option<PathBuf>,
    /// Hard-link the caches of different levels when their bytes are equal.
    #[arg(long)]
    pub hardlink_dupes: bool,
    /// Write `mod.pyc` beside the source instead of into __pycache__.
    #[arg(short = 'b', long)]
    pub legacy: bool,
    /// Write caches under DIR, as PYTHONPYCACHEPREFIX would (3.8+).
    #[arg(long, value_name = "DIR", conflicts_with = "legacy")]
    pub cache_prefix: Option<PathBuf>,
    /// The interpreter to compile for: a version (3.12), a name (python3.12) or a path. Repeatable.
    #[arg(long, value_name = "PYTHON")]
    pub python: Vec<String>,
    /// Compile for a CPython release without its interpreter, with the native compiler: `3.14` (the newest
    /// verified release of it) or `3.13.18`. A file the native compiler declines fails, with the reason.
    #[arg(long, value_name = "VERSION", conflicts_with = "python")]
    pub target: Option<String>,
    /// Which compiler produces the bytecode. Either way the caches are byte for byte what the interpreter writes.
    #[arg(long, value_enum, default_value_t = Engine::Auto)]
    pub engine: Engine,
    /// Seconds one file may take before its worker is killed (0: no limit).
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout: u64,
    /// Write the path of every cache written or found fresh to FILE, one per line, spelled as the caches are
    /// (relative when the paths given are), for package file lists and container layers.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Add the caches under a site-packages to the RECORD of the distribution whose source they cache, as pip
    /// does at install time, so that `pip uninstall` removes them.
    #[arg(long)]
    pub record: bool,
    /// How to print the result: each failure, then a summary per interpreter and level.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct InterpretersArgs {
    /// How to print the list: one interpreter per line (version, cache tag, path), or every probed detail.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
#[command(after_help = "Exit status: 0 when nothing at warning or above was found, 1 when something was (or \
--probe disagreed with a prediction), 2 on errors.")]
pub struct DoctorArgs {
    /// Directories (or files) of the deployment. Default: the application's directories in --server-config.
    pub paths: Vec<PathBuf>,
    /// The interpreter that runs the tree: a version, a name or a path. Repeatable. Default: a virtual
    /// environment in the tree or at the server's python-home, else the default interpreter.
    #[arg(long, value_name = "PYTHON")]
    pub python: Vec<String>,
    /// The service user whose permissions matter (default: the server configuration's, else the current user).
    #[arg(long, value_name = "NAME|UID")]
    pub user: Option<String>,
    /// The service user's group, when the server sets one (default: the user's primary group).
    #[arg(long, value_name = "NAME|GID")]
    pub group: Option<String>,
    /// The optimisation level the processes run at (default: the server configuration's, else 0).
    #[arg(short = 'o', long, value_name = "LEVEL", value_parser = clap::value_parser!(u8).range(0..=2))]
    pub optimize: Option<u8>,
    /// An Apache/mod_wsgi conf, a uWSGI .ini or .yaml, or a gunicorn conf.
    #[arg(long, value_name = "FILE")]
    pub server_config: Option<PathBuf>,
    /// The PYTHONPYCACHEPREFIX the processes use.
    #[arg(long, value_name = "DIR")]
    pub cache_prefix: Option<PathBuf>,
    /// The processes run with PYTHONDONTWRITEBYTECODE (or -B).
    #[arg(long)]
    pub dont_write_bytecode: bool,
    /// An entry script the server runs (compiled on every load). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub script: Vec<PathBuf>,
    /// Also examine directories on other file systems than their root's (mount points, bind mounts).
    #[arg(long)]
    pub cross_filesystems: bool,
    /// Also import the tree's modules with each interpreter (as the service user) and compare.
    #[arg(long)]
    pub probe: bool,
    /// Seconds one probe process may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub probe_timeout: u64,
    /// How to print the findings: grouped by code, most severe first, or every finding and prediction.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The cache file (`.pyc` or `.pyo`).
    pub file: PathBuf,
    /// How to print the header, freshness and code objects.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
#[command(after_help = "Only caches are ever removed: never a .py file, never a .pyc without its .py (it may be \
the only copy of the module), never a symbolic link or anything outside the given directories, and by default \
nothing on another file system than the given directory's (a mount point, a bind mount), as `find -xdev`.")]
pub struct CleanArgs {
    /// Directories to clean.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Caches whose source is gone.
    #[arg(long)]
    pub orphans: bool,
    /// Caches of interpreters other than the --python ones.
    #[arg(long)]
    pub foreign: bool,
    /// Caches the interpreter would not use: stale, another magic number, a bad header or a damaged body.
    #[arg(long)]
    pub stale: bool,
    /// Temporary files left by interrupted writes (`*.pyc.NNN`).
    #[arg(long)]
    pub debris: bool,
    /// Every cache and temporary file.
    #[arg(long)]
    pub all: bool,
    /// List what would go, remove nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// The interpreters whose caches to keep (with --foreign) and check (with --stale). Repeatable.
    #[arg(long, value_name = "PYTHON")]
    pub python: Vec<String>,
    /// Also clean this pycache prefix's copy of the directories.
    #[arg(long, value_name = "DIR")]
    pub cache_prefix: Option<PathBuf>,
    /// Also enter directories on other file systems than their root's (mount points, bind mounts).
    #[arg(long)]
    pub cross_filesystems: bool,
    /// How to print what was removed, kept and failed.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DisArgs {
    /// The cache file (`.pyc` or `.pyo`).
    pub file: PathBuf,
    /// Only this code object (and those nested in it), by qualified name,
    /// such as `Class.method` or `outer.<locals>.inner`.
    #[arg(long, value_name = "QUALNAME")]
    pub func: Option<String>,
    /// List the inline cache entries of 3.11+ as CACHE instructions.
    #[arg(long)]
    pub show_caches: bool,
    /// Print offsets in 3.13+ listings, as `python -m dis -O` does (older versions always do).
    #[arg(long)]
    pub show_offsets: bool,
    /// How to print the instructions: as that version's `dis` does, or one object per instruction.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct StubArgs {
    /// The entry script (a .wsgi file, a CGI script, an executable).
    pub script: PathBuf,
    /// File name of the moved body, beside the script (default: `<script>-body.py`).
    #[arg(long, value_name = "NAME")]
    pub body: Option<String>,
    /// Print the change instead of making it.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// How to print the change: in words with the stub's text, or the paths, sizes and stub.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
#[command(after_help = "Caches of different Python versions are compared instruction by instruction, by name and \
argument, since opcode numbers and inline caches change between versions.")]
pub struct DiffArgs {
    /// The first cache file.
    pub left: PathBuf,
    /// The second cache file, compared with the first.
    pub right: PathBuf,
    /// How to print the differences: the header fields, then the first difference of each code object.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReferenceArg {
    /// `python -I -m py_compile`, one fresh process per file and level.
    Fresh,
    /// The compileall-like workers of `pycache compile --engine cpython` (faster).
    Compileall,
}

#[derive(Debug, Args)]
#[command(after_help = "Exit status: 0 when every file is byte-identical, code-equal, declined by the native \
compiler or rejected by both; 1 when a file differs, the native compiler accepts what the interpreter rejects, \
or a check could not be made; 2 on errors.")]
pub struct VerifyArgs {
    /// Files and directories to check.
    #[arg(required_unless_present = "files_from")]
    pub paths: Vec<PathBuf>,
    /// Read more paths from FILE, one per line (`-` for stdin).
    #[arg(short = 'i', long = "files-from", value_name = "FILE")]
    pub files_from: Option<PathBuf>,
    /// The interpreter the native compiler is checked against.
    #[arg(long, value_name = "PYTHON", default_value = "3.12")]
    pub python: String,
    /// Optimisation level (0, 1 or 2). Repeatable.
    #[arg(short = 'o', long = "optimize", value_name = "LEVEL", value_parser = clap::value_parser!(u8).range(0..=2))]
    pub optimize: Vec<u8>,
    /// What the interpreter's side is.
    #[arg(long, value_enum, default_value_t = ReferenceArg::Fresh)]
    pub reference: ReferenceArg,
    /// Skip paths matching this regular expression.
    #[arg(short = 'x', long, value_name = "REGEX")]
    pub exclude: Option<String>,
    /// Do not descend below this depth.
    #[arg(short = 'r', long = "max-depth", value_name = "N")]
    pub max_depth: Option<usize>,
    /// Do not recurse into subdirectories.
    #[arg(short = 'l')]
    pub no_recurse: bool,
    /// Parallel checks (0: one per core; at most 16 or 4 per core).
    #[arg(short = 'j', long, value_name = "N", default_value_t = 0)]
    pub jobs: usize,
    /// Seconds the interpreter may take on one file (0: no limit).
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout: u64,
    /// How to print the verdicts: the files that are not identical and a summary per level, or every verdict.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// bash 4 or later, with bash-completion.
    Bash,
    /// zsh, as a `_pycache` file on its fpath.
    Zsh,
    /// fish.
    Fish,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print, such as `compile` (default: the page of pycache itself).
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
    /// Write every page (pycache.1, pycache-compile.1, ...) into DIR instead of printing one.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub out_dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definitions_are_consistent() {
        command().debug_assert();
    }

    /// `--help` must say what every argument and every value is for.
    #[test]
    fn every_argument_and_value_is_described() {
        let mut cmd = command();
        cmd.build();
        let mut missing = Vec::new();
        for sub in std::iter::once(&cmd).chain(cmd.get_subcommands()) {
            for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
                let id = format!("{} {}", sub.get_name(), arg.get_id());
                if arg.get_help().is_none() {
                    missing.push(id.clone());
                }
                for value in arg.get_possible_values().iter().filter(|v| !v.is_hide_set()) {
                    if value.get_help().is_none() {
                        missing.push(format!("{id}={}", value.get_name()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "without help: {missing:?}");
    }

    /// Each command gets its own wording of the global options, or hides
    /// those that change nothing in it.
    #[test]
    fn every_command_has_its_wording_of_the_global_options() {
        let cmd = command();
        let names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
        let tailored: Vec<&str> = TAILORING.iter().map(|t| t.command).collect();
        assert_eq!(names, tailored);
    }

    #[test]
    fn global_options_parse_before_and_after_the_command() {
        let parse = |args: &[&str]| {
            let matches = command().try_get_matches_from(args).unwrap();
            Cli::from_arg_matches(&matches).unwrap().global
        };
        assert_eq!(parse(&["pycache", "-v", "show", "x.pyc"]).verbose, 1);
        assert_eq!(parse(&["pycache", "show", "-vv", "x.pyc"]).verbose, 2);
        assert_eq!(parse(&["pycache", "compile", ".", "-qq", "--no-progress"]).quiet, 2);
        assert!(parse(&["pycache", "--no-progress", "compile", "."]).no_progress);
    }
}
