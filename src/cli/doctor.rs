//! `mimamori doctor`: checks the live stack against what the rules, `report` and `status` rely on.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::doctor::{self, Format, Options};
use crate::query::ClientOptions;

/// Flags of `mimamori doctor`.
#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {
    /// The configuration the probers run and the rules were generated from.
    #[arg(long)]
    pub config: PathBuf,
    #[command(flatten)]
    pub prometheus: ClientOptions,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Exit 1 on warnings too, not only on problems.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    doctor::run(Options {
        config: args.config,
        prometheus: args.prometheus,
        format: args.format,
        strict: args.strict,
    })
}
