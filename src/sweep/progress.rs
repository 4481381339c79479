//! Sweep progress: a bar on a terminal (indicatif), plain lines elsewhere (CI logs).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use super::Progress;

/// A progress bar on standard error.
pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
}

impl Bar {
    pub fn new() -> Self {
        Bar {
            bar: Mutex::new(None),
        }
    }
}

impl Default for Bar {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for Bar {
    fn start(&self, phase: &str, total: usize) {
        let bar = ProgressBar::new(total as u64);
        let style = ProgressStyle::with_template(
            "{prefix:>9} [{bar:30}] {pos}/{len} repositories {elapsed} {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(phase.to_string());
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, repository: &str) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                bar.set_message(repository.to_string());
                bar.inc(1);
            }
        }
    }

    fn problem(&self, repository: &str, message: &str) {
        if let Ok(slot) = self.bar.lock() {
            match slot.as_ref() {
                Some(bar) => bar.println(format!("warning: {repository}: {message}")),
                None => eprintln!("warning: {repository}: {message}"),
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        }
    }
}

/// One line when a phase starts, at every tenth of it, and when it ends, and one per
/// repository that could not be swept: readable in a CI log, with no control characters.
pub struct Lines {
    started: Mutex<Option<(String, usize, Instant)>>,
    done: AtomicUsize,
}

impl Lines {
    pub fn new() -> Self {
        Lines {
            started: Mutex::new(None),
            done: AtomicUsize::new(0),
        }
    }
}

impl Default for Lines {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for Lines {
    fn start(&self, phase: &str, total: usize) {
        eprintln!(
            "sweep: {phase} {}",
            crate::report::count(total, "repository", "repositories")
        );
        self.done.store(0, Ordering::Relaxed);
        if let Ok(mut slot) = self.started.lock() {
            *slot = Some((phase.to_string(), total, Instant::now()));
        }
    }

    fn advance(&self, _: &str) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(slot) = self.started.lock() {
            if let Some((phase, total, _)) = slot.as_ref() {
                let tenth = |n: usize| n * 10 / (*total).max(1);
                if done < *total && tenth(done) > tenth(done - 1) {
                    eprintln!("sweep: {phase} {done}/{total} repositories");
                }
            }
        }
    }

    fn problem(&self, repository: &str, message: &str) {
        eprintln!("sweep: warning: {repository}: {message}");
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.started.lock() {
            if let Some((phase, total, started)) = slot.take() {
                eprintln!(
                    "sweep: {phase} {total} repositories done in {}",
                    super::human_duration(started.elapsed())
                );
            }
        }
    }
}
