//! How libraries report progress without drawing anything.
//!
//! Long operations (walking a tree, compiling thousands of files) take a
//! `&dyn Progress` and call it as they go. The binary implements it with a
//! progress bar on a terminal; tests and library users pass [`NoProgress`].

/// Receives progress from a long operation. Calls may come from many threads.
pub trait Progress: Sync {
    /// A new phase starts, with the number of steps when it is known.
    fn start(&self, _phase: &str, _total: Option<u64>) {}
    /// `n` more steps are done.
    fn advance(&self, _n: u64) {}
    /// Work was discovered along the way: the total grows by `n`.
    fn grow(&self, _n: u64) {}
    /// The phase is over.
    fn finish(&self) {}
}

/// Ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    struct Count(AtomicU64);

    impl Progress for Count {
        fn advance(&self, n: u64) {
            self.0.fetch_add(n, Ordering::Relaxed);
        }
    }

    #[test]
    fn default_methods_do_nothing_and_overrides_are_called() {
        let quiet: &dyn Progress = &NoProgress;
        quiet.start("x", Some(3));
        quiet.advance(1);
        quiet.finish();
        let count = Count(AtomicU64::new(0));
        let progress: &dyn Progress = &count;
        progress.advance(2);
        progress.advance(3);
        assert_eq!(count.0.load(Ordering::Relaxed), 5);
    }
}
