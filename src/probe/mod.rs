//! Runs synthetic transactions: HTTP steps with phase timings, assertions and captures.
pub mod plan;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// `mimamori probe URL`: one ad-hoc GET, printed for a person or a script.
pub async fn adhoc(
    _url: &str,
    _json: bool,
    _timeout: Duration,
    _ca: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
