//! `mimamori serve`: the exporter.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config;
use crate::server::{self, LiveWeb};

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    #[arg(long)]
    pub config: PathBuf,
    /// Address to serve /metrics on.
    #[arg(long = "web.listen-address", default_value = server::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Probe location name (the `location` label); overrides global.location.
    #[arg(long, value_parser = super::parse_label_name)]
    pub location: Option<config::LabelName>,
    /// Run only shard INDEX/COUNT (0-based) of the transactions, so COUNT
    /// probers of one location split them; overrides global.shard.
    #[arg(long, value_name = "INDEX/COUNT")]
    pub shard: Option<config::Shard>,
    /// TLS and basic authentication for the endpoints, in the Prometheus
    /// exporter-toolkit web configuration format.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config: Option<PathBuf>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let cfg = config::load(&args.config)?;
    let web = match &args.web_config {
        Some(p) => LiveWeb::from_file(p)?,
        None => LiveWeb::fixed(Default::default()),
    };
    super::runtime()?.block_on(server::serve(
        args.config,
        cfg,
        args.listen,
        args.location,
        args.shard,
        web,
    ))?;
    Ok(ExitCode::SUCCESS)
}
