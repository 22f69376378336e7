//! Bounded waits, for conditions no signal announces (a port that starts
//! listening, a series Prometheus has recorded): one way to poll, with a limit
//! and a message saying what was awaited and what was seen last.

use std::time::{Duration, Instant};

/// The longest pause between two polls (they start at 10 ms and double).
const MAX_PAUSE: Duration = Duration::from_millis(250);

/// What a poll returns: ready, with a value, or not yet, with what was seen
/// (shown when the wait times out).
pub trait Poll {
    type Output;
    fn ready(self) -> Result<Self::Output, String>;
}

impl Poll for bool {
    type Output = ();
    fn ready(self) -> Result<(), String> {
        if self {
            Ok(())
        } else {
            Err(String::new())
        }
    }
}

impl<T> Poll for Option<T> {
    type Output = T;
    fn ready(self) -> Result<T, String> {
        self.ok_or_else(String::new)
    }
}

impl<T, E: std::fmt::Display> Poll for Result<T, E> {
    type Output = T;
    fn ready(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

/// The panic message of a wait that timed out.
fn timed_out(limit: Duration, what: &str, last: &str) -> String {
    if last.is_empty() {
        format!("timed out after {limit:?} waiting for {what}")
    } else {
        format!("timed out after {limit:?} waiting for {what}\nlast seen: {last}")
    }
}

/// Polls `check` until it is ready and returns its value; panics after
/// `limit` naming `what` and the last `Err` seen. The pause between polls
/// starts at 10 ms and doubles up to 250 ms.
#[allow(
    clippy::disallowed_methods,
    reason = "a blocking wait on real processes: its limit is wall-clock time"
)]
pub fn wait_until<P: Poll>(limit: Duration, what: &str, mut check: impl FnMut() -> P) -> P::Output {
    let start = Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        let last = match check().ready() {
            Ok(v) => return v,
            Err(last) => last,
        };
        assert!(start.elapsed() < limit, "{}", timed_out(limit, what, &last));
        std::thread::sleep(pause);
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// [`wait_until`] for async tests: pauses with tokio's sleep, so that tasks
/// on the test's own runtime (servers, the exporter) keep running.
pub async fn wait_until_async<P: Poll>(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> P,
) -> P::Output {
    let start = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        let last = match check().ready() {
            Ok(v) => return v,
            Err(last) => last,
        };
        assert!(start.elapsed() < limit, "{}", timed_out(limit, what, &last));
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}
