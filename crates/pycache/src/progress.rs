//! Drawing library progress with indicatif, on stderr, only on a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pycache_progress::Progress;

pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar that draws only when stderr is a terminal and output is wanted.
    pub fn new(enabled: bool) -> Self {
        let target = if enabled && std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self { bar: ProgressBar::with_draw_target(None, target) }
    }
}

impl Progress for Bar {
    fn start(&self, phase: &str, total: Option<u64>) {
        self.bar.reset();
        match total {
            Some(total) => {
                self.bar.set_length(total);
                self.bar.set_style(
                    ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
                        .expect("valid template")
                        .progress_chars("=> "),
                );
            }
            None => {
                self.bar.unset_length();
                self.bar
                    .set_style(ProgressStyle::with_template("{prefix:>10} {spinner} {pos}").expect("valid template"));
            }
        }
        self.bar.set_prefix(phase.to_owned());
        self.bar.set_position(0);
    }

    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }

    fn grow(&self, n: u64) {
        self.bar.inc_length(n);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
