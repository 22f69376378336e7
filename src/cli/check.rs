//! `mimamori check`: validates a configuration and prints what would run.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config;

#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    #[arg(long)]
    pub config: PathBuf,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let cfg = config::load(&args.config)?;
    let report = crate::probe::plan::check_report(&cfg)?;
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}
