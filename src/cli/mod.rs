//! Command-line interface: every clap struct (one file per command) and the
//! dispatch to the modules that do the work. Nothing else depends on it.

mod check;
#[cfg(feature = "demo")]
mod demo;
mod doctor;
mod explain;
mod generate;
mod probe;
mod prometheus;
mod report;
mod serve;
mod status;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{self, ConfigErrors};

pub use check::CheckArgs;
#[cfg(feature = "demo")]
pub use demo::DemoArgs;
pub use doctor::DoctorArgs;
pub use explain::ExplainArgs;
pub use generate::GenerateArgs;
pub use probe::ProbeArgs;
pub use prometheus::PrometheusArgs;
pub use report::ReportArgs;
pub use serve::ServeArgs;
pub use status::StatusArgs;

#[derive(Debug, Parser)]
#[command(
    name = "mimamori",
    version,
    about = "Synthetic transactions for Prometheus, and the SLO rules and dashboards that go with them"
)]
pub struct Cli {
    /// Log filter (e.g. info, debug, mimamori=debug); also RUST_LOG.
    #[arg(long = "log.level", global = true, default_value = "info")]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the exporter: probe every configured transaction and serve /metrics.
    Serve(ServeArgs),
    /// Validate a configuration and print what would be probed.
    Check(CheckArgs),
    /// Run one GET transaction against URL now and print its outcome and phase timings.
    Probe(ProbeArgs),
    /// Start simulated AOULU services and the exporter probing them.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// Write Prometheus rules, Alertmanager routing and Grafana dashboards.
    Generate(GenerateArgs),
    /// Print the arithmetic behind each objective's alerts.
    Explain(ExplainArgs),
    /// Monthly availability and latency against the objectives, from Prometheus.
    Report(ReportArgs),
    /// Public status page (ja/en) with incidents, maintenance calendar and feeds, from Prometheus.
    Status(StatusArgs),
    /// Check the live stack (rules loaded, scrape intervals, labels, probers, Alertmanager,
    /// retention, maintenance) against what the rules, report and status rely on.
    Doctor(DoctorArgs),
}

/// A duration flag such as `10s` or `1m30s`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    config::duration::parse(s)
}

/// A label-value flag such as `--location tokyo`, checked by the one label-name rule.
pub fn parse_label_name(s: &str) -> Result<config::LabelName, String> {
    config::LabelName::new(s)
}

/// Exit code 64 (EX_USAGE) for a bad configuration, as linkerd2-proxy does; 1 otherwise.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if e.chain().any(|c| c.is::<ConfigErrors>()) {
        64
    } else {
        1
    }
}

pub fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The main runtime: the HTTP server, reloads and signals. Probes run on
/// probe threads of their own (see [`crate::scheduler::threads`]); checking
/// `MIMAMORI_WORKER_THREADS` here makes a bad value stop the start.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    crate::scheduler::threads::configured(0.0)?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    init_logging(&cli.log_level);
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Check(args) => check::run(args),
        Command::Probe(args) => probe::run(args),
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Report(args) => report::run(args),
        Command::Status(args) => status::run(args),
        Command::Doctor(args) => doctor::run(args),
    }
}
