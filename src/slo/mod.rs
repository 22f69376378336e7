//! The objective itself, in one room: what the SLO promises and how a second
//! of a service's life is counted against it.
//!
//! The rules and dashboards (`generate`), the monthly report (`report`) and the
//! status page (`status`) all read the same definition, so they sit side by
//! side on top of this module rather than on top of each other:
//! - [`plan`]: each service's objective as numbers (budgets, rolling windows,
//!   burn-rate thresholds, detection times), derived from the configuration;
//! - [`month`]: calendar months in the SLO's time zone;
//! - [`history`]: what Prometheus says about each probe interval of a service,
//!   and the maintenance windows that cover it;
//! - [`spacing`]: how often Prometheus really holds a result (the scrape
//!   interval, measured), which sets how long a result judges steps;
//! - [`compute`]: the classification of each step (maintenance, unknown,
//!   failure, grace, up) and the figures that follow, as pure functions;
//! - [`Context`]: configuration, plans, time zone and Prometheus client, loaded
//!   together for every command that asks Prometheus about the objective.

pub mod compute;
pub mod history;
pub mod month;
pub mod plan;
pub mod spacing;

use std::path::Path;

use chrono_tz::Tz;

use crate::config::{self, Config, ConfigErrors};
use crate::query::{self, Client, ClientOptions};
use plan::ServicePlan;

/// What a command that reads the objective from Prometheus starts from.
pub struct Context {
    pub cfg: Config,
    /// One per service, in configuration order (only the asked-for services when filtered).
    pub plans: Vec<ServicePlan>,
    /// The SLO's time zone (`alerting.support_hours.timezone`): months and days are counted in it.
    pub tz: Tz,
    pub client: Client,
}

/// Why a [`Context`] could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    /// A bad time zone or an unknown service: a usage error.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Query(#[from] query::Error),
}

impl LoadError {
    /// The same error for the CLI's error chain, where a bad configuration is
    /// recognised by its [`ConfigErrors`] (exit code 64).
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            LoadError::Config(e) => e.into(),
            LoadError::Usage(m) => anyhow::Error::msg(m),
            LoadError::Query(e) => e.into(),
        }
    }
}

impl Context {
    /// Loads the configuration at `config_path`, its time zone and plans, and
    /// makes the Prometheus client. `services` keeps only those services
    /// (each must exist); empty keeps every one.
    pub fn load(
        config_path: &Path,
        client_options: &ClientOptions,
        services: &[String],
    ) -> Result<Context, LoadError> {
        let cfg = config::load(config_path)?;
        let tz = month::zone(&cfg.alerting.support_hours.timezone).map_err(LoadError::Usage)?;
        for s in services {
            if cfg.service(s).is_none() {
                let known: Vec<&str> = cfg.services.iter().map(|s| s.name.as_str()).collect();
                return Err(LoadError::Usage(format!(
                    "--service '{s}': no such service in {} (known: {})",
                    config_path.display(),
                    known.join(", ")
                )));
            }
        }
        let plans = plan::plans(&cfg)
            .into_iter()
            .filter(|p| services.is_empty() || services.contains(&p.service))
            .collect();
        let client = Client::new(client_options)?;
        Ok(Context {
            cfg,
            plans,
            tz,
            client,
        })
    }
}
