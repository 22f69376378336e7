//! Every integration test in one binary: one link of the library instead of one per file.
//! Each module is one file of tests; `common` holds their shared helpers.

mod cardinality;
mod cli;
mod common;
mod dashboards;
mod deploy;
mod e2e;
mod exporter;
mod fuzz_config;
mod generate;
mod generate_config;
mod probe_failures;
mod secrets;
mod tls;
mod web_config;
