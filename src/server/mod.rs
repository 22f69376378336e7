//! The exporter's HTTP server.
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::Config;

pub async fn serve(
    _path: PathBuf,
    _cfg: Config,
    _listen: SocketAddr,
    _location: Option<String>,
) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
