//! `mimamori demo`: simulated AOULU services and the exporter probing them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::demo::DemoOptions;
use crate::server;

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Address for /metrics and the /demo/fault switch.
    #[arg(long = "web.listen-address", default_value = server::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Run every transaction this often instead of the configured interval.
    #[arg(long, value_parser = super::parse_duration)]
    pub interval: Option<Duration>,
    /// Probe location name.
    #[arg(long, value_parser = super::parse_label_name)]
    pub location: Option<crate::config::LabelName>,
    /// Put SERVICE in an announced maintenance window from now on for an hour (repeatable).
    #[arg(long, value_name = "SERVICE")]
    pub maintenance: Vec<String>,
    /// TLS and basic authentication for the endpoints (exporter-toolkit format).
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config: Option<PathBuf>,
    /// Leave out the demo's browser transactions (headless Chromium); only the
    /// HTTP transactions run.
    #[arg(long)]
    pub no_browser: bool,
    /// Print the configuration the demo runs (deploy/aoulu.yaml, with the
    /// browser transactions when they run, `--interval` and `--location`)
    /// and exit: `generate` makes the rules that match it.
    #[arg(long)]
    pub print_config: bool,
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let print = args.print_config;
    let opts = DemoOptions {
        listen: args.listen,
        interval: args.interval,
        location: args.location,
        maintenance: args.maintenance,
        web_config: args.web_config,
        browser: !args.no_browser,
    };
    if print {
        print!("{}", crate::demo::config_text(&opts)?.0);
        return Ok(ExitCode::SUCCESS);
    }
    super::runtime()?.block_on(crate::demo::run(opts))?;
    Ok(ExitCode::SUCCESS)
}
