//! A pool of persistent workers for one interpreter and process level.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::interpreter::Interpreter;
use crate::worker::{CompileFailure, CompileOutput, Worker, WorkerError};

#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// The most worker processes alive at once.
    pub jobs: usize,
    /// How long one file may take before its worker is killed.
    pub timeout: Option<Duration>,
}

struct Slots {
    idle: Vec<Worker>,
    live: usize,
    started: usize,
}

/// Workers for one interpreter. `compile` may be called from many threads;
/// it blocks while every worker is busy. Workers start on demand, so a run
/// with nothing to compile starts none.
pub struct WorkerPool {
    interpreter: Interpreter,
    process_optimize: u8,
    options: PoolOptions,
    slots: Mutex<Slots>,
    freed: Condvar,
    broken: Mutex<Option<String>>,
    watchdog: Option<Watchdog>,
    // compileall needs a real `.py` file to hand to py_compile before the
    // worker takes over; it is never compiled or written.
    _placeholder: tempfile::TempDir,
    placeholder: std::path::PathBuf,
}

impl WorkerPool {
    pub fn new(interpreter: Interpreter, process_optimize: u8, options: PoolOptions) -> std::io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("pycache-worker").tempdir()?;
        let placeholder = dir.path().join("pycache_placeholder.py");
        fs_err::write(&placeholder, b"")?;
        let watchdog = options.timeout.map(Watchdog::start);
        Ok(Self {
            interpreter,
            process_optimize,
            options: PoolOptions { jobs: options.jobs.max(1), ..options },
            slots: Mutex::new(Slots { idle: Vec::new(), live: 0, started: 0 }),
            freed: Condvar::new(),
            broken: Mutex::new(None),
            watchdog,
            _placeholder: dir,
            placeholder,
        })
    }

    pub fn interpreter(&self) -> &Interpreter {
        &self.interpreter
    }

    /// Compiles `source` as `filename` (what `co_filename` will say) at each
    /// of `levels`. The outer error is a worker fault (crash, timeout), which
    /// costs only this file; the inner one is the interpreter's refusal.
    pub fn compile(
        &self,
        filename: &Path,
        source: &[u8],
        levels: &[i8],
    ) -> Result<Result<CompileOutput, CompileFailure>, WorkerError> {
        let mut worker = self.checkout()?;
        let pid = worker.pid();
        if let Some(dog) = &self.watchdog {
            dog.watch(pid);
        }
        let result = worker.compile(filename, source, levels);
        let timed_out = self.watchdog.as_ref().is_some_and(|dog| dog.unwatch(pid));
        match result {
            Ok(answer) if !timed_out => {
                self.checkin(worker);
                Ok(answer)
            }
            Ok(_) | Err(_) if timed_out => {
                self.discard(worker);
                Err(WorkerError::TimedOut(self.options.timeout.unwrap_or_default()))
            }
            Ok(_) => unreachable!("handled above"),
            Err(err) => {
                self.discard(worker);
                Err(err)
            }
        }
    }

    fn checkout(&self) -> Result<Worker, WorkerError> {
        let mut slots = self.slots.lock().expect("pool lock");
        loop {
            if let Some(reason) = self.broken.lock().expect("pool lock").clone() {
                return Err(WorkerError::Broken(reason));
            }
            if let Some(worker) = slots.idle.pop() {
                return Ok(worker);
            }
            if slots.live < self.options.jobs {
                slots.live += 1;
                slots.started += 1;
                drop(slots);
                return self.start().inspect_err(|_| {
                    self.slots.lock().expect("pool lock").live -= 1;
                    self.freed.notify_all();
                });
            }
            slots = self.freed.wait(slots).expect("pool lock");
        }
    }

    /// Starts a worker and waits for its ready line, so that an interpreter
    /// that cannot run the worker at all breaks the pool once, not per file.
    fn start(&self) -> Result<Worker, WorkerError> {
        let mut worker = Worker::spawn(&self.interpreter, self.process_optimize, &self.placeholder)?;
        match worker.wait_ready() {
            Ok(()) => Ok(worker),
            Err(err) => {
                let reason = format!("`{}` cannot run the compile worker: {err}", self.interpreter.path.display());
                *self.broken.lock().expect("pool lock") = Some(reason.clone());
                Err(WorkerError::Broken(reason))
            }
        }
    }

    fn checkin(&self, worker: Worker) {
        self.slots.lock().expect("pool lock").idle.push(worker);
        self.freed.notify_one();
    }

    fn discard(&self, worker: Worker) {
        drop(worker);
        self.slots.lock().expect("pool lock").live -= 1;
        self.freed.notify_one();
    }

    /// How many worker processes are alive (or starting).
    pub fn live_workers(&self) -> usize {
        self.slots.lock().expect("pool lock").live
    }

    /// How many worker processes this pool has started, restarts included.
    pub fn started_workers(&self) -> usize {
        self.slots.lock().expect("pool lock").started
    }
}

/// Kills workers that overrun their deadline. The blocked reader then sees
/// the pipe close and the pool reports a timeout for that file.
struct Watchdog {
    timeout: Duration,
    shared: Arc<WatchState>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct WatchState {
    deadlines: Mutex<(HashMap<u32, Instant>, HashSet<u32>)>,
    stop: AtomicBool,
    wake: Condvar,
}

impl Watchdog {
    fn start(timeout: Duration) -> Self {
        let shared = Arc::new(WatchState::default());
        let state = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("pycache-watchdog".into())
            .spawn(move || {
                let mut guard = state.deadlines.lock().expect("watchdog lock");
                while !state.stop.load(Ordering::Relaxed) {
                    let now = Instant::now();
                    let overdue: Vec<u32> = guard.0.iter().filter(|(_, d)| **d <= now).map(|(p, _)| *p).collect();
                    for pid in overdue {
                        guard.0.remove(&pid);
                        guard.1.insert(pid);
                        if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                        }
                    }
                    let next = guard.0.values().min().map(|d| d.saturating_duration_since(now));
                    let wait = next.unwrap_or(Duration::from_secs(3600)).max(Duration::from_millis(5));
                    guard = state.wake.wait_timeout(guard, wait).expect("watchdog lock").0;
                }
            })
            .expect("spawn the watchdog thread");
        Self { timeout, shared, thread: Some(thread) }
    }

    fn watch(&self, pid: u32) {
        let mut guard = self.shared.deadlines.lock().expect("watchdog lock");
        guard.0.insert(pid, Instant::now() + self.timeout);
        self.shared.wake.notify_one();
    }

    /// Stops watching `pid`; true if it was killed for overrunning.
    fn unwatch(&self, pid: u32) -> bool {
        let mut guard = self.shared.deadlines.lock().expect("watchdog lock");
        guard.0.remove(&pid);
        guard.1.remove(&pid)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
