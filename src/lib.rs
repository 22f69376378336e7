//! mimamori: synthetic transactions for Prometheus, and the SLO rules, routing
//! and dashboards that go with them.
#![forbid(unsafe_code)]

pub mod backup;
#[cfg(feature = "browser")]
pub mod browser;
pub mod cli;
pub mod clock;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod doctor;
pub mod generate;
pub mod metrics;
pub mod notify;
pub mod probe;
pub mod promql;
pub mod query;
pub mod report;
pub mod scheduler;
pub mod server;
pub mod slo;
pub mod status;
