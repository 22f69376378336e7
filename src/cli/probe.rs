//! `mimamori probe URL`: one ad-hoc GET now, for people investigating.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct ProbeArgs {
    pub url: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Deadline for the request.
    #[arg(long, default_value = "10s", value_parser = super::parse_duration)]
    pub timeout: Duration,
    /// Extra CA certificate (PEM) to trust.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
}

pub fn run(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(crate::probe::adhoc(
        &args.url,
        args.json,
        args.timeout,
        args.ca_file,
    ))
}
