//! `mimamori check`: validates a configuration and prints what would run.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config;

#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    #[arg(long)]
    pub config: PathBuf,
    /// Show only the transactions of shard INDEX/COUNT (0-based), as
    /// `serve --shard` would run them; overrides global.shard.
    #[arg(long, value_name = "INDEX/COUNT")]
    pub shard: Option<config::Shard>,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let cfg = config::load(&args.config)?;
    let shard = args.shard.unwrap_or(cfg.global.shard);
    let report = crate::probe::plan::check_report(&cfg, shard)?;
    print!("{report}");
    print!("{}", crate::backup::describe(&cfg, shard));
    print!("{}", cfg.self_check.describe());
    Ok(ExitCode::SUCCESS)
}
