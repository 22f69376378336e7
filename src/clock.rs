//! The wall clock, read in one place. Everything that needs today's date or
//! time (the report's month, the status page's "as of", certificate and
//! backup ages, the demo's certificates) asks here, so every dependence on
//! the machine's clock is found by looking for `clock::`. Elsewhere
//! `clippy.toml` refuses `SystemTime::now` and `Utc::now`. Monotonic time is
//! `tokio::time::Instant`, which tokio's paused clock controls in tests.

use chrono::{DateTime, Utc};

/// Now, in UTC.
#[allow(clippy::disallowed_methods)]
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Now, as a `SystemTime` (for APIs that take one).
pub fn system_now() -> std::time::SystemTime {
    now().into()
}
