use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "pycache", version, about = "Owns the bytecode caches of Python deployments.", long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More output: each file compiled, then debug logs (repeatable).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Less output: -q prints only failures, -qq nothing (the exit status says it).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub quiet: u8,
    /// Never draw a progress bar.
    #[arg(long, global = true)]
    pub no_progress: bool,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// The native compiler for CPython 3.12.1, falling back to the interpreter for any file it declines; the
    /// interpreters themselves for every other version.
    Auto,
    /// The real interpreters as workers, for every file.
    Cpython,
    /// pycache's own compiler only (CPython 3.12.1): a file it declines fails.
    Native,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Timestamp,
    CheckedHash,
    UncheckedHash,
}

#[derive(Debug, Args)]
#[command(after_help = "Options follow compileall where compileall has them. Unlike compileall, a cache is \
fresh only if its header matches the source exactly (magic, flags, mtime and size, or the source hash).")]
pub struct CompileArgs {
    /// Files and directories to compile.
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
    /// Parallel compiles (0: one per core; the default).
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
    /// Which compiler produces the bytecode. Either way the caches are byte for byte what the interpreter writes.
    #[arg(long, value_enum, default_value_t = Engine::Auto)]
    pub engine: Engine,
    /// Seconds one file may take before its worker is killed (0: no limit).
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout: u64,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct InterpretersArgs {
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
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The cache file (`.pyc` or `.pyo`).
    pub file: PathBuf,
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
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    pub left: PathBuf,
    pub right: PathBuf,
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
    /// Parallel checks (0: one per core).
    #[arg(short = 'j', long, value_name = "N", default_value_t = 0)]
    pub jobs: usize,
    /// Seconds the interpreter may take on one file (0: no limit).
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout: u64,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}
