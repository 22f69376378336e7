//! Command-line interface: the command list, the flags of each command (one
//! file per command) and the dispatch to the modules that do the work.
//! Nothing else depends on it.
//!
//! Flags are parsed and checked here, at the edge (durations, months, headers,
//! shards, label names through `value_parser`), so a command receives typed,
//! valid options and never parses text a user typed. Where a command's
//! options are exactly its flags (`report::Options`, `status::Options`,
//! `doctor::Options`, the shared `query::ClientOptions`) the command's own
//! struct derives `clap::Args` and is used here directly: one struct, no
//! mirror to copy field by field.

mod check;
#[cfg(feature = "demo")]
mod demo;
mod explain;
mod generate;
mod import;
mod probe;
mod serve;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{self, ConfigErrors};

pub use check::CheckArgs;
#[cfg(feature = "demo")]
pub use demo::DemoArgs;
pub use explain::ExplainArgs;
pub use generate::GenerateArgs;
pub use import::ImportArgs;
pub use probe::ProbeArgs;
pub use serve::ServeArgs;

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
    /// Objectives from other formats (`openslo FILE...`) into a configuration skeleton.
    Import(ImportArgs),
    /// Monthly availability and latency against the objectives, from Prometheus.
    Report(crate::report::Options),
    /// Public status page (ja/en) with incidents, maintenance calendar and feeds, from Prometheus.
    Status(crate::status::Options),
    /// Check the live stack (rules loaded, scrape intervals, labels, probers, Alertmanager,
    /// retention, maintenance) against what the rules, report and status rely on.
    Doctor(crate::doctor::Options),
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
        Command::Import(args) => import::run(args),
        Command::Report(args) => crate::report::run(args),
        Command::Status(args) => crate::status::run(args),
        Command::Doctor(args) => crate::doctor::run(args),
    }
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("mimamori").chain(args.iter().copied()))
    }

    /// Bad values stop at the command line (EX_USAGE), each with its reason;
    /// the commands receive typed values.
    #[test]
    fn flags_are_checked_at_the_edge() {
        let prom = [
            "--config",
            "c.yaml",
            "--prometheus.url",
            "http://127.0.0.1:9090/",
        ];
        for (args, says) in [
            (
                vec!["serve", "--config", "c.yaml", "--location", "Tokyo"],
                "'Tokyo' must start with a lowercase letter",
            ),
            (
                [&["report"][..], &prom, &["--month", "2026-13"]].concat(),
                "expected YYYY-MM",
            ),
            (
                [&["report"][..], &prom, &["--prometheus.header", "X-Org"]].concat(),
                "expected NAME=VALUE",
            ),
            (
                [&["status"][..], &prom, &["--refresh", "soon"]].concat(),
                "--refresh",
            ),
            (
                [&["status"][..], &prom, &["--now", "yesterday"]].concat(),
                "expected RFC 3339",
            ),
            (
                [
                    &["doctor"][..],
                    &prom,
                    &["--prometheus.timeout", "1 fortnight"],
                ]
                .concat(),
                "--prometheus.timeout",
            ),
        ] {
            let e = parse(&args).expect_err(&args.join(" "));
            assert_eq!(e.kind(), ErrorKind::ValueValidation, "{args:?}");
            assert!(e.to_string().contains(says), "{args:?}: {e}");
        }
        let Command::Report(r) = parse(
            &[
                &["report"][..],
                &prom,
                &[
                    "--month",
                    "2026-11",
                    "--prometheus.header",
                    "X-Scope-OrgID=a",
                ],
            ]
            .concat(),
        )
        .unwrap()
        .command
        else {
            panic!("report");
        };
        assert_eq!(r.month.map(|m| m.to_string()).as_deref(), Some("2026-11"));
        assert_eq!(r.prometheus.headers[0].name.as_str(), "x-scope-orgid");
        let Command::Serve(s) = parse(&["serve", "--config", "c.yaml", "--location", "tokyo-a"])
            .unwrap()
            .command
        else {
            panic!("serve");
        };
        assert_eq!(s.location.as_deref(), Some("tokyo-a"));
    }
}
