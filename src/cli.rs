//! Command-line interface: parses flags and dispatches to the subcommands.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{self, ConfigErrors};

/// Default listen address. 9732 is in the exporter range (9100–9999) and clear
/// of the common exporters, so mimamori can run beside blackbox_exporter (9115).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9732";

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
    Serve {
        #[arg(long)]
        config: PathBuf,
        /// Address to serve /metrics on.
        #[arg(long = "web.listen-address", default_value = DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// Probe location name (the `location` label); overrides global.location.
        #[arg(long)]
        location: Option<String>,
        /// TLS and basic authentication for the endpoints, in the Prometheus
        /// exporter-toolkit web configuration format.
        #[arg(long = "web.config.file", value_name = "FILE")]
        web_config: Option<PathBuf>,
    },
    /// Validate a configuration and print what would be probed.
    Check {
        #[arg(long)]
        config: PathBuf,
    },
    /// Run one GET transaction against URL now and print its outcome and phase timings.
    Probe {
        url: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Deadline for the request.
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        timeout: std::time::Duration,
        /// Extra CA certificate (PEM) to trust.
        #[arg(long)]
        ca_file: Option<PathBuf>,
    },
    /// Start simulated AOULU services and the exporter probing them.
    Demo(crate::demo::DemoArgs),
    /// Write Prometheus rules, Alertmanager routing and Grafana dashboards.
    Generate(crate::generate::GenerateArgs),
    /// Monthly availability and latency against the objectives, from Prometheus.
    Report(crate::report::ReportArgs),
    /// Serve the public status page (ja/en) with its feeds, from Prometheus.
    Status(crate::status::StatusArgs),
    /// Print the arithmetic behind each objective's alerts.
    Explain {
        #[arg(long)]
        config: PathBuf,
    },
}

pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    config::duration::parse(s)
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
        Command::Serve {
            config,
            listen,
            location,
            web_config,
        } => {
            let cfg = config::load(&config)?;
            let web = match web_config {
                Some(p) => crate::server::LiveWeb::from_file(&p)?,
                None => crate::server::LiveWeb::fixed(Default::default()),
            };
            runtime()?.block_on(crate::server::serve(config, cfg, listen, location, web))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { config } => {
            let cfg = config::load(&config)?;
            let report = crate::probe::plan::check_report(&cfg)?;
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Probe {
            url,
            json,
            timeout,
            ca_file,
        } => runtime()?.block_on(crate::probe::adhoc(&url, json, timeout, ca_file)),
        Command::Demo(args) => {
            runtime()?.block_on(crate::demo::run(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate(args) => {
            let cfg = config::load(&args.config)?;
            let same = crate::generate::run(&cfg, &args)?;
            Ok(if same {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Report(args) => crate::report::run(args),
        Command::Status(args) => crate::status::run(args),
        Command::Explain { config } => {
            let cfg = config::load(&config)?;
            print!("{}", crate::generate::explain(&cfg));
            Ok(ExitCode::SUCCESS)
        }
    }
}
