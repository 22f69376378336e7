//! `mimamori explain`: the arithmetic behind every alert.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config;

#[derive(Debug, Clone, clap::Args)]
pub struct ExplainArgs {
    #[arg(long)]
    pub config: PathBuf,
}

pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let cfg = config::load(&args.config)?;
    print!("{}", crate::generate::explain(&cfg));
    Ok(ExitCode::SUCCESS)
}
