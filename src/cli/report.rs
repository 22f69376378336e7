//! `mimamori report`: the month's availability and latency from Prometheus.

use std::path::PathBuf;
use std::process::ExitCode;

use super::prometheus::PrometheusArgs;
use crate::report::{self, Format, Options};

/// Flags of `mimamori report`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// The exporter's configuration: services, objectives, maintenance windows, time zone.
    #[arg(long)]
    pub config: PathBuf,
    #[command(flatten)]
    pub prometheus: PrometheusArgs,
    /// Calendar month in the SLO's time zone, YYYY-MM; default: the last complete month.
    #[arg(long)]
    pub month: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Only this service (repeatable); default: every service.
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    report::run(Options {
        prometheus: args.prometheus.into(),
        config: args.config,
        month: args.month,
        format: args.format,
        services: args.services,
    })
}
