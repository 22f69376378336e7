//! `mimamori demo`: simulated AOULU services and the exporter probing them.

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    #[arg(long = "web.listen-address", default_value = crate::cli::DEFAULT_LISTEN)]
    pub listen: std::net::SocketAddr,
}

pub async fn run(_args: DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
