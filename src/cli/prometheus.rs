//! The `--prometheus.*` flags shared by `report` and `status`.

use std::path::PathBuf;
use std::time::Duration;

use crate::query::ClientOptions;

/// How to reach Prometheus (flags shared by every command that queries it).
#[derive(Debug, Clone, clap::Args)]
pub struct PrometheusArgs {
    /// Prometheus (or Thanos Query, Mimir, VictoriaMetrics) base address; may carry a path
    /// prefix, e.g. https://mimir.example/prometheus.
    #[arg(long = "prometheus.url", value_name = "URL")]
    pub url: String,
    /// User name for HTTP basic authentication.
    #[arg(long = "prometheus.basic-auth-user", value_name = "USER")]
    pub basic_auth_user: Option<String>,
    /// File holding the basic-auth password (trailing newline removed).
    #[arg(
        long = "prometheus.basic-auth-password-file",
        value_name = "FILE",
        requires = "basic_auth_user"
    )]
    pub basic_auth_password_file: Option<PathBuf>,
    /// File holding a bearer token (trailing newline removed).
    #[arg(
        long = "prometheus.bearer-token-file",
        value_name = "FILE",
        conflicts_with = "basic_auth_user"
    )]
    pub bearer_token_file: Option<PathBuf>,
    /// Extra request header, e.g. X-Scope-OrgID=tenant-a; repeatable.
    #[arg(long = "prometheus.header", value_name = "NAME=VALUE")]
    pub headers: Vec<String>,
    /// CA certificate(s) (PEM) to trust besides the bundled Mozilla roots (webpki-roots).
    #[arg(long = "prometheus.ca-file", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Deadline for one HTTP request.
    #[arg(long = "prometheus.timeout", default_value = "30s", value_parser = super::parse_duration)]
    pub timeout: Duration,
}

impl From<PrometheusArgs> for ClientOptions {
    fn from(a: PrometheusArgs) -> Self {
        ClientOptions {
            url: a.url,
            basic_auth_user: a.basic_auth_user,
            basic_auth_password_file: a.basic_auth_password_file,
            bearer_token_file: a.bearer_token_file,
            headers: a.headers,
            ca_file: a.ca_file,
            timeout: a.timeout,
        }
    }
}
