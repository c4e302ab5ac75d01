//! A structure-aware mutation fuzzer for the marshal reader and everything
//! behind it (`pycache show`, `dis` and `diff`), on stable Rust.
//!
//! Seeds are caches the installed interpreters (2.7, 3.6 to 3.13) write for
//! small sources, plus streams built by hand (every type code, reference
//! bombs, nesting at the depth limit, absurd sizes). Each run feeds: every
//! seed as is; every truncation of the smallest cache of each version; then
//! mutants (a size, type byte, FLAG_REF, reference, code object field,
//! nesting or splice changed, then bit flips, inserted and deleted bytes),
//! until an iteration count or a time budget runs out. Each input goes
//! through the reader for every format and as a `.pyc` (see `check.rs`).
//! Besides panics, a run fails on an input that holds more memory than a
//! bound proportional to its size, or that runs for a minute (a hang).
//!
//! Environment:
//! - `PYCACHE_FUZZ_ITERATIONS` (default 20000) and `PYCACHE_FUZZ_SECONDS`
//!   (default 30, for the mutants): whichever ends first ends the run.
//! - `PYCACHE_FUZZ_SEED`: the run's seed (printed; random by default).
//!   Iteration `n` of a seed is the same input on every machine with the
//!   same interpreters.
//! - `PYCACHE_FUZZ_REPLAY=FILE`: check one saved input instead.
//!
//! A failing input is saved under the target directory's `tmp/fuzz/` and its
//! path printed. Before each input runs it is also written to an in-flight
//! file (path printed at the start), which is what is left to look at when
//! the process dies of a stack overflow, an abort or the hang watchdog.

mod alloc;
mod check;
mod mutate;
mod rng;
mod scan;
mod seeds;

use std::any::Any;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pycache_marshal::{Pyc, read_pyc};

use crate::check::{Reach, check};
use crate::rng::Rng;
use crate::seeds::{Seed, handmade_seeds, interpreter_seeds};

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

const DEFAULT_ITERATIONS: u64 = 20_000;
const DEFAULT_SECONDS: u64 = 30;

/// One input running longer than this is reported as a hang (the slowest
/// seeds take well under a second in a debug build).
const HANG: Duration = Duration::from_secs(60);

/// The stack a thread gets by default (rayon's workers included), which is
/// what library callers can count on.
const STACK: usize = 2 << 20;

/// For building the seeds, which recursion makes deep.
const SEED_STACK: usize = 256 << 20;

/// Truncations are tried on caches up to this size.
const SMALL: usize = 2048;

/// How much one input may make the reader and the decoder hold at once:
/// an object tree is a few hundred times the bytes it came from at most,
/// and the text and JSON renderings a few times their own length; a
/// reference bomb or a size taken on trust would be far more.
fn memory_limit(input_len: usize, output_len: u64) -> usize {
    (64 << 20) + input_len * 512 + (output_len as usize).saturating_mul(8)
}

#[derive(Debug, Clone)]
struct Config {
    iterations: u64,
    seconds: u64,
    seed: u64,
    replay: Option<PathBuf>,
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok().filter(|v| !v.is_empty())?;
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => value.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={value} is not a number")))
}

impl Config {
    fn from_env() -> Self {
        let random = || {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            Rng::new(now.as_nanos() as u64 ^ u64::from(std::process::id())).next()
        };
        Self {
            iterations: env_u64("PYCACHE_FUZZ_ITERATIONS").unwrap_or(DEFAULT_ITERATIONS),
            seconds: env_u64("PYCACHE_FUZZ_SECONDS").unwrap_or(DEFAULT_SECONDS),
            seed: env_u64("PYCACHE_FUZZ_SEED").unwrap_or_else(random),
            replay: std::env::var_os("PYCACHE_FUZZ_REPLAY").filter(|v| !v.is_empty()).map(PathBuf::from),
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(text), _) => (*text).to_owned(),
        (_, Some(text)) => text.clone(),
        _ => "a panic without a message".to_owned(),
    }
}

/// Runs inputs one at a time, records failures.
struct Runner {
    seed: u64,
    dir: PathBuf,
    in_flight: File,
    /// When the running input started (ms since `started`), 0 when idle.
    busy_since: Arc<AtomicU64>,
    /// What the running input is, for the watchdog's message.
    label: Arc<Mutex<String>>,
    started: Instant,
    failures: Vec<String>,
    reach: Reach,
    inputs: u64,
    /// The highest peak of one input, that input's length and its output's.
    worst_memory: (usize, usize, u64),
}

impl Runner {
    fn run(&mut self, label: &str, input: &[u8], reference: Option<(&Pyc, &[u8])>, trail: &[String]) {
        // Kept for post-mortems only: a failure that unwinds is saved on
        // its own below.
        let _ = self.in_flight.set_len(0);
        let _ = self.in_flight.seek(SeekFrom::Start(0));
        let _ = self.in_flight.write_all(input);
        if let Ok(mut current) = self.label.lock() {
            current.clear();
            current.push_str(label);
        }
        self.busy_since.store(self.started.elapsed().as_millis() as u64 + 1, Ordering::SeqCst);
        let baseline = alloc::reset_peak();
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| check(input, reference)));
        let used = alloc::peak().saturating_sub(baseline);
        self.busy_since.store(0, Ordering::SeqCst);
        self.inputs += 1;
        let output = result.as_ref().map_or(0, |reach| reach.output_bytes);
        if used > self.worst_memory.0 {
            self.worst_memory = (used, input.len(), output);
        }
        match result {
            Ok(reach) => self.reach += reach,
            Err(payload) => self.fail(label, input, &panic_message(&*payload), trail),
        }
        if used > memory_limit(input.len(), output) {
            let why =
                format!("held {used} bytes at once for a {}-byte input and {output} bytes of output", input.len());
            self.fail(label, input, &why, trail);
        }
    }

    fn fail(&mut self, label: &str, input: &[u8], why: &str, trail: &[String]) {
        let path = self.dir.join(format!("failure-{:016x}-{}.bin", self.seed, self.failures.len()));
        fs_err::write(&path, input).expect("save the failing input");
        let report = format!(
            "FUZZ FAILURE {label}: {why}\n  mutations: {}\n  input: {} ({} bytes)\n  replay: PYCACHE_FUZZ_REPLAY={} cargo nextest run -p pycache-marshal --test fuzz",
            if trail.is_empty() { "none".to_owned() } else { trail.join("; ") },
            path.display(),
            input.len(),
            path.display(),
        );
        eprintln!("{report}");
        self.failures.push(report);
    }
}

/// Aborts the process when one input runs longer than [`HANG`]: a hang
/// cannot be unwound from, and the in-flight file holds the input.
struct Watched {
    busy_since: Arc<AtomicU64>,
    label: Arc<Mutex<String>>,
    done: Arc<AtomicBool>,
    started: Instant,
    in_flight: PathBuf,
}

fn watchdog(watched: Watched) {
    while !watched.done.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
        let since = watched.busy_since.load(Ordering::SeqCst);
        let now = watched.started.elapsed().as_millis() as u64 + 1;
        if since != 0 && now.saturating_sub(since) > HANG.as_millis() as u64 {
            let label = watched.label.lock().map(|l| l.clone()).unwrap_or_default();
            let path = watched.in_flight.display();
            eprintln!(
                "FUZZ FAILURE {label}: ran for more than {}s\n  input: {path}\n  replay: PYCACHE_FUZZ_REPLAY={path} cargo nextest run -p pycache-marshal --test fuzz",
                HANG.as_secs(),
            );
            std::process::abort();
        }
    }
}

/// The smallest cache of each version, for the truncation sweep.
fn small_caches(corpus: &[Seed]) -> Vec<&Seed> {
    let mut best: Vec<&Seed> = Vec::new();
    for seed in corpus.iter().filter(|s| s.is_pyc() && s.bytes.len() <= SMALL) {
        match best.iter_mut().find(|b| b.format == seed.format) {
            Some(b) if b.bytes.len() > seed.bytes.len() => *b = seed,
            Some(_) => {}
            None => best.push(seed),
        }
    }
    best
}

fn fuzz(config: Config) -> Vec<String> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz");
    fs_err::create_dir_all(&dir).expect("a directory for failing inputs");
    let in_flight_path = dir.join(format!("in-flight-{:016x}.bin", config.seed));
    let started = Instant::now();
    let busy_since = Arc::new(AtomicU64::new(0));
    let label = Arc::new(Mutex::new(String::new()));
    let done = Arc::new(AtomicBool::new(false));
    let watched = Watched {
        busy_since: busy_since.clone(),
        label: label.clone(),
        done: done.clone(),
        started,
        in_flight: in_flight_path.clone(),
    };
    let dog = std::thread::spawn(move || watchdog(watched));
    let mut runner = Runner {
        seed: config.seed,
        dir,
        in_flight: File::create(&in_flight_path).expect("the in-flight file"),
        busy_since,
        label,
        started,
        failures: Vec::new(),
        reach: Reach::default(),
        inputs: 0,
        worst_memory: (0, 0, 0),
    };

    if let Some(path) = &config.replay {
        let input = fs_err::read(path).expect("the input to replay");
        runner.run(&format!("replay of {}", path.display()), &input, None, &[]);
        println!("fuzz: replayed {} ({} bytes): {}", path.display(), input.len(), runner.reach_line());
    } else {
        // The seed builders and the scanner recurse as deep as the seeds
        // nest, which the checks must not need: they get a stack of their
        // own.
        let (corpus, from_interpreters) = std::thread::Builder::new()
            .stack_size(SEED_STACK)
            .spawn(|| {
                let scratch = tempfile::tempdir().expect("a temporary directory");
                let mut corpus = interpreter_seeds(scratch.path());
                let from_interpreters = corpus.len();
                corpus.extend(handmade_seeds());
                (corpus, from_interpreters)
            })
            .expect("the seed thread")
            .join()
            .expect("seeds");
        println!(
            "fuzz: seed {:#018x}, up to {} mutants or {}s; {} seeds ({} from interpreters); in-flight input: {}",
            config.seed,
            config.iterations,
            config.seconds,
            corpus.len(),
            from_interpreters,
            in_flight_path.display(),
        );
        println!("fuzz: rerun with PYCACHE_FUZZ_SEED={:#018x}", config.seed);
        let references: Vec<Option<Pyc>> = corpus.iter().map(|s| read_pyc(&s.bytes).ok()).collect();
        let reference = |i: usize| references[i].as_ref().map(|pyc| (pyc, corpus[i].bytes.as_slice()));

        for (i, seed) in corpus.iter().enumerate() {
            runner.run(&format!("seed {}", seed.name), &seed.bytes, reference(i), &[]);
        }
        let phase = Instant::now();
        let small = small_caches(&corpus);
        let mut cuts = 0;
        for seed in &small {
            for len in 0..seed.bytes.len() {
                let trail = [format!("cut at {len}")];
                runner.run(&format!("{} cut at {len}", seed.name), &seed.bytes[..len], None, &trail);
                cuts += 1;
            }
        }
        println!(
            "fuzz: {} seeds, then {cuts} truncations of {} small caches in {:.1}s",
            corpus.len(),
            small.len(),
            phase.elapsed().as_secs_f64()
        );

        let phase = Instant::now();
        let budget = Duration::from_secs(config.seconds);
        let (heavy, light): (Vec<usize>, Vec<usize>) = (0..corpus.len()).partition(|&i| corpus[i].heavy);
        let mut done_iterations = 0;
        for iteration in 0..config.iterations {
            if phase.elapsed() > budget || runner.failures.len() >= 20 {
                break;
            }
            let mut rng = Rng::for_iteration(config.seed, iteration);
            // Heavy seeds (bombs, nesting at the limit) take a hundred times
            // longer than the rest: mutants of them are one in twenty.
            let pool = if rng.chance(5) && !heavy.is_empty() { &heavy } else { &light };
            let index = *rng.pick(pool);
            let seed = &corpus[index];
            let others: Vec<&Seed> =
                corpus.iter().filter(|s| s.format.version() == seed.format.version() && s.name != seed.name).collect();
            let (input, trail) = mutate::mutate(&mut rng, seed, &others);
            runner.run(&format!("iteration {iteration} (from {})", seed.name), &input, reference(index), &trail);
            done_iterations += 1;
        }
        println!(
            "fuzz: {done_iterations} of {} mutants in {:.1}s{}; {}",
            config.iterations,
            phase.elapsed().as_secs_f64(),
            if done_iterations < config.iterations { " (time budget reached)" } else { "" },
            runner.reach_line(),
        );
    }
    done.store(true, Ordering::SeqCst);
    let _ = dog.join();
    if runner.failures.is_empty() {
        let _ = fs_err::remove_file(&in_flight_path);
    }
    runner.failures
}

impl Runner {
    fn reach_line(&self) -> String {
        format!(
            "{} inputs in all: {} streams and {} pycs read, {} code objects decoded, {} bytes rendered; highest peak {} bytes (a {}-byte input, {} bytes of output); {} failures",
            self.inputs,
            self.reach.streams_read,
            self.reach.pycs_read,
            self.reach.code_objects_decoded,
            self.reach.output_bytes,
            self.worst_memory.0,
            self.worst_memory.1,
            self.worst_memory.2,
            self.failures.len()
        )
    }
}

#[test]
fn fuzz_reader_and_decoder() {
    let config = Config::from_env();
    let worker = std::thread::Builder::new()
        .name("fuzz".to_owned())
        .stack_size(STACK)
        .spawn(move || fuzz(config))
        .expect("the fuzz thread");
    let failures = worker.join().expect("the fuzz thread ends (failures are caught)");
    assert!(failures.is_empty(), "{} failing inputs:\n{}", failures.len(), failures.join("\n"));
}
