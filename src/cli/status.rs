//! `mimamori status`: the public status page.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::prometheus::PrometheusArgs;
use crate::status::{self, Options};

/// Flags of `mimamori status`.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// The mimamori configuration: services, `maintenance:` and `notices:`.
    #[arg(long)]
    pub config: PathBuf,
    #[command(flatten)]
    pub prometheus: PrometheusArgs,
    /// Address to serve the page on.
    #[arg(long = "web.listen-address", default_value = status::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Public address of the page (e.g. https://status.example.jp/), for absolute links in the feeds.
    #[arg(long = "web.external-url", value_name = "URL", default_value = "")]
    pub external_url: String,
    /// How often Prometheus is asked (every visitor sees the same snapshot).
    #[arg(long, default_value = "30s", value_parser = super::parse_duration)]
    pub refresh: Duration,
    /// Write the pages and feeds as static files into DIR once, and exit.
    #[arg(long, value_name = "DIR")]
    pub render: Option<PathBuf>,
    /// Evaluate as if it were this time (RFC 3339), moving on with the clock:
    /// for backfilled data and post-mortems.
    #[arg(long, hide = true, value_name = "TIME")]
    pub now: Option<String>,
    /// The internal view for staff: also the backups (seed §6), marked
    /// internal and not indexed. Never serve it on the public address.
    #[arg(long)]
    pub internal: bool,
}

pub fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    status::run(Options {
        prometheus: args.prometheus.into(),
        config: args.config,
        listen: args.listen,
        external_url: args.external_url,
        refresh: args.refresh,
        render: args.render,
        now: args.now,
        internal: args.internal,
    })
}
