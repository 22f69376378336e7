//! Every integration test but the real-time stack test (`tests/e2e.rs`) in one
//! binary: the library is linked once instead of once per file. Each module is
//! one file of tests; `common` holds their shared helpers.

mod addresses;
mod backups;
mod blind;
#[cfg(feature = "browser")]
mod browser;
mod cardinality;
mod cli;
mod common;
mod dashboards;
mod deploy;
mod docs;
mod doctor;
mod exclusions;
#[cfg(feature = "demo")]
mod exporter;
mod fuzz_config;
mod generate;
mod generate_config;
mod interop;
mod kubernetes;
mod notices;
mod notify;
mod probe_failures;
mod report;
mod scrape_interval;
mod secrets;
mod shard;
mod status;
mod tls;
mod web_config;
