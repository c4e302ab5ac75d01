//! Drawing library progress with indicatif, on stderr, only on a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use pycache_progress::Progress;

use crate::output::thousands;

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

/// What a phase counts, for its rate.
fn unit(phase: &str) -> &'static str {
    if phase.contains("caches") { "caches" } else { "files" }
}

/// A rate as people read it: whole units per second, grouped by thousands.
fn rate(per_sec: f64, unit: &str) -> String {
    let whole = if per_sec.is_finite() && per_sec > 0.0 { per_sec.round() as u64 } else { 0 };
    format!("{} {unit}/s", thousands(whole))
}

impl Progress for Bar {
    fn start(&self, phase: &str, total: Option<u64>) {
        self.bar.reset();
        match total {
            Some(total) => {
                self.bar.set_length(total);
                let unit = unit(phase);
                self.bar.set_style(
                    ProgressStyle::with_template("{prefix:>10} [{bar:30}] {human_pos}/{human_len} {rate} eta {eta}")
                        .expect("valid template")
                        .with_key("rate", move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = w.write_str(&rate(state.per_sec(), unit));
                        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_whole_numbers_with_their_unit() {
        assert_eq!(rate(1234.5678, "files"), "1,235 files/s");
        assert_eq!(rate(0.4, "files"), "0 files/s");
        assert_eq!(rate(f64::NAN, "files"), "0 files/s");
        assert_eq!(rate(f64::INFINITY, "caches"), "0 caches/s");
        assert_eq!(unit("reading caches"), "caches");
        assert_eq!(unit("compiling"), "files");
    }
}
