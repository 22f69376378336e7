//! Compiles configured transactions into runnable plans.
use crate::config::Config;

/// What `mimamori check` prints.
pub fn check_report(_cfg: &Config) -> anyhow::Result<String> {
    anyhow::bail!("not implemented yet")
}
