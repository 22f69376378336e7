//! mimamori: synthetic transactions for Prometheus, and the SLO rules, routing
//! and dashboards that go with them.
#![forbid(unsafe_code)]

pub mod config;
