//! Terminal output: stdout that survives a reader going away, colour through
//! `anstream` (it honours `NO_COLOR`, `CLICOLOR`, `CLICOLOR_FORCE` and whether
//! the stream is a terminal), the device-code countdown, and Ctrl-C.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// Writes `text` to stdout, dropping it quietly when the reader has gone away
/// (`codex whoami --json | true`): a closed pipe is not worth a message or a
/// panic, as for other Unix tools. The command keeps its exit code.
pub fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Writes `text`, which may hold `anstyle` escapes, to stdout; `anstream`
/// strips them where colour is off (not a terminal, `NO_COLOR`, `CLICOLOR=0`)
/// and keeps them under `CLICOLOR_FORCE`.
pub fn print_stdout_styled(text: &str) {
    let mut out = anstream::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// A live "waiting" line with the time left, on stderr when it is a terminal;
/// nothing at all otherwise (logs and pipes stay clean).
#[derive(Debug)]
pub struct Countdown {
    bar: ProgressBar,
}

impl Countdown {
    /// Starts counting down from `total`.
    pub fn start(message: &'static str, total: Duration) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self {
                bar: ProgressBar::hidden(),
            };
        }
        let left = move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let secs = total.saturating_sub(state.elapsed()).as_secs();
            let _ = write!(w, "{}:{:02}", secs / 60, secs % 60);
        };
        let style = ProgressStyle::with_template("{spinner} {msg} ({left} left, Ctrl-C to cancel)")
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .with_key("left", left);
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
            .with_style(style)
            .with_message(message);
        bar.enable_steady_tick(Duration::from_millis(120));
        Self { bar }
    }

    /// Removes the line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Countdown {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Resolves when the user presses Ctrl-C (SIGINT). If the handler cannot be
/// installed, never resolves (the default action still ends the process).
pub async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
