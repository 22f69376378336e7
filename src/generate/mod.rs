//! Turns the configuration into Prometheus rules, Alertmanager routing and
//! Grafana dashboards that encode the objectives.

pub mod grafana;

use std::path::PathBuf;

use crate::config::Config;

/// Options of `mimamori generate`.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Configuration file.
    #[arg(long)]
    pub config: PathBuf,
    /// Directory to write `rules/`, `dashboards/` and `deploy/alertmanager/` under.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Write nothing; exit non-zero when the files on disk differ from what would be written.
    #[arg(long)]
    pub check: bool,
}

/// Writes (or with `--check`, compares) every generated file.
pub fn run(_cfg: &Config, _args: &GenerateArgs) -> anyhow::Result<bool> {
    anyhow::bail!("generate is not implemented yet")
}

/// The arithmetic behind the alerts, for `mimamori explain`.
pub fn explain(_cfg: &Config) -> String {
    String::from("explain is not implemented yet\n")
}
